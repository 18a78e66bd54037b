"""Events: list with filters, detail, create (optionally cloning), clone, update (incl. ``plugins``), delete, and
event settings."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import available_timezones

import msgspec
from babel.numbers import list_currencies
from litestar import Request, Response, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy import Select, Text, func, or_, select

from boxoffice.apps.api.errors import ApiError, FieldErrors
from boxoffice.apps.api.settings_api import read_settings, write_settings
from boxoffice.apps.api.toolkit import (
    Call,
    Page,
    in_call,
    parse_bool,
    parse_datetime_param,
    sent_fields,
)
from boxoffice.kernel import clock
from boxoffice.kernel.activation import set_plugins
from boxoffice.kernel.copying import copy_event_data
from boxoffice.kernel.models import Event, Organizer, Setting
from boxoffice.kernel.plugins import PluginError

SLUG = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9.-]*$")
Multilingual = dict[str, str]


class EventOut(msgspec.Struct):
    name: Multilingual
    slug: str
    live: bool
    testmode: bool
    currency: str
    date_from: datetime
    date_to: datetime | None
    date_admission: datetime | None
    is_public: bool
    presale_start: datetime | None
    presale_end: datetime | None
    location: Multilingual | None
    geo_lat: float | None
    geo_lon: float | None
    has_subevents: bool
    meta_data: dict[str, str]
    plugins: list[str]
    seating_plan: int | None
    seat_category_mapping: dict[str, int]
    timezone: str
    item_meta_properties: dict[str, str]
    valid_keys: dict[str, list[str]]
    all_sales_channels: bool
    limit_sales_channels: list[str]
    sales_channels: list[str]
    public_url: str


class EventIn(msgspec.Struct):
    """Writable event fields; on PATCH only the fields sent are changed."""

    name: Multilingual | msgspec.UnsetType = msgspec.UNSET
    slug: str | msgspec.UnsetType = msgspec.UNSET
    live: bool | msgspec.UnsetType = msgspec.UNSET
    testmode: bool | msgspec.UnsetType = msgspec.UNSET
    currency: str | msgspec.UnsetType = msgspec.UNSET
    date_from: datetime | msgspec.UnsetType = msgspec.UNSET
    date_to: datetime | msgspec.UnsetType | None = msgspec.UNSET
    date_admission: datetime | msgspec.UnsetType | None = msgspec.UNSET
    is_public: bool | msgspec.UnsetType = msgspec.UNSET
    presale_start: datetime | msgspec.UnsetType | None = msgspec.UNSET
    presale_end: datetime | msgspec.UnsetType | None = msgspec.UNSET
    location: Multilingual | msgspec.UnsetType | None = msgspec.UNSET
    geo_lat: float | msgspec.UnsetType | None = msgspec.UNSET
    geo_lon: float | msgspec.UnsetType | None = msgspec.UNSET
    has_subevents: bool | msgspec.UnsetType = msgspec.UNSET
    meta_data: dict[str, str] | msgspec.UnsetType = msgspec.UNSET
    plugins: list[str] | msgspec.UnsetType = msgspec.UNSET
    seating_plan: int | msgspec.UnsetType | None = msgspec.UNSET
    seat_category_mapping: dict[str, int] | msgspec.UnsetType | None = msgspec.UNSET
    timezone: str | msgspec.UnsetType = msgspec.UNSET
    item_meta_properties: dict[str, str] | msgspec.UnsetType = msgspec.UNSET
    all_sales_channels: bool | msgspec.UnsetType = msgspec.UNSET
    limit_sales_channels: list[str] | msgspec.UnsetType = msgspec.UNSET
    sales_channels: list[str] | msgspec.UnsetType = msgspec.UNSET


REQUIRED_ON_CREATE = ("name", "slug", "currency", "date_from")
SIMPLE_FIELDS = (
    "name",
    "slug",
    "live",
    "testmode",
    "currency",
    "date_from",
    "date_to",
    "date_admission",
    "is_public",
    "presale_start",
    "presale_end",
    "location",
    "geo_lat",
    "geo_lon",
    "has_subevents",
    "meta_data",
    "seating_plan",
    "seat_category_mapping",
    "timezone",
    "item_meta_properties",
    "all_sales_channels",
    "limit_sales_channels",
)
_TIMEZONES = frozenset(available_timezones()) | {"UTC"}
_CURRENCIES = frozenset(list_currencies())


def serialize(call: Call, event: Event) -> EventOut:
    base = call.kernel.config.site_url.rstrip("/")
    channels = list(event.limit_sales_channels or [])
    return EventOut(
        name=event.name,
        slug=event.slug,
        live=event.live,
        testmode=event.testmode,
        currency=event.currency,
        date_from=event.date_from,
        date_to=event.date_to,
        date_admission=event.date_admission,
        is_public=event.is_public,
        presale_start=event.presale_start,
        presale_end=event.presale_end,
        location=event.location,
        geo_lat=event.geo_lat,
        geo_lon=event.geo_lon,
        has_subevents=event.has_subevents,
        meta_data=dict(event.meta_data or {}),
        plugins=list(event.plugins or []),
        seating_plan=event.seating_plan,
        seat_category_mapping=dict(event.seat_category_mapping or {}),
        timezone=event.timezone,
        item_meta_properties=dict(event.item_meta_properties or {}),
        valid_keys={},
        all_sales_channels=event.all_sales_channels,
        limit_sales_channels=channels,
        sales_channels=channels if not event.all_sales_channels else ["web"],
        public_url=f"{base}/{event.organizer.slug}/{event.slug}/",
    )


def validate(call: Call, organizer: Organizer, values: dict[str, Any], existing: Event | None) -> dict[str, Any]:
    """Check event fields; returns the values to apply or raises ``FieldErrors`` with every problem at once."""
    errors: dict[str, list[str]] = {}

    def fail(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if existing is None:
        for field in REQUIRED_ON_CREATE:
            if field not in values:
                fail(field, "This field is required.")
        if values.get("live"):
            fail("live", "Events cannot be created live; add quotas and payment first and go live afterwards.")
    if "name" in values and (not values["name"] or not any(str(v).strip() for v in values["name"].values())):
        fail("name", "This field may not be blank.")
    if "location" in values and values["location"] is not None and not isinstance(values["location"], dict):
        fail("location", "Expected a dictionary of items.")
    if "slug" in values:
        slug = values["slug"]
        if not SLUG.match(slug) or len(slug) > 50:
            fail("slug", "Use only letters, numbers, dots and dashes (at most 50 characters).")
        elif existing is not None and slug != existing.slug:
            fail("slug", "The slug of an event cannot be changed.")
        elif existing is None and call.session.scalar(
            select(Event.id).where(Event.organizer_id == organizer.id, func.lower(Event.slug) == slug.lower())
        ):
            fail("slug", "This slug has already been used for a different event.")
    if "currency" in values and values["currency"] not in _CURRENCIES:
        fail("currency", f"{values['currency']!r} is not a valid ISO 4217 currency code.")
    if "timezone" in values and values["timezone"] not in _TIMEZONES:
        fail("timezone", f"{values['timezone']!r} is not a valid time zone.")
    if existing is not None and "has_subevents" in values and values["has_subevents"] != existing.has_subevents:
        fail("has_subevents", "This field cannot be changed after the event was created.")
    # Seating plans are not part of boxoffice yet: nothing can be referenced.
    if values.get("seating_plan") is not None:
        fail("seating_plan", "Invalid pk - object does not exist.")
    if values.get("seat_category_mapping"):
        fail("seat_category_mapping", "A seat category mapping needs a seating plan.")
    for field in ("geo_lat", "geo_lon"):
        limit = 90 if field == "geo_lat" else 180
        if values.get(field) is not None and not -limit <= values[field] <= limit:
            fail(field, f"Ensure this value is between -{limit} and {limit}.")
    date_from = values.get("date_from", existing.date_from if existing else None)
    date_to = values.get("date_to", existing.date_to if existing else None)
    if date_from and date_to and date_to < date_from:
        fail("date_to", "The end of the event has to be later than its start.")
    presale_start = values.get("presale_start", existing.presale_start if existing else None)
    presale_end = values.get("presale_end", existing.presale_end if existing else None)
    if presale_start and presale_end and presale_end < presale_start:
        fail("presale_end", "The end of the presale period has to be later than its start.")
    if "sales_channels" in values and "limit_sales_channels" not in values:
        # The legacy list means "only these channels".
        values["all_sales_channels"] = False
        values["limit_sales_channels"] = values["sales_channels"]
    values.pop("sales_channels", None)
    if values.get("seat_category_mapping") is None and "seat_category_mapping" in values:
        values["seat_category_mapping"] = {}
    if errors:
        raise FieldErrors(errors)
    return values


def _apply_plugins(call: Call, event: Event, plugins: list[str]) -> None:
    try:
        set_plugins(call.kernel, call.session, event, plugins, actor=call.principal.actor)
    except PluginError as error:
        raise FieldErrors.single("plugins", str(error)) from None


def _filtered(call: Call, organizer: Organizer) -> Select[Any]:
    query = call.query
    statement = select(Event).where(Event.organizer_id == organizer.id)
    if not call.principal.all_events:
        statement = statement.where(Event.id.in_(call.principal.event_ids or {-1}))
    for name in ("is_public", "live", "testmode", "has_subevents"):
        flag = parse_bool(query, name)
        if flag is not None:
            statement = statement.where(getattr(Event, name).is_(flag))
    ends = func.coalesce(Event.date_to, Event.date_from)
    now = clock.now()
    is_future, is_past = parse_bool(query, "is_future"), parse_bool(query, "is_past")
    if is_future is not None:
        statement = statement.where(ends >= now if is_future else ends < now)
    if is_past is not None:
        statement = statement.where(ends < now if is_past else ends >= now)
    bounds = {
        "date_from_after": Event.date_from >= parse_datetime_param(query, "date_from_after")
        if "date_from_after" in query
        else None,
        "date_from_before": Event.date_from <= parse_datetime_param(query, "date_from_before")
        if "date_from_before" in query
        else None,
        "date_to_after": Event.date_to >= parse_datetime_param(query, "date_to_after")
        if "date_to_after" in query
        else None,
        "date_to_before": Event.date_to <= parse_datetime_param(query, "date_to_before")
        if "date_to_before" in query
        else None,
        "ends_after": ends >= parse_datetime_param(query, "ends_after") if "ends_after" in query else None,
    }
    for condition in bounds.values():
        if condition is not None:
            statement = statement.where(condition)
    if query.get("search"):
        needle = f"%{query['search'].lower()}%"
        statement = statement.where(
            or_(func.lower(Event.slug).like(needle), func.lower(func.cast(Event.name, Text())).like(needle))
        )
    if query.get("sales_channel"):
        channel = query["sales_channel"]
        statement = statement.where(
            or_(
                Event.all_sales_channels.is_(True), func.cast(Event.limit_sales_channels, Text()).like(f'%"{channel}"%')
            )
        )
    # JSON columns are stored as json.dumps text on both backends, so a serialised pair is a substring match.
    meta_filters = {key[5:-1]: value for key, value in query.items() if key.startswith("attr[") and key.endswith("]")}
    for key, value in meta_filters.items():
        as_text = func.cast(Event.meta_data, Text())
        if value:
            statement = statement.where(as_text.like(f"%{json.dumps({key: value})[1:-1]}%"))
        else:
            statement = statement.where(~as_text.like(f"%{json.dumps(key)}:%"))
    return statement


def _rows_with_organizer(rows: list[Event]) -> None:
    for event in rows:
        event.organizer  # noqa: B018  (same organizer for all rows: loaded once, then from the identity map)


@get("/api/v1/organizers/{organizer:str}/events/", tags=["events"])
async def list_events(request: Request, organizer: FromPath[str]) -> Response[Page[EventOut]]:
    """Events of the organizer that the caller may see; filters and ordering as in pretix."""

    def work(call: Call) -> Page[EventOut]:
        owner = call.organizer(organizer)
        return call.paginate(
            _filtered(call, owner),
            lambda event: serialize(call, event),
            ordering={"date_from": Event.date_from, "slug": Event.slug, "date_to": Event.date_to},
            default_ordering=[Event.date_from, Event.id],
            prepare=_rows_with_organizer,
        )

    return await in_call(request, work)


@get("/api/v1/organizers/{organizer:str}/events/{event:str}/", tags=["events"])
async def get_event(request: Request, organizer: FromPath[str], event: FromPath[str]) -> Response[EventOut]:
    return await in_call(request, lambda call: serialize(call, call.event(organizer, event)))


def _create(call: Call, organizer: Organizer, data: EventIn, source: Event | None) -> Event:
    call.require_organizer_permission("organizer.events:create")
    inherited: dict[str, Any] = {}
    if source is not None:
        inherited = {field: getattr(source, field) for field in SIMPLE_FIELDS if field not in ("slug", "live")}
    values = validate(call, organizer, {**inherited, **sent_fields(data)}, None)
    plugins = values.pop("plugins", None)
    event = Event(organizer=organizer, plugins=[], **values)
    call.session.add(event)
    call.session.flush()
    if source is not None:
        event.plugins = list(source.plugins or [])
        for setting in call.session.scalars(
            select(Setting).where(Setting.scope == "event", Setting.scope_id == source.id)
        ):
            call.session.add(Setting(scope="event", scope_id=event.id, key=setting.key, value=setting.value))
        copy_event_data(call.session, source, event)
        call.kernel.plugins.for_event(event).event_copied(event=event, source=source, session=call.session)
    if plugins is not None:
        _apply_plugins(call, event, plugins)
    call.log(event, "boxoffice.event.added", {"slug": event.slug, "clone_from": source.slug if source else None})
    call.session.flush()
    return event


@post("/api/v1/organizers/{organizer:str}/events/", tags=["events"], status_code=201)
async def create_event(
    request: Request, organizer: FromPath[str], data: JSONBody[EventIn], clone_from: FromQuery[str | None] = None
) -> Response[EventOut]:
    """Create an event (never live); ``?clone_from=<slug>`` copies catalog, settings and plugins from another."""

    def work(call: Call) -> EventOut:
        owner = call.organizer(organizer)
        source = call.event(organizer, clone_from) if clone_from else None
        return serialize(call, _create(call, owner, data, source))

    return await in_call(request, work, status_code=201)


@post("/api/v1/organizers/{organizer:str}/events/{event:str}/clone/", tags=["events"], status_code=201)
async def clone_event(
    request: Request, organizer: FromPath[str], event: FromPath[str], data: JSONBody[EventIn]
) -> Response[EventOut]:
    """Create a new event as a copy of this one (fields in the body override the copied ones)."""

    def work(call: Call) -> EventOut:
        source = call.event(organizer, event)
        return serialize(call, _create(call, source.organizer, data, source))

    return await in_call(request, work, status_code=201)


@patch("/api/v1/organizers/{organizer:str}/events/{event:str}/", tags=["events"])
async def update_event(
    request: Request, organizer: FromPath[str], event: FromPath[str], data: JSONBody[EventIn]
) -> Response[EventOut]:
    """Change event fields; ``plugins`` enables and disables plugins (unknown names are a 400)."""

    def work(call: Call) -> EventOut:
        target = call.event(organizer, event, "event.settings.general:write")
        values = validate(call, target.organizer, sent_fields(data), target)
        plugins = values.pop("plugins", None)
        changed = {key: value for key, value in values.items() if getattr(target, key) != value}
        for key, value in changed.items():
            setattr(target, key, value)
        if plugins is not None:
            _apply_plugins(call, target, plugins)
        if changed:
            target.last_modified = clock.now()
            call.log(target, "boxoffice.event.changed", msgspec.to_builtins(changed))
            if "live" in changed:
                call.log(target, f"boxoffice.event.live.{'activated' if target.live else 'deactivated'}")
        call.session.flush()
        return serialize(call, target)

    return await in_call(request, work)


@delete("/api/v1/organizers/{organizer:str}/events/{event:str}/", tags=["events"], status_code=204)
async def delete_event(request: Request, organizer: FromPath[str], event: FromPath[str]) -> Response[None]:
    """Delete an event; refused while it has orders."""

    def work(call: Call) -> None:
        target = call.event(organizer, event, "event.settings.general:write")
        blockers = call.kernel.plugins.for_event(target).allow_event_deletion(event=target, session=call.session)
        if any(answer is False for answer in blockers):
            raise ApiError(403, "This event can not be deleted as it already contains orders.")
        call.log(target.organizer, "boxoffice.event.deleted", {"slug": target.slug})
        call.session.delete(target)

    return await in_call(request, work, status_code=204)


@get("/api/v1/organizers/{organizer:str}/events/{event:str}/settings/", tags=["events"])
async def get_event_settings(
    request: Request, organizer: FromPath[str], event: FromPath[str]
) -> Response[dict[str, Any]]:
    """Event settings (kernel and plugin keys); ``?explain=true`` adds label and help text."""
    return await in_call(request, lambda call: read_settings(call, call.settings(event=call.event(organizer, event))))


@patch("/api/v1/organizers/{organizer:str}/events/{event:str}/settings/", tags=["events"])
async def patch_event_settings(
    request: Request, organizer: FromPath[str], event: FromPath[str], data: JSONBody[dict[str, Any]]
) -> Response[dict[str, Any]]:
    """Change event settings; ``null`` resets a key to the organizer's (or the default) value."""

    def work(call: Call) -> dict[str, Any]:
        target = call.event(organizer, event, "event.settings.general:write")
        settings = call.settings(event=target)
        write_settings(call, settings, data, target)
        return read_settings(call, settings)

    return await in_call(request, work)


ROUTES = [
    list_events,
    get_event,
    create_event,
    clone_event,
    update_event,
    delete_event,
    get_event_settings,
    patch_event_settings,
]
