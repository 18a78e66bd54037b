"""Vouchers: list with filters, detail, create, batch create (all or nothing), update (PATCH and PUT), delete."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
from litestar import Request, Response, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError

from boxoffice.apps.api.errors import ApiError, FieldErrors, forbidden
from boxoffice.apps.api.resources.quotas import (
    int_param,
    invalid_pk,
    items_with_variations,
    subevent_problem,
    variation_items,
)
from boxoffice.apps.api.toolkit import Call, Page, in_call, money, parse_bool, possible_id, sent_fields
from boxoffice.kernel import clock
from boxoffice.kernel.availability import quota_availabilities, quotas_for_product
from boxoffice.kernel.models import Event, Item, Quota
from boxoffice.kernel.models.vouchers import PRICE_MODES, Voucher, generate_code

READ_PERMISSIONS = ("event.vouchers:read", "event.vouchers:write")
WRITE_PERMISSION = "event.vouchers:write"
CODE_MIN, CODE_MAX = 5, 255
TAG_MAX = 255
INT_MAX = 2**31 - 1
# Numeric(13, 2): eleven digits before the point.
MONEY_LIMIT = Decimal(10) ** 11


class VoucherOut(msgspec.Struct):
    id: int
    created: datetime
    code: str
    max_usages: int
    redeemed: int
    min_usages: int
    valid_until: datetime | None
    block_quota: bool
    allow_ignore_quota: bool
    price_mode: str
    value: Decimal | None
    item: int | None
    variation: int | None
    quota: int | None
    tag: str
    comment: str
    seat: str | None
    subevent: int | None
    show_hidden_items: bool
    all_addons_included: bool
    all_bundles_included: bool
    budget: Decimal | None
    budget_used: Decimal


class VoucherIn(msgspec.Struct):
    """Writable voucher fields; on PATCH only the fields sent are changed, on PUT the others are reset.
    ``redeemed`` and ``budget_used`` are never writable (sending them has no effect)."""

    code: str | msgspec.UnsetType = msgspec.UNSET
    max_usages: int | msgspec.UnsetType = msgspec.UNSET
    min_usages: int | msgspec.UnsetType = msgspec.UNSET
    valid_until: datetime | msgspec.UnsetType | None = msgspec.UNSET
    block_quota: bool | msgspec.UnsetType = msgspec.UNSET
    allow_ignore_quota: bool | msgspec.UnsetType = msgspec.UNSET
    price_mode: str | msgspec.UnsetType = msgspec.UNSET
    value: Decimal | msgspec.UnsetType | None = msgspec.UNSET
    item: int | msgspec.UnsetType | None = msgspec.UNSET
    variation: int | msgspec.UnsetType | None = msgspec.UNSET
    quota: int | msgspec.UnsetType | None = msgspec.UNSET
    seat: str | msgspec.UnsetType | None = msgspec.UNSET
    tag: str | msgspec.UnsetType | None = msgspec.UNSET
    comment: str | msgspec.UnsetType | None = msgspec.UNSET
    subevent: int | msgspec.UnsetType | None = msgspec.UNSET
    show_hidden_items: bool | msgspec.UnsetType = msgspec.UNSET
    all_addons_included: bool | msgspec.UnsetType = msgspec.UNSET
    all_bundles_included: bool | msgspec.UnsetType = msgspec.UNSET
    budget: Decimal | msgspec.UnsetType | None = msgspec.UNSET


DEFAULTS: dict[str, Any] = {
    "max_usages": 1,
    "min_usages": 1,
    "valid_until": None,
    "block_quota": False,
    "allow_ignore_quota": False,
    "price_mode": "none",
    "value": None,
    "item": None,
    "variation": None,
    "quota": None,
    "seat": None,
    "tag": "",
    "comment": "",
    "subevent": None,
    "show_hidden_items": True,
    "all_addons_included": False,
    "all_bundles_included": False,
    "budget": None,
}
# API field → column, where they differ.
COLUMNS = {"item": "item_id", "variation": "variation_id", "quota": "quota_id", "subevent": "subevent_id"}


def serialize(voucher: Voucher) -> VoucherOut:
    return VoucherOut(
        id=voucher.id,
        created=voucher.created,
        code=voucher.code,
        max_usages=voucher.max_usages,
        redeemed=voucher.redeemed,
        min_usages=voucher.min_usages,
        valid_until=voucher.valid_until,
        block_quota=voucher.block_quota,
        allow_ignore_quota=voucher.allow_ignore_quota,
        price_mode=voucher.price_mode,
        value=money(voucher.value),
        item=voucher.item_id,
        variation=voucher.variation_id,
        quota=voucher.quota_id,
        tag=voucher.tag or "",
        comment=voucher.comment or "",
        seat=None,
        subevent=voucher.subevent_id,
        show_hidden_items=voucher.show_hidden_items,
        all_addons_included=voucher.all_addons_included,
        all_bundles_included=voucher.all_bundles_included,
        budget=money(voucher.budget),
        # Issue 4 (orders) records the discount granted per redemption; nothing is granted before that.
        budget_used=Decimal("0.00"),
    )


def _current(voucher: Voucher) -> dict[str, Any]:
    values = {name: getattr(voucher, COLUMNS.get(name, name)) for name in DEFAULTS if name != "seat"}
    return {**values, "code": voucher.code, "seat": None}


def _require_read(call: Call) -> None:
    if not any(call.principal.has_event_permission(permission) for permission in READ_PERMISSIONS):
        raise forbidden()


# --- validation ----------------------------------------------------------------------------------------------------


class _Batch:
    """State shared by the vouchers of one request: codes already claimed and quota they already block."""

    def __init__(self) -> None:
        self.codes: set[str] = set()
        self.blocked: dict[int, int] = {}


def _check_code(call: Call, event: Event, code: str, existing: Voucher | None, batch: _Batch) -> str | None:
    if len(code) < CODE_MIN:
        return f"Ensure this field has at least {CODE_MIN} characters."
    if len(code) > CODE_MAX:
        return f"Ensure this field has no more than {CODE_MAX} characters."
    if any(char.isspace() or not char.isprintable() for char in code):
        return "Voucher codes may not contain spaces or control characters."
    if existing is not None and code == existing.code:
        return None
    if code.lower() in batch.codes:
        return "A voucher with this code already exists."
    clash = select(Voucher.id).where(Voucher.event_id == event.id, func.lower(Voucher.code) == code.lower())
    if existing is not None:
        clash = clash.where(Voucher.id != existing.id)
    if call.session.scalar(clash) is not None:
        return "A voucher with this code already exists."
    return None


def _check_money(value: Decimal | None) -> str | None:
    if value is None:
        return None
    if not value.is_finite():
        return "A valid number is required."
    if value < 0:
        return "Ensure this value is greater than or equal to 0."
    if value >= MONEY_LIMIT:
        return "Ensure that there are no more than 11 digits before the decimal point."
    return None


def _in_event(call: Call, model: type[Item] | type[Quota], object_id: int, event: Event) -> bool:
    if not possible_id(object_id):
        return False
    found = call.session.get(model, object_id)
    return found is not None and found.event_id == event.id


def _check_references(call: Call, event: Event, values: dict[str, Any], fail: Callable[[str, str], None]) -> None:
    item_id, variation_id, quota_id = values.get("item"), values.get("variation"), values.get("quota")
    if item_id is not None and not _in_event(call, Item, item_id, event):
        fail("item", invalid_pk(item_id))
        item_id = None
    if variation_id is not None:
        owner = variation_items(call, event, [variation_id]).get(variation_id)
        if owner is None:
            fail("variation", invalid_pk(variation_id))
        elif item_id is None:
            fail("variation", "A variation can only be chosen together with its product.")
        elif owner != item_id:
            fail("variation", "This variation does not belong to the selected product.")
    if quota_id is not None:
        if not _in_event(call, Quota, quota_id, event):
            fail("quota", invalid_pk(quota_id))
        if item_id is not None or variation_id is not None:
            fail("quota", "You cannot select a quota and a specific product at the same time.")
    if (problem := subevent_problem(call, event, values.get("subevent"), required_in_series=False)) is not None:
        fail("subevent", problem)
    if values.get("block_quota"):
        if item_id is None and quota_id is None:
            fail("block_quota", "A voucher can only block quota if it is limited to a product or a quota.")
        elif item_id is not None and variation_id is None and items_with_variations(call, [item_id]):
            fail("block_quota", "This product has variations: choose one for the voucher to block quota.")
        if event.has_subevents and values.get("subevent") is None:
            fail("block_quota", "In an event series a voucher can only block quota for a specific date.")


def _blocked_quotas(call: Call, event: Event, values: dict[str, Any]) -> list[Quota]:
    if values.get("quota") is not None:
        quota = call.session.get(Quota, values["quota"])
        return [quota] if quota is not None else []
    if values.get("item") is None:
        return []
    return quotas_for_product(call.session, event.id, values["item"], values.get("variation"), values.get("subevent"))


def _blocks(values: dict[str, Any], now: datetime) -> int:
    """How many units of quota a voucher in this state holds back."""
    valid_until = values.get("valid_until")
    if not values.get("block_quota") or (valid_until is not None and valid_until < now):
        return 0
    return max(0, values["max_usages"] - values.get("redeemed", 0))


def _check_capacity(
    call: Call, event: Event, values: dict[str, Any], existing: Voucher | None, batch: _Batch
) -> str | None:
    """A voucher may only block quota that is free (unless it is allowed to ignore quota)."""
    now = clock.now()
    needed = _blocks({**values, "redeemed": existing.redeemed if existing else 0}, now)
    if needed == 0 or values.get("allow_ignore_quota"):
        return None
    quotas = _blocked_quotas(call, event, values)
    if existing is not None:
        before = _current(existing)
        before["redeemed"] = existing.redeemed
        unchanged_scope = [q.id for q in _blocked_quotas(call, event, before)] == [q.id for q in quotas]
        if unchanged_scope and needed <= _blocks(before, now):
            return None
    if not quotas:
        return "This product has no quota, so the voucher cannot block any."
    # Locked so that two requests cannot hand out the same free units (a no-op on SQLite, which has one writer).
    call.session.scalars(select(Quota.id).where(Quota.id.in_([q.id for q in quotas])).with_for_update()).all()
    left = quota_availabilities(call.session, quotas, now=now, ignore_voucher_id=existing.id if existing else None)
    for quota in quotas:
        free = left[quota.id]
        already = batch.blocked.get(quota.id, 0)
        if quota.closed or (free.available_number is not None and free.available_number - already < needed):
            return "The selected product or quota is sold out or completely reserved, so the voucher cannot block it."
    for quota in quotas:
        batch.blocked[quota.id] = batch.blocked.get(quota.id, 0) + needed
    return None


def validate(
    call: Call, event: Event, values: dict[str, Any], existing: Voucher | None, batch: _Batch
) -> dict[str, list[str]]:
    """Problems with the complete intended state of a voucher (empty when it may be saved); normalises ``values``."""
    errors: dict[str, list[str]] = {}

    def fail(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    for field in ("tag", "comment"):
        if values.get(field) is None:
            values[field] = ""
    code = values.get("code")
    if code is not None and (problem := _check_code(call, event, code, existing, batch)) is not None:
        fail("code", problem)
    redeemed = existing.redeemed if existing else 0
    if not 1 <= values["max_usages"] <= INT_MAX:
        fail("max_usages", f"Ensure this value is between 1 and {INT_MAX}.")
    elif values["max_usages"] < redeemed:
        fail(
            "max_usages",
            f"This voucher has already been redeemed {redeemed} times; the maximum cannot be lower than that.",
        )
    if not 1 <= values["min_usages"] <= INT_MAX:
        fail("min_usages", f"Ensure this value is between 1 and {INT_MAX}.")
    elif "max_usages" not in errors and values["min_usages"] > values["max_usages"]:
        fail("min_usages", "The minimum number of usages may not be higher than the maximum number of usages.")
    if values["price_mode"] not in PRICE_MODES:
        fail("price_mode", f'"{values["price_mode"]}" is not a valid choice.')
    if (problem := _check_money(values.get("value"))) is not None:
        fail("value", problem)
    elif values.get("value") is not None:
        values["value"] = money(values["value"])
        if values["price_mode"] == "percent" and values["value"] > 100:
            fail("value", "A percentage cannot be more than 100.")
    elif values["price_mode"] in ("set", "subtract", "percent"):
        fail("value", "A value is required when the voucher changes the price.")
    if (problem := _check_money(values.get("budget"))) is not None:
        fail("budget", problem)
    elif values.get("budget") is not None:
        values["budget"] = money(values["budget"])
    if len(values["tag"]) > TAG_MAX:
        fail("tag", f"Ensure this field has no more than {TAG_MAX} characters.")
    if values.get("seat") is not None:
        fail("seat", "This event has no seating plan, so vouchers cannot be bound to a seat.")
    _check_references(call, event, values, fail)
    if not errors and (problem := _check_capacity(call, event, values, existing, batch)) is not None:
        fail("block_quota", problem)
    if code is not None and "code" not in errors:
        batch.codes.add(code.lower())
    return errors


def _new_codes(call: Call, event: Event, count: int, batch: _Batch) -> list[str]:
    """Fresh codes for vouchers sent without one (checked against the event's codes in one query)."""
    codes: list[str] = []
    while len(codes) < count:
        candidates = {generate_code() for _ in range(count - len(codes))}
        candidates -= batch.codes
        taken = set(
            call.session.scalars(
                select(func.lower(Voucher.code)).where(
                    Voucher.event_id == event.id, func.lower(Voucher.code).in_([c.lower() for c in candidates])
                )
            )
        )
        fresh = [code for code in candidates if code.lower() not in taken]
        codes += fresh
        batch.codes.update(code.lower() for code in fresh)
    return codes


def _apply(voucher: Voucher, values: dict[str, Any]) -> dict[str, Any]:
    changed: dict[str, Any] = {}
    for name, value in values.items():
        if name == "seat":
            continue
        column = COLUMNS.get(name, name)
        if getattr(voucher, column) != value:
            setattr(voucher, column, value)
            changed[name] = value
    return changed


def _flush(call: Call) -> None:
    try:
        call.session.flush()
    except IntegrityError:
        # Two requests claimed the same code at the same moment; the loser may simply retry.
        raise ApiError(409, "A voucher with this code was created concurrently. Please retry.") from None


def _create(call: Call, event: Event, entries: list[VoucherIn], *, as_list: bool) -> list[Voucher]:
    batch = _Batch()
    prepared: list[dict[str, Any]] = []
    errors: list[dict[str, list[str]]] = []
    for data in entries:
        values = {**DEFAULTS, **sent_fields(data)}
        errors.append(validate(call, event, values, None, batch))
        prepared.append(values)
    if any(errors):
        if not as_list:
            raise FieldErrors(errors[0])
        # pretix's shape for list input: one error object per entry, in order (FieldErrors passes it through).
        raise FieldErrors(errors)  # type: ignore[arg-type]
    missing = [values for values in prepared if values.get("code") is None]
    for values, code in zip(missing, _new_codes(call, event, len(missing), batch), strict=True):
        values["code"] = code
    vouchers = []
    for values in prepared:
        voucher = Voucher(event=event, code=values["code"], redeemed=0)
        _apply(voucher, values)
        call.session.add(voucher)
        vouchers.append(voucher)
    _flush(call)
    for voucher, values in zip(vouchers, prepared, strict=True):
        call.log(voucher, "boxoffice.event.voucher.added", msgspec.to_builtins(values))
    return vouchers


def _filtered(call: Call, event: Event) -> Select[Any]:
    query = call.query
    statement = select(Voucher).where(Voucher.event_id == event.id)
    for name in ("code", "tag", "price_mode"):
        if name in query:
            statement = statement.where(getattr(Voucher, name) == query[name])
    for name in ("max_usages", "redeemed"):
        number = int_param(query, name)
        if number is not None:
            statement = statement.where(getattr(Voucher, name) == number)
    for name in ("item", "variation", "quota", "subevent"):
        number = int_param(query, name)
        if number is not None:
            statement = statement.where(getattr(Voucher, COLUMNS[name]) == number)
    for name in ("block_quota", "allow_ignore_quota"):
        flag = parse_bool(query, name)
        if flag is not None:
            statement = statement.where(getattr(Voucher, name).is_(flag))
    if "value" in query:
        try:
            value = Decimal(query["value"])
        except ArithmeticError:
            raise FieldErrors.single("value", "A valid number is required.") from None
        if not value.is_finite() or abs(value) >= MONEY_LIMIT:
            raise FieldErrors.single("value", "A valid number is required.")
        statement = statement.where(Voucher.value == value)
    return statement


BASE = "/api/v1/organizers/{organizer:str}/events/{event:str}/vouchers/"


@get(BASE, tags=["vouchers"])
async def list_vouchers(request: Request, organizer: FromPath[str], event: FromPath[str]) -> Response[Page[VoucherOut]]:
    """Vouchers of the event; filter by ``code``, ``max_usages``, ``redeemed``, ``block_quota``,
    ``allow_ignore_quota``, ``price_mode``, ``value``, ``item``, ``variation``, ``quota``, ``tag``, ``subevent``;
    ``ordering`` by ``id``, ``code``, ``max_usages``, ``valid_until`` or ``value``."""

    def work(call: Call) -> Page[VoucherOut]:
        target = call.event(organizer, event)
        _require_read(call)
        return call.paginate(
            _filtered(call, target),
            serialize,
            ordering={
                "id": Voucher.id,
                "code": Voucher.code,
                "max_usages": Voucher.max_usages,
                "valid_until": Voucher.valid_until,
                "value": Voucher.value,
            },
            default_ordering=[Voucher.id],
        )

    return await in_call(request, work)


@get(BASE + "{id:int}/", tags=["vouchers"])
async def get_voucher(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int]
) -> Response[VoucherOut]:
    """One voucher."""

    def work(call: Call) -> VoucherOut:
        target = call.event(organizer, event)
        _require_read(call)
        return serialize(call.get(Voucher, id, event_id=target.id))

    return await in_call(request, work)


@post(BASE, tags=["vouchers"], status_code=201)
async def create_voucher(
    request: Request, organizer: FromPath[str], event: FromPath[str], data: JSONBody[VoucherIn]
) -> Response[VoucherOut]:
    """Create a voucher; without ``code`` a random 16-character code is generated. Codes are unique per event,
    regardless of case. A voucher that blocks quota needs free capacity unless it may ignore quota."""

    def work(call: Call) -> VoucherOut:
        target = call.event(organizer, event, WRITE_PERMISSION)
        return serialize(_create(call, target, [data], as_list=False)[0])

    return await in_call(request, work, status_code=201)


@post(BASE + "batch_create/", tags=["vouchers"], status_code=201)
async def batch_create_vouchers(
    request: Request, organizer: FromPath[str], event: FromPath[str], data: JSONBody[list[VoucherIn]]
) -> Response[list[VoucherOut]]:
    """Create many vouchers at once: either all of them or, if any is invalid, none (400 with one error object per
    entry, in order)."""

    def work(call: Call) -> list[VoucherOut]:
        target = call.event(organizer, event, WRITE_PERMISSION)
        return [serialize(voucher) for voucher in _create(call, target, data, as_list=True)]

    return await in_call(request, work, status_code=201)


def _update(call: Call, organizer: str, event: str, voucher_id: int, data: VoucherIn, *, full: bool) -> VoucherOut:
    target = call.event(organizer, event, WRITE_PERMISSION)
    voucher = call.get(Voucher, voucher_id, event_id=target.id)
    sent = sent_fields(data)
    if sent.get("code", voucher.code) is None:
        raise FieldErrors.single("code", "This field may not be null.")
    if full:
        sent = {**DEFAULTS, **sent}
    values = {**_current(voucher), **sent}
    errors = validate(call, target, values, voucher, _Batch())
    if errors:
        raise FieldErrors(errors)
    changed = _apply(voucher, {key: values[key] for key in sent})
    if changed:
        _flush(call)
        call.log(voucher, "boxoffice.event.voucher.changed", msgspec.to_builtins(changed))
    return serialize(voucher)


@patch(BASE + "{id:int}/", tags=["vouchers"])
async def update_voucher(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int], data: JSONBody[VoucherIn]
) -> Response[VoucherOut]:
    """Change the fields sent (``redeemed`` is not writable)."""
    return await in_call(request, lambda call: _update(call, organizer, event, id, data, full=False))


@put(BASE + "{id:int}/", tags=["vouchers"])
async def replace_voucher(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int], data: JSONBody[VoucherIn]
) -> Response[VoucherOut]:
    """Replace the voucher: omitted fields are reset to their defaults (an omitted ``code`` is kept)."""
    return await in_call(request, lambda call: _update(call, organizer, event, id, data, full=True))


@delete(BASE + "{id:int}/", tags=["vouchers"], status_code=204)
async def delete_voucher(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int]
) -> Response[None]:
    """Delete a voucher that has never been redeemed."""

    def work(call: Call) -> None:
        target = call.event(organizer, event, WRITE_PERMISSION)
        voucher = call.get(Voucher, id, event_id=target.id)
        if voucher.redeemed > 0:
            raise ApiError(403, "This voucher can not be deleted as it has already been redeemed.")
        call.log(voucher, "boxoffice.event.voucher.deleted", {"code": voucher.code})
        call.session.delete(voucher)

    return await in_call(request, work, status_code=204)


ROUTES = [
    list_vouchers,
    get_voucher,
    create_voucher,
    batch_create_vouchers,
    update_voucher,
    replace_voucher,
    delete_voucher,
]
