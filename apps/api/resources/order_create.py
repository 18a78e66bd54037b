"""Order creation: pretix's trusted import interface (``POST …/orders/``), with ``simulate`` for a dry run."""

from __future__ import annotations

from litestar import Request, Response, post
from litestar.params import FromPath, JSONBody

from boxoffice.apps.api.order_shape import OrderOut
from boxoffice.apps.api.resources.orders import BASE, WRITE_PERMISSION, shape_order, shaper
from boxoffice.apps.api.toolkit import Call, in_call
from boxoffice.kernel.orders.drafts import OrderDraft
from boxoffice.kernel.orders.placement import place_order


@post(BASE, tags=["orders"], status_code=201)
async def create_order(
    request: Request, organizer: FromPath[str], event: FromPath[str], data: JSONBody[OrderDraft]
) -> Response[OrderOut]:
    """Create an order. A trusted interface: prices sent are taken as they are, sale windows and per-order limits
    are not checked; quotas (unless ``force``), vouchers and answers are. ``simulate`` returns the order that
    would be created (code ``PREVIEW``, ids 0) without creating it."""

    def work(call: Call) -> OrderOut:
        target = call.event(organizer, event, WRITE_PERMISSION)
        if data.send_mail is not None and data.send_email is False:
            data.send_email = data.send_mail
        if data.simulate:
            order = place_order(call.kernel, call.session, target, data, actor=call.principal.actor)
            return shaper(call, target, zero_ids=True).order(order)
        with call.kernel.db.writer():
            order = place_order(call.kernel, call.session, target, data, actor=call.principal.actor)
            # Release the quota locks before building the response. (No list change marker: the order list's
            # Last-Modified comes from the orders' own timestamps, so buyers never queue on one event-wide row.)
            call.session.commit()
        # The placed order comes back with its rows attached: no need to read it again.
        return shape_order(call, target, order, new=True)

    return await in_call(request, work, status_code=201)


ROUTES = [create_order]
