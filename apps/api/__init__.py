"""The REST API app (Litestar), mounted at ``/api/v1/``, speaking pretix's API v1 dialect.

Plugins add routes with ``register_api_routes``; they are mounted under the event and answer only where the
plugin is active (404 elsewhere, like an unknown URL).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from importlib import metadata
from typing import Any

from litestar import Litestar, MediaType, Request, Response, Router, get
from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.datastructures import Headers
from litestar.di import Provide
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy import select, text

from boxoffice.kernel.core import Kernel
from boxoffice.kernel.i18n import get_locale, use_locale
from boxoffice.kernel.models import Event, Organizer

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
EVENT_PATH = API_PREFIX + "/organizers/{organizer_slug:str}/events/{event_slug:str}"


def _kernel(connection: ASGIConnection) -> Kernel:
    return connection.app.state.kernel


# --- errors in pretix's shape -------------------------------------------------------------------------------


def _validation_error(_request: Request, error: ValidationException) -> Response[dict[str, Any]]:
    fields: dict[str, list[str]] = defaultdict(list)
    for problem in error.extra if isinstance(error.extra, list) else []:
        if isinstance(problem, dict):
            fields[problem.get("key") or "non_field_errors"].append(str(problem.get("message", problem)))
        else:
            fields["non_field_errors"].append(str(problem))
    body: dict[str, Any] = dict(fields) if fields else {"detail": error.detail}
    return Response(body, status_code=400, media_type=MediaType.JSON)


# Litestar's own wording for its router errors, mapped onto the messages pretix clients see.
_ROUTER_DETAILS = {"Not Found": "Not found."}


def _http_error(request: Request, error: HTTPException) -> Response[dict[str, Any]]:
    detail = _ROUTER_DETAILS.get(error.detail, error.detail)
    translated = _kernel(request).i18n.gettext(detail, get_locale())
    return Response({"detail": translated}, status_code=error.status_code, headers=error.headers)


def _internal_error(request: Request, error: Exception) -> Response[dict[str, Any]]:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return Response({"detail": "Internal server error."}, status_code=HTTP_500_INTERNAL_SERVER_ERROR)


def locale_middleware(app: ASGIApp) -> ASGIApp:
    """Negotiate the response language from ``Accept-Language`` for everything the request renders."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        kernel: Kernel = scope["litestar_app"].state.kernel
        locale = kernel.i18n.negotiate(Headers.from_scope(scope).get("accept-language"))

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"content-language", locale.encode())]
            await send(message)

        with use_locale(locale):
            await app(scope, receive, send_with_language)

    return middleware


# --- core routes ----------------------------------------------------------------------------------------------


@get(API_PREFIX + "/", sync_to_thread=False)
def api_root() -> dict[str, str]:
    """Name and version of this server."""
    return {"name": "boxoffice", "version": metadata.version("boxoffice"), "api": "v1"}


@get("/healthz")
async def health(request: Request) -> dict[str, str]:
    """Liveness and database reachability, for load balancers."""
    kernel = _kernel(request)

    def ping() -> None:
        with kernel.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    await sync_to_thread(ping)
    return {"status": "ok", "database": "ok"}


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
            raise NotFoundException("Not found.")
        connection.state.boxoffice_event = event

    return guard


async def provide_event(request: Request) -> Event:
    return request.state.boxoffice_event


async def provide_kernel(request: Request) -> Kernel:
    return _kernel(request)


def plugin_routers(kernel: Kernel) -> list[Router]:
    handlers: dict[str, list[Any]] = defaultdict(list)
    for plugin_name, handler in kernel.plugins.collect(kernel.plugins.hook.register_api_routes):
        handlers[plugin_name].append(handler)
    return [
        Router(
            path=EVENT_PATH,
            route_handlers=route_handlers,
            guards=[plugin_guard(plugin_name)],
            dependencies={"event": Provide(provide_event)},
            tags=[plugin_name],
        )
        for plugin_name, route_handlers in handlers.items()
    ]


def create_app(kernel: Kernel | None = None) -> Litestar:
    """Build the ASGI app; ``boxoffice serve`` calls this once per worker process."""
    kernel = kernel or Kernel()
    app = Litestar(
        route_handlers=[api_root, health, *plugin_routers(kernel)],
        dependencies={"kernel": Provide(provide_kernel)},
        exception_handlers={
            ValidationException: _validation_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
        openapi_config=OpenAPIConfig(
            title="boxoffice REST API",
            version="1",
            description="pretix API v1 compatible ticketing API",
            path=API_PREFIX + "/docs",
        ),
        middleware=[locale_middleware],
        on_shutdown=[kernel.close],
        debug=kernel.config.debug,
    )
    app.state.kernel = kernel
    return app
