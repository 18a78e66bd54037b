"""Settings: plugins contribute typed defaults and validate event settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from boxoffice.hookspecs import hookspec, scope

if TYPE_CHECKING:
    from boxoffice.hookspecs.providers import SettingDefault
    from boxoffice.kernel.models import Event


@hookspec
def register_settings_defaults() -> list[SettingDefault] | None:
    """Return :class:`~boxoffice.hookspecs.providers.SettingDefault` entries (key, default, type, public).

    Settings resolve event → organizer → global → default. Prefix keys with your plugin's name
    (``myplugin_api_key``) — two plugins declaring the same key is a load error. The declared type is enforced
    when a value is stored and restored when it is read.
    """


@hookspec
@scope("event")
def validate_event_settings(event: Event, changes: dict[str, Any]) -> dict[str, list[str]] | None:
    """Check a batch of event-setting changes; return ``{key: [messages]}`` for the ones you refuse."""
