"""Surfaces: REST API routes and CLI commands contributed by plugins."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from boxoffice.hookspecs import hookspec

if TYPE_CHECKING:
    import click


@hookspec
def register_api_routes() -> list[Any] | None:
    """Return Litestar route handlers, controllers or routers for the REST API.

    They are mounted under ``/api/v1/organizers/{organizer_slug}/events/{event_slug}/`` and answer only where
    the plugin is enabled (404 elsewhere). Handlers receive the resolved event as the ``event`` dependency.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add ``click`` commands or groups to the ``boxoffice`` command line."""
