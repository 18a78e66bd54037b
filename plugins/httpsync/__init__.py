"""Generic HTTP JSON sync: pushes orders and tickets of an event into any HTTP JSON API that stores objects under
``{endpoint}/{object type}/{id}`` (``GET`` reads the current fields, ``PUT`` creates or replaces them).

Enable it on the event, set ``httpsync_endpoint`` (and ``httpsync_auth_header``, e.g. ``Authorization: Bearer …``)
in the event settings, and configure the mappings at
``/api/v1/organizers/{o}/events/{e}/datasync/httpsync/mappings/``. See docs/datasync.md.
"""

from __future__ import annotations

from typing import Any

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.hookspecs.providers import OutboundSyncProvider, SettingDefault
from boxoffice.plugins.httpsync.provider import HttpJsonSync

plugin_meta = PluginMeta(
    name="HTTP JSON sync",
    description="Push orders and tickets into any HTTP JSON API, with configurable mappings.",
    category="INTEGRATION",
    level="event",
)


@hookimpl
def register_sync_providers(event: Any) -> type[OutboundSyncProvider]:
    return HttpJsonSync


@hookimpl
def register_settings_defaults() -> list[SettingDefault]:
    return [
        SettingDefault(
            "httpsync_endpoint", "", str, public=True, description="Base URL of the JSON API objects are synced to"
        ),
        SettingDefault(
            "httpsync_auth_header",
            "",
            str,
            public=True,
            description="Header sent with every request, as 'Name: value' (e.g. 'Authorization: Bearer …')",
        ),
    ]
