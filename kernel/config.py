"""Configuration: defaults < TOML file < environment variables.

The embedded default needs no configuration at all: a SQLite file under ``./data/`` and jobs run in-process.
Scaled mode is the same code with ``BOXOFFICE_DATABASE_URL`` pointing at PostgreSQL and
``BOXOFFICE_BROKER_URL`` / ``BOXOFFICE_REDIS_URL`` at Redis.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the culprit and where it came from."""


@dataclass(frozen=True)
class Config:
    data_dir: Path = Path("data")
    database_url: str = ""
    redis_url: str = ""
    broker_url: str = ""
    site_url: str = "http://127.0.0.1:8000"
    secret_key: str = "insecure-dev-secret-change-me"
    default_locale: str = "en"
    locales: tuple[str, ...] = ("en", "de")
    timezone: str = "UTC"
    debug: bool = False
    db_pool_size: int = 5
    api_page_size_max: int = 50
    # Entropy of generated identifiers: order codes (unique per organizer, typed by people) and ticket secrets.
    order_code_length: int = 5
    ticket_secret_length: int = 32
    # Plugin names that are never loaded, even when installed (an operator's kill switch).
    disabled_plugins: tuple[str, ...] = field(default_factory=tuple)
    # The server's SMTP transport (docs/mail.md); without a host no mail leaves unless an organizer configures its own.
    mail_host: str = ""
    mail_port: int = 25
    mail_user: str = ""
    mail_password: str = ""
    mail_tls: bool = False
    mail_ssl: bool = False
    mail_from: str = "tickets@localhost"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'boxoffice.sqlite3').resolve()}"

    @property
    def effective_broker_url(self) -> str:
        """Celery is used only when a broker is configured; the Redis URL doubles as the broker."""
        return self.broker_url or self.redis_url

    @property
    def runs_jobs_in_process(self) -> bool:
        return not self.effective_broker_url


ENV_PREFIX = "BOXOFFICE_"
CONFIG_FILE_ENV = "BOXOFFICE_CONFIG"


def _coerce(name: str, raw: Any, target: Any, source: str) -> Any:
    """Turn a TOML or environment value into the field's type, or raise a ConfigError naming it."""
    try:
        if target is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError("expected true/false")
        if target is int:
            if isinstance(raw, bool):
                raise ValueError("expected an integer")
            return int(raw)
        if target is Path:
            return Path(str(raw))
        if target == tuple[str, ...]:
            items = raw if isinstance(raw, list) else str(raw).split(",")
            return tuple(str(item).strip() for item in items if str(item).strip())
        if not isinstance(raw, str):
            raise ValueError("expected a string")
        return raw
    except ValueError as error:
        raise ConfigError(f"{source}: invalid value {raw!r} for {name!r} ({error})") from None


_FIELD_TYPES = {
    "data_dir": Path,
    "database_url": str,
    "redis_url": str,
    "broker_url": str,
    "site_url": str,
    "secret_key": str,
    "default_locale": str,
    "locales": tuple[str, ...],
    "timezone": str,
    "debug": bool,
    "db_pool_size": int,
    "api_page_size_max": int,
    "order_code_length": int,
    "ticket_secret_length": int,
    "disabled_plugins": tuple[str, ...],
    "mail_host": str,
    "mail_port": int,
    "mail_user": str,
    "mail_password": str,
    "mail_tls": bool,
    "mail_ssl": bool,
    "mail_from": str,
}


def load_config(environ: dict[str, str] | None = None, config_file: Path | None = None) -> Config:
    """Build the configuration from an optional TOML file and the ``BOXOFFICE_*`` environment variables."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    path = config_file or (Path(env[CONFIG_FILE_ENV]) if env.get(CONFIG_FILE_ENV) else None)
    if path is not None:
        try:
            document = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file {str(path)!r} does not exist") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"config file {str(path)!r} is not valid TOML: {error}") from None
        section = document.get("boxoffice", document)
        for key, raw in section.items():
            if key not in _FIELD_TYPES:
                raise ConfigError(f"config file {str(path)!r}: unknown setting {key!r}")
            values[key] = _coerce(key, raw, _FIELD_TYPES[key], f"config file {str(path)!r}")
    for item in fields(Config):
        variable = ENV_PREFIX + item.name.upper()
        if variable in env:
            values[item.name] = _coerce(item.name, env[variable], _FIELD_TYPES[item.name], variable)
    config = Config(**values)
    _validate(config)
    return config


SUPPORTED_DRIVERS = {("sqlite", "pysqlite"), ("postgresql", "psycopg")}


def _validate(config: Config) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from boxoffice.kernel.db import normalise_url

    url = normalise_url(config.effective_database_url)
    try:
        parsed = make_url(url)
        port = parsed.port
    except (ArgumentError, ValueError) as error:
        raise ConfigError(f"BOXOFFICE_DATABASE_URL: not a database URL ({error})") from None
    if (parsed.get_backend_name(), parsed.get_driver_name()) not in SUPPORTED_DRIVERS:
        raise ConfigError(
            f"BOXOFFICE_DATABASE_URL: unsupported database {parsed.drivername!r} (use sqlite:/// or postgresql://)"
        )
    if port is not None and not 0 < port < 65536:
        raise ConfigError(f"BOXOFFICE_DATABASE_URL: invalid port {port}")
    broker = config.effective_broker_url
    if broker and not broker.startswith(("redis://", "rediss://", "amqp://", "memory://")):
        raise ConfigError(f"BOXOFFICE_BROKER_URL: unsupported broker URL {broker!r}")
    if config.default_locale not in config.locales:
        raise ConfigError(f"BOXOFFICE_DEFAULT_LOCALE: {config.default_locale!r} is not one of {config.locales}")
    if config.db_pool_size < 1:
        raise ConfigError("BOXOFFICE_DB_POOL_SIZE: must be at least 1")
    if not 5 <= config.order_code_length <= 15:
        raise ConfigError("BOXOFFICE_ORDER_CODE_LENGTH: must be between 5 and 15")
    if not 16 <= config.ticket_secret_length <= 63:
        raise ConfigError("BOXOFFICE_TICKET_SECRET_LENGTH: must be between 16 and 63")
    if not 0 < config.mail_port < 65536:
        raise ConfigError(f"BOXOFFICE_MAIL_PORT: invalid port {config.mail_port}")
    if config.mail_tls and config.mail_ssl:
        raise ConfigError("BOXOFFICE_MAIL_TLS and BOXOFFICE_MAIL_SSL exclude each other (STARTTLS or implicit TLS)")
