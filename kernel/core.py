"""The kernel object: configuration, database, plugins and the registries built from them, in one place.

Apps (API, worker, CLI) build one ``Kernel`` per process and pass it around; nothing here is a global.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from boxoffice.hookspecs.providers import JobDefinition
from boxoffice.kernel.audit import Actor, log_action
from boxoffice.kernel.config import Config, load_config
from boxoffice.kernel.db import Database
from boxoffice.kernel.i18n import I18n, set_default_i18n
from boxoffice.kernel.jobs import JobRunner
from boxoffice.kernel.plugins import PluginManager, RegistryError
from boxoffice.kernel.settings import Settings, SettingsRegistry

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session

    from boxoffice.kernel.models import Event, LogEntry, Organizer

KERNEL_DIR = Path(__file__).parent
KERNEL_KEY = "boxoffice_kernel"


def kernel_of(session: Session) -> Kernel:
    """The kernel whose database ``session`` belongs to (for code that is handed a session only, like hooks)."""
    kernel = session.info.get(KERNEL_KEY)
    if kernel is None:
        raise RuntimeError("this session was not opened through a kernel's database")
    return kernel


def _required_arguments(function: Any) -> list[str]:
    """Parameters after the job context that have no default (a periodic run has nothing to pass)."""
    parameters = list(inspect.signature(function).parameters.values())[1:]
    return [p.name for p in parameters if p.default is p.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]


@dataclass(frozen=True)
class Registries:
    """Everything collected from global hooks, rebuilt when the set of installed plugins changes."""

    settings: SettingsRegistry
    jobs: dict[str, JobDefinition]

    @classmethod
    def collect(cls, plugins: PluginManager) -> Registries:
        jobs: dict[str, JobDefinition] = {}
        owners: dict[str, str] = {}
        for owner, job in plugins.collect(plugins.hook.register_jobs):
            if not isinstance(job, JobDefinition):
                raise RegistryError(owner, f"plugin {owner} returned {type(job).__name__} from register_jobs")
            if job.every_seconds and _required_arguments(job.function):
                raise RegistryError(
                    owner, f"periodic job {job.name!r} from {owner} needs arguments {_required_arguments(job.function)}"
                )
            if job.name in jobs:
                raise RegistryError(owner, f"job {job.name!r} is registered by both {owners[job.name]} and {owner}")
            jobs[job.name], owners[job.name] = job, owner
        return cls(settings=SettingsRegistry.from_plugins(plugins), jobs=jobs)


class Kernel:
    def __init__(self, config: Config | None = None, *, plugins: PluginManager | None = None) -> None:
        self.config = config or load_config()
        self.db = Database(self.config.effective_database_url, self.config.db_pool_size)
        # Hooks receive only the session; what they queue (the outbound queue) finds its kernel through it.
        self.db.sessionmaker.configure(info={KERNEL_KEY: self})
        if plugins is None:
            plugins = PluginManager(disabled=self.config.disabled_plugins)
            plugins.load_entry_points()
        self.plugins = plugins
        self.jobs = JobRunner(self)
        self._registries: tuple[int, Registries] | None = None
        # Built now so module-level gettext/localize (used by plugins) see every catalog in every process.
        self.i18n  # noqa: B018

    @property
    def registries(self) -> Registries:
        """Settings and jobs of all plugins; a plugin contributing something broken is taken out (load error)."""
        generation = self.plugins.generation
        if self._registries is None or self._registries[0] != generation:
            while True:
                try:
                    collected = Registries.collect(self.plugins)
                    break
                except RegistryError as error:
                    if error.plugin not in self.plugins.plugins:
                        raise
                    self.plugins.reject(error.plugin, str(error))
            self._registries = (self.plugins.generation, collected)
        return self._registries[1]

    @cached_property
    def i18n(self) -> I18n:
        i18n = I18n(self.config.default_locale, self.config.locales)
        i18n.add_catalog_dir("boxoffice", KERNEL_DIR / "locale")
        for domain, directory in self.plugins.catalog_dirs():
            i18n.add_catalog_dir(domain, directory)
        # Module-level gettext/localize (used by plugins) should see the plugins' catalogs too.
        set_default_i18n(i18n)
        return i18n

    def settings_for(
        self, session: Session, *, event: Event | None = None, organizer: Organizer | None = None
    ) -> Settings:
        return Settings(session, self.registries.settings, event=event, organizer=organizer)

    def log_action(
        self, session: Session, obj: Any, action_type: str, *, actor: Actor, data: dict[str, Any] | None = None
    ) -> LogEntry:
        return log_action(session, self.plugins.hook, obj, action_type, actor=actor, data=data)

    def provider_step(self, session: Session, actor: Actor) -> AbstractContextManager[None]:
        """Let payment providers report money outside a step the kernel runs for them (a bank statement import, a
        processor's webhook): inside the block, ``PaymentProvider.confirm``, ``record_received`` and
        ``refund_sent`` work on ``session`` and are audit-logged as ``actor``."""
        # The orders engine is loaded on use: the kernel object is built by processes that never touch orders.
        from boxoffice.kernel.orders.payments import provider_step

        return provider_step(self, session, actor)

    def close(self) -> None:
        self.db.dispose()
