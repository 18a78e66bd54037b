"""The order life cycle: status changes made by organizers, plugins and the expiry job.

========================  ======================================  ==========================================
operation                 from → to                               capacity
========================  ======================================  ==========================================
``mark_paid``             ``n``/``e`` → ``p``                     ``e``: quota and vouchers taken again
``mark_pending``          ``p`` → ``n``                           unchanged
``mark_expired`` / job    ``n`` → ``e``                           released
``mark_canceled``         ``n``/``p``/``e`` → ``c`` (with a fee:  released
                          → ``p``, only the fee left)
``reactivate``            ``c`` → ``n``/``p``                     taken again (refused when full)
``extend``                ``n``/``e`` → ``n``, new deadline       ``e``: taken again (``force`` overbooks)
``approve``               ``n`` awaiting approval → ``n``         unchanged (free orders become ``p``)
``deny``                  ``n`` awaiting approval → ``c``         released
========================  ======================================  ==========================================

Orders in ``n`` and ``p`` hold quota and count their vouchers as redeemed; ``e`` and ``c`` do not. So every
change between the two groups moves capacity: leaving releases vouchers (quota is released by the status alone,
since availability counts only ``n``/``p`` orders); entering again (reactivate, extend or pay an expired order)
re-takes both through :func:`~boxoffice.kernel.orders.payments.retake_capacity`, which verifies the quotas under
their row locks and refuses when one is full.

Each function here locks the order row first (so two changes of one order queue up instead of racing), refuses a
change the order's status does not allow with :class:`OrderError` (HTTP 400), writes the change, brings the
ledger up to date, audit-logs ``boxoffice.event.order.<action>`` and fires the matching lifecycle hook. They work
inside the caller's unit of work; the caller commits or, on an exception, rolls back.

``send_email`` is accepted and recorded in the audit log; of these operations only ``resend_link`` sends mail so
far (through :mod:`boxoffice.kernel.mail`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import case, delete, select, text, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from boxoffice.kernel import clock, invoicing, mail
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.orders import (
    QUOTA_HOLDING_STATUSES,
    STATUS_CANCELED,
    STATUS_EXPIRED,
    STATUS_PAID,
    STATUS_PENDING,
    BlockedSecret,
    Order,
    OrderFee,
    OrderPosition,
    RevokedSecret,
)
from boxoffice.kernel.models.vouchers import Voucher
from boxoffice.kernel.orders import codes
from boxoffice.kernel.orders.errors import LockTimeout, OrderError
from boxoffice.kernel.orders.ledger import record_transactions
from boxoffice.kernel.orders.payments import (
    OPEN_PAYMENT_STATES,
    cancel_payment,
    confirm_payment,
    create_payment,
    lock_order,
    paid_amount,
    pending_amount,
    retake_capacity,
)
from boxoffice.kernel.orders.placement import payment_deadline
from boxoffice.kernel.orders.pricing import money_problem

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel

ZERO = Decimal("0.00")
ACTION = "boxoffice.event.order."
# How long an operation waits for a row lock (order, quota, voucher) before answering "try again" (409).
LOCK_WAIT_SECONDS = 5
# Orders expired per transaction by the expiry job: big enough to amortise the queries, small enough that the
# job never holds many row locks for long.
EXPIRY_BATCH = 200
LOCK_WAIT_MESSAGE = "The order could not be locked in time because it is being changed elsewhere. Please try again."


# No mail transport for the event (the API answers 503); defined with the mail service.
MailUnavailable = mail.MailUnavailable


class NotDeletable(Exception):
    """Only orders placed in test mode may be deleted (the API answers 403)."""


# --- shared steps --------------------------------------------------------------------------------------------


@contextmanager
def lock_wait(session: Session, seconds: float | None = None) -> Iterator[None]:
    """Bound how long the statements inside wait for row locks (default :data:`LOCK_WAIT_SECONDS`); running out
    raises :class:`LockTimeout` (409).

    On PostgreSQL this sets ``lock_timeout`` for the enclosed statements only (restored afterwards); on SQLite the
    connection's busy timeout applies and "database is locked" becomes the same error.
    """
    seconds = LOCK_WAIT_SECONDS if seconds is None else seconds
    postgres = session.get_bind().dialect.name == "postgresql"
    previous = None
    if postgres:
        previous = session.scalar(text("SELECT current_setting('lock_timeout')"))
        _set_lock_timeout(session, f"{int(seconds * 1000)}ms")
    try:
        yield
    except OperationalError as error:
        # The transaction is broken now; it ends with the rollback, and the setting with it.
        if _lock_wait_ran_out(error):
            raise LockTimeout(LOCK_WAIT_MESSAGE) from None
        raise
    except BaseException:
        # A caller may catch a refusal and go on in the same transaction: it gets its own lock wait back.
        if postgres:
            with suppress(SQLAlchemyError):
                _set_lock_timeout(session, previous)
        raise
    if postgres:
        _set_lock_timeout(session, previous)


def _set_lock_timeout(session: Session, value: str | None) -> None:
    session.execute(text("SELECT set_config('lock_timeout', :value, true)"), {"value": value})


# lock_not_available (lock_timeout ran out) and deadlock_detected (PostgreSQL broke a lock cycle by aborting this
# transaction): either way nothing was changed and the same request can simply be tried again.
RETRYABLE_SQLSTATES = ("55P03", "40P01")


def _lock_wait_ran_out(error: OperationalError) -> bool:
    original = error.orig
    if getattr(original, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(original)


def _lock(session: Session, order: Order) -> Order:
    """Lock the order row and re-read what the checks below look at, as committed by whoever held the lock."""
    lock_order(session, order)
    session.refresh(order, ["expires", "testmode", "valid_if_pending", "cancellation_date", "positions", "fees"])
    return order


def _require(order: Order, allowed: Collection[str], message: str) -> None:
    if order.status not in allowed:
        raise OrderError(message)


def _log(kernel: Kernel, session: Session, order: Order, action: str, actor: Actor, **data: Any) -> None:
    kernel.log_action(session, order, ACTION + action, actor=actor, data={"code": order.code, **data})


def _hooks(kernel: Kernel, order: Order) -> Any:
    return kernel.plugins.for_event(order.event)


def _voucher_uses(positions: Iterable[OrderPosition]) -> Counter[int]:
    return Counter(p.voucher_id for p in positions if p.voucher_id is not None and not p.canceled)


def release_vouchers(session: Session, positions: Iterable[OrderPosition]) -> None:
    """Give back the voucher redemptions of ``positions`` (which are leaving a quota-holding order): one update per
    voucher, in id order like every voucher update, whatever the number of positions."""
    uses = _voucher_uses(positions)
    for voucher_id in sorted(uses):
        number = uses[voucher_id]
        session.execute(
            update(Voucher)
            .where(Voucher.id == voucher_id)
            # Never below zero, even if the counter was off before.
            .values(redeemed=case((Voucher.redeemed > number, Voucher.redeemed - number), else_=0))
            .execution_options(synchronize_session=False)
        )
    _expire_loaded_vouchers(session, uses)


def _expire_loaded_vouchers(session: Session, voucher_ids: Collection[int]) -> None:
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, Voucher) and loaded.id in voucher_ids:
            session.expire(loaded, ["redeemed"])


def _cancel_open_payments(kernel: Kernel, session: Session, order: Order, actor: Actor) -> list[int]:
    """Cancel payment attempts still waiting for money (their providers void them; a refusal stops the whole
    operation): the order no longer expects money through them."""
    open_payments = [payment for payment in order.payments if payment.state in OPEN_PAYMENT_STATES]
    for payment in open_payments:
        cancel_payment(kernel, session, payment, actor=actor)
    return [payment.local_id for payment in open_payments]


def _renew_deadline_if_past(kernel: Kernel, session: Session, order: Order, now: datetime) -> None:
    """An order that becomes pending again with its deadline behind it gets a fresh payment term; otherwise the
    expiry job would take it away again within a minute."""
    if order.expires < now:
        order.expires = payment_deadline(kernel, session, order.event, now)


def event_zone(event: Event) -> ZoneInfo:
    try:
        return ZoneInfo(event.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def end_of_date(event: Event, day: date) -> datetime:
    """23:59:59 on ``day`` in the event's time zone, as a UTC datetime (deadlines end with the local day)."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=event_zone(event)).astimezone(ZoneInfo("UTC"))


def _money(value: Decimal | float | int | str, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise OrderError.field(field, "A valid number is required.") from None
    problem = money_problem(amount)
    if problem:
        raise OrderError.field(field, problem)
    return amount.quantize(Decimal("0.01"))


# --- payment status ------------------------------------------------------------------------------------------


def mark_paid(
    kernel: Kernel,
    session: Session,
    order: Order,
    *,
    actor: Actor,
    force: bool = False,
    send_email: bool = True,
) -> Order:
    """Record that the buyer paid the rest outside any provider: pending (``n``) or expired (``e``) → paid (``p``).

    Payment attempts still open are canceled, and a ``manual`` payment for the open amount is created and
    confirmed (see :func:`~boxoffice.kernel.orders.payments.confirm_payment`, which logs, fires ``order_paid`` and
    writes the ledger). An expired order must take its quota and vouchers again: a full quota refuses the
    operation unless ``force``. Orders awaiting approval are refused: approve them first.
    """
    with lock_wait(session):
        _lock(session, order)
        _require(order, (STATUS_PENDING, STATUS_EXPIRED), "Only pending or expired orders can be marked as paid.")
        if order.require_approval:
            raise OrderError("This order is awaiting approval. Approve it before marking it as paid.")
        _cancel_open_payments(kernel, session, order, actor)
        payment = create_payment(session, order, provider="manual", amount=max(pending_amount(order), ZERO))
        confirm_payment(kernel, session, payment, actor=actor, force=force, send_email=send_email)
    return order


def mark_pending(kernel: Kernel, session: Session, order: Order, *, actor: Actor) -> Order:
    """Set a paid order (``p``) back to pending (``n``), e.g. when a payment turned out not to have arrived.

    Payments are left as they are (cancel or refund them separately). The quota stays taken; a deadline already
    passed is renewed with the event's payment term.
    """
    with lock_wait(session):
        _lock(session, order)
        _require(order, (STATUS_PAID,), "Only paid orders can be marked as pending.")
        now = clock.now()
        order.status = STATUS_PENDING
        _renew_deadline_if_past(kernel, session, order, now)
        record_transactions(session, order)
        _log(kernel, session, order, "unpaid", actor, expires=order.expires.isoformat())
        _hooks(kernel, order).order_changed(event=order.event, order=order, session=session)
    return order


# --- ending an order -----------------------------------------------------------------------------------------


def mark_expired(kernel: Kernel, session: Session, order: Order, *, actor: Actor) -> Order:
    """Expire a pending order (``n`` → ``e``) now, whatever its deadline: its quota and vouchers are released.

    Payment attempts stay open, so money arriving late can still pay the order if the quota allows.
    """
    with lock_wait(session):
        _lock(session, order)
        _require(order, (STATUS_PENDING,), "Only pending orders can be marked as expired.")
        release_vouchers(session, order.live_positions)
        _expire(kernel, session, order, actor)
    return order


def _expire(kernel: Kernel, session: Session, order: Order, actor: Actor) -> None:
    """The expiry itself, for one locked pending order whose vouchers the caller released."""
    order.status = STATUS_EXPIRED
    record_transactions(session, order)
    _log(kernel, session, order, "expired", actor, expires=order.expires.isoformat())
    _hooks(kernel, order).order_expired(event=order.event, order=order, session=session)


def mark_canceled(
    kernel: Kernel,
    session: Session,
    order: Order,
    *,
    actor: Actor,
    send_email: bool = True,
    comment: str | None = None,
    cancellation_fee: Decimal | None = None,
) -> Order:
    """Cancel an order (pending, paid or expired).

    Without a ``cancellation_fee`` (or with zero) the order becomes canceled (``c``): its positions stay as they
    were so it can be reactivated. With a fee, the organizer keeps that much of the money paid: every position and
    fee is canceled, one ``cancellation`` fee becomes the only content and total, and the order is paid (``p``)
    — "canceled, fee kept". The fee may not exceed what was paid (confirmed payments less completed refunds);
    anything paid above it is left for a refund. Either way quota and vouchers are released, open payment attempts
    are canceled and ``order_canceled`` fires. ``comment`` is the message for the buyer (kept in the audit log).
    """
    with lock_wait(session):
        _lock(session, order)
        _require(
            order,
            (STATUS_PENDING, STATUS_PAID, STATUS_EXPIRED),
            "Only pending, paid or expired orders can be canceled.",
        )
        fee = _money(cancellation_fee, "cancellation_fee") if cancellation_fee is not None else ZERO
        if fee > ZERO and fee > paid_amount(order):
            raise OrderError("The cancellation fee cannot be higher than the amount paid for this order.")
        now = clock.now()
        previous = order.status
        positions = order.live_positions
        if previous in QUOTA_HOLDING_STATUSES:
            release_vouchers(session, positions)
        canceled_payments = _cancel_open_payments(kernel, session, order, actor)
        if fee > ZERO:
            _keep_fee_only(session, order, fee)
            order.status = STATUS_PAID
        else:
            order.status = STATUS_CANCELED
        order.cancellation_date = now
        record_transactions(session, order)
        _log(
            kernel,
            session,
            order,
            "canceled",
            actor,
            from_status=previous,
            cancellation_fee=str(fee) if fee > ZERO else None,
            comment=comment,
            send_email=send_email,
            canceled_payments=canceled_payments,
        )
        _hooks(kernel, order).order_canceled(event=order.event, order=order, session=session)
        invoicing.on_order_canceled(kernel, session, order)
    return order


def _keep_fee_only(session: Session, order: Order, fee: Decimal) -> None:
    for position in order.live_positions:
        position.canceled = True
    for existing in order.live_fees:
        existing.canceled = True
    # Untaxed: a cancellation fee is compensation, not a sale (organizers who must tax it change the order).
    session.add(OrderFee(order_id=order.id, fee_type="cancellation", value=fee, description="", canceled=False))
    session.flush()
    session.refresh(order, ["fees"])
    order.total = fee


def reactivate(kernel: Kernel, session: Session, order: Order, *, actor: Actor) -> Order:
    """Undo a cancellation (``c`` → ``n``, or ``p`` when the payments still cover the total), if every product
    is still available: the quotas are verified under their locks and the vouchers redeemed again, refusing when
    one has no room left. A pending order whose deadline passed gets a fresh payment term; an order whose
    approval was denied goes back to awaiting approval."""
    with lock_wait(session):
        _lock(session, order)
        _require(order, (STATUS_CANCELED,), "Only canceled orders can be reactivated.")
        if not order.live_positions:
            raise OrderError("This order has no positions left that could be reactivated.")
        now = clock.now()
        covered = paid_amount(order) >= Decimal(order.total)
        order.status = STATUS_PAID if covered and not order.require_approval else STATUS_PENDING
        order.cancellation_date = None
        if order.status == STATUS_PENDING:
            _renew_deadline_if_past(kernel, session, order, now)
        retake_capacity(session, order, force=False)
        record_transactions(session, order)
        _log(kernel, session, order, "reactivated", actor, status=order.status)
        hooks = _hooks(kernel, order)
        hooks.order_changed(event=order.event, order=order, session=session)
        if order.status == STATUS_PAID:
            hooks.order_paid(event=order.event, order=order, session=session)
            invoicing.on_order_paid(kernel, session, order)
    return order


# --- deadlines and approval ----------------------------------------------------------------------------------


def extend(
    kernel: Kernel, session: Session, order: Order, expires: date, *, actor: Actor, force: bool = False
) -> Order:
    """Move the payment deadline of a pending or expired order to the end of ``expires`` (event time zone).

    An expired order becomes pending again and must take its quota and vouchers back (``force`` overbooks the
    quota). A deadline already over is refused.
    """
    with lock_wait(session):
        _lock(session, order)
        _require(order, (STATUS_PENDING, STATUS_EXPIRED), "Only pending or expired orders can be extended.")
        deadline = end_of_date(order.event, expires)
        if deadline < clock.now():
            raise OrderError.field("expires", "The new payment deadline must not be in the past.")
        previous = order.status
        order.expires = deadline
        if previous == STATUS_EXPIRED:
            order.status = STATUS_PENDING
            retake_capacity(session, order, force=force)
        record_transactions(session, order)
        _log(
            kernel,
            session,
            order,
            "expiry_changed",
            actor,
            expires=deadline.isoformat(),
            force=force,
            from_status=previous,
        )
        _hooks(kernel, order).order_changed(event=order.event, order=order, session=session)
    return order


def approve(kernel: Kernel, session: Session, order: Order, *, actor: Actor, send_email: bool = True) -> Order:
    """Approve an order awaiting approval: it now awaits payment, with at least a full payment term from now.

    A free order (total zero) is paid right away through a ``free`` payment, so ``order_paid`` follows
    ``order_approved``.
    """
    with lock_wait(session):
        _lock(session, order)
        if order.status != STATUS_PENDING or not order.require_approval:
            raise OrderError("Only orders that are awaiting approval can be approved.")
        now = clock.now()
        order.require_approval = False
        deadline = payment_deadline(kernel, session, order.event, now)
        if order.expires < deadline:
            order.expires = deadline
        record_transactions(session, order)
        _log(kernel, session, order, "approved", actor, send_email=send_email)
        _hooks(kernel, order).order_approved(event=order.event, order=order, session=session)
        if Decimal(order.total) == ZERO:
            payment = create_payment(session, order, provider="free", amount=ZERO)
            confirm_payment(kernel, session, payment, actor=actor, send_email=send_email)
    return order


def deny(
    kernel: Kernel,
    session: Session,
    order: Order,
    *,
    actor: Actor,
    send_email: bool = True,
    comment: str | None = None,
) -> Order:
    """Deny an order awaiting approval: it is canceled (``c``) and keeps ``require_approval`` to show why; quota
    and vouchers are released, open payment attempts canceled, ``order_denied`` fires (not ``order_canceled``).
    ``comment`` is the reason for the buyer (kept in the audit log)."""
    with lock_wait(session):
        _lock(session, order)
        if order.status != STATUS_PENDING or not order.require_approval:
            raise OrderError("Only orders that are awaiting approval can be denied.")
        release_vouchers(session, order.live_positions)
        _cancel_open_payments(kernel, session, order, actor)
        order.status = STATUS_CANCELED
        order.cancellation_date = clock.now()
        record_transactions(session, order)
        _log(kernel, session, order, "denied", actor, comment=comment, send_email=send_email)
        _hooks(kernel, order).order_denied(event=order.event, order=order, session=session)
    return order


# --- secrets, links, deletion --------------------------------------------------------------------------------


def resend_link(kernel: Kernel, session: Session, order: Order, *, actor: Actor) -> None:
    """E-mail the buyer the link to their order page (queued in the outbox, sent once the transaction commits).

    Without a mail transport for the event :class:`MailUnavailable` is raised (the API answers 503); an order
    without an address is refused with :class:`OrderError`.
    """
    if not order.email:
        raise OrderError("There is no email address associated with this order.")
    try:
        queued = mail.resend_order_link(kernel, session, order)
    except ValueError:
        raise OrderError("The email address of this order is not valid.") from None
    _log(kernel, session, order, "email.resend_link", actor, mail=queued.id)


def regenerate_secrets(kernel: Kernel, session: Session, order: Order, *, actor: Actor) -> Order:
    """Give the order a new secret (the old order link stops working) and every position a new ticket secret and
    web secret. Replaced ticket secrets are recorded as revoked, so scanners refuse the old tickets."""
    with lock_wait(session):
        _lock(session, order)
        now = clock.now()
        order.secret = codes.order_secret()
        positions = order.positions
        for position in positions:
            _new_position_secrets(kernel, session, order, position, now)
        record_transactions(session, order)
        _log(kernel, session, order, "secrets_regenerated", actor, positions=[p.id for p in positions])
        _hooks(kernel, order).order_changed(event=order.event, order=order, session=session)
    return order


def regenerate_position_secrets(kernel: Kernel, session: Session, position: OrderPosition, *, actor: Actor) -> None:
    """New ticket secret and web secret for one position; the old ticket secret is recorded as revoked."""
    order = position.order
    with lock_wait(session):
        _lock(session, order)
        now = clock.now()
        _new_position_secrets(kernel, session, order, position, now)
        order.last_modified = now
        record_transactions(session, order)
        _log(
            kernel,
            session,
            order,
            "position.secrets_regenerated",
            actor,
            position=position.id,
            positionid=position.positionid,
        )
        _hooks(kernel, order).order_changed(event=order.event, order=order, session=session)


def _new_position_secrets(
    kernel: Kernel, session: Session, order: Order, position: OrderPosition, now: datetime
) -> None:
    session.add(RevokedSecret(event_id=order.event_id, position_id=position.id, secret=position.secret, created=now))
    position.secret = codes.ticket_secret(kernel.config.ticket_secret_length)
    position.web_secret = codes.web_secret()
    if position.blocked:
        # Offline scanners learn blocks per secret: the new secret must arrive blocked too.
        session.add(BlockedSecret(event_id=order.event_id, secret=position.secret, blocked=True, updated=now))


def delete_order(kernel: Kernel, session: Session, order: Order, *, actor: Actor) -> None:
    """Delete a test-mode order with everything that hangs off it (positions, payments, ledger rows …); its
    vouchers are released. Real orders are never deleted (:class:`NotDeletable`): cancel them instead. The audit
    log keeps an entry naming the deleted order."""
    with lock_wait(session):
        _lock(session, order)
        if not order.testmode:
            raise NotDeletable("Only test mode orders can be deleted.")
        if order.status in QUOTA_HOLDING_STATUSES:
            release_vouchers(session, order.live_positions)
        _log(kernel, session, order, "deleted", actor, status=order.status, total=str(order.total))
        order_id = order.id
        session.expunge(order)
        # The database cascades to positions, fees, payments, refunds, answers and ledger rows.
        session.execute(delete(Order).where(Order.id == order_id).execution_options(synchronize_session=False))


# --- the expiry job ------------------------------------------------------------------------------------------


def _overdue(now: datetime) -> tuple[Any, ...]:
    """Orders the job expires: awaiting payment (not approval) past their deadline, and not valid while pending
    (those the organizer lets in before payment; they only expire explicitly)."""
    return (
        Order.status == STATUS_PENDING,
        Order.expires < now,
        Order.require_approval.is_(False),
        Order.valid_if_pending.is_(False),
    )


def events_expiring_automatically(kernel: Kernel, session: Session, now: datetime) -> list[int]:
    """Ids of the events that have overdue orders and the setting ``payment_term_expire_automatically`` on."""
    event_ids = set(session.scalars(select(Order.event_id).where(*_overdue(now)).distinct()))
    if not event_ids:
        return []
    events = session.scalars(select(Event).where(Event.id.in_(event_ids)).options(selectinload(Event.organizer)))
    return sorted(
        event.id
        for event in events
        if kernel.settings_for(session, event=event).get("payment_term_expire_automatically")
    )


@dataclass(frozen=True)
class ExpiryBatch:
    expired: int
    # Where the next batch starts (``after_id``), or None when nothing is left.
    next_after: int | None


def expire_overdue(
    kernel: Kernel,
    session: Session,
    now: datetime,
    *,
    event_ids: Collection[int] | None = None,
    after_id: int = 0,
    limit: int = EXPIRY_BATCH,
) -> ExpiryBatch:
    """Expire one batch of overdue orders (see :func:`_overdue`) of events that expire automatically, in the
    caller's transaction: at most ``limit`` orders with ids above ``after_id``, in id order.

    A fixed number of statements loads the batch, sets its status and releases its vouchers (one update per
    voucher); the ledger (read and write) and the audit entry then cost three statements per order. On PostgreSQL
    orders locked by someone else right now are skipped (a later run takes them), so the job never waits for an
    API call.
    """
    if event_ids is None:
        event_ids = events_expiring_automatically(kernel, session, now)
    if not event_ids:
        return ExpiryBatch(0, None)
    orders = list(
        session.scalars(
            select(Order)
            .where(Order.id > after_id, Order.event_id.in_(sorted(event_ids)), *_overdue(now))
            .order_by(Order.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .options(
                selectinload(Order.positions),
                selectinload(Order.fees),
                selectinload(Order.event).selectinload(Event.organizer),
            )
        )
    )
    release_vouchers(session, [position for order in orders for position in order.live_positions])
    if orders:
        # One statement for the whole batch instead of one per order; the loaded rows are told the new values.
        moment = clock.now()
        session.execute(
            update(Order)
            .where(Order.id.in_([order.id for order in orders]))
            .values(status=STATUS_EXPIRED, last_modified=moment)
            .execution_options(synchronize_session=False)
        )
        for order in orders:
            set_committed_value(order, "status", STATUS_EXPIRED)
            set_committed_value(order, "last_modified", moment)
    actor = Actor.system()
    for order in orders:
        _expire(kernel, session, order, actor)
    return ExpiryBatch(len(orders), orders[-1].id if len(orders) == limit else None)


def expire_orders_job(context: Any) -> int:
    """Periodic job ``core.expire_orders``: expire every overdue order, one transaction per batch, so thousands of
    orders never become one long transaction and a failure loses at most one batch. Returns how many expired."""
    kernel: Kernel = context.kernel
    now = clock.now()
    with context.session() as session:
        event_ids = events_expiring_automatically(kernel, session, now)
    total, after = 0, 0
    while event_ids:
        with context.session() as session:
            batch = expire_overdue(kernel, session, now, event_ids=event_ids, after_id=after)
        total += batch.expired
        if batch.next_after is None:
            break
        after = batch.next_after
    return total
