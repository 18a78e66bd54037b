"""Orders: fetch one order by code (and the helpers other order resources share: permission check, loading,
shaping)."""

from __future__ import annotations

from litestar import Request, Response, get
from litestar.params import FromPath
from sqlalchemy import select

from boxoffice.apps.api.errors import forbidden, not_found
from boxoffice.apps.api.order_shape import OrderOut, OrderShaper, eager_order_options
from boxoffice.apps.api.toolkit import Call, in_call, parse_bool
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.orders import Order
from boxoffice.kernel.orders.providers import payment_providers

READ_PERMISSIONS = ("event.orders:read", "event.orders:write")
WRITE_PERMISSION = "event.orders:write"
LIST_RESOURCE = "orders"
BASE = "/api/v1/organizers/{organizer:str}/events/{event:str}/orders/"


def require_read(call: Call) -> None:
    if not any(call.principal.has_event_permission(permission) for permission in READ_PERMISSIONS):
        raise forbidden()


def shaper(call: Call, event: Event, **options: bool) -> OrderShaper:
    """The order representation for this call, honouring ``include_canceled_positions``/``_fees``."""
    return OrderShaper(
        call.session,
        event,
        call.kernel.config.site_url,
        payment_providers(call.kernel, call.session, event),
        include_canceled_positions=bool(parse_bool(call.query, "include_canceled_positions")),
        include_canceled_fees=bool(parse_bool(call.query, "include_canceled_fees")),
        **options,
    )


def load_order(call: Call, event: Event, code: str) -> Order:
    """The event's order with this code and everything its representation needs; 404 otherwise."""
    order = call.session.scalar(
        select(Order).where(Order.event_id == event.id, Order.code == code).options(*eager_order_options())
    )
    if order is None:
        raise not_found()
    return order


def shape_order(call: Call, event: Event, order: Order, **options: bool) -> OrderOut:
    shaped = shaper(call, event, **options)
    shaped.prepare_orders([order])
    return shaped.order(order)


@get(BASE + "{code:str}/", tags=["orders"])
async def get_order(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str]
) -> Response[OrderOut]:
    """One order by code; ``include_canceled_positions`` / ``include_canceled_fees`` show canceled parts."""

    def work(call: Call) -> OrderOut:
        target = call.event(organizer, event)
        require_read(call)
        return shape_order(call, target, load_order(call, target, code))

    return await in_call(request, work)


ROUTES = [get_order]
