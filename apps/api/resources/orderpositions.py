"""Order positions: the event and organizer position lists with pretix's filters, one position by id, named ticket
blocks (``add_block``/``remove_block``) and print records (``printlog``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, JSONBody
from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import aliased, contains_eager, selectinload

from boxoffice.apps.api.errors import not_found
from boxoffice.apps.api.order_shape import OrderShaper, PositionOut, PrintLogOut
from boxoffice.apps.api.resources.orders import (
    LIST_RESOURCE,
    WRITE_PERMISSION,
    event_ids,
    int_list_param,
    list_last_modified,
    name_matches,
    page_generated,
    require_read,
    shaper,
    status_list_param,
    status_param,
    visible_events,
)
from boxoffice.apps.api.resources.quotas import int_param
from boxoffice.apps.api.toolkit import Call, Page, in_call, parse_bool, possible_id
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.checkin import Checkin
from boxoffice.kernel.models.devices import Device
from boxoffice.kernel.models.orders import InvoiceAddress, Order, OrderPosition
from boxoffice.kernel.models.vouchers import Voucher
from boxoffice.kernel.orders.details import record_print, set_block

POSITIONS_BASE = "/api/v1/organizers/{organizer:str}/events/{event:str}/orderpositions/"
POSITION_DETAIL = POSITIONS_BASE + "{id:int}/"
ORGANIZER_POSITIONS = "/api/v1/organizers/{organizer:str}/orderpositions/"
POSITION_ORDERING: dict[str, Any] = {
    "order__code": Order.code,
    "order__datetime": Order.datetime,
    "positionid": OrderPosition.positionid,
    "attendee_name": OrderPosition.attendee_name_cached,
    "order__status": Order.status,
}


class BlockIn(msgspec.Struct):
    name: str


class PrintLogIn(msgspec.Struct):
    datetime: datetime
    source: str
    type: str
    info: dict[str, Any] = msgspec.field(default_factory=dict)


def positions_with_orders() -> Select[Any]:
    """Positions joined with their orders (filters and sorting use order columns; shaping needs the order)."""
    return (
        select(OrderPosition)
        .join(Order, Order.id == OrderPosition.order_id)
        .options(contains_eager(OrderPosition.order), selectinload(OrderPosition.answers))
    )


def position_filters(call: Call, statement: Select[Any]) -> Select[Any]:
    """Apply pretix's position list filters from the query string; 400 for malformed values."""
    query = call.query
    if not parse_bool(query, "include_canceled_positions"):
        statement = statement.where(OrderPosition.canceled.is_(False))
    if (code := query.get("order")) is not None:
        statement = statement.where(Order.code == code.upper())
    if (customer := query.get("customer")) is not None:
        statement = statement.where(Order.customer == customer)
    if (secret := query.get("secret")) is not None:
        statement = statement.where(OrderPosition.secret == secret)
    if (pseudonym := query.get("pseudonymization_id")) is not None:
        statement = statement.where(OrderPosition.pseudonymization_id == pseudonym)
    if (status := status_param(query, "order__status")) is not None:
        statement = statement.where(Order.status == status)
    if (statuses := status_list_param(query, "order__status__in")) is not None:
        statement = statement.where(Order.status.in_(statuses))
    for name, column in (
        ("item", OrderPosition.item_id),
        ("variation", OrderPosition.variation_id),
        ("subevent", OrderPosition.subevent_id),
        ("addon_to", OrderPosition.addon_to_id),
        ("voucher", OrderPosition.voucher_id),
    ):
        if (value := int_param(query, name)) is not None:
            statement = statement.where(column == value)
        if name != "voucher" and (values := int_list_param(query, f"{name}__in")) is not None:
            statement = statement.where(column.in_(values))
    if (voucher_code := query.get("voucher__code")) is not None:
        statement = statement.where(
            exists().where(Voucher.id == OrderPosition.voucher_id, Voucher.code == voucher_code)
        )
    if (attendee := query.get("attendee_name")) is not None:
        parent = aliased(OrderPosition)
        wanted = attendee.lower()
        statement = statement.where(
            or_(
                func.lower(OrderPosition.attendee_name_cached) == wanted,
                exists().where(
                    parent.id == OrderPosition.addon_to_id, func.lower(parent.attendee_name_cached) == wanted
                ),
            )
        )
    has_checkin = parse_bool(query, "has_checkin")
    if has_checkin is not None:
        checked_in = exists().where(Checkin.position_id == OrderPosition.id, Checkin.successful.is_(True))
        statement = statement.where(checked_in if has_checkin else ~checked_in)
    if term := (query.get("search") or "").strip():
        statement = statement.where(
            or_(
                OrderPosition.attendee_name_cached.icontains(term, autoescape=True),
                Order.code.icontains(term, autoescape=True),
                OrderPosition.secret.istartswith(term, autoescape=True),
                exists().where(InvoiceAddress.order_id == Order.id, name_matches(InvoiceAddress.name_parts, term)),
            )
        )
    return statement


def _page_of_positions(call: Call, statement: Select[Any], shaped: OrderShaper) -> Page[PositionOut]:
    return call.paginate(
        position_filters(call, statement),
        lambda position: shaped.position(position, position.order),
        ordering=POSITION_ORDERING,
        default_ordering=[Order.datetime, OrderPosition.positionid, OrderPosition.id],
        prepare=shaped.prepare_positions,
    )


def load_position(call: Call, event: Event, position_id: int, *, changing: bool = False) -> OrderPosition:
    """The event's position with this id; 404 otherwise, and for canceled positions unless
    ``include_canceled_positions=true`` (never when ``changing`` it: canceled positions cannot change)."""
    if not possible_id(position_id):
        raise not_found()
    position = call.session.scalar(
        positions_with_orders().where(Order.event_id == event.id, OrderPosition.id == position_id)
    )
    shown = not changing and parse_bool(call.query, "include_canceled_positions")
    if position is None or (position.canceled and not shown):
        raise not_found()
    return position


def shape_position(call: Call, event: Event, position: OrderPosition) -> PositionOut:
    shaped = shaper(call, event)
    shaped.prepare_positions([position])
    return shaped.position(position, position.order)


# --- endpoints -----------------------------------------------------------------------------------------------------


@get(POSITIONS_BASE, tags=["orders"])
async def list_positions(
    request: Request, organizer: FromPath[str], event: FromPath[str]
) -> Response[Page[PositionOut]]:
    """The event's order positions (canceled ones only with ``include_canceled_positions=true``), with pretix's
    filters and ``ordering``. ``pdf_data`` is not supported (ignored)."""

    def work(call: Call) -> Page[PositionOut]:
        page_generated(call)
        target = call.event(organizer, event)
        require_read(call)
        list_last_modified(call, event_ids(call, target.organizer_id, target.id))
        statement = positions_with_orders().where(Order.event_id == target.id)
        return _page_of_positions(call, statement, shaper(call, target))

    return await in_call(request, work)


@get(ORGANIZER_POSITIONS, tags=["orders"])
async def list_organizer_positions(request: Request, organizer: FromPath[str]) -> Response[Page[PositionOut]]:
    """Positions of every event of the organizer the caller may see; each names its ``event``."""

    def work(call: Call) -> Page[PositionOut]:
        page_generated(call)
        owner = call.organizer(organizer)
        require_read(call)
        list_last_modified(call, event_ids(call, owner.id))
        statement = visible_events(call, positions_with_orders().join(Event, Event.id == Order.event_id), owner.id)
        return _page_of_positions(call, statement, shaper(call, None, organizer_wide=True, with_event=True))

    return await in_call(request, work)


@get(POSITION_DETAIL, tags=["orders"])
async def get_position(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int]
) -> Response[PositionOut]:
    """One position by id (404 for canceled positions unless ``include_canceled_positions=true``)."""

    def work(call: Call) -> PositionOut:
        target = call.event(organizer, event)
        require_read(call)
        return shape_position(call, target, load_position(call, target, id))

    return await in_call(request, work)


def _change_block(call: Call, organizer: str, event: str, position_id: int, name: str, *, blocked: bool) -> PositionOut:
    target = call.event(organizer, event, WRITE_PERMISSION)
    position = load_position(call, target, position_id)
    if set_block(call.kernel, call.session, position, name, blocked=blocked, actor=call.principal.actor):
        call.touch(target, LIST_RESOURCE)
    return shape_position(call, target, load_position(call, target, position_id))


@post(POSITION_DETAIL + "add_block/", tags=["orders"], status_code=200)
async def add_block(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int], data: JSONBody[BlockIn]
) -> Response[PositionOut]:
    """Block the ticket under ``name`` (``admin`` or ``api:…``); a blocked ticket is refused at check-in and its
    secret is listed by ``blockedsecrets``. Adding a block that is already set changes nothing."""
    return await in_call(request, lambda call: _change_block(call, organizer, event, id, data.name, blocked=True))


@post(POSITION_DETAIL + "remove_block/", tags=["orders"], status_code=200)
async def remove_block(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int], data: JSONBody[BlockIn]
) -> Response[PositionOut]:
    """Lift the block ``name`` (``admin`` or ``api:…``; blocks set by plugins cannot be lifted here)."""
    return await in_call(request, lambda call: _change_block(call, organizer, event, id, data.name, blocked=False))


@post(POSITION_DETAIL + "printlog/", tags=["orders"], status_code=201)
async def add_print_log(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int], data: JSONBody[PrintLogIn]
) -> Response[PrintLogOut]:
    """Record that the position's ticket, badge or certificate was printed (``type``: badge, ticket, certificate,
    other); devices are noted with their ``device_id``."""

    def work(call: Call) -> PrintLogOut:
        target = call.event(organizer, event, WRITE_PERMISSION)
        position = load_position(call, target, id)
        device_id = None
        if call.principal.device_pk is not None:
            device_id = call.session.scalar(select(Device.device_id).where(Device.id == call.principal.device_pk))
        log = record_print(
            call.kernel,
            call.session,
            position,
            moment=data.datetime,
            source=data.source,
            print_type=data.type,
            info=data.info,
            device_id=device_id,
            actor=call.principal.actor,
        )
        call.touch(target, LIST_RESOURCE)
        return PrintLogOut(
            id=log.id,
            successful=True,
            device_id=log.device_id,
            datetime=log.datetime,
            source=log.source,
            type=log.type,
            info=log.info,
        )

    return await in_call(request, work, status_code=201)


ROUTES = [list_positions, list_organizer_positions, get_position, add_block, remove_block, add_print_log]
