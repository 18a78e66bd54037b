"""Plugin manager: stevedore finds the plugins, pluggy calls them.

Every plugin, bundled or third-party, is an entry point in the ``boxoffice.plugins`` group. Hooks declared with
``@scope("event")`` (or ``"organizer"``) are called through a :class:`HookRelay` that holds only the plugins
active there; global hooks reach every installed plugin.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from pluggy import HookCaller, PluginValidationError
from stevedore import ExtensionManager

from boxoffice.hookspecs import ENTRY_POINT_GROUP, FAMILIES, PROJECT_NAME, PluginMeta

if TYPE_CHECKING:
    from boxoffice.kernel.models import Event, Organizer

logger = logging.getLogger(__name__)

# Hooks only the kernel's own default plugin may answer.
KERNEL_ONLY_HOOKS = frozenset({"register_transmission_types"})
KERNEL_PLUGIN = "core"


class PluginError(ValueError):
    """A plugin cannot be used as asked (unknown name, wrong level, not togglable …)."""


class RegistryError(PluginError):
    """A plugin contributed something broken to a registry (conflicting key, wrong type, a hook that raised)."""

    def __init__(self, plugin: str, message: str) -> None:
        super().__init__(message)
        self.plugin = plugin


@dataclass(frozen=True)
class LoadedPlugin:
    name: str
    module: Any
    meta: PluginMeta
    distribution: str | None = None

    @property
    def directory(self) -> Path | None:
        """The plugin's package folder, where ``migrations/`` and ``locale/`` live."""
        location = getattr(self.module, "__file__", None)
        return Path(location).parent if location else None

    @property
    def migrations_dir(self) -> Path | None:
        directory = self.directory
        if directory and (directory / "migrations" / "versions").is_dir():
            return directory / "migrations" / "versions"
        return None


def _metadata_from_distribution(distribution: metadata.Distribution | None) -> dict[str, str]:
    if distribution is None:
        return {}
    info = distribution.metadata
    author = info.get("Author") or info.get("Author-email") or ""
    return {"version": distribution.version, "author": author, "description": info.get("Summary") or ""}


LEVELS = ("event", "organizer", "hybrid", "global")
# Always-on plugins may come only from boxoffice itself: a third party must not become impossible to switch off.
GLOBAL_LEVEL_DISTRIBUTIONS = frozenset({"boxoffice"})


def _boxoffice_version() -> str:
    try:
        return metadata.version("boxoffice")
    except metadata.PackageNotFoundError:
        return "0"


def _complete_meta(name: str, module: Any, distribution: metadata.Distribution | None) -> PluginMeta:
    declared = getattr(module, "plugin_meta", None)
    if declared is not None and not isinstance(declared, PluginMeta):
        raise PluginError(f"plugin_meta must be a boxoffice.hookspecs.PluginMeta, not {type(declared).__name__}")
    meta = declared or PluginMeta()
    if meta.level not in LEVELS:
        raise PluginError(f"unknown level {meta.level!r} (one of {', '.join(LEVELS)})")
    if meta.level == "global" and distribution is not None and distribution.name not in GLOBAL_LEVEL_DISTRIBUTIONS:
        raise PluginError("level 'global' is reserved for boxoffice's own plugins; use 'organizer' or 'event'")
    if meta.compatibility:
        try:
            accepted = SpecifierSet(meta.compatibility)
        except InvalidSpecifier:
            raise PluginError(f"invalid compatibility specifier {meta.compatibility!r}") from None
        version = _boxoffice_version()
        if not accepted.contains(version, prereleases=True):
            raise PluginError(f"requires boxoffice{meta.compatibility}, this is boxoffice {version}")
    fallback = _metadata_from_distribution(distribution)
    return replace(
        meta,
        name=meta.name or name,
        version=meta.version or fallback.get("version", ""),
        author=meta.author or fallback.get("author", ""),
        description=meta.description or fallback.get("description", ""),
    )


class PluginManager:
    """Loads plugins, validates them against the hookspecs and hands out per-event hook relays."""

    def __init__(self, disabled: Iterable[str] = ()) -> None:
        self.pm = pluggy.PluginManager(PROJECT_NAME)
        self.scopes: dict[str, str] = {}
        for family in FAMILIES:
            self.pm.add_hookspecs(family)
            for name in dir(family):
                scope = getattr(getattr(family, name), "boxoffice_scope", None)
                if scope:
                    self.scopes[name] = scope
        self.disabled = frozenset(disabled)
        self.plugins: dict[str, LoadedPlugin] = {}
        self.errors: dict[str, str] = {}
        self._relays: dict[frozenset[str], HookRelay] = {}
        self._active_cache: dict[tuple[frozenset[str], frozenset[str]], frozenset[str]] = {}
        # Bumped whenever the set of registered plugins changes, so caches built from hooks know to rebuild.
        self.generation = 0

    @property
    def hook(self) -> pluggy.HookRelay:
        """All installed plugins: use for global hooks only."""
        return self.pm.hook

    def load_entry_points(self) -> None:
        """Discover and register every plugin in the ``boxoffice.plugins`` entry-point group."""
        # stevedore memoises entry points per process; a fresh look sees plugins installed since then.
        ExtensionManager.ENTRY_POINT_CACHE.pop(ENTRY_POINT_GROUP, None)
        extensions = ExtensionManager(
            namespace=ENTRY_POINT_GROUP,
            invoke_on_load=False,
            on_load_failure_callback=self._record_load_failure,
        )
        # stevedore's entry-point cache drops the owning distribution; importlib still knows it.
        distributions = {ep.name: ep.dist for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}
        for extension in extensions:
            if extension.name in self.disabled:
                continue
            self.register(extension.plugin, extension.name, distribution=distributions.get(extension.name))
        # Every implementation left registered has a spec now; this is the loud failure for anything missed.
        self.pm.check_pending()

    def _record_load_failure(self, _manager: Any, entry_point: Any, error: BaseException) -> None:
        if entry_point.name in self.disabled:
            return
        self.errors[entry_point.name] = f"cannot be imported: {type(error).__name__}: {error}"
        logger.error("plugin %s %s", entry_point.name, self.errors[entry_point.name])

    def register(
        self,
        plugin: ModuleType | object,
        name: str,
        *,
        meta: PluginMeta | None = None,
        distribution: metadata.Distribution | None = None,
    ) -> bool:
        """Register one plugin object under ``name``; on a broken plugin record the error and return False."""
        if name in self.plugins:
            self.errors[name] = "is installed twice (two entry points with the same name)"
            return False
        try:
            meta = meta or _complete_meta(name, plugin, distribution)
            self.pm.register(plugin, name)
        except (PluginValidationError, PluginError, ValueError) as error:
            self.errors[name] = f"is invalid: {error}"
            logger.error("plugin %s %s", name, self.errors[name])
            return False
        problem = self._check_implementations(plugin, name)
        if problem:
            self.pm.unregister(plugin)
            self.errors[name] = problem
            logger.error("plugin %s %s", name, problem)
            return False
        self.plugins[name] = LoadedPlugin(name, plugin, meta, distribution.name if distribution else None)
        self.errors.pop(name, None)
        self._changed()
        return True

    def unregister(self, name: str) -> None:
        loaded = self.plugins.pop(name)
        self.pm.unregister(loaded.module)
        self._changed()

    def _changed(self) -> None:
        self._relays.clear()
        self._active_cache.clear()
        self.generation += 1

    def _check_implementations(self, plugin: object, name: str) -> str | None:
        for hook_name, caller in vars(self.pm.hook).items():
            if not isinstance(caller, HookCaller):
                continue
            impls = [impl for impl in caller.get_hookimpls() if impl.plugin is plugin]
            if not impls:
                continue
            if not caller.has_spec() and not all(impl.optionalhook for impl in impls):
                return f"implements unknown hook {hook_name!r} (misspelled?)"
            if hook_name in KERNEL_ONLY_HOOKS and name != KERNEL_PLUGIN:
                return f"implements {hook_name!r}, which only the kernel may answer"
            if hook_name.startswith("register_") and any(impl.wrapper or impl.hookwrapper for impl in impls):
                return f"wraps {hook_name!r}; registry hooks take plain implementations"
        return None

    # --- activation -------------------------------------------------------------------------------------------

    def get(self, name: str) -> LoadedPlugin:
        try:
            return self.plugins[name]
        except KeyError:
            raise PluginError(f"Unknown plugin: {name}") from None

    def always_active(self) -> frozenset[str]:
        return frozenset(name for name, plugin in self.plugins.items() if plugin.meta.level == "global")

    def active_for_organizer(self, organizer: Organizer) -> frozenset[str]:
        enabled = set(organizer.plugins or ())
        chosen = {n for n, p in self.plugins.items() if n in enabled and p.meta.level in ("organizer", "hybrid")}
        return self.always_active() | chosen

    def active_for_event(self, event: Event) -> frozenset[str]:
        on_organizer = event.organizer.plugins if event.organizer is not None else ()
        return self._active_for(frozenset(event.plugins or ()), frozenset(on_organizer or ()))

    def _active_for(self, on_event: frozenset[str], on_organizer: frozenset[str]) -> frozenset[str]:
        # Called on every scoped hook call: memoised per pair of plugin lists, dropped when plugins change.
        key = (on_event, on_organizer)
        active = self._active_cache.get(key)
        if active is None:
            chosen = set(self.always_active())
            for name, plugin in self.plugins.items():
                level = plugin.meta.level
                if (
                    (level == "event" and name in on_event)
                    or (level == "organizer" and name in on_organizer)
                    or (level == "hybrid" and name in on_event and name in on_organizer)
                ):
                    chosen.add(name)
            active = self._active_cache[key] = frozenset(chosen)
        return active

    def relay(self, active: Iterable[str]) -> HookRelay:
        """A hook relay that reaches only ``active`` plugins on scoped hooks; cached per set."""
        key = frozenset(active)
        relay = self._relays.get(key)
        if relay is None:
            relay = self._relays[key] = HookRelay(self, key)
        return relay

    def for_event(self, event: Event) -> HookRelay:
        return self.relay(self.active_for_event(event))

    def for_organizer(self, organizer: Organizer) -> HookRelay:
        return self.relay(self.active_for_organizer(organizer))

    def only(self, name: str) -> HookRelay:
        """A relay reaching one plugin on every hook (used for ``plugin_enabled`` and friends)."""
        return HookRelay(self, frozenset({name}), restrict_global=True)

    # --- calling ----------------------------------------------------------------------------------------------

    def collect(self, caller: HookCaller, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call each implementation of a registry hook and flatten answers to ``(plugin name, item)`` pairs.

        Registries need to know which plugin contributed what (ownership decides where a route answers and
        which provider belongs to a disabled plugin), which pluggy's combined result does not tell.
        """
        collected: list[tuple[str, Any]] = []
        for impl in reversed(caller.get_hookimpls()):
            try:
                answer = impl.function(*(kwargs[arg] for arg in impl.argnames))
            except Exception as error:
                raise RegistryError(
                    impl.plugin_name, f"plugin {impl.plugin_name} failed in {caller.name}: {error!r}"
                ) from error
            for item in _flatten(answer):
                collected.append((impl.plugin_name, item))
        return collected

    def reject(self, name: str, reason: str) -> None:
        """Take a plugin out after it misbehaved while loading; it shows up among the load errors."""
        if name in self.plugins:
            self.unregister(name)
        self.errors[name] = reason
        logger.error("plugin %s %s", name, reason)

    def catalog_dirs(self) -> Iterator[tuple[str, Path]]:
        """``(domain, locale folder)`` of every plugin that ships translations."""
        for name, plugin in self.plugins.items():
            directory = plugin.directory
            if directory and (directory / "locale").is_dir():
                yield name, directory / "locale"

    def migration_dirs(self) -> dict[str, Path]:
        return {name: p.migrations_dir for name, p in self.plugins.items() if p.migrations_dir is not None}


def _flatten(answer: Any) -> Iterator[Any]:
    if answer is None:
        return
    if isinstance(answer, list | tuple):
        yield from (item for item in answer if item is not None)
    else:
        yield answer


class HookRelay:
    """Attribute access like ``pm.hook``, but scoped hooks only reach the plugins in ``active``."""

    def __init__(self, manager: PluginManager, active: frozenset[str], *, restrict_global: bool = False) -> None:
        self._manager = manager
        self.active = active
        self._restrict_global = restrict_global
        self._callers: dict[str, HookCaller] = {}

    def __getattr__(self, hook_name: str) -> HookCaller:
        if hook_name.startswith("_"):
            raise AttributeError(hook_name)
        caller = self._callers.get(hook_name)
        if caller is None:
            caller = self._callers[hook_name] = self._build(hook_name)
        return caller

    def _build(self, hook_name: str) -> HookCaller:
        manager = self._manager
        full: HookCaller = getattr(manager.pm.hook, hook_name)
        if hook_name not in manager.scopes and not self._restrict_global:
            return full
        excluded = [p.module for n, p in manager.plugins.items() if n not in self.active]
        return manager.pm.subset_hook_caller(hook_name, remove_plugins=excluded) if excluded else full

    def collect(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        return self._manager.collect(getattr(self, hook_name), **kwargs)
