"""Scheduled exports at event level (``…/events/{event}/scheduled_exports/``) and organizer level
(``…/organizers/{organizer}/scheduled_exports/``): an exporter, its inputs, a recurrence rule with a time of day,
and who gets the file by e-mail. The periodic job in :mod:`boxoffice.kernel.exports` runs them.

Who may see what (as the spec notes): callers with the settings permission (``event.settings.general:write`` on the
event, ``organizer.settings.general:write`` on the organizer) see and change every schedule; others only their own.
This server has no OAuth applications, so schedules are created with team API tokens and belong to that team (the
``owner`` e-mail stays empty, and at least one recipient is required); the team's permissions limit the exported
data whenever the schedule runs. Creating one needs ``event.orders:read``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from litestar import Request, Response, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody
from sqlalchemy import ColumnElement, Select, select

from boxoffice.apps.api.errors import Problems, forbidden, not_found
from boxoffice.apps.api.resources.exporters import validation_error
from boxoffice.apps.api.toolkit import Call, Page, in_call, sent_fields
from boxoffice.hookspecs.providers import Exporter, ValidationFailure
from boxoffice.kernel import clock, exports, mail
from boxoffice.kernel.models import Event, Organizer
from boxoffice.kernel.models.exports import ScheduledExport

ORGANIZER = "/api/v1/organizers/{organizer:str}/"
EVENT = ORGANIZER + "events/{event:str}/"
EVENT_SETTINGS = "event.settings.general:write"
ORGANIZER_SETTINGS = "organizer.settings.general:write"
FIELDS_TEXT = ("mail_additional_recipients", "mail_additional_recipients_cc", "mail_additional_recipients_bcc")


class ScheduleOut(msgspec.Struct, omit_defaults=True):
    id: int
    owner: str | None
    export_identifier: str
    export_form_data: dict[str, Any]
    locale: str
    mail_additional_recipients: str
    mail_additional_recipients_cc: str
    mail_additional_recipients_bcc: str
    mail_subject: str
    mail_template: str
    schedule_rrule: str
    schedule_rrule_time: time
    schedule_next_run: datetime | None
    error_counter: int
    timezone: str | msgspec.UnsetType = msgspec.UNSET


class ScheduleIn(msgspec.Struct, forbid_unknown_fields=False):
    export_identifier: str | msgspec.UnsetType = msgspec.UNSET
    export_form_data: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    locale: str | msgspec.UnsetType = msgspec.UNSET
    mail_additional_recipients: str | msgspec.UnsetType = msgspec.UNSET
    mail_additional_recipients_cc: str | msgspec.UnsetType = msgspec.UNSET
    mail_additional_recipients_bcc: str | msgspec.UnsetType = msgspec.UNSET
    mail_subject: str | msgspec.UnsetType = msgspec.UNSET
    mail_template: str | msgspec.UnsetType = msgspec.UNSET
    schedule_rrule: str | msgspec.UnsetType = msgspec.UNSET
    schedule_rrule_time: time | msgspec.UnsetType = msgspec.UNSET
    timezone: str | msgspec.UnsetType = msgspec.UNSET


DEFAULTS: dict[str, Any] = {
    "export_form_data": {},
    "locale": "en",
    "mail_additional_recipients": "",
    "mail_additional_recipients_cc": "",
    "mail_additional_recipients_bcc": "",
    "mail_subject": "",
    "mail_template": "",
    "timezone": "UTC",
}
REQUIRED = ("export_identifier", "schedule_rrule", "schedule_rrule_time")


@dataclass
class Scope:
    """Where schedules live: one event, or the organizer's own (cross-event) ones."""

    call: Call
    organizer: Organizer
    event: Event | None

    @property
    def sees_all(self) -> bool:
        principal = self.call.principal
        if self.event is not None:
            return principal.has_event_permission(EVENT_SETTINGS)
        return principal.has_organizer_permission(ORGANIZER_SETTINGS)

    def visible(self) -> Select[Any]:
        where: list[ColumnElement[bool]] = [ScheduledExport.organizer_id == self.organizer.id]
        where.append(
            ScheduledExport.event_id == self.event.id if self.event is not None else ScheduledExport.event_id.is_(None)
        )
        if not self.sees_all:
            team = self.call.principal.team_id
            where.append(ScheduledExport.owner_team_id == team if team else ScheduledExport.id.is_(None))
        return select(ScheduledExport).where(*where)

    def exporter(self, identifier: str) -> Exporter | None:
        kernel, session = self.call.kernel, self.call.session
        if self.event is not None:
            return exports.event_exporters(kernel, session, self.event).get(identifier)
        principal = self.call.principal
        events = exports.visible_events(session, self.organizer, principal.all_events, principal.event_ids)
        return exports.organizer_exporters(kernel, session, self.organizer, events).get(identifier)


def _event_scope(call: Call, organizer: str, event: str) -> Scope:
    target = call.event(organizer, event)
    return Scope(call, target.organizer, target)


def _organizer_scope(call: Call, organizer: str) -> Scope:
    return Scope(call, call.organizer(organizer), None)


def _shape(call: Call, schedule: ScheduledExport) -> ScheduleOut:
    return ScheduleOut(
        id=schedule.id,
        owner=exports.owner_address(call.session, schedule),
        export_identifier=schedule.export_identifier,
        export_form_data=schedule.export_form_data or {},
        locale=schedule.locale,
        mail_additional_recipients=schedule.mail_additional_recipients,
        mail_additional_recipients_cc=schedule.mail_additional_recipients_cc,
        mail_additional_recipients_bcc=schedule.mail_additional_recipients_bcc,
        mail_subject=schedule.mail_subject,
        mail_template=schedule.mail_template,
        schedule_rrule=schedule.schedule_rrule,
        schedule_rrule_time=schedule.schedule_rrule_time,
        schedule_next_run=schedule.schedule_next_run,
        error_counter=schedule.error_counter,
        timezone=(schedule.timezone or "UTC") if schedule.event_id is None else msgspec.UNSET,
    )


def _values(scope: Scope, schedule: ScheduledExport | None, data: ScheduleIn, full: bool) -> dict[str, Any]:
    """The schedule's fields after this request, checked together (400 naming every problem)."""
    sent = sent_fields(data)
    if scope.event is not None:
        sent.pop("timezone", None)
    current: dict[str, Any] = {}
    if schedule is not None and not full:
        current = {name: getattr(schedule, name) for name in (*REQUIRED, *DEFAULTS)}
    values = {**DEFAULTS, **current, **sent}
    problems = Problems()
    for name in REQUIRED:
        if values.get(name) in (None, ""):
            problems.add(name, "This field is required.")
    exporter = scope.exporter(values["export_identifier"]) if values.get("export_identifier") else None
    if values.get("export_identifier") and exporter is None:
        problems.add("export_identifier", f'"{values["export_identifier"]}" is not a valid choice.')
    if exporter is not None:
        form = dict(values["export_form_data"] or {})
        try:
            if scope.event is None:
                principal = scope.call.principal
                events = exports.visible_events(
                    scope.call.session, scope.organizer, principal.all_events, principal.event_ids
                )
                _chosen, form = exports.narrow_events(events, form)
            exporter.validate_parameters(form)
        except ValidationFailure as failure:
            problems.errors.update(validation_error(failure, "export_form_data").errors)
    if values.get("schedule_rrule"):
        try:
            exports.parse_rule(values["schedule_rrule"])
        except ValueError as error:
            problems.add("schedule_rrule", str(error))
    for name in FIELDS_TEXT:
        for address in exports.split_addresses(values.get(name) or ""):
            if not mail.valid_address(address):
                problems.add(name, f"{address!r} is not a valid e-mail address.")
    owner_user = schedule.owner_user_id if schedule is not None else None
    if owner_user is None and not exports.split_addresses(values.get("mail_additional_recipients") or ""):
        problems.add("mail_additional_recipients", "A schedule without an owning user needs at least one recipient.")
    if scope.event is None:
        try:
            ZoneInfo(str(values.get("timezone") or "UTC"))
        except (ZoneInfoNotFoundError, ValueError, OSError):
            problems.add("timezone", f'"{values.get("timezone")}" is not a valid choice.')
    if len(str(values.get("mail_subject") or "")) > 255:
        problems.add("mail_subject", "Ensure this field has no more than 255 characters.")
    if len(str(values.get("locale") or "")) > 50:
        problems.add("locale", "Ensure this field has no more than 50 characters.")
    problems.raise_if_any()
    return values


def _apply(scope: Scope, schedule: ScheduledExport, values: dict[str, Any]) -> None:
    for name in (*REQUIRED, *DEFAULTS):
        if name == "timezone" and scope.event is not None:
            continue
        setattr(schedule, name, values[name])
    # A changed schedule starts afresh: the failures counted were the old settings'.
    schedule.error_counter = 0
    scope.call.session.flush()
    exports.plan_next_run(scope.call.kernel, scope.call.session, schedule)


def _list(scope: Scope) -> Page[ScheduleOut]:
    ordering = {
        "id": ScheduledExport.id,
        "export_identifier": ScheduledExport.export_identifier,
        "schedule_next_run": ScheduledExport.schedule_next_run,
    }
    return scope.call.paginate(
        scope.visible(),
        lambda schedule: _shape(scope.call, schedule),
        ordering=ordering,
        default_ordering=[ScheduledExport.id],
    )


def _one(scope: Scope, schedule_id: int) -> ScheduledExport:
    schedule = scope.call.session.scalar(scope.visible().where(ScheduledExport.id == schedule_id))
    if schedule is None:
        raise not_found()
    return schedule


def _create(scope: Scope, data: ScheduleIn) -> ScheduleOut:
    principal = scope.call.principal
    if principal.team_id is None or not principal.has_event_permission(exports.EXPORT_PERMISSION):
        raise forbidden()
    values = _values(scope, None, data, full=True)
    schedule = ScheduledExport(
        organizer_id=scope.organizer.id,
        event_id=scope.event.id if scope.event is not None else None,
        owner_team_id=principal.team_id,
        created=clock.now(),
    )
    scope.call.session.add(schedule)
    _apply(scope, schedule, values)
    scope.call.log(
        scope.event or scope.organizer, "boxoffice.scheduled_export.created", {"id": schedule.id, **_log(values)}
    )
    return _shape(scope.call, schedule)


def _log(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "export_identifier": values["export_identifier"],
        "schedule_rrule": values["schedule_rrule"],
        "schedule_rrule_time": values["schedule_rrule_time"].isoformat(),
    }


def _update(scope: Scope, schedule_id: int, data: ScheduleIn, full: bool) -> ScheduleOut:
    schedule = _one(scope, schedule_id)
    values = _values(scope, schedule, data, full)
    _apply(scope, schedule, values)
    scope.call.log(
        scope.event or scope.organizer, "boxoffice.scheduled_export.changed", {"id": schedule.id, **_log(values)}
    )
    return _shape(scope.call, schedule)


def _delete(scope: Scope, schedule_id: int) -> None:
    schedule = _one(scope, schedule_id)
    scope.call.log(scope.event or scope.organizer, "boxoffice.scheduled_export.deleted", {"id": schedule.id})
    scope.call.session.delete(schedule)


# --- event level --------------------------------------------------------------------------------------------------


@get(EVENT + "scheduled_exports/", tags=["scheduled_exports"])
async def list_event_schedules(request: Request, organizer: FromPath[str], event: FromPath[str]) -> Page[ScheduleOut]:
    """The event's scheduled exports the caller may see."""
    return await in_call(request, lambda call: _list(_event_scope(call, organizer, event)))


@get(EVENT + "scheduled_exports/{schedule_id:int}/", tags=["scheduled_exports"])
async def get_event_schedule(
    request: Request, organizer: FromPath[str], event: FromPath[str], schedule_id: FromPath[int]
) -> Response[ScheduleOut]:
    """One scheduled export of the event."""
    return await in_call(request, lambda call: _shape(call, _one(_event_scope(call, organizer, event), schedule_id)))


@post(EVENT + "scheduled_exports/", tags=["scheduled_exports"], status_code=201)
async def create_event_schedule(
    request: Request, organizer: FromPath[str], event: FromPath[str], data: JSONBody[ScheduleIn]
) -> Response[ScheduleOut]:
    """Schedule an export of this event."""
    return await in_call(request, lambda call: _create(_event_scope(call, organizer, event), data), status_code=201)


@patch(EVENT + "scheduled_exports/{schedule_id:int}/", tags=["scheduled_exports"])
async def patch_event_schedule(
    request: Request,
    organizer: FromPath[str],
    event: FromPath[str],
    schedule_id: FromPath[int],
    data: JSONBody[ScheduleIn],
) -> Response[ScheduleOut]:
    """Change the fields sent; the failure counter starts again and the next run is planned anew."""
    return await in_call(request, lambda call: _update(_event_scope(call, organizer, event), schedule_id, data, False))


@put(EVENT + "scheduled_exports/{schedule_id:int}/", tags=["scheduled_exports"])
async def put_event_schedule(
    request: Request,
    organizer: FromPath[str],
    event: FromPath[str],
    schedule_id: FromPath[int],
    data: JSONBody[ScheduleIn],
) -> Response[ScheduleOut]:
    """Replace the schedule: fields left out get their defaults."""
    return await in_call(request, lambda call: _update(_event_scope(call, organizer, event), schedule_id, data, True))


@delete(EVENT + "scheduled_exports/{schedule_id:int}/", tags=["scheduled_exports"], status_code=204)
async def delete_event_schedule(
    request: Request, organizer: FromPath[str], event: FromPath[str], schedule_id: FromPath[int]
) -> Response[None]:
    """Stop and forget a scheduled export."""
    return await in_call(
        request, lambda call: _delete(_event_scope(call, organizer, event), schedule_id), status_code=204
    )


# --- organizer level ----------------------------------------------------------------------------------------------


@get(ORGANIZER + "scheduled_exports/", tags=["scheduled_exports"])
async def list_organizer_schedules(request: Request, organizer: FromPath[str]) -> Page[ScheduleOut]:
    """The organizer's cross-event scheduled exports the caller may see."""
    return await in_call(request, lambda call: _list(_organizer_scope(call, organizer)))


@get(ORGANIZER + "scheduled_exports/{schedule_id:int}/", tags=["scheduled_exports"])
async def get_organizer_schedule(
    request: Request, organizer: FromPath[str], schedule_id: FromPath[int]
) -> Response[ScheduleOut]:
    """One cross-event scheduled export."""
    return await in_call(request, lambda call: _shape(call, _one(_organizer_scope(call, organizer), schedule_id)))


@post(ORGANIZER + "scheduled_exports/", tags=["scheduled_exports"], status_code=201)
async def create_organizer_schedule(
    request: Request, organizer: FromPath[str], data: JSONBody[ScheduleIn]
) -> Response[ScheduleOut]:
    """Schedule a cross-event export (``timezone`` sets the zone of the time of day)."""
    return await in_call(request, lambda call: _create(_organizer_scope(call, organizer), data), status_code=201)


@patch(ORGANIZER + "scheduled_exports/{schedule_id:int}/", tags=["scheduled_exports"])
async def patch_organizer_schedule(
    request: Request, organizer: FromPath[str], schedule_id: FromPath[int], data: JSONBody[ScheduleIn]
) -> Response[ScheduleOut]:
    """Change the fields sent."""
    return await in_call(request, lambda call: _update(_organizer_scope(call, organizer), schedule_id, data, False))


@put(ORGANIZER + "scheduled_exports/{schedule_id:int}/", tags=["scheduled_exports"])
async def put_organizer_schedule(
    request: Request, organizer: FromPath[str], schedule_id: FromPath[int], data: JSONBody[ScheduleIn]
) -> Response[ScheduleOut]:
    """Replace the schedule."""
    return await in_call(request, lambda call: _update(_organizer_scope(call, organizer), schedule_id, data, True))


@delete(ORGANIZER + "scheduled_exports/{schedule_id:int}/", tags=["scheduled_exports"], status_code=204)
async def delete_organizer_schedule(
    request: Request, organizer: FromPath[str], schedule_id: FromPath[int]
) -> Response[None]:
    """Stop and forget a cross-event scheduled export."""
    return await in_call(request, lambda call: _delete(_organizer_scope(call, organizer), schedule_id), status_code=204)


ROUTES = [
    list_event_schedules,
    get_event_schedule,
    create_event_schedule,
    patch_event_schedule,
    put_event_schedule,
    delete_event_schedule,
    list_organizer_schedules,
    get_organizer_schedule,
    create_organizer_schedule,
    patch_organizer_schedule,
    put_organizer_schedule,
    delete_organizer_schedule,
]
