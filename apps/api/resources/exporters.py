"""Data exporters: ``…/exporters/`` lists the exports of the plugins active on the event (or organizer) with their
inputs; ``…/exporters/{identifier}/run/`` starts one (202 with a ``download`` URL); the download URL answers 409
with the progress while the job runs, 200 with the file, 410 when it failed and 404 when unknown or expired.

Exporting needs ``event.orders:read``; organizer level exports only the events the caller may see (narrowed with the
``events`` input, a list of slugs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath

from boxoffice.apps.api.errors import ApiError, FieldErrors, forbidden, not_found
from boxoffice.apps.api.toolkit import Call, Page, in_call, job_file_answer, job_file_state, not_found_page
from boxoffice.hookspecs.providers import Exporter, ValidationFailure
from boxoffice.kernel import exports
from boxoffice.kernel.models import Event, Organizer

ORGANIZER = "/api/v1/organizers/{organizer:str}/"
EVENT = ORGANIZER + "events/{event:str}/"
DOWNLOAD_PURPOSE = "export"


class ExporterOut(msgspec.Struct):
    identifier: str
    verbose_name: str
    input_parameters: list[dict[str, Any]]


class DownloadOut(msgspec.Struct):
    download: str


def page_of(call: Call, items: Sequence[Any]) -> Page[Any]:
    """A paginated envelope around an in-memory list (registries are not database queries)."""
    page, size = call.page_numbers()
    if page > 1 and (page - 1) * size >= len(items):
        raise not_found_page()
    return call.page_envelope(len(items), page, size, list(items[(page - 1) * size : page * size]))


def _describe(found: dict[str, Exporter], organizer_level: bool) -> list[ExporterOut]:
    return [
        ExporterOut(
            identifier=identifier,
            verbose_name=str(exporter.verbose_name),
            input_parameters=exports.describe_parameters(exporter, organizer_level),
        )
        for identifier, exporter in found.items()
    ]


def _event(call: Call, organizer: str, event: str) -> Event:
    return call.event(organizer, event, exports.EXPORT_PERMISSION)


def _organizer_scope(call: Call, organizer: str) -> tuple[Organizer, list[Event]]:
    found = call.organizer(organizer)
    if not call.principal.has_event_permission(exports.EXPORT_PERMISSION):
        raise forbidden()
    events = exports.visible_events(call.session, found, call.principal.all_events, call.principal.event_ids)
    return found, events


def _base(call: Call) -> str:
    return call.kernel.config.site_url.rstrip("/")


def _params(raw: bytes) -> dict[str, Any]:
    text = raw.strip()
    try:
        body = msgspec.json.decode(text) if text else {}
    except msgspec.DecodeError:
        raise ApiError(400, "JSON parse error - the request body is not valid JSON.") from None
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise FieldErrors.single("non_field_errors", "Invalid data. Expected a dictionary, but got list.")
    return body


@get(EVENT + "exporters/", tags=["exporters"])
async def list_event_exporters(request: Request, organizer: FromPath[str], event: FromPath[str]) -> Page[ExporterOut]:
    """The exports available for this event, with their input parameters."""

    def work(call: Call) -> Page[ExporterOut]:
        target = _event(call, organizer, event)
        return page_of(call, _describe(exports.event_exporters(call.kernel, call.session, target), False))

    return await in_call(request, work)


@get(ORGANIZER + "exporters/", tags=["exporters"])
async def list_organizer_exporters(request: Request, organizer: FromPath[str]) -> Page[ExporterOut]:
    """The cross-event exports available for this organizer, with their input parameters."""

    def work(call: Call) -> Page[ExporterOut]:
        found, events = _organizer_scope(call, organizer)
        return page_of(call, _describe(exports.organizer_exporters(call.kernel, call.session, found, events), True))

    return await in_call(request, work)


@post(EVENT + "exporters/{identifier:str}/run/", tags=["exporters"], status_code=202)
async def run_event_export(
    request: Request, organizer: FromPath[str], event: FromPath[str], identifier: FromPath[str]
) -> Response[DownloadOut]:
    """Start an export of this event; poll the returned ``download`` URL."""
    raw = await request.body()

    def work(call: Call) -> DownloadOut:
        target = _event(call, organizer, event)
        exporter = exports.event_exporters(call.kernel, call.session, target).get(identifier)
        if exporter is None:
            raise not_found()
        job_id = exports.start_export(call.kernel, call.session, exporter, _params(raw), event=target)
        token = call.download_token(DOWNLOAD_PURPOSE, job_id)
        base = f"{_base(call)}/api/v1/organizers/{target.organizer.slug}/events/{target.slug}"
        return DownloadOut(download=f"{base}/exporters/{identifier}/download/{job_id}/{token}/")

    return await in_call(request, work, status_code=202)


@post(ORGANIZER + "exporters/{identifier:str}/run/", tags=["exporters"], status_code=202)
async def run_organizer_export(
    request: Request, organizer: FromPath[str], identifier: FromPath[str]
) -> Response[DownloadOut]:
    """Start a cross-event export; ``events`` (a list of slugs) narrows it, all visible events otherwise."""
    raw = await request.body()

    def work(call: Call) -> DownloadOut:
        found, events = _organizer_scope(call, organizer)
        params = _params(raw)
        chosen, remaining = exports.narrow_events(events, params)
        exporter = exports.organizer_exporters(call.kernel, call.session, found, chosen).get(identifier)
        if exporter is None:
            raise not_found()
        job_id = exports.start_export(
            call.kernel,
            call.session,
            exporter,
            remaining,
            organizer=found,
            event_ids=[event.id for event in chosen],
        )
        token = call.download_token(DOWNLOAD_PURPOSE, job_id)
        return DownloadOut(
            download=f"{_base(call)}/api/v1/organizers/{found.slug}/exporters/{identifier}/download/{job_id}/{token}/"
        )

    return await in_call(request, work, status_code=202)


def _result(call: Call, identifier: str, job_id: str, token: str, **scope: int) -> tuple[str, Any]:
    if not call.token_matches(DOWNLOAD_PURPOSE, job_id, token):
        raise not_found()
    record = call.job(job_id, exports.EXPORT_JOB, identifier=identifier, **scope)
    return job_file_state(record, exports.export_path(call.kernel, job_id), identifier)


@get(EVENT + "exporters/{identifier:str}/download/{job_id:str}/{token:str}/", tags=["exporters"])
async def download_event_export(
    request: Request,
    organizer: FromPath[str],
    event: FromPath[str],
    identifier: FromPath[str],
    job_id: FromPath[str],
    token: FromPath[str],
) -> Response[Any]:
    """The export's file (200), ``409 {"status", "percentage"}`` while it runs, 410 failed, 404 unknown/expired."""

    def work(call: Call) -> tuple[str, Any]:
        target = _event(call, organizer, event)
        return _result(call, identifier, job_id, token, event_id=target.id)

    return job_file_answer(await in_call(request, work))


@get(ORGANIZER + "exporters/{identifier:str}/download/{job_id:str}/{token:str}/", tags=["exporters"])
async def download_organizer_export(
    request: Request, organizer: FromPath[str], identifier: FromPath[str], job_id: FromPath[str], token: FromPath[str]
) -> Response[Any]:
    """The cross-event export's file; same answers as the event-level download."""

    def work(call: Call) -> tuple[str, Any]:
        found, _events = _organizer_scope(call, organizer)
        return _result(call, identifier, job_id, token, organizer_id=found.id)

    return job_file_answer(await in_call(request, work))


def validation_error(failure: ValidationFailure, field: str) -> FieldErrors:
    """An exporter's input problem reported under ``field`` (e.g. ``export_form_data`` of a schedule)."""
    prefix = f"{failure.field}: " if failure.field else ""
    return FieldErrors.single(field, prefix + failure.message)


ROUTES = [
    list_event_exporters,
    list_organizer_exporters,
    run_event_export,
    run_organizer_export,
    download_event_export,
    download_organizer_export,
]
