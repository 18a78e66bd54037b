"""Sales channels of an organizer, addressed by identifier: list, detail, create (type ``api`` only), update (PATCH
and PUT; identifier and type are fixed), delete (not for built-in or used channels)."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request, Response, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody
from sqlalchemy import ColumnElement, String, Table, Text, func, select

from boxoffice.apps.api.errors import ApiError, FieldErrors, Problems, not_found
from boxoffice.apps.api.resources.categories import (
    check_int,
    check_multilingual,
    is_referenced,
    kernel_tables,
    references_to,
)
from boxoffice.apps.api.toolkit import Call, Page, in_call, sent_fields
from boxoffice.kernel.models import Event, Organizer
from boxoffice.kernel.models.saleschannels import SalesChannel, ensure_builtin_channels

Multilingual = dict[str, str]
WRITE_PERMISSION = "organizer.settings.general:write"
BASE = "/api/v1/organizers/{organizer:str}/saleschannels/"
DETAIL = BASE + "{identifier:str}/"
IDENTIFIER_MAX = 190
# Channels of type "api" may exist many times per organizer; their identifier is "api.<suffix>".
CREATABLE_TYPES = ("api",)
SUFFIX = re.compile(r"^[a-zA-Z0-9_-][a-zA-Z0-9._-]*$")
# Columns that name channels by identifier: lists (JSON) and single values (strings).
CHANNEL_LIST_COLUMNS = ("limit_sales_channels", "sales_channels")
CHANNEL_VALUE_COLUMNS = ("sales_channel",)


class SalesChannelOut(msgspec.Struct):
    identifier: str
    label: Multilingual
    type: str
    position: int


class SalesChannelIn(msgspec.Struct):
    """Writable channel fields; ``identifier`` and ``type`` only on create. PATCH changes the fields sent, PUT resets
    the others."""

    identifier: str | msgspec.UnsetType = msgspec.UNSET
    label: Multilingual | msgspec.UnsetType = msgspec.UNSET
    type: str | msgspec.UnsetType = msgspec.UNSET
    position: int | msgspec.UnsetType = msgspec.UNSET


def serialize(channel: SalesChannel) -> SalesChannelOut:
    return SalesChannelOut(
        identifier=channel.identifier, label=channel.label, type=channel.type, position=channel.position
    )


def _organizer(call: Call, slug: str, permission: str | None = None) -> Organizer:
    organizer = call.organizer(slug, permission)
    ensure_builtin_channels(call.session, organizer.id)
    return organizer


def _channel(call: Call, organizer: Organizer, identifier: str) -> SalesChannel:
    if "\x00" in identifier or len(identifier) > IDENTIFIER_MAX:
        raise not_found()
    channel = call.session.scalar(
        select(SalesChannel).where(SalesChannel.organizer_id == organizer.id, SalesChannel.identifier == identifier)
    )
    if channel is None:
        raise not_found()
    return channel


def _check_common(values: dict[str, Any], problems: Problems) -> None:
    if "label" in values and (problem := check_multilingual(values["label"], blank_ok=False)):
        problems.add("label", problem)
    if "position" in values and (problem := check_int(values["position"])):
        problems.add("position", problem)


def validate_new(call: Call, organizer: Organizer, values: dict[str, Any]) -> dict[str, Any]:
    problems = Problems()
    for field in ("identifier", "label"):
        if field not in values:
            problems.add(field, "This field is required.")
    channel_type = values.setdefault("type", "api")
    if channel_type not in CREATABLE_TYPES:
        problems.add("type", f"Only channels of type {', '.join(CREATABLE_TYPES)} can be created through the API.")
    identifier = values.get("identifier")
    if identifier is not None:
        prefix, dot, suffix = identifier.partition(".")
        if len(identifier) > IDENTIFIER_MAX:
            problems.add("identifier", f"Ensure this field has no more than {IDENTIFIER_MAX} characters.")
        elif channel_type in CREATABLE_TYPES and (prefix != channel_type or not dot or not SUFFIX.match(suffix)):
            problems.add(
                "identifier",
                f'The identifier must be "{channel_type}." followed by letters, numbers, dots, dashes or underscores.',
            )
        elif call.session.scalar(
            select(SalesChannel.id).where(
                SalesChannel.organizer_id == organizer.id, SalesChannel.identifier == identifier
            )
        ):
            problems.add("identifier", "A sales channel with this identifier already exists.")
    _check_common(values, problems)
    problems.raise_if_any()
    return values


def validate_change(channel: SalesChannel, values: dict[str, Any]) -> dict[str, Any]:
    problems = Problems()
    for field in ("identifier", "type"):
        if field in values and values[field] != getattr(channel, field):
            problems.add(field, "This field cannot be changed.")
        values.pop(field, None)
    _check_common(values, problems)
    problems.raise_if_any()
    return values


@get(BASE, tags=["saleschannels"])
async def list_saleschannels(request: Request, organizer: FromPath[str]) -> Response[Page[SalesChannelOut]]:
    """The organizer's sales channels (always including the built-in ``web`` shop)."""

    def work(call: Call) -> Page[SalesChannelOut]:
        owner = _organizer(call, organizer)
        return call.paginate(
            select(SalesChannel).where(SalesChannel.organizer_id == owner.id),
            serialize,
            ordering={"position": SalesChannel.position, "identifier": SalesChannel.identifier},
            default_ordering=[SalesChannel.position, SalesChannel.id],
        )

    return await in_call(request, work)


@get(DETAIL, tags=["saleschannels"])
async def get_saleschannel(
    request: Request, organizer: FromPath[str], identifier: FromPath[str]
) -> Response[SalesChannelOut]:
    """One sales channel."""

    def work(call: Call) -> SalesChannelOut:
        return serialize(_channel(call, _organizer(call, organizer), identifier))

    return await in_call(request, work)


@post(BASE, tags=["saleschannels"], status_code=201)
async def create_saleschannel(
    request: Request, organizer: FromPath[str], data: JSONBody[SalesChannelIn]
) -> Response[SalesChannelOut]:
    """Create a channel for an API integration (type ``api``, identifier ``api.<suffix>``)."""

    def work(call: Call) -> SalesChannelOut:
        owner = _organizer(call, organizer, WRITE_PERMISSION)
        values = validate_new(call, owner, {"position": 0, **sent_fields(data)})
        channel = SalesChannel(organizer_id=owner.id, **values)
        call.session.add(channel)
        call.session.flush()
        call.log(channel, "boxoffice.organizer.saleschannel.added", msgspec.to_builtins(values))
        return serialize(channel)

    return await in_call(request, work, status_code=201)


def _update(call: Call, organizer: str, identifier: str, data: SalesChannelIn, *, full: bool) -> SalesChannelOut:
    owner = _organizer(call, organizer, WRITE_PERMISSION)
    channel = _channel(call, owner, identifier)
    sent = sent_fields(data)
    if full:
        if "label" not in sent:
            raise FieldErrors.single("label", "This field is required.")
        sent = {"position": 0, **sent}
    values = validate_change(channel, sent)
    changed = {field: value for field, value in values.items() if getattr(channel, field) != value}
    for field, value in changed.items():
        setattr(channel, field, value)
    if changed:
        call.session.flush()
        call.log(channel, "boxoffice.organizer.saleschannel.changed", msgspec.to_builtins(changed))
    return serialize(channel)


@patch(DETAIL, tags=["saleschannels"])
async def patch_saleschannel(
    request: Request, organizer: FromPath[str], identifier: FromPath[str], data: JSONBody[SalesChannelIn]
) -> Response[SalesChannelOut]:
    """Change label or position."""
    return await in_call(request, lambda call: _update(call, organizer, identifier, data, full=False))


@put(DETAIL, tags=["saleschannels"])
async def put_saleschannel(
    request: Request, organizer: FromPath[str], identifier: FromPath[str], data: JSONBody[SalesChannelIn]
) -> Response[SalesChannelOut]:
    """Replace label and position (identifier and type stay)."""
    return await in_call(request, lambda call: _update(call, organizer, identifier, data, full=True))


def _organizer_scope(table: Table, organizer_id: int) -> ColumnElement[bool] | None:
    """A condition limiting ``table`` to rows of the organizer, found through its organizer, event or item."""
    events = select(Event.id).where(Event.organizer_id == organizer_id)
    if "organizer_id" in table.c:
        return table.c.organizer_id == organizer_id
    if "event_id" in table.c:
        return table.c.event_id.in_(events)
    for foreign_key in table.foreign_keys:
        parent = foreign_key.column.table
        if "event_id" in parent.c:
            return foreign_key.parent.in_(select(foreign_key.column).where(parent.c.event_id.in_(events)))
    return None


def is_used(call: Call, channel: SalesChannel) -> bool:
    """Whether anything of the organizer names the channel (event/product limits, orders, …) or points at it."""
    if is_referenced(call.session, [column for column, _ in references_to(SalesChannel.__tablename__)], channel.id):
        return True
    quoted = f'"{channel.identifier}"'
    for table in kernel_tables():
        for column in table.c:
            if column.name in CHANNEL_LIST_COLUMNS:
                condition = func.cast(column, Text()).contains(quoted, autoescape=True)
            elif column.name in CHANNEL_VALUE_COLUMNS and isinstance(column.type, String):
                condition = column == channel.identifier
            else:
                continue
            scope = _organizer_scope(table, channel.organizer_id)
            statement = select(func.count()).select_from(table).where(condition)
            if scope is not None:
                statement = statement.where(scope)
            if call.session.scalar(statement):
                return True
    return False


@delete(DETAIL, tags=["saleschannels"], status_code=204)
async def delete_saleschannel(request: Request, organizer: FromPath[str], identifier: FromPath[str]) -> Response[None]:
    """Delete a channel; built-in channels and channels still in use cannot be deleted (403)."""

    def work(call: Call) -> None:
        owner = _organizer(call, organizer, WRITE_PERMISSION)
        channel = _channel(call, owner, identifier)
        if channel.is_builtin:
            raise ApiError(403, "This sales channel is built into the system and cannot be deleted.")
        if is_used(call, channel):
            raise ApiError(403, "This sales channel cannot be deleted because it is currently in use.")
        call.log(channel, "boxoffice.organizer.saleschannel.deleted", {"identifier": channel.identifier})
        call.session.delete(channel)

    return await in_call(request, work, status_code=204)


ROUTES = [
    list_saleschannels,
    get_saleschannel,
    create_saleschannel,
    patch_saleschannel,
    put_saleschannel,
    delete_saleschannel,
]
