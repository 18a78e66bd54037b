"""The kernel's outbound plugin (entry point ``outbound``): the queue's jobs, the data sync channel, and the
lifecycle notifications that queue orders for the sync providers active on their event."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.hookspecs.providers import JobDefinition, OutboundChannel
from boxoffice.kernel.outbound import (
    CLEANUP_JOB,
    DELIVER_JOB,
    SWEEP_EVERY_SECONDS,
    SWEEP_JOB,
    cleanup_job,
    deliver_job,
    sweep_job,
)
from boxoffice.kernel.outbound.datasync import DataSyncChannel, enqueue_for_all_providers

plugin_meta = PluginMeta(
    name="boxoffice outbound queue",
    description="Reliable delivery to outside systems: the outbound queue and data sync.",
    category="CORE",
    level="global",
    togglable=False,
)


@hookimpl
def register_jobs() -> list[JobDefinition]:
    return [
        JobDefinition(DELIVER_JOB, deliver_job, queue="outbound"),
        # Picks up retries that came due, entries whose worker died, and any start lost between commit and broker.
        JobDefinition(SWEEP_JOB, sweep_job, queue="outbound", every_seconds=SWEEP_EVERY_SECONDS),
        JobDefinition(CLEANUP_JOB, cleanup_job, queue="background", every_seconds=3600),
    ]


@hookimpl
def register_outbound_channels() -> list[OutboundChannel]:
    return [DataSyncChannel()]


@hookimpl
def order_placed(event: Any, order: Any, session: Session) -> None:
    enqueue_for_all_providers(session, event, order, "order_placed")


@hookimpl
def order_paid(event: Any, order: Any, session: Session) -> None:
    enqueue_for_all_providers(session, event, order, "order_paid")


@hookimpl
def order_canceled(event: Any, order: Any, session: Session) -> None:
    enqueue_for_all_providers(session, event, order, "order_canceled")


@hookimpl
def order_expired(event: Any, order: Any, session: Session) -> None:
    enqueue_for_all_providers(session, event, order, "order_expired")


@hookimpl
def order_changed(event: Any, order: Any, session: Session) -> None:
    enqueue_for_all_providers(session, event, order, "order_changed")


@hookimpl
def order_approved(event: Any, order: Any, session: Session) -> None:
    enqueue_for_all_providers(session, event, order, "order_approved")


@hookimpl
def order_denied(event: Any, order: Any, session: Session) -> None:
    enqueue_for_all_providers(session, event, order, "order_denied")
