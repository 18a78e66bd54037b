"""The REST API app (Litestar), mounted at ``/api/v1/``, speaking pretix's API v1 dialect.

Core resources live in ``apps/api/resources/`` (one module per resource family, each exporting ``ROUTES``).
Plugins add routes with ``register_api_routes``; those are mounted under the event and answer only where the
plugin is active (404 elsewhere, like an unknown URL). ``register_organizer_api_routes`` mounts routes under the
organizer, answering only for organizers where the plugin is active (see the hookspec for the rule per level).
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections import defaultdict
from collections.abc import Callable
from importlib import metadata
from typing import Any

from litestar import Litestar, Request, Router, get
from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.exceptions import HTTPException, NotFoundException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from sqlalchemy import select, text

from boxoffice.apps.api import resources
from boxoffice.apps.api.auth import NOT_PROVIDED, Principal, authenticate
from boxoffice.apps.api.errors import EXCEPTION_HANDLERS, ApiError, not_found
from boxoffice.apps.api.middleware import MIDDLEWARE
from boxoffice.apps.web import html_not_found, web_mount
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.models import Event, Organizer

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
ORGANIZER_PATH = API_PREFIX + "/organizers/{organizer_slug:str}"
EVENT_PATH = ORGANIZER_PATH + "/events/{event_slug:str}"


def _kernel(connection: ASGIConnection) -> Kernel:
    return connection.app.state.kernel


@get(API_PREFIX + "/", sync_to_thread=False, tags=["meta"])
def api_root() -> dict[str, str]:
    """Name and version of this server."""
    return {"name": "boxoffice", "version": metadata.version("boxoffice"), "api": "v1"}


@get("/healthz", tags=["meta"])
async def health(request: Request) -> dict[str, str]:
    """Liveness and database reachability, for load balancers."""
    kernel = _kernel(request)

    def ping() -> None:
        with kernel.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    await sync_to_thread(ping)
    return {"status": "ok", "database": "ok"}


def credentials_present(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Ask for credentials before anything else, as pretix does: a request without them gets 401 even when its
    body is malformed (guards run before the body is parsed). Routes documented as public (``security=[{}]``) are
    exempt; whether the credentials are valid is checked with the request's unit of work."""
    if handler.security == [{}]:
        return
    if not connection.headers.get("authorization", "").strip():
        raise ApiError(401, NOT_PROVIDED, {"WWW-Authenticate": "Token"})


def core_routes() -> list[Any]:
    """Every ``ROUTES`` list of the modules in ``apps/api/resources``."""
    routes: list[Any] = []
    for module_info in sorted(pkgutil.iter_modules(resources.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{resources.__name__}.{module_info.name}")
        routes += getattr(module, "ROUTES", [])
    return routes


# --- plugin routes ----------------------------------------------------------------------------------------------


def _load_event(kernel: Kernel, organizer_slug: str, event_slug: str) -> Event | None:
    with kernel.db.session() as session:
        event = session.scalar(
            select(Event).join(Organizer).where(Organizer.slug == organizer_slug, Event.slug == event_slug)
        )
        if event is not None:
            event.organizer  # noqa: B018  (loaded now: the object outlives its session)
        return event


def plugin_guard(plugin_name: str) -> Callable[[ASGIConnection, BaseRouteHandler], Any]:
    """Let a plugin's route answer only on events where that plugin is active."""

    async def guard(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
        kernel = _kernel(connection)
        params = connection.path_params
        event = await sync_to_thread(_load_event, kernel, params["organizer_slug"], params["event_slug"])
        if event is None or plugin_name not in kernel.plugins.active_for_event(event):
            raise not_found()
        connection.state.boxoffice_event = event

    return guard


def _load_organizer(kernel: Kernel, organizer_slug: str, plugin_name: str) -> Organizer | None:
    """The organizer when ``plugin_name`` is active for it (rule in ``register_organizer_api_routes``)."""
    plugin = kernel.plugins.plugins.get(plugin_name)
    if plugin is None:
        return None
    with kernel.db.session() as session:
        organizer = session.scalar(select(Organizer).where(Organizer.slug == organizer_slug))
        if organizer is None:
            return None
        level = plugin.meta.level
        if level == "global":
            return organizer
        if level in ("organizer", "hybrid") and plugin_name not in (organizer.plugins or ()):
            return None
        if level == "organizer":
            return organizer
        event_plugin_lists = session.scalars(select(Event.plugins).where(Event.organizer_id == organizer.id))
        return organizer if any(plugin_name in (plugins or ()) for plugins in event_plugin_lists) else None


def organizer_plugin_guard(plugin_name: str) -> Callable[[ASGIConnection, BaseRouteHandler], Any]:
    """Let a plugin's organizer-level route answer only for organizers where that plugin is active."""

    async def guard(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
        kernel = _kernel(connection)
        organizer = await sync_to_thread(_load_organizer, kernel, connection.path_params["organizer_slug"], plugin_name)
        if organizer is None:
            raise not_found()
        connection.state.boxoffice_organizer = organizer

    return guard


async def provide_event(request: Request) -> Event:
    return request.state.boxoffice_event


async def provide_organizer(request: Request) -> Organizer:
    return request.state.boxoffice_organizer


async def provide_kernel(request: Request) -> Kernel:
    return _kernel(request)


async def provide_principal(request: Request) -> Principal:
    """The caller of a plugin route (401 without valid credentials), resolved like core resources resolve it."""
    kernel = _kernel(request)
    header = request.headers.get("authorization")

    def resolve() -> Principal:
        with kernel.db.session() as session:
            return authenticate(session, header)

    return await sync_to_thread(resolve)


def plugin_routers(kernel: Kernel) -> list[Router]:
    routers: list[Router] = []
    mounts = (
        ("register_api_routes", EVENT_PATH, plugin_guard, "event", provide_event),
        ("register_organizer_api_routes", ORGANIZER_PATH, organizer_plugin_guard, "organizer", provide_organizer),
    )
    for hook_name, path, make_guard, scope_name, provide_scope in mounts:
        handlers: dict[str, list[Any]] = defaultdict(list)
        for plugin_name, handler in kernel.plugins.collect(getattr(kernel.plugins.hook, hook_name)):
            handlers[plugin_name].append(handler)
        routers += [
            Router(
                path=path,
                route_handlers=route_handlers,
                guards=[make_guard(plugin_name)],
                dependencies={scope_name: Provide(provide_scope), "principal": Provide(provide_principal)},
                tags=[plugin_name],
            )
            for plugin_name, route_handlers in handlers.items()
        ]
    return routers


def create_app(kernel: Kernel | None = None) -> Litestar:
    """Build the ASGI app; ``boxoffice serve`` calls this once per worker process."""
    kernel = kernel or Kernel()
    # The web pages (control panel at /control/, shop at /) share this app and process; see docs/web.md.
    web = web_mount(kernel)
    app = Litestar(
        route_handlers=[
            api_root,
            health,
            Router(path="/", route_handlers=core_routes(), guards=[credentials_present]),
            *plugin_routers(kernel),
            *web.route_handlers,
        ],
        dependencies={"kernel": Provide(provide_kernel)},
        exception_handlers={
            **EXCEPTION_HANDLERS,
            NotFoundException: html_not_found(EXCEPTION_HANDLERS[HTTPException]),
        },
        middleware=[*MIDDLEWARE, *web.middleware],
        template_config=web.template_config,
        csrf_config=web.csrf_config,
        stores=web.stores,
        openapi_config=OpenAPIConfig(
            title="boxoffice REST API",
            version="1",
            description="pretix API v1 compatible ticketing API",
            path=API_PREFIX + "/docs",
            components=Components(
                security_schemes={
                    "token": SecurityScheme(type="apiKey", name="Authorization", security_scheme_in="header")
                }
            ),
            security=[{"token": []}],
        ),
        on_shutdown=[kernel.close],
        debug=kernel.config.debug,
    )
    app.state.kernel = kernel
    return app
