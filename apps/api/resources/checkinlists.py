"""Check-in lists of an event: list (filters, ``expand=subevent``, ``exclude`` of the counts), detail, create, update
(PATCH and PUT), delete (with its check-ins), the list's ``status`` (counts per product), the positions on a list,
the legacy per-list redeem endpoint and the report of scans refused offline (``failed_checkins``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Request, Response, delete, get, patch, post, put
from litestar.params import FromPath
from sqlalchemy import Select, and_, case, func, or_, select

from boxoffice.apps.api.errors import FieldErrors, not_found
from boxoffice.apps.api.resources.checkin import (
    CHECKIN_PERMISSIONS,
    READ_PERMISSIONS,
    CheckinOut,
    CheckinShaper,
    ScanIn,
    check_scan,
    checkin_record,
    device_numbers,
    device_pk,
    require_any,
    run_scan,
    scan_of,
    scanner_gate,
    search_positions,
)
from boxoffice.apps.api.resources.orderpositions import positions_with_orders
from boxoffice.apps.api.resources.orders import page_generated, repeated_param
from boxoffice.apps.api.resources.quotas import int_param, invalid_pk, subevent_problem
from boxoffice.apps.api.resources.subevents import serialize as serialize_subevent
from boxoffice.apps.api.toolkit import (
    Call,
    Page,
    decode_body,
    in_call,
    parse_bool,
    parse_datetime_param,
    possible_id,
    sent_fields,
)
from boxoffice.kernel import clock
from boxoffice.kernel.checkin.queries import (
    checked_in_on,
    checkin_count,
    inside_count,
    list_scope,
    position_count,
)
from boxoffice.kernel.checkin.redeem import record_failed
from boxoffice.kernel.checkin.rules import RuleError, check_rule
from boxoffice.kernel.i18n import localize
from boxoffice.kernel.models import Event, Item
from boxoffice.kernel.models.checkin import CHECKIN_TYPES, ERROR_REASONS, REASON_ANNULLED, CheckinList
from boxoffice.kernel.models.devices import Gate
from boxoffice.kernel.models.items import ItemVariation
from boxoffice.kernel.models.orders import Order, OrderPosition
from boxoffice.kernel.models.subevents import SubEvent

WRITE_PERMISSION = "event.settings.general:write"
LIST_READ_PERMISSIONS = (*READ_PERMISSIONS, WRITE_PERMISSION)
LIST_RESOURCE = "checkinlists"
BASE = "/api/v1/organizers/{organizer:str}/events/{event:str}/checkinlists/"
DETAIL = BASE + "{id:int}/"
NAME_MAX = 190
FLAGS = (
    "all_products",
    "include_pending",
    "allow_multiple_entries",
    "allow_entry_after_exit",
    "addon_match",
    "ignore_in_statistics",
    "consider_tickets_used",
)


class CheckinListOut(msgspec.Struct):
    id: int
    name: str
    all_products: bool
    limit_products: list[int]
    subevent: int | dict[str, Any] | None
    include_pending: bool
    allow_multiple_entries: bool
    allow_entry_after_exit: bool
    rules: dict[str, Any]
    exit_all_at: datetime | None
    addon_match: bool
    ignore_in_statistics: bool
    consider_tickets_used: bool
    gates: list[int]
    checkin_count: int | msgspec.UnsetType = msgspec.UNSET
    position_count: int | msgspec.UnsetType = msgspec.UNSET


class CheckinListIn(msgspec.Struct, forbid_unknown_fields=False):
    """Writable fields; on PATCH only the fields sent change, on PUT the others are reset. ``checkin_count`` and
    ``position_count`` are read-only (ignored when sent)."""

    name: str | msgspec.UnsetType = msgspec.UNSET
    all_products: bool | msgspec.UnsetType = msgspec.UNSET
    limit_products: list[int] | msgspec.UnsetType = msgspec.UNSET
    subevent: int | msgspec.UnsetType | None = msgspec.UNSET
    include_pending: bool | msgspec.UnsetType = msgspec.UNSET
    allow_multiple_entries: bool | msgspec.UnsetType = msgspec.UNSET
    allow_entry_after_exit: bool | msgspec.UnsetType = msgspec.UNSET
    rules: dict[str, Any] | msgspec.UnsetType | None = msgspec.UNSET
    exit_all_at: datetime | msgspec.UnsetType | None = msgspec.UNSET
    addon_match: bool | msgspec.UnsetType = msgspec.UNSET
    ignore_in_statistics: bool | msgspec.UnsetType = msgspec.UNSET
    consider_tickets_used: bool | msgspec.UnsetType = msgspec.UNSET
    gates: list[int] | msgspec.UnsetType = msgspec.UNSET


DEFAULTS: dict[str, Any] = {
    "all_products": True,
    "limit_products": [],
    "subevent": None,
    "include_pending": False,
    "allow_multiple_entries": False,
    "allow_entry_after_exit": True,
    "rules": {},
    "exit_all_at": None,
    "addon_match": False,
    "ignore_in_statistics": False,
    "consider_tickets_used": True,
    "gates": [],
}


# --- shaping -------------------------------------------------------------------------------------------------------


class ListShaper:
    def __init__(self, call: Call, expand: list[str], exclude: list[str]) -> None:
        self.call = call
        self.expand_subevent = "subevent" in expand
        self.counts = {name: name not in exclude for name in ("checkin_count", "position_count")}

    def serialize(self, checkin_list: CheckinList) -> CheckinListOut:
        session = self.call.session
        subevent: int | dict[str, Any] | None = checkin_list.subevent_id
        if self.expand_subevent and checkin_list.subevent_id is not None:
            found = session.get(SubEvent, checkin_list.subevent_id)
            subevent = msgspec.to_builtins(serialize_subevent(found)) if found is not None else None
        shaped = CheckinListOut(
            id=checkin_list.id,
            name=checkin_list.name,
            all_products=checkin_list.all_products,
            limit_products=[item.id for item in checkin_list.limit_products],
            subevent=subevent,
            include_pending=checkin_list.include_pending,
            allow_multiple_entries=checkin_list.allow_multiple_entries,
            allow_entry_after_exit=checkin_list.allow_entry_after_exit,
            rules=checkin_list.rules or {},
            exit_all_at=checkin_list.exit_all_at,
            addon_match=checkin_list.addon_match,
            ignore_in_statistics=checkin_list.ignore_in_statistics,
            consider_tickets_used=checkin_list.consider_tickets_used,
            gates=[gate.id for gate in checkin_list.gates],
        )
        if self.counts["checkin_count"]:
            shaped.checkin_count = checkin_count(session, checkin_list)
        if self.counts["position_count"]:
            shaped.position_count = position_count(session, checkin_list)
        return shaped


def shaper(request: Request) -> tuple[list[str], list[str]]:
    return repeated_param(request, "expand"), repeated_param(request, "exclude")


def get_list(call: Call, event: Event, list_id: int) -> CheckinList:
    return call.get(CheckinList, list_id, event_id=event.id)


# --- writing -------------------------------------------------------------------------------------------------------


def current(checkin_list: CheckinList) -> dict[str, Any]:
    return {
        "name": checkin_list.name,
        "limit_products": [item.id for item in checkin_list.limit_products],
        "subevent": checkin_list.subevent_id,
        "rules": checkin_list.rules or {},
        "exit_all_at": checkin_list.exit_all_at,
        "gates": [gate.id for gate in checkin_list.gates],
        **{flag: getattr(checkin_list, flag) for flag in FLAGS},
    }


def validate(call: Call, event: Event, values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}

    def fail(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    name = values.get("name")
    if name is None:
        fail("name", "This field is required.")
    elif not name.strip():
        fail("name", "This field may not be blank.")
    elif len(name) > NAME_MAX:
        fail("name", f"Ensure this field has no more than {NAME_MAX} characters.")
    item_ids = list(dict.fromkeys(values.get("limit_products") or []))
    values["limit_products"] = item_ids
    known = set(call.session.scalars(select(Item.id).where(Item.event_id == event.id, Item.id.in_(item_ids))))
    for missing in [item_id for item_id in item_ids if item_id not in known]:
        fail("limit_products", invalid_pk(missing))
    gate_ids = list(dict.fromkeys(values.get("gates") or []))
    values["gates"] = gate_ids
    known_gates = set(
        call.session.scalars(select(Gate.id).where(Gate.organizer_id == event.organizer_id, Gate.id.in_(gate_ids)))
    )
    for missing in [gate_id for gate_id in gate_ids if gate_id not in known_gates]:
        fail("gates", invalid_pk(missing))
    if (problem := subevent_problem(call, event, values.get("subevent"), required_in_series=False)) is not None:
        fail("subevent", problem)
    rules = values.get("rules")
    values["rules"] = rules = rules or {}
    try:
        check_rule(rules)
    except RuleError as error:
        fail("rules", str(error))
    if errors:
        raise FieldErrors(errors)
    return values


def apply(call: Call, event: Event, checkin_list: CheckinList, values: dict[str, Any]) -> dict[str, Any]:
    before = current(checkin_list)
    changed = {key: value for key, value in values.items() if before.get(key) != value}
    for key in ("name", "rules", "exit_all_at", *FLAGS):
        if key in changed:
            setattr(checkin_list, key, changed[key])
    if "subevent" in changed:
        checkin_list.subevent_id = changed["subevent"]
    if "limit_products" in changed:
        checkin_list.limit_products = list(
            call.session.scalars(
                select(Item).where(Item.event_id == event.id, Item.id.in_(changed["limit_products"])).order_by(Item.id)
            )
        )
    if "gates" in changed:
        checkin_list.gates = list(
            call.session.scalars(
                select(Gate)
                .where(Gate.organizer_id == event.organizer_id, Gate.id.in_(changed["gates"]))
                .order_by(Gate.id)
            )
        )
    return changed


def filtered(call: Call, event: Event) -> Select[Any]:
    statement = select(CheckinList).where(CheckinList.event_id == event.id)
    if (subevent := int_param(call.query, "subevent")) is not None:
        statement = statement.where(CheckinList.subevent_id == subevent)
    if (subevent_match := int_param(call.query, "subevent_match")) is not None:
        statement = statement.where(or_(CheckinList.subevent_id == subevent_match, CheckinList.subevent_id.is_(None)))
    if (ends_after := parse_datetime_param(call.query, "ends_after")) is not None:
        ends = func.coalesce(SubEvent.date_to, SubEvent.date_from)
        statement = statement.outerjoin(SubEvent, SubEvent.id == CheckinList.subevent_id).where(
            or_(CheckinList.subevent_id.is_(None), ends >= ends_after)
        )
    return statement


# --- endpoints: lists ----------------------------------------------------------------------------------------------


@get(BASE, tags=["checkin"])
async def list_checkinlists(
    request: Request, organizer: FromPath[str], event: FromPath[str]
) -> Response[Page[CheckinListOut]]:
    """The event's check-in lists; filter by ``subevent``, ``subevent_match`` (also lists for all dates),
    ``ends_after``; ``expand=subevent``; ``exclude=checkin_count`` / ``position_count`` saves counting;
    ``ordering`` by ``id``, ``name``, ``subevent__date_from``."""
    expand, exclude = shaper(request)

    def work(call: Call) -> Page[CheckinListOut]:
        target = call.event(organizer, event)
        require_any(call, LIST_READ_PERMISSIONS)
        date_from = select(SubEvent.date_from).where(SubEvent.id == CheckinList.subevent_id).scalar_subquery()
        return call.paginate(
            filtered(call, target),
            ListShaper(call, expand, exclude).serialize,
            ordering={"id": CheckinList.id, "name": CheckinList.name, "subevent__date_from": date_from},
            default_ordering=[date_from, CheckinList.name, CheckinList.id],
        )

    return await in_call(request, work)


@get(DETAIL, tags=["checkin"])
async def get_checkinlist(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int]
) -> Response[CheckinListOut]:
    """One check-in list with its counts."""
    expand, exclude = shaper(request)

    def work(call: Call) -> CheckinListOut:
        target = call.event(organizer, event)
        require_any(call, LIST_READ_PERMISSIONS)
        return ListShaper(call, expand, exclude).serialize(get_list(call, target, id))

    return await in_call(request, work)


@post(BASE, tags=["checkin"], status_code=201)
async def create_checkinlist(
    request: Request, organizer: FromPath[str], event: FromPath[str]
) -> Response[CheckinListOut]:
    """Create a check-in list: ``name``; ``all_products`` or ``limit_products``; ``subevent`` (null: every date);
    entry rules (``allow_multiple_entries``, ``allow_entry_after_exit``, ``rules``, ``include_pending``, …)."""
    raw = await request.body()

    def work(call: Call) -> CheckinListOut:
        target = call.event(organizer, event, WRITE_PERMISSION)
        data = decode_body(raw, CheckinListIn)
        values = validate(call, target, {**DEFAULTS, **sent_fields(data)})
        checkin_list = CheckinList(event=target, event_id=target.id, name=values["name"], rules={})
        call.session.add(checkin_list)
        call.session.flush()
        apply(call, target, checkin_list, values)
        call.session.flush()
        call.log(checkin_list, "boxoffice.event.checkinlist.added", msgspec.to_builtins(values))
        call.touch(target, LIST_RESOURCE)
        return ListShaper(call, [], []).serialize(checkin_list)

    return await in_call(request, work, status_code=201)


def _update(call: Call, organizer: str, event: str, list_id: int, raw: bytes, *, full: bool) -> CheckinListOut:
    target = call.event(organizer, event, WRITE_PERMISSION)
    checkin_list = get_list(call, target, list_id)
    sent = sent_fields(decode_body(raw, CheckinListIn))
    if full:
        sent = {**DEFAULTS, **sent}
    values = validate(call, target, {**current(checkin_list), **sent})
    changed = apply(call, target, checkin_list, {key: values[key] for key in sent})
    if changed:
        call.session.flush()
        call.log(checkin_list, "boxoffice.event.checkinlist.changed", msgspec.to_builtins(changed))
        call.touch(target, LIST_RESOURCE)
    return ListShaper(call, [], []).serialize(checkin_list)


@patch(DETAIL, tags=["checkin"])
async def update_checkinlist(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int]
) -> Response[CheckinListOut]:
    """Change the fields sent (the counts cannot be changed)."""
    raw = await request.body()
    return await in_call(request, lambda call: _update(call, organizer, event, id, raw, full=False))


@put(DETAIL, tags=["checkin"])
async def replace_checkinlist(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int]
) -> Response[CheckinListOut]:
    """Replace the list: omitted fields are reset to their defaults."""
    raw = await request.body()
    return await in_call(request, lambda call: _update(call, organizer, event, id, raw, full=True))


@delete(DETAIL, tags=["checkin"], status_code=204)
async def delete_checkinlist(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int]
) -> Response[None]:
    """Delete a check-in list together with every check-in recorded on it."""

    def work(call: Call) -> None:
        target = call.event(organizer, event, WRITE_PERMISSION)
        checkin_list = get_list(call, target, id)
        call.log(
            checkin_list, "boxoffice.event.checkinlist.deleted", {"id": checkin_list.id, "name": checkin_list.name}
        )
        call.session.delete(checkin_list)
        call.touch(target, LIST_RESOURCE)

    return await in_call(request, work, status_code=204)


# --- status --------------------------------------------------------------------------------------------------------


class VariationStatus(msgspec.Struct):
    value: str
    id: int
    checkin_count: int
    position_count: int


class ItemStatus(msgspec.Struct):
    name: str
    id: int
    checkin_count: int
    admission: bool
    position_count: int
    variations: list[VariationStatus]


class ListStatus(msgspec.Struct):
    checkin_count: int
    position_count: int
    inside_count: int
    event: dict[str, str]
    items: list[ItemStatus]


@get(DETAIL + "status/", tags=["checkin"])
async def checkinlist_status(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int]
) -> Response[ListStatus]:
    """How far check-in on this list has come: tickets and checked-in tickets overall and per product and
    variation, and how many holders are inside now (entered and not left)."""

    def work(call: Call) -> ListStatus:
        target = call.event(organizer, event)
        require_any(call, LIST_READ_PERMISSIONS)
        checkin_list = get_list(call, target, id)
        checked_in = case((checked_in_on([checkin_list.id]), 1), else_=0)
        rows = call.session.execute(
            select(OrderPosition.item_id, OrderPosition.variation_id, func.count(), func.sum(checked_in))
            .select_from(OrderPosition)
            .join(Order, Order.id == OrderPosition.order_id)
            .where(list_scope(checkin_list))
            .group_by(OrderPosition.item_id, OrderPosition.variation_id)
        ).all()
        counts = {(item_id, variation_id): (total, int(done or 0)) for item_id, variation_id, total, done in rows}
        items = list(
            call.session.scalars(select(Item).where(Item.event_id == target.id).order_by(Item.position, Item.id))
        )
        if not checkin_list.all_products:
            allowed = {item.id for item in checkin_list.limit_products}
            items = [item for item in items if item.id in allowed]
        variations: dict[int, list[ItemVariation]] = {}
        for variation in call.session.scalars(
            select(ItemVariation)
            .where(ItemVariation.item_id.in_([item.id for item in items]))
            .order_by(ItemVariation.position, ItemVariation.id)
        ):
            variations.setdefault(variation.item_id, []).append(variation)
        shaped_items = []
        for item in items:
            per_item = [count for (item_id, _), count in counts.items() if item_id == item.id]
            shaped_items.append(
                ItemStatus(
                    name=localize(item.name),
                    id=item.id,
                    checkin_count=sum(done for _, done in per_item),
                    admission=item.admission,
                    position_count=sum(total for total, _ in per_item),
                    variations=[
                        VariationStatus(
                            value=localize(variation.value),
                            id=variation.id,
                            checkin_count=counts.get((item.id, variation.id), (0, 0))[1],
                            position_count=counts.get((item.id, variation.id), (0, 0))[0],
                        )
                        for variation in variations.get(item.id, [])
                    ],
                )
            )
        return ListStatus(
            checkin_count=sum(done for _, done in counts.values()),
            position_count=sum(total for total, _ in counts.values()),
            inside_count=inside_count(call.session, checkin_list),
            event={"name": localize(target.name)},
            items=shaped_items,
        )

    return await in_call(request, work)


# --- positions on a list -------------------------------------------------------------------------------------------


@get(DETAIL + "positions/", tags=["checkin"])
async def list_positions(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int]
) -> Response[Page[dict[str, Any]]]:
    """Tickets on the list (live tickets of paid orders, and of pending ones where the list includes them;
    ``ignore_status=true`` shows all) with the position filters, ``has_checkin``, ``search`` and ``ordering``
    (``last_checked_in`` among others); each ticket shows its check-ins on this list."""
    expand = repeated_param(request, "expand")

    def work(call: Call) -> Page[dict[str, Any]]:
        page_generated(call)
        target = call.event(organizer, event)
        require_any(call, READ_PERMISSIONS)
        checkin_list = get_list(call, target, id)
        return search_positions(call, [checkin_list], expand)

    return await in_call(request, work)


@get(DETAIL + "positions/{position:str}/", tags=["checkin"])
async def get_position(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int], position: FromPath[str]
) -> Response[dict[str, Any]]:
    """One ticket of the list, as the list shows it."""
    expand = repeated_param(request, "expand")

    def work(call: Call) -> dict[str, Any]:
        target = call.event(organizer, event)
        require_any(call, READ_PERMISSIONS)
        checkin_list = get_list(call, target, id)
        ignore_status = bool(parse_bool(call.query, "ignore_status"))
        position_id = int(position) if position.isdigit() else 0
        if not possible_id(position_id):
            raise not_found()
        found = call.session.scalar(
            positions_with_orders().where(
                and_(list_scope(checkin_list, ignore_status=ignore_status), OrderPosition.id == position_id)
            )
        )
        if found is None:
            raise not_found()
        view = CheckinShaper(call, target, [checkin_list.id], expand)
        view.prepare([found])
        return view.position(found)

    return await in_call(request, work)


@post(DETAIL + "positions/{position:str}/redeem/", tags=["checkin"], status_code=201)
async def redeem_on_list(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int], position: FromPath[str]
) -> Response[dict[str, Any]]:
    """Legacy check-in on one list: ``position`` is a position id or a ticket secret (always a secret with
    ``untrusted_input=true``, which scanned input must use). Same answers as ``checkinrpc/redeem``; canceled
    tickets report ``unpaid`` unless ``canceled_supported`` is true."""
    raw = await request.body()
    expand = repeated_param(request, "expand")
    status = 201

    def work(call: Call) -> dict[str, Any]:
        nonlocal status
        target = call.event(organizer, event)
        require_any(call, CHECKIN_PERMISSIONS)
        data = decode_body(raw, ScanIn)
        check_scan(data)
        checkin_list = get_list(call, target, id)
        untrusted = bool(parse_bool(call.query, "untrusted_input"))
        position_id: int | None = None
        if not untrusted and position.isdigit() and possible_id(int(position)):
            position_id = call.session.scalar(
                select(OrderPosition.id)
                .join(Order, Order.id == OrderPosition.order_id)
                .where(Order.event_id == target.id, OrderPosition.id == int(position))
            )
        scan = scan_of(
            call,
            data,
            [checkin_list],
            secret=position,
            gate_id=scanner_gate(call, [checkin_list], field="list"),
            position_id=position_id,
            canceled_supported=data.canceled_supported,
        )
        body, status = run_scan(call, scan, expand)
        return body

    response = await in_call(request, work, status_code=201)
    response.status_code = status
    return response


class FailedCheckinIn(msgspec.Struct, forbid_unknown_fields=False):
    error_reason: str
    raw_barcode: str
    datetime: datetime | None = None
    type: str = "entry"
    position: int | None = None
    raw_item: int | None = None
    raw_variation: int | None = None
    raw_subevent: int | None = None


@post(DETAIL + "failed_checkins/", tags=["checkin"], status_code=201)
async def report_failed_checkin(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int]
) -> Response[CheckinOut]:
    """Record a scan a scanner refused on its own (offline), so that statistics and the history show it."""
    raw = await request.body()

    def work(call: Call) -> CheckinOut:
        target = call.event(organizer, event)
        require_any(call, CHECKIN_PERMISSIONS)
        data = decode_body(raw, FailedCheckinIn)
        checkin_list = get_list(call, target, id)
        if data.error_reason not in ERROR_REASONS or data.error_reason == REASON_ANNULLED:
            raise FieldErrors.single("error_reason", f'"{data.error_reason}" is not a valid choice.')
        if data.type not in CHECKIN_TYPES:
            raise FieldErrors.single("type", f'"{data.type}" is not a valid choice.')
        found: OrderPosition | None = None
        if data.position is not None:
            found = call.session.scalar(
                positions_with_orders().where(Order.event_id == target.id, OrderPosition.id == data.position)
            )
            if found is None:
                raise FieldErrors.single("position", invalid_pk(data.position))
        checkin = record_failed(
            call.kernel,
            call.session,
            checkin_list,
            reason=data.error_reason,
            explanation=None,
            moment=data.datetime or clock.now(),
            checkin_type=data.type,
            actor=call.principal.actor,
            position=found,
            raw_barcode=data.raw_barcode,
            raw_item_id=data.raw_item,
            raw_variation_id=data.raw_variation,
            raw_subevent_id=data.raw_subevent,
            device_pk=device_pk(call),
            gate_id=scanner_gate(call, [checkin_list], enforce=False),
        )
        return checkin_record(checkin, device_numbers(call, [checkin]).get(checkin.device_id or 0))

    return await in_call(request, work, status_code=201)


ROUTES = [
    list_checkinlists,
    get_checkinlist,
    create_checkinlist,
    update_checkinlist,
    replace_checkinlist,
    delete_checkinlist,
    checkinlist_status,
    list_positions,
    get_position,
    redeem_on_list,
    report_failed_checkin,
]
