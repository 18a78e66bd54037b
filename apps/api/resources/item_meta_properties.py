"""Item meta properties: event-level definitions of the internal attributes (``meta_data``) items carry.

Items and variations store their values by property id, so renaming a property keeps the values; this module also
validates the ``meta_data`` objects items and variations send (:func:`validate_meta_data`).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from boxoffice.apps.api.errors import FieldErrors
from boxoffice.apps.api.toolkit import Call, Page, in_call, sent_fields
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.items import Item, ItemMetaProperty, ItemVariation

NAME_LENGTH = 50
VALUE_LENGTH = 2000
MAX_ALLOWED_VALUES = 1000
PERMISSION = "event.items:write"
NUL_MESSAGE = "Null characters are not allowed."
NAME_CLASH = "A property with this name already exists for this event."


class ItemMetaPropertyOut(msgspec.Struct):
    id: int
    name: str
    default: str
    required: bool
    allowed_values: list[str] | None


class ItemMetaPropertyIn(msgspec.Struct):
    """Writable fields; on PATCH only the fields sent are changed, on PUT the others are reset."""

    name: str | msgspec.UnsetType = msgspec.UNSET
    default: str | msgspec.UnsetType | None = msgspec.UNSET
    required: bool | msgspec.UnsetType = msgspec.UNSET
    allowed_values: list[str] | msgspec.UnsetType | None = msgspec.UNSET


DEFAULTS: dict[str, Any] = {"default": "", "required": False, "allowed_values": None}


def _get(call: Call, prop_id: int, event: Event) -> ItemMetaProperty:
    """A property of the event; 404 otherwise."""
    return call.get(ItemMetaProperty, prop_id, event_id=event.id)


def _flush(call: Call) -> None:
    """Flush; a concurrent request that took the name first (after our check) makes this a field error."""
    try:
        with call.session.begin_nested():
            call.session.flush()
    except IntegrityError:
        raise FieldErrors.single("name", NAME_CLASH) from None


def serialize(prop: ItemMetaProperty) -> ItemMetaPropertyOut:
    return ItemMetaPropertyOut(
        id=prop.id,
        name=prop.name,
        default=prop.default or "",
        required=prop.required,
        allowed_values=list(prop.allowed_values) if prop.allowed_values is not None else None,
    )


# --- meta values of items and variations ------------------------------------------------------------------------


def event_properties(session: Session, event_id: int) -> list[ItemMetaProperty]:
    return list(
        session.scalars(
            select(ItemMetaProperty).where(ItemMetaProperty.event_id == event_id).order_by(ItemMetaProperty.id)
        )
    )


def property_names(session: Session, event_id: int) -> dict[str, str]:
    """Property id (as stored in ``meta_data``) → name, for serialising meta values."""
    return {str(prop.id): prop.name for prop in event_properties(session, event_id)}


def named_meta(stored: dict[str, str] | None, names: dict[str, str]) -> dict[str, str]:
    """Stored ``{id: value}`` → the API's ``{name: value}`` (values of deleted properties are dropped)."""
    return {names[key]: value for key, value in (stored or {}).items() if key in names}


def validate_meta_data(
    session: Session, event_id: int, values: dict[str, str], *, enforce_required: bool
) -> tuple[dict[str, str], list[str]]:
    """Check ``{name: value}`` against the event's properties; returns ``({id: value}, error messages)``.

    Empty values mean "not set". ``enforce_required`` (items, not variations) demands a value for required
    properties that have no default.
    """
    properties = {prop.name: prop for prop in event_properties(session, event_id)}
    errors: list[str] = []
    stored: dict[str, str] = {}
    for name, value in values.items():
        if "\x00" in name or "\x00" in value:
            errors.append(NUL_MESSAGE)
            continue
        prop = properties.get(name)
        if prop is None:
            errors.append(f'Item meta data property "{name}" does not exist.')
            continue
        if len(value) > VALUE_LENGTH:
            errors.append(f'The value of "{name}" must not be longer than {VALUE_LENGTH} characters.')
            continue
        if value == "":
            continue
        if prop.allowed_values and value not in prop.allowed_values:
            errors.append(f'"{value}" is not an allowed value for "{name}".')
            continue
        stored[str(prop.id)] = value
    if enforce_required:
        for prop in properties.values():
            if prop.required and not prop.default and str(prop.id) not in stored:
                errors.append(f'A value for "{prop.name}" is required.')
    return stored, errors


# --- validation ---------------------------------------------------------------------------------------------


def validate(call: Call, event: Event, values: dict[str, Any], existing: ItemMetaProperty | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}

    def fail(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if existing is None and "name" not in values:
        fail("name", "This field is required.")
    for field in ("name", "default"):
        if "\x00" in (values.get(field) or ""):
            fail(field, NUL_MESSAGE)
    if any("\x00" in value for value in values.get("allowed_values") or []):
        fail("allowed_values", NUL_MESSAGE)
    if "name" in values and "name" not in errors:
        name = values["name"]
        if not name.strip():
            fail("name", "This field may not be blank.")
        elif len(name) > NAME_LENGTH:
            fail("name", f"Ensure this field has no more than {NAME_LENGTH} characters.")
        elif name != name.strip():
            fail("name", "The name must not start or end with whitespace.")
        else:
            clash = select(ItemMetaProperty.id).where(
                ItemMetaProperty.event_id == event.id, func.lower(ItemMetaProperty.name) == name.lower()
            )
            if existing is not None:
                clash = clash.where(ItemMetaProperty.id != existing.id)
            if call.session.scalar(clash) is not None:
                fail("name", NAME_CLASH)
    if "default" in values:
        if values["default"] is None:
            values["default"] = ""
        if len(values["default"]) > VALUE_LENGTH:
            fail("default", f"Ensure this field has no more than {VALUE_LENGTH} characters.")
    if values.get("allowed_values") is not None and "allowed_values" not in errors:
        allowed = values["allowed_values"]
        if len(allowed) > MAX_ALLOWED_VALUES:
            fail("allowed_values", f"Ensure this list has no more than {MAX_ALLOWED_VALUES} elements.")
        elif any(not value.strip() or len(value) > VALUE_LENGTH for value in allowed):
            fail("allowed_values", f"Values must not be blank or longer than {VALUE_LENGTH} characters.")
        elif len(set(allowed)) != len(allowed):
            fail("allowed_values", "Values must be unique.")
    default = values.get("default", existing.default if existing else "")
    allowed_values = values.get("allowed_values", existing.allowed_values if existing else None)
    if default and allowed_values and default not in allowed_values and "allowed_values" not in errors:
        fail("default", "The default value must be one of the allowed values.")
    if errors:
        raise FieldErrors(errors)
    return values


def sync_event_summary(call: Call, event: Event) -> None:
    """Keep the event's ``item_meta_properties`` (name → default) in step with the property rows."""
    event.item_meta_properties = {prop.name: prop.default or "" for prop in event_properties(call.session, event.id)}
    # Item and variation lists show meta values by property name.
    call.touch(event, "items")


# --- endpoints ------------------------------------------------------------------------------------------------

BASE = "/api/v1/organizers/{organizer:str}/events/{event:str}/item_meta_properties/"
DETAIL = BASE + "{id:int}/"


@get(BASE, tags=["item meta properties"])
async def list_item_meta_properties(
    request: Request, organizer: FromPath[str], event: FromPath[str]
) -> Response[Page[ItemMetaPropertyOut]]:
    """Item meta properties of the event."""

    def work(call: Call) -> Page[ItemMetaPropertyOut]:
        target = call.event(organizer, event)
        return call.paginate(
            select(ItemMetaProperty).where(ItemMetaProperty.event_id == target.id),
            serialize,
            ordering={"id": ItemMetaProperty.id, "name": ItemMetaProperty.name},
            default_ordering=[ItemMetaProperty.id],
        )

    return await in_call(request, work)


@get(DETAIL, tags=["item meta properties"])
async def get_item_meta_property(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int]
) -> Response[ItemMetaPropertyOut]:
    """One item meta property."""

    def work(call: Call) -> ItemMetaPropertyOut:
        target = call.event(organizer, event)
        return serialize(_get(call, id, target))

    return await in_call(request, work)


@post(BASE, tags=["item meta properties"], status_code=201)
async def create_item_meta_property(
    request: Request, organizer: FromPath[str], event: FromPath[str], data: JSONBody[ItemMetaPropertyIn]
) -> Response[ItemMetaPropertyOut]:
    """Define a new meta property for the event's items."""

    def work(call: Call) -> ItemMetaPropertyOut:
        target = call.event(organizer, event, PERMISSION)
        values = validate(call, target, {**DEFAULTS, **sent_fields(data)}, None)
        prop = ItemMetaProperty(event_id=target.id, **values)
        call.session.add(prop)
        _flush(call)
        sync_event_summary(call, target)
        call.log(prop, "boxoffice.event.item_meta_property.added", {"id": prop.id, **msgspec.to_builtins(values)})
        return serialize(prop)

    return await in_call(request, work, status_code=201)


def _update(call: Call, organizer: str, event: str, id: int, data: ItemMetaPropertyIn, replace: bool) -> Any:
    target = call.event(organizer, event, PERMISSION)
    prop = _get(call, id, target)
    sent = sent_fields(data)
    if replace and "name" not in sent:
        raise FieldErrors.single("name", "This field is required.")
    values = validate(call, target, {**DEFAULTS, **sent} if replace else sent, prop)
    changed = {key: value for key, value in values.items() if getattr(prop, key) != value}
    for key, value in changed.items():
        setattr(prop, key, value)
    if changed:
        _flush(call)
        sync_event_summary(call, target)
        call.log(prop, "boxoffice.event.item_meta_property.changed", {"id": prop.id, **msgspec.to_builtins(changed)})
    return serialize(prop)


@patch(DETAIL, tags=["item meta properties"])
async def update_item_meta_property(
    request: Request,
    organizer: FromPath[str],
    event: FromPath[str],
    id: FromPath[int],
    data: JSONBody[ItemMetaPropertyIn],
) -> Response[ItemMetaPropertyOut]:
    """Change fields of an item meta property (values items already carry are kept)."""
    return await in_call(request, lambda call: _update(call, organizer, event, id, data, replace=False))


@put(DETAIL, tags=["item meta properties"])
async def replace_item_meta_property(
    request: Request,
    organizer: FromPath[str],
    event: FromPath[str],
    id: FromPath[int],
    data: JSONBody[ItemMetaPropertyIn],
) -> Response[ItemMetaPropertyOut]:
    """Replace an item meta property; fields left out are reset to their defaults."""
    return await in_call(request, lambda call: _update(call, organizer, event, id, data, replace=True))


@delete(DETAIL, tags=["item meta properties"], status_code=204)
async def delete_item_meta_property(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int]
) -> Response[None]:
    """Delete an item meta property together with the values items and variations carry for it."""

    def work(call: Call) -> None:
        target = call.event(organizer, event, PERMISSION)
        prop = _get(call, id, target)
        key = str(prop.id)
        # Values are keyed by id; drop them so that a later property can never inherit them.
        for row in [
            *call.session.scalars(select(Item).where(Item.event_id == target.id)),
            *call.session.scalars(
                select(ItemVariation).join(Item, Item.id == ItemVariation.item_id).where(Item.event_id == target.id)
            ),
        ]:
            if key in (row.meta_data or {}):
                row.meta_data = {k: v for k, v in row.meta_data.items() if k != key}
        call.log(prop, "boxoffice.event.item_meta_property.deleted", {"id": prop.id, "name": prop.name})
        call.session.delete(prop)
        call.session.flush()
        sync_event_summary(call, target)

    return await in_call(request, work, status_code=204)


ROUTES = [
    list_item_meta_properties,
    get_item_meta_property,
    create_item_meta_property,
    update_item_meta_property,
    replace_item_meta_property,
    delete_item_meta_property,
]
