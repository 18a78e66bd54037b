"""The domain model. One module per area; every module of this package is imported here so that the metadata
(and with it Alembic and ``create_all``) always knows every table."""

from __future__ import annotations

import importlib
import pkgutil

from boxoffice.kernel.models.core import Event, JobRecord, LogEntry, Organizer, Setting
from boxoffice.kernel.models.items import Item
from boxoffice.kernel.models.quotas import Quota, quota_items
from boxoffice.kernel.models.teams import Team, TeamAPIToken, team_limit_events

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "Event",
    "Item",
    "JobRecord",
    "LogEntry",
    "Organizer",
    "Quota",
    "Setting",
    "Team",
    "TeamAPIToken",
    "quota_items",
    "team_limit_events",
]
