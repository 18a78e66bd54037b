"""From audit-log entries to webhook calls: matching, payloads, and the outbound channel that makes the calls.

A log entry written in a transaction queues one outbound entry per matching webhook in that same transaction, so
a change that rolls back calls nobody and a committed one is never forgotten. The kernel's queue retries failed
calls with exponential back-off for up to three days; ``410 Gone`` switches the webhook off.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import Select, bindparam, delete, select, update
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.orm import Session

from boxoffice.hookspecs.providers import (
    DiscardedSyncError,
    OutboundChannel,
    OutboundDelivery,
    RecoverableSyncError,
)
from boxoffice.kernel import clock
from boxoffice.kernel.models import Event, LogEntry, Organizer
from boxoffice.kernel.outbound import enqueue
from boxoffice.plugins.webhooks.models import Webhook, WebhookCall

if TYPE_CHECKING:
    from boxoffice.hookspecs.providers import JobContext

CHANNEL = "webhooks"
TIMEOUT_SECONDS = 30
CALLS_KEPT = timedelta(days=30)
RESPONSE_KEPT_CHARS = 1024
CACHE_KEY = "boxoffice_webhooks_enabled"
USER_AGENT = "boxoffice-webhooks"

# The action types of the spec (pretix's names). Entries ending in ``.*`` stand for a family.
ACTION_TYPES: tuple[str, ...] = (
    "pretix.event.order.placed",
    "pretix.event.order.placed.require_approval",
    "pretix.event.order.paid",
    "pretix.event.order.canceled",
    "pretix.event.order.reactivated",
    "pretix.event.order.expired",
    "pretix.event.order.expirychanged",
    "pretix.event.order.modified",
    "pretix.event.order.contact.changed",
    "pretix.event.order.changed.*",
    "pretix.event.order.deleted",
    "pretix.event.order.refund.created",
    "pretix.event.order.refund.created.externally",
    "pretix.event.order.refund.requested",
    "pretix.event.order.refund.done",
    "pretix.event.order.refund.canceled",
    "pretix.event.order.refund.failed",
    "pretix.event.order.payment.confirmed",
    "pretix.event.order.approved",
    "pretix.event.order.denied",
    "pretix.event.orders.waitinglist.added",
    "pretix.event.orders.waitinglist.changed",
    "pretix.event.orders.waitinglist.deleted",
    "pretix.event.orders.waitinglist.voucher_assigned",
    "pretix.event.checkin",
    "pretix.event.checkin.reverted",
    "pretix.event.added",
    "pretix.event.changed",
    "pretix.event.deleted",
    "pretix.giftcards.created",
    "pretix.giftcards.modified",
    "pretix.giftcards.transaction.*",
    "pretix.voucher.added",
    "pretix.voucher.changed",
    "pretix.voucher.deleted",
    "pretix.subevent.added",
    "pretix.subevent.changed",
    "pretix.subevent.deleted",
    "pretix.event.item.*",
    "pretix.event.live.activated",
    "pretix.event.live.deactivated",
    "pretix.event.testmode.activated",
    "pretix.event.testmode.deactivated",
    "pretix.customer.created",
    "pretix.customer.changed",
    "pretix.customer.anonymized",
)

# Audit actions whose pretix name is not simply the same name under ``pretix.``.
_RENAMED = {
    "boxoffice.event.order.expiry_changed": "pretix.event.order.expirychanged",
    "boxoffice.event.checkin.annulled": "pretix.event.checkin.reverted",
    "boxoffice.event.created": "pretix.event.added",
    "boxoffice.event.voucher.added": "pretix.voucher.added",
    "boxoffice.event.voucher.changed": "pretix.voucher.changed",
    "boxoffice.event.voucher.deleted": "pretix.voucher.deleted",
    "boxoffice.event.subevent.added": "pretix.subevent.added",
    "boxoffice.event.subevent.changed": "pretix.subevent.changed",
    "boxoffice.event.subevent.deleted": "pretix.subevent.deleted",
}


def webhook_action(entry: LogEntry, session: Session) -> str | None:
    """The action type a webhook subscriber knows for an audit-log entry (``None``: not a webhook action)."""
    action = entry.action_type
    if action in _RENAMED:
        return _RENAMED[action]
    if not action.startswith("boxoffice."):
        return None
    translated = "pretix." + action.removeprefix("boxoffice.")
    if translated == "pretix.event.order.placed" and (entry.data or {}).get("status") == "n":
        from boxoffice.kernel.models.orders import Order

        order = session.get(Order, int(entry.object_id)) if entry.object_id.isdigit() else None
        if order is not None and order.require_approval:
            return "pretix.event.order.placed.require_approval"
    return translated


def subscribed(action_types: Sequence[str], action: str) -> bool:
    return any(
        action == wanted or (wanted.endswith(".*") and action.startswith(wanted[:-1])) for wanted in action_types
    )


def _order_code(entry: LogEntry, session: Session) -> str | None:
    code = (entry.data or {}).get("code") or (entry.data or {}).get("order")
    if code:
        return str(code)
    if entry.object_type == "order" and entry.object_id.isdigit():
        from boxoffice.kernel.models.orders import Order

        order = session.get(Order, int(entry.object_id))
        return order.code if order is not None else None
    return None


def payload_for(entry: LogEntry, action: str, organizer: Organizer, event: Event | None, session: Session) -> dict:
    """The documented body: minimal, a trigger for fetching current data through the API."""
    body: dict[str, Any] = {"notification_id": entry.id, "organizer": organizer.slug}
    if event is not None:
        body["event"] = event.slug
    if action.startswith(("pretix.event.order", "pretix.event.checkin")):
        code = _order_code(entry, session)
        if code is not None:
            body["code"] = code
    if action.startswith("pretix.event.checkin"):
        data = entry.data or {}
        position_id, positionid = data.get("position"), data.get("positionid")
        if position_id is None and data.get("checkin") is not None:
            # An annulment names the check-in, not the ticket.
            from boxoffice.kernel.models.checkin import Checkin
            from boxoffice.kernel.models.orders import OrderPosition

            checkin = session.get(Checkin, int(data["checkin"]))
            position = session.get(OrderPosition, checkin.position_id) if checkin and checkin.position_id else None
            if position is not None:
                position_id, positionid = position.id, position.positionid
        body["orderposition_id"] = position_id
        body["orderposition_positionid"] = positionid
        body["checkin_list"] = data.get("list")
        body["type"] = data.get("type", "entry")
    body["action"] = action
    return body


@dataclass(frozen=True)
class Subscription:
    id: int
    action_types: tuple[str, ...]
    all_events: bool
    limit_events: tuple[str, ...]


def enabled_webhooks(session: Session, organizer_id: int) -> list[Subscription]:
    """The organizer's enabled webhooks, read once per transaction: a batch job writing many log entries (the expiry
    run, a bank import) costs one query for all of them."""
    known: dict[int, list[Subscription]] = session.info.setdefault(CACHE_KEY, {})
    if organizer_id not in known:
        known[organizer_id] = [
            Subscription(hook.id, tuple(hook.action_types or ()), hook.all_events, tuple(hook.limit_events or ()))
            for hook in session.scalars(_enabled_webhooks_statement(), {"organizer_id": organizer_id})
        ]
    return known[organizer_id]


@cache
def _enabled_webhooks_statement() -> Select[tuple[Webhook]]:
    # Built once: every check-in's log entry asks, and building the statement cost more CPU than running it.
    return select(Webhook).where(Webhook.organizer_id == bindparam("organizer_id"), Webhook.enabled.is_(True))


# The transaction's view of the webhooks ends with it. Listening on every session once costs a dict look-up per
# commit; listening per session, when the view is first read, cost more than the query it saves.
@sqlalchemy_event.listens_for(Session, "after_commit")
@sqlalchemy_event.listens_for(Session, "after_soft_rollback")
def _forget_enabled_webhooks(ended: Session, *_: Any) -> None:
    ended.info.pop(CACHE_KEY, None)


def forget_webhooks(session: Session) -> None:
    """Drop the transaction's view of the webhooks after changing one."""
    known = session.info.get(CACHE_KEY)
    if known is not None:
        known.clear()


def on_log_entry(entry: LogEntry, session: Session) -> int:
    """Queue a call to every enabled webhook of the entry's organizer that subscribes to its action."""
    if entry.organizer_id is None:
        return 0
    hooks = enabled_webhooks(session, entry.organizer_id)
    if not hooks:
        return 0
    action = webhook_action(entry, session)
    if action is None:
        return 0
    event = session.get(Event, entry.event_id) if entry.event_id is not None else None
    matching = [
        hook
        for hook in hooks
        if subscribed(hook.action_types, action)
        and (hook.all_events or (event is not None and event.slug in hook.limit_events))
    ]
    if not matching:
        return 0
    organizer = session.get(Organizer, entry.organizer_id)
    assert organizer is not None
    body = payload_for(entry, action, organizer, event, session)
    for hook in matching:
        enqueue(
            session,
            channel=CHANNEL,
            target=str(hook.id),
            organizer_id=entry.organizer_id,
            event_id=entry.event_id,
            # Calls about one order reach a webhook in the order they happened.
            object_key=body.get("code") or f"{entry.object_type}:{entry.object_id}",
            payload=body,
        )
    return len(matching)


_clients: dict[int, httpx.Client] = {}
_clients_lock = threading.Lock()


def http_client() -> httpx.Client:
    """One pooled client per process (a forked worker must not share its parent's connections)."""
    pid = os.getpid()
    with _clients_lock:
        client = _clients.get(pid)
        if client is None:
            client = _clients[pid] = httpx.Client(
                timeout=TIMEOUT_SECONDS, follow_redirects=False, headers={"User-Agent": USER_AGENT}
            )
        return client


class WebhookChannel(OutboundChannel):
    """Makes webhook calls: any 2xx within 30 seconds is success; everything else is retried for three days."""

    identifier = CHANNEL
    max_attempts = None
    give_up_after = timedelta(days=3)
    lease = timedelta(seconds=TIMEOUT_SECONDS * 3)

    def __init__(self) -> None:
        # Calls made but not yet recorded, by entry id (each entry is handled by one thread at a time).
        self._calls: dict[int, WebhookCall] = {}
        # A channel object serves one claimed batch: each webhook is read once per batch, not once per call.
        self._urls: dict[int, str | None] = {}

    def _target_url(self, webhook_id: int, context: JobContext) -> str | None:
        if webhook_id not in self._urls:
            with context.session() as session:
                hook = session.get(Webhook, webhook_id)
                self._urls[webhook_id] = hook.target_url if hook is not None and hook.enabled else None
        return self._urls[webhook_id]

    def deliver(self, delivery: OutboundDelivery, context: JobContext) -> dict[str, Any] | None:
        url = self._target_url(int(delivery.target), context)
        if url is None:
            raise DiscardedSyncError("The webhook was disabled or deleted before the call.")
        action = str(delivery.payload.get("action", ""))
        started = time.perf_counter()
        status_code, text, problem = 0, "", None
        try:
            response = http_client().post(
                url, json=delivery.payload, headers={"Idempotency-Key": delivery.idempotency_key}
            )
            status_code, text = response.status_code, response.text[:RESPONSE_KEPT_CHARS]
        except httpx.HTTPError as error:
            problem = f"{type(error).__name__}: {error}"
        elapsed = time.perf_counter() - started
        success = 200 <= status_code < 300
        # Written with the attempt's outcome (see after_attempt): one commit per call instead of two.
        self._calls[delivery.id] = WebhookCall(
            webhook_id=int(delivery.target),
            entry_id=delivery.id,
            datetime=clock.now(),
            target_url=url,
            action_type=action,
            is_retry=delivery.attempt > 1,
            execution_time=elapsed,
            return_code=status_code,
            success=success,
            payload=delivery.payload,
            response_body=text if problem is None else problem[:RESPONSE_KEPT_CHARS],
        )
        if success:
            return {"status_code": status_code}
        if status_code == 410:
            raise DiscardedSyncError("The receiver answered 410 Gone: the webhook was disabled.")
        raise RecoverableSyncError(problem or f"The receiver answered HTTP {status_code}.")

    def after_attempt(self, session: Session, delivery: OutboundDelivery, error: BaseException | None) -> None:
        call = self._calls.pop(delivery.id, None)
        if call is None:
            return
        session.add(call)
        if call.return_code == 410:
            self._urls[call.webhook_id] = None
            session.execute(update(Webhook).where(Webhook.id == call.webhook_id).values(enabled=False))


def delete_old_calls(context: JobContext) -> int:
    """Periodic job: forget call logs after 30 days."""
    with context.session() as session:
        result = session.execute(delete(WebhookCall).where(WebhookCall.datetime < clock.now() - CALLS_KEPT))
        return result.rowcount or 0
