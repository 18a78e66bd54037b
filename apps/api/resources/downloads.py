"""Ticket downloads: ``…/orders/{code}/download/{output}/`` (all tickets of an order in one file) and
``…/orderpositions/{id}/download/{output}/`` (one ticket).

The file comes from the kernel's ticket cache (:mod:`boxoffice.kernel.tickets`). When it is not generated yet, the
answer is ``409`` and generation starts in the background (retry after a second); with jobs running in-process the
file is generated right away and the first answer is already ``200``. An output that is not offered (unknown,
switched off, or its plugin not enabled on the event) is a ``404``, like an order whose tickets may not be
downloaded in its state.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath
from litestar.response import File

from boxoffice.apps.api.errors import ApiError, not_found
from boxoffice.apps.api.resources.orderpositions import load_position
from boxoffice.apps.api.resources.orders import BASE, load_order, require_read
from boxoffice.apps.api.toolkit import Call, in_call
from boxoffice.hookspecs.providers import JobFailed
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.orders import Order
from boxoffice.kernel.tickets import available_outputs, request_file

POSITIONS = "/api/v1/organizers/{organizer:str}/events/{event:str}/orderpositions/"
NOT_READY = "The requested file is being generated. Please retry in a few seconds."


def _serve(call: Call, event: Event, order: Order, output: str, position_id: int | None) -> tuple[str, str, str]:
    if output not in available_outputs(call.kernel, call.session, event, order) or not order.live_positions:
        raise not_found()
    try:
        found = request_file(call.kernel, call.session, event, order, output, position_id)
    except JobFailed as failure:
        raise ApiError(500, f"The ticket could not be generated: {failure}") from None
    if found is None:
        raise ApiError(409, NOT_READY, {"Retry-After": "1"})
    return str(found.path), found.filename, found.content_type


def _file(result: tuple[str, str, str]) -> Any:
    path, filename, content_type = result
    return File(path, filename=filename, media_type=content_type)


@get(BASE + "{code:str}/download/{output:str}/", tags=["orders"], media_type="application/pdf")
async def download_order(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str], output: FromPath[str]
) -> Response[bytes]:
    """All tickets of the order in one file of ``output`` (``pdf``: one merged PDF); ``409`` while generating."""

    def work(call: Call) -> tuple[str, str, str]:
        target = call.event(organizer, event)
        require_read(call)
        order = load_order(call, target, code)
        return _serve(call, target, order, output, None)

    response = await in_call(request, work)
    return _file(response.content)


@get(POSITIONS + "{id:int}/download/{output:str}/", tags=["orders"], media_type="application/pdf")
async def download_position(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int], output: FromPath[str]
) -> Response[bytes]:
    """The ticket of one position in ``output``; ``409`` while generating."""

    def work(call: Call) -> tuple[str, str, str]:
        target = call.event(organizer, event)
        require_read(call)
        position = load_position(call, target, id, changing=True)
        return _serve(call, target, position.order, output, position.id)

    response = await in_call(request, work)
    return _file(response.content)


ROUTES = [download_order, download_position]
