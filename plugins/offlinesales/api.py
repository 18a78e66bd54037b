"""REST API of offline sales batches (pretix's ``offlinesalesbatches`` resource), mounted under
``/api/v1/organizers/{organizer}/events/{event}/`` on events where the plugin is enabled:

* ``offlinesalesbatches/`` — list (without order codes) and create (asynchronous: ``202`` with a ``check`` URL);
* ``offlinesalesbatches/{id}/`` — one batch with its order codes;
* ``offlinesalesbatches/check/{job}/`` — the creation's outcome: ``200`` with the batch, ``409`` while waiting or
  running, ``410`` with the message when it failed, ``404`` when unknown or expired;
* ``offlinesalesbatches/{id}/render/`` — render every ticket into one PDF (``202`` with a ``download`` URL that
  answers like the check URL, ``200`` with the PDF at the end).

Reading needs ``event.orders:read``, creating ``event.orders:write``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy import select

from boxoffice.apps.api.errors import ApiError, Problems, not_found
from boxoffice.apps.api.toolkit import (
    JOB_BUSY,
    Call,
    Page,
    decode_body,
    in_call,
    job_file_answer,
    job_file_state,
    possible_id,
)
from boxoffice.kernel.models import Event, Item, JobRecord
from boxoffice.kernel.models.items import ItemVariation
from boxoffice.kernel.models.orders import Order
from boxoffice.kernel.models.saleschannels import BUILTIN_CHANNELS, SalesChannel
from boxoffice.kernel.models.subevents import SubEvent
from boxoffice.kernel.orders.bulk import MAX_ORDERS
from boxoffice.kernel.tickets import batch_path, ticket_outputs
from boxoffice.plugins.offlinesales.batches import CREATE_JOB, PDF_OUTPUT, RENDER_JOB, batch_position_ids
from boxoffice.plugins.offlinesales.models import OfflineSalesBatch, OfflineSalesBatchOrder
from boxoffice.plugins.ticketoutputpdf.models import TicketLayout

READ = "event.orders:read"
WRITE = "event.orders:write"
BATCHES = "/offlinesalesbatches/"
BATCH = BATCHES + "{id:int}/"
CHANNEL_MAX = 190
NOT_RENDERED = "The tickets could not be rendered."


class BatchIn(msgspec.Struct, kw_only=True):
    item: int
    amount: int
    layout: int
    testmode: bool = False
    sales_channel: str = "web"
    subevent: int | None = None
    variation: int | None = None
    comment: str = ""


class BatchOut(msgspec.Struct):
    id: int
    creation: datetime
    testmode: bool
    sales_channel: str
    layout: int | None
    subevent: int | None
    item: int
    variation: int | None
    amount: int
    comment: str


class BatchDetailOut(BatchOut):
    orders: list[str]


class CheckOut(msgspec.Struct):
    check: str


class DownloadOut(msgspec.Struct):
    download: str


def serialize(batch: OfflineSalesBatch) -> BatchOut:
    return BatchOut(
        id=batch.id,
        creation=batch.creation,
        testmode=batch.testmode,
        sales_channel=batch.sales_channel,
        layout=batch.layout_id,
        subevent=batch.subevent_id,
        item=batch.item_id,
        variation=batch.variation_id,
        amount=batch.amount,
        comment=batch.comment,
    )


def detail(call: Call, batch: OfflineSalesBatch) -> BatchDetailOut:
    codes = list(
        call.session.scalars(
            select(Order.code)
            .join(OfflineSalesBatchOrder, OfflineSalesBatchOrder.order_id == Order.id)
            .where(OfflineSalesBatchOrder.batch_id == batch.id)
            .order_by(Order.id)
        )
    )
    return BatchDetailOut(**msgspec.structs.asdict(serialize(batch)), orders=codes)


def _base(call: Call, event: Event) -> str:
    site = call.kernel.config.site_url.rstrip("/")
    return f"{site}/api/v1/organizers/{event.organizer.slug}/events/{event.slug}{BATCHES}"


def _purpose(batch_id: int) -> str:
    return f"offlinesales-render:{batch_id}"


def _job(call: Call, job_id: str, name: str, event: Event) -> JobRecord:
    """The job of this event by id; 404 when unknown, of another kind or event, or deleted after it expired."""
    return call.job(job_id, name, event_id=event.id)


def _check(call: Call, event: Event, body: BatchIn) -> None:
    """400 naming every field that does not refer to something of this event or is out of range."""
    problems = Problems()
    if not 1 <= body.amount <= MAX_ORDERS:
        problems.add("amount", f"Ensure this value is between 1 and {MAX_ORDERS}.")
    item = call.session.get(Item, body.item) if possible_id(body.item) else None
    if item is None or item.event_id != event.id:
        problems.add("item", f'Invalid pk "{body.item}" - object does not exist.')
    if body.variation is not None:
        variation = call.session.get(ItemVariation, body.variation) if possible_id(body.variation) else None
        if variation is None or item is None or variation.item_id != item.id:
            problems.add("variation", f'Invalid pk "{body.variation}" - object does not exist.')
    if body.subevent is not None:
        subevent = call.session.get(SubEvent, body.subevent) if possible_id(body.subevent) else None
        if subevent is None or subevent.event_id != event.id:
            problems.add("subevent", f'Invalid pk "{body.subevent}" - object does not exist.')
    elif event.has_subevents:
        problems.add("subevent", "This field is required for an event series.")
    layout = call.session.get(TicketLayout, body.layout) if possible_id(body.layout) else None
    if layout is None or layout.event_id != event.id:
        problems.add("layout", f'Invalid pk "{body.layout}" - object does not exist.')
    if body.sales_channel not in BUILTIN_CHANNELS:
        known = call.session.scalar(
            select(SalesChannel.id).where(
                SalesChannel.organizer_id == event.organizer_id,
                SalesChannel.identifier == body.sales_channel[:CHANNEL_MAX],
            )
        )
        if known is None or len(body.sales_channel) > CHANNEL_MAX:
            problems.add("sales_channel", f'Unknown sales channel "{body.sales_channel[:CHANNEL_MAX]}".')
    if "\x00" in body.comment:
        problems.add("comment", "Null characters are not allowed.")
    problems.raise_if_any()


# --- endpoints ---------------------------------------------------------------------------------------------------


@get(BATCHES, tags=["offlinesales"])
async def list_batches(request: Request, organizer_slug: FromPath[str], event_slug: FromPath[str]) -> Response[Page]:
    """The event's batches, oldest first (``orders`` is left out here; fetch a batch for its order codes)."""

    def work(call: Call) -> Page[BatchOut]:
        event = call.event(organizer_slug, event_slug, READ)
        statement = select(OfflineSalesBatch).where(OfflineSalesBatch.event_id == event.id)
        return call.paginate(
            statement,
            serialize,
            ordering={"id": OfflineSalesBatch.id, "creation": OfflineSalesBatch.creation},
            default_ordering=[OfflineSalesBatch.id],
        )

    return await in_call(request, work)


@get(BATCH, tags=["offlinesales"])
async def get_batch(
    request: Request, organizer_slug: FromPath[str], event_slug: FromPath[str], id: FromPath[int]
) -> Response[BatchDetailOut]:
    """One batch with the codes of its orders."""

    def work(call: Call) -> BatchDetailOut:
        event = call.event(organizer_slug, event_slug, READ)
        return detail(call, call.get(OfflineSalesBatch, id, event_id=event.id))

    return await in_call(request, work)


@post(BATCHES, tags=["offlinesales"], status_code=202)
async def create_batch(
    request: Request, organizer_slug: FromPath[str], event_slug: FromPath[str]
) -> Response[CheckOut]:
    """Start creating a batch of ``amount`` (at most 10,000) paid orders of ``item`` (``variation``, ``subevent``)
    in ``sales_channel`` and ``testmode``, printed with ``layout``. Answers 202 with the ``check`` URL."""
    raw = await request.body()

    def work(call: Call) -> CheckOut:
        event = call.event(organizer_slug, event_slug, WRITE)
        body = decode_body(raw, BatchIn)
        _check(call, event, body)
        arguments = msgspec.to_builtins(body)
        actor = call.principal.actor
        job_id = call.kernel.jobs.enqueue_on_commit(
            call.session, CREATE_JOB, event_id=event.id, batch=arguments, actor=[actor.type, actor.id]
        )
        return CheckOut(check=f"{_base(call, event)}check/{job_id}/")

    return await in_call(request, work, status_code=202)


@get(BATCHES + "check/{job_id:str}/", tags=["offlinesales"])
async def check_batch(
    request: Request, organizer_slug: FromPath[str], event_slug: FromPath[str], job_id: FromPath[str]
) -> Response[Any]:
    """The outcome of a creation: ``200`` with the batch, ``409 {"status": "waiting"|"running"}``, ``410
    {"status": "failed", "message": …}``, ``404`` when the job is unknown or expired."""

    def work(call: Call) -> tuple[int, Any]:
        event = call.event(organizer_slug, event_slug, READ)
        record = _job(call, job_id, CREATE_JOB, event)
        if record.status in JOB_BUSY:
            return 409, {"status": record.status}
        if record.status == "failed":
            return 410, {"status": "failed", "message": record.error or "The batch could not be created."}
        batch = call.session.get(OfflineSalesBatch, (record.result or {}).get("batch"))
        if batch is None or batch.event_id != event.id:
            raise not_found()
        return 200, detail(call, batch)

    response = await in_call(request, work)
    status, body = response.content
    return Response(body, status_code=status, headers=response.headers)


@post(BATCH + "render/", tags=["offlinesales"], status_code=202)
async def render_batch(
    request: Request, organizer_slug: FromPath[str], event_slug: FromPath[str], id: FromPath[int]
) -> Response[DownloadOut]:
    """Start rendering every valid ticket of the batch with its layout into one PDF. Answers 202 with the
    ``download`` URL."""

    def work(call: Call) -> DownloadOut:
        event = call.event(organizer_slug, event_slug, READ)
        batch = call.get(OfflineSalesBatch, id, event_id=event.id)
        if PDF_OUTPUT not in ticket_outputs(call.kernel, call.session, event):
            raise ApiError(400, "PDF tickets are switched off for this event.")
        if not batch_position_ids(call.session, batch.id):
            raise ApiError(400, "This batch has no valid tickets left to print.")
        job_id = call.kernel.jobs.enqueue_on_commit(call.session, RENDER_JOB, event_id=event.id, batch_id=batch.id)
        token = call.download_token(_purpose(batch.id), job_id)
        return DownloadOut(download=f"{_base(call, event)}{batch.id}/download/{job_id}/{token}/")

    return await in_call(request, work, status_code=202)


@get(BATCH + "download/{job_id:str}/{token:str}/", tags=["offlinesales"])
async def download_batch(
    request: Request,
    organizer_slug: FromPath[str],
    event_slug: FromPath[str],
    id: FromPath[int],
    job_id: FromPath[str],
    token: FromPath[str],
) -> Response[Any]:
    """The rendered PDF (``200``), ``409 {"status": "waiting"|"running", "percentage": …}`` while it is made,
    ``410 {"status": "failed", "message": …}`` when it failed, ``404`` when unknown or expired."""

    def work(call: Call) -> tuple[str, Any]:
        event = call.event(organizer_slug, event_slug, READ)
        if not call.token_matches(_purpose(id), job_id, token):
            raise not_found()
        record = _job(call, job_id, RENDER_JOB, event)
        if (record.arguments or {}).get("batch_id") != id:
            raise not_found()
        path = batch_path(call.kernel, job_id)
        return job_file_state(record, path, f"offlinesales-{id}.pdf", "application/pdf", failed_message=NOT_RENDERED)

    return job_file_answer(await in_call(request, work))


ROUTES = [list_batches, get_batch, create_batch, check_batch, render_batch, download_batch]
