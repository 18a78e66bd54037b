"""What every event page of the control panel shows: the event, the user's permissions and the navigation (core
entries plus those plugins contribute through ``control_event_navigation``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from boxoffice.apps.api.auth import Principal
from boxoffice.apps.control.auth import Viewer, event_in_scope
from boxoffice.hookspecs.web import NavigationEntry
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.i18n import gettext as _
from boxoffice.kernel.i18n import localize
from boxoffice.kernel.models import Event

EVENT_ROOT = "/control/event"


def event_url(event: Event, path: str = "") -> str:
    return f"{EVENT_ROOT}/{event.organizer.slug}/{event.slug}/{path}"


@dataclass(frozen=True)
class EventPage:
    event: Event
    principal: Principal
    context: dict[str, Any]

    def can(self, permission: str) -> bool:
        return self.principal.has_event_permission(permission)


def _core_navigation() -> list[tuple[str, str, str | None]]:
    return [
        ("dashboard", "", None),
        ("orders", "orders/", "event.orders:read"),
        ("products", "products/", None),
        ("quotas", "quotas/", None),
        ("plugins", "plugins/", None),
    ]


def _labels() -> dict[str, str]:
    return {
        "dashboard": _("Dashboard"),
        "orders": _("Orders"),
        "products": _("Products"),
        "quotas": _("Quotas"),
        "plugins": _("Plugins"),
    }


def plugin_navigation(kernel: Kernel, event: Event) -> list[NavigationEntry]:
    entries: list[NavigationEntry] = []
    for _plugin, entry in kernel.plugins.for_event(event).collect("control_event_navigation", event=event):
        if isinstance(entry, NavigationEntry):
            entries.append(entry)
    return entries


def event_page(
    kernel: Kernel,
    session: Session,
    viewer: Viewer,
    organizer: str,
    event_slug: str,
    *,
    active: str,
    permission: str | None = None,
) -> EventPage:
    """The event (404/403 as :func:`event_in_scope`) and the context every event template expects."""
    event, principal = event_in_scope(session, viewer, organizer, event_slug, permission)
    labels = _labels()
    navigation = [
        {"label": labels[key], "url": event_url(event, path), "active": key == active}
        for key, path, needed in _core_navigation()
        if needed is None or principal.has_event_permission(needed)
    ]
    for entry in plugin_navigation(kernel, event):
        if entry.permission is None or principal.has_event_permission(entry.permission):
            url = event_url(event, entry.path.lstrip("/"))
            navigation.append({"label": entry.label, "url": url, "active": active == url})
    timezone = kernel.settings_for(session, event=event).get("timezone", "UTC") or "UTC"
    context = {
        "viewer": viewer,
        "navigation": navigation,
        "event": {
            "id": event.id,
            "slug": event.slug,
            "name": localize(event.name),
            "currency": event.currency,
            "organizer_slug": event.organizer.slug,
            "organizer_name": event.organizer.name,
            "url": event_url(event),
            "timezone": timezone,
        },
    }
    return EventPage(event=event, principal=principal, context=context)
