"""Changing order contents: ``POST …/orders/{code}/change/`` (several operations in one transaction) and the
position-level shortcuts ``POST …/orderpositions/``, ``PATCH``/``DELETE …/orderpositions/{id}/``.

All of them hand their work to :class:`boxoffice.kernel.orders.changes.OrderChange`; ``?check_quotas=false``
skips the capacity check for positions that are added or change product or date.
"""

from __future__ import annotations

from litestar import Request, Response, delete, patch, post
from litestar.params import FromPath, JSONBody
from sqlalchemy import select

from boxoffice.apps.api.errors import FieldErrors
from boxoffice.apps.api.order_shape import OrderOut, PositionOut
from boxoffice.apps.api.resources.orderpositions import load_position, shape_position
from boxoffice.apps.api.resources.orders import BASE, LIST_RESOURCE, WRITE_PERMISSION, load_order, shape_order
from boxoffice.apps.api.toolkit import Call, in_call, parse_bool
from boxoffice.kernel.models.orders import Order
from boxoffice.kernel.orders.changes import NewPosition, OrderChange, OrderChangeDraft, PositionUpdate, change_order

POSITIONS = "/api/v1/organizers/{organizer:str}/events/{event:str}/orderpositions/"
POSITION = POSITIONS + "{id:int}/"


class PositionCreateIn(NewPosition, kw_only=True):
    """The body of ``POST …/orderpositions/``: a new position and the code of the order it joins."""

    order: str


def check_quotas(call: Call) -> bool:
    return parse_bool(call.query, "check_quotas") is not False


@post(BASE + "{code:str}/change/", tags=["orders"], status_code=200)
async def change(
    request: Request,
    organizer: FromPath[str],
    event: FromPath[str],
    code: FromPath[str],
    data: JSONBody[OrderChangeDraft],
) -> Response[OrderOut]:
    """Patch, cancel, split off and add positions, patch, cancel and add fees, recalculate taxes — all in one
    transaction: when one operation is refused, none is applied. Answers the changed order."""

    def work(call: Call) -> OrderOut:
        target = call.event(organizer, event, WRITE_PERMISSION)
        order = load_order(call, target, code)
        change_order(
            call.kernel, call.session, order, data, actor=call.principal.actor, check_quotas=check_quotas(call)
        )
        call.touch(target, LIST_RESOURCE)
        return shape_order(call, target, load_order(call, target, code))

    return await in_call(request, work)


@post(POSITIONS, tags=["orders"], status_code=201)
async def create_position(
    request: Request, organizer: FromPath[str], event: FromPath[str], data: JSONBody[PositionCreateIn]
) -> Response[PositionOut]:
    """Add a position to an existing order (``addon_to`` is the parent's ``positionid``); no invoice is issued."""

    def work(call: Call) -> PositionOut:
        target = call.event(organizer, event, WRITE_PERMISSION)
        order = call.session.scalar(select(Order).where(Order.event_id == target.id, Order.code == data.order))
        if order is None:
            raise FieldErrors.single("order", f'Object with code "{data.order}" does not exist.')
        change = OrderChange(
            call.kernel, call.session, order, actor=call.principal.actor, check_quotas=check_quotas(call)
        )
        change.create_position(data)
        outcome = change.commit()
        call.touch(target, LIST_RESOURCE)
        return shape_position(call, target, outcome.created[0])

    return await in_call(request, work, status_code=201)


@patch(POSITION, tags=["orders"])
async def update_position(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int], data: JSONBody[PositionUpdate]
) -> Response[PositionOut]:
    """Change a position: attendee data, answers (the whole list), product, date, price, tax rule, validity or
    secret (the old secret is not revoked). Tickets are not re-sent and no invoice is reissued."""

    def work(call: Call) -> PositionOut:
        target = call.event(organizer, event, WRITE_PERMISSION)
        position = load_position(call, target, id, changing=True)
        change = OrderChange(
            call.kernel, call.session, position.order, actor=call.principal.actor, check_quotas=check_quotas(call)
        )
        change.patch_position(position.id, data, body_path=())
        change.commit()
        call.touch(target, LIST_RESOURCE)
        return shape_position(call, target, position)

    return await in_call(request, work)


@delete(POSITION, tags=["orders"], status_code=204)
async def cancel_position(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int]
) -> Response[None]:
    """Cancel one position (and its add-ons). The last position of an order cannot be canceled this way: cancel
    the order instead."""

    def work(call: Call) -> None:
        target = call.event(organizer, event, WRITE_PERMISSION)
        position = load_position(call, target, id, changing=True)
        change = OrderChange(call.kernel, call.session, position.order, actor=call.principal.actor)
        change.cancel_position(position.id)
        change.commit()
        call.touch(target, LIST_RESOURCE)

    return await in_call(request, work, status_code=204)


ROUTES = [change, create_position, update_position, cancel_position]
