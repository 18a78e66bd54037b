"""Payments and refunds of one order (``…/orders/{code}/payments/`` and ``…/refunds/``): list, fetch, record, and
move them through their states. The state machines live in :mod:`boxoffice.kernel.orders.payments`; these
handlers parse, check permissions, call the service and shape the result."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy import select

from boxoffice.apps.api.errors import ApiError, FieldErrors, not_found
from boxoffice.apps.api.order_shape import PaymentOut, RefundOut, refund_out
from boxoffice.apps.api.resources.orders import BASE, LIST_RESOURCE, WRITE_PERMISSION, load_order, require_read, shaper
from boxoffice.apps.api.toolkit import Call, Page, decode_body, in_call, possible_id, utc
from boxoffice.hookspecs.providers import PaymentException
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.orders import Order, OrderPayment, OrderRefund
from boxoffice.kernel.orders import payments as service

ORDER = BASE + "{code:str}/"
PAYMENTS = ORDER + "payments/"
PAYMENT = PAYMENTS + "{local_id:int}/"
REFUNDS = ORDER + "refunds/"
REFUND = REFUNDS + "{local_id:int}/"


# --- request bodies ------------------------------------------------------------------------------------------------


class PaymentIn(msgspec.Struct, kw_only=True):
    amount: Decimal
    provider: str
    state: str = "created"
    payment_date: datetime | None = None
    info: dict[str, Any] | None = None
    send_email: bool = False


class ConfirmIn(msgspec.Struct, kw_only=True):
    send_email: bool = False
    force: bool = False


class PaymentRefundIn(msgspec.Struct, kw_only=True):
    amount: Decimal | None = None
    comment: str | None = None
    mark_canceled: bool = False


class RefundIn(msgspec.Struct, kw_only=True):
    amount: Decimal
    provider: str
    state: str = "created"
    source: str = "admin"
    payment: int | None = None
    execution_date: datetime | None = None
    comment: str | None = None
    info: dict[str, Any] | None = None
    mark_canceled: bool = False
    mark_pending: bool = False


class ProcessIn(msgspec.Struct, kw_only=True):
    mark_canceled: bool = False


class Empty(msgspec.Struct):
    pass


# --- lookups and shaping -------------------------------------------------------------------------------------------


def find_payment(call: Call, order: Order, local_id: int) -> OrderPayment:
    payment = next((p for p in order.payments if p.local_id == local_id), None) if possible_id(local_id) else None
    if payment is None:
        raise not_found()
    return payment


def find_refund(call: Call, order: Order, local_id: int) -> OrderRefund:
    refund = next((r for r in order.refunds if r.local_id == local_id), None) if possible_id(local_id) else None
    if refund is None:
        raise not_found()
    return refund


def payment_out(call: Call, event: Event, order: Order, payment: OrderPayment) -> PaymentOut:
    return shaper(call, event).payment(order, payment)


def changed(call: Call, event: Event) -> None:
    call.touch(event, LIST_RESOURCE)


# --- payments ------------------------------------------------------------------------------------------------------


@get(PAYMENTS, tags=["orders"])
async def list_payments(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str]
) -> Response[Page[PaymentOut]]:
    """The payments of an order, oldest first."""

    def work(call: Call) -> Page[PaymentOut]:
        target = call.event(organizer, event)
        require_read(call)
        order = load_order(call, target, code)
        shaped = shaper(call, target)
        return call.paginate(
            select(OrderPayment).where(OrderPayment.order_id == order.id),
            lambda payment: shaped.payment(order, payment),
            default_ordering=[OrderPayment.local_id],
        )

    return await in_call(request, work)


@get(PAYMENT, tags=["orders"])
async def get_payment(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str], local_id: FromPath[int]
) -> Response[PaymentOut]:
    """One payment by its number within the order."""

    def work(call: Call) -> PaymentOut:
        target = call.event(organizer, event)
        require_read(call)
        order = load_order(call, target, code)
        return payment_out(call, target, order, find_payment(call, order, local_id))

    return await in_call(request, work)


@post(PAYMENTS, tags=["orders"], status_code=201)
async def create_payment(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str]
) -> Response[PaymentOut]:
    """Record a payment (the provider is not contacted). A ``confirmed`` record counts at once: the order
    becomes paid when it is now covered, exactly as if a pending payment had been confirmed."""
    raw = await request.body()

    def work(call: Call) -> PaymentOut:
        target = call.event(organizer, event, WRITE_PERMISSION)
        data = decode_body(raw, PaymentIn)
        order = load_order(call, target, code)
        payment = service.record_payment(
            call.kernel,
            call.session,
            order,
            actor=call.principal.actor,
            provider=data.provider,
            amount=data.amount,
            state=data.state,
            payment_date=utc(data.payment_date) if data.payment_date is not None else None,
            info=data.info,
            send_email=data.send_email,
        )
        changed(call, target)
        return payment_out(call, target, order, payment)

    return await in_call(request, work, status_code=201)


@post(PAYMENT + "confirm/", tags=["orders"], status_code=200)
async def confirm_payment(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str], local_id: FromPath[int]
) -> Response[PaymentOut]:
    """Confirm a created or pending payment; ``force`` pays an expired order even when its quota is gone."""
    raw = await request.body()

    def work(call: Call) -> PaymentOut:
        target = call.event(organizer, event, WRITE_PERMISSION)
        data = decode_body(raw, ConfirmIn)
        order = load_order(call, target, code)
        payment = find_payment(call, order, local_id)
        service.confirm_payment(
            call.kernel, call.session, payment, actor=call.principal.actor, force=data.force, send_email=data.send_email
        )
        changed(call, target)
        return payment_out(call, target, order, payment)

    return await in_call(request, work)


@post(PAYMENT + "cancel/", tags=["orders"], status_code=200)
async def cancel_payment(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str], local_id: FromPath[int]
) -> Response[PaymentOut]:
    """Cancel a created or pending payment."""
    raw = await request.body()

    def work(call: Call) -> PaymentOut:
        target = call.event(organizer, event, WRITE_PERMISSION)
        decode_body(raw, Empty)
        order = load_order(call, target, code)
        payment = find_payment(call, order, local_id)
        service.cancel_payment(call.kernel, call.session, payment, actor=call.principal.actor)
        changed(call, target)
        return payment_out(call, target, order, payment)

    return await in_call(request, work)


class _RefundFailed(msgspec.Struct):
    message: str


@post(PAYMENT + "refund/", tags=["orders"], status_code=200)
async def refund_payment(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str], local_id: FromPath[int]
) -> Response[RefundOut]:
    """Refund (part of) a confirmed payment; ``amount`` defaults to all that is left of it. Providers that can
    send money back do so now; otherwise the refund is recorded as done by the organizer. A provider's refusal
    answers 400 and leaves a failed refund on record."""
    raw = await request.body()

    def work(call: Call) -> RefundOut | _RefundFailed:
        target = call.event(organizer, event, WRITE_PERMISSION)
        data = decode_body(raw, PaymentRefundIn)
        order = load_order(call, target, code)
        payment = find_payment(call, order, local_id)
        try:
            refund = service.refund_payment(
                call.kernel,
                call.session,
                payment,
                actor=call.principal.actor,
                amount=data.amount,
                comment=data.comment,
                mark_canceled=data.mark_canceled,
            )
        except PaymentException as problem:
            # Committed, unlike an exception: the failed attempt stays visible in the refund list.
            changed(call, target)
            return _RefundFailed(problem.message)
        changed(call, target)
        return refund_out(refund, order)

    response = await in_call(request, work)
    if isinstance(response.content, _RefundFailed):
        raise ApiError(400, f"The refund failed: {response.content.message}")
    return response  # type: ignore[return-value]


# --- refunds -------------------------------------------------------------------------------------------------------


@get(REFUNDS, tags=["orders"])
async def list_refunds(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str]
) -> Response[Page[RefundOut]]:
    """The refunds of an order, oldest first."""

    def work(call: Call) -> Page[RefundOut]:
        target = call.event(organizer, event)
        require_read(call)
        order = load_order(call, target, code)
        return call.paginate(
            select(OrderRefund).where(OrderRefund.order_id == order.id),
            lambda refund: refund_out(refund, order),
            default_ordering=[OrderRefund.local_id],
        )

    return await in_call(request, work)


@get(REFUND, tags=["orders"])
async def get_refund(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str], local_id: FromPath[int]
) -> Response[RefundOut]:
    """One refund by its number within the order."""

    def work(call: Call) -> RefundOut:
        target = call.event(organizer, event)
        require_read(call)
        order = load_order(call, target, code)
        return refund_out(find_refund(call, order, local_id), order)

    return await in_call(request, work)


@post(REFUNDS, tags=["orders"], status_code=201)
async def create_refund(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str]
) -> Response[RefundOut]:
    """Record a refund made outside boxoffice (amounts are not checked against the payments); ``payment`` is the
    order-local number of the payment it belongs to. ``mark_canceled`` cancels the order, ``mark_pending`` sets a
    paid order that is no longer covered back to pending."""
    raw = await request.body()

    def work(call: Call) -> RefundOut:
        target = call.event(organizer, event, WRITE_PERMISSION)
        data = decode_body(raw, RefundIn)
        order = load_order(call, target, code)
        payment = None
        if data.payment is not None:
            payment = next((p for p in order.payments if p.local_id == data.payment), None)
            if payment is None:
                raise FieldErrors.single(
                    "payment", f'Invalid payment "{data.payment}" - this order has no such payment.'
                )
        refund = service.create_refund(
            call.kernel,
            call.session,
            order,
            actor=call.principal.actor,
            amount=data.amount,
            provider=data.provider,
            state=data.state,
            source=data.source,
            payment=payment,
            execution_date=utc(data.execution_date) if data.execution_date is not None else None,
            comment=data.comment,
            info=data.info,
            mark_canceled=data.mark_canceled,
            mark_pending=data.mark_pending,
        )
        changed(call, target)
        return refund_out(refund, order)

    return await in_call(request, work, status_code=201)


@post(REFUND + "done/", tags=["orders"], status_code=200)
async def refund_done(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str], local_id: FromPath[int]
) -> Response[RefundOut]:
    """Mark a created or in-transit refund as done."""
    raw = await request.body()

    def work(call: Call) -> RefundOut:
        target = call.event(organizer, event, WRITE_PERMISSION)
        decode_body(raw, Empty)
        order = load_order(call, target, code)
        refund = find_refund(call, order, local_id)
        service.refund_done(call.kernel, call.session, refund, actor=call.principal.actor)
        changed(call, target)
        return refund_out(refund, order)

    return await in_call(request, work)


@post(REFUND + "process/", tags=["orders"], status_code=200)
async def process_refund(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str], local_id: FromPath[int]
) -> Response[RefundOut]:
    """Accept an external refund: it becomes done and the order is canceled (``mark_canceled``) or, when no
    longer covered, set back to pending."""
    raw = await request.body()

    def work(call: Call) -> RefundOut:
        target = call.event(organizer, event, WRITE_PERMISSION)
        data = decode_body(raw, ProcessIn)
        order = load_order(call, target, code)
        refund = find_refund(call, order, local_id)
        service.process_refund(
            call.kernel, call.session, refund, actor=call.principal.actor, mark_canceled=data.mark_canceled
        )
        changed(call, target)
        return refund_out(refund, order)

    return await in_call(request, work)


@post(REFUND + "cancel/", tags=["orders"], status_code=200)
async def cancel_refund(
    request: Request, organizer: FromPath[str], event: FromPath[str], code: FromPath[str], local_id: FromPath[int]
) -> Response[RefundOut]:
    """Cancel a created, in-transit or external refund."""
    raw = await request.body()

    def work(call: Call) -> RefundOut:
        target = call.event(organizer, event, WRITE_PERMISSION)
        decode_body(raw, Empty)
        order = load_order(call, target, code)
        refund = find_refund(call, order, local_id)
        service.cancel_refund(call.kernel, call.session, refund, actor=call.principal.actor)
        changed(call, target)
        return refund_out(refund, order)

    return await in_call(request, work)


ROUTES = [
    list_payments,
    get_payment,
    create_payment,
    confirm_payment,
    cancel_payment,
    refund_payment,
    list_refunds,
    get_refund,
    create_refund,
    refund_done,
    process_refund,
    cancel_refund,
]
