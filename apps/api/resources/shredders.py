"""Data shredders: list them, export what the chosen ones will destroy, then shred with that export's URL.

``POST …/shredders/export/ {"shredders": [...]}`` answers 202 with ``download`` (the ZIP of the data; 409 while it
is made, 410 failed, 404 unknown, expired or asked for with other credentials) and ``shred``. ``POST`` on the shred
URL (once; 409 while the export runs, 410 when it failed or was used already) answers 202 with ``status``: 200
done, 409 running, 410 unknown, 417 ``{"status": "failed", "message"}`` when shredding failed.

Only for events that are over and whose shop is offline; every endpoint needs ``event.orders:write``. Download and
shred URLs are bound to the credentials that started the export.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath

from boxoffice.apps.api.auth import credentials_key
from boxoffice.apps.api.errors import ApiError, FieldErrors, not_found
from boxoffice.apps.api.resources.exporters import page_of
from boxoffice.apps.api.toolkit import Call, Page, decode_body, in_call, job_file_answer, job_file_state
from boxoffice.kernel import shredding
from boxoffice.kernel.models import Event, JobRecord

ALREADY_SHREDDED = "This export was used for shredding already."
EVENT = "/api/v1/organizers/{organizer:str}/events/{event:str}/shredders/"
# Download and shred URLs share their ids, as pretix's do: the export's id is the confirmation.
EXPORT = "shredder-export"
STATUS = "shredder-status"


class ShredderOut(msgspec.Struct):
    identifier: str
    verbose_name: str
    description: str
    tax_relevant: bool


class ExportIn(msgspec.Struct):
    shredders: list[str] | None = None


class ExportOut(msgspec.Struct):
    download: str
    shred: str


class StatusOut(msgspec.Struct):
    status: str


def _event(call: Call, organizer: str, event: str) -> Event:
    return call.event(organizer, event, shredding.SHRED_PERMISSION)


def _credentials(request: Request) -> str:
    return credentials_key(request.headers.get("authorization"), request.headers.get("cookie"))


def _token(call: Call, purpose: str, job_id: str, credentials: str) -> str:
    return call.download_token(f"{purpose}:{credentials}", job_id)


def _url(call: Call, event: Event, kind: str, job_id: str, token: str) -> str:
    site = call.kernel.config.site_url.rstrip("/")
    return f"{site}/api/v1/organizers/{event.organizer.slug}/events/{event.slug}/shredders/{kind}/{job_id}/{token}/"


def _job(call: Call, event: Event, name: str, job_id: str, token: str, purpose: str, credentials: str) -> JobRecord:
    """The job behind a URL; 404 when the token is not this caller's or the job is not this event's."""
    if not call.token_matches(f"{purpose}:{credentials}", job_id, token):
        raise not_found()
    return call.job(job_id, name, event_id=event.id)


@get(EVENT, tags=["shredders"])
async def list_shredders(request: Request, organizer: FromPath[str], event: FromPath[str]) -> Page[ShredderOut]:
    """The shredders available for this event."""

    def work(call: Call) -> Page[ShredderOut]:
        target = _event(call, organizer, event)
        found = shredding.event_shredders(call.kernel, call.session, target)
        return page_of(
            call,
            [
                ShredderOut(identifier, str(s.verbose_name), str(s.description), bool(s.tax_relevant))
                for identifier, s in found.items()
            ],
        )

    return await in_call(request, work)


@post(EVENT + "export/", tags=["shredders"], status_code=202)
async def start_export(request: Request, organizer: FromPath[str], event: FromPath[str]) -> Response[ExportOut]:
    """Export the data the chosen shredders will destroy; answers the ``download`` and ``shred`` URLs."""
    raw = await request.body()
    credentials = _credentials(request)

    def work(call: Call) -> ExportOut:
        target = _event(call, organizer, event)
        body = decode_body(raw, ExportIn)
        available = shredding.event_shredders(call.kernel, call.session, target)
        if not body.shredders:
            raise FieldErrors.single("shredders", "This list may not be empty.")
        unknown = [identifier for identifier in body.shredders if identifier not in available]
        if unknown:
            raise FieldErrors.single("shredders", f'"{unknown[0]}" is not a valid choice.')
        problem = shredding.shred_constraint(call.session, target)
        if problem:
            raise ApiError(400, problem)
        chosen = list(dict.fromkeys(body.shredders))
        job_id = call.kernel.jobs.enqueue_on_commit(
            call.session, shredding.EXPORT_JOB, event_id=target.id, shredders=chosen, credentials=credentials
        )
        token = _token(call, EXPORT, job_id, credentials)
        return ExportOut(
            download=_url(call, target, "download", job_id, token), shred=_url(call, target, "shred", job_id, token)
        )

    return await in_call(request, work, status_code=202)


@get(EVENT + "download/{job_id:str}/{token:str}/", tags=["shredders"])
async def download_export(
    request: Request, organizer: FromPath[str], event: FromPath[str], job_id: FromPath[str], token: FromPath[str]
) -> Response[Any]:
    """The ZIP of the data about to be shredded (200), 409 while it is made, 410 failed, 404 unknown/expired."""
    credentials = _credentials(request)

    def work(call: Call) -> tuple[str, Any]:
        target = _event(call, organizer, event)
        record = _job(call, target, shredding.EXPORT_JOB, job_id, token, EXPORT, credentials)
        path = shredding.export_path(call.kernel, job_id)
        return job_file_state(record, path, "shredder-export.zip", "application/zip", progress=False)

    return job_file_answer(await in_call(request, work))


@post(EVENT + "shred/{job_id:str}/{token:str}/", tags=["shredders"], status_code=202)
async def shred(
    request: Request, organizer: FromPath[str], event: FromPath[str], job_id: FromPath[str], token: FromPath[str]
) -> Response[Any]:
    """Shred the data of a finished export (once); answers the ``status`` URL."""
    credentials = _credentials(request)

    def work(call: Call) -> tuple[int, Any]:
        target = _event(call, organizer, event)
        record = _job(call, target, shredding.EXPORT_JOB, job_id, token, EXPORT, credentials)
        if record.status in ("waiting", "running"):
            return 409, {"status": record.status}
        if record.status != "done":
            message = record.error if record.status == "failed" else ALREADY_SHREDDED
            return 410, {"status": "failed", "message": message or "The export failed."}
        problem = shredding.shred_constraint(call.session, target)
        if problem:
            raise ApiError(400, problem)
        shred_id = shredding.start_shred(call.kernel, call.session, record, call.principal.actor)
        if shred_id is None:
            return 410, {"status": "failed", "message": ALREADY_SHREDDED}
        return 202, StatusOut(
            status=_url(call, target, "status", shred_id, _token(call, STATUS, shred_id, credentials))
        )

    status_code, payload = (await in_call(request, work)).content
    return Response(payload, status_code=status_code)


@get(EVENT + "status/{job_id:str}/{token:str}/", tags=["shredders"])
async def shred_status(
    request: Request, organizer: FromPath[str], event: FromPath[str], job_id: FromPath[str], token: FromPath[str]
) -> Response[Any]:
    """200 when shredding is done, 409 while it runs, 410 when unknown, 417 when it failed."""
    credentials = _credentials(request)

    def work(call: Call) -> tuple[int, Any]:
        target = _event(call, organizer, event)
        try:
            record = _job(call, target, shredding.SHRED_JOB, job_id, token, STATUS, credentials)
        except ApiError:
            return 410, {"status": "failed", "message": "Unknown or expired job."}
        if record.status in ("waiting", "running"):
            return 409, {"status": record.status}
        if record.status == "failed":
            return 417, {"status": "failed", "message": record.error or "Shredding failed."}
        return 200, {"status": "ok"}

    status_code, payload = (await in_call(request, work)).content
    return Response(payload, status_code=status_code)


ROUTES = [list_shredders, start_export, download_export, shred, shred_status]
