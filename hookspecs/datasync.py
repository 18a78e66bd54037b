"""Data sync and outbound delivery: push orders and tickets one way into external systems (CRMs, mailing lists,
webhook receivers…) through the kernel's outbound queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from boxoffice.hookspecs import hookspec, scope

if TYPE_CHECKING:
    from boxoffice.hookspecs.providers import OutboundChannel, OutboundSyncProvider
    from boxoffice.kernel.models import Event


@hookspec
@scope("event")
def register_sync_providers(event: Event) -> list[type[OutboundSyncProvider]] | type[OutboundSyncProvider] | None:
    """Return :class:`~boxoffice.hookspecs.providers.OutboundSyncProvider` subclasses for one event.

    The kernel owns the queue: a lifecycle notification enqueues the order for every provider enabled on the
    event, a periodic job claims due rows, and for each mapping calls the provider's idempotent
    ``sync_object_with_properties``. Recoverable errors are retried with back-off; unrecoverable ones wait for
    a manual retry. Results are stored per order, position, provider and mapping.
    """


@hookspec
def register_outbound_channels() -> list[OutboundChannel] | OutboundChannel | None:
    """Return :class:`~boxoffice.hookspecs.providers.OutboundChannel` instances: kinds of delivery the kernel's
    outbound queue carries for you (the webhooks plugin's calls, for example; data sync is the kernel's own).

    Write entries with ``boxoffice.kernel.outbound.enqueue(session, channel=…, target=…, …)`` inside the
    transaction that caused them (a lifecycle or ``log_entry_created`` hook is such a place): they commit or roll
    back with it. Workers deliver them with retries and back-off; status, attempts and the last error are listed
    and can be retried or discarded at ``/api/v1/organizers/{organizer}/outbound/``.
    """
