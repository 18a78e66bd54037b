"""Reading and writing settings through the API (organizer and event ``…/settings/`` endpoints)."""

from __future__ import annotations

from typing import Any

from boxoffice.apps.api.errors import FieldErrors, forbidden
from boxoffice.apps.api.toolkit import Call, parse_bool
from boxoffice.kernel.models import Event, Organizer
from boxoffice.kernel.settings import Settings, SettingsError

# Devices read only what a scanner or POS needs to present the event.
DEVICE_VISIBLE_SETTINGS = frozenset({"locale", "locales", "timezone", "show_quota_left", "contact_mail"})


def _visible(call: Call, settings: Settings) -> dict[str, Any]:
    values = settings.as_dict(public_only=True)
    if call.principal.is_device:
        values = {key: value for key, value in values.items() if key in DEVICE_VISIBLE_SETTINGS}
    return values


def read_settings(call: Call, settings: Settings) -> dict[str, Any]:
    values = _visible(call, settings)
    if not parse_bool(call.query, "explain"):
        return values
    declared = settings.registry.defaults
    return {
        key: {"value": value, "label": declared[key].description or key, "help_text": declared[key].description}
        for key, value in values.items()
    }


def write_settings(call: Call, settings: Settings, changes: dict[str, Any], target: Event | Organizer) -> None:
    """Validate every change (declared public key, type, plugin validators) before writing any; audit-log them."""
    declared = settings.registry.defaults
    errors: dict[str, list[str]] = {}
    checked: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in declared or not declared[key].public:
            errors[key] = ["This setting does not exist or cannot be changed through the API."]
            continue
        if isinstance(target, Event) and not call.principal.has_event_permission(declared[key].permission):
            raise forbidden()
        if value is None:
            checked[key] = None
            continue
        try:
            checked[key] = settings.check(key, value)
        except SettingsError as error:
            errors[key] = [error.message]
    if isinstance(target, Event) and not errors:
        relay = call.kernel.plugins.for_event(target)
        for answer in relay.validate_event_settings(event=target, changes=checked):
            for key, messages in (answer or {}).items():
                errors.setdefault(key, []).extend(messages)
    if errors:
        raise FieldErrors(errors)
    for key, value in checked.items():
        if value is None:
            settings.delete(key)
        else:
            settings.set(key, value)
    if checked:
        logged = {key: (str(value) if value is not None else None) for key, value in checked.items()}
        prefix = "boxoffice.event" if isinstance(target, Event) else "boxoffice.organizer"
        call.log(target, f"{prefix}.settings", logged)
