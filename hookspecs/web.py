"""Web pages: what plugins add to the organizer's control panel (settings forms, navigation entries, pages).

The control panel lists every plugin an organizer may switch on an event with its name and description; when it
is enabled, the forms and entries below appear. Settings forms need no HTML: they are built from the settings the
plugin already declares with ``register_settings_defaults`` (type → input, description → label), saved with the
same checks as the REST API (declared type, ``validate_event_settings``, the setting's ``permission``) and
audit-logged as the user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from boxoffice.hookspecs import hookspec, scope

if TYPE_CHECKING:
    from boxoffice.hookspecs.providers import SettingDefault
    from boxoffice.kernel.models import Event


@dataclass(frozen=True)
class SettingsForm:
    """One form on the plugin's settings page: the declared setting ``keys`` it edits, in this order.

    ``choices`` turns a text setting into a select (``{key: [(value, label), …]}``); ``multiline`` keys get a text
    area. Keys nobody declared are left out (their type would be unknown).
    """

    title: str
    keys: Sequence[str]
    description: str = ""
    choices: Mapping[str, Sequence[tuple[str, str]]] = field(default_factory=dict)
    multiline: frozenset[str] = frozenset()

    @classmethod
    def from_schema(
        cls, title: str, prefix: str, schema: Mapping[str, SettingDefault] | Iterable[str], **options: Any
    ) -> SettingsForm:
        """A form for a provider's ``settings_schema`` (or its keys), relative to the provider's sandbox ``prefix``
        (``payment_banktransfer``, ``ticketoutput_pdf_``); keys the plugin did not declare are left out."""
        return cls(title=title, keys=[f"{prefix}{key}" for key in schema], **options)


@dataclass(frozen=True)
class NavigationEntry:
    """A link in the event's navigation bar of the control panel.

    ``path`` is relative to the event's control URL (``/control/<organizer>/<event>/``): a page of your own from
    :func:`register_control_routes` is at ``p/<plugin name>/…``. The entry is shown only to users with the event
    ``permission`` (``None``: everyone who sees the event).
    """

    label: str
    path: str
    permission: str | None = None


@hookspec
@scope("event")
def control_settings_forms(event: Event) -> list[SettingsForm] | SettingsForm | None:
    """Return the :class:`SettingsForm` objects of your plugin's settings page in the control panel for ``event``.

    Shown under *Plugins* once the plugin is enabled on the event. A payment provider usually needs one line::

        @hookimpl
        def control_settings_forms(event):
            return SettingsForm.from_schema("Bank transfer", "payment_banktransfer", BANK_SETTINGS)

    Each key must be declared through ``register_settings_defaults``; values are stored on the event.
    """


@hookspec
@scope("event")
def control_event_navigation(event: Event) -> list[NavigationEntry] | NavigationEntry | None:
    """Return :class:`NavigationEntry` links for the event's navigation in the control panel (only where the
    plugin is enabled on ``event``)."""


@hookspec
def register_control_routes() -> list[Any] | None:
    """Return Litestar route handlers for pages of your own in the control panel.

    They are mounted under ``/control/{organizer_slug}/{event_slug}/p/<plugin name>/`` and answer only for
    logged-in users who may see the event, on events where the plugin is enabled (404 elsewhere). Handlers
    receive ``event`` (the resolved event), ``viewer`` (the user: ``actor`` for audit logging and
    ``principal(organizer_id)`` with ``has_event_permission(name)``) and ``kernel``. Put templates in
    ``templates/<plugin name>/`` inside your package (they may extend ``"control/base.html"``); forms must carry
    ``{{ csrf_input | safe }}``. Link to the pages with :func:`control_event_navigation`.
    """
