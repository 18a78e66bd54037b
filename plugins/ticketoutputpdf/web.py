"""PDF tickets in the control panel: whether buyers get PDF downloads (the output's ``_enabled`` setting, under
the name pretix uses), as a settings form derived from the declared setting."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from boxoffice.hookspecs import hookimpl
from boxoffice.hookspecs.providers import SettingDefault
from boxoffice.hookspecs.web import SettingsForm
from boxoffice.kernel.i18n import dgettext
from boxoffice.plugins.ticketoutputpdf.output import PdfTicketOutput

DOMAIN = "ticketoutputpdf"
# The sandbox the kernel gives the output (kernel/tickets.py): "ticketoutput_<identifier>_".
PREFIX = f"ticketoutput_{PdfTicketOutput.identifier}_"
SETTINGS = (
    SettingDefault(
        "_enabled",
        True,
        bool,
        public=True,
        description="Offer tickets as PDF downloads to buyers",
        permission="event.settings.general:write",
    ),
)


@hookimpl
def register_settings_defaults() -> list[SettingDefault]:
    return [replace(entry, key=f"{PREFIX}{entry.key}") for entry in SETTINGS]


@hookimpl
def control_settings_forms(event: Any) -> SettingsForm:
    return SettingsForm.from_schema(dgettext(DOMAIN, "PDF tickets"), PREFIX, {entry.key: entry for entry in SETTINGS})
