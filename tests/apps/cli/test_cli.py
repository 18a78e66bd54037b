import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from boxoffice.apps.cli import cli
from boxoffice.apps.control.auth import find_user
from boxoffice.apps.control.passwords import verify_password
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.models import Event, LogEntry, Team, TeamAPIToken
from boxoffice.kernel.tokens import token_digest

FAKE_PLUGIN = """
from boxoffice.hookspecs import PluginMeta, hookimpl

plugin_meta = PluginMeta(name="Seat maps", category="FEATURE")


@hookimpl
def register_commands(cli):
    import click

    @cli.command("seatmaps-hello")
    def hello():
        click.echo("hello from seatmaps")
"""


@pytest.fixture
def run(kernel, config, monkeypatch):
    """Invoke the CLI in-process on the test database (the ``kernel`` fixture empties it afterwards)."""
    monkeypatch.setenv("BOXOFFICE_DATABASE_URL", config.database_url)
    monkeypatch.setenv("BOXOFFICE_DATA_DIR", str(config.data_dir))
    monkeypatch.delenv("BOXOFFICE_REDIS_URL", raising=False)
    monkeypatch.delenv("BOXOFFICE_BROKER_URL", raising=False)

    def invoke(*args: str):
        return CliRunner().invoke(cli, list(args), obj={}, catch_exceptions=False)

    return invoke


@pytest.fixture
def seatmaps(install_fake_plugin, tmp_path, monkeypatch):
    site = install_fake_plugin(
        tmp_path / "site", "boxoffice-seatmaps", {"seatmaps": "seatmaps"}, {"seatmaps.py": FAKE_PLUGIN}
    )
    monkeypatch.syspath_prepend(str(site))
    return site


def test_demo_creates_data_and_a_working_token(run, kernel):
    result = run("demo")
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1].removeprefix("API token: ")
    assert len(token) == 64
    with kernel.db.session() as session:
        stored = session.scalar(select(TeamAPIToken).where(TeamAPIToken.token_digest == token_digest(token)))
        assert stored is not None and stored.team.all_event_permissions
        event = session.scalar(select(Event).where(Event.slug == "democon"))
        assert event.organizer.slug == "demo"
        assert [quota.size for quota in event.quotas] == [100]
        assert event.quotas[0].items == event.items
    again = run("demo")
    assert again.exit_code == 0
    assert again.output.strip().splitlines()[-1] != result.output.strip().splitlines()[-1]


def test_demo_prints_a_control_panel_login_that_works(run, kernel):
    result = run("demo")
    assert result.exit_code == 0, result.output
    login = next(line for line in result.output.splitlines() if line.startswith("control panel log-in: "))
    email, password = login.removeprefix("control panel log-in: ").split("  password: ")
    with kernel.db.session() as session:
        user = find_user(session, email)
        assert user is not None and verify_password(user.password, password)
        teams = session.scalars(select(Team).where(Team.members.contains(user))).all()
        assert [(team.organizer.slug, team.all_organizer_permissions) for team in teams] == [("demo", True)]


def test_plugins_list_enable_disable(run, config, seatmaps):
    listing = run("plugins", "list")
    assert listing.exit_code == 0
    assert "seatmaps" in listing.output and "Seat maps" in listing.output and "1.2.3" in listing.output
    assert "core" in listing.output and "placeholders" in listing.output
    run("demo")
    enabled = run("plugins", "enable", "demo", "democon", "seatmaps")
    assert enabled.exit_code == 0, enabled.output
    assert "seatmaps enabled on demo/democon" in enabled.output
    kernel = Kernel(config)
    with kernel.db.session() as session:
        event = session.scalar(select(Event).where(Event.slug == "democon"))
        assert event.plugins == ["seatmaps"]
        assert "seatmaps" in kernel.plugins.active_for_event(event)
        actions = session.scalars(select(LogEntry.action_type).where(LogEntry.actor_type == "cli")).all()
        assert "boxoffice.event.plugins.enabled" in actions
    kernel.close()
    assert "disabled" in run("plugins", "disable", "demo", "democon", "seatmaps").output


def test_plugin_commands_are_added(run, seatmaps):
    result = run("seatmaps-hello")
    assert result.exit_code == 0
    assert result.output.strip() == "hello from seatmaps"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("plugins", "enable", "demo", "democon", "nope"), "Unknown plugin: nope"),
        (("plugins", "enable", "demo", "democon", "core"), "always active"),
        (("plugins", "enable", "demo", "nosuchevent", "core"), "no event 'nosuchevent'"),
        (("plugins", "disable", "ghost", "democon", "core"), "no organizer 'ghost'"),
    ],
)
def test_bad_input_is_one_clear_line(run, args, message):
    run("demo")
    result = run(*args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_malformed_config_is_reported_without_traceback(run, monkeypatch):
    monkeypatch.setenv("BOXOFFICE_DB_POOL_SIZE", "lots")
    result = run("migrate")
    assert result.exit_code == 1
    assert "BOXOFFICE_DB_POOL_SIZE" in result.output
    assert "Traceback" not in result.output


def test_broken_plugin_is_listed_with_its_error(run, install_fake_plugin, tmp_path, monkeypatch):
    site = install_fake_plugin(
        tmp_path / "broken",
        "boxoffice-broken",
        {"broken": "brokenplug"},
        {"brokenplug.py": "import not_installed_dep\n"},
    )
    monkeypatch.syspath_prepend(str(site))
    result = run("plugins", "list")
    assert result.exit_code == 1
    assert "broken" in result.output and "No module named 'not_installed_dep'" in result.output
    assert "placeholders" in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_serve_starts_with_demo_data_on_an_empty_sqlite(tmp_path: Path):
    """The README's main job: ``boxoffice serve`` on a fresh data folder."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "boxoffice.apps.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)
        assert health.json() == {"status": "ok", "database": "ok"}
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/docs/openapi.json").json()["openapi"].startswith("3.")
        assert (tmp_path / "data" / "boxoffice.sqlite3").exists()
    finally:
        server.terminate()
        try:
            output, _ = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
    assert "API token: " in output
    assert "demo organizer: demo" in output


def test_organizer_wide_toggling_with_dash(run, kernel, install_fake_plugin, tmp_path, monkeypatch):
    source = 'from boxoffice.hookspecs import PluginMeta\nplugin_meta = PluginMeta(level="organizer")\n'
    site = install_fake_plugin(tmp_path / "org", "boxoffice-orgwide", {"orgwide": "orgwide"}, {"orgwide.py": source})
    monkeypatch.syspath_prepend(str(site))
    run("demo")
    refused = run("plugins", "enable", "demo", "democon", "orgwide")
    assert refused.exit_code == 1 and "organizer-level plugin" in refused.output
    enabled = run("plugins", "enable", "demo", "-", "orgwide")
    assert enabled.exit_code == 0, enabled.output
    with kernel.db.session() as session:
        event = session.scalar(select(Event).where(Event.slug == "democon"))
        assert event.organizer.plugins == ["orgwide"]
    assert run("plugins", "disable", "demo", "-", "orgwide").exit_code == 0


def test_unreachable_database_is_one_clear_line(run, monkeypatch):
    monkeypatch.setenv("BOXOFFICE_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/nothing")
    result = run("migrate")
    assert result.exit_code == 1
    assert "cannot use the database" in result.output
    assert "Traceback" not in result.output


def test_uninstalled_plugin_with_applied_migrations_still_migrates(
    run, kernel, install_fake_plugin, tmp_path, monkeypatch
):
    """A plugin whose tables exist but which no longer loads must not make ``migrate`` fail."""
    revision = """
revision = "fakemig_0001"
down_revision = None
branch_labels = ("fakemig",)
depends_on = "kernel_0001"


def upgrade():
    from alembic import op
    import sqlalchemy as sa

    op.create_table("fakemig_note", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade():
    from alembic import op

    op.drop_table("fakemig_note")
"""
    site = install_fake_plugin(
        tmp_path / "mig",
        "boxoffice-fakemig",
        {"fakemig": "fakemig"},
        {"fakemig/__init__.py": "", "fakemig/migrations/versions/fakemig_0001.py": revision},
    )
    monkeypatch.syspath_prepend(str(site))
    assert run("migrate").exit_code == 0
    monkeypatch.setenv("BOXOFFICE_DISABLED_PLUGINS", "fakemig")
    again = run("migrate")
    assert again.exit_code == 0, again.output
    from boxoffice.kernel.core import Kernel as FreshKernel
    from boxoffice.kernel.migrations import downgrade

    fresh = FreshKernel(kernel.config)
    try:
        downgrade(fresh, "fakemig@base")
    finally:
        fresh.close()
