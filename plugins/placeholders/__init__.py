"""Placeholders every text can use: event and organizer names, slugs, dates, currency.

A bundled plugin like any other: it only uses the public plugin API and the kernel's i18n helpers.
"""

from __future__ import annotations

from typing import Any

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.hookspecs.providers import SimpleTextPlaceholder, TextPlaceholder
from boxoffice.kernel.i18n import format_datetime, get_locale, localize

plugin_meta = PluginMeta(
    name="Standard placeholders",
    description="Event, organizer and date placeholders for e-mails, ticket layouts and invoice texts.",
    category="CORE",
    level="global",
    togglable=False,
)


def _event_datetime(event: Any, value: Any) -> str:
    if value is None:
        return ""
    return format_datetime(value, get_locale(), timezone=event.timezone or "UTC")


@hookimpl
def register_text_placeholders(event: Any) -> list[TextPlaceholder]:
    return [
        SimpleTextPlaceholder("event", ("event",), lambda e: localize(e.name), lambda e: localize(e.name)),
        SimpleTextPlaceholder("event_slug", ("event",), lambda e: e.slug, lambda e: e.slug),
        SimpleTextPlaceholder("organizer", ("event",), lambda e: e.organizer.name, lambda e: e.organizer.name),
        SimpleTextPlaceholder("organizer_slug", ("event",), lambda e: e.organizer.slug, lambda e: e.organizer.slug),
        SimpleTextPlaceholder("currency", ("event",), lambda e: e.currency, lambda e: e.currency),
        SimpleTextPlaceholder(
            "event_date_from",
            ("event",),
            lambda e: _event_datetime(e, e.date_from),
            lambda e: _event_datetime(e, e.date_from),
        ),
        SimpleTextPlaceholder(
            "event_date_to",
            ("event",),
            lambda e: _event_datetime(e, e.date_to),
            lambda e: _event_datetime(e, e.date_to),
        ),
    ]
