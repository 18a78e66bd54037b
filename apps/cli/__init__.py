"""The ``boxoffice`` command line: serve, worker, migrate, plugins, demo (and commands plugins add)."""

from __future__ import annotations

import functools
import logging
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from alembic.util.exc import CommandError
from sqlalchemy.exc import OperationalError

from boxoffice.kernel.activation import disable_plugin, enable_plugin
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.config import ConfigError, load_config
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.demo import create_demo_data, has_any_organizer
from boxoffice.kernel.jobs import JobError, PeriodicRunner
from boxoffice.kernel.migrations import upgrade
from boxoffice.kernel.models import Event, Organizer
from boxoffice.kernel.plugins import PluginError, RegistryError
from boxoffice.kernel.settings import SettingsError

_F = TypeVar("_F", bound=Callable[..., Any])
EXPECTED_ERRORS = (ConfigError, PluginError, SettingsError, RegistryError, JobError, CommandError)


def clear_errors(function: _F) -> _F:
    """Expected failures become one line naming the culprit, never a traceback."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except EXPECTED_ERRORS as error:
            raise click.ClickException(str(error)) from None
        except OperationalError as error:
            raise click.ClickException(f"cannot use the database: {error.orig}") from None

    return wrapper  # type: ignore[return-value]


class BoxofficeGroup(click.Group):
    """Adds the commands of installed plugins (``register_commands``) to each invocation's command set."""

    def _add_plugin_commands(self, ctx: click.Context) -> None:
        root = ctx.find_root()
        root.ensure_object(dict)
        if root.obj.get("plugin_commands_added"):
            return
        root.obj["plugin_commands_added"] = True
        try:
            kernel = get_kernel(ctx)
        except EXPECTED_ERRORS:
            return  # the command itself reports the problem
        kernel.plugins.hook.register_commands(cli=self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands(ctx)
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            self._add_plugin_commands(ctx)
            command = super().get_command(ctx, cmd_name)
        return command


def get_kernel(ctx: click.Context) -> Kernel:
    root = ctx.find_root()
    root.ensure_object(dict)
    if "kernel" not in root.obj:
        config_file = root.params.get("config_file")
        kernel = Kernel(load_config(config_file=Path(config_file) if config_file else None))
        root.obj["kernel"] = kernel
        root.call_on_close(kernel.close)
    return root.obj["kernel"]


def with_kernel(function: _F) -> _F:
    @functools.wraps(function)
    @click.pass_context
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        return function(get_kernel(ctx), *args, **kwargs)

    return clear_errors(wrapper)  # type: ignore[return-value]


@click.group(cls=BoxofficeGroup)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML configuration file.")
@click.option("-v", "--verbose", is_flag=True, help="Log at INFO level.")
def cli(config_file: str | None, verbose: bool) -> None:
    """boxoffice: event ticketing with a pretix-compatible REST API."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


@cli.command()
@with_kernel
def migrate(kernel: Kernel) -> None:
    """Apply the database migrations of the kernel and of every installed plugin."""
    upgrade(kernel)
    click.echo("database is up to date")


DEMO_LOGIN = "demo@boxoffice.invalid"


def _create_and_print_demo(kernel: Kernel) -> None:
    """Demo data plus a control panel log-in for it (a fresh password each time, like the API token)."""
    from boxoffice.apps.control.users import set_password

    data = create_demo_data(kernel)
    password = secrets.token_urlsafe(12)
    set_password(kernel, DEMO_LOGIN, password, admin_of=data.organizer_slug)
    click.echo(f"demo organizer: {data.organizer_slug}  event: {data.event_slug}")
    click.echo(f"shop: /{data.organizer_slug}/{data.event_slug}/  control panel: /control/")
    click.echo(f"control panel log-in: {DEMO_LOGIN}  password: {password}")
    click.echo(f"API token: {data.token}")


@cli.command()
@with_kernel
def demo(kernel: Kernel) -> None:
    """Create a demo organizer, event, product, quota and API token; print the token."""
    upgrade(kernel)
    _create_and_print_demo(kernel)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="API worker processes.")
@click.option("--no-demo", is_flag=True, help="Do not create demo data in an empty database.")
@with_kernel
def serve(kernel: Kernel, host: str, port: int, workers: int, no_demo: bool) -> None:
    """Run the API server (migrates first; creates demo data in an empty database)."""
    import uvicorn

    upgrade(kernel)
    if not no_demo:
        with kernel.db.session() as session:
            empty = not has_any_organizer(session)
        if empty:
            _create_and_print_demo(kernel)
    if kernel.jobs.in_process and workers == 1:
        _start_periodic_thread(kernel)
    elif kernel.jobs.in_process:
        click.echo("warning: several workers and no broker: periodic jobs run only with `boxoffice periodic`", err=True)
    click.echo(f"serving on http://{host}:{port}/api/v1/  (OpenAPI: /api/v1/docs/openapi.json)")
    if workers == 1:
        from boxoffice.apps.api import create_app

        uvicorn.run(create_app(kernel), host=host, port=port, log_level="info")
        return
    # Each worker process builds its own kernel from the same configuration.
    config_file = click.get_current_context().find_root().params.get("config_file")
    if config_file:
        os.environ["BOXOFFICE_CONFIG"] = str(Path(config_file).resolve())
    uvicorn.run("boxoffice.apps.api:create_app", factory=True, host=host, port=port, workers=workers, log_level="info")


def _start_periodic_thread(kernel: Kernel) -> None:
    """Without Celery beat, the embedded server runs periodic jobs itself."""
    runner = PeriodicRunner(kernel.jobs)

    def loop() -> None:
        while True:
            try:
                runner.run_due()
            except Exception:
                logging.getLogger(__name__).exception("periodic jobs failed")
            time.sleep(30)

    threading.Thread(target=loop, name="boxoffice-periodic", daemon=True).start()


@cli.command()
@click.option("--concurrency", "-c", default=2, show_default=True, type=int)
@click.option("--beat", is_flag=True, help="Also schedule periodic jobs (run exactly one beat).")
@click.option("--queues", "-Q", default="", help="Comma-separated queues (default: every job queue).")
@with_kernel
def worker(kernel: Kernel, concurrency: int, beat: bool, queues: str) -> None:
    """Run a Celery worker for boxoffice jobs (needs BOXOFFICE_BROKER_URL or BOXOFFICE_REDIS_URL)."""
    if kernel.jobs.in_process:
        raise ConfigError("boxoffice worker needs a broker: set BOXOFFICE_BROKER_URL or BOXOFFICE_REDIS_URL")
    app = kernel.jobs.celery
    argv = ["worker", f"--concurrency={concurrency}", "--loglevel=INFO", "--pool=prefork"]
    argv.append("--queues=" + (queues or ",".join(app.boxoffice_queues)))
    if beat:
        argv.append("--beat")
    app.worker_main(argv)


@cli.command()
@with_kernel
def periodic(kernel: Kernel) -> None:
    """Run every periodic job once now (for cron, when no Celery beat runs)."""
    for name in PeriodicRunner(kernel.jobs).run_due(force=True):
        click.echo(f"enqueued {name}")


@cli.group()
def plugins() -> None:
    """List installed plugins; enable or disable them per event."""


@plugins.command("list")
@with_kernel
def plugins_list(kernel: Kernel) -> None:
    """Installed plugins with their metadata, and plugins that failed to load."""
    for name, plugin in sorted(kernel.plugins.plugins.items()):
        meta = plugin.meta
        flags = "" if meta.togglable else " (not togglable)"
        click.echo(f"{name:<20} {meta.version:<10} {meta.category:<13} {meta.level:<9} {meta.name}{flags}")
        if meta.author or meta.description:
            click.echo(f"{'':<20} {meta.author}: {meta.description}")
    for name, error in sorted(kernel.plugins.errors.items()):
        click.echo(f"{name:<20} FAILED: {error}", err=True)
    if kernel.plugins.errors:
        sys.exit(1)


ORGANIZER_WIDE = "-"


def _load_target(session: Any, organizer_slug: str, event_slug: str) -> Event | Organizer:
    """The event, or the organizer itself when EVENT is ``-`` (for organizer-level and hybrid plugins)."""
    organizer = session.query(Organizer).filter(Organizer.slug == organizer_slug).one_or_none()
    if organizer is None:
        raise click.ClickException(f"no organizer {organizer_slug!r}")
    if event_slug == ORGANIZER_WIDE:
        return organizer
    event = session.query(Event).filter(Event.organizer_id == organizer.id, Event.slug == event_slug).one_or_none()
    if event is None:
        raise click.ClickException(f"no event {event_slug!r} for organizer {organizer_slug!r}")
    return event


@plugins.command("enable")
@click.argument("organizer")
@click.argument("event")
@click.argument("plugin")
@with_kernel
def plugins_enable(kernel: Kernel, organizer: str, event: str, plugin: str) -> None:
    """Enable PLUGIN on EVENT of ORGANIZER (as an administrator); EVENT "-" enables it organizer-wide."""
    with kernel.db.session() as session:
        target = _load_target(session, organizer, event)
        changed = enable_plugin(kernel, session, target, plugin, actor=Actor("cli"), as_admin=True)
    click.echo(f"{plugin} {'enabled' if changed else 'was already enabled'} on {organizer}/{event}")


@plugins.command("disable")
@click.argument("organizer")
@click.argument("event")
@click.argument("plugin")
@with_kernel
def plugins_disable(kernel: Kernel, organizer: str, event: str, plugin: str) -> None:
    """Disable PLUGIN on EVENT of ORGANIZER; EVENT "-" disables it organizer-wide."""
    with kernel.db.session() as session:
        target = _load_target(session, organizer, event)
        changed = disable_plugin(kernel, session, target, plugin, actor=Actor("cli"), as_admin=True)
    click.echo(f"{plugin} {'disabled' if changed else 'was not enabled'} on {organizer}/{event}")


@cli.group()
def user() -> None:
    """Control panel users."""


@user.command("set-password")
@click.argument("email")
@click.option("--password", envvar="BOXOFFICE_USER_PASSWORD", help="Read from the environment or a prompt if absent.")
@click.option("--admin-of", metavar="ORGANIZER", help="Also add the user to this organizer's Administrators team.")
@with_kernel
def user_set_password(kernel: Kernel, email: str, password: str | None, admin_of: str | None) -> None:
    """Set the log-in password of EMAIL, creating the user when there is none."""
    from boxoffice.apps.control.users import UserError, set_password

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        change = set_password(kernel, email, password, admin_of=admin_of)
    except UserError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{'created user' if change.created else 'password set for'} {email}")
    if change.added_to_team:
        click.echo(f"added to team {change.added_to_team!r} of {admin_of}")


def main() -> None:
    cli(obj={})
