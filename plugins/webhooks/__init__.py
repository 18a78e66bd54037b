"""Webhooks: organizers register URLs that get a small JSON ``POST`` when something happens (an order is placed,
paid, canceled, a ticket is checked in …), delivered through the kernel's outbound queue with retries, with a call
log. pretix's ``/api/v1/organizers/{organizer}/webhooks/`` resource. See docs/webhooks.md.

Always active (webhooks are core in pretix): nothing is sent until an organizer creates a webhook.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.hookspecs.providers import JobDefinition, OutboundChannel
from boxoffice.plugins.webhooks import models as models
from boxoffice.plugins.webhooks.api import ORGANIZER_ROUTES
from boxoffice.plugins.webhooks.delivery import WebhookChannel, delete_old_calls, on_log_entry

plugin_meta = PluginMeta(
    name="Webhooks",
    description="Notify other systems over HTTP when orders, check-ins and events change.",
    category="INTEGRATION",
    level="global",
    togglable=False,
)


@hookimpl
def log_entry_created(entry: Any, session: Session) -> None:
    on_log_entry(entry, session)


@hookimpl
def register_outbound_channels() -> list[OutboundChannel]:
    return [WebhookChannel()]


@hookimpl
def register_jobs() -> list[JobDefinition]:
    return [JobDefinition("webhooks.delete_old_calls", delete_old_calls, queue="background", every_seconds=3600)]


@hookimpl
def register_organizer_api_routes() -> list[Any]:
    return ORGANIZER_ROUTES
