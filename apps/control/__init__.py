"""The organizer's control panel at ``/control/``: server-rendered pages on the shared web foundation
(``boxoffice.apps.web``). See ``docs/control.md``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Request, Response
from litestar.di import Provide

from boxoffice.apps.control.auth import LoginRequired, provide_viewer, safe_next
from boxoffice.apps.web import raw_path, redirect, web_router

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel

CONTROL_PATH = "/control"


def _to_login(request: Request, _exc: LoginRequired) -> Response[Any]:
    target = raw_path(request) + (f"?{request.url.query}" if request.url.query else "")
    return redirect(CONTROL_PATH + "/login", next=safe_next(target) if request.method == "GET" else None)


def routes(kernel: Kernel) -> list[Any]:
    """The control panel's routers: the log-in pages and the pages that need a logged-in user."""
    from boxoffice.apps.control import plugins, tokens, views
    from boxoffice.apps.control.login import LOGIN_ROUTES

    return [
        web_router(CONTROL_PATH, LOGIN_ROUTES),
        web_router(
            CONTROL_PATH,
            [*views.ROUTES, *plugins.ROUTES, *tokens.ROUTES],
            dependencies={"viewer": Provide(provide_viewer)},
            exception_handlers={LoginRequired: _to_login},
        ),
        # Plugin pages resolve the user in their guard, so they get a router of their own without the dependency.
        web_router(CONTROL_PATH, plugins.plugin_page_routes(kernel), exception_handlers={LoginRequired: _to_login}),
    ]
