from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from boxoffice.hookspecs import hookimpl
from boxoffice.hookspecs.providers import SettingDefault
from boxoffice.kernel.models import Event, Organizer
from boxoffice.kernel.settings import SettingsError, SettingsRegistry


class ContributesDefaults:
    @hookimpl
    def register_settings_defaults(self):
        return [
            SettingDefault("myplug_fee", Decimal("1.50"), Decimal, public=True),
            SettingDefault("myplug_limit", 5, int),
            SettingDefault("myplug_opens", None, date),
            SettingDefault("myplug_labels", {"en": "Hello"}, dict, public=True),
        ]


@pytest.fixture
def scopes(make_kernel):
    kernel = make_kernel(myplug=ContributesDefaults())
    with kernel.db.session() as session:
        organizer = Organizer(slug="org", name="Org", plugins=[])
        event = Event(organizer=organizer, slug="ev", name={"en": "Ev"}, date_from=datetime(2031, 1, 1, tzinfo=UTC))
        other = Event(organizer=organizer, slug="ev2", name={"en": "Ev2"}, date_from=datetime(2031, 1, 1, tzinfo=UTC))
        session.add_all([organizer, event, other])
    return kernel, organizer, event, other


def test_plugin_defaults_and_hierarchy(scopes):
    kernel, organizer, event, other = scopes
    with kernel.db.session() as session:
        assert kernel.settings_for(session, event=event).get("myplug_fee") == Decimal("1.50")
        assert kernel.settings_for(session, event=event).get("payment_term_days") == 14  # kernel default
        kernel.settings_for(session).set("myplug_limit", 7)
        kernel.settings_for(session, organizer=organizer).set("myplug_fee", "2.25")
        kernel.settings_for(session, event=event).set("myplug_fee", Decimal("3"))
    with kernel.db.session() as session:
        event_settings = kernel.settings_for(session, event=session.get(Event, event.id))
        assert event_settings.get("myplug_fee") == Decimal("3")
        assert event_settings.get("myplug_limit") == 7  # from the global scope
        assert event_settings.is_set_here("myplug_fee")
        assert not event_settings.is_set_here("myplug_limit")
        sibling = kernel.settings_for(session, event=session.get(Event, other.id))
        assert sibling.get("myplug_fee") == Decimal("2.25")  # from the organizer
        sibling.set("myplug_opens", "2031-02-03")
        assert sibling.get("myplug_opens") == date(2031, 2, 3)
        event_settings.delete("myplug_fee")
        assert event_settings.get("myplug_fee") == Decimal("2.25")


def test_types_are_enforced_and_bad_values_name_the_key(scopes):
    kernel, _organizer, event, _other = scopes
    with kernel.db.session() as session:
        settings = kernel.settings_for(session, event=event)
        with pytest.raises(SettingsError, match="myplug_limit"):
            settings.set("myplug_limit", "lots")
        with pytest.raises(SettingsError, match="myplug_limit"):
            settings.set("myplug_limit", True)
        with pytest.raises(SettingsError, match="myplug_fee"):
            settings.set("myplug_fee", "NaN")
        with pytest.raises(SettingsError, match="myplug_labels"):
            settings.set("myplug_labels", ["not", "a", "dict"])
        with pytest.raises(SettingsError, match="undeclared"):
            settings.set("free_form", object())


def test_update_checks_everything_before_writing(scopes):
    kernel, _organizer, event, _other = scopes
    with kernel.db.session() as session:
        settings = kernel.settings_for(session, event=event)
        with pytest.raises(SettingsError, match="myplug_limit"):
            settings.update({"myplug_fee": "9.99", "myplug_limit": "x"})
        assert settings.get("myplug_fee") == Decimal("1.50")
        settings.update({"myplug_fee": "9.99", "myplug_limit": "8"})
        assert (settings.get("myplug_fee"), settings.get("myplug_limit")) == (Decimal("9.99"), 8)


def test_public_view_and_sandbox(scopes):
    kernel, _organizer, event, _other = scopes
    with kernel.db.session() as session:
        settings = kernel.settings_for(session, event=event)
        public = settings.as_dict(public_only=True)
        assert public["myplug_fee"] == Decimal("1.50")
        assert "myplug_limit" not in public
        sandbox = settings.sandbox("myplug_")
        assert sandbox.get("_limit") == 5
        sandbox.set("limit", 11)
        assert settings.get("myplug_limit") == 11
        assert sandbox.get("unknown", "fallback") == "fallback"


def test_undeclared_keys_round_trip_json(scopes):
    kernel, _organizer, event, _other = scopes
    with kernel.db.session() as session:
        kernel.settings_for(session, event=event).set("adhoc", {"a": [1, 2]})
    with kernel.db.session() as session:
        assert kernel.settings_for(session, event=session.get(Event, event.id)).get("adhoc") == {"a": [1, 2]}


def test_conflicting_declarations_are_rejected():
    registry = SettingsRegistry([("one", SettingDefault("shared_key", 1, int))])
    with pytest.raises(SettingsError, match="declared by both one and two"):
        registry.declare(SettingDefault("shared_key", 2, int), "two")
    with pytest.raises(SettingsError, match="unsupported type"):
        registry.declare(SettingDefault("weird", None, set), "two")
    with pytest.raises(SettingsError, match="expected a value of type int"):
        registry.declare(SettingDefault("badint", "x", int), "two")


def test_a_datetime_is_not_a_date(scopes):
    kernel, _organizer, event, _other = scopes
    with kernel.db.session() as session:
        settings = kernel.settings_for(session, event=event)
        with pytest.raises(SettingsError, match="myplug_opens"):
            settings.set("myplug_opens", datetime(2031, 2, 3, 10, 0, tzinfo=UTC))
        settings.set("myplug_opens", date(2031, 2, 3))
        assert settings.as_dict()["myplug_opens"] == date(2031, 2, 3)
