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
    the plugin is enabled (404 elsewhere). Handlers receive the resolved event as the ``event`` dependency, the
    kernel as ``kernel`` and the authenticated caller as ``principal`` (asking for it makes credentials required:
    401 without them). The principal offers ``organizer_id``, ``actor`` (for audit logging),
    ``can_see_event(event_id)``, ``has_event_permission(name)`` and ``has_organizer_permission(name)``; checking
    them is the handler's job.
    """


@hookspec
def register_organizer_api_routes() -> list[Any] | None:
    """Return Litestar route handlers, controllers or routers for organizer-level resources of the REST API.

    They are mounted under ``/api/v1/organizers/{organizer_slug}/`` and answer 404 for an unknown organizer and
    for organizers where the plugin is not active. Active means, by the plugin's level: ``global`` always;
    ``organizer`` when it is in the organizer's ``plugins``; ``hybrid`` when it is in the organizer's ``plugins``
    and enabled on at least one of its events; ``event`` when it is enabled on at least one of the organizer's
    events (the resource then typically spans or picks among those events). Handlers receive the resolved
    organizer as the ``organizer`` dependency plus ``kernel`` and ``principal`` as for
    :func:`register_api_routes`.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add ``click`` commands or groups to the ``boxoffice`` command line."""
