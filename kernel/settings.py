"""Typed hierarchical settings: event → organizer → global → declared default.

Plugins declare keys with the ``register_settings_defaults`` hook. A declared type is enforced when a value is
stored (a bad value raises :class:`SettingsError` naming the key) and restored when it is read. Values are stored
as JSON text in the ``setting`` table, one row per scope and key.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from boxoffice.hookspecs.providers import SettingDefault
from boxoffice.kernel.models import Setting
from boxoffice.kernel.plugins import RegistryError

if TYPE_CHECKING:
    from boxoffice.kernel.models import Event, Organizer
    from boxoffice.kernel.plugins import PluginManager

SUPPORTED_TYPES = (str, int, float, bool, Decimal, dict, list, date, datetime, time)
_MISSING = object()


class SettingsError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def coerce(key: str, value: Any, kind: type) -> Any:
    """Convert ``value`` to ``kind`` or raise a ``SettingsError`` naming ``key``; ``None`` clears a value."""
    # bool is an int and datetime is a date to isinstance(), but not to a typed setting.
    wrong_subclass = (kind is int and isinstance(value, bool)) or (kind is date and isinstance(value, datetime))
    if value is None or (isinstance(value, kind) and not wrong_subclass):
        return value
    try:
        if kind is bool:
            if isinstance(value, str) and value.lower() in {"true", "false", "1", "0"}:
                return value.lower() in {"true", "1"}
            raise ValueError
        if kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if kind is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if kind is Decimal:
            if isinstance(value, bool | float):
                value = str(value)
            result = Decimal(str(value))
            if not result.is_finite():
                raise ValueError
            return result
        if kind is str:
            if isinstance(value, dict | list):
                raise ValueError
            return str(value)
        if kind in (date, datetime, time) and isinstance(value, str):
            return kind.fromisoformat(value)
    except (ValueError, TypeError, InvalidOperation):
        pass
    raise SettingsError(key, f"expected a value of type {kind.__name__}, got {value!r}")


def _dump(value: Any) -> str:
    if isinstance(value, Decimal):
        return json.dumps(str(value))
    if isinstance(value, date | datetime | time):
        return json.dumps(value.isoformat())
    return json.dumps(value)


def _load(key: str, text: str, kind: type) -> Any:
    return coerce(key, json.loads(text), kind)


class SettingsRegistry:
    """The declared keys of all installed plugins (global: a key exists whether or not its plugin is enabled)."""

    def __init__(self, defaults: Iterable[tuple[str, SettingDefault]] = ()) -> None:
        self.defaults: dict[str, SettingDefault] = {}
        self.owners: dict[str, str] = {}
        for owner, default in defaults:
            try:
                self.declare(default, owner)
            except SettingsError as error:
                raise RegistryError(owner, f"plugin {owner}: setting {error}") from None

    @classmethod
    def from_plugins(cls, plugins: PluginManager) -> SettingsRegistry:
        return cls(plugins.collect(plugins.hook.register_settings_defaults))

    def declare(self, default: SettingDefault, owner: str = "core") -> None:
        if not isinstance(default, SettingDefault):
            raise SettingsError(str(default), f"plugin {owner} returned {type(default).__name__}, not SettingDefault")
        if default.type not in SUPPORTED_TYPES:
            raise SettingsError(default.key, f"unsupported type {default.type!r}")
        if default.key in self.defaults:
            raise SettingsError(default.key, f"declared by both {self.owners[default.key]} and {owner}")
        coerce(default.key, default.default, default.type)
        self.defaults[default.key] = default
        self.owners[default.key] = owner

    def kind(self, key: str) -> type | None:
        declared = self.defaults.get(key)
        return declared.type if declared else None


class Settings:
    """Settings as seen from one scope. Reads fall through to the parent scopes; writes go to this scope."""

    def __init__(
        self,
        session: Session,
        registry: SettingsRegistry,
        *,
        organizer: Organizer | None = None,
        event: Event | None = None,
    ) -> None:
        self.session = session
        self.registry = registry
        self.event = event
        self.organizer = organizer if organizer is not None or event is None else event.organizer
        if event is not None:
            self.scope, self.scope_id = "event", event.id
        elif self.organizer is not None:
            self.scope, self.scope_id = "organizer", self.organizer.id
        else:
            self.scope, self.scope_id = "global", 0
        self._stored: dict[str, dict[str, str]] | None = None

    def _chain(self) -> list[tuple[str, int]]:
        chain = [("global", 0)]
        if self.organizer is not None:
            chain.insert(0, ("organizer", self.organizer.id))
        if self.event is not None:
            chain.insert(0, ("event", self.event.id))
        return chain

    def _load_stored(self) -> dict[str, dict[str, str]]:
        if self._stored is None:
            chain = self._chain()
            rows = self.session.execute(
                select(Setting.scope, Setting.key, Setting.value).where(
                    or_(*(and_(Setting.scope == s, Setting.scope_id == i) for s, i in chain))
                )
            )
            self._stored = {scope: {} for scope, _ in chain}
            for scope, key, value in rows:
                self._stored[scope][key] = value
        return self._stored

    def get(self, key: str, default: Any = _MISSING, as_type: type | None = None) -> Any:
        """The effective value; ``as_type`` is needed only for undeclared keys (stored as JSON otherwise)."""
        kind = self.registry.kind(key) or as_type
        stored = self._load_stored()
        for scope, _ in self._chain():
            if key in stored[scope]:
                value = json.loads(stored[scope][key])
                return coerce(key, value, kind) if kind else value
        if default is not _MISSING:
            return default
        declared = self.registry.defaults.get(key)
        return declared.default if declared else None

    def is_set_here(self, key: str) -> bool:
        return key in self._load_stored()[self.scope]

    def set(self, key: str, value: Any) -> None:
        kind = self.registry.kind(key)
        if kind is not None:
            value = coerce(key, value, kind)
        else:
            try:
                json.dumps(value)
            except TypeError:
                raise SettingsError(key, "undeclared settings must be JSON values") from None
        text = _dump(value)
        row = self.session.scalar(
            select(Setting).where(Setting.scope == self.scope, Setting.scope_id == self.scope_id, Setting.key == key)
        )
        if row is None:
            self.session.add(Setting(scope=self.scope, scope_id=self.scope_id, key=key, value=text))
        else:
            row.value = text
        self.session.flush()
        self._load_stored()[self.scope][key] = text

    def update(self, changes: Mapping[str, Any]) -> None:
        """Set several keys; every value is checked before any is written, so a bad one changes nothing."""
        checked = {key: self.check(key, value) for key, value in changes.items()}
        for key, value in checked.items():
            self.set(key, value)

    def check(self, key: str, value: Any) -> Any:
        """The value converted to the key's declared type; raises ``SettingsError`` naming the key."""
        kind = self.registry.kind(key)
        return coerce(key, value, kind) if kind else value

    def delete(self, key: str) -> None:
        self.session.execute(
            delete(Setting).where(Setting.scope == self.scope, Setting.scope_id == self.scope_id, Setting.key == key)
        )
        self._load_stored()[self.scope].pop(key, None)

    def as_dict(self, public_only: bool = False) -> dict[str, Any]:
        """Every declared key with its effective value."""
        return {
            key: self.get(key)
            for key, declared in sorted(self.registry.defaults.items())
            if declared.public or not public_only
        }

    def sandbox(self, prefix: str) -> SettingsSandbox:
        return SettingsSandbox(self, prefix)


class SettingsSandbox:
    """A provider's view of the settings with its keys prefixed (``payment_banktransfer_`` + ``_enabled``…)."""

    def __init__(self, settings: Settings, prefix: str) -> None:
        self.settings = settings
        self.prefix = prefix.rstrip("_")

    def _key(self, key: str) -> str:
        return f"{self.prefix}_{key.lstrip('_')}"

    def get(self, key: str, default: Any = _MISSING, as_type: type | None = None) -> Any:
        return self.settings.get(self._key(key), default, as_type)

    def set(self, key: str, value: Any) -> None:
        self.settings.set(self._key(key), value)

    def delete(self, key: str) -> None:
        self.settings.delete(self._key(key))
