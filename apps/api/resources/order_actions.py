"""Order actions: pretix's endpoints that move an order through its life cycle (``mark_paid``, ``mark_canceled``,
``reactivate``, ``mark_pending``, ``mark_expired``, ``extend``, ``approve``, ``deny``), ``resend_link``, new
secrets for an order or one position, and deleting test-mode orders.

The transitions themselves live in :mod:`boxoffice.kernel.orders.lifecycle`; a handler here parses the body,
checks ``event.orders:write``, calls the service and answers the order as ``GET`` shows it (pretix does the same).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

import msgspec
from litestar import Request, Response, delete, post
from litestar.params import FromPath

from boxoffice.apps.api.errors import ApiError, FieldErrors
from boxoffice.apps.api.order_shape import OrderOut, PositionOut
from boxoffice.apps.api.resources.orderpositions import POSITION_DETAIL, load_position, shape_position
from boxoffice.apps.api.resources.orders import BASE, LIST_RESOURCE, WRITE_PERMISSION, load_order, shape_order
from boxoffice.apps.api.toolkit import Call, decode_body, in_call
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.orders import Order
from boxoffice.kernel.orders import lifecycle

ORDER = BASE + "{code:str}/"


class MarkPaidIn(msgspec.Struct, kw_only=True):
    send_email: bool = True
    # Not in pretix's documentation of this endpoint: overbook when paying an expired order whose quota is full.
    force: bool = False


class CancelIn(msgspec.Struct, kw_only=True):
    send_email: bool = True
    comment: str | None = None
    cancellation_fee: Decimal | None = None


class ExtendIn(msgspec.Struct, kw_only=True):
    # A date ("2017-10-28"); a datetime is accepted too and only its date is used.
    expires: str
    force: bool = False


class ApproveIn(msgspec.Struct, kw_only=True):
    send_email: bool = True


class DenyIn(msgspec.Struct, kw_only=True):
    send_email: bool = True
    comment: str | None = None


def parse_day(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        raise FieldErrors.single(field, "Date has wrong format. Use YYYY-MM-DD.") from None


async def act(
    request: Request, organizer: str, event: str, code: str, operate: Callable[[Call, Event, Order], None]
) -> Response[OrderOut]:
    """Run one action on the order ``code`` of the event and answer the order as it is afterwards."""

    def work(call: Call) -> OrderOut:
        target = call.event(organizer, event, WRITE_PERMISSION)
        order = load_order(call, target, code)
        operate(call, target, order)
        call.touch(target, LIST_RESOURCE)
        return shape_order(call, target, load_order(call, target, code, refresh=True))

    return await in_call(request, work)


@post(ORDER + "mark_paid/", tags=["orders"], status_code=200)
async def mark_paid(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str]
) -> Response[OrderOut]:
    """Mark a pending or expired order as paid: open payment attempts are canceled and a confirmed ``manual``
    payment records the open amount. An expired order needs its quota back: 400 when it is full (``force``
    overbooks), 409 when the quota or order could not be locked in time (retry)."""
    raw = await request.body()

    def operate(call: Call, _event: Event, order: Order) -> None:
        body = decode_body(raw, MarkPaidIn)
        lifecycle.mark_paid(
            call.kernel, call.session, order, actor=call.principal.actor, force=body.force, send_email=body.send_email
        )

    return await act(request, organizer, event, code, operate)


@post(ORDER + "mark_pending/", tags=["orders"], status_code=200)
async def mark_pending(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str]
) -> Response[OrderOut]:
    """Set a paid order back to pending (payments stay as they are)."""
    return await act(
        request,
        organizer,
        event,
        code,
        lambda call, _event, order: lifecycle.mark_pending(
            call.kernel, call.session, order, actor=call.principal.actor
        ),
    )


@post(ORDER + "mark_expired/", tags=["orders"], status_code=200)
async def mark_expired(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str]
) -> Response[OrderOut]:
    """Expire a pending order now; its quota and vouchers are released."""
    return await act(
        request,
        organizer,
        event,
        code,
        lambda call, _event, order: lifecycle.mark_expired(
            call.kernel, call.session, order, actor=call.principal.actor
        ),
    )


@post(ORDER + "mark_canceled/", tags=["orders"], status_code=200)
async def mark_canceled(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str]
) -> Response[OrderOut]:
    """Cancel a pending, paid or expired order. With ``cancellation_fee`` (at most the amount paid) the order stays
    paid with that fee as its only content; ``comment`` is the message to the buyer; ``send_email`` defaults to
    true."""
    raw = await request.body()

    def operate(call: Call, _event: Event, order: Order) -> None:
        body = decode_body(raw, CancelIn)
        lifecycle.mark_canceled(
            call.kernel,
            call.session,
            order,
            actor=call.principal.actor,
            send_email=body.send_email,
            comment=body.comment,
            cancellation_fee=body.cancellation_fee,
        )

    return await act(request, organizer, event, code, operate)


@post(ORDER + "reactivate/", tags=["orders"], status_code=200)
async def reactivate(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str]
) -> Response[OrderOut]:
    """Undo a cancellation if every product is still available (400 otherwise); the order becomes pending, or
    paid when its payments still cover the total."""
    return await act(
        request,
        organizer,
        event,
        code,
        lambda call, _event, order: lifecycle.reactivate(call.kernel, call.session, order, actor=call.principal.actor),
    )


@post(ORDER + "extend/", tags=["orders"], status_code=200)
async def extend(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str]
) -> Response[OrderOut]:
    """Move the payment deadline to the end of ``expires`` (a date, event time zone). An expired order becomes
    pending again if its quota allows (``force`` overbooks)."""
    raw = await request.body()

    def operate(call: Call, _event: Event, order: Order) -> None:
        body = decode_body(raw, ExtendIn)
        day = parse_day(body.expires, "expires")
        lifecycle.extend(call.kernel, call.session, order, day, actor=call.principal.actor, force=body.force)

    return await act(request, organizer, event, code, operate)


@post(ORDER + "approve/", tags=["orders"], status_code=200)
async def approve(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str]
) -> Response[OrderOut]:
    """Approve an order awaiting approval; free orders become paid at once."""
    raw = await request.body()

    def operate(call: Call, _event: Event, order: Order) -> None:
        body = decode_body(raw, ApproveIn)
        lifecycle.approve(call.kernel, call.session, order, actor=call.principal.actor, send_email=body.send_email)

    return await act(request, organizer, event, code, operate)


@post(ORDER + "deny/", tags=["orders"], status_code=200)
async def deny(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str]
) -> Response[OrderOut]:
    """Deny an order awaiting approval: it is canceled and keeps ``require_approval: true``."""
    raw = await request.body()

    def operate(call: Call, _event: Event, order: Order) -> None:
        body = decode_body(raw, DenyIn)
        lifecycle.deny(
            call.kernel,
            call.session,
            order,
            actor=call.principal.actor,
            send_email=body.send_email,
            comment=body.comment,
        )

    return await act(request, organizer, event, code, operate)


@post(ORDER + "regenerate_secrets/", tags=["orders"], status_code=200)
async def regenerate_secrets(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str]
) -> Response[OrderOut]:
    """New secrets for the order (its link) and all its tickets; the old ticket secrets are listed as revoked."""
    return await act(
        request,
        organizer,
        event,
        code,
        lambda call, _event, order: lifecycle.regenerate_secrets(
            call.kernel, call.session, order, actor=call.principal.actor
        ),
    )


@post(ORDER + "resend_link/", tags=["orders"], status_code=204)
async def resend_link(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str]
) -> Response[None]:
    """E-mail the buyer the link to their order (queued in the mail outbox and sent right after); 503 when no mail
    server is configured for the event, 400 for an order without an e-mail address."""

    def work(call: Call) -> None:
        target = call.event(organizer, event, WRITE_PERMISSION)
        order = load_order(call, target, code)
        try:
            lifecycle.resend_link(call.kernel, call.session, order, actor=call.principal.actor)
        except lifecycle.MailUnavailable as problem:
            raise ApiError(503, str(problem)) from None

    return await in_call(request, work, status_code=204)


@delete(ORDER, tags=["orders"], status_code=204)
async def delete_order(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str]
) -> Response[None]:
    """Delete a test-mode order (403 for any other: real orders are canceled, never deleted)."""

    def work(call: Call) -> None:
        target = call.event(organizer, event, WRITE_PERMISSION)
        order = load_order(call, target, code)
        try:
            lifecycle.delete_order(call.kernel, call.session, order, actor=call.principal.actor)
        except lifecycle.NotDeletable as problem:
            raise ApiError(403, str(problem)) from None
        call.touch(target, LIST_RESOURCE)

    return await in_call(request, work, status_code=204)


@post(POSITION_DETAIL + "regenerate_secrets/", tags=["orders"], status_code=200)
async def regenerate_position_secrets(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int]
) -> Response[PositionOut]:
    """New ticket secret (and web secret) for one position; the old one is listed as revoked."""

    def work(call: Call) -> PositionOut:
        target = call.event(organizer, event, WRITE_PERMISSION)
        position = load_position(call, target, id)
        lifecycle.regenerate_position_secrets(call.kernel, call.session, position, actor=call.principal.actor)
        call.touch(target, LIST_RESOURCE)
        return shape_position(call, target, load_position(call, target, id))

    return await in_call(request, work)


ROUTES = [
    mark_paid,
    mark_pending,
    mark_expired,
    mark_canceled,
    reactivate,
    extend,
    approve,
    deny,
    regenerate_secrets,
    resend_link,
    delete_order,
    regenerate_position_secrets,
]
