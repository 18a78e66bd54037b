"""Item categories: list (``Last-Modified`` aware, ``is_addon`` filter, ordering), detail, create, update (PATCH and
PUT), delete.

The first section holds small validation and reference helpers that the sibling catalog modules (tax rules, sales
channels, sub-events) share.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import msgspec
from litestar import Request, Response, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody
from sqlalchemy import Column, Table, func, insert, select
from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Session

from boxoffice.apps.api.errors import ApiError, FieldErrors, Problems
from boxoffice.apps.api.toolkit import Call, Page, in_call, parse_bool, sent_fields
from boxoffice.kernel.db import Base
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.categories import (
    CROSS_SELLING_CONDITIONS,
    CROSS_SELLING_MODES,
    ItemCategory,
    item_category_cross_selling,
)

Multilingual = dict[str, str]
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
# Numeric(13, 2): eleven digits before the point.
MONEY_LIMIT = Decimal(10) ** 11
CENTS = Decimal("0.01")

# --- shared with the sibling catalog modules ----------------------------------------------------------------------


def check_int(value: int, low: int = INT_MIN, high: int = INT_MAX) -> str | None:
    if not low <= value <= high:
        return f"Ensure this value is between {low} and {high}."
    return None


def check_text(value: str, limit: int) -> str | None:
    if "\x00" in value:
        # PostgreSQL cannot store NUL in text columns.
        return "Null characters are not allowed."
    if len(value) > limit:
        return f"Ensure this field has no more than {limit} characters."
    return None


def check_multilingual(value: Any, *, blank_ok: bool) -> str | None:
    if not isinstance(value, dict):
        return "Expected a dictionary of items."
    if not blank_ok and not any(str(text).strip() for text in value.values()):
        return "This field may not be blank."
    return None


def check_decimal(
    value: Decimal, *, limit: Decimal = MONEY_LIMIT, places: int = 2, negative: bool = False
) -> str | None:
    """The problem with a decimal a client sent (money, rates), if any: it must fit its ``Numeric`` column."""
    if not value.is_finite():
        return "A valid number is required."
    if not negative and value < 0:
        return "Ensure this value is greater than or equal to 0."
    if abs(value) >= limit:
        return f"Ensure this value is less than {limit}."
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        return f"Ensure that there are no more than {places} decimal places."
    return None


def _plausible_ids(ids: Iterable[int]) -> list[int]:
    return [value for value in set(ids) if 0 < value <= INT_MAX]


def event_item_ids(session: Session, event_id: int, ids: Iterable[int]) -> set[int]:
    """Which of ``ids`` are items of the event (items are another area's table, so plain SQL on it)."""
    wanted = _plausible_ids(ids)
    items = Base.metadata.tables.get("item")
    if not wanted or items is None:
        return set()
    return set(session.scalars(select(items.c.id).where(items.c.event_id == event_id, items.c.id.in_(wanted))))


def event_variation_ids(session: Session, event_id: int, ids: Iterable[int]) -> set[int]:
    """Which of ``ids`` are variations of items of the event."""
    wanted = _plausible_ids(ids)
    items, variations = Base.metadata.tables.get("item"), Base.metadata.tables.get("item_variation")
    if not wanted or items is None or variations is None:
        return set()
    statement = (
        select(variations.c.id)
        .join(items, items.c.id == variations.c.item_id)
        .where(items.c.event_id == event_id, variations.c.id.in_(wanted))
    )
    return set(session.scalars(statement))


def kernel_tables() -> list[Table]:
    """Tables of the kernel's models (plugin tables are left alone: a plugin may be installed but not migrated)."""
    tables: dict[str, Table] = {}
    for mapper in Base.registry.mappers:
        if mapper.class_.__module__.startswith("boxoffice.kernel."):
            for table in mapper.tables:
                if isinstance(table, Table):
                    tables[table.name] = table
    return list(tables.values())


def references_to(table_name: str, *, exclude: Iterable[str] = ()) -> list[tuple[Column[Any], str | None]]:
    """Columns of kernel tables with a foreign key to ``table_name``, each with its ``ondelete`` rule."""
    skipped = {table_name, *exclude}
    found = []
    for table in kernel_tables():
        if table.name in skipped:
            continue
        for foreign_key in table.foreign_keys:
            if foreign_key.target_fullname.rsplit(".", 1)[0] == table_name:
                found.append((foreign_key.parent, foreign_key.ondelete))
    return found


def is_referenced(session: Session, columns: Iterable[Column[Any]], object_id: int) -> bool:
    return any(
        session.scalar(select(func.count()).select_from(column.table).where(column == object_id)) for column in columns
    )


def blocking_references(session: Session, table_name: str, object_id: int, *, exclude: Iterable[str] = ()) -> bool:
    """Whether rows refer to the object without agreeing to go (``CASCADE``) or be unlinked (``SET NULL``) with it."""
    columns = [
        column
        for column, ondelete in references_to(table_name, exclude=exclude)
        if (ondelete or "").upper() not in ("CASCADE", "SET NULL")
    ]
    return is_referenced(session, columns, object_id)


# --- categories ------------------------------------------------------------------------------------------------------

WRITE_PERMISSION = "event.items:write"
LIST_RESOURCE = "categories"
INTERNAL_NAME_MAX = 255
BASE = "/api/v1/organizers/{organizer:str}/events/{event:str}/categories/"
DETAIL = BASE + "{category_id:int}/"


class CategoryOut(msgspec.Struct):
    id: int
    name: Multilingual
    internal_name: str | None
    description: Multilingual | None
    position: int
    is_addon: bool
    cross_selling_mode: str | None
    cross_selling_condition: str | None
    cross_selling_match_products: list[int]


class CategoryIn(msgspec.Struct):
    """Writable category fields; on PATCH only the fields sent change, on PUT the others are reset."""

    name: Multilingual | msgspec.UnsetType = msgspec.UNSET
    internal_name: str | msgspec.UnsetType | None = msgspec.UNSET
    description: Multilingual | msgspec.UnsetType | None = msgspec.UNSET
    position: int | msgspec.UnsetType = msgspec.UNSET
    is_addon: bool | msgspec.UnsetType = msgspec.UNSET
    cross_selling_mode: str | msgspec.UnsetType | None = msgspec.UNSET
    cross_selling_condition: str | msgspec.UnsetType | None = msgspec.UNSET
    cross_selling_match_products: list[int] | msgspec.UnsetType | None = msgspec.UNSET


DEFAULTS: dict[str, Any] = {
    "internal_name": None,
    "description": None,
    "position": 0,
    "is_addon": False,
    "cross_selling_mode": None,
    "cross_selling_condition": None,
    "cross_selling_match_products": [],
}
COLUMNS = (
    "name",
    "internal_name",
    "description",
    "position",
    "is_addon",
    "cross_selling_mode",
    "cross_selling_condition",
)


def match_products(session: Session, category_ids: list[int]) -> dict[int, list[int]]:
    """The cross-selling products of each category, in one query."""
    found: dict[int, list[int]] = {category_id: [] for category_id in category_ids}
    if category_ids:
        table = item_category_cross_selling
        rows = session.execute(
            select(table.c.category_id, table.c.item_id)
            .where(table.c.category_id.in_(category_ids))
            .order_by(table.c.item_id)
        )
        for category_id, item_id in rows:
            found[category_id].append(item_id)
    return found


def serialize(category: ItemCategory, products: list[int]) -> CategoryOut:
    return CategoryOut(
        id=category.id,
        name=category.name,
        internal_name=category.internal_name,
        description=category.description,
        position=category.position,
        is_addon=category.is_addon,
        cross_selling_mode=category.cross_selling_mode,
        cross_selling_condition=category.cross_selling_condition,
        cross_selling_match_products=products,
    )


def serialize_one(call: Call, category: ItemCategory) -> CategoryOut:
    return serialize(category, match_products(call.session, [category.id])[category.id])


def validate(call: Call, event: Event, values: dict[str, Any], existing: ItemCategory | None) -> dict[str, Any]:
    """Check category fields (``values`` is what will be applied); raises ``FieldErrors`` naming every problem."""
    problems = Problems()
    if existing is None and "name" not in values:
        problems.add("name", "This field is required.")
    if "name" in values and (problem := check_multilingual(values["name"], blank_ok=False)):
        problems.add("name", problem)
    if values.get("description") is not None and (problem := check_multilingual(values["description"], blank_ok=True)):
        problems.add("description", problem)
    if values.get("internal_name") is not None and (problem := check_text(values["internal_name"], INTERNAL_NAME_MAX)):
        problems.add("internal_name", problem)
    if "position" in values and (problem := check_int(values["position"])):
        problems.add("position", problem)
    if values.get("cross_selling_match_products") is None and "cross_selling_match_products" in values:
        values["cross_selling_match_products"] = []

    def current(name: str) -> Any:
        if name in values:
            return values[name]
        if name == "cross_selling_match_products":
            return match_products(call.session, [existing.id])[existing.id] if existing else []
        return getattr(existing, name) if existing is not None else DEFAULTS[name]

    mode, condition = current("cross_selling_mode"), current("cross_selling_condition")
    if mode not in CROSS_SELLING_MODES:
        problems.add("cross_selling_mode", f'"{mode}" is not a valid choice.')
    if condition not in CROSS_SELLING_CONDITIONS:
        problems.add("cross_selling_condition", f'"{condition}" is not a valid choice.')
    if mode is not None and current("is_addon"):
        problems.add("cross_selling_mode", "Cross-selling is only available for categories that are not add-ons.")
    if mode is not None and condition is None and mode in CROSS_SELLING_MODES:
        # Switching cross-selling on without saying when: always.
        values["cross_selling_condition"] = "always"
    products = values.get("cross_selling_match_products")
    if products:
        unknown = set(products) - event_item_ids(call.session, event.id, products)
        if unknown:
            problems.add(
                "cross_selling_match_products",
                f"Invalid pk(s) {sorted(unknown)} - object does not exist or belongs to another event.",
            )
    if mode is not None and condition == "products" and not current("cross_selling_match_products"):
        problems.add("cross_selling_match_products", "Select at least one product for this cross-selling condition.")
    problems.raise_if_any()
    return values


def _set_products(session: Session, category_id: int, products: list[int]) -> None:
    table = item_category_cross_selling
    session.execute(sql_delete(table).where(table.c.category_id == category_id))
    if products:
        session.execute(
            insert(table), [{"category_id": category_id, "item_id": item} for item in sorted(set(products))]
        )


def _apply(call: Call, category: ItemCategory, values: dict[str, Any]) -> dict[str, Any]:
    """Write ``values``; returns what actually changed (for the audit log)."""
    changed: dict[str, Any] = {}
    for name in COLUMNS:
        if name in values and getattr(category, name) != values[name]:
            setattr(category, name, values[name])
            changed[name] = values[name]
    call.session.flush()
    if "cross_selling_match_products" in values:
        products = sorted(set(values["cross_selling_match_products"]))
        if products != match_products(call.session, [category.id])[category.id]:
            _set_products(call.session, category.id, products)
            changed["cross_selling_match_products"] = products
    return changed


def _filtered(call: Call, event: Event) -> Any:
    statement = select(ItemCategory).where(ItemCategory.event_id == event.id)
    is_addon = parse_bool(call.query, "is_addon")
    if is_addon is not None:
        statement = statement.where(ItemCategory.is_addon.is_(is_addon))
    return statement


@get(BASE, tags=["categories"])
async def list_categories(
    request: Request, organizer: FromPath[str], event: FromPath[str]
) -> Response[Page[CategoryOut]]:
    """Categories of the event (``?is_addon=``, ``?ordering=id|position``); sends ``Last-Modified``."""

    def work(call: Call) -> Page[CategoryOut]:
        target = call.event(organizer, event)
        call.last_modified(target, LIST_RESOURCE)
        products: dict[int, list[int]] = {}

        def prepare(rows: list[ItemCategory]) -> None:
            products.update(match_products(call.session, [row.id for row in rows]))

        return call.paginate(
            _filtered(call, target),
            lambda category: serialize(category, products.get(category.id, [])),
            ordering={"id": ItemCategory.id, "position": ItemCategory.position},
            default_ordering=[ItemCategory.position, ItemCategory.id],
            prepare=prepare,
        )

    return await in_call(request, work)


@get(DETAIL, tags=["categories"])
async def get_category(
    request: Request, organizer: FromPath[str], event: FromPath[str], category_id: FromPath[int]
) -> Response[CategoryOut]:
    """One category."""

    def work(call: Call) -> CategoryOut:
        target = call.event(organizer, event)
        return serialize_one(call, call.get(ItemCategory, category_id, event_id=target.id))

    return await in_call(request, work)


@post(BASE, tags=["categories"], status_code=201)
async def create_category(
    request: Request, organizer: FromPath[str], event: FromPath[str], data: JSONBody[CategoryIn]
) -> Response[CategoryOut]:
    """Create a category."""

    def work(call: Call) -> CategoryOut:
        target = call.event(organizer, event, WRITE_PERMISSION)
        values = validate(call, target, {**DEFAULTS, **sent_fields(data)}, None)
        category = ItemCategory(event_id=target.id, **{name: values[name] for name in COLUMNS})
        call.session.add(category)
        call.session.flush()
        _set_products(call.session, category.id, values["cross_selling_match_products"])
        call.touch(target, LIST_RESOURCE)
        call.log(category, "boxoffice.event.category.added", msgspec.to_builtins(values))
        return serialize_one(call, category)

    return await in_call(request, work, status_code=201)


def _update(call: Call, organizer: str, event: str, category_id: int, data: CategoryIn, *, full: bool) -> CategoryOut:
    target = call.event(organizer, event, WRITE_PERMISSION)
    category = call.get(ItemCategory, category_id, event_id=target.id)
    sent = sent_fields(data)
    if full and "name" not in sent:
        raise FieldErrors.single("name", "This field is required.")
    values = validate(call, target, {**DEFAULTS, **sent} if full else sent, category)
    changed = _apply(call, category, values)
    if changed:
        call.touch(target, LIST_RESOURCE)
        call.log(category, "boxoffice.event.category.changed", msgspec.to_builtins(changed))
    return serialize_one(call, category)


@patch(DETAIL, tags=["categories"])
async def patch_category(
    request: Request,
    organizer: FromPath[str],
    event: FromPath[str],
    category_id: FromPath[int],
    data: JSONBody[CategoryIn],
) -> Response[CategoryOut]:
    """Change the fields sent."""
    return await in_call(request, lambda call: _update(call, organizer, event, category_id, data, full=False))


@put(DETAIL, tags=["categories"])
async def put_category(
    request: Request,
    organizer: FromPath[str],
    event: FromPath[str],
    category_id: FromPath[int],
    data: JSONBody[CategoryIn],
) -> Response[CategoryOut]:
    """Replace the category: fields left out are reset to their defaults."""
    return await in_call(request, lambda call: _update(call, organizer, event, category_id, data, full=True))


@delete(DETAIL, tags=["categories"], status_code=204)
async def delete_category(
    request: Request, organizer: FromPath[str], event: FromPath[str], category_id: FromPath[int]
) -> Response[None]:
    """Delete a category; its products stay and lose their category, add-on slots offering it go with it."""

    def work(call: Call) -> None:
        target = call.event(organizer, event, WRITE_PERMISSION)
        category = call.get(ItemCategory, category_id, event_id=target.id)
        if blocking_references(call.session, "item_category", category.id, exclude=[item_category_cross_selling.name]):
            raise ApiError(403, "This category cannot be deleted because it is still in use.")
        call.log(category, "boxoffice.event.category.deleted", {"id": category.id})
        call.session.delete(category)
        call.session.flush()
        call.touch(target, LIST_RESOURCE)

    return await in_call(request, work, status_code=204)


ROUTES = [list_categories, get_category, create_category, patch_category, put_category, delete_category]
