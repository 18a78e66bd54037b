"""Item variations: the versions of a product (size, colour …) as a sub-resource of the item.

An item either always or never has variations: variations can be added only to items created with variations, and
the last one cannot be deleted.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody
from sqlalchemy import Text, func, select

from boxoffice.apps.api.errors import ApiError, FieldErrors
from boxoffice.apps.api.resources.items import (
    PERMISSION,
    VARIATION_DEFAULTS,
    VariationIn,
    VariationOut,
    changes,
    item_changed,
    item_channels,
    log_data,
    lookup,
    ordered,
    raise_errors,
    scoped_item,
    sent_values,
    serialize_variation,
    validate_variation,
)
from boxoffice.apps.api.toolkit import Call, Page, in_call, parse_bool
from boxoffice.kernel.models.items import ItemVariation

BASE = "/api/v1/organizers/{organizer:str}/events/{event:str}/items/{item:int}/variations/"
DETAIL = BASE + "{id:int}/"


@get(BASE, tags=["item variations"])
async def list_variations(
    request: Request, organizer: FromPath[str], event: FromPath[str], item: FromPath[int]
) -> Response[Page[VariationOut]]:
    """Variations of an item; filters ``search`` (in the value) and ``active``."""

    def work(call: Call) -> Page[VariationOut]:
        target, base = scoped_item(call, organizer, event, item)
        statement = select(ItemVariation).where(ItemVariation.item_id == base.id)
        active = parse_bool(call.query, "active")
        if active is not None:
            statement = statement.where(ItemVariation.active.is_(active))
        if call.query.get("search"):
            needle = f"%{call.query['search'].lower()}%"
            statement = statement.where(func.lower(func.cast(ItemVariation.value, Text())).like(needle))
        ctx = lookup(call, target, [base])
        return call.paginate(
            statement,
            lambda variation: serialize_variation(variation, base, ctx),
            ordering={"id": ItemVariation.id, "position": ItemVariation.position},
            default_ordering=[ItemVariation.position, ItemVariation.id],
        )

    return await in_call(request, work)


@get(DETAIL, tags=["item variations"])
async def get_variation(
    request: Request, organizer: FromPath[str], event: FromPath[str], item: FromPath[int], id: FromPath[int]
) -> Response[VariationOut]:
    """One variation."""

    def work(call: Call) -> VariationOut:
        target, base = scoped_item(call, organizer, event, item)
        variation = call.get(ItemVariation, id, item_id=base.id)
        return serialize_variation(variation, base, lookup(call, target, [base]))

    return await in_call(request, work)


@post(BASE, tags=["item variations"], status_code=201)
async def create_variation(
    request: Request, organizer: FromPath[str], event: FromPath[str], item: FromPath[int], data: JSONBody[VariationIn]
) -> Response[VariationOut]:
    """Add a variation to an item that has variations."""

    def work(call: Call) -> VariationOut:
        target, base = scoped_item(call, organizer, event, item, PERMISSION)
        if not base.has_variations:
            raise FieldErrors.single(
                "non_field_errors",
                "This product was created without variations; create a new product with variations instead.",
            )
        check = validate_variation(
            call,
            target,
            {**VARIATION_DEFAULTS, **sent_values(data)},
            None,
            full=True,
            channels_of_item=item_channels({}, base),
            item_price=base.default_price,
        )
        raise_errors(check.errors)
        variation = ItemVariation(item_id=base.id, **check.values)
        call.session.add(variation)
        call.session.flush()
        item_changed(call, target)
        call.log(base, "boxoffice.event.item.variation.added", {"id": variation.id, **log_data(check.values)})
        return serialize_variation(variation, base, lookup(call, target, [base]))

    return await in_call(request, work, status_code=201)


def _update(call: Call, organizer: str, event: str, item: int, id: int, data: VariationIn, *, full: bool) -> Any:
    target, base = scoped_item(call, organizer, event, item, PERMISSION)
    variation = call.get(ItemVariation, id, item_id=base.id)
    sent = sent_values(data)
    check = validate_variation(
        call,
        target,
        {**VARIATION_DEFAULTS, **sent} if full else sent,
        variation,
        full=full,
        channels_of_item=item_channels({}, base),
        item_price=base.default_price,
    )
    raise_errors(check.errors)
    changed = changes(variation, check.values)
    if changed:
        call.session.flush()
        item_changed(call, target)
        call.log(base, "boxoffice.event.item.variation.changed", {"id": variation.id, **log_data(changed)})
    return serialize_variation(variation, base, lookup(call, target, [base]))


@patch(DETAIL, tags=["item variations"])
async def update_variation(
    request: Request,
    organizer: FromPath[str],
    event: FromPath[str],
    item: FromPath[int],
    id: FromPath[int],
    data: JSONBody[VariationIn],
) -> Response[VariationOut]:
    """Change fields of a variation (``price`` is derived and cannot be set)."""
    return await in_call(request, lambda call: _update(call, organizer, event, item, id, data, full=False))


@put(DETAIL, tags=["item variations"])
async def replace_variation(
    request: Request,
    organizer: FromPath[str],
    event: FromPath[str],
    item: FromPath[int],
    id: FromPath[int],
    data: JSONBody[VariationIn],
) -> Response[VariationOut]:
    """Replace a variation; fields left out are reset to their defaults."""
    return await in_call(request, lambda call: _update(call, organizer, event, item, id, data, full=True))


@delete(DETAIL, tags=["item variations"], status_code=204)
async def delete_variation(
    request: Request, organizer: FromPath[str], event: FromPath[str], item: FromPath[int], id: FromPath[int]
) -> Response[None]:
    """Delete a variation; refused for the last one of its item and once it has been ordered."""

    def work(call: Call) -> None:
        target, base = scoped_item(call, organizer, event, item, PERMISSION)
        variation = call.get(ItemVariation, id, item_id=base.id)
        if ordered(call, "variation_id", variation.id):
            raise ApiError(403, "This variation cannot be deleted because it has already been ordered.")
        others = call.session.scalar(
            select(func.count())
            .select_from(ItemVariation)
            .where(ItemVariation.item_id == base.id, ItemVariation.id != variation.id)
        )
        if not others:
            raise ApiError(
                403,
                "This variation cannot be deleted because it is the only variation of its product; "
                "a product with variations cannot become one without.",
            )
        call.log(base, "boxoffice.event.item.variation.deleted", {"id": variation.id, "value": variation.value})
        base.variations.remove(variation)
        call.session.flush()
        item_changed(call, target)

    return await in_call(request, work, status_code=204)


ROUTES = [list_variations, get_variation, create_variation, update_variation, replace_variation, delete_variation]
