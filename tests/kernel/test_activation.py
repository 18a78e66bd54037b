from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.kernel.activation import disable_plugin, enable_plugin, set_plugins
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.models import Event, LogEntry, Organizer
from boxoffice.kernel.plugins import PluginError


class Recorder:
    def __init__(self, level="event", togglable=True):
        self.plugin_meta = PluginMeta(level=level, togglable=togglable)
        self.calls = []

    @hookimpl
    def plugin_enabled(self, organizer, event):
        self.calls.append(("enabled", organizer.slug, event.slug if event else None))

    @hookimpl
    def plugin_disabled(self, organizer, event):
        self.calls.append(("disabled", organizer.slug, event.slug if event else None))


@pytest.fixture
def setup(make_kernel):
    plugins = {
        "alpha": Recorder(),
        "beta": Recorder(),
        "locked": Recorder(togglable=False),
        "orgwide": Recorder(level="organizer"),
    }
    kernel = make_kernel(**plugins)
    with kernel.db.session() as session:
        organizer = Organizer(slug="org", name="Org", plugins=[])
        event = Event(organizer=organizer, slug="ev", name={"en": "Ev"}, date_from=datetime(2031, 1, 1, tzinfo=UTC))
        session.add(event)
    return kernel, plugins, event.id


def test_enable_disable_calls_only_that_plugin_and_logs(setup):
    kernel, plugins, event_id = setup
    actor = Actor("token", "7")
    with kernel.db.session() as session:
        event = session.get(Event, event_id)
        assert enable_plugin(kernel, session, event, "alpha", actor=actor)
        assert not enable_plugin(kernel, session, event, "alpha", actor=actor)
    assert plugins["alpha"].calls == [("enabled", "org", "ev")]
    assert plugins["beta"].calls == []
    with kernel.db.session() as session:
        event = session.get(Event, event_id)
        assert event.plugins == ["alpha"]
        assert "alpha" in kernel.plugins.active_for_event(event)
        assert disable_plugin(kernel, session, event, "alpha", actor=actor)
    assert plugins["alpha"].calls[-1] == ("disabled", "org", "ev")
    with kernel.db.session() as session:
        entries = session.scalars(select(LogEntry).order_by(LogEntry.id)).all()
        assert [(e.action_type, e.data, e.actor_type, e.actor_id, e.event_id) for e in entries] == [
            ("boxoffice.event.plugins.enabled", {"plugins": ["alpha"]}, "token", "7", event_id),
            ("boxoffice.event.plugins.disabled", {"plugins": ["alpha"]}, "token", "7", event_id),
        ]


def test_set_plugins_is_all_or_nothing(setup):
    kernel, plugins, event_id = setup
    with kernel.db.session() as session:
        event = session.get(Event, event_id)
        with pytest.raises(PluginError, match="Unknown plugin: nope"):
            set_plugins(kernel, session, event, ["alpha", "nope"], actor=Actor("user", "1"))
        assert event.plugins == []
        with pytest.raises(PluginError, match="cannot be enabled by organizers"):
            set_plugins(kernel, session, event, ["beta", "locked"], actor=Actor("user", "1"))
        assert event.plugins == []
        assert plugins["beta"].calls == []
        added, removed = set_plugins(kernel, session, event, ["beta", "locked"], actor=Actor("cli"), as_admin=True)
        assert (added, removed) == (["beta", "locked"], [])


def test_levels_are_respected(setup):
    kernel, plugins, event_id = setup
    with kernel.db.session() as session:
        event = session.get(Event, event_id)
        with pytest.raises(PluginError, match="organizer-level plugin"):
            enable_plugin(kernel, session, event, "orgwide", actor=Actor("cli"))
        with pytest.raises(PluginError, match="always active"):
            enable_plugin(kernel, session, event, "core", actor=Actor("cli"), as_admin=True)
        assert enable_plugin(kernel, session, event.organizer, "orgwide", actor=Actor("cli"))
        assert "orgwide" in kernel.plugins.active_for_event(event)
    assert plugins["orgwide"].calls == [("enabled", "org", None)]


def test_uninstalled_plugins_can_be_dropped(setup):
    kernel, _plugins, event_id = setup
    with kernel.db.session() as session:
        event = session.get(Event, event_id)
        event.plugins = ["alpha", "gone"]
        assert disable_plugin(kernel, session, event, "gone", actor=Actor("cli"))
        assert event.plugins == ["alpha"]
        with pytest.raises(PluginError, match="Unknown plugin: never"):
            disable_plugin(kernel, session, event, "never", actor=Actor("cli"))


def test_hybrid_plugins_need_the_organizer_first(make_kernel):
    kernel = make_kernel(hyb=Recorder(level="hybrid"))
    with kernel.db.session() as session:
        organizer = Organizer(slug="org", name="Org", plugins=[])
        event = Event(organizer=organizer, slug="ev", name={"en": "Ev"}, date_from=datetime(2031, 1, 1, tzinfo=UTC))
        session.add(event)
        with pytest.raises(PluginError, match="enabled for the organizer before"):
            enable_plugin(kernel, session, event, "hyb", actor=Actor("cli"))
        enable_plugin(kernel, session, organizer, "hyb", actor=Actor("cli"))
        assert "hyb" not in kernel.plugins.active_for_event(event)
        enable_plugin(kernel, session, event, "hyb", actor=Actor("cli"))
        assert "hyb" in kernel.plugins.active_for_event(event)


def test_refusing_a_disable_says_disable(setup):
    kernel, _plugins, event_id = setup
    with kernel.db.session() as session:
        event = session.get(Event, event_id)
        set_plugins(kernel, session, event, ["locked"], actor=Actor("cli"), as_admin=True)
        with pytest.raises(PluginError, match="cannot be disabled by organizers"):
            disable_plugin(kernel, session, event, "locked", actor=Actor("user", "1"))
