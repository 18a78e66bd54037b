"""Plugins per event: switch them on and off, edit their settings forms (hook ``control_settings_forms``), and
mount their own pages (hook ``register_control_routes``)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from litestar import Request, Router, get, post
from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from boxoffice.apps.control.auth import Viewer, event_in_scope, organizer_in_scope, provide_viewer
from boxoffice.apps.control.context import event_page
from boxoffice.apps.control.pages import flash, form_data, in_db, page, page_from_db
from boxoffice.apps.web import redirect, request_kernel
from boxoffice.hookspecs.providers import SettingDefault
from boxoffice.hookspecs.web import SettingsForm
from boxoffice.kernel.activation import EVENT_LEVELS, ORGANIZER_LEVELS, disable_plugin, enable_plugin
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.i18n import gettext as _
from boxoffice.kernel.models import Event
from boxoffice.kernel.plugins import PluginError
from boxoffice.kernel.settings import Settings, SettingsError

EVENT = "/event/{organizer:str}/{event:str}"
PLUGINS_PERMISSION = "event.settings.general:write"


def _togglable(kernel: Kernel, levels: tuple[str, ...]) -> list[str]:
    return sorted(
        name
        for name, plugin in kernel.plugins.plugins.items()
        if plugin.meta.level in levels and plugin.meta.togglable and plugin.meta.visible
    )


def switchable(kernel: Kernel) -> list[str]:
    """Plugins an organizer may switch on an event."""
    return _togglable(kernel, EVENT_LEVELS)


def settings_forms(kernel: Kernel, event: Event, plugin: str) -> list[SettingsForm]:
    if plugin not in kernel.plugins.active_for_event(event):
        return []
    relay = kernel.plugins.only(plugin)
    return [
        form for _name, form in relay.collect("control_settings_forms", event=event) if isinstance(form, SettingsForm)
    ]


def _plugin_list(session: Session, kernel: Kernel, viewer: Viewer, organizer: str, event: str) -> dict[str, Any]:
    found = event_page(kernel, session, viewer, organizer, event, active="plugins")
    enabled = set(found.event.plugins or [])
    organizer_plugins = set(found.event.organizer.plugins or [])
    rows = []
    for name in switchable(kernel):
        meta = kernel.plugins.plugins[name].meta
        rows.append(
            {
                "name": name,
                "title": meta.name or name,
                "description": meta.description,
                "category": meta.category,
                "enabled": name in enabled,
                "needs_organizer": meta.level == "hybrid" and name not in organizer_plugins,
                "has_settings": name in enabled and bool(settings_forms(kernel, found.event, name)),
            }
        )
    return {**found.context, "plugins": rows, "can_write": found.can(PLUGINS_PERMISSION)}


@get(EVENT + "/plugins/")
async def plugin_list(
    request: Request, viewer: NamedDependency[Viewer], organizer: FromPath[str], event: FromPath[str]
) -> Template:
    """Every plugin that can be switched on the event, with name, description and state."""
    return await page_from_db(request, "plugins.html", _plugin_list, viewer, organizer, event)


def _switch(
    session: Session,
    kernel: Kernel,
    viewer: Viewer,
    organizer: str,
    event: str,
    name: str,
    enable: bool,
) -> bool:
    found = event_page(kernel, session, viewer, organizer, event, active="plugins", permission=PLUGINS_PERMISSION)
    if name not in switchable(kernel):
        raise NotFoundException()
    switch = enable_plugin if enable else disable_plugin
    return switch(kernel, session, found.event, name, actor=viewer.actor)


@post(EVENT + "/plugins/{name:str}/{action:str}")
async def plugin_switch(
    request: Request,
    viewer: NamedDependency[Viewer],
    organizer: FromPath[str],
    event: FromPath[str],
    name: FromPath[str],
    action: FromPath[str],
) -> Redirect:
    """Enable (``action`` ``enable``) or disable (``disable``) a plugin on the event, audit-logged as the user."""
    await _switch_and_flash(request, action, name, _switch, viewer, organizer, event)
    return redirect(f"/control/event/{organizer}/{event}/plugins/")


async def _switch_and_flash(request: Request, action: str, name: str, switch: Callable[..., bool], *args: Any) -> None:
    """Runs ``switch(session, kernel, *args, name, enable)`` for ``action`` (``enable``/``disable``, else 404) and
    flashes the outcome; a switch the plugin refuses is shown as the error, not raised."""
    if action not in ("enable", "disable"):
        raise NotFoundException()
    kernel = request_kernel(request)
    try:
        await in_db(request, switch, kernel, *args, name, action == "enable")
    except PluginError as error:
        flash(request, "error", str(error))
    else:
        title = kernel.plugins.plugins[name].meta.name or name
        message = _("%(plugin)s is enabled.") if action == "enable" else _("%(plugin)s is disabled.")
        flash(request, "success", message % {"plugin": title})


# --- settings forms --------------------------------------------------------------------------------------------

WIDGETS = {bool: "checkbox", int: "number", float: "number", Decimal: "number", date: "date", datetime: "datetime"}


def _display(value: Any, kind: type) -> str:
    if value is None:
        return ""
    if kind in (list, dict):
        return "\n".join(str(entry) for entry in value) if kind is list else json.dumps(value, indent=2)
    if kind is datetime and isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _fields(form: SettingsForm, declared: dict[str, SettingDefault], settings: Settings) -> list[dict[str, Any]]:
    fields = []
    for key in form.keys:
        entry = declared.get(key)
        if entry is None:
            continue
        value = settings.get(key)
        widget = WIDGETS.get(entry.type, "text")
        if key in form.choices:
            widget = "select"
        elif key in form.multiline or entry.type in (list, dict):
            widget = "textarea"
        fields.append(
            {
                "key": key,
                "label": entry.description or key,
                "widget": widget,
                "value": _display(value, entry.type),
                "checked": bool(value) if entry.type is bool else False,
                "choices": list(form.choices.get(key, ())),
                "step": "1" if entry.type is int else "any",
                "hint": _("One entry per line.") if entry.type is list else "",
            }
        )
    return fields


def _plugin_settings(
    session: Session,
    kernel: Kernel,
    viewer: Viewer,
    organizer: str,
    event: str,
    name: str,
    posted: tuple[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The plugin's page; with ``posted`` (form index, data) the form is saved first (``errors`` when refused)."""
    found = event_page(kernel, session, viewer, organizer, event, active="plugins")
    if name not in kernel.plugins.plugins or name not in set(found.event.plugins or []):
        raise NotFoundException()
    forms = settings_forms(kernel, found.event, name)
    settings = kernel.settings_for(session, event=found.event)
    declared = kernel.registries.settings.defaults
    errors: dict[str, list[str]] = {}
    saved = False
    if posted is not None:
        index, data = posted
        if not 0 <= index < len(forms):
            raise NotFoundException()
        errors = _save(kernel, session, viewer, found.event, settings, forms[index], declared, data)
        saved = not errors
    meta = kernel.plugins.plugins[name].meta
    rendered = []
    for number, form in enumerate(forms):
        fields = _fields(form, declared, settings)
        if posted is not None and number == posted[0] and errors:
            for field in fields:
                raw = posted[1].get(field["key"])
                field["value"] = raw if isinstance(raw, str) else field["value"]
                field["checked"] = raw == "on"
        for field in fields:
            field["errors"] = errors.get(field["key"], []) if posted is not None and number == posted[0] else []
        writable = all(found.can(declared[field["key"]].permission) for field in fields)
        rendered.append({"title": form.title, "description": form.description, "fields": fields, "writable": writable})
    return {
        **found.context,
        "plugin": {"name": name, "title": meta.name or name, "description": meta.description},
        "forms": rendered,
        "errors": errors,
        "saved": saved,
    }


def _parse(raw: Any, entry: SettingDefault) -> Any:
    """A form value as the setting's type (``None`` clears it back to the inherited value)."""
    if entry.type is bool:
        return raw == "on"
    text = raw.strip() if isinstance(raw, str) else ""
    if entry.type is list:
        return [line.strip() for line in text.splitlines() if line.strip()]
    if entry.type is dict:
        if not text:
            return {}
        try:
            value = json.loads(text)
        except ValueError:
            raise SettingsError(entry.key, _("Enter a JSON object.")) from None
        if not isinstance(value, dict):
            raise SettingsError(entry.key, _("Enter a JSON object."))
        return value
    if not text:
        return "" if entry.type is str else None
    return text


def _save(
    kernel: Kernel,
    session: Session,
    viewer: Viewer,
    event: Event,
    settings: Settings,
    form: SettingsForm,
    declared: dict[str, SettingDefault],
    data: dict[str, Any],
) -> dict[str, list[str]]:
    """Check every field like the settings API does (type, the key's permission, plugin validators), then write."""
    principal = viewer.principal(event.organizer_id)
    errors: dict[str, list[str]] = defaultdict(list)
    checked: dict[str, Any] = {}
    for key in form.keys:
        entry = declared.get(key)
        if entry is None:
            continue
        if principal is None or not principal.has_event_permission(entry.permission):
            raise PermissionDeniedException()
        try:
            value = _parse(data.get(key), entry)
            if value is not None and key in form.choices and value not in {c for c, _label in form.choices[key]}:
                raise SettingsError(key, _("Choose one of the options."))
            checked[key] = None if value is None else settings.check(key, value)
        except SettingsError as error:
            errors[key].append(error.message)
    if not errors:
        for answer in kernel.plugins.for_event(event).validate_event_settings(event=event, changes=checked):
            for key, messages in (answer or {}).items():
                errors[key].extend(messages)
    if errors:
        return dict(errors)
    changed = {key: value for key, value in checked.items() if settings.get(key) != value}
    for key, value in changed.items():
        if value is None:
            settings.delete(key)
        else:
            settings.set(key, value)
    if changed:
        logged = {key: (str(value) if value is not None else None) for key, value in changed.items()}
        kernel.log_action(session, event, "boxoffice.event.settings", actor=viewer.actor, data=logged)
    return {}


@get(EVENT + "/plugins/{name:str}/")
async def plugin_settings(
    request: Request,
    viewer: NamedDependency[Viewer],
    organizer: FromPath[str],
    event: FromPath[str],
    name: FromPath[str],
) -> Template:
    return await page_from_db(request, "plugin.html", _plugin_settings, viewer, organizer, event, name)


@post(EVENT + "/plugins/{name:str}/")
async def plugin_settings_save(
    request: Request,
    viewer: NamedDependency[Viewer],
    organizer: FromPath[str],
    event: FromPath[str],
    name: FromPath[str],
) -> Template | Redirect:
    data = await form_data(request)
    raw_index = str(data.get("form") or "0")
    index = int(raw_index) if raw_index.isdigit() and len(raw_index) < 4 else -1
    kernel = request_kernel(request)
    context = await in_db(request, _plugin_settings, kernel, viewer, organizer, event, name, (index, data))
    if context["errors"]:
        return page(request, "plugin.html", status_code=400, **context)
    flash(request, "success", _("Your changes have been saved."))
    return redirect(f"/control/event/{organizer}/{event}/plugins/{name}/")


# --- organizer-wide plugins -------------------------------------------------------------------------------------

ORGANIZER_PERMISSION = "organizer.settings.general:write"


def organizer_switchable(kernel: Kernel) -> list[str]:
    """Plugins an organizer may switch for all of its events (organizer-level) or allow per event (hybrid)."""
    return _togglable(kernel, ORGANIZER_LEVELS)


def _organizer_plugins(session: Session, kernel: Kernel, viewer: Viewer, organizer: str) -> dict[str, Any]:
    found, principal = organizer_in_scope(session, viewer, organizer)
    enabled = set(found.plugins or [])
    return {
        "viewer": viewer,
        "organizer": {"slug": found.slug, "name": found.name},
        "plugins": [
            {
                "name": name,
                "title": kernel.plugins.plugins[name].meta.name or name,
                "description": kernel.plugins.plugins[name].meta.description,
                "level": kernel.plugins.plugins[name].meta.level,
                "enabled": name in enabled,
            }
            for name in organizer_switchable(kernel)
        ],
        "can_write": principal.has_organizer_permission(ORGANIZER_PERMISSION),
    }


@get("/organizer/{organizer:str}/plugins/")
async def organizer_plugin_list(
    request: Request, viewer: NamedDependency[Viewer], organizer: FromPath[str]
) -> Template:
    """Organizer-level plugins and hybrid plugins (which must be enabled here before events can use them)."""
    return await page_from_db(request, "organizer_plugins.html", _organizer_plugins, viewer, organizer)


def _organizer_switch(
    session: Session, kernel: Kernel, viewer: Viewer, organizer: str, name: str, enable: bool
) -> bool:
    found, _principal = organizer_in_scope(session, viewer, organizer, ORGANIZER_PERMISSION)
    if name not in organizer_switchable(kernel):
        raise NotFoundException()
    switch = enable_plugin if enable else disable_plugin
    return switch(kernel, session, found, name, actor=viewer.actor)


@post("/organizer/{organizer:str}/plugins/{name:str}/{action:str}")
async def organizer_plugin_switch(
    request: Request,
    viewer: NamedDependency[Viewer],
    organizer: FromPath[str],
    name: FromPath[str],
    action: FromPath[str],
) -> Redirect:
    await _switch_and_flash(request, action, name, _organizer_switch, viewer, organizer)
    return redirect(f"/control/organizer/{organizer}/plugins/")


ROUTES: list[Any] = [
    plugin_list,
    plugin_switch,
    plugin_settings,
    plugin_settings_save,
    organizer_plugin_list,
    organizer_plugin_switch,
]


# --- pages of plugins ------------------------------------------------------------------------------------------


def _plugin_page_guard(plugin_name: str) -> Any:
    async def guard(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
        kernel: Kernel = connection.app.state.kernel
        viewer = await provide_viewer(connection)  # type: ignore[arg-type]
        params = connection.path_params

        def load() -> Event:
            with kernel.db.session() as session:
                event, _principal = event_in_scope(session, viewer, params["organizer_slug"], params["event_slug"])
                if plugin_name not in kernel.plugins.active_for_event(event):
                    raise NotFoundException()
                event.organizer  # noqa: B018  (loaded now: the object outlives its session)
                return event

        connection.state.control_event = await sync_to_thread(load)
        connection.state.control_viewer = viewer

    return guard


async def _provide_event(request: Request) -> Event:
    return request.state.control_event


async def _provide_plugin_viewer(request: Request) -> Viewer:
    return request.state.control_viewer


def plugin_page_routes(kernel: Kernel) -> list[Router]:
    """The routers of ``register_control_routes``: ``/control/event/<organizer>/<event>/p/<plugin>/…``."""
    handlers: dict[str, list[Any]] = defaultdict(list)
    for plugin_name, handler in kernel.plugins.collect(kernel.plugins.hook.register_control_routes):
        handlers[plugin_name].append(handler)
    return [
        Router(
            path=f"/event/{{organizer_slug:str}}/{{event_slug:str}}/p/{plugin_name}",
            route_handlers=route_handlers,
            guards=[_plugin_page_guard(plugin_name)],
            dependencies={"event": Provide(_provide_event), "viewer": Provide(_provide_plugin_viewer)},
        )
        for plugin_name, route_handlers in handlers.items()
    ]
