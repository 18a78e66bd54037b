"""The outbound queue: deliveries to outside systems (webhook calls, data sync runs) written as rows in the
transaction that caused them (transactional outbox) and carried out by workers, at least once, with back-off.

Life of an entry (``outbound_entry.status``): ``waiting`` → ``inflight`` (claimed by a worker under a lease) →
``delivered``; or back to ``waiting`` with a later ``next_attempt`` after a recoverable error; ``failed`` (needs
attention: a permanent or configuration error, too many attempts; a manual retry puts it back) or ``discarded``
(given up: the receiver said never again, or someone discarded it). A worker killed mid-delivery leaves its entry
``inflight``; once the lease lapses the sweeper hands it out again, with the same idempotency key.

Entries of one stream (channel, target, object key) are delivered in the order they were written: an entry is not
claimed while an earlier one of its stream is still waiting or in flight.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.orm import Session, aliased

from boxoffice.hookspecs.providers import OutboundChannel, OutboundDelivery, SyncError
from boxoffice.kernel import clock
from boxoffice.kernel.core import KERNEL_KEY, kernel_of
from boxoffice.kernel.models.outbound import (
    OUTBOUND_DELIVERED,
    OUTBOUND_DISCARDED,
    OUTBOUND_FAILED,
    OUTBOUND_INFLIGHT,
    OUTBOUND_WAITING,
    OutboundEntry,
)

if TYPE_CHECKING:
    from boxoffice.hookspecs.providers import JobContext
    from boxoffice.kernel.core import Kernel

logger = logging.getLogger(__name__)

DELIVER_JOB = "core.outbound_deliver"
SWEEP_JOB = "core.outbound_sweep"
CLEANUP_JOB = "core.outbound_cleanup"
# Delivered and discarded entries stay listed this long (failed ones wait for someone to act).
FINISHED_KEPT = timedelta(days=30)
SWEEP_EVERY_SECONDS = 30
CLAIM_BATCH = 100
# One sweep stops claiming after this many entries so a backlog cannot hold a worker for ever.
SWEEP_LIMIT = 2000
ERROR_LENGTH = 2000
_PENDING_KEY = "boxoffice_outbound_pending"

RETRYABLE_STATUSES = (OUTBOUND_FAILED, OUTBOUND_DISCARDED, OUTBOUND_WAITING)
DISCARDABLE_STATUSES = (OUTBOUND_FAILED, OUTBOUND_WAITING)


class OutboundRefused(Exception):
    """A retry or discard that the entry's state does not allow (the API's 409)."""


def channels(kernel: Kernel) -> dict[str, OutboundChannel]:
    """Installed channels by identifier (the kernel's data sync channel among them)."""
    found: dict[str, OutboundChannel] = {}
    for _owner, channel in kernel.plugins.collect(kernel.plugins.hook.register_outbound_channels):
        if isinstance(channel, OutboundChannel) and channel.identifier:
            found.setdefault(channel.identifier, channel)
    return found


def enqueue(
    session: Session,
    *,
    channel: str,
    target: str,
    organizer_id: int,
    payload: dict[str, Any],
    event_id: int | None = None,
    object_key: str = "",
    not_before: datetime | None = None,
    immediate: bool = True,
) -> OutboundEntry:
    """Write one delivery into the caller's transaction; with ``immediate`` a worker starts on it at commit.

    Without ``immediate`` (or when the start is lost) the periodic sweep delivers it within half a minute.
    """
    moment = clock.now()
    entry = OutboundEntry(
        organizer_id=organizer_id,
        event_id=event_id,
        channel=channel,
        target=target,
        object_key=object_key[:190],
        payload=payload,
        idempotency_key=uuid.uuid4().hex,
        status=OUTBOUND_WAITING,
        attempts=0,
        created=moment,
        next_attempt=max(not_before, moment) if not_before else moment,
    )
    session.add(entry)
    session.flush()
    if immediate and not_before is None:
        wake_on_commit(session, entry.id)
    return entry


def wake_on_commit(session: Session, entry_id: int) -> None:
    """Start one delivery job for all entries a transaction wrote, once it commits."""
    if KERNEL_KEY not in session.info:
        return  # a session opened outside a kernel: the periodic sweep delivers the entry
    pending: list[int] | None = session.info.get(_PENDING_KEY)
    if pending is None:
        pending = session.info[_PENDING_KEY] = []

        def before_commit(committing: Session) -> None:
            entry_ids = committing.info.pop(_PENDING_KEY, None)
            if entry_ids:
                kernel_of(committing).jobs.enqueue_on_commit(committing, DELIVER_JOB, entry_ids=entry_ids)

        def after_rollback(rolled_back: Session) -> None:
            rolled_back.info.pop(_PENDING_KEY, None)

        sqlalchemy_event.listen(session, "before_commit", before_commit, once=True)
        sqlalchemy_event.listen(session, "after_soft_rollback", lambda s, _t: after_rollback(s), once=True)
    pending.append(entry_id)


# --- claiming -----------------------------------------------------------------------------------------------------


def _claim(kernel: Kernel, entry_ids: Sequence[int] | None, limit: int) -> tuple[str, list[OutboundDelivery]]:
    """Take up to ``limit`` due entries (of ``entry_ids`` when given) under a lease; returns the claim token."""
    token = uuid.uuid4().hex
    moment = clock.now()
    known = channels(kernel)
    earlier = aliased(OutboundEntry)
    blocked = exists().where(
        earlier.channel == OutboundEntry.channel,
        earlier.target == OutboundEntry.target,
        earlier.object_key == OutboundEntry.object_key,
        earlier.id < OutboundEntry.id,
        earlier.status.in_((OUTBOUND_WAITING, OUTBOUND_INFLIGHT)),
    )
    candidates = (
        select(OutboundEntry.id)
        .where(OutboundEntry.status == OUTBOUND_WAITING, OutboundEntry.next_attempt <= moment, ~blocked)
        .order_by(OutboundEntry.id)
        .limit(limit)
    )
    if entry_ids is not None:
        candidates = candidates.where(OutboundEntry.id.in_(list(entry_ids)))
    with kernel.db.session() as session:
        if not kernel.db.is_sqlite:
            # Concurrent workers skip each other's rows instead of queueing behind them.
            candidates = candidates.with_for_update(skip_locked=True, of=OutboundEntry)
        # One statement: on SQLite the claim is the transaction's first write, so it never has to upgrade a read.
        claimed = session.execute(
            update(OutboundEntry)
            .where(OutboundEntry.id.in_(candidates.scalar_subquery()), OutboundEntry.status == OUTBOUND_WAITING)
            .values(
                status=OUTBOUND_INFLIGHT,
                claim=token,
                attempts=OutboundEntry.attempts + 1,
                last_attempt=moment,
                lease_until=moment,
            )
            .returning(OutboundEntry.id, OutboundEntry.channel)
            .execution_options(synchronize_session=False)
        ).all()
        if not claimed:
            return token, []
        by_channel: dict[str, list[int]] = {}
        for entry_id, channel in claimed:
            by_channel.setdefault(channel, []).append(entry_id)
        for channel, ids in by_channel.items():
            lease = known[channel].lease if channel in known else OutboundChannel.lease
            session.execute(
                update(OutboundEntry)
                .where(OutboundEntry.id.in_(ids))
                .values(lease_until=moment + lease)
                .execution_options(synchronize_session=False)
            )
        rows = session.scalars(
            select(OutboundEntry).where(OutboundEntry.claim == token).order_by(OutboundEntry.id)
        ).all()
        deliveries = [
            OutboundDelivery(
                id=row.id,
                channel=row.channel,
                target=row.target,
                object_key=row.object_key,
                payload=dict(row.payload),
                idempotency_key=row.idempotency_key,
                attempt=row.attempts,
                organizer_id=row.organizer_id,
                event_id=row.event_id,
                created=row.created,
            )
            for row in rows
        ]
    return token, deliveries


# --- delivering ---------------------------------------------------------------------------------------------------


def _record(
    kernel: Kernel,
    delivery: OutboundDelivery,
    token: str,
    channel: OutboundChannel | None,
    result: Any,
    error: BaseException | None,
) -> str:
    """Store the outcome of one attempt on the entry (only while this worker still holds it); returns the status."""
    moment = clock.now()
    values: dict[str, Any] = {"claim": None, "lease_until": None}
    if error is None:
        values |= {"status": OUTBOUND_DELIVERED, "finished": moment, "failure_mode": None, "result": result}
    else:
        mode = error.failure_mode if isinstance(error, SyncError) else "internal"
        message = str(error) if isinstance(error, SyncError) else f"internal error: {type(error).__name__}: {error}"
        values["last_error"] = message[:ERROR_LENGTH]
        if mode == "retry" and channel is not None:
            delay = getattr(error, "retry_after", None) or channel.next_retry_delay(delivery.attempt)
            too_many = channel.max_attempts is not None and delivery.attempt >= channel.max_attempts
            too_late = channel.give_up_after is not None and moment + delay > delivery.created + channel.give_up_after
            if too_many or too_late:
                values |= {"status": OUTBOUND_FAILED, "failure_mode": "exceeded", "finished": moment}
            else:
                values |= {"status": OUTBOUND_WAITING, "failure_mode": None, "next_attempt": moment + delay}
        elif mode == "discarded":
            values |= {"status": OUTBOUND_DISCARDED, "failure_mode": mode, "finished": moment}
        else:
            values |= {"status": OUTBOUND_FAILED, "failure_mode": mode, "finished": moment}
    with kernel.db.session() as session:
        session.execute(
            update(OutboundEntry)
            .where(OutboundEntry.id == delivery.id, OutboundEntry.claim == token)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if channel is not None:
            channel.after_attempt(session, delivery, error)
    return str(values.get("status", OUTBOUND_WAITING))


def _deliver_claimed(context: JobContext, token: str, deliveries: list[OutboundDelivery]) -> dict[str, int]:
    kernel: Kernel = context.kernel
    known = channels(kernel)
    counts: dict[str, int] = {}
    for delivery in deliveries:
        channel = known.get(delivery.channel)
        result: Any = None
        error: BaseException | None = None
        try:
            if channel is None:
                raise SyncError(f"no installed plugin delivers {delivery.channel!r} entries")
            result = channel.deliver(delivery, context)
        except SyncError as failure:
            error = failure
        except Exception as failure:
            logger.exception("outbound entry %s (%s) failed", delivery.id, delivery.channel)
            error = failure
        status = _record(kernel, delivery, token, channel, result, error)
        counts[status] = counts.get(status, 0) + 1
    return counts


def deliver_job(context: JobContext, entry_ids: list[int]) -> dict[str, int]:
    """Job ``core.outbound_deliver``: deliver the entries one transaction wrote (those due and not blocked by an
    earlier entry of their stream; the sweep picks up the rest)."""
    totals: dict[str, int] = {}
    while True:
        token, deliveries = _claim(context.kernel, entry_ids, CLAIM_BATCH)
        if not deliveries:
            return totals
        for status, count in _deliver_claimed(context, token, deliveries).items():
            totals[status] = totals.get(status, 0) + count


def release_lapsed(kernel: Kernel) -> int:
    """Hand entries whose worker's lease lapsed (it crashed or was killed) back to the queue, due at once."""
    with kernel.db.session() as session:
        return (
            session.execute(
                update(OutboundEntry)
                .where(OutboundEntry.status == OUTBOUND_INFLIGHT, OutboundEntry.lease_until < clock.now())
                .values(
                    status=OUTBOUND_WAITING,
                    claim=None,
                    lease_until=None,
                    last_error="the worker delivering this entry stopped before it finished (lease lapsed)",
                )
                .execution_options(synchronize_session=False)
            ).rowcount
            or 0
        )


def sweep_job(context: JobContext) -> dict[str, int]:
    """Periodic job ``core.outbound_sweep``: release lapsed leases, then deliver every due entry."""
    totals = {"released": release_lapsed(context.kernel)}
    handled = 0
    while handled < SWEEP_LIMIT:
        token, deliveries = _claim(context.kernel, None, CLAIM_BATCH)
        if not deliveries:
            break
        handled += len(deliveries)
        for status, count in _deliver_claimed(context, token, deliveries).items():
            totals[status] = totals.get(status, 0) + count
    return totals


def cleanup_job(context: JobContext) -> int:
    """Periodic job ``core.outbound_cleanup``: forget delivered and discarded entries after 30 days."""
    with context.session() as session:
        result = session.execute(
            delete(OutboundEntry).where(
                OutboundEntry.status.in_((OUTBOUND_DELIVERED, OUTBOUND_DISCARDED)),
                OutboundEntry.finished < clock.now() - FINISHED_KEPT,
            )
        )
        return result.rowcount or 0


# --- manual actions -----------------------------------------------------------------------------------------------


def retry(session: Session, entry: OutboundEntry) -> None:
    """Put a failed, discarded or backing-off entry back in line, due now, with a fresh attempt budget."""
    if entry.status not in RETRYABLE_STATUSES:
        raise OutboundRefused(f"An entry that is {entry.status} cannot be retried.")
    entry.status = OUTBOUND_WAITING
    entry.failure_mode = None
    entry.attempts = 0
    entry.next_attempt = clock.now()
    entry.finished = None
    session.flush()
    wake_on_commit(session, entry.id)


def discard(session: Session, entry: OutboundEntry) -> None:
    """Give up an entry that has not been delivered; it stays listed as ``discarded``."""
    if entry.status not in DISCARDABLE_STATUSES:
        raise OutboundRefused(f"An entry that is {entry.status} cannot be discarded.")
    entry.status = OUTBOUND_DISCARDED
    entry.failure_mode = "manual"
    entry.finished = clock.now()
    session.flush()


__all__ = [
    "CLEANUP_JOB",
    "DELIVER_JOB",
    "SWEEP_JOB",
    "OutboundRefused",
    "channels",
    "cleanup_job",
    "deliver_job",
    "discard",
    "enqueue",
    "release_lapsed",
    "retry",
    "sweep_job",
    "wake_on_commit",
]
