"""Item bundles: products included in another product (package deals, or splitting a price across tax rates via
``designated_price``), as a sub-resource of the item."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody
from sqlalchemy import select

from boxoffice.apps.api.resources.items import (
    BUNDLE_DEFAULTS,
    PERMISSION,
    BundleIn,
    BundleOut,
    changes,
    item_changed,
    log_data,
    raise_errors,
    scoped_item,
    serialize_bundle,
    validate_bundle,
)
from boxoffice.apps.api.toolkit import Call, Page, in_call, sent_fields
from boxoffice.kernel.models.items import ItemBundle

BASE = "/api/v1/organizers/{organizer:str}/events/{event:str}/items/{item:int}/bundles/"
DETAIL = BASE + "{id:int}/"
COLUMNS = {"bundled_item": "bundled_item_id", "bundled_variation": "bundled_variation_id"}


@get(BASE, tags=["item bundles"])
async def list_bundles(
    request: Request, organizer: FromPath[str], event: FromPath[str], item: FromPath[int]
) -> Response[Page[BundleOut]]:
    """Bundle configurations of an item."""

    def work(call: Call) -> Page[BundleOut]:
        _, base = scoped_item(call, organizer, event, item)
        return call.paginate(
            select(ItemBundle).where(ItemBundle.base_item_id == base.id),
            serialize_bundle,
            ordering={"id": ItemBundle.id},
            default_ordering=[ItemBundle.id],
        )

    return await in_call(request, work)


@get(DETAIL, tags=["item bundles"])
async def get_bundle(
    request: Request, organizer: FromPath[str], event: FromPath[str], item: FromPath[int], id: FromPath[int]
) -> Response[BundleOut]:
    """One bundle configuration."""

    def work(call: Call) -> BundleOut:
        _, base = scoped_item(call, organizer, event, item)
        return serialize_bundle(call.get(ItemBundle, id, base_item_id=base.id))

    return await in_call(request, work)


@post(BASE, tags=["item bundles"], status_code=201)
async def create_bundle(
    request: Request, organizer: FromPath[str], event: FromPath[str], item: FromPath[int], data: JSONBody[BundleIn]
) -> Response[BundleOut]:
    """Include another product of the event (and, if it has variations, one of them) in this item."""

    def work(call: Call) -> BundleOut:
        target, base = scoped_item(call, organizer, event, item, PERMISSION)
        values = {**BUNDLE_DEFAULTS, **sent_fields(data)}
        check = validate_bundle(call, target, values, None, full=True, base_item_id=base.id)
        raise_errors(check.errors)
        bundle = ItemBundle(base_item_id=base.id, **check.values)
        call.session.add(bundle)
        call.session.flush()
        item_changed(call, target)
        call.log(base, "boxoffice.event.item.bundles.added", {"id": bundle.id, **log_data(check.values, COLUMNS)})
        return serialize_bundle(bundle)

    return await in_call(request, work, status_code=201)


def _update(call: Call, organizer: str, event: str, item: int, id: int, data: BundleIn, *, full: bool) -> Any:
    target, base = scoped_item(call, organizer, event, item, PERMISSION)
    bundle = call.get(ItemBundle, id, base_item_id=base.id)
    sent = sent_fields(data)
    values = {**BUNDLE_DEFAULTS, **sent} if full else sent
    check = validate_bundle(call, target, values, bundle, full=full, base_item_id=base.id)
    raise_errors(check.errors)
    changed = changes(bundle, check.values)
    if changed:
        call.session.flush()
        item_changed(call, target)
        call.log(base, "boxoffice.event.item.bundles.changed", {"id": bundle.id, **log_data(changed, COLUMNS)})
    return serialize_bundle(bundle)


@patch(DETAIL, tags=["item bundles"])
async def update_bundle(
    request: Request,
    organizer: FromPath[str],
    event: FromPath[str],
    item: FromPath[int],
    id: FromPath[int],
    data: JSONBody[BundleIn],
) -> Response[BundleOut]:
    """Change fields of a bundle configuration."""
    return await in_call(request, lambda call: _update(call, organizer, event, item, id, data, full=False))


@put(DETAIL, tags=["item bundles"])
async def replace_bundle(
    request: Request,
    organizer: FromPath[str],
    event: FromPath[str],
    item: FromPath[int],
    id: FromPath[int],
    data: JSONBody[BundleIn],
) -> Response[BundleOut]:
    """Replace a bundle configuration; fields left out are reset to their defaults."""
    return await in_call(request, lambda call: _update(call, organizer, event, item, id, data, full=True))


@delete(DETAIL, tags=["item bundles"], status_code=204)
async def delete_bundle(
    request: Request, organizer: FromPath[str], event: FromPath[str], item: FromPath[int], id: FromPath[int]
) -> Response[None]:
    """Delete a bundle configuration."""

    def work(call: Call) -> None:
        target, base = scoped_item(call, organizer, event, item, PERMISSION)
        bundle = call.get(ItemBundle, id, base_item_id=base.id)
        call.log(
            base, "boxoffice.event.item.bundles.deleted", {"id": bundle.id, "bundled_item": bundle.bundled_item_id}
        )
        call.session.delete(bundle)
        call.session.flush()
        item_changed(call, target)

    return await in_call(request, work, status_code=204)


ROUTES = [list_bundles, get_bundle, create_bundle, update_bundle, replace_bundle, delete_bundle]
