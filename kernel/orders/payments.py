"""Payments and refunds: the credit side of an order, and the status changes money causes.

A payment (:class:`~boxoffice.kernel.models.orders.OrderPayment`) is one attempt to collect an amount through one
provider; a refund (:class:`~boxoffice.kernel.models.orders.OrderRefund`) one attempt to send money back. Both are
append-only rows with their own state machines::

    payment: created ─┬─> pending ─┬─> confirmed ──> refunded (once refunds of it reach its amount)
                      │            ├─> canceled
                      └────────────┴─> failed
    refund:  created/transit ──> done | canceled | failed;  external ──> done (process) | canceled

Money moves an order forward only: when the confirmed payments less the completed refunds cover the order total,
a pending or expired order becomes paid. A paid order whose payments later drop below its total (a refund, a
price increase) is *not* set back to pending automatically, because only the organizer can tell whether the buyer
still owes the money; they do that explicitly (``mark_pending``, or ``process`` on an external refund).

Every function here works inside the caller's unit of work, audit-logs what it did and brings the ledger up to
date; the REST API, jobs and payment plugins all go through them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import NO_VALUE

from boxoffice.hookspecs.providers import PaymentException, PaymentProvider
from boxoffice.kernel import clock
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.models.orders import (
    REFUND_SOURCES,
    REFUND_STATES,
    STATUS_CANCELED,
    STATUS_EXPIRED,
    STATUS_PAID,
    STATUS_PENDING,
    Order,
    OrderPayment,
    OrderRefund,
)
from boxoffice.kernel.models.quotas import Quota
from boxoffice.kernel.models.vouchers import Voucher
from boxoffice.kernel.orders import quotas
from boxoffice.kernel.orders.errors import OrderError
from boxoffice.kernel.orders.ledger import record_transactions
from boxoffice.kernel.orders.pricing import money_problem
from boxoffice.kernel.orders.providers import payment_providers
from boxoffice.kernel.orders.vouchers import budget_exceeded, take_uses

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel

ZERO = Decimal("0.00")

# Payment states whose money the organizer holds (a refunded payment's money is accounted for by its refunds).
COUNTED_PAYMENT_STATES = ("confirmed", "refunded")
OPEN_PAYMENT_STATES = ("created", "pending")
# Refund states whose money has left or is leaving: a payment cannot be refunded twice for it.
RESERVED_REFUND_STATES = ("created", "transit", "external", "done")
OPEN_REFUND_STATES = ("created", "transit")


# --- reading balances ------------------------------------------------------------------------------------------


def paid_amount(order: Order) -> Decimal:
    """Confirmed payments less completed refunds: what the organizer currently holds for ``order``."""
    received = sum((Decimal(p.amount) for p in order.payments if p.state in COUNTED_PAYMENT_STATES), ZERO)
    returned = sum((Decimal(r.amount) for r in order.refunds if r.state == "done"), ZERO)
    return received - returned


def pending_amount(order: Order) -> Decimal:
    """What the buyer still owes (zero or negative when the order is covered or overpaid)."""
    return Decimal(order.total) - paid_amount(order)


def refundable_amount(payment: OrderPayment) -> Decimal:
    """What may still be refunded of ``payment``: its amount less refunds of it that are done or under way."""
    reserved = sum(
        (
            Decimal(r.amount)
            for r in payment.order.refunds
            if r.payment_id == payment.id and r.state in RESERVED_REFUND_STATES
        ),
        ZERO,
    )
    return Decimal(payment.amount) - reserved


# --- locking and numbering ------------------------------------------------------------------------------------


def lock_order(session: Session, order: Order) -> Order:
    """Take the order's row lock and reload the order with its payments and refunds as committed by whoever held
    the lock before, so two payments confirmed at once cannot both see the order unpaid, and two new payments or
    refunds cannot take the same local id.

    PostgreSQL locks the row (``SELECT … FOR UPDATE``). SQLite has no row locks, so the row is written instead:
    that takes the database's write lock, which serialises writers for the rest of the transaction.
    """
    session.flush()
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(Order)
            .where(Order.id == order.id)
            .values(last_modified=Order.last_modified)
            .execution_options(synchronize_session=False)
        )
    else:
        session.execute(select(Order.id).where(Order.id == order.id).with_for_update())
    # Rows loaded before the lock may be stale: have the reload below overwrite them.
    state = inspect(order)
    for name in ("payments", "refunds"):
        loaded = state.attrs[name].loaded_value
        if loaded is not NO_VALUE:
            for row in loaded:
                session.expire(row)
    session.refresh(order, ["status", "total", "require_approval", "payments", "refunds"])
    return order


def _next_local_id(session: Session, model: type[OrderPayment] | type[OrderRefund], order: Order) -> int:
    highest = session.scalar(select(func.max(model.local_id)).where(model.order_id == order.id))
    return int(highest or 0) + 1


# --- payments --------------------------------------------------------------------------------------------------


def create_payment(
    session: Session,
    order: Order,
    *,
    provider: str,
    amount: Decimal,
    state: str = "created",
    info: dict[str, Any] | None = None,
    payment_date: datetime | None = None,
) -> OrderPayment:
    """Add a payment attempt (next local id) to ``order`` without contacting the provider or changing the order.

    To record money that already arrived, create it ``created`` and then :func:`confirm_payment` it, which
    also moves the order to paid when it is now covered.
    """
    lock_order(session, order)
    payment = OrderPayment(
        order_id=order.id,
        local_id=_next_local_id(session, OrderPayment, order),
        state=state,
        amount=amount,
        created=clock.now(),
        payment_date=payment_date,
        provider=provider,
        info=info or {},
    )
    session.add(payment)
    session.flush()
    session.refresh(order, ["payments"])
    order.last_modified = clock.now()
    return payment


def confirm_payment(
    kernel: Kernel,
    session: Session,
    payment: OrderPayment,
    *,
    actor: Actor,
    force: bool = False,
    send_email: bool = False,
) -> None:
    """Record that the money of a ``created`` or ``pending`` payment arrived.

    If the order's confirmed payments less completed refunds now cover its total, a pending (``n``) or expired
    (``e``) order that does not await approval becomes paid (``p``) and ``order_paid`` fires. An expired order
    gave its quota back, so it must take it again: unless ``force``, a sold-out quota refuses the whole operation
    with :class:`OrderError` (the caller rolls back; the payment stays unconfirmed). Its vouchers are redeemed
    again too. Confirming on a paid or canceled order just records the money (an overpayment to settle by refund).
    """
    order = lock_order(session, payment.order)
    session.refresh(payment, ["state"])
    if payment.state not in OPEN_PAYMENT_STATES:
        raise OrderError(f'Only payments in state "created" or "pending" can be confirmed, not "{payment.state}".')
    now = clock.now()
    payment.state = "confirmed"
    if payment.payment_date is None:
        payment.payment_date = now
    order.last_modified = now
    kernel.log_action(
        session,
        order,
        "boxoffice.event.order.payment.confirmed",
        actor=actor,
        data={
            "local_id": payment.local_id,
            "provider": payment.provider,
            "amount": str(payment.amount),
            "send_email": send_email,
            "force": force,
        },
    )
    if (
        order.status in (STATUS_PENDING, STATUS_EXPIRED)
        and not order.require_approval
        and paid_amount(order) >= Decimal(order.total)
    ):
        _mark_paid(kernel, session, order, actor=actor, force=force, send_email=send_email, payment=payment)
    record_transactions(session, order)


RECORDABLE_PAYMENT_STATES = ("created", "pending", "confirmed", "canceled", "failed")


def record_payment(
    kernel: Kernel,
    session: Session,
    order: Order,
    *,
    actor: Actor,
    provider: str,
    amount: Decimal,
    state: str = "created",
    payment_date: datetime | None = None,
    info: dict[str, Any] | None = None,
    send_email: bool = False,
) -> OrderPayment:
    """Record a payment made outside the provider's own flow (the provider is not contacted), audit-logged.

    ``state`` is one of :data:`RECORDABLE_PAYMENT_STATES` (``refunded`` only ever follows from refunds) and
    ``provider`` must be one of the event's. A ``confirmed`` record is created and then confirmed, so it pays the
    order exactly as a confirmation would — and is refused the same way for an expired order without quota.
    """
    problems = _Problems()
    if state not in RECORDABLE_PAYMENT_STATES:
        problems.add("state", f'"{state}" is not a valid choice.')
    amount = Decimal(amount)
    if money_problem(amount):
        problems.add("amount", money_problem(amount))
    if provider_for(kernel, session, order, provider) is None:
        problems.add("provider", "The given payment provider is not known.")
    problems.raise_if_any()
    payment = create_payment(
        session,
        order,
        provider=provider,
        amount=amount,
        state="created" if state == "confirmed" else state,
        info=info,
        payment_date=payment_date,
    )
    kernel.log_action(
        session,
        order,
        "boxoffice.event.order.payment.created",
        actor=actor,
        data={"local_id": payment.local_id, "provider": provider, "amount": str(amount), "state": state},
    )
    if state == "confirmed":
        confirm_payment(kernel, session, payment, actor=actor, send_email=send_email)
    else:
        record_transactions(session, order)
    return payment


class _Problems:
    """Field errors collected so that one refusal names every bad field."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise OrderError(errors=dict(self.errors))


def _mark_paid(
    kernel: Kernel,
    session: Session,
    order: Order,
    *,
    actor: Actor,
    force: bool,
    send_email: bool,
    payment: OrderPayment | None,
) -> None:
    was_expired = order.status == STATUS_EXPIRED
    order.status = STATUS_PAID
    order.last_modified = clock.now()
    if was_expired:
        retake_capacity(session, order, force=force)
    kernel.log_action(
        session,
        order,
        "boxoffice.event.order.paid",
        actor=actor,
        data={
            "provider": payment.provider if payment is not None else None,
            "local_id": payment.local_id if payment is not None else None,
            "send_email": send_email,
            "force": force,
            "from_status": STATUS_EXPIRED if was_expired else STATUS_PENDING,
        },
    )
    record_transactions(session, order)
    kernel.plugins.for_event(order.event).order_paid(event=order.event, order=order, session=session)
    from boxoffice.kernel import invoicing  # imported here: the invoice service builds on this module

    invoicing.on_order_paid(kernel, session, order)


def retake_capacity(session: Session, order: Order, *, force: bool) -> None:
    """Let an order that had released its quota and vouchers (expired) hold them again; call it after setting
    its new quota-holding status. Unless ``force``, refuse with :class:`OrderError` when a quota or voucher
    has no room left."""
    positions = order.live_positions
    keys: list[quotas.ProductKey] = [(p.item_id, p.variation_id, p.subevent_id) for p in positions]
    by_product: dict[quotas.ProductKey, list[Quota]] = {}
    if not force and keys:
        by_product = quotas.quotas_by_product(session, order.event_id, keys)
        if any(not by_product.get(key) for key in keys):
            raise OrderError("There is not enough quota available: a product of this order is not on sale anymore.")
    # Vouchers first, quotas last: the lock order every capacity-taking operation uses (no deadlocks with buyers).
    uses = Counter(p.voucher_id for p in positions if p.voucher_id is not None)
    now = clock.now()
    for voucher_id in sorted(uses):
        if not take_uses(session, voucher_id, uses[voucher_id], now=now, force=force):
            raise OrderError("A voucher used in this order has already been redeemed in the meantime.")
        voucher = session.get(Voucher, voucher_id)
        if not force and voucher is not None and budget_exceeded(session, voucher):
            raise OrderError("The budget of a voucher used in this order has been used up in the meantime.")
    if not force and keys:
        quotas.verify(session, quotas.demand(keys, by_product))


def cancel_payment(kernel: Kernel, session: Session, payment: OrderPayment, *, actor: Actor) -> None:
    """Give up a ``created`` or ``pending`` payment. The provider voids it first (``cancel_payment``); when the
    processor refuses, :class:`OrderError` carries its message and the payment keeps its state."""
    order = lock_order(session, payment.order)
    session.refresh(payment, ["state"])
    if payment.state not in OPEN_PAYMENT_STATES:
        raise OrderError(f'Only payments in state "created" or "pending" can be canceled, not "{payment.state}".')
    provider = provider_for(kernel, session, order, payment.provider)
    if provider is not None:
        try:
            with provider_step(kernel, session, actor):
                provider.cancel_payment(payment)
        except PaymentException as problem:
            raise OrderError(problem.message) from None
    payment.state = "canceled"
    order.last_modified = clock.now()
    kernel.log_action(
        session,
        order,
        "boxoffice.event.order.payment.canceled",
        actor=actor,
        data={"local_id": payment.local_id, "provider": payment.provider, "amount": str(payment.amount)},
    )
    record_transactions(session, order)


def fail_payment(
    kernel: Kernel, session: Session, payment: OrderPayment, *, actor: Actor, message: str | None = None
) -> None:
    """Record that a ``created`` or ``pending`` payment did not succeed (declined card, aborted redirect…)."""
    order = lock_order(session, payment.order)
    session.refresh(payment, ["state"])
    if payment.state not in OPEN_PAYMENT_STATES:
        raise OrderError(f'Only payments in state "created" or "pending" can fail, not "{payment.state}".')
    payment.state = "failed"
    order.last_modified = clock.now()
    kernel.log_action(
        session,
        order,
        "boxoffice.event.order.payment.failed",
        actor=actor,
        data={"local_id": payment.local_id, "provider": payment.provider, "message": message or ""},
    )
    record_transactions(session, order)


def execute_payment(kernel: Kernel, session: Session, payment: OrderPayment, *, actor: Actor) -> str | None:
    """Let the payment's provider try to collect it (``execute_payment``); return the URL the buyer must visit next,
    if any. A provider confirms from inside with :func:`mark_confirmed`.

    On :class:`PaymentException` the payment is marked failed *in this session* and the exception is raised again:
    commit before reporting the message if the failed attempt should stay on record.
    """
    provider = provider_for(kernel, session, payment.order, payment.provider)
    if provider is None:
        raise OrderError(f'The payment provider "{payment.provider}" is not available for this event.')
    try:
        with provider_step(kernel, session, actor):
            return provider.execute_payment(payment)
    except PaymentException as problem:
        fail_payment(kernel, session, payment, actor=actor, message=problem.message)
        raise


# --- refunds ---------------------------------------------------------------------------------------------------


def refund_payment(
    kernel: Kernel,
    session: Session,
    payment: OrderPayment,
    *,
    actor: Actor,
    amount: Decimal | None = None,
    comment: str | None = None,
    mark_canceled: bool = False,
    source: str = "admin",
) -> OrderRefund:
    """Refund (part of) a confirmed payment; return the new refund.

    ``amount`` defaults to everything still refundable of the payment and may not exceed it. When the provider
    says it can send this money back automatically (``payment_refund_supported`` for the whole amount,
    ``payment_partial_refund_supported`` for a part) its ``execute_refund`` runs and marks the refund done (or
    leaves it ``created``/``transit`` while the processor works). Otherwise the organizer has sent the money
    themselves and the refund is recorded as ``done`` at once. ``mark_canceled`` cancels the order afterwards.

    On :class:`PaymentException` from the provider the refund is marked failed in this session and the exception
    is raised again (commit first to keep the failed attempt on record).
    """
    order = lock_order(session, payment.order)
    session.refresh(payment, ["state"])
    if payment.state != "confirmed":
        raise OrderError(f'Only confirmed payments can be refunded; this one is "{payment.state}".')
    available = refundable_amount(payment)
    amount = available if amount is None else Decimal(amount)
    if not amount.is_finite() or amount <= ZERO or amount > available:
        raise OrderError.field("amount", f"The refund amount must be more than 0.00 and at most {available}.")
    provider = provider_for(kernel, session, order, payment.provider)
    whole = amount == Decimal(payment.amount)
    automatic = provider is not None and (
        provider.payment_refund_supported(payment) if whole else provider.payment_partial_refund_supported(payment)
    )
    now = clock.now()
    refund = _add_refund(
        session,
        order,
        state="created" if automatic else "done",
        source=source,
        amount=amount,
        payment=payment,
        provider=payment.provider,
        comment=comment,
        execution_date=None if automatic else now,
    )
    _log_refund(kernel, session, refund, "created", actor, automatic=automatic)
    if automatic and provider is not None:
        try:
            with provider_step(kernel, session, actor):
                provider.execute_refund(refund)
        except PaymentException as problem:
            fail_refund(kernel, session, refund, actor=actor, message=problem.message)
            raise
    else:
        _log_refund(kernel, session, refund, "done", actor)
    _settle(payment)
    if mark_canceled:
        cancel_order_for_refund(kernel, session, order, actor=actor)
    record_transactions(session, order)
    return refund


def create_refund(
    kernel: Kernel,
    session: Session,
    order: Order,
    *,
    actor: Actor,
    amount: Decimal,
    provider: str,
    state: str = "created",
    source: str = "admin",
    payment: OrderPayment | None = None,
    execution_date: datetime | None = None,
    comment: str | None = None,
    info: dict[str, Any] | None = None,
    mark_canceled: bool = False,
    mark_pending: bool = False,
) -> OrderRefund:
    """Record a refund that happened (or is happening) outside boxoffice, e.g. cash handed back at the desk.

    Nothing is sent anywhere and the amount is not checked against the payments (it must be above zero);
    ``provider`` must be one of the event's. A ``done`` refund marks the
    payment it belongs to ``refunded`` once that payment is fully refunded. ``mark_canceled`` then cancels the
    order; ``mark_pending`` sets a paid order back to pending when it is no longer covered.
    """
    problems = _Problems()
    if state not in REFUND_STATES:
        problems.add("state", f'"{state}" is not a valid choice.')
    if source not in REFUND_SOURCES:
        problems.add("source", f'"{source}" is not a valid choice.')
    amount = Decimal(amount)
    if money_problem(amount):
        problems.add("amount", money_problem(amount))
    elif amount <= ZERO:
        problems.add("amount", "The refund amount must be more than 0.00.")
    if payment is not None and payment.order_id != order.id:
        problems.add("payment", "The payment does not belong to this order.")
    if provider_for(kernel, session, order, provider) is None:
        problems.add("provider", "The given payment provider is not known.")
    problems.raise_if_any()
    if mark_canceled and mark_pending:
        raise OrderError("A refund cannot both cancel the order and set it back to pending.")
    lock_order(session, order)
    refund = _add_refund(
        session,
        order,
        state=state,
        source=source,
        amount=amount,
        payment=payment,
        provider=provider,
        comment=comment,
        execution_date=execution_date or (clock.now() if state == "done" else None),
        info=info,
    )
    _log_refund(kernel, session, refund, "created", actor, automatic=False)
    if payment is not None:
        _settle(payment)
    if mark_canceled:
        cancel_order_for_refund(kernel, session, order, actor=actor)
    elif mark_pending:
        pending_after_refund(kernel, session, order, actor=actor)
    record_transactions(session, order)
    return refund


def refund_done(kernel: Kernel, session: Session, refund: OrderRefund, *, actor: Actor) -> None:
    """The money of a ``created`` or ``transit`` refund arrived at the buyer."""
    order = lock_order(session, refund.order)
    session.refresh(refund, ["state"])
    if refund.state not in OPEN_REFUND_STATES:
        raise OrderError(f'Only refunds in state "created" or "transit" can be marked done, not "{refund.state}".')
    _finish_refund(kernel, session, order, refund, actor)
    record_transactions(session, order)


def process_refund(
    kernel: Kernel, session: Session, refund: OrderRefund, *, actor: Actor, mark_canceled: bool = False
) -> None:
    """Accept an ``external`` refund (money the buyer got back outside boxoffice, e.g. a chargeback): it becomes
    done, and the order is canceled (``mark_canceled``) or, if it was paid and is no longer covered, set back to
    pending so the buyer is asked to pay again."""
    order = lock_order(session, refund.order)
    session.refresh(refund, ["state"])
    if refund.state != "external":
        raise OrderError(f'Only refunds in state "external" can be processed, not "{refund.state}".')
    _finish_refund(kernel, session, order, refund, actor)
    if mark_canceled:
        cancel_order_for_refund(kernel, session, order, actor=actor)
    else:
        pending_after_refund(kernel, session, order, actor=actor)
    record_transactions(session, order)


def cancel_refund(kernel: Kernel, session: Session, refund: OrderRefund, *, actor: Actor) -> None:
    """Drop a refund that will not happen (``created``, ``transit`` or ``external``)."""
    order = lock_order(session, refund.order)
    session.refresh(refund, ["state"])
    if refund.state not in (*OPEN_REFUND_STATES, "external"):
        raise OrderError(
            f'Only refunds in state "created", "transit" or "external" can be canceled, not "{refund.state}".'
        )
    refund.state = "canceled"
    order.last_modified = clock.now()
    _log_refund(kernel, session, refund, "canceled", actor)
    record_transactions(session, order)


def fail_refund(
    kernel: Kernel, session: Session, refund: OrderRefund, *, actor: Actor, message: str | None = None
) -> None:
    """The processor could not send a ``created`` or ``transit`` refund; its money counts as refundable again."""
    order = lock_order(session, refund.order)
    session.refresh(refund, ["state"])
    if refund.state not in OPEN_REFUND_STATES:
        raise OrderError(f'Only refunds in state "created" or "transit" can fail, not "{refund.state}".')
    refund.state = "failed"
    order.last_modified = clock.now()
    _log_refund(kernel, session, refund, "failed", actor, message=message or "")
    record_transactions(session, order)


def _add_refund(
    session: Session,
    order: Order,
    *,
    state: str,
    source: str,
    amount: Decimal,
    payment: OrderPayment | None,
    provider: str,
    comment: str | None,
    execution_date: datetime | None,
    info: dict[str, Any] | None = None,
) -> OrderRefund:
    refund = OrderRefund(
        order_id=order.id,
        local_id=_next_local_id(session, OrderRefund, order),
        state=state,
        source=source,
        amount=amount,
        created=clock.now(),
        execution_date=execution_date,
        provider=provider,
        comment=comment,
        info=info or {},
        payment_id=payment.id if payment is not None else None,
    )
    session.add(refund)
    session.flush()
    session.refresh(order, ["refunds"])
    order.last_modified = clock.now()
    return refund


def _finish_refund(kernel: Kernel, session: Session, order: Order, refund: OrderRefund, actor: Actor) -> None:
    refund.state = "done"
    if refund.execution_date is None:
        refund.execution_date = clock.now()
    order.last_modified = clock.now()
    _log_refund(kernel, session, refund, "done", actor)
    payment = next((p for p in order.payments if p.id == refund.payment_id), None)
    if payment is not None:
        _settle(payment)


def _settle(payment: OrderPayment) -> None:
    """A confirmed payment whose done refunds reach its amount is ``refunded``."""
    returned = sum(
        (Decimal(r.amount) for r in payment.order.refunds if r.payment_id == payment.id and r.state == "done"), ZERO
    )
    if payment.state == "confirmed" and returned >= Decimal(payment.amount):
        payment.state = "refunded"


def _log_refund(kernel: Kernel, session: Session, refund: OrderRefund, what: str, actor: Actor, **extra: Any) -> None:
    kernel.log_action(
        session,
        refund.order,
        f"boxoffice.event.order.refund.{what}",
        actor=actor,
        data={
            "local_id": refund.local_id,
            "state": refund.state,
            "source": refund.source,
            "provider": refund.provider,
            "amount": str(refund.amount),
            **extra,
        },
    )


# --- providers ---------------------------------------------------------------------------------------------------


def provider_for(kernel: Kernel, session: Session, order: Order, identifier: str) -> PaymentProvider | None:
    """The provider ``identifier`` as configured for the order's event, or ``None`` when no active plugin offers it
    (a payment recorded for a provider that has since been switched off)."""
    return payment_providers(kernel, session, order.event).get(identifier)


@dataclass(frozen=True)
class _Step:
    kernel: Kernel
    session: Session
    actor: Actor


_current_step: ContextVar[_Step | None] = ContextVar("boxoffice_payment_step", default=None)


@contextmanager
def provider_step(kernel: Kernel, session: Session, actor: Actor) -> Iterator[None]:
    """Run a provider method with the unit of work available to :func:`mark_confirmed` / :func:`mark_refund_done`,
    which is how a provider reports success without being handed the kernel."""
    token = _current_step.set(_Step(kernel, session, actor))
    try:
        yield
    finally:
        _current_step.reset(token)


def _step() -> _Step:
    step = _current_step.get()
    if step is None:
        raise RuntimeError(
            "mark_confirmed/mark_refund_done only work inside a provider step run by the kernel; elsewhere call "
            "confirm_payment/refund_done with the kernel and session"
        )
    return step


def mark_confirmed(payment: OrderPayment, amount: Decimal | None = None) -> None:
    """For payment providers, from inside ``execute_payment``: the money of ``payment`` is certain.

    Does what :func:`confirm_payment` does (the order may become paid), in the kernel's unit of work. ``amount``
    replaces the attempt's amount with what actually arrived (only while the payment is still open).
    """
    step = _step()
    if amount is not None:
        amount = Decimal(amount)
        problem = money_problem(amount)
        if problem or amount <= ZERO:
            raise OrderError.field("amount", problem or "The amount must be more than 0.00.")
        if payment.state in OPEN_PAYMENT_STATES:
            payment.amount = amount
    confirm_payment(step.kernel, step.session, payment, actor=step.actor)


def mark_received(
    order: Order,
    provider: str,
    amount: Decimal,
    *,
    payment_date: datetime | None = None,
    info: dict[str, Any] | None = None,
) -> OrderPayment:
    """For payment providers, inside a provider step: ``amount`` arrived for ``order`` through ``provider`` without
    an open attempt; recorded as a confirmed payment (see :func:`record_payment`)."""
    step = _step()
    return record_payment(
        step.kernel,
        step.session,
        order,
        actor=step.actor,
        provider=provider,
        amount=amount,
        state="confirmed",
        payment_date=payment_date,
        info=info,
    )


def mark_refund_done(refund: OrderRefund) -> None:
    """For payment providers, from inside ``execute_refund``: the money of ``refund`` was sent."""
    step = _step()
    refund_done(step.kernel, step.session, refund, actor=step.actor)


# --- order status changes caused by refunds ------------------------------------------------------------------------


def cancel_order_for_refund(kernel: Kernel, session: Session, order: Order, *, actor: Actor) -> None:
    """Cancel ``order`` because its money went back (``mark_canceled`` of a refund), through the life-cycle
    service: quota and vouchers are released, open payments canceled, ``order_canceled`` fires. No e-mail: the
    refund is what the buyer hears about. An order that is already canceled stays as it is."""
    # Imported here: the life-cycle module builds on this one.
    from boxoffice.kernel.orders import lifecycle

    if order.status != STATUS_CANCELED:
        lifecycle.mark_canceled(kernel, session, order, actor=actor, send_email=False)


def pending_after_refund(kernel: Kernel, session: Session, order: Order, *, actor: Actor) -> None:
    """Set a paid order back to pending (life-cycle ``mark_pending``) when refunds left it no longer covered, so the
    buyer is asked to pay the rest; a still covered (or not paid) order is left alone."""
    from boxoffice.kernel.orders import lifecycle

    if order.status == STATUS_PAID and paid_amount(order) < Decimal(order.total):
        lifecycle.mark_pending(kernel, session, order, actor=actor)
