"""What every REST endpoint uses: one database session and the caller's identity per request (:class:`Call`),
organizer/event scoping with permission checks, pagination, ordering, list ``Last-Modified`` and audit logging.

Handlers are ``async`` and hand their database work to :func:`in_call`, which runs it in a worker thread inside
one unit of work; a handler's sync function receives the :class:`Call` and returns the response body.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import urlencode

import anyio
import msgspec
from litestar import Request, Response
from litestar.response import File
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session, contains_eager

from boxoffice.apps.api.auth import Principal, authenticate
from boxoffice.apps.api.errors import ApiError, FieldErrors, forbidden, friendly, not_found
from boxoffice.kernel import clock, exports
from boxoffice.kernel.models import Event, JobRecord, LogEntry, Organizer
from boxoffice.kernel.models.markers import ChangeMarker

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel
    from boxoffice.kernel.settings import Settings

T = TypeVar("T")
MAX_PAGE_SIZE = 50
MAX_ID = 2**31 - 1


class Page(msgspec.Struct, Generic[T]):
    """pretix's list envelope."""

    count: int
    next: str | None
    previous: str | None
    results: list[T]


@dataclass
class Call:
    """One API request's unit of work: session, kernel, caller and the response headers being collected."""

    session: Session
    kernel: Kernel
    principal: Principal
    request_url: str
    query: Mapping[str, str]
    headers: dict[str, str] = field(default_factory=dict)

    # --- scoping --------------------------------------------------------------------------------------------

    def organizer(self, slug: str, permission: str | None = None) -> Organizer:
        """The organizer addressed by ``slug``; 403 when it is not the caller's (existing or not, like pretix)."""
        organizer = self.session.scalar(select(Organizer).where(Organizer.slug == slug))
        if organizer is None or organizer.id != self.principal.organizer_id:
            raise forbidden()
        if permission and not self.principal.has_organizer_permission(permission):
            raise forbidden()
        return organizer

    def event(self, organizer_slug: str, event_slug: str, permission: str | None = None) -> Event:
        """The event addressed by slugs; 403 when it does not exist or the caller may not see it."""
        # One query for both (this runs on every event-level request, the order rush included).
        event = self.session.scalar(
            select(Event)
            .join(Organizer, Organizer.id == Event.organizer_id)
            .where(Organizer.slug == organizer_slug, Event.slug == event_slug)
            .options(contains_eager(Event.organizer))
        )
        if event is None:
            # Tell an unknown organizer (403) from an unknown event of the caller's organizer (also 403, like pretix).
            self.organizer(organizer_slug)
            raise forbidden()
        if event.organizer_id != self.principal.organizer_id or not self.principal.can_see_event(event.id):
            raise forbidden()
        if permission and not self.principal.has_event_permission(permission):
            raise forbidden()
        return event

    def require_event_permission(self, permission: str) -> None:
        if not self.principal.has_event_permission(permission):
            raise forbidden()

    def require_organizer_permission(self, permission: str) -> None:
        if not self.principal.has_organizer_permission(permission):
            raise forbidden()

    def get(self, model: type[T], object_id: Any, **scope: Any) -> T:
        """One row by primary key that also matches ``scope`` (e.g. ``event_id=…``); 404 otherwise."""
        found = self.session.get(model, object_id) if possible_id(object_id) else None
        if found is None or any(getattr(found, key) != value for key, value in scope.items()):
            raise not_found()
        return found

    def download_token(self, purpose: str, job_id: str) -> str:
        """The second half of an async download URL for ``job_id``: only the server can make it, so job ids cannot
        be guessed into files; ``purpose`` keeps the tokens of different downloads apart."""
        return exports.download_token(self.kernel, purpose, job_id)

    def token_matches(self, purpose: str, job_id: str, token: str) -> bool:
        return exports.token_matches(self.kernel, purpose, job_id, token)

    def job(self, job_id: str, name: str, **arguments: Any) -> JobRecord:
        """The job ``name`` by id whose arguments hold ``arguments`` (e.g. ``event_id=…``); 404 when unknown, of
        another kind or scope, or deleted after it expired."""
        record = self.session.get(JobRecord, job_id) if len(job_id) <= 32 else None
        held = (record.arguments or {}) if record is not None else {}
        if record is None or record.name != name or any(held.get(key) != value for key, value in arguments.items()):
            raise not_found()
        return record

    def settings(self, *, event: Event | None = None, organizer: Organizer | None = None) -> Settings:
        return self.kernel.settings_for(self.session, event=event, organizer=organizer)

    # --- writing ----------------------------------------------------------------------------------------------

    def log(self, obj: Any, action_type: str, data: dict[str, Any] | None = None) -> LogEntry:
        """Audit-log a change made by the caller."""
        return self.kernel.log_action(self.session, obj, action_type, actor=self.principal.actor, data=data or {})

    def touch(self, event: Event, resource: str) -> None:
        """Mark an event's list of ``resource`` as changed (for ``Last-Modified`` on that list)."""
        marker = self.session.get(ChangeMarker, (event.id, resource))
        if marker is None:
            self.session.add(ChangeMarker(event_id=event.id, resource=resource, modified=clock.now()))
        else:
            marker.modified = clock.now()

    def last_modified(self, event: Event, resource: str) -> None:
        """Send ``Last-Modified`` for an event's list of ``resource`` (the middleware answers 304 from it)."""
        marker = self.session.get(ChangeMarker, (event.id, resource))
        moment = marker.modified if marker is not None else event.created
        self.headers["Last-Modified"] = http_date(moment)

    # --- lists ------------------------------------------------------------------------------------------------

    def paginate(
        self,
        statement: Select[Any],
        serialize: Callable[[Any], T],
        *,
        ordering: Mapping[str, ColumnElement[Any]] | None = None,
        default_ordering: Sequence[ColumnElement[Any]] = (),
        prepare: Callable[[list[Any]], None] | None = None,
    ) -> Page[T]:
        """Apply ``?ordering=`` (allowed names only, ``-`` reverses), ``?page=``/``?page_size=``; build the envelope.

        ``prepare`` receives the page's rows before serialisation, to load related rows in one query each.
        """
        page, page_size = self.page_numbers()
        requested = self.query.get("ordering", "")
        order_by: list[ColumnElement[Any]] = []
        for name in (part.strip() for part in requested.split(",") if part.strip()):
            column = (ordering or {}).get(name.lstrip("-"))
            if column is not None:
                order_by.append(column.desc() if name.startswith("-") else column.asc())
        order_by += list(default_ordering)
        count = self.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
        if page > 1 and (page - 1) * page_size >= count:
            raise not_found_page()
        rows = list(self.session.scalars(statement.order_by(*order_by).limit(page_size).offset((page - 1) * page_size)))
        if prepare is not None:
            prepare(rows)
        return self.page_envelope(count, page, page_size, [serialize(row) for row in rows])

    def page_envelope(self, count: int, page: int, page_size: int, results: list[T]) -> Page[T]:
        """The list envelope around page ``page`` (of ``page_size``) of ``count`` results: ``next``/``previous``
        are URLs of this request with another ``?page=``."""
        return Page(
            count=count,
            next=self.page_url(page + 1) if page * page_size < count else None,
            previous=self.page_url(page - 1) if page > 1 else None,
            results=results,
        )

    def page_numbers(self) -> tuple[int, int]:
        try:
            page = int(self.query.get("page", "1"))
            page_size = int(self.query.get("page_size", str(MAX_PAGE_SIZE)))
        except ValueError:
            raise not_found_page() from None
        if page < 1:
            raise not_found_page()
        return page, max(1, min(page_size, self.kernel.config.api_page_size_max, MAX_PAGE_SIZE))

    def page_url(self, page: int) -> str:
        base, _, _ = self.request_url.partition("?")
        params = {key: value for key, value in self.query.items() if key != "page"}
        if page > 1:
            params["page"] = str(page)
        return f"{base}?{urlencode(params)}" if params else base


def possible_id(value: Any) -> bool:
    """Whether ``value`` can be a primary key: keys are 32-bit integers on PostgreSQL, so anything outside that
    range names nothing (and must not reach SQL, where it would be an overflow rather than a miss)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def not_found_page() -> ApiError:
    return ApiError(404, "Invalid page.")


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def _database_limiter(request: Request) -> anyio.CapacityLimiter:
    """At most as many requests work on the database at once as the process has pooled connections: more threads
    would only queue for connections while competing for the interpreter, and a request holding quota locks
    would wait longer for its turn to commit."""
    state = request.app.state
    limiter = getattr(state, "database_limiter", None)
    if limiter is None:
        limiter = state.database_limiter = anyio.CapacityLimiter(state.kernel.config.db_pool_size)
    return limiter


async def in_call(request: Request, work: Callable[[Call], T], *, status_code: int = 200) -> Response[T]:
    """Authenticate and run ``work`` in one database unit of work (in a thread); wrap its result in a response."""
    kernel: Kernel = request.app.state.kernel
    authorization = request.headers.get("authorization")
    url = str(request.url)
    query = {key: value for key, value in request.query_params.items()}

    def run() -> tuple[T, dict[str, str]]:
        with kernel.db.session() as session:
            principal = authenticate(session, authorization)
            call = Call(session, kernel, principal, url, query)
            result = work(call)
            return result, call.headers

    result, headers = await anyio.to_thread.run_sync(run, limiter=_database_limiter(request))
    if status_code == 204:
        return Response(None, status_code=204, headers=headers)  # type: ignore[arg-type]
    return Response(result, status_code=status_code, headers=headers)


# --- files made by jobs ---------------------------------------------------------------------------------------

JOB_BUSY = ("waiting", "running")


def job_file_state(
    record: JobRecord,
    path: Path,
    filename: str,
    content_type: str | None = None,
    *,
    failed_message: str = "The export failed.",
    progress: bool = True,
) -> tuple[str, Any]:
    """Where a job that writes a file stands, returned from the ``in_call`` work for :func:`job_file_answer`:
    ``busy`` while it waits or runs (with its ``percentage`` when ``progress``), ``failed`` with its error, else
    ``done`` with the file (the job's ``filename``/``content_type`` result, or the defaults given). A job in any other
    state, or whose file is gone, is a 404."""
    if record.status in JOB_BUSY:
        busy = {"status": record.status}
        return "busy", ({**busy, "percentage": record.progress} if progress else busy)
    if record.status == "failed":
        return "failed", {"status": "failed", "message": record.error or failed_message}
    if record.status != "done" or not path.exists():
        raise not_found()
    result = record.result or {}
    return "done", (str(path), result.get("filename") or filename, result.get("content_type") or content_type)


def job_file_answer(response: Response[tuple[str, Any]]) -> Response[Any]:
    """The async download's answer: ``409`` with ``Retry-After`` while the job runs, ``410`` when it failed, else
    the file."""
    state, payload = response.content
    if state == "busy":
        return Response(payload, status_code=409, headers={**response.headers, "Retry-After": "1"})
    if state == "failed":
        return Response(payload, status_code=410, headers=dict(response.headers))
    path, filename, content_type = payload
    return File(path, filename=filename, media_type=content_type or "application/octet-stream")


# --- value helpers --------------------------------------------------------------------------------------------


def money(value: Decimal | None, places: int = 2) -> Decimal | None:
    """Money leaves the API as a decimal string with the currency's places (``"23.00"``)."""
    if value is None:
        return None
    return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def parse_bool(query: Mapping[str, str], name: str) -> bool | None:
    """pretix's boolean query parameters are the literals ``true`` and ``false``; anything else is a 400."""
    raw = query.get(name)
    if raw is None:
        return None
    if raw in ("true", "false"):
        return raw == "true"
    raise FieldErrors.single(name, "Must be 'true' or 'false'.")


def parse_datetime_param(query: Mapping[str, str], name: str) -> datetime | None:
    raw = query.get(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise FieldErrors.single(name, "Datetime has wrong format. Use ISO 8601.") from None
    try:
        return utc(value)
    except (OverflowError, ValueError):
        raise FieldErrors.single(name, "Datetime is out of the supported range.") from None


def utc(value: datetime) -> datetime:
    """Datetimes are kept in UTC; a client's datetime without offset is read as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_AT = re.compile(r" - at `\$\.?([^`]*)`$")
_MISSING = re.compile(r"Object missing required field `([^`]+)`")
Body = TypeVar("Body")


def decode_body(raw: bytes, kind: type[Body]) -> Body:
    """The request body as ``kind``, for action endpoints whose fields are all optional: an absent body (or
    ``null``) means no fields given, as pretix allows; a bad field answers 400 ``{"field": ["…"]}``. Call it after
    the permission check, so a stranger learns nothing from validation messages."""
    text = raw.strip()
    try:
        return msgspec.json.decode(text if text and text != b"null" else b"{}", type=kind)
    except msgspec.ValidationError as problem:
        message = str(problem)
        missing = _MISSING.search(message)
        if missing:
            raise FieldErrors.single(missing.group(1), "This field is required.") from None
        where = _AT.search(message)
        field = (where.group(1).split(".")[0].split("[")[0] if where else "") or "non_field_errors"
        raise FieldErrors.single(field, friendly(_AT.sub("", message))) from None
    except msgspec.DecodeError:
        raise ApiError(400, "JSON parse error - the request body is not valid JSON.") from None


def sent_fields(struct: msgspec.Struct) -> dict[str, Any]:
    """The fields a client actually sent in a PATCH body (those not left as ``msgspec.UNSET``), datetimes in UTC."""
    sent: dict[str, Any] = {}
    for name in struct.__struct_fields__:
        value = getattr(struct, name)
        if value is msgspec.UNSET:
            continue
        if isinstance(value, datetime):
            try:
                value = utc(value)
            except (OverflowError, ValueError):
                raise FieldErrors.single(name, "Datetime is out of the supported range.") from None
        sent[name] = value
    return sent
