"""Orders: the event and organizer order lists with pretix's filters, one order by code, and changing an order's
details (``PATCH``); plus the helpers other order resources share (permission check, loading, shaping, list
filters)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC
from typing import Any

import msgspec
from litestar import Request, Response, get, patch
from litestar.params import FromPath, JSONBody
from sqlalchemy import ColumnElement, Select, exists, func, or_, select

from boxoffice.apps.api.errors import FieldErrors, forbidden, friendly, insert_error, not_found
from boxoffice.apps.api.order_shape import OrderOut, OrderShaper, eager_order_options, trim_fields
from boxoffice.apps.api.resources.quotas import int_param
from boxoffice.apps.api.toolkit import MAX_ID, Call, Page, http_date, in_call, parse_bool, parse_datetime_param
from boxoffice.kernel import clock
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.markers import ChangeMarker
from boxoffice.kernel.models.orders import ORDER_STATUSES, InvoiceAddress, Order, OrderPayment, OrderPosition
from boxoffice.kernel.models.subevents import SubEvent
from boxoffice.kernel.orders.details import DETAIL_FIELDS, OrderDetails, change_order_details
from boxoffice.kernel.orders.providers import payment_providers
from boxoffice.kernel.tickets import available_outputs

READ_PERMISSIONS = ("event.orders:read", "event.orders:write")
WRITE_PERMISSION = "event.orders:write"
LIST_RESOURCE = "orders"
BASE = "/api/v1/organizers/{organizer:str}/events/{event:str}/orders/"
ORGANIZER_BASE = "/api/v1/organizers/{organizer:str}/orders/"
# Keys of structured names (pretix's name schemes); search looks into each.
NAME_PART_KEYS = (
    "_legacy",
    "full_name",
    "given_name",
    "family_name",
    "middle_name",
    "calling_name",
    "title",
    "salutation",
    "latin_transcription",
)
ORDER_ORDERING: dict[str, Any] = {
    "datetime": Order.datetime,
    "code": Order.code,
    "last_modified": Order.last_modified,
    "status": Order.status,
    "cancellation_date": Order.cancellation_date,
}
# Order fields a PATCH may not touch, with the way to change them where there is one.
READ_ONLY_HINTS = {
    "status": "The status changes through the order actions (mark_paid, mark_canceled, …).",
    "positions": "Positions change through the orderpositions resource or the change action.",
    "fees": "Fees change through the change action.",
    "payments": "Payments change through the payments resource.",
    "refunds": "Refunds change through the refunds resource.",
    "require_approval": "Approval changes through the approve and deny actions.",
}
READ_ONLY_FIELDS = frozenset(OrderOut.__struct_fields__) - set(DETAIL_FIELDS)


def require_read(call: Call) -> None:
    if not any(call.principal.has_event_permission(permission) for permission in READ_PERMISSIONS):
        raise forbidden()


def shaper(call: Call, event: Event | None, *, organizer_wide: bool = False, **options: bool) -> OrderShaper:
    """The order representation for this call, honouring ``include_canceled_positions``/``_fees``.

    ``event=None`` with ``organizer_wide`` shapes orders of several events (each order's own event and providers).
    """
    return OrderShaper(
        call.session,
        event,
        call.kernel.config.site_url,
        payment_providers(call.kernel, call.session, event) if event is not None else None,
        include_canceled_positions=bool(parse_bool(call.query, "include_canceled_positions")),
        include_canceled_fees=bool(parse_bool(call.query, "include_canceled_fees")),
        provider_factory=(lambda found: payment_providers(call.kernel, call.session, found))
        if organizer_wide
        else None,
        download_outputs=lambda found, order: available_outputs(call.kernel, call.session, found, order),
        **options,
    )


def load_order(call: Call, event: Event, code: str, *, refresh: bool = False) -> Order:
    """The event's order with this code and everything its representation needs; 404 otherwise.

    ``refresh`` re-reads rows already in the session (after a change, to show what was stored).
    """
    statement = select(Order).where(Order.event_id == event.id, Order.code == code).options(*eager_order_options())
    if refresh:
        statement = statement.execution_options(populate_existing=True)
    order = call.session.scalar(statement)
    if order is None:
        raise not_found()
    return order


def shape_order(call: Call, event: Event, order: Order, *, new: bool = False, **options: bool) -> OrderOut:
    """The API representation of ``order``; ``new`` for an order just created (nothing else refers to it yet)."""
    shaped = shaper(call, event, **options)
    shaped.prepare_orders([order], new=new)
    return shaped.order(order)


# --- list helpers (shared with positions and secrets) --------------------------------------------------------------


def page_generated(call: Call) -> None:
    """``X-Page-Generated``: the server time this request started, to pass back as ``modified_since`` (and the
    like) on the next poll so nothing changed meanwhile is missed."""
    moment = clock.now().astimezone(UTC)
    call.headers["X-Page-Generated"] = moment.isoformat().replace("+00:00", "Z")


def list_last_modified(
    call: Call, events: Select[Any], *, stamp: Any = Order.last_modified, event_column: Any = Order.event_id
) -> None:
    """``Last-Modified`` for a list of order data (``If-Modified-Since`` is answered with 304 from it).

    ``events`` selects the ids of the events listed. The moment is the latest of the rows' own ``stamp`` (every
    change of an order moves its ``last_modified``; placing one writes no shared row, so buyers never queue on
    one) and the events' ``orders`` change markers, which removals touch because they leave no row behind.
    """
    latest_row = call.session.scalar(select(func.max(stamp)).where(event_column.in_(events)))
    latest_marker = call.session.scalar(
        select(func.max(func.coalesce(ChangeMarker.modified, Event.created)))
        .select_from(Event)
        .outerjoin(ChangeMarker, (ChangeMarker.event_id == Event.id) & (ChangeMarker.resource == LIST_RESOURCE))
        .where(Event.id.in_(events))
    )
    moments = [
        moment if moment.tzinfo else moment.replace(tzinfo=UTC) for moment in (latest_row, latest_marker) if moment
    ]
    if moments:
        call.headers["Last-Modified"] = http_date(max(moments))


def event_ids(call: Call, organizer_id: int, event_id: int | None = None) -> Select[Any]:
    """The ids of one event, or of every event of the organizer the caller may see."""
    if event_id is not None:
        return select(Event.id).where(Event.id == event_id)
    return visible_events(call, select(Event.id), organizer_id)


def visible_events(call: Call, statement: Select[Any], organizer_id: int) -> Select[Any]:
    """Limit a statement joined with :class:`Event` to the organizer's events the caller may see."""
    statement = statement.where(Event.organizer_id == organizer_id)
    if not call.principal.all_events:
        statement = statement.where(Event.id.in_(call.principal.event_ids or {-1}))
    return statement


def int_list_param(query: Mapping[str, str], name: str) -> list[int] | None:
    """A comma-separated list of ids (``item__in=1,2``); 400 when one is not a number."""
    raw = query.get(name)
    if raw is None:
        return None
    values: list[int] = []
    for part in (part.strip() for part in raw.split(",")):
        if not part:
            continue
        try:
            number = int(part)
        except ValueError:
            raise FieldErrors.single(name, "Enter a whole number.") from None
        if abs(number) > MAX_ID:
            raise FieldErrors.single(name, f"Ensure this value is at most {MAX_ID} in magnitude.")
        values.append(number)
    return values


def status_param(query: Mapping[str, str], name: str) -> str | None:
    raw = query.get(name)
    if raw is None:
        return None
    if raw not in ORDER_STATUSES:
        raise FieldErrors.single(name, f"Select a valid choice. {raw} is not one of the available choices.")
    return raw


def status_list_param(query: Mapping[str, str], name: str) -> list[str] | None:
    raw = query.get(name)
    if raw is None:
        return None
    values = [part.strip() for part in raw.split(",") if part.strip()]
    for value in values:
        if value not in ORDER_STATUSES:
            raise FieldErrors.single(name, f"Select a valid choice. {value} is not one of the available choices.")
    return values


def name_matches(column: Any, term: str) -> ColumnElement[bool]:
    """Any part of a structured name (JSON) contains ``term``, case-insensitively."""
    return or_(*(column[key].as_string().icontains(term, autoescape=True) for key in NAME_PART_KEYS))


def repeated_param(request: Request, name: str) -> list[str]:
    """A parameter that may be repeated (``include=code&include=total``) or comma-separated."""
    values: list[str] = request.query_params.getall(name, [])
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def order_filters(call: Call, statement: Select[Any]) -> Select[Any]:
    """Apply pretix's order list filters from the query string; 400 for malformed values."""
    query = call.query
    position_of_order = OrderPosition.order_id == Order.id
    if (code := query.get("code")) is not None:
        statement = statement.where(Order.code == code.upper())
    if (status := status_param(query, "status")) is not None:
        statement = statement.where(Order.status == status)
    if (customer := query.get("customer")) is not None:
        statement = statement.where(Order.customer == customer)
    if (email := query.get("email")) is not None:
        statement = statement.where(func.lower(Order.email) == email.lower())
    if (locale := query.get("locale")) is not None:
        statement = statement.where(Order.locale == locale)
    if (channel := query.get("sales_channel")) is not None:
        statement = statement.where(Order.sales_channel == channel)
    for name in ("testmode", "require_approval"):
        flag = parse_bool(query, name)
        if flag is not None:
            statement = statement.where(getattr(Order, name).is_(flag))
    for name, column in (("item", OrderPosition.item_id), ("variation", OrderPosition.variation_id)):
        value = int_param(query, name)
        if value is not None:
            statement = statement.where(exists().where(position_of_order, column == value))
    if (subevent := int_param(query, "subevent")) is not None:
        statement = statement.where(exists().where(position_of_order, OrderPosition.subevent_id == subevent))
    if (after := parse_datetime_param(query, "subevent_after")) is not None:
        ends = func.coalesce(SubEvent.date_to, SubEvent.date_from)
        statement = statement.where(
            exists().where(position_of_order, SubEvent.id == OrderPosition.subevent_id, ends > after)
        )
    if (before := parse_datetime_param(query, "subevent_before")) is not None:
        statement = statement.where(
            exists().where(position_of_order, SubEvent.id == OrderPosition.subevent_id, SubEvent.date_from < before)
        )
    if (modified_since := parse_datetime_param(query, "modified_since")) is not None:
        statement = statement.where(Order.last_modified >= modified_since)
    if (created_since := parse_datetime_param(query, "created_since")) is not None:
        statement = statement.where(Order.datetime >= created_since)
    if (created_before := parse_datetime_param(query, "created_before")) is not None:
        statement = statement.where(Order.datetime < created_before)
    if (provider := query.get("payment_provider")) is not None:
        statement = statement.where(
            exists().where(OrderPayment.order_id == Order.id, OrderPayment.provider == provider)
        )
    if term := (query.get("search") or "").strip():
        statement = statement.where(
            or_(
                Order.code.icontains(term, autoescape=True),
                Order.email.icontains(term, autoescape=True),
                exists().where(
                    position_of_order,
                    or_(
                        OrderPosition.attendee_name_cached.icontains(term, autoescape=True),
                        OrderPosition.attendee_email.icontains(term, autoescape=True),
                        OrderPosition.secret.istartswith(term, autoescape=True),
                    ),
                ),
                exists().where(
                    InvoiceAddress.order_id == Order.id,
                    or_(
                        InvoiceAddress.company.icontains(term, autoescape=True),
                        name_matches(InvoiceAddress.name_parts, term),
                    ),
                ),
            )
        )
    return statement


def _page_of_orders(
    call: Call, statement: Select[Any], shaped: OrderShaper, include: list[str], exclude: list[str]
) -> Page[Any]:
    def serialize(order: Order) -> OrderOut | dict[str, Any]:
        out = shaped.order(order)
        return trim_fields(out, include, exclude) if include or exclude else out

    return call.paginate(
        order_filters(call, statement).options(*eager_order_options()),
        serialize,
        ordering=ORDER_ORDERING,
        default_ordering=[Order.datetime, Order.id],
        prepare=shaped.prepare_orders,
    )


# --- endpoints -----------------------------------------------------------------------------------------------------


@get(BASE, tags=["orders"])
async def list_orders(request: Request, organizer: FromPath[str], event: FromPath[str]) -> Response[Page[OrderOut]]:
    """The event's orders, oldest first, with pretix's filters (``status``, ``search``, ``modified_since``, …),
    ``ordering``, ``include``/``exclude`` (dotted paths such as ``positions.secret``) and ``X-Page-Generated``.
    ``pdf_data`` is not supported (ignored)."""
    include, exclude = repeated_param(request, "include"), repeated_param(request, "exclude")

    def work(call: Call) -> Page[Any]:
        page_generated(call)
        target = call.event(organizer, event)
        require_read(call)
        list_last_modified(call, event_ids(call, target.organizer_id, target.id))
        statement = select(Order).where(Order.event_id == target.id)
        return _page_of_orders(call, statement, shaper(call, target), include, exclude)

    return await in_call(request, work)


@get(ORGANIZER_BASE, tags=["orders"])
async def list_organizer_orders(request: Request, organizer: FromPath[str]) -> Response[Page[OrderOut]]:
    """Orders of every event of the organizer the caller may see (same filters and format as the event list;
    each order names its own ``event``)."""
    include, exclude = repeated_param(request, "include"), repeated_param(request, "exclude")

    def work(call: Call) -> Page[Any]:
        page_generated(call)
        owner = call.organizer(organizer)
        require_read(call)
        list_last_modified(call, event_ids(call, owner.id))
        statement = visible_events(call, select(Order).join(Event, Event.id == Order.event_id), owner.id)
        return _page_of_orders(call, statement, shaper(call, None, organizer_wide=True), include, exclude)

    return await in_call(request, work)


@get(BASE + "{code:str}/", tags=["orders"])
async def get_order(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str]
) -> Response[OrderOut]:
    """One order by code; ``include_canceled_positions`` / ``include_canceled_fees`` show canceled parts."""

    def work(call: Call) -> OrderOut:
        target = call.event(organizer, event)
        require_read(call)
        return shape_order(call, target, load_order(call, target, code))

    return await in_call(request, work)


_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_NULLABLE = re.compile(r"`([^`|]+?) \| null`")
_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


def _conversion_errors(message: str) -> dict[str, Any]:
    """msgspec's complaint (``Expected `str`, got `int` - at `$.email```) as pretix-shaped field errors."""
    found = _AT.search(message)
    # "Expected `str | null`" is the same complaint as "Expected `str`" for the client.
    text = _NULLABLE.sub(r"`\1`", message[: found.start()] if found else message)
    path: list[str | int] = []
    for name, index in _STEP.findall(found.group("path") if found else ""):
        path.append(name if name else int(index))
    tree: dict[str, Any] = {}
    insert_error(tree, path or ["non_field_errors"], friendly(text))
    return tree


def parse_details(data: Any) -> OrderDetails:
    """The PATCH body as :class:`OrderDetails`; 400 naming every field that cannot be changed this way."""
    if not isinstance(data, dict):
        raise FieldErrors.single("non_field_errors", "Invalid data. Expected a dictionary.")
    refused: dict[str, list[str]] = {}
    for name in data:
        if name in DETAIL_FIELDS:
            continue
        if name in READ_ONLY_FIELDS:
            refused[name] = [READ_ONLY_HINTS.get(name, "This field cannot be changed on an existing order.")]
        else:
            refused[name] = ["Unknown field."]
    if refused:
        raise FieldErrors(refused)
    try:
        return msgspec.convert(data, OrderDetails)
    except msgspec.ValidationError as error:
        raise FieldErrors(_conversion_errors(str(error))) from None


@patch(BASE + "{code:str}/", tags=["orders"])
async def update_order(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str], data: JSONBody[Any]
) -> Response[OrderOut]:
    """Change an order's details: ``email``, ``phone``, ``checkin_attention``, ``checkin_text``, ``locale``,
    ``comment``, ``api_meta``, ``custom_followup_at``, ``invoice_address`` (the whole address, or ``null`` to
    remove it), ``valid_if_pending`` and ``expires``. Any other field is refused with 400."""

    def work(call: Call) -> OrderOut:
        target = call.event(organizer, event, WRITE_PERMISSION)
        details = parse_details(data)
        order = load_order(call, target, code)
        if change_order_details(call.kernel, call.session, order, details, actor=call.principal.actor):
            call.touch(target, LIST_RESOURCE)
        call.session.flush()
        return shape_order(call, target, load_order(call, target, code, refresh=True))

    return await in_call(request, work)


ROUTES = [list_orders, list_organizer_orders, get_order, update_order]
