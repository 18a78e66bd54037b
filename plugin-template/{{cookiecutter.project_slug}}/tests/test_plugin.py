"""Tests for {{ cookiecutter.plugin_name }}: the kernel's plugin manager, real models, no database.

Run ``pip install -e .`` first: the plugin is found through its entry point, exactly as in production.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from boxoffice.hookspecs.providers import render_placeholders
from boxoffice.kernel.models import Event, Organizer
from boxoffice.kernel.plugins import PluginManager

import {{ cookiecutter.module_name }}

NAME = "{{ cookiecutter.entry_point_name }}"


@pytest.fixture(scope="module")
def manager() -> PluginManager:
    manager = PluginManager()
    manager.load_entry_points()
    assert NAME not in manager.errors, manager.errors[NAME]
    assert NAME in manager.plugins, f"entry point {NAME!r} not found: run `pip install -e .` in this project"
    return manager


def make_event(slug: str, *, enabled: bool) -> Event:
    """A transient event (never added to a session) with the plugin switched on or off."""
    on = [NAME] if enabled else []
{%- if cookiecutter.level == "event" %}
    organizer = Organizer(slug="org", name="Organizer", plugins=[])
    return Event(slug=slug, name={"en": slug}, plugins=on, organizer=organizer)
{%- elif cookiecutter.level == "organizer" %}
    # An organizer-level plugin is switched on for all events of the organizer.
    organizer = Organizer(slug="org", name="Organizer", plugins=on)
    return Event(slug=slug, name={"en": slug}, plugins=[], organizer=organizer)
{%- else %}
    # A hybrid plugin must be switched on for the organizer and for the event.
    organizer = Organizer(slug="org", name="Organizer", plugins=[NAME])
    return Event(slug=slug, name={"en": slug}, plugins=on, organizer=organizer)
{%- endif %}


def placeholders_of(manager: PluginManager, event: Event) -> dict[str, Any]:
    """This plugin's placeholders for ``event``, by identifier."""
    answers = manager.for_event(event).collect("register_text_placeholders", event=event)
    return {item.identifier: item for plugin, item in answers if plugin == NAME}


def test_metadata(manager: PluginManager) -> None:
    meta = manager.plugins[NAME].meta
    assert meta.name == "{{ cookiecutter.plugin_name }}"
    assert meta.category == "{{ cookiecutter.category }}"
    assert meta.level == "{{ cookiecutter.level }}"
    assert meta.version == "{{ cookiecutter.version }}"
    assert manager.plugins[NAME].module is {{ cookiecutter.module_name }}


def test_placeholder_only_where_enabled(manager: PluginManager) -> None:
    enabled = make_event("summer-fest", enabled=True)
    disabled = make_event("winter-fest", enabled=False)

    placeholders = placeholders_of(manager, enabled)
    assert set(placeholders) == { {{- cookiecutter.module_name }}.PLACEHOLDER}
    placeholder = placeholders[{{ cookiecutter.module_name }}.PLACEHOLDER]
    assert placeholder.required_context == ("event",)
    assert placeholder.render({"event": enabled}) == "SUMMER-FEST"
    assert placeholder.render_sample(enabled) == "SUMMER-FEST"
    text = f"See you at {{ '{{' }}{ {{- cookiecutter.module_name }}.PLACEHOLDER}{{ '}}' }}!"
    assert render_placeholders(text, placeholders.values(), {"event": enabled}) == "See you at SUMMER-FEST!"

    assert placeholders_of(manager, disabled) == {}


def test_ships_migrations_and_translations(manager: PluginManager) -> None:
    versions = manager.migration_dirs()[NAME]
    assert (versions / f"{NAME}_0001_initial.py").is_file()

    catalogs = dict(manager.catalog_dirs())
    po_file = Path(catalogs[NAME]) / "de" / "LC_MESSAGES" / f"{NAME}.po"
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale="de", domain=NAME)
    assert all(message.string for message in catalog if message.id)
