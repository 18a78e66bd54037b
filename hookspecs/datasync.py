"""Data sync: push orders and tickets one way into external systems (CRMs, mailing lists…)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from boxoffice.hookspecs import hookspec, scope

if TYPE_CHECKING:
    from boxoffice.hookspecs.providers import OutboundSyncProvider
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
