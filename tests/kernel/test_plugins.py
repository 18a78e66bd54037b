import sys
from itertools import chain
from types import SimpleNamespace

import pytest

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.kernel.models import Event, Organizer
from boxoffice.kernel.plugins import PluginError, PluginManager


class Answering:
    """A plugin that answers the placeholder registry with its own name."""

    def __init__(self, name: str, level: str = "event", togglable: bool = True) -> None:
        self.plugin_meta = PluginMeta(name=name.title(), level=level, togglable=togglable, version="9.9")
        self.name = name

    @hookimpl
    def register_text_placeholders(self, event):
        return [f"{self.name}@{event.slug}"]

    @hookimpl
    def register_settings_defaults(self):
        return None

    @hookimpl
    def order_paid(self, event, order):
        order.seen_by.append(self.name)


def make_event(slug: str, event_plugins: list[str], organizer_plugins: list[str] = ()) -> Event:
    organizer = Organizer(slug="org", name="Org", plugins=list(organizer_plugins))
    return Event(slug=slug, name={"en": slug}, plugins=event_plugins, organizer=organizer)


@pytest.fixture
def manager() -> PluginManager:
    manager = PluginManager()
    for name, level in [("alpha", "event"), ("beta", "event"), ("orgwide", "organizer"), ("hyb", "hybrid")]:
        assert manager.register(Answering(name, level), name)
    assert manager.register(Answering("always", "global"), "always")
    return manager


def test_bundled_plugins_are_entry_points_with_metadata():
    manager = PluginManager()
    manager.load_entry_points()
    assert manager.errors == {}
    assert {"core", "placeholders"} <= set(manager.plugins)
    core = manager.plugins["core"]
    assert core.meta.level == "global"
    assert not core.meta.togglable
    assert core.meta.version  # filled from the installed distribution
    assert core.distribution == "boxoffice"


def test_event_relay_reaches_only_enabled_plugins(manager: PluginManager):
    event = make_event("e1", ["alpha", "hyb", "orgwide"], organizer_plugins=["orgwide"])
    answers = sorted(chain.from_iterable(manager.for_event(event).register_text_placeholders(event=event)))
    # hyb is enabled on the event but not on the organizer; orgwide is organizer-level and enabled there.
    assert answers == ["alpha@e1", "always@e1", "orgwide@e1"]

    both = make_event("e2", ["beta", "hyb"], organizer_plugins=["hyb"])
    answers = sorted(chain.from_iterable(manager.for_event(both).register_text_placeholders(event=both)))
    assert answers == ["always@e2", "beta@e2", "hyb@e2"]

    bare = make_event("e3", [])
    assert manager.for_event(bare).register_text_placeholders(event=bare) == [["always@e3"]]


def test_notifications_are_scoped_too(manager: PluginManager):
    event = make_event("e1", ["beta"])
    order = SimpleNamespace(seen_by=[])
    manager.for_event(event).order_paid(event=event, order=order, session=None)
    assert sorted(order.seen_by) == ["always", "beta"]


def test_global_hooks_see_every_plugin(manager: PluginManager):
    relay = manager.for_event(make_event("e1", []))
    callers = {impl.plugin_name for impl in relay.register_settings_defaults.get_hookimpls()}
    assert {"alpha", "beta", "orgwide", "hyb", "always"} <= callers


def test_relays_are_cached_per_enabled_set(manager: PluginManager):
    first = manager.for_event(make_event("e1", ["alpha", "beta"]))
    second = manager.for_event(make_event("e2", ["beta", "alpha", "unknown-plugin"]))
    assert first is second
    assert first.register_text_placeholders is second.register_text_placeholders
    assert manager.for_event(make_event("e3", ["alpha"])) is not first
    manager.register(Answering("gamma"), "gamma")
    assert manager.for_event(make_event("e1", ["alpha", "beta"])) is not first  # cache dropped on change


def test_collect_knows_which_plugin_answered(manager: PluginManager):
    event = make_event("e1", ["alpha"])
    pairs = manager.for_event(event).collect("register_text_placeholders", event=event)
    assert sorted(pairs) == [("alpha", "alpha@e1"), ("always", "always@e1")]


def test_only_relay_reaches_one_plugin_even_on_global_hooks(manager: PluginManager):
    impls = manager.only("beta").register_settings_defaults.get_hookimpls()
    assert [impl.plugin_name for impl in impls] == ["beta"]


def test_misspelled_hook_is_reported_and_rejected():
    class Typo:
        @hookimpl
        def register_payment_provders(self, event):
            return []

    manager = PluginManager()
    assert not manager.register(Typo(), "typo")
    assert "unknown hook 'register_payment_provders'" in manager.errors["typo"]
    assert "typo" not in manager.plugins
    manager.pm.check_pending()  # nothing left behind


def test_hookimpl_asking_for_an_argument_the_hook_does_not_have():
    class WantsMore:
        @hookimpl
        def register_text_placeholders(self, event, shopping_cart):
            return []

    manager = PluginManager()
    assert not manager.register(WantsMore(), "wantsmore")
    assert "shopping_cart" in manager.errors["wantsmore"]


def test_kernel_only_hooks_refuse_third_party_plugins():
    class Sneaky:
        @hookimpl
        def register_transmission_types(self):
            return []

    manager = PluginManager()
    assert not manager.register(Sneaky(), "sneaky")
    assert "only the kernel" in manager.errors["sneaky"]


def test_malformed_metadata_is_a_load_error():
    manager = PluginManager()
    assert not manager.register(SimpleNamespace(plugin_meta={"name": "dict"}), "dictmeta")
    assert "PluginMeta" in manager.errors["dictmeta"]


def test_unknown_plugin_lookup_names_it(manager: PluginManager):
    with pytest.raises(PluginError, match="Unknown plugin: nope"):
        manager.get("nope")


def test_broken_entry_point_does_not_take_the_others_down(tmp_path, monkeypatch, install_fake_plugin):
    site = install_fake_plugin(
        tmp_path / "site",
        "boxoffice-fakes",
        {"broken": "fake_broken", "healthy": "fake_healthy", "missing": "fake_missing_module"},
        {
            "fake_broken.py": "raise ZeroDivisionError('kaputt at import')\n",
            "fake_healthy.py": """
                from boxoffice.hookspecs import PluginMeta, hookimpl
                plugin_meta = PluginMeta(category="INTEGRATION")

                @hookimpl
                def register_text_placeholders(event):
                    return ["healthy"]
            """,
        },
        summary="Fake plugins for tests",
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    manager = PluginManager()
    manager.load_entry_points()
    assert "ZeroDivisionError: kaputt at import" in manager.errors["broken"]
    assert "ModuleNotFoundError" in manager.errors["missing"]
    healthy = manager.plugins["healthy"]
    assert healthy.meta.version == "1.2.3"
    assert healthy.meta.author == "Test Author"
    assert healthy.meta.description == "Fake plugins for tests"
    assert healthy.meta.category == "INTEGRATION"
    assert {"core", "placeholders"} <= set(manager.plugins)


def test_disabled_plugins_are_not_loaded():
    manager = PluginManager(disabled=["placeholders"])
    manager.load_entry_points()
    assert "placeholders" not in manager.plugins
    assert "core" in manager.plugins


def test_metadata_is_checked(install_fake_plugin, tmp_path, monkeypatch):
    plugins = {
        "badlevel": 'from boxoffice.hookspecs import PluginMeta\nplugin_meta = PluginMeta(level="evnt")\n',
        "sneakyglobal": 'from boxoffice.hookspecs import PluginMeta\nplugin_meta = PluginMeta(level="global")\n',
        "toonew": 'from boxoffice.hookspecs import PluginMeta\nplugin_meta = PluginMeta(compatibility=">=99")\n',
        "fits": 'from boxoffice.hookspecs import PluginMeta\nplugin_meta = PluginMeta(compatibility=">=0.1,<99")\n',
    }
    site = install_fake_plugin(
        tmp_path / "site",
        "boxoffice-metachecks",
        {n: n for n in plugins},
        {f"{n}.py": src for n, src in plugins.items()},
    )
    monkeypatch.syspath_prepend(str(site))
    manager = PluginManager()
    manager.load_entry_points()
    assert "unknown level 'evnt'" in manager.errors["badlevel"]
    assert "reserved for boxoffice" in manager.errors["sneakyglobal"]
    assert "requires boxoffice>=99" in manager.errors["toonew"]
    assert "fits" in manager.plugins


def test_registry_hooks_refuse_wrappers():
    class Wrapping:
        @hookimpl(wrapper=True)
        def register_text_placeholders(self, event):
            return (yield)

    manager = PluginManager()
    assert not manager.register(Wrapping(), "wrapping")
    assert "registry hooks" in manager.errors["wrapping"]
