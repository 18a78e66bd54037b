"""The shared foundation of the server-rendered web pages (control panel at ``/control/``, shop at ``/``).

One Jinja2 environment for every web app (templates under ``<app>/templates/<app>/``), gettext in templates
backed by the kernel's babel catalogs, the request's language (``?lang=`` → cookie → ``Accept-Language``),
server-side sessions in the database, CSRF protection for forms and HTML error pages. See ``docs/web.md``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from babel import Locale, UnknownLocaleError
from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import MediaType, Request, Response, Router
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException, NotFoundException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.stores.base import Store
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from boxoffice.apps.web.sessions import DatabaseSessionStore, SparingSessionConfig
from boxoffice.kernel.i18n import format_date, format_datetime, format_money, get_locale, localize, use_locale
from boxoffice.kernel.i18n import gettext as _
from boxoffice.kernel.i18n import gettext as kernel_gettext
from boxoffice.kernel.i18n import ngettext as kernel_ngettext

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel

APPS_DIR = Path(__file__).parent.parent
WEB_DIR = Path(__file__).parent
# Every web app keeps its templates in ``<app>/templates/<app>/`` so names never clash: "web/base.html",
# "control/orders.html", "shop/event.html".
WEB_APPS = ("web", "control", "shop")
TEMPLATE_DIRS = [APPS_DIR / name / "templates" for name in WEB_APPS]
STATIC_DIRS = [APPS_DIR / name / "static" for name in WEB_APPS]
STATIC_PATH = "/static"

SESSION_COOKIE = "boxoffice_session"
SESSION_STORE = "web_sessions"
SESSION_MAX_AGE = 14 * 24 * 3600
CSRF_COOKIE = "boxoffice_csrf"
CSRF_FIELD = "_csrf_token"
CSRF_HEADER = "x-csrftoken"
LANGUAGE_COOKIE = "boxoffice_lang"
LANGUAGE_PARAMETER = "lang"
LOCALE_STATE = "boxoffice_locale"
# The REST API authenticates with tokens, not cookies: neither sessions nor CSRF apply there.
NOT_WEB = ["^/api/", "^/healthz"]


def request_locale(connection: ASGIConnection) -> str:
    """The language the page is rendered in (also the current locale of ``boxoffice.kernel.i18n``)."""
    return connection.scope.get("state", {}).get(LOCALE_STATE) or get_locale()


def _negotiate(kernel: Kernel, connection: ASGIConnection) -> tuple[str, str | None]:
    """``(locale, chosen)``: ``chosen`` is set when ``?lang=`` asked for a supported language just now."""
    i18n = kernel.i18n
    asked = connection.query_params.get(LANGUAGE_PARAMETER)
    if asked and asked in i18n.locales:
        return asked, asked
    remembered = connection.cookies.get(LANGUAGE_COOKIE)
    if remembered and remembered in i18n.locales:
        return remembered, None
    return i18n.negotiate(connection.headers.get("accept-language")), None


def locale_middleware(app: ASGIApp) -> ASGIApp:
    """Render the page in the buyer's language; ``?lang=de`` switches and is remembered in a cookie."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        connection: ASGIConnection = ASGIConnection(scope)
        locale, chosen = _negotiate(scope["litestar_app"].state.kernel, connection)
        scope.setdefault("state", {})[LOCALE_STATE] = locale

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value) for name, value in message.get("headers", []) if name.lower() != b"content-language"
                ]
                headers.append((b"content-language", locale.encode()))
                if chosen:
                    cookie = Cookie(key=LANGUAGE_COOKIE, value=chosen, max_age=365 * 24 * 3600, samesite="lax")
                    headers.append((b"set-cookie", cookie.to_header(header="").encode()))
                message["headers"] = headers
            await send(message)

        with use_locale(locale, scope["litestar_app"].state.kernel.i18n):
            await app(scope, receive, send_with_cookie)

    return middleware


def request_kernel(request: Request) -> Kernel:
    """The kernel serving this web app."""
    return request.app.state.kernel


def raw_path(request: Request) -> str:
    """The path as the browser sent it (Litestar's ``url.path`` drops a trailing slash)."""
    raw = request.scope.get("raw_path")
    # Some servers (and the test client) leave the query string in it.
    return raw.decode("latin-1").split("?", 1)[0] if isinstance(raw, bytes) and raw else request.url.path


async def rotate_session(request: Request) -> None:
    """Give the session a new id (after a log-in), so an id planted in the browser before is worth nothing.

    The session middleware takes the id from the request's cookie, else from the connection state; the parsed
    cookies are one dict shared by the whole request, so dropping the old id there makes it use the new one.
    """
    old = request.cookies.pop(SESSION_COOKIE, None)
    ScopeState.from_scope(request.scope).session_id = secrets.token_hex(32)
    if old:
        await request.app.stores.get(SESSION_STORE).delete(old)


def url_with(request: Request, **changes: Any) -> str:
    """The current URL with some query parameters replaced (``None`` removes one): paging, language links."""
    params = {key: value for key, value in request.query_params.items()}
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = urlencode(params)
    return raw_path(request) + (f"?{query}" if query else "")


def _gettext(message: str) -> str:
    return kernel_gettext(message)


def _ngettext(singular: str, plural: str, number: int) -> str:
    return kernel_ngettext(singular, plural, number)


def _money(amount: Decimal | int | str | None, currency: str) -> str:
    return "" if amount is None else format_money(Decimal(str(amount)), currency)


def _datetime(value: datetime | None, timezone: str = "UTC", format: str = "medium") -> str:
    return "" if value is None else format_datetime(value, timezone=timezone, format=format)


def language_links(locales: Iterable[str]) -> list[tuple[str, str]]:
    """``(code, name in its own language)`` for the language switcher."""
    links = []
    for code in locales:
        try:
            name = Locale.parse(code.replace("-", "_")).get_display_name(code.replace("-", "_")) or code
        except (ValueError, TypeError, UnknownLocaleError):
            name = code
        links.append((code, name[:1].upper() + name[1:]))
    return links


def build_environment(extra_dirs: Iterable[Path] = (), locales: Iterable[str] = ("en", "de")) -> Environment:
    """The Jinja2 environment of every web app: autoescaping, ``_``/``gettext``/``ngettext`` (Jinja's newstyle
    gettext: ``{{ _("%(count)s tickets", count=n) }}``) and the kernel's locale-aware formatters as filters."""
    environment = Environment(
        loader=FileSystemLoader([*TEMPLATE_DIRS, *extra_dirs]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    environment.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    environment.globals.update(
        get_locale=get_locale,
        localize=localize,
        static=lambda name: f"{STATIC_PATH}/{name}",
        url_with=url_with,
        languages=language_links(locales),
    )
    environment.filters.update(localize=localize, money=_money, datetime=_datetime, date=format_date)
    return environment


# --- HTML error pages -------------------------------------------------------------------------------------------


def _error_page(request: Request, status: int, message: Callable[[], str]) -> Response[Any]:
    """Rendered here, in the page's language: errors outside any route (an unknown URL) never passed the locale
    middleware, and a template response would render after the language context is gone."""
    locale = request.scope.get("state", {}).get(LOCALE_STATE) or _negotiate(request.app.state.kernel, request)[0]
    with use_locale(locale, request.app.state.kernel.i18n):
        template = request.app.template_engine.get_template("web/error.html")
        body = template.render(status=status, message=message(), request=request, messages=[], csrf_input="")
    return Response(body, status_code=status, media_type=MediaType.HTML, headers={"Content-Language": locale})


def _http_error(request: Request, exc: HTTPException) -> Response[Any]:
    def message() -> str:
        known = {
            400: _("The request could not be understood."),
            403: _("You may not do this. If you submitted a form, reload the page and try again."),
            404: _("This page does not exist."),
            405: _("This page does not answer that kind of request."),
        }
        return known.get(exc.status_code, str(exc.detail))

    return _error_page(request, exc.status_code, message)


def _internal_error(request: Request, exc: Exception) -> Response[Any]:
    request.logger.exception("web page failed", exc_info=exc)
    return _error_page(request, 500, lambda: _("Something went wrong on our side. Please try again."))


WEB_EXCEPTION_HANDLERS: dict[type[Exception], Callable[..., Response[Any]]] = {
    HTTPException: _http_error,
    Exception: _internal_error,
}


def _is_web_path(path: str) -> bool:
    return not any(re.match(pattern, path) for pattern in NOT_WEB)


def html_not_found(api_handler: Callable[..., Response[Any]]) -> Callable[..., Response[Any]]:
    """The app-wide 404 for URLs no route matches: an HTML page outside ``/api/``, ``api_handler``'s answer inside."""

    def handle(request: Request, exc: NotFoundException) -> Response[Any]:
        return _http_error(request, exc) if _is_web_path(request.url.path) else api_handler(request, exc)

    return handle


def web_router(path: str, route_handlers: list[Any], **options: Any) -> Router:
    """A router for a web app: HTML error pages and the page language; pass guards etc. in ``options``."""
    return Router(
        path=path,
        route_handlers=route_handlers,
        middleware=[locale_middleware, *options.pop("middleware", [])],
        exception_handlers={**WEB_EXCEPTION_HANDLERS, **options.pop("exception_handlers", {})},
        include_in_schema=False,
        **options,
    )


def redirect(path: str, **query: Any) -> Redirect:
    """A 303 redirect (after a POST the browser must GET the next page)."""
    query_string = urlencode({key: value for key, value in query.items() if value is not None})
    return Redirect(path + (f"?{query_string}" if query_string else ""), status_code=303)


# --- mounting ---------------------------------------------------------------------------------------------------


@dataclass
class WebMount:
    """What the app factory adds to the Litestar app for the web pages."""

    route_handlers: list[Any]
    template_config: TemplateConfig[JinjaTemplateEngine]
    csrf_config: CSRFConfig
    middleware: list[Any]
    stores: dict[str, Store] = field(default_factory=dict)


def _shop_routes() -> list[Any]:
    """The shop's routes once ``boxoffice.apps.shop.routes()`` exists (built by its own issue part)."""
    try:
        from boxoffice.apps import shop
    except ImportError:
        return []
    routes = getattr(shop, "routes", None)
    return list(routes()) if callable(routes) else []


def web_mount(kernel: Kernel) -> WebMount:
    """Control panel at ``/control/``, shop at ``/``, static files at ``/static/``, sessions, CSRF, templates."""
    from boxoffice.apps.control import routes as control_routes

    for name in WEB_APPS:
        kernel.i18n.add_catalog_dir(f"boxoffice-{name}", APPS_DIR / name / "locale")
    secure = kernel.config.site_url.startswith("https://")
    sessions = SparingSessionConfig(
        key=SESSION_COOKIE,
        store=SESSION_STORE,
        max_age=SESSION_MAX_AGE,
        httponly=True,
        secure=secure,
        samesite="lax",
        exclude=NOT_WEB,
    )
    csrf = CSRFConfig(
        secret=kernel.config.secret_key,
        cookie_name=CSRF_COOKIE,
        cookie_secure=secure,
        cookie_httponly=True,
        header_name=CSRF_HEADER,
        exclude=NOT_WEB,
    )
    handlers: list[Any] = [
        create_static_files_router(
            path=STATIC_PATH,
            directories=[directory for directory in STATIC_DIRS if directory.is_dir()],
            include_in_schema=False,
            cache_control=None,
        ),
        *control_routes(kernel),
    ]
    # Plugins keep the templates of their control pages in ``templates/<plugin name>/`` inside their package.
    plugin_dirs = [
        plugin.directory / "templates"
        for plugin in kernel.plugins.plugins.values()
        if plugin.directory is not None and (plugin.directory / "templates").is_dir()
    ]
    environment = build_environment(plugin_dirs, kernel.i18n.locales)
    shop = _shop_routes()
    if shop:
        handlers.append(web_router("/", shop))
    return WebMount(
        route_handlers=handlers,
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment)),
        csrf_config=csrf,
        middleware=[sessions.middleware],
        stores={SESSION_STORE: DatabaseSessionStore(kernel)},
    )


__all__ = [
    "CSRF_FIELD",
    "SESSION_COOKIE",
    "TEMPLATE_DIRS",
    "WebMount",
    "build_environment",
    "html_not_found",
    "raw_path",
    "redirect",
    "request_kernel",
    "request_locale",
    "rotate_session",
    "url_with",
    "web_mount",
    "web_router",
]
