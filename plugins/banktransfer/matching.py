"""Matching bank transactions to orders and booking the money, as a background job.

A reference is searched for order codes in two ways: after a known prefix (an event's slug or configured reference
prefix, or the organizer's slug) with spaces, dashes, dots and case ignored (``democon - abc 12`` finds ``ABC12``
of event ``democon``), and as a whole word of an order code's length (``ABC12``). Candidate codes of all
transactions of a job are looked up in bulk (a few queries per 500 codes), never per transaction.

Each transaction is booked in a savepoint of its own: its de-duplication key goes into ``banktransfer_booking``
(unique per organizer) together with the payment, so a re-imported or concurrently imported line can never pay
twice, and a refused booking leaves the other transactions alone.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from boxoffice.hookspecs.providers import JobContext, JobFailed, PaymentException
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.i18n import format_money
from boxoffice.kernel.models import Event, Organizer
from boxoffice.kernel.models.orders import Order
from boxoffice.kernel.orders.errors import OrderError
from boxoffice.plugins.banktransfer.models import BankTransaction, Booking, ImportJob
from boxoffice.plugins.banktransfer.provider import IDENTIFIER, PREFIX, BankTransfer

logger = logging.getLogger(__name__)

JOB_NAME = "banktransfer.import"
CHUNK = 500
OPEN_PAYMENT_STATES = ("created", "pending")
COUNTED_PAYMENT_STATES = ("confirmed", "refunded")
ZERO = Decimal("0.00")
_WORD = re.compile(r"[A-Z0-9]+")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")


def checksum(payer: str, reference: str, amount: Decimal, date: str) -> str:
    """What identifies a statement line without a bank id: payer, reference, amount and date (spec: a hash)."""
    text = "\x00".join((payer.strip(), reference.strip(), f"{Decimal(amount):.2f}", date.strip()))
    # SHA-1 as in the spec: an identity for de-duplication, not a secret.
    return hashlib.sha1(text.encode()).hexdigest()


def booking_key(transaction: BankTransaction) -> str:
    """The bank's own id identifies a line best; the checksum stands in where the bank gave none."""
    return f"id:{transaction.external_id}" if transaction.external_id else f"sum:{transaction.checksum}"


def plugin_events(kernel: Any, session: Session, organizer: Organizer) -> list[Event]:
    """The organizer's events where bank transfer is active: only their orders can be paid by a statement."""
    events = session.scalars(select(Event).where(Event.organizer_id == organizer.id).order_by(Event.id)).all()
    return [event for event in events if IDENTIFIER in kernel.plugins.active_for_event(event)]


@dataclass
class Matcher:
    """Finds candidate order codes in references; ``prefixes`` maps a compacted prefix to the event it names."""

    prefixes: dict[str, int | None]
    code_lengths: set[int]
    _prefix_pattern: re.Pattern[str] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        usable = sorted((p for p in self.prefixes if p), key=len, reverse=True)
        if usable:
            # Lookahead: overlapping prefixes (``CON`` inside ``DEMOCON``) are all found.
            self._prefix_pattern = re.compile("(?=(" + "|".join(re.escape(p) for p in usable) + "))")

    def candidates(self, reference: str) -> list[tuple[str, int | None, bool]]:
        """``(code, event id named by the prefix or None, found after a prefix)``, those after a prefix first."""
        upper = reference.upper()
        found: list[tuple[str, int | None, bool]] = []
        if self._prefix_pattern is not None:
            compact = _NOT_ALNUM.sub("", upper)
            for match in self._prefix_pattern.finditer(compact):
                prefix = match.group(1)
                start = match.start() + len(prefix)
                for length in self.code_lengths:
                    code = compact[start : start + length]
                    if len(code) == length:
                        found.append((code, self.prefixes[prefix], True))
        for word in _WORD.findall(upper):
            if len(word) in self.code_lengths:
                found.append((word, None, False))
        return found


def build_matcher(kernel: Any, session: Session, organizer: Organizer, events: Sequence[Event]) -> Matcher:
    prefixes: dict[str, int | None] = {_NOT_ALNUM.sub("", organizer.slug.upper()): None}
    for event in events:
        prefixes[_NOT_ALNUM.sub("", event.slug.upper())] = event.id
        configured = kernel.settings_for(session, event=event).get(f"{PREFIX}_reference_prefix")
        if configured:
            prefixes[_NOT_ALNUM.sub("", str(configured).upper())] = event.id
    event_ids = [event.id for event in events]
    lengths = set(
        session.scalars(select(func.length(Order.code)).where(Order.event_id.in_(event_ids)).distinct()).all()
    )
    return Matcher(prefixes, {length for length in lengths if length})


def load_orders(session: Session, event_ids: Sequence[int], codes: Iterable[str]) -> dict[str, list[Order]]:
    """Orders of ``event_ids`` with one of ``codes`` and what booking reads of them, in a few queries per chunk."""
    by_code: dict[str, list[Order]] = {}
    wanted = sorted(set(codes))
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        orders = session.scalars(
            select(Order)
            .where(Order.event_id.in_(event_ids), Order.code.in_(chunk))
            # Booking reads positions and fees too (the ledger): loaded here, not lazily per order.
            .options(
                selectinload(Order.payments),
                selectinload(Order.refunds),
                selectinload(Order.positions),
                selectinload(Order.fees),
            )
        ).all()
        for order in orders:
            by_code.setdefault(order.code, []).append(order)
    return by_code


def resolve(matcher: Matcher, orders_by_code: dict[str, list[Order]], reference: str) -> list[Order]:
    """The distinct orders a reference names. An event named by the prefix narrows a code used in several events;
    codes found after a prefix win over bare words (a word that happens to equal another order's code must not
    turn a clear reference into an ambiguous one)."""
    prefixed: dict[int, Order] = {}
    bare: dict[int, Order] = {}
    for code, event_id, after_prefix in matcher.candidates(reference):
        orders = orders_by_code.get(code, [])
        if event_id is not None:
            orders = [order for order in orders if order.event_id == event_id] or orders
        for order in orders:
            (prefixed if after_prefix else bare).setdefault(order.id, order)
    return list((prefixed or bare).values())


def owed(order: Order) -> Decimal:
    received = sum((Decimal(p.amount) for p in order.payments if p.state in COUNTED_PAYMENT_STATES), ZERO)
    returned = sum((Decimal(r.amount) for r in order.refunds if r.state == "done"), ZERO)
    return Decimal(order.total) - received + returned


# --- the job ---------------------------------------------------------------------------------------------------


class Booker:
    """Books matched transactions of one job; one provider instance per event."""

    def __init__(self, kernel: Any, session: Session, organizer_id: int, actor: Actor) -> None:
        self.kernel = kernel
        self.session = session
        self.organizer_id = organizer_id
        self.actor = actor
        self._providers: dict[int, BankTransfer] = {}

    def provider(self, event: Event) -> BankTransfer:
        if event.id not in self._providers:
            sandbox = self.kernel.settings_for(self.session, event=event).sandbox(PREFIX)
            self._providers[event.id] = BankTransfer(event, sandbox)
        return self._providers[event.id]

    def process(self, transaction: BankTransaction, orders: list[Order], known_keys: set[str]) -> None:
        key = booking_key(transaction)
        if key in known_keys:
            self._finish(transaction, "already", "This transaction was imported and booked before.")
            return
        if transaction.amount <= ZERO:
            self._finish(transaction, "invalid", "Only incoming transfers (positive amounts) can pay orders.")
            return
        if not orders:
            self._finish(transaction, "nomatch", "")
            return
        if len(orders) == 1:
            self._book(transaction, key, [(orders[0], Decimal(transaction.amount))])
            return
        # Several orders in one reference: paid together only when the amount settles exactly all of them.
        shares = [(order, owed(order)) for order in sorted(orders, key=lambda o: o.code)]
        if all(share > ZERO for _, share in shares) and sum(s for _, s in shares) == Decimal(transaction.amount):
            self._book(transaction, key, shares)
            return
        codes = ", ".join(sorted(order.code for order in orders))
        self._finish(
            transaction,
            "nomatch",
            f"The reference names several orders ({codes}) and the amount is not what they owe together.",
        )

    def _refusal(self, transaction: BankTransaction, order: Order) -> tuple[str, str] | None:
        if order.testmode:
            return "invalid", f"Order {order.code} is a test-mode order; real money cannot pay it."
        if transaction.currency and transaction.currency.upper() != order.event.currency:
            return (
                "invalid",
                f"The transfer is in {transaction.currency.upper()} but order {order.code} is in "
                f"{order.event.currency}.",
            )
        if order.status == "c":
            return "invalid", f"Order {order.code} has been canceled."
        if order.status == "p":
            return "already", f"Order {order.code} is already paid."
        return None

    def _book(self, transaction: BankTransaction, key: str, shares: list[tuple[Order, Decimal]]) -> None:
        for order, _share in shares:
            refusal = self._refusal(transaction, order)
            if refusal is not None:
                self._finish(transaction, *refusal, order=order if len(shares) == 1 else None)
                return
        info = {
            "reference": transaction.reference,
            "payer": transaction.payer,
            "iban": transaction.iban,
            "bic": transaction.bic,
            "date": transaction.date,
            "transaction": transaction.id,
        }
        notes: list[str] = []
        try:
            with self.session.begin_nested():
                self.session.add(Booking(organizer_id=self.organizer_id, key=key, transaction_id=transaction.id))
                self.session.flush()
                for order, share in shares:
                    self._pay(order, share, info)
                    balance = owed(order)
                    currency = order.event.currency
                    if balance > ZERO:
                        notes.append(f"Order {order.code}: partial payment, {format_money(balance, currency)} due.")
                    elif balance < ZERO:
                        notes.append(f"Order {order.code}: overpaid by {format_money(-balance, currency)}.")
        except IntegrityError:
            # Another import booked the same line in the meantime (its key is taken).
            self._finish(transaction, "already", "This transaction was imported and booked before.")
            return
        except (OrderError, PaymentException) as problem:
            message = getattr(problem, "message", None) or _order_error_text(problem)
            self._finish(transaction, "error", message, order=shares[0][0] if len(shares) == 1 else None)
            return
        self._finish(transaction, "valid", " ".join(notes), order=shares[0][0])
        # What identified the buyer is kept on the payment; the statement line itself forgets it (spec).
        transaction.payer = ""
        transaction.reference = ""

    def _pay(self, order: Order, amount: Decimal, info: dict[str, Any]) -> None:
        provider = self.provider(order.event)
        open_payment = next(
            (p for p in order.payments if p.provider == IDENTIFIER and p.state in OPEN_PAYMENT_STATES), None
        )
        with self.kernel.provider_step(self.session, self.actor):
            if open_payment is not None:
                open_payment.info = {**(open_payment.info or {}), **info}
                provider.confirm(open_payment, amount=amount)
            else:
                provider.record_received(order, amount, info=info)

    def _finish(self, transaction: BankTransaction, state: str, message: str, order: Order | None = None) -> None:
        transaction.state = state
        transaction.message = message
        if order is not None:
            transaction.order_id = order.id
            transaction.order_code = order.code


def _order_error_text(problem: Exception) -> str:
    if isinstance(problem, OrderError):
        if problem.detail:
            return problem.detail
        messages = [m for values in (problem.errors or {}).values() if isinstance(values, list) for m in values]
        return " ".join(str(m) for m in messages) or "The payment could not be booked."
    return str(problem)


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def run_import(context: JobContext, import_job_id: int) -> dict[str, Any]:
    """Match and book the transactions of one import job (registered as ``banktransfer.import``)."""
    kernel = context.kernel
    with context.session() as session:
        claimed = session.execute(
            update(ImportJob).where(ImportJob.id == import_job_id, ImportJob.state == "pending").values(state="running")
        ).rowcount
    if not claimed:
        return {"skipped": True}
    try:
        counts = _match_and_book(context, kernel, import_job_id)
    except Exception as problem:
        logger.exception("bank import job %s failed", import_job_id)
        with context.session() as session:
            job = session.get(ImportJob, import_job_id)
            if job is not None:
                job.state = "error"
                job.message = f"The import failed: {type(problem).__name__}."
        raise JobFailed("The bank import failed.") from problem
    with context.session() as session:
        job = session.get(ImportJob, import_job_id)
        if job is not None:
            job.state = "completed"
    return counts


def _match_and_book(context: JobContext, kernel: Any, import_job_id: int) -> dict[str, int]:
    with context.session() as session:
        job = session.get(ImportJob, import_job_id)
        if job is None:
            raise JobFailed("The import job no longer exists.")
        organizer = session.get(Organizer, job.organizer_id)
        assert organizer is not None
        events = plugin_events(kernel, session, organizer)
        if job.event_id is not None:
            events = [event for event in events if event.id == job.event_id]
        matcher = build_matcher(kernel, session, organizer, events)
        transaction_ids = list(
            session.scalars(
                select(BankTransaction.id)
                .where(BankTransaction.job_id == job.id, BankTransaction.state == "imported")
                .order_by(BankTransaction.id)
            )
        )
        actor = Actor(job.actor_type, job.actor_id)  # type: ignore[arg-type]
        organizer_id = organizer.id
        event_ids = [event.id for event in events]
    counts: dict[str, int] = {}
    done = 0
    for chunk in _chunks(transaction_ids, CHUNK):
        with context.session() as session:
            transactions = session.scalars(
                select(BankTransaction).where(BankTransaction.id.in_(chunk)).order_by(BankTransaction.id)
            ).all()
            matched = {t.id: [code for code, _, _ in matcher.candidates(t.reference)] for t in transactions}
            orders_by_code = (
                load_orders(session, event_ids, (c for codes in matched.values() for c in codes)) if event_ids else {}
            )
            keys = {booking_key(t) for t in transactions}
            known = set(
                session.scalars(select(Booking.key).where(Booking.organizer_id == organizer_id, Booking.key.in_(keys)))
            )
            booker = Booker(kernel, session, organizer_id, actor)
            for transaction in transactions:
                orders = resolve(matcher, orders_by_code, transaction.reference)
                booker.process(transaction, orders, known)
                if transaction.state == "valid":
                    known.add(booking_key(transaction))
                counts[transaction.state] = counts.get(transaction.state, 0) + 1
        done += len(chunk)
        context.progress(done * 100 // max(len(transaction_ids), 1))
    return counts
