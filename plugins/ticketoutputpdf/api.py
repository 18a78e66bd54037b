"""REST API of the PDF output (pretix's ``ticketoutputpdf`` resource): layouts, their product assignments, a
preview, and batch rendering of many tickets into one PDF (asynchronous: 202, then poll the download URL).

Mounted under ``/api/v1/organizers/{organizer}/events/{event}/`` by the plugin route hook, so every endpoint
answers 404 on events where the plugin is off. Reading needs access to the event, changing layouts the event
permission ``event.settings.general:write``, rendering tickets ``event.orders:read``.
"""

from __future__ import annotations

import io
from typing import Any

import msgspec
from litestar import Request, Response, delete, get, patch, post, put
from litestar.concurrency import sync_to_thread
from litestar.params import FromPath, JSONBody
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from boxoffice.apps.api.auth import credentials_key
from boxoffice.apps.api.errors import ApiError, FieldErrors, Problems, not_found
from boxoffice.apps.api.resources.upload import find_upload
from boxoffice.apps.api.toolkit import (
    Call,
    Page,
    decode_body,
    in_call,
    job_file_answer,
    job_file_state,
    possible_id,
    sent_fields,
)
from boxoffice.kernel.models import Event, Item, Organizer
from boxoffice.kernel.models.orders import Order, OrderPosition
from boxoffice.kernel.models.saleschannels import SalesChannel
from boxoffice.kernel.tickets import BATCH_JOB, batch_path, ticket_outputs
from boxoffice.plugins.ticketoutputpdf.layouts import layout_problems
from boxoffice.plugins.ticketoutputpdf.models import TicketLayout, TicketLayoutBackground, TicketLayoutItem
from boxoffice.plugins.ticketoutputpdf.output import CHANGE_RESOURCE, PdfTicketOutput
from boxoffice.plugins.ticketoutputpdf.rendering import background_digest, check_background, new_canvas

WRITE_PERMISSION = "event.settings.general:write"
RENDER_PERMISSION = "event.orders:read"
LAYOUTS = "/ticketlayouts/"
LAYOUT = LAYOUTS + "{id:int}/"
MAX_BATCH_PARTS = 1000
NAME_MAX = 190
CHANNEL_MAX = 190


class AssignmentOut(msgspec.Struct):
    sales_channel: str
    item: int


class LayoutOut(msgspec.Struct):
    id: int
    name: str
    default: bool
    layout: list[Any]
    background: str | None
    item_assignments: list[AssignmentOut]


class LayoutItemOut(msgspec.Struct):
    id: int
    layout: int
    item: int
    sales_channel: str


class AssignmentIn(msgspec.Struct):
    item: int
    sales_channel: str = "web"


class LayoutIn(msgspec.Struct):
    name: str | msgspec.UnsetType = msgspec.UNSET
    default: bool | msgspec.UnsetType = msgspec.UNSET
    layout: Any = msgspec.UNSET
    background: str | msgspec.UnsetType | None = msgspec.UNSET
    item_assignments: list[AssignmentIn] | msgspec.UnsetType = msgspec.UNSET


class BatchPart(msgspec.Struct):
    orderposition: int
    override_channel: str | None = None
    override_layout: int | None = None


class BatchIn(msgspec.Struct):
    parts: list[BatchPart] = msgspec.field(default_factory=list)


class BatchOut(msgspec.Struct):
    download: str


# --- helpers ---------------------------------------------------------------------------------------------------------


def _event_base(call: Call, event: Event) -> str:
    site = call.kernel.config.site_url.rstrip("/")
    return f"{site}/api/v1/organizers/{event.organizer.slug}/events/{event.slug}"


def background_url(call: Call, event: Event, layout: TicketLayout) -> str | None:
    if not layout.background_file:
        return None
    return f"{_event_base(call, event)}{LAYOUTS}{layout.id}/background/{layout.background_file}.pdf"


def serialize(call: Call, event: Event, layout: TicketLayout) -> LayoutOut:
    return LayoutOut(
        id=layout.id,
        name=layout.name,
        default=layout.is_default,
        layout=list(layout.elements or []),
        background=background_url(call, event, layout),
        item_assignments=[
            AssignmentOut(sales_channel=assignment.sales_channel, item=assignment.item_id)
            for assignment in layout.assignments
        ],
    )


def _layout(call: Call, event: Event, layout_id: int) -> TicketLayout:
    return call.get(TicketLayout, layout_id, event_id=event.id)


def _touch(call: Call, event: Event) -> None:
    """Layouts changed: cached ticket files of the event are outdated (and the lists' Last-Modified moves)."""
    call.touch(event, CHANGE_RESOURCE)


def _check(
    call: Call, event: Event, values: dict[str, Any], layout: TicketLayout | None, credentials: str
) -> tuple[dict[str, Any], TicketLayoutBackground | bool | None, list[AssignmentIn] | None]:
    """Validated column values, the background change (``False``: none, ``None``: remove) and assignments."""
    problems = Problems()
    columns: dict[str, Any] = {}
    if "name" in values:
        name = values["name"]
        if not name.strip():
            problems.add("name", "This field may not be blank.")
        elif len(name) > NAME_MAX or "\x00" in name:
            problems.add("name", f"Ensure this field has no more than {NAME_MAX} characters.")
        else:
            columns["name"] = name
    if "default" in values:
        columns["is_default"] = values["default"]
    if "layout" in values:
        elements = values["layout"]
        for message in layout_problems(elements):
            problems.add("layout", message)
        columns["elements"] = elements
    background: TicketLayoutBackground | bool | None = False
    if "background" in values:
        reference = values["background"]
        if reference is None:
            background = None
        elif layout is not None and reference == background_url(call, event, layout):
            background = False
        else:
            upload = find_upload(call.session, reference, credentials) if "\x00" not in reference else None
            if upload is None:
                problems.add("background", 'Expected a file ID from the upload endpoint ("file:<id>").')
            else:
                problem = check_background(upload.content)
                if problem is not None:
                    problems.add("background", problem)
                else:
                    background = TicketLayoutBackground(content=upload.content)
    assignments: list[AssignmentIn] | None = None
    if "item_assignments" in values:
        assignments = values["item_assignments"]
        wanted = {assignment.item for assignment in assignments}
        known = set(
            call.session.scalars(
                select(Item.id).where(Item.event_id == event.id, Item.id.in_([i for i in wanted if possible_id(i)]))
            )
        )
        channels = set(
            call.session.scalars(select(SalesChannel.identifier).where(SalesChannel.organizer_id == event.organizer_id))
        ) | {"web"}
        for assignment in assignments:
            if assignment.item not in known:
                problems.add("item_assignments", f'Invalid pk "{assignment.item}" - object does not exist.')
            if assignment.sales_channel not in channels:
                problems.add("item_assignments", f'Unknown sales channel "{assignment.sales_channel[:CHANNEL_MAX]}".')
        pairs = [(assignment.item, assignment.sales_channel) for assignment in assignments]
        if len(set(pairs)) != len(pairs):
            problems.add("item_assignments", "A product is assigned twice for the same sales channel.")
    problems.raise_if_any()
    return columns, background, assignments


def _apply(
    call: Call,
    event: Event,
    layout: TicketLayout,
    columns: dict[str, Any],
    background: TicketLayoutBackground | bool | None,
    assignments: list[AssignmentIn] | None,
) -> dict[str, Any]:
    """Store the checked change; returns what changed, for the audit log."""
    changed: dict[str, Any] = {}
    for name, value in columns.items():
        if getattr(layout, name) != value:
            setattr(layout, name, value)
            changed[name] = value
    call.session.flush()
    if background is None and layout.background_file:
        row = call.session.get(TicketLayoutBackground, layout.id)
        if row is not None:
            call.session.delete(row)
        layout.background_file = None
        changed["background"] = None
    elif isinstance(background, TicketLayoutBackground):
        digest = background_digest(background.content)
        row = call.session.get(TicketLayoutBackground, layout.id)
        if row is None:
            call.session.add(TicketLayoutBackground(layout_id=layout.id, content=background.content))
        else:
            row.content = background.content
        if layout.background_file != digest:
            layout.background_file = digest
            changed["background"] = digest
    if assignments is not None:
        current = {(a.item_id, a.sales_channel) for a in layout.assignments}
        wanted = {(a.item, a.sales_channel) for a in assignments}
        if current != wanted:
            for assignment in list(layout.assignments):
                if (assignment.item_id, assignment.sales_channel) not in wanted:
                    layout.assignments.remove(assignment)
            call.session.flush()
            for item_id, channel in sorted(wanted - current):
                # A product has one layout per sales channel: assigning it here takes it from another layout.
                other = call.session.scalar(
                    select(TicketLayoutItem).where(
                        TicketLayoutItem.item_id == item_id, TicketLayoutItem.sales_channel == channel
                    )
                )
                if other is not None:
                    call.session.delete(other)
                    call.session.flush()
                layout.assignments.append(TicketLayoutItem(item_id=item_id, sales_channel=channel))
            changed["item_assignments"] = [{"item": item, "sales_channel": channel} for item, channel in sorted(wanted)]
    if layout.is_default:
        call.session.execute(
            update(TicketLayout)
            .where(TicketLayout.event_id == event.id, TicketLayout.id != layout.id, TicketLayout.is_default.is_(True))
            .values(is_default=False)
        )
    elif not call.session.scalar(
        select(func.count()).where(TicketLayout.event_id == event.id, TicketLayout.is_default.is_(True))
    ):
        # An event with layouts always has a default one, so every product gets a ticket.
        layout.is_default = True
        changed["is_default"] = True
    call.session.flush()
    return changed


def _credentials(request: Request) -> str:
    return credentials_key(request.headers.get("authorization"), request.headers.get("cookie"))


def _load(call: Call, organizer_slug: str, event_slug: str, permission: str | None = None) -> Event:
    return call.event(organizer_slug, event_slug, permission)


# --- layouts -----------------------------------------------------------------------------------------------------


@get(LAYOUTS, tags=["ticketoutputpdf"])
async def list_layouts(request: Request, organizer_slug: FromPath[str], event_slug: FromPath[str]) -> Response[Page]:
    """The event's ticket layouts."""

    def work(call: Call) -> Page[LayoutOut]:
        event = _load(call, organizer_slug, event_slug)
        call.last_modified(event, CHANGE_RESOURCE)
        statement = (
            select(TicketLayout)
            .where(TicketLayout.event_id == event.id)
            .options(selectinload(TicketLayout.assignments))
        )
        return call.paginate(
            statement, lambda layout: serialize(call, event, layout), default_ordering=[TicketLayout.id]
        )

    return await in_call(request, work)


@get(LAYOUT, tags=["ticketoutputpdf"])
async def get_layout(
    request: Request, organizer_slug: FromPath[str], event_slug: FromPath[str], id: FromPath[int]
) -> Response[LayoutOut]:
    """One ticket layout."""

    def work(call: Call) -> LayoutOut:
        event = _load(call, organizer_slug, event_slug)
        return serialize(call, event, _layout(call, event, id))

    return await in_call(request, work)


@post(LAYOUTS, tags=["ticketoutputpdf"], status_code=201)
async def create_layout(
    request: Request, organizer_slug: FromPath[str], event_slug: FromPath[str], data: JSONBody[LayoutIn]
) -> Response[LayoutOut]:
    """Create a layout. ``background`` takes a ``file:<id>`` of an uploaded PDF; ``item_assignments`` lists
    ``{"item": id, "sales_channel": "web"}`` pairs that use this layout (taken from other layouts)."""
    credentials = _credentials(request)

    def work(call: Call) -> LayoutOut:
        event = _load(call, organizer_slug, event_slug, WRITE_PERMISSION)
        sent = sent_fields(data)
        if "name" not in sent:
            raise FieldErrors.single("name", "This field is required.")
        sent.setdefault("layout", [])
        columns, background, assignments = _check(call, event, sent, None, credentials)
        layout = TicketLayout(event_id=event.id, name=columns.pop("name"), elements=[], is_default=False)
        call.session.add(layout)
        call.session.flush()
        _apply(call, event, layout, columns, background, assignments)
        call.log(layout, "boxoffice.ticketoutputpdf.layout.added", {"name": layout.name})
        _touch(call, event)
        return serialize(call, event, layout)

    return await in_call(request, work, status_code=201)


def _update(call: Call, organizer_slug: str, event_slug: str, layout_id: int, data: LayoutIn, credentials: str,
            *, full: bool) -> LayoutOut:  # fmt: skip
    event = _load(call, organizer_slug, event_slug, WRITE_PERMISSION)
    layout = _layout(call, event, layout_id)
    sent = sent_fields(data)
    if full:
        if "name" not in sent:
            raise FieldErrors.single("name", "This field is required.")
        sent = {"default": False, "layout": [], "background": None, "item_assignments": [], **sent}
    columns, background, assignments = _check(call, event, sent, layout, credentials)
    changed = _apply(call, event, layout, columns, background, assignments)
    if changed:
        call.log(layout, "boxoffice.ticketoutputpdf.layout.changed", msgspec.to_builtins(changed))
        _touch(call, event)
    return serialize(call, event, layout)


@patch(LAYOUT, tags=["ticketoutputpdf"])
async def patch_layout(
    request: Request,
    organizer_slug: FromPath[str],
    event_slug: FromPath[str],
    id: FromPath[int],
    data: JSONBody[LayoutIn],
) -> Response[LayoutOut]:
    """Change the fields sent."""
    credentials = _credentials(request)
    return await in_call(
        request, lambda call: _update(call, organizer_slug, event_slug, id, data, credentials, full=False)
    )


@put(LAYOUT, tags=["ticketoutputpdf"])
async def put_layout(
    request: Request,
    organizer_slug: FromPath[str],
    event_slug: FromPath[str],
    id: FromPath[int],
    data: JSONBody[LayoutIn],
) -> Response[LayoutOut]:
    """Replace the layout: fields left out are reset."""
    credentials = _credentials(request)
    return await in_call(
        request, lambda call: _update(call, organizer_slug, event_slug, id, data, credentials, full=True)
    )


@delete(LAYOUT, tags=["ticketoutputpdf"], status_code=204)
async def delete_layout(
    request: Request, organizer_slug: FromPath[str], event_slug: FromPath[str], id: FromPath[int]
) -> Response[None]:
    """Delete a layout; its products fall back to the default layout (another layout becomes the default when
    this one was it)."""

    def work(call: Call) -> None:
        event = _load(call, organizer_slug, event_slug, WRITE_PERMISSION)
        layout = _layout(call, event, id)
        was_default = layout.is_default
        call.log(layout, "boxoffice.ticketoutputpdf.layout.deleted", {"id": layout.id, "name": layout.name})
        call.session.delete(layout)
        call.session.flush()
        if was_default:
            successor = call.session.scalar(
                select(TicketLayout).where(TicketLayout.event_id == event.id).order_by(TicketLayout.id).limit(1)
            )
            if successor is not None:
                successor.is_default = True
        _touch(call, event)

    return await in_call(request, work, status_code=204)


@get(LAYOUT + "background/{name:str}", tags=["ticketoutputpdf"], security=[{}])
async def get_background(
    request: Request, organizer_slug: FromPath[str], event_slug: FromPath[str], id: FromPath[int], name: FromPath[str]
) -> Response[bytes]:
    """The layout's background PDF (the URL in ``background``; public like other media, the name is its digest)."""
    kernel = request.app.state.kernel

    def load() -> bytes | None:
        with kernel.db.session() as session:
            return session.scalar(
                select(TicketLayoutBackground.content)
                .join(TicketLayout, TicketLayout.id == TicketLayoutBackground.layout_id)
                .join(Event, Event.id == TicketLayout.event_id)
                .join(Organizer, Organizer.id == Event.organizer_id)
                .where(
                    TicketLayout.id == id,
                    TicketLayout.background_file + ".pdf" == name,
                    Event.slug == event_slug,
                    Organizer.slug == organizer_slug,
                )
            )

    if not possible_id(id):
        raise not_found()
    content = await sync_to_thread(load)
    if content is None:
        raise not_found()
    return Response(content, media_type="application/pdf", headers={"Cache-Control": "public, max-age=86400"})


@post(LAYOUT + "preview/", tags=["ticketoutputpdf"], status_code=200)
async def preview_layout(
    request: Request, organizer_slug: FromPath[str], event_slug: FromPath[str], id: FromPath[int]
) -> Response[bytes]:
    """A sample ticket of this layout as PDF: every placeholder shows its sample value (no order needed)."""

    def work(call: Call) -> bytes:
        event = _load(call, organizer_slug, event_slug)
        layout = _layout(call, event, id)
        output = ticket_outputs(call.kernel, call.session, event).get(PdfTicketOutput.identifier)
        if not isinstance(output, PdfTicketOutput):
            raise not_found()
        buffer = io.BytesIO()
        canvas = new_canvas(buffer, layout.name)
        output.draw_sample(canvas, layout.id)
        canvas.save()
        return buffer.getvalue()

    response = await in_call(request, work)
    return Response(
        response.content,
        media_type="application/pdf",
        headers={**response.headers, "Content-Disposition": f'inline; filename="layout-{id}.pdf"'},
    )


@get("/ticketlayoutitems/", tags=["ticketoutputpdf"])
async def list_layout_items(
    request: Request, organizer_slug: FromPath[str], event_slug: FromPath[str]
) -> Response[Page]:
    """Which product (and sales channel) uses which layout."""

    def work(call: Call) -> Page[LayoutItemOut]:
        event = _load(call, organizer_slug, event_slug)
        statement = (
            select(TicketLayoutItem)
            .join(TicketLayout, TicketLayout.id == TicketLayoutItem.layout_id)
            .where(TicketLayout.event_id == event.id)
        )
        return call.paginate(
            statement,
            lambda row: LayoutItemOut(
                id=row.id, layout=row.layout_id, item=row.item_id, sales_channel=row.sales_channel
            ),
            default_ordering=[TicketLayoutItem.id],
        )

    return await in_call(request, work)


# --- batch rendering ---------------------------------------------------------------------------------------------


BATCH_DOWNLOAD = "ticketpdf-batch"


@post("/ticketpdfrenderer/render_batch/", tags=["ticketoutputpdf"], status_code=202)
async def render_batch(
    request: Request, organizer_slug: FromPath[str], event_slug: FromPath[str]
) -> Response[BatchOut]:
    """Start rendering up to 1,000 tickets (``parts``: ``orderposition`` with optional ``override_layout`` and
    ``override_channel``) into one PDF. Answers 202 with a ``download`` URL: 409 while running, 200 with the PDF."""
    raw = await request.body()

    def work(call: Call) -> BatchOut:
        event = _load(call, organizer_slug, event_slug, RENDER_PERMISSION)
        body = decode_body(raw, BatchIn)
        if not body.parts:
            raise FieldErrors.single("parts", "This list may not be empty.")
        if len(body.parts) > MAX_BATCH_PARTS:
            raise FieldErrors.single("parts", f"Ensure this field has no more than {MAX_BATCH_PARTS} elements.")
        wanted = {part.orderposition for part in body.parts if possible_id(part.orderposition)}
        known = set(
            call.session.scalars(
                select(OrderPosition.id)
                .join(Order, Order.id == OrderPosition.order_id)
                .where(Order.event_id == event.id, OrderPosition.id.in_(wanted))
            )
        )
        layouts = set(call.session.scalars(select(TicketLayout.id).where(TicketLayout.event_id == event.id)))
        errors: list[dict[str, list[str]]] = []
        for part in body.parts:
            entry: dict[str, list[str]] = {}
            if part.orderposition not in known:
                entry["orderposition"] = [f'Invalid pk "{part.orderposition}" - object does not exist.']
            if part.override_layout is not None and part.override_layout not in layouts:
                entry["override_layout"] = [f'Invalid pk "{part.override_layout}" - object does not exist.']
            errors.append(entry)
        if any(errors):
            raise FieldErrors({"parts": errors})
        if PdfTicketOutput.identifier not in ticket_outputs(call.kernel, call.session, event):
            raise ApiError(400, "PDF tickets are switched off for this event.")
        parts = [msgspec.to_builtins(part) for part in body.parts]
        job_id = call.kernel.jobs.enqueue_on_commit(
            call.session, BATCH_JOB, event_id=event.id, output=PdfTicketOutput.identifier, parts=parts
        )
        token = call.download_token(BATCH_DOWNLOAD, job_id)
        return BatchOut(download=f"{_event_base(call, event)}/ticketpdfrenderer/download/{job_id}/{token}/")

    return await in_call(request, work, status_code=202)


@get("/ticketpdfrenderer/download/{job_id:str}/{token:str}/", tags=["ticketoutputpdf"])
async def download_batch(
    request: Request,
    organizer_slug: FromPath[str],
    event_slug: FromPath[str],
    job_id: FromPath[str],
    token: FromPath[str],
) -> Response[Any]:
    """The batch's PDF (200), ``409 {"status": "waiting"|"running"}`` while it is made, ``410`` when it failed,
    404 when unknown or expired."""

    def work(call: Call) -> tuple[str, Any]:
        event = _load(call, organizer_slug, event_slug, RENDER_PERMISSION)
        if not call.token_matches(BATCH_DOWNLOAD, job_id, token):
            raise not_found()
        record = call.job(job_id, BATCH_JOB, event_id=event.id)
        path = batch_path(call.kernel, job_id)
        failed = "The tickets could not be rendered."
        return job_file_state(record, path, "tickets.pdf", "application/pdf", failed_message=failed)

    return job_file_answer(await in_call(request, work))


ROUTES = [
    list_layouts,
    get_layout,
    create_layout,
    patch_layout,
    put_layout,
    delete_layout,
    get_background,
    preview_layout,
    list_layout_items,
    render_batch,
    download_batch,
]
