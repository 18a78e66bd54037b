"""Item add-ons: slots through which buyers of a product may add products of a category (workshops to a
conference ticket …), as a sub-resource of the item."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody
from sqlalchemy import select

from boxoffice.apps.api.resources.items import (
    ADDON_CLASH,
    ADDON_DEFAULTS,
    PERMISSION,
    AddOnIn,
    AddOnOut,
    changes,
    flush_unique,
    item_changed,
    log_data,
    raise_errors,
    scoped_item,
    serialize_addon,
    validate_addon,
)
from boxoffice.apps.api.toolkit import Call, Page, in_call, sent_fields
from boxoffice.kernel.models.items import ItemAddOn

BASE = "/api/v1/organizers/{organizer:str}/events/{event:str}/items/{item:int}/addons/"
DETAIL = BASE + "{id:int}/"
COLUMNS = {"addon_category": "addon_category_id"}


def _taken(call: Call, item_id: int, except_id: int | None = None) -> set[int]:
    """Categories already used by the item's add-on slots (each category at most once per item)."""
    statement = select(ItemAddOn.addon_category_id).where(ItemAddOn.base_item_id == item_id)
    if except_id is not None:
        statement = statement.where(ItemAddOn.id != except_id)
    return set(call.session.scalars(statement))


@get(BASE, tags=["item add-ons"])
async def list_addons(
    request: Request, organizer: FromPath[str], event: FromPath[str], item: FromPath[int]
) -> Response[Page[AddOnOut]]:
    """Add-on slots of an item."""

    def work(call: Call) -> Page[AddOnOut]:
        _, base = scoped_item(call, organizer, event, item)
        return call.paginate(
            select(ItemAddOn).where(ItemAddOn.base_item_id == base.id),
            serialize_addon,
            ordering={"id": ItemAddOn.id, "position": ItemAddOn.position},
            default_ordering=[ItemAddOn.position, ItemAddOn.id],
        )

    return await in_call(request, work)


@get(DETAIL, tags=["item add-ons"])
async def get_addon(
    request: Request, organizer: FromPath[str], event: FromPath[str], item: FromPath[int], id: FromPath[int]
) -> Response[AddOnOut]:
    """One add-on slot."""

    def work(call: Call) -> AddOnOut:
        _, base = scoped_item(call, organizer, event, item)
        return serialize_addon(call.get(ItemAddOn, id, base_item_id=base.id))

    return await in_call(request, work)


@post(BASE, tags=["item add-ons"], status_code=201)
async def create_addon(
    request: Request, organizer: FromPath[str], event: FromPath[str], item: FromPath[int], data: JSONBody[AddOnIn]
) -> Response[AddOnOut]:
    """Add an add-on slot offering the products of ``addon_category`` (a category of the same event)."""

    def work(call: Call) -> AddOnOut:
        target, base = scoped_item(call, organizer, event, item, PERMISSION)
        values = {**ADDON_DEFAULTS, **sent_fields(data)}
        check = validate_addon(call, target, values, None, full=True, taken=_taken(call, base.id))
        raise_errors(check.errors)
        addon = ItemAddOn(base_item_id=base.id, **check.values)
        call.session.add(addon)
        flush_unique(call.session, "addon_category", ADDON_CLASH)
        item_changed(call, target)
        call.log(base, "boxoffice.event.item.addons.added", {"id": addon.id, **log_data(check.values, COLUMNS)})
        return serialize_addon(addon)

    return await in_call(request, work, status_code=201)


def _update(call: Call, organizer: str, event: str, item: int, id: int, data: AddOnIn, *, full: bool) -> Any:
    target, base = scoped_item(call, organizer, event, item, PERMISSION)
    addon = call.get(ItemAddOn, id, base_item_id=base.id)
    sent = sent_fields(data)
    values = {**ADDON_DEFAULTS, **sent} if full else sent
    check = validate_addon(call, target, values, addon, full=full, taken=_taken(call, base.id, addon.id))
    raise_errors(check.errors)
    changed = changes(addon, check.values)
    if changed:
        flush_unique(call.session, "addon_category", ADDON_CLASH)
        item_changed(call, target)
        call.log(base, "boxoffice.event.item.addons.changed", {"id": addon.id, **log_data(changed, COLUMNS)})
    return serialize_addon(addon)


@patch(DETAIL, tags=["item add-ons"])
async def update_addon(
    request: Request,
    organizer: FromPath[str],
    event: FromPath[str],
    item: FromPath[int],
    id: FromPath[int],
    data: JSONBody[AddOnIn],
) -> Response[AddOnOut]:
    """Change fields of an add-on slot."""
    return await in_call(request, lambda call: _update(call, organizer, event, item, id, data, full=False))


@put(DETAIL, tags=["item add-ons"])
async def replace_addon(
    request: Request,
    organizer: FromPath[str],
    event: FromPath[str],
    item: FromPath[int],
    id: FromPath[int],
    data: JSONBody[AddOnIn],
) -> Response[AddOnOut]:
    """Replace an add-on slot; fields left out are reset to their defaults."""
    return await in_call(request, lambda call: _update(call, organizer, event, item, id, data, full=True))


@delete(DETAIL, tags=["item add-ons"], status_code=204)
async def delete_addon(
    request: Request, organizer: FromPath[str], event: FromPath[str], item: FromPath[int], id: FromPath[int]
) -> Response[None]:
    """Delete an add-on slot."""

    def work(call: Call) -> None:
        target, base = scoped_item(call, organizer, event, item, PERMISSION)
        addon = call.get(ItemAddOn, id, base_item_id=base.id)
        call.log(
            base, "boxoffice.event.item.addons.deleted", {"id": addon.id, "addon_category": addon.addon_category_id}
        )
        call.session.delete(addon)
        call.session.flush()
        item_changed(call, target)

    return await in_call(request, work, status_code=204)


ROUTES = [list_addons, get_addon, create_addon, update_addon, replace_addon, delete_addon]
