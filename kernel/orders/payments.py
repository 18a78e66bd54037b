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
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from boxoffice.kernel import clock
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.models.orders import (
    STATUS_EXPIRED,
    STATUS_PAID,
    STATUS_PENDING,
    Order,
    OrderPayment,
    OrderRefund,
)
from boxoffice.kernel.models.vouchers import Voucher
from boxoffice.kernel.orders import quotas
from boxoffice.kernel.orders.errors import OrderError
from boxoffice.kernel.orders.ledger import record_transactions

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
    """Take the order's row lock (PostgreSQL) and reload its status, so two payments confirmed at once cannot both
    see it unpaid, and two new payments or refunds cannot take the same local id. A no-op lock on SQLite, where
    the writing transaction already excludes others."""
    session.flush()
    session.execute(
        select(Order.id).where(Order.id == order.id).with_for_update().execution_options(populate_existing=True)
    )
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


def retake_capacity(session: Session, order: Order, *, force: bool) -> None:
    """Let an order that had released its quota and vouchers (expired) hold them again; call it after setting
    its new quota-holding status. Unless ``force``, refuse with :class:`OrderError` when a quota or voucher
    has no room left."""
    positions = order.live_positions
    keys: list[quotas.ProductKey] = [(p.item_id, p.variation_id, p.subevent_id) for p in positions]
    if not force and keys:
        by_product = quotas.quotas_by_product(session, order.event_id, keys)
        if any(not by_product.get(key) for key in keys):
            raise OrderError("There is not enough quota available: a product of this order is not on sale anymore.")
        quotas.verify(session, quotas.demand(keys, by_product))
    uses = Counter(p.voucher_id for p in positions if p.voucher_id is not None)
    for voucher_id in sorted(uses):
        guarded = update(Voucher).where(Voucher.id == voucher_id)
        if not force:
            guarded = guarded.where(Voucher.redeemed + uses[voucher_id] <= Voucher.max_usages)
        result = session.execute(
            guarded.values(redeemed=Voucher.redeemed + uses[voucher_id]).execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise OrderError("A voucher used in this order has already been redeemed in the meantime.")
        voucher = session.get(Voucher, voucher_id)
        if voucher is not None:
            session.expire(voucher, ["redeemed"])
