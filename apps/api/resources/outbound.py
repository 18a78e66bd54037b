"""The outbound queue and data sync configuration:

* ``/api/v1/organizers/{o}/outbound/`` — queue entries of the organizer (webhook calls, data sync runs) with status,
  attempts and last error; ``?status=``, ``?channel=``, ``?target=``, ``?event=`` filter; ``…/{id}/retry/`` puts a
  failed, discarded or backing-off entry back in line, ``…/{id}/discard/`` gives one up (409 when its state does not
  allow it);
* ``/api/v1/organizers/{o}/events/{e}/datasync/{provider}/mappings/`` — the organizer-configured mappings of a sync
  provider (GET; PUT replaces the whole list);
* ``/api/v1/organizers/{o}/events/{e}/datasync/sourcefields/`` — the source fields mappings can use;
* ``/api/v1/organizers/{o}/events/{e}/datasync/results/`` — what orders became in external systems (``?order=``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Request, Response, get, post, put
from litestar.params import FromPath, JSONBody
from sqlalchemy import delete, func, select

from boxoffice.apps.api.errors import ApiError, FieldErrors, Problems
from boxoffice.apps.api.toolkit import Call, Page, in_call
from boxoffice.hookspecs.providers import SOURCE_MODELS, SYNC_MODES
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.orders import Order
from boxoffice.kernel.models.outbound import OUTBOUND_STATUSES, OutboundEntry, SyncMapping, SyncResult
from boxoffice.kernel.outbound import OutboundRefused, discard, retry
from boxoffice.kernel.outbound.datasync import data_fields, provider_classes

PERMISSION = "organizer.settings.general:write"
SYNC_PERMISSION = "event.settings.general:write"
BASE = "/api/v1/organizers/{organizer:str}/outbound/"
DETAIL = BASE + "{entry_id:int}/"
EVENT_BASE = "/api/v1/organizers/{organizer:str}/events/{event:str}/datasync/"


class EntryOut(msgspec.Struct):
    id: int
    channel: str
    target: str
    event: str | None
    object_key: str
    status: str
    failure_mode: str | None
    attempts: int
    last_error: str | None
    created: datetime
    next_attempt: datetime | None
    last_attempt: datetime | None
    finished: datetime | None
    idempotency_key: str
    payload: dict[str, Any]
    result: dict[str, Any] | None


class PropertyMappingIO(msgspec.Struct):
    source_field: str
    external_field: str
    value_map: dict[str, str] = {}
    mode: str = "overwrite"


class MappingIO(msgspec.Struct):
    source_model: str
    external_object_type: str
    source_id_field: str
    external_id_field: str
    property_mappings: list[PropertyMappingIO] = []
    id: int | None = None


class SourceFieldOut(msgspec.Struct):
    key: str
    label: str
    required_input: str


class ResultOut(msgspec.Struct):
    order: str
    positionid: int | None
    provider: str
    mapping: str
    object_type: str
    external_id_field: str
    id_value: str
    external_link_href: str | None
    external_link_display_name: str | None
    transmitted: datetime
    sync_info: dict[str, Any]


def _serialize(entry: OutboundEntry, slugs: dict[int, str]) -> EntryOut:
    return EntryOut(
        id=entry.id,
        channel=entry.channel,
        target=entry.target,
        event=slugs.get(entry.event_id) if entry.event_id is not None else None,
        object_key=entry.object_key,
        status=entry.status,
        failure_mode=entry.failure_mode,
        attempts=entry.attempts,
        last_error=entry.last_error,
        created=entry.created,
        next_attempt=entry.next_attempt if entry.status == "waiting" else None,
        last_attempt=entry.last_attempt,
        finished=entry.finished,
        idempotency_key=entry.idempotency_key,
        payload=entry.payload,
        result=entry.result,
    )


def _event_slugs(call: Call, organizer_id: int) -> dict[int, str]:
    return dict(call.session.execute(select(Event.id, Event.slug).where(Event.organizer_id == organizer_id)).all())


@get(BASE, tags=["outbound"])
async def list_entries(request: Request, organizer: FromPath[str]) -> Response[Page[EntryOut]]:
    """Queue entries of the organizer, newest first."""

    def work(call: Call) -> Page[EntryOut]:
        owner = call.organizer(organizer, PERMISSION)
        slugs = _event_slugs(call, owner.id)
        statement = select(OutboundEntry).where(OutboundEntry.organizer_id == owner.id)
        status = call.query.get("status")
        if status is not None:
            if status not in OUTBOUND_STATUSES:
                raise FieldErrors.single("status", f'"{status}" is not a valid choice.')
            statement = statement.where(OutboundEntry.status == status)
        for name in ("channel", "target"):
            if name in call.query:
                statement = statement.where(getattr(OutboundEntry, name) == call.query[name])
        if "event" in call.query:
            ids = [event_id for event_id, slug in slugs.items() if slug == call.query["event"]]
            statement = statement.where(OutboundEntry.event_id.in_(ids))
        return call.paginate(
            statement,
            lambda entry: _serialize(entry, slugs),
            ordering={"id": OutboundEntry.id, "next_attempt": OutboundEntry.next_attempt},
            default_ordering=[OutboundEntry.id.desc()],
        )

    return await in_call(request, work)


def _entry(call: Call, organizer: str, entry_id: int) -> tuple[OutboundEntry, dict[int, str]]:
    owner = call.organizer(organizer, PERMISSION)
    return call.get(OutboundEntry, entry_id, organizer_id=owner.id), _event_slugs(call, owner.id)


@get(DETAIL, tags=["outbound"])
async def get_entry(request: Request, organizer: FromPath[str], entry_id: FromPath[int]) -> Response[EntryOut]:
    """One queue entry."""
    return await in_call(request, lambda call: _serialize(*_entry(call, organizer, entry_id)))


def _act(call: Call, organizer: str, entry_id: int, action: str) -> EntryOut:
    entry, slugs = _entry(call, organizer, entry_id)
    try:
        (retry if action == "retry" else discard)(call.session, entry)
    except OutboundRefused as refused:
        raise ApiError(409, str(refused)) from None
    call.log(call.organizer(organizer), f"boxoffice.outbound.{action}", {"entry": entry.id, "channel": entry.channel})
    return _serialize(entry, slugs)


@post(DETAIL + "retry/", tags=["outbound"], status_code=200)
async def retry_entry(request: Request, organizer: FromPath[str], entry_id: FromPath[int]) -> Response[EntryOut]:
    """Deliver the entry again now, with a fresh attempt budget."""
    return await in_call(request, lambda call: _act(call, organizer, entry_id, "retry"))


@post(DETAIL + "discard/", tags=["outbound"], status_code=200)
async def discard_entry(request: Request, organizer: FromPath[str], entry_id: FromPath[int]) -> Response[EntryOut]:
    """Give the entry up; it stays listed as ``discarded``."""
    return await in_call(request, lambda call: _act(call, organizer, entry_id, "discard"))


def _provider_event(call: Call, organizer: str, event: str, provider: str, permission: str | None) -> Event:
    target = call.event(organizer, event, permission)
    if provider not in provider_classes(call.kernel, target):
        raise ApiError(404, "No such sync provider is active on this event.")
    return target


def _mapping_out(row: SyncMapping) -> MappingIO:
    return MappingIO(
        id=row.id,
        source_model=row.source_model,
        external_object_type=row.external_object_type,
        source_id_field=row.source_id_field,
        external_id_field=row.external_id_field,
        property_mappings=[msgspec.convert(item, PropertyMappingIO) for item in row.property_mappings],
    )


@get(EVENT_BASE + "{provider:str}/mappings/", tags=["outbound"])
async def get_mappings(
    request: Request, organizer: FromPath[str], event: FromPath[str], provider: FromPath[str]
) -> Response[list[MappingIO]]:
    """The configured mappings of a provider on the event, in the order they run."""

    def work(call: Call) -> list[MappingIO]:
        target = _provider_event(call, organizer, event, provider, None)
        rows = call.session.scalars(
            select(SyncMapping)
            .where(SyncMapping.event_id == target.id, SyncMapping.provider == provider)
            .order_by(SyncMapping.position, SyncMapping.id)
        )
        return [_mapping_out(row) for row in rows]

    return await in_call(request, work)


@put(EVENT_BASE + "{provider:str}/mappings/", tags=["outbound"])
async def put_mappings(
    request: Request,
    organizer: FromPath[str],
    event: FromPath[str],
    provider: FromPath[str],
    data: JSONBody[list[MappingIO]],
) -> Response[list[MappingIO]]:
    """Replace the provider's mappings on the event (an empty list goes back to the provider's defaults)."""

    def work(call: Call) -> list[MappingIO]:
        target = _provider_event(call, organizer, event, provider, SYNC_PERMISSION)
        fields = data_fields(call.session, target)
        problems: list[dict[str, Any]] = []
        for mapping in data:
            found = Problems()
            if mapping.source_model not in SOURCE_MODELS:
                found.add("source_model", f'"{mapping.source_model}" is not a valid choice.')
            for name in ("external_object_type", "external_id_field"):
                if not getattr(mapping, name).strip():
                    found.add(name, "This field may not be blank.")
            wanted = [mapping.source_id_field] + [pm.source_field for pm in mapping.property_mappings]
            for key in wanted:
                field = fields.get(key)
                if field is None:
                    found.add("property_mappings", f'Unknown source field "{key}".')
                elif field.required_input == "position" and mapping.source_model == "Order":
                    found.add("property_mappings", f'Source field "{key}" needs an OrderPosition mapping.')
            for pm in mapping.property_mappings:
                if pm.mode not in SYNC_MODES:
                    found.add("property_mappings", f'"{pm.mode}" is not a valid mode.')
                if not pm.external_field.strip():
                    found.add("property_mappings", "external_field may not be blank.")
            problems.append(found.errors)
        if any(problems):
            raise FieldErrors({"mappings": problems})
        call.session.execute(
            delete(SyncMapping).where(SyncMapping.event_id == target.id, SyncMapping.provider == provider)
        )
        rows = []
        for position, mapping in enumerate(data):
            row = SyncMapping(
                event_id=target.id,
                provider=provider,
                position=position,
                source_model=mapping.source_model,
                external_object_type=mapping.external_object_type,
                source_id_field=mapping.source_id_field,
                external_id_field=mapping.external_id_field,
                property_mappings=[msgspec.to_builtins(pm) for pm in mapping.property_mappings],
            )
            call.session.add(row)
            rows.append(row)
        call.session.flush()
        call.log(target, "boxoffice.event.datasync.mappings.changed", {"provider": provider, "mappings": len(rows)})
        return [_mapping_out(row) for row in rows]

    return await in_call(request, work)


@get(EVENT_BASE + "sourcefields/", tags=["outbound"])
async def get_source_fields(
    request: Request, organizer: FromPath[str], event: FromPath[str]
) -> Response[list[SourceFieldOut]]:
    """Source fields a mapping may use, with what they need (``order``, ``position`` or ``event``)."""

    def work(call: Call) -> list[SourceFieldOut]:
        target = call.event(organizer, event)
        return [SourceFieldOut(f.key, f.label, f.required_input) for f in data_fields(call.session, target).values()]

    return await in_call(request, work)


@get(EVENT_BASE + "results/", tags=["outbound"])
async def list_results(request: Request, organizer: FromPath[str], event: FromPath[str]) -> Response[Page[ResultOut]]:
    """What synced orders and tickets became in external systems (``?order=CODE``, ``?provider=``)."""

    def work(call: Call) -> Page[ResultOut]:
        from boxoffice.kernel.models.orders import OrderPosition

        target = call.event(organizer, event, None)
        call.require_event_permission("event.orders:read")
        statement = (
            select(SyncResult, Order.code, OrderPosition.positionid)
            .join(Order, Order.id == SyncResult.order_id)
            .outerjoin(OrderPosition, OrderPosition.id == SyncResult.position_id)
            .where(SyncResult.event_id == target.id)
        )
        if "order" in call.query:
            statement = statement.where(Order.code == call.query["order"])
        if "provider" in call.query:
            statement = statement.where(SyncResult.provider == call.query["provider"])
        page, size = call.page_numbers()
        rows = call.session.execute(statement.order_by(SyncResult.id).limit(size).offset((page - 1) * size)).all()
        count = call.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
        return call.page_envelope(
            count,
            page,
            size,
            [
                ResultOut(
                    order=code,
                    positionid=positionid,
                    provider=row.provider,
                    mapping=row.mapping_key,
                    object_type=row.object_type,
                    external_id_field=row.external_id_field,
                    id_value=row.id_value,
                    external_link_href=row.external_link_href,
                    external_link_display_name=row.external_link_display_name,
                    transmitted=row.transmitted,
                    sync_info=row.sync_info,
                )
                for row, code, positionid in rows
            ],
        )

    return await in_call(request, work)


ROUTES = [
    list_entries,
    get_entry,
    retry_entry,
    discard_entry,
    get_mappings,
    put_mappings,
    get_source_fields,
    list_results,
]
