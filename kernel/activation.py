"""Switching plugins on and off for an event or an organizer (REST ``PATCH`` of ``plugins``, CLI, control pages).

Each change is validated against the plugin's metadata, tells the plugin through ``plugin_enabled`` /
``plugin_disabled`` (called on that plugin only) and is audit-logged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from boxoffice.kernel.audit import Actor
from boxoffice.kernel.models import Event, Organizer
from boxoffice.kernel.plugins import PluginError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from boxoffice.kernel.core import Kernel

EVENT_LEVELS = ("event", "hybrid")
ORGANIZER_LEVELS = ("organizer", "hybrid")


def _check(kernel: Kernel, name: str, target: Event | Organizer, as_admin: bool, *, enabling: bool) -> None:
    plugin = kernel.plugins.get(name)
    verb = "enabled" if enabling else "disabled"
    levels = EVENT_LEVELS if isinstance(target, Event) else ORGANIZER_LEVELS
    where = "an event" if isinstance(target, Event) else "an organizer"
    if plugin.meta.level == "global":
        raise PluginError(f"The plugin {name} is always active and cannot be switched.")
    if plugin.meta.level not in levels:
        raise PluginError(f"The plugin {name} is a {plugin.meta.level}-level plugin and cannot be {verb} on {where}.")
    if not as_admin and (not plugin.meta.togglable or not plugin.meta.visible):
        raise PluginError(f"The plugin {name} cannot be {verb} by organizers.")
    if (
        enabling
        and plugin.meta.level == "hybrid"
        and isinstance(target, Event)
        and name not in (target.organizer.plugins or [])
    ):
        raise PluginError(f"The plugin {name} must be enabled for the organizer before it can be enabled on an event.")


def set_plugins(
    kernel: Kernel,
    session: Session,
    target: Event | Organizer,
    names: Iterable[str],
    *,
    actor: Actor,
    as_admin: bool = False,
) -> tuple[list[str], list[str]]:
    """Make ``target.plugins`` exactly ``names``; returns ``(enabled, disabled)``. Nothing changes on error."""
    wanted = list(dict.fromkeys(names))
    current = list(target.plugins or [])
    added = [name for name in wanted if name not in current]
    removed = [name for name in current if name not in wanted]
    for name in added:
        _check(kernel, name, target, as_admin, enabling=True)
    for name in removed:
        # A plugin that was uninstalled may be dropped from the list freely.
        if name in kernel.plugins.plugins:
            _check(kernel, name, target, as_admin, enabling=False)
    if not added and not removed:
        return [], []
    target.plugins = wanted
    session.flush()
    organizer = target if isinstance(target, Organizer) else target.organizer
    event = target if isinstance(target, Event) else None
    for name in added:
        kernel.plugins.only(name).plugin_enabled(organizer=organizer, event=event, session=session)
    for name in removed:
        if name in kernel.plugins.plugins:
            kernel.plugins.only(name).plugin_disabled(organizer=organizer, event=event, session=session)
    prefix = "boxoffice.event" if event is not None else "boxoffice.organizer"
    if added:
        kernel.log_action(session, target, f"{prefix}.plugins.enabled", actor=actor, data={"plugins": added})
    if removed:
        kernel.log_action(session, target, f"{prefix}.plugins.disabled", actor=actor, data={"plugins": removed})
    return added, removed


def enable_plugin(
    kernel: Kernel, session: Session, target: Event | Organizer, name: str, *, actor: Actor, as_admin: bool = False
) -> bool:
    added, _ = set_plugins(kernel, session, target, [*(target.plugins or []), name], actor=actor, as_admin=as_admin)
    return bool(added)


def disable_plugin(
    kernel: Kernel, session: Session, target: Event | Organizer, name: str, *, actor: Actor, as_admin: bool = False
) -> bool:
    if name not in kernel.plugins.plugins and name not in (target.plugins or []):
        raise PluginError(f"Unknown plugin: {name}")
    remaining = [n for n in (target.plugins or []) if n != name]
    _, removed = set_plugins(kernel, session, target, remaining, actor=actor, as_admin=as_admin)
    return bool(removed)
