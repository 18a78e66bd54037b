"""Test fixtures: a migrated database (SQLite by default, PostgreSQL when BOXOFFICE_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from boxoffice.hookspecs import ENTRY_POINT_GROUP
from boxoffice.kernel.config import Config
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.db import Base, normalise_url
from boxoffice.kernel.migrations import upgrade
from boxoffice.kernel.plugins import PluginManager


def _redis_database_per_worker() -> None:
    """Give each pytest-xdist worker a Redis database of its own: Celery queues and job keys must not mix."""
    url = os.environ.get("BOXOFFICE_TEST_REDIS_URL", "")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker.removeprefix("gw") or 0)
    if url and index:
        base, _, _database = url.rpartition("/")
        os.environ["BOXOFFICE_TEST_REDIS_URL"] = f"{base}/{max(0, 9 - index)}"


# Before any test module reads the variable at import time.
_redis_database_per_worker()
POSTGRES_URL = os.environ.get("BOXOFFICE_TEST_DATABASE_URL", "")


def with_search_path(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{normalise_url(url)}{separator}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One migrated database per test run: a private schema on PostgreSQL, a file on SQLite."""
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return
    schema = f"boxoffice_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield with_search_path(POSTGRES_URL, schema)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def fresh_kernel(tmp_path):
    """A kernel on an empty database of its own (a new schema on PostgreSQL)."""
    if POSTGRES_URL:
        schema = f"boxoffice_mig_{uuid.uuid4().hex[:10]}"
        admin = create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = with_search_path(POSTGRES_URL, schema)
    else:
        url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    kernel = Kernel(Config(database_url=url, data_dir=tmp_path))
    yield kernel
    kernel.close()
    if POSTGRES_URL:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def migrated_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    kernel = Kernel(Config(database_url=database_url, data_dir=tmp_path_factory.mktemp("data")))
    upgrade(kernel)
    kernel.close()
    return database_url


def _empty_tables(kernel: Kernel) -> None:
    with kernel.db.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture(scope="session")
def empty_tables() -> Callable[[Kernel], None]:
    """Deletes every row (tests sharing a long-lived kernel clean up with this)."""
    return _empty_tables


@pytest.fixture
def config(migrated_url: str, tmp_path: Path) -> Config:
    return Config(database_url=migrated_url, data_dir=tmp_path)


@pytest.fixture
def kernel(config: Config) -> Iterator[Kernel]:
    """A kernel with every installed plugin, on a migrated, empty database."""
    kernel = Kernel(config)
    try:
        yield kernel
    finally:
        _empty_tables(kernel)
        kernel.close()


@pytest.fixture
def make_kernel(config: Config) -> Iterator[Callable[..., Kernel]]:
    """Build a kernel with the installed plugins plus extra plugin objects: ``make_kernel(name=module, …)``."""
    made: list[Kernel] = []

    def build(load_installed: bool = True, config_overrides: dict | None = None, **extra: object) -> Kernel:
        plugins = PluginManager()
        if load_installed:
            plugins.load_entry_points()
        for name, plugin in extra.items():
            assert plugins.register(plugin, name), plugins.errors.get(name)
        effective = Config(**{**config.__dict__, **(config_overrides or {})})
        kernel = Kernel(effective, plugins=plugins)
        made.append(kernel)
        return kernel

    yield build
    for kernel in made:
        _empty_tables(kernel)
        kernel.close()


# Fake installed distributions: a dist-info folder with entry points plus the plugin's modules, in a folder a test
# puts on sys.path (or a subprocess's PYTHONPATH), which is how pip installs a third-party plugin.


def _install_fake_plugin(
    site: Path,
    distribution: str,
    entry_points: dict[str, str],
    files: dict[str, str],
    version: str = "1.2.3",
    summary: str = "",
) -> Path:
    """Write modules (``files``: relative path → source) and a dist-info declaring ``entry_points``."""
    site.mkdir(parents=True, exist_ok=True)
    for relative, source in files.items():
        target = site / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(source))
    info = site / f"{distribution.replace('-', '_')}-{version}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\nSummary: {summary}\nAuthor: Test Author\n"
    )
    lines = [f"[{ENTRY_POINT_GROUP}]", *(f"{name} = {target}" for name, target in entry_points.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    (info / "RECORD").write_text("")
    return site


@pytest.fixture
def install_fake_plugin() -> Callable[..., Path]:
    return _install_fake_plugin


# A real SMTP server on the loopback interface (aiosmtpd), for the mail service and invoice transmission tests.


class SmtpInbox:
    """What the test SMTP server received; ``refuse_with`` makes it answer every message with that reply."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse_with: str | None = None

    async def handle_DATA(self, _server: object, _session: object, envelope: object) -> str:
        if self.refuse_with:
            return self.refuse_with
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))  # type: ignore[attr-defined]
        return "250 Message accepted for delivery"

    def parsed(self, index: int = -1):
        import email
        from email import policy

        return email.message_from_bytes(self.messages[index][2], policy=policy.default)


@pytest.fixture
def smtp_server() -> Iterator[tuple[str, int, SmtpInbox]]:
    """``(host, port, inbox)`` of an SMTP server running for the test."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = SmtpInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield "127.0.0.1", port, inbox
    finally:
        controller.stop()
