"""The contract between the kernel and its plugins.

Plugin authors need three names from here::

    from boxoffice.hookspecs import PluginMeta, hookimpl

    plugin_meta = PluginMeta(name="My plugin", author="Me", description="…", category="FEATURE")

    @hookimpl
    def register_text_placeholders(event):
        ...

and the provider base classes in :mod:`boxoffice.hookspecs.providers`. Each module of this package is one hook
family; each hook is a function whose docstring is its reference documentation (``docs/plugins.md`` is generated
from them). This package imports nothing of the kernel at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

import pluggy

PROJECT_NAME = "boxoffice"
ENTRY_POINT_GROUP = "boxoffice.plugins"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

Scope = Literal["event", "organizer", "global"]
_F = TypeVar("_F", bound=Callable[..., object])


def scope(where: Scope) -> Callable[[_F], _F]:
    """Declare which plugins a hook reaches.

    ``event``: only plugins enabled on the event passed in (plus always-on plugins).
    ``organizer``: only plugins enabled on the organizer passed in (plus always-on plugins).
    ``global`` (the default for undecorated hooks): every installed plugin.
    """

    def mark(function: _F) -> _F:
        function.boxoffice_scope = where  # type: ignore[attr-defined]
        return function

    return mark


PluginLevel = Literal["event", "organizer", "hybrid", "global"]
CATEGORIES = ("PAYMENT", "FORMAT", "FEATURE", "INTEGRATION", "CUSTOMIZATION", "API", "CORE")


@dataclass(frozen=True)
class PluginMeta:
    """What a plugin says about itself: expose an instance as ``plugin_meta`` in the entry-point module.

    ``level`` says where the plugin is switched on: ``event`` (per event), ``organizer`` (for all events of an
    organizer), ``hybrid`` (on the organizer, and active only in events that enable it too) or ``global``
    (always active, cannot be switched off — for the kernel's own default plugins).
    ``togglable`` says whether organizers may switch it themselves (otherwise only an administrator may).
    ``compatibility`` is a version specifier for boxoffice, e.g. ``">=0.1"``. Fields left empty are filled
    from the installed distribution's metadata (version, author, summary).
    """

    name: str = ""
    version: str = ""
    author: str = ""
    description: str = ""
    category: str = "FEATURE"
    level: PluginLevel = "event"
    togglable: bool = True
    visible: bool = True
    compatibility: str = ""


# Imported last: the family modules use the markers defined above.
from boxoffice.hookspecs import (  # noqa: E402
    api,
    datasync,
    exporters,
    invoicing,
    lifecycle,
    payments,
    placeholders,
    settings,
    shredders,
    tasks,
    ticket_outputs,
    validation,
    web,
)

FAMILIES = (
    payments,
    ticket_outputs,
    exporters,
    placeholders,
    shredders,
    invoicing,
    datasync,
    lifecycle,
    validation,
    settings,
    tasks,
    api,
    web,
)

__all__ = ["CATEGORIES", "ENTRY_POINT_GROUP", "FAMILIES", "PluginMeta", "hookimpl", "hookspec", "scope"]
