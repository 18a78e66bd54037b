"""Sub-events (dates of an event series): list per event (filters, ``Last-Modified`` aware) and across the
organizer, detail, create (only in events with ``has_subevents``), update (PATCH and PUT) with item and variation
price overrides, delete (refused once the date has orders)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
from litestar import Request, Response, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody
from sqlalchemy import Select, Text, false, func, or_, select
from sqlalchemy.orm import selectinload

from boxoffice.apps.api.errors import NON_FIELD, ApiError, FieldErrors, Problems
from boxoffice.apps.api.resources.categories import (
    blocking_references,
    check_decimal,
    check_multilingual,
    event_item_ids,
    event_variation_ids,
    is_referenced,
    references_to,
)
from boxoffice.apps.api.toolkit import (
    Call,
    Page,
    in_call,
    money,
    parse_bool,
    parse_datetime_param,
    sent_fields,
    utc,
)
from boxoffice.kernel import clock
from boxoffice.kernel.db import Base
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.subevents import SubEvent, SubEventItem, SubEventItemVariation

Multilingual = dict[str, str]
WRITE_PERMISSION = "event.subevents:write"
LIST_RESOURCE = "subevents"
BASE = "/api/v1/organizers/{organizer:str}/events/{event:str}/subevents/"
DETAIL = BASE + "{subevent_id:int}/"
META_KEY_MAX = 190
OVERRIDE_TABLES = (SubEventItem.__tablename__, SubEventItemVariation.__tablename__)


class ItemOverrideOut(msgspec.Struct):
    item: int
    disabled: bool
    available_from: datetime | None
    available_until: datetime | None
    price: Decimal | None


class VariationOverrideOut(msgspec.Struct):
    variation: int
    disabled: bool
    available_from: datetime | None
    available_until: datetime | None
    price: Decimal | None


class SubEventOut(msgspec.Struct):
    id: int
    name: Multilingual
    event: str
    active: bool
    is_public: bool
    date_from: datetime
    date_to: datetime | None
    date_admission: datetime | None
    presale_start: datetime | None
    presale_end: datetime | None
    frontpage_text: Multilingual | None
    location: Multilingual | None
    geo_lat: float | None
    geo_lon: float | None
    seating_plan: int | None
    seat_category_mapping: dict[str, int | None]
    item_price_overrides: list[ItemOverrideOut]
    variation_price_overrides: list[VariationOverrideOut]
    meta_data: dict[str, str]
    last_modified: datetime


class SubEventWithAvailability(SubEventOut):
    """With ``?with_availability_for=<channel>``: 100 = available, below = sold out or reserved, null = unknown."""

    best_availability_state: int | None


class ItemOverrideIn(msgspec.Struct):
    item: int
    disabled: bool = False
    available_from: datetime | None = None
    available_until: datetime | None = None
    price: Decimal | None = None


class VariationOverrideIn(msgspec.Struct):
    variation: int
    disabled: bool = False
    available_from: datetime | None = None
    available_until: datetime | None = None
    price: Decimal | None = None


class SubEventIn(msgspec.Struct):
    """Writable sub-event fields; on PATCH only the fields sent change (an override list sent replaces the old one),
    on PUT the others are reset."""

    name: Multilingual | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET
    is_public: bool | msgspec.UnsetType = msgspec.UNSET
    date_from: datetime | msgspec.UnsetType = msgspec.UNSET
    date_to: datetime | msgspec.UnsetType | None = msgspec.UNSET
    date_admission: datetime | msgspec.UnsetType | None = msgspec.UNSET
    presale_start: datetime | msgspec.UnsetType | None = msgspec.UNSET
    presale_end: datetime | msgspec.UnsetType | None = msgspec.UNSET
    frontpage_text: Multilingual | msgspec.UnsetType | None = msgspec.UNSET
    location: Multilingual | msgspec.UnsetType | None = msgspec.UNSET
    geo_lat: float | msgspec.UnsetType | None = msgspec.UNSET
    geo_lon: float | msgspec.UnsetType | None = msgspec.UNSET
    seating_plan: int | msgspec.UnsetType | None = msgspec.UNSET
    seat_category_mapping: dict[str, int | None] | msgspec.UnsetType | None = msgspec.UNSET
    item_price_overrides: list[ItemOverrideIn] | msgspec.UnsetType | None = msgspec.UNSET
    variation_price_overrides: list[VariationOverrideIn] | msgspec.UnsetType | None = msgspec.UNSET
    meta_data: dict[str, str] | msgspec.UnsetType | None = msgspec.UNSET


REQUIRED = ("name", "date_from")
DEFAULTS: dict[str, Any] = {
    "active": False,
    "is_public": True,
    "date_to": None,
    "date_admission": None,
    "presale_start": None,
    "presale_end": None,
    "frontpage_text": None,
    "location": None,
    "geo_lat": None,
    "geo_lon": None,
    "seating_plan": None,
    "seat_category_mapping": {},
    "item_price_overrides": [],
    "variation_price_overrides": [],
    "meta_data": {},
}
COLUMNS = (
    "name",
    "active",
    "is_public",
    "date_from",
    "date_to",
    "date_admission",
    "presale_start",
    "presale_end",
    "frontpage_text",
    "location",
    "geo_lat",
    "geo_lon",
    "seating_plan",
    "seat_category_mapping",
    "meta_data",
)
OVERRIDE_FIELDS = ("disabled", "available_from", "available_until", "price")


def defaults() -> dict[str, Any]:
    """Fresh default values (the JSON ones must not be shared between rows)."""
    return {name: value.copy() if isinstance(value, dict | list) else value for name, value in DEFAULTS.items()}


# --- output ----------------------------------------------------------------------------------------------------------


def _item_override(row: SubEventItem) -> ItemOverrideOut:
    return ItemOverrideOut(row.item_id, row.disabled, row.available_from, row.available_until, money(row.price))


def _variation_override(row: SubEventItemVariation) -> VariationOverrideOut:
    return VariationOverrideOut(
        row.variation_id, row.disabled, row.available_from, row.available_until, money(row.price)
    )


def _fields(subevent: SubEvent) -> dict[str, Any]:
    return {
        "id": subevent.id,
        "name": subevent.name,
        "event": subevent.event.slug,
        "active": subevent.active,
        "is_public": subevent.is_public,
        "date_from": subevent.date_from,
        "date_to": subevent.date_to,
        "date_admission": subevent.date_admission,
        "presale_start": subevent.presale_start,
        "presale_end": subevent.presale_end,
        "frontpage_text": subevent.frontpage_text,
        "location": subevent.location,
        "geo_lat": subevent.geo_lat,
        "geo_lon": subevent.geo_lon,
        "seating_plan": subevent.seating_plan,
        "seat_category_mapping": dict(subevent.seat_category_mapping or {}),
        "item_price_overrides": [_item_override(row) for row in subevent.item_overrides],
        "variation_price_overrides": [_variation_override(row) for row in subevent.variation_overrides],
        "meta_data": dict(subevent.meta_data or {}),
        "last_modified": subevent.last_modified,
    }


def serialize(subevent: SubEvent) -> SubEventOut:
    return SubEventOut(**_fields(subevent))


def serializer(call: Call) -> Callable[[SubEvent], SubEventOut]:
    """Plain output, or with ``best_availability_state`` when the client asks for availability.

    Availability needs quota and order accounting, which does not consider dates yet: the state is reported as
    unknown (null), as the interface allows.
    """
    if "with_availability_for" not in call.query:
        return serialize
    return lambda subevent: SubEventWithAvailability(**_fields(subevent), best_availability_state=None)


def _loaded(statement: Select[Any]) -> Select[Any]:
    return statement.options(
        selectinload(SubEvent.item_overrides),
        selectinload(SubEvent.variation_overrides),
        selectinload(SubEvent.event),
    )


# --- input -----------------------------------------------------------------------------------------------------------


def _normalise(data: SubEventIn) -> dict[str, Any]:
    """The fields sent, with override datetimes in UTC and override lists as plain dicts."""
    values = sent_fields(data)
    for field in ("item_price_overrides", "variation_price_overrides"):
        if field in values:
            values[field] = [
                {
                    name: utc(value) if isinstance(value, datetime) else value
                    for name, value in msgspec.structs.asdict(override).items()
                }
                for override in values[field] or []
            ]
    if "meta_data" in values and values["meta_data"] is None:
        values["meta_data"] = {}
    if "seat_category_mapping" in values and values["seat_category_mapping"] is None:
        values["seat_category_mapping"] = {}
    return values


def _check_overrides(
    overrides: list[dict[str, Any]], key: str, known: set[int], what: str
) -> list[dict[str, list[str]]]:
    """Per-entry errors (empty dicts for good entries), in the shape of the input list."""
    found: list[dict[str, list[str]]] = []
    seen: set[int] = set()
    for override in overrides:
        errors: dict[str, list[str]] = {}
        target = override[key]
        if target not in known:
            errors[key] = [f'Invalid pk "{target}" - the {what} does not exist or belongs to another event.']
        elif target in seen:
            errors[key] = [f"The {what} {target} is listed more than once."]
        seen.add(target)
        if override["price"] is not None and (problem := check_decimal(override["price"])):
            errors["price"] = [problem]
        start, end = override["available_from"], override["available_until"]
        if start is not None and end is not None and end < start:
            errors["available_until"] = ["The end of availability has to be later than its start."]
        found.append(errors)
    return found


def _seating_plan_problem(call: Call, event: Event, plan: int) -> str | None:
    """Seating plans are organizer-level objects of another area; without their table no id can be valid."""
    plans = Base.metadata.tables.get("seating_plan")
    message = f'Invalid pk "{plan}" - object does not exist.'
    if plans is None or not 0 < plan <= 2**31 - 1:
        return message
    statement = select(plans.c.id).where(plans.c.id == plan)
    if "organizer_id" in plans.c:
        statement = statement.where(plans.c.organizer_id == event.organizer_id)
    return None if call.session.scalar(statement) is not None else message


def validate(call: Call, event: Event, values: dict[str, Any], existing: SubEvent | None) -> dict[str, Any]:
    """Check sub-event fields (``values`` is what will be applied); raises ``FieldErrors`` naming every problem."""
    problems = Problems()
    if existing is None:
        if not event.has_subevents:
            raise FieldErrors.single(NON_FIELD, "Dates can only be added to an event series (has_subevents).")
        for field in REQUIRED:
            if field not in values:
                problems.add(field, "This field is required.")
    if "name" in values and (problem := check_multilingual(values["name"], blank_ok=False)):
        problems.add("name", problem)
    for field in ("frontpage_text", "location"):
        if values.get(field) is not None and (problem := check_multilingual(values[field], blank_ok=True)):
            problems.add(field, problem)
    for field, limit in (("geo_lat", 90), ("geo_lon", 180)):
        if values.get(field) is not None and not -limit <= values[field] <= limit:
            problems.add(field, f"Ensure this value is between -{limit} and {limit}.")

    def current(field: str) -> Any:
        if field in values:
            return values[field]
        return getattr(existing, field) if existing is not None else DEFAULTS.get(field)

    date_from, date_to = current("date_from"), current("date_to")
    if date_from is not None and date_to is not None and date_to < date_from:
        problems.add("date_to", "The end of the date has to be later than its start.")
    presale_start, presale_end = current("presale_start"), current("presale_end")
    if presale_start is not None and presale_end is not None and presale_end < presale_start:
        problems.add("presale_end", "The end of the presale period has to be later than its start.")
    plan = values.get("seating_plan")
    if plan is not None and (problem := _seating_plan_problem(call, event, plan)):
        problems.add("seating_plan", problem)
    mapping = values.get("seat_category_mapping") or {}
    mapped = {item for item in mapping.values() if item is not None}
    if mapped - event_item_ids(call.session, event.id, mapped):
        problems.add("seat_category_mapping", "Every seat category must map to a product of this event (or null).")
    for key in values.get("meta_data") or {}:
        if not key.strip() or len(key) > META_KEY_MAX:
            problems.add("meta_data", f"Meta data keys must be 1 to {META_KEY_MAX} characters long.")
            break
    item_overrides = values.get("item_price_overrides") or []
    if item_overrides:
        known = event_item_ids(call.session, event.id, [override["item"] for override in item_overrides])
        errors = _check_overrides(item_overrides, "item", known, "product")
        if any(errors):
            problems.errors["item_price_overrides"] = errors
    variation_overrides = values.get("variation_price_overrides") or []
    if variation_overrides:
        known = event_variation_ids(call.session, event.id, [o["variation"] for o in variation_overrides])
        errors = _check_overrides(variation_overrides, "variation", known, "variation")
        if any(errors):
            problems.errors["variation_price_overrides"] = errors
    problems.raise_if_any()
    return values


def _sync_overrides(
    rows: list[Any], wanted: list[dict[str, Any]], key: str, attribute: str, make: Callable[..., Any]
) -> None:
    """Make ``rows`` (an ORM collection) match ``wanted``, updating rows in place so unique keys never collide."""
    by_target = {getattr(row, attribute): row for row in rows}
    keep = {override[key] for override in wanted}
    for row in list(rows):
        if getattr(row, attribute) not in keep:
            rows.remove(row)
    for override in wanted:
        fields = {name: override[name] for name in OVERRIDE_FIELDS}
        row = by_target.get(override[key])
        if row is None:
            rows.append(make(**{attribute: override[key]}, **fields))
        else:
            for name, value in fields.items():
                setattr(row, name, value)


def _apply(call: Call, subevent: SubEvent, values: dict[str, Any]) -> dict[str, Any]:
    """Write ``values``; returns what actually changed (for the audit log)."""
    changed: dict[str, Any] = {}
    for name in COLUMNS:
        if name in values and getattr(subevent, name) != values[name]:
            setattr(subevent, name, values[name])
            changed[name] = values[name]
    for field, key, attribute, collection, make, out in (
        ("item_price_overrides", "item", "item_id", subevent.item_overrides, SubEventItem, _item_override),
        (
            "variation_price_overrides",
            "variation",
            "variation_id",
            subevent.variation_overrides,
            SubEventItemVariation,
            _variation_override,
        ),
    ):
        if field not in values:
            continue
        before = [msgspec.to_builtins(out(row)) for row in collection]
        _sync_overrides(collection, values[field] or [], key, attribute, make)
        call.session.flush()
        after = [msgspec.to_builtins(out(row)) for row in collection]
        if sorted(before, key=json.dumps) != sorted(after, key=json.dumps):
            changed[field] = after
    if changed:
        # Override rows do not touch the date's own row, so the timestamp is set here.
        subevent.last_modified = clock.now()
    call.session.flush()
    return changed


# --- lists -----------------------------------------------------------------------------------------------------------


def _common_filters(call: Call, statement: Select[Any]) -> Select[Any]:
    query = call.query
    for name in ("is_public", "active"):
        flag = parse_bool(query, name)
        if flag is not None:
            statement = statement.where(getattr(SubEvent, name).is_(flag))
    ends = func.coalesce(SubEvent.date_to, SubEvent.date_from)
    now = clock.now()
    is_future, is_past = parse_bool(query, "is_future"), parse_bool(query, "is_past")
    if is_future is not None:
        statement = statement.where(ends >= now if is_future else ends < now)
    if is_past is not None:
        statement = statement.where(ends < now if is_past else ends >= now)
    bounds = {
        "date_from_after": lambda moment: SubEvent.date_from >= moment,
        "date_from_before": lambda moment: SubEvent.date_from <= moment,
        "date_to_after": lambda moment: SubEvent.date_to >= moment,
        "date_to_before": lambda moment: SubEvent.date_to <= moment,
        "ends_after": lambda moment: ends >= moment,
    }
    for name, condition in bounds.items():
        moment = parse_datetime_param(query, name)
        if moment is not None:
            statement = statement.where(condition(moment))
    if query.get("search"):
        # NUL cannot occur in stored text (and PostgreSQL rejects it in parameters).
        needle = query["search"].replace("\x00", "").lower()
        statement = statement.where(
            or_(
                func.lower(func.cast(SubEvent.name, Text())).contains(needle, autoescape=True),
                func.lower(func.cast(SubEvent.location, Text())).contains(needle, autoescape=True),
            )
        )
    return statement


def _meta_filters(call: Call, event: Event, statement: Select[Any]) -> Select[Any]:
    """``attr[key]=value``: the date's own value, or the event's when the date has none (empty value: unset)."""
    # JSON columns hold json.dumps text on both backends, so a serialised pair is a substring.
    as_text = func.cast(SubEvent.meta_data, Text())
    event_meta = event.meta_data or {}
    for key, value in call.query.items():
        if not (key.startswith("attr[") and key.endswith("]")):
            continue
        name = key[5:-1]
        has_key = as_text.contains(f"{json.dumps(name)}:", autoescape=True)
        if value:
            own = as_text.contains(json.dumps({name: value})[1:-1], autoescape=True)
            statement = statement.where(or_(own, ~has_key) if event_meta.get(name) == value else own)
        else:
            statement = statement.where(~has_key) if not event_meta.get(name) else statement.where(false())
    return statement


@get(BASE, tags=["subevents"])
async def list_subevents(
    request: Request, organizer: FromPath[str], event: FromPath[str]
) -> Response[Page[SubEventOut]]:
    """Dates of the event series with pretix's filters (``modified_since``, ``attr[…]`` …); sends
    ``Last-Modified``."""

    def work(call: Call) -> Page[SubEventOut]:
        target = call.event(organizer, event)
        call.last_modified(target, LIST_RESOURCE)
        statement = _common_filters(call, select(SubEvent).where(SubEvent.event_id == target.id))
        modified_since = parse_datetime_param(call.query, "modified_since")
        if modified_since is not None:
            statement = statement.where(SubEvent.last_modified >= modified_since)
        statement = _meta_filters(call, target, statement)
        return call.paginate(
            _loaded(statement),
            serializer(call),
            ordering={"date_from": SubEvent.date_from, "id": SubEvent.id, "date_to": SubEvent.date_to},
            default_ordering=[SubEvent.date_from, SubEvent.id],
        )

    return await in_call(request, work)


@get("/api/v1/organizers/{organizer:str}/subevents/", tags=["subevents"])
async def list_organizer_subevents(request: Request, organizer: FromPath[str]) -> Response[Page[SubEventOut]]:
    """Dates of every event series of the organizer that the caller may see (``event__live``, ``sales_channel`` and
    the date filters)."""

    def work(call: Call) -> Page[SubEventOut]:
        owner = call.organizer(organizer)
        statement = select(SubEvent).join(Event, Event.id == SubEvent.event_id).where(Event.organizer_id == owner.id)
        if not call.principal.all_events:
            statement = statement.where(Event.id.in_(call.principal.event_ids or {-1}))
        live = parse_bool(call.query, "event__live")
        if live is not None:
            statement = statement.where(Event.live.is_(live))
        channel = call.query.get("sales_channel")
        if channel:
            statement = statement.where(
                or_(
                    Event.all_sales_channels.is_(True),
                    func.cast(Event.limit_sales_channels, Text()).contains(json.dumps(channel), autoescape=True),
                )
            )
        return call.paginate(
            _loaded(_common_filters(call, statement)),
            serializer(call),
            ordering={"date_from": SubEvent.date_from, "id": SubEvent.id, "date_to": SubEvent.date_to},
            default_ordering=[SubEvent.date_from, SubEvent.id],
        )

    return await in_call(request, work)


# --- single dates ----------------------------------------------------------------------------------------------------


@get(DETAIL, tags=["subevents"])
async def get_subevent(
    request: Request, organizer: FromPath[str], event: FromPath[str], subevent_id: FromPath[int]
) -> Response[SubEventOut]:
    """One date."""

    def work(call: Call) -> SubEventOut:
        target = call.event(organizer, event)
        return serialize(call.get(SubEvent, subevent_id, event_id=target.id))

    return await in_call(request, work)


@post(BASE, tags=["subevents"], status_code=201)
async def create_subevent(
    request: Request, organizer: FromPath[str], event: FromPath[str], data: JSONBody[SubEventIn]
) -> Response[SubEventOut]:
    """Add a date to an event series (400 for events without ``has_subevents``)."""

    def work(call: Call) -> SubEventOut:
        target = call.event(organizer, event, WRITE_PERMISSION)
        values = validate(call, target, {**defaults(), **_normalise(data)}, None)
        subevent = SubEvent(event=target, **{name: values[name] for name in COLUMNS})
        call.session.add(subevent)
        _apply(call, subevent, values)
        call.touch(target, LIST_RESOURCE)
        call.log(subevent, "boxoffice.event.subevent.added", msgspec.to_builtins(values))
        return serialize(subevent)

    return await in_call(request, work, status_code=201)


def _update(call: Call, organizer: str, event: str, subevent_id: int, data: SubEventIn, *, full: bool) -> SubEventOut:
    target = call.event(organizer, event, WRITE_PERMISSION)
    subevent = call.get(SubEvent, subevent_id, event_id=target.id)
    sent = _normalise(data)
    if full:
        missing = [field for field in REQUIRED if field not in sent]
        if missing:
            raise FieldErrors({field: ["This field is required."] for field in missing})
        sent = {**defaults(), **sent}
    values = validate(call, target, sent, subevent)
    changed = _apply(call, subevent, values)
    if changed:
        call.touch(target, LIST_RESOURCE)
        call.log(subevent, "boxoffice.event.subevent.changed", msgspec.to_builtins(changed))
    return serialize(subevent)


@patch(DETAIL, tags=["subevents"])
async def patch_subevent(
    request: Request,
    organizer: FromPath[str],
    event: FromPath[str],
    subevent_id: FromPath[int],
    data: JSONBody[SubEventIn],
) -> Response[SubEventOut]:
    """Change the fields sent; an override list replaces the date's overrides of that kind."""
    return await in_call(request, lambda call: _update(call, organizer, event, subevent_id, data, full=False))


@put(DETAIL, tags=["subevents"])
async def put_subevent(
    request: Request,
    organizer: FromPath[str],
    event: FromPath[str],
    subevent_id: FromPath[int],
    data: JSONBody[SubEventIn],
) -> Response[SubEventOut]:
    """Replace the date: fields left out are reset to their defaults (overrides left out are removed)."""
    return await in_call(request, lambda call: _update(call, organizer, event, subevent_id, data, full=True))


def has_orders(call: Call, subevent: SubEvent) -> bool:
    """Whether order data refers to the date: any row that would not go (``CASCADE``) or be unlinked with it, and
    any row of an order table whatever its rule."""
    if blocking_references(call.session, SubEvent.__tablename__, subevent.id, exclude=OVERRIDE_TABLES):
        return True
    order_columns = [
        column
        for column, _ in references_to(SubEvent.__tablename__, exclude=OVERRIDE_TABLES)
        if "order" in column.table.name
    ]
    return is_referenced(call.session, order_columns, subevent.id)


@delete(DETAIL, tags=["subevents"], status_code=204)
async def delete_subevent(
    request: Request, organizer: FromPath[str], event: FromPath[str], subevent_id: FromPath[int]
) -> Response[None]:
    """Delete a date (its overrides, quotas and vouchers go with it); 403 once it has orders."""

    def work(call: Call) -> None:
        target = call.event(organizer, event, WRITE_PERMISSION)
        subevent = call.get(SubEvent, subevent_id, event_id=target.id)
        if has_orders(call, subevent):
            raise ApiError(403, "This date can not be deleted as it already has orders.")
        call.log(subevent, "boxoffice.event.subevent.deleted", {"id": subevent.id})
        call.session.delete(subevent)
        call.session.flush()
        call.touch(target, LIST_RESOURCE)

    return await in_call(request, work, status_code=204)


ROUTES = [
    list_subevents,
    list_organizer_subevents,
    get_subevent,
    create_subevent,
    patch_subevent,
    put_subevent,
    delete_subevent,
]
