"""Quotas: list with filters (``Last-Modified`` aware, optionally with availability), detail, create, update (PATCH
and PUT), delete, and the availability breakdown of one quota."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody
from sqlalchemy import Select, insert, select
from sqlalchemy import delete as sql_delete

from boxoffice.apps.api.errors import ApiError, FieldErrors
from boxoffice.apps.api.toolkit import Call, Page, in_call, possible_id, sent_fields
from boxoffice.kernel.availability import QuotaAvailability, quota_availabilities, quota_availability
from boxoffice.kernel.db import Base
from boxoffice.kernel.models import Event, Item
from boxoffice.kernel.models.quotas import Quota, quota_items, quota_variations, variation_ids_by_quota
from boxoffice.kernel.models.vouchers import Voucher

WRITE_PERMISSION = "event.items:write"
LIST_RESOURCE = "quotas"
NAME_MAX = 200
INT_MAX = 2**31 - 1


class QuotaOut(msgspec.Struct):
    id: int
    name: str
    size: int | None
    items: list[int]
    variations: list[int]
    subevent: int | None
    closed: bool
    close_when_sold_out: bool
    release_after_exit: bool
    ignore_for_event_availability: bool
    # Only with ``?with_availability=true``.
    available: bool | msgspec.UnsetType = msgspec.UNSET
    available_number: int | msgspec.UnsetType | None = msgspec.UNSET


class QuotaIn(msgspec.Struct):
    """Writable quota fields; on PATCH only the fields sent are changed, on PUT the others are reset."""

    name: str | msgspec.UnsetType = msgspec.UNSET
    size: int | msgspec.UnsetType | None = msgspec.UNSET
    items: list[int] | msgspec.UnsetType = msgspec.UNSET
    variations: list[int] | msgspec.UnsetType = msgspec.UNSET
    subevent: int | msgspec.UnsetType | None = msgspec.UNSET
    closed: bool | msgspec.UnsetType = msgspec.UNSET
    close_when_sold_out: bool | msgspec.UnsetType = msgspec.UNSET
    release_after_exit: bool | msgspec.UnsetType = msgspec.UNSET
    ignore_for_event_availability: bool | msgspec.UnsetType = msgspec.UNSET


class AvailabilityOut(msgspec.Struct):
    available: bool
    available_number: int | None
    total_size: int | None
    pending_orders: int
    paid_orders: int
    exited_orders: int
    cart_positions: int
    blocking_vouchers: int
    waiting_list: int


DEFAULTS: dict[str, Any] = {
    "size": None,
    "items": [],
    "variations": [],
    "subevent": None,
    "closed": False,
    "close_when_sold_out": False,
    "release_after_exit": False,
    "ignore_for_event_availability": False,
}
FLAGS = ("closed", "close_when_sold_out", "release_after_exit", "ignore_for_event_availability")


# --- shared with questions and vouchers ------------------------------------------------------------------------

# Every primary key is a 32-bit integer column: larger numbers name nothing (and overflow SQLite's binding).
MAX_ID = 2**31 - 1
T = TypeVar("T")


def invalid_pk(value: Any) -> str:
    return f'Invalid pk "{value}" - object does not exist.'


def subevent_problem(call: Call, event: Event, subevent_id: int | None, *, required_in_series: bool) -> str | None:
    """Why ``subevent_id`` cannot be used on ``event``, if it cannot."""
    if subevent_id is None:
        if event.has_subevents and required_in_series:
            return "Subevent cannot be null for event series."
        return None
    if not event.has_subevents:
        return "You cannot set a subevent if the event does not have subevents."
    table = Base.metadata.tables.get("subevent")
    if table is None or not possible_id(subevent_id):
        return invalid_pk(subevent_id)
    found = call.session.execute(
        select(table.c.id).where(table.c.id == subevent_id, table.c.event_id == event.id)
    ).first()
    return None if found is not None else invalid_pk(subevent_id)


def variation_items(call: Call, event: Event, variation_ids: list[int]) -> dict[int, int]:
    """Item id of each given variation that belongs to an item of ``event``."""
    table = Base.metadata.tables.get("item_variation")
    variation_ids = [variation_id for variation_id in variation_ids if possible_id(variation_id)]
    if table is None or not variation_ids:
        return {}
    rows = call.session.execute(
        select(table.c.id, table.c.item_id)
        .join(Item, Item.id == table.c.item_id)
        .where(table.c.id.in_(variation_ids), Item.event_id == event.id)
    )
    return {variation_id: item_id for variation_id, item_id in rows}


def items_with_variations(call: Call, item_ids: list[int]) -> set[int]:
    table = Base.metadata.tables.get("item_variation")
    if table is None or not item_ids:
        return set()
    return set(call.session.scalars(select(table.c.item_id).where(table.c.item_id.in_(item_ids)).distinct()))


def id_list(query: Mapping[str, str], name: str) -> list[int] | None:
    """A comma-separated list of ids from the query string (400 on anything else)."""
    raw = query.get(name)
    if raw is None:
        return None
    return [_whole_number(name, part) for part in raw.split(",") if part.strip()]


def int_param(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    return None if raw is None else _whole_number(name, raw)


def _whole_number(name: str, raw: str) -> int:
    try:
        number = int(raw)
    except ValueError:
        raise FieldErrors.single(name, "Enter a whole number.") from None
    if abs(number) > MAX_ID:
        raise FieldErrors.single(name, f"Ensure this value is at most {MAX_ID} in magnitude.")
    return number


# --- quotas --------------------------------------------------------------------------------------------------------


def _wants_availability(call: Call) -> bool:
    return call.query.get("with_availability", "").lower() in ("true", "1", "yes")


def serialize(
    quota: Quota, item_ids: list[int], variation_ids: list[int], availability: QuotaAvailability | None = None
) -> QuotaOut:
    out = QuotaOut(
        id=quota.id,
        name=quota.name,
        size=quota.size,
        items=item_ids,
        variations=variation_ids,
        subevent=quota.subevent_id,
        closed=quota.closed,
        close_when_sold_out=quota.close_when_sold_out,
        release_after_exit=quota.release_after_exit,
        ignore_for_event_availability=quota.ignore_for_event_availability,
    )
    if availability is not None:
        out.available = availability.available
        out.available_number = availability.available_number
    return out


class _Related:
    """Item ids, variation ids and (on request) availability of a page of quotas, a fixed number of queries each."""

    def __init__(self, call: Call, with_availability: bool) -> None:
        self.call = call
        self.with_availability = with_availability
        self.items: dict[int, list[int]] = {}
        self.variations: dict[int, list[int]] = {}
        self.availability: dict[int, QuotaAvailability] = {}

    def load(self, quotas: list[Quota]) -> None:
        ids = [quota.id for quota in quotas]
        self.items = {quota_id: [] for quota_id in ids}
        if ids:
            for quota_id, item_id in self.call.session.execute(
                select(quota_items.c.quota_id, quota_items.c.item_id)
                .where(quota_items.c.quota_id.in_(ids))
                .order_by(quota_items.c.item_id)
            ):
                self.items[quota_id].append(item_id)
        self.variations = variation_ids_by_quota(self.call.session, ids)
        if self.with_availability:
            self.availability = quota_availabilities(self.call.session, quotas)

    def serialize(self, quota: Quota) -> QuotaOut:
        return serialize(quota, self.items[quota.id], self.variations[quota.id], self.availability.get(quota.id))


def serialize_one(call: Call, quota: Quota) -> QuotaOut:
    call.session.flush()
    related = _Related(call, _wants_availability(call))
    related.load([quota])
    return related.serialize(quota)


def _current(call: Call, quota: Quota) -> dict[str, Any]:
    return {
        "name": quota.name,
        "size": quota.size,
        "items": sorted(item.id for item in quota.items),
        "variations": variation_ids_by_quota(call.session, [quota.id])[quota.id],
        "subevent": quota.subevent_id,
        **{flag: getattr(quota, flag) for flag in FLAGS},
    }


def validate(call: Call, event: Event, values: dict[str, Any]) -> dict[str, Any]:
    """Check the complete intended state of a quota; raises ``FieldErrors`` naming every problem."""
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
    size = values.get("size")
    if size is not None and not 0 <= size <= INT_MAX:
        fail("size", f"Ensure this value is between 0 and {INT_MAX}.")
    item_ids = list(dict.fromkeys(values.get("items") or []))
    values["items"] = item_ids
    candidates = [item_id for item_id in item_ids if possible_id(item_id)]
    known_items = (
        set(call.session.scalars(select(Item.id).where(Item.event_id == event.id, Item.id.in_(candidates))))
        if candidates
        else set()
    )
    for missing in [item_id for item_id in item_ids if item_id not in known_items]:
        fail("items", invalid_pk(missing))
    variation_ids = list(dict.fromkeys(values.get("variations") or []))
    values["variations"] = variation_ids
    owners = variation_items(call, event, variation_ids)
    for variation_id in variation_ids:
        if variation_id not in owners:
            fail("variations", invalid_pk(variation_id))
        elif owners[variation_id] not in known_items:
            fail("variations", f"Variation {variation_id} belongs to an item that is not part of this quota.")
    covered = set(owners.values())
    for item_id in sorted(items_with_variations(call, [i for i in item_ids if i in known_items]) - covered):
        fail("variations", f"Item {item_id} has variations, but none of them is part of this quota.")
    if (problem := subevent_problem(call, event, values.get("subevent"), required_in_series=True)) is not None:
        fail("subevent", problem)
    if errors:
        raise FieldErrors(errors)
    return values


def _apply(call: Call, event: Event, quota: Quota, values: dict[str, Any]) -> dict[str, Any]:
    """Write validated values onto a flushed ``quota``; returns what changed (for the audit log)."""
    before = _current(call, quota)
    changed = {key: value for key, value in values.items() if before.get(key) != value}
    if "variations" in changed and sorted(changed["variations"]) == sorted(before["variations"]):
        del changed["variations"]
    if "items" in changed and sorted(changed["items"]) == before["items"]:
        del changed["items"]
    for key in ("name", "size", *FLAGS):
        if key in changed:
            setattr(quota, key, changed[key])
    if "subevent" in changed:
        quota.subevent_id = changed["subevent"]
    if "items" in changed:
        quota.items = list(
            call.session.scalars(select(Item).where(Item.event_id == event.id, Item.id.in_(changed["items"])))
        )
    if "variations" in changed:
        call.session.execute(sql_delete(quota_variations).where(quota_variations.c.quota_id == quota.id))
        if changed["variations"]:
            call.session.execute(
                insert(quota_variations), [{"quota_id": quota.id, "variation_id": v} for v in changed["variations"]]
            )
    return changed


def _filtered(call: Call, event: Event) -> Select[Any]:
    statement = select(Quota).where(Quota.event_id == event.id)
    subevent = int_param(call.query, "subevent")
    if subevent is not None:
        statement = statement.where(Quota.subevent_id == subevent)
    subevents = id_list(call.query, "subevent__in")
    if subevents is not None:
        statement = statement.where(Quota.subevent_id.in_(subevents))
    items = id_list(call.query, "items__in")
    if items is not None:
        statement = statement.where(
            Quota.id.in_(select(quota_items.c.quota_id).where(quota_items.c.item_id.in_(items)))
        )
    return statement


BASE = "/api/v1/organizers/{organizer:str}/events/{event:str}/quotas/"


@get(BASE, tags=["quotas"])
async def list_quotas(request: Request, organizer: FromPath[str], event: FromPath[str]) -> Response[Page[QuotaOut]]:
    """Quotas of the event; filter by ``subevent``, ``subevent__in``, ``items__in``; ``with_availability=true`` adds
    ``available``/``available_number``. Sends ``Last-Modified`` (answers ``If-Modified-Since`` with 304)."""

    def work(call: Call) -> Page[QuotaOut]:
        target = call.event(organizer, event)
        with_availability = _wants_availability(call)
        if not with_availability:
            # Availability changes without the list changing, so only the plain list may be revalidated.
            call.last_modified(target, LIST_RESOURCE)
        related = _Related(call, with_availability)
        return call.paginate(
            _filtered(call, target),
            related.serialize,
            # Quotas have no sort key of their own; ``position`` is accepted for clients that send it.
            ordering={"id": Quota.id, "position": Quota.id, "size": Quota.size},
            default_ordering=[Quota.id],
            prepare=related.load,
        )

    return await in_call(request, work)


@get(BASE + "{id:int}/", tags=["quotas"])
async def get_quota(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int]
) -> Response[QuotaOut]:
    """One quota; ``with_availability=true`` adds ``available``/``available_number``."""

    def work(call: Call) -> QuotaOut:
        target = call.event(organizer, event)
        return serialize_one(call, call.get(Quota, id, event_id=target.id))

    return await in_call(request, work)


@post(BASE, tags=["quotas"], status_code=201)
async def create_quota(
    request: Request, organizer: FromPath[str], event: FromPath[str], data: JSONBody[QuotaIn]
) -> Response[QuotaOut]:
    """Create a quota. In an event series ``subevent`` is required; elsewhere it must be null."""

    def work(call: Call) -> QuotaOut:
        target = call.event(organizer, event, WRITE_PERMISSION)
        values = validate(call, target, {**DEFAULTS, **sent_fields(data)})
        quota = Quota(event=target, name=values["name"])
        call.session.add(quota)
        call.session.flush()
        _apply(call, target, quota, values)
        call.log(quota, "boxoffice.event.quota.added", msgspec.to_builtins(values))
        call.touch(target, LIST_RESOURCE)
        return serialize_one(call, quota)

    return await in_call(request, work, status_code=201)


def _update(call: Call, organizer: str, event: str, quota_id: int, data: QuotaIn, *, full: bool) -> QuotaOut:
    target = call.event(organizer, event, WRITE_PERMISSION)
    quota = call.get(Quota, quota_id, event_id=target.id)
    sent = sent_fields(data)
    if full:
        sent = {**DEFAULTS, **sent}
    values = validate(call, target, {**_current(call, quota), **sent})
    changed = _apply(call, target, quota, {key: values[key] for key in sent})
    if changed:
        call.log(quota, "boxoffice.event.quota.changed", msgspec.to_builtins(changed))
        call.touch(target, LIST_RESOURCE)
    return serialize_one(call, quota)


@patch(BASE + "{id:int}/", tags=["quotas"])
async def update_quota(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int], data: JSONBody[QuotaIn]
) -> Response[QuotaOut]:
    """Change the fields sent."""
    return await in_call(request, lambda call: _update(call, organizer, event, id, data, full=False))


@put(BASE + "{id:int}/", tags=["quotas"])
async def replace_quota(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int], data: JSONBody[QuotaIn]
) -> Response[QuotaOut]:
    """Replace the quota: omitted fields are reset to their defaults (``size`` null = unlimited)."""
    return await in_call(request, lambda call: _update(call, organizer, event, id, data, full=True))


@delete(BASE + "{id:int}/", tags=["quotas"], status_code=204)
async def delete_quota(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int]
) -> Response[None]:
    """Delete a quota (its products may become unavailable); refused while vouchers are bound to it."""

    def work(call: Call) -> None:
        target = call.event(organizer, event, WRITE_PERMISSION)
        quota = call.get(Quota, id, event_id=target.id)
        if call.session.scalar(select(Voucher.id).where(Voucher.quota_id == quota.id).limit(1)) is not None:
            raise ApiError(403, "This quota cannot be deleted because vouchers are bound to it.")
        call.log(quota, "boxoffice.event.quota.deleted", {"name": quota.name})
        call.session.delete(quota)
        call.touch(target, LIST_RESOURCE)

    return await in_call(request, work, status_code=204)


@get(BASE + "{id:int}/availability/", tags=["quotas"])
async def get_quota_availability(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int]
) -> Response[AvailabilityOut]:
    """How much of the quota is left and what consumes it (``total_size``/``available_number`` null = unlimited)."""

    def work(call: Call) -> AvailabilityOut:
        target = call.event(organizer, event)
        result = quota_availability(call.session, call.get(Quota, id, event_id=target.id))
        return AvailabilityOut(**{field: getattr(result, field) for field in AvailabilityOut.__struct_fields__})

    return await in_call(request, work)


ROUTES = [list_quotas, get_quota, create_quota, update_quota, replace_quota, delete_quota, get_quota_availability]
