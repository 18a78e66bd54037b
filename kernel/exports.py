"""Running exporters: as background jobs whose file waits under ``<data_dir>/exports/`` for a day, and on a schedule.

Exporters come from the ``register_data_exporters`` hook of the plugins active on an event and from
``register_multievent_data_exporters`` of those active on the organizer. A run is the ``exports.run`` job: the
exporter streams its file to disk through :meth:`~boxoffice.hookspecs.providers.Exporter.write` (so memory stays
flat however many orders it covers) and reports progress on the job row; the API answers 409 until the file exists.

Scheduled exports (:class:`~boxoffice.kernel.models.exports.ScheduledExport`) are picked up by the periodic
``exports.run_scheduled`` job (every minute, by Celery beat or ``boxoffice serve``): each due schedule is claimed
with a conditional update (so two workers never run it twice), run with the permissions of its owner, and its
file is e-mailed to the owner and the further recipients through the kernel's mail outbox. A failed run counts in
``error_counter``; after :data:`MAX_CONSECUTIVE_FAILURES` in a row the schedule stops until it is changed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import logging
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rruleset, rrulestr
from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from boxoffice.hookspecs.providers import Exporter, JobDefinition, JobFailed, ValidationFailure
from boxoffice.kernel import clock, mail
from boxoffice.kernel.i18n import use_locale
from boxoffice.kernel.models import Event, Organizer, Team
from boxoffice.kernel.models.exports import ScheduledExport
from boxoffice.kernel.models.mail import OutboxMail
from boxoffice.kernel.models.users import User

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel

logger = logging.getLogger(__name__)

EXPORT_JOB = "exports.run"
SCHEDULE_JOB = "exports.run_scheduled"
CLEANUP_JOB = "exports.delete_old_files"
# A finished export can be downloaded this long; scheduled files travel by mail and are not kept.
FILE_LIFETIME = timedelta(hours=24)
MAX_CONSECUTIVE_FAILURES = 5
EXPORT_PERMISSION = "event.orders:read"
EVENTS_PARAMETER = "events"
# Schedules run at most once a day, on the days the rule picks; these parts would pick days in ways we do not offer.
UNSUPPORTED_RULE_PARTS = ("BYMONTHDAY", "BYYEARDAY", "BYEASTER", "BYWEEKNO")
SCHEDULES_PER_RUN = 20


# --- finding exporters ----------------------------------------------------------------------------------------------


def built_for_event(kernel: Kernel, session: Session, event: Event, hook: str) -> dict[str, Any]:
    """The classes ``hook`` of the plugins active on ``event`` answers, each built with the event and its settings,
    by identifier (the first plugin to claim one wins)."""
    settings = kernel.settings_for(session, event=event)
    found: dict[str, Any] = {}
    for _plugin, provider_class in kernel.plugins.for_event(event).collect(hook, event=event):
        provider = provider_class(event, settings)
        found.setdefault(provider.identifier, provider)
    return found


def event_exporters(kernel: Kernel, session: Session, event: Event) -> dict[str, Exporter]:
    """The exporters of the plugins active on ``event``, by identifier (the first plugin to claim one wins)."""
    return built_for_event(kernel, session, event, "register_data_exporters")


def organizer_exporters(
    kernel: Kernel, session: Session, organizer: Organizer, events: Iterable[Event]
) -> dict[str, Exporter]:
    """The cross-event exporters of the plugins active on ``organizer``, built for ``events``."""
    settings = kernel.settings_for(session, organizer=organizer)
    chosen = list(events)
    found: dict[str, Exporter] = {}
    relay = kernel.plugins.for_organizer(organizer)
    for _plugin, exporter_class in relay.collect("register_multievent_data_exporters", organizer=organizer):
        exporter = exporter_class(organizer, chosen, settings)
        found.setdefault(exporter.identifier, exporter)
    return found


def describe_parameters(exporter: Exporter, organizer_level: bool = False) -> list[dict[str, Any]]:
    """``input_parameters`` as the API lists them: name, required and (when restricted) the choices."""
    described: list[dict[str, Any]] = []
    if organizer_level:
        described.append({"name": EVENTS_PARAMETER, "required": False})
    for name, spec in exporter.input_parameters.items():
        entry: dict[str, Any] = {"name": name, "required": bool(spec.get("required", False))}
        if spec.get("choices") is not None:
            entry["choices"] = [c[0] if isinstance(c, list | tuple) else c for c in spec["choices"]]
        described.append(entry)
    return described


def visible_events(session: Session, organizer: Organizer, all_events: bool, event_ids: Iterable[int]) -> list[Event]:
    """The organizer's events a caller (or schedule owner) may export from, oldest first."""
    statement = select(Event).where(Event.organizer_id == organizer.id).order_by(Event.date_from, Event.id)
    if not all_events:
        statement = statement.where(Event.id.in_(list(event_ids)))
    return list(session.scalars(statement.options(selectinload(Event.organizer))))


def narrow_events(events: Sequence[Event], params: dict[str, Any]) -> tuple[list[Event], dict[str, Any]]:
    """Apply the organizer-level ``events`` input (slugs; all visible events when absent) and remove it."""
    remaining = dict(params)
    wanted = remaining.pop(EVENTS_PARAMETER, None)
    if wanted in (None, "", []):
        return list(events), remaining
    if not isinstance(wanted, list) or not all(isinstance(slug, str) for slug in wanted):
        raise ValidationFailure("Enter a list of event slugs.", field=EVENTS_PARAMETER)
    by_slug = {event.slug: event for event in events}
    unknown = [slug for slug in wanted if slug not in by_slug]
    if unknown:
        raise ValidationFailure(f"Unknown event: {unknown[0]!r}.", field=EVENTS_PARAMETER)
    return [by_slug[slug] for slug in wanted], remaining


# --- files ------------------------------------------------------------------------------------------------------------


def exports_dir(kernel: Kernel) -> Path:
    return Path(kernel.config.data_dir) / "exports"


def export_path(kernel: Kernel, job_id: str) -> Path:
    return exports_dir(kernel) / job_id


def download_token(kernel: Kernel, purpose: str, job_id: str) -> str:
    """The second half of a download URL: only the server can make it, so job ids cannot be guessed into files."""
    message = f"{purpose}:{job_id}".encode()
    return hmac.new(kernel.config.secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]


def token_matches(kernel: Kernel, purpose: str, job_id: str, token: str) -> bool:
    # Compared as bytes: a URL may carry any text, and compare_digest refuses non-ASCII str.
    return hmac.compare_digest(download_token(kernel, purpose, job_id).encode(), token.encode())


# --- running ----------------------------------------------------------------------------------------------------------


def start_export(
    kernel: Kernel,
    session: Session,
    exporter: Exporter,
    params: dict[str, Any],
    *,
    event: Event | None = None,
    organizer: Organizer | None = None,
    event_ids: Sequence[int] = (),
) -> str:
    """Check the inputs (raises :class:`ValidationFailure`) and queue the ``exports.run`` job; returns its id."""
    exporter.validate_parameters(params)
    return kernel.jobs.enqueue_on_commit(
        session,
        EXPORT_JOB,
        identifier=exporter.identifier,
        params=params,
        event_id=event.id if event is not None else None,
        organizer_id=organizer.id if organizer is not None else None,
        event_ids=list(event_ids),
    )


def _load_exporter(
    kernel: Kernel,
    session: Session,
    identifier: str,
    event_id: int | None,
    organizer_id: int | None,
    event_ids: Sequence[int],
) -> Exporter:
    if event_id is not None:
        event = session.scalar(select(Event).where(Event.id == event_id).options(selectinload(Event.organizer)))
        if event is None:
            raise JobFailed("This event does not exist (anymore).")
        exporter = event_exporters(kernel, session, event).get(identifier)
    else:
        organizer = session.get(Organizer, organizer_id)
        if organizer is None:
            raise JobFailed("This organizer does not exist (anymore).")
        events = visible_events(session, organizer, False, event_ids)
        exporter = organizer_exporters(kernel, session, organizer, events).get(identifier)
    if exporter is None:
        raise JobFailed(f"The export {identifier!r} is not available here (anymore).")
    return exporter


def write_export(
    exporter: Exporter, params: dict[str, Any], target: Path, progress: Any, locale: str | None = None
) -> dict[str, Any]:
    """Stream the export into ``target`` (atomically: a half-written file is never served).

    It is written in ``locale`` (product names, formatting), by default the event's or organizer's language.
    """
    if locale is None and exporter.settings is not None:
        locale = str(exporter.settings.get("locale") or "") or None
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".tmp")
    try:
        with temporary.open("wb") as handle, use_locale(locale):
            filename, content_type = exporter.write(params, handle, progress)
    except ValidationFailure as failure:
        temporary.unlink(missing_ok=True)
        raise JobFailed(failure.message) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, target)
    return {"filename": filename, "content_type": content_type, "size": target.stat().st_size}


def run_export_job(
    context: Any,
    identifier: str,
    params: dict[str, Any],
    event_id: int | None = None,
    organizer_id: int | None = None,
    event_ids: list[int] | None = None,
) -> dict[str, Any]:
    """Job ``exports.run``: one export into ``<data_dir>/exports/<job id>``; the result names the file."""
    kernel: Kernel = context.kernel
    with context.session() as session:
        exporter = _load_exporter(kernel, session, identifier, event_id, organizer_id, event_ids or [])
        last = [-1]

        def progress(percent: int) -> None:
            # One short transaction per percent gained, not per call: exporters may call this for every row.
            if percent != last[0]:
                last[0] = percent
                context.progress(percent)

        return write_export(exporter, params, export_path(kernel, context.job_id), progress)


def delete_files_older_than(root: Path, lifetime: timedelta) -> int:
    """Remove the files directly in ``root`` not modified for ``lifetime``; returns how many went."""
    if not root.is_dir():
        return 0
    cutoff = (clock.now() - lifetime).timestamp()
    deleted = 0
    for path in root.iterdir():
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted


def delete_old_files(context: Any) -> int:
    """Job ``exports.delete_old_files``: remove export files older than :data:`FILE_LIFETIME`."""
    return delete_files_older_than(exports_dir(context.kernel), FILE_LIFETIME)


# --- schedules --------------------------------------------------------------------------------------------------------


def parse_rule(text: str) -> rrule | rruleset:
    """An RFC 5545 recurrence (``DTSTART`` and one ``RRULE``) choosing days; raises ``ValueError`` with a message."""
    upper = text.upper()
    if upper.count("RRULE:") > 1 or "EXRULE" in upper:
        raise ValueError("Only one RRULE is supported.")
    for part in UNSUPPORTED_RULE_PARTS:
        if part in upper:
            raise ValueError(f"{part} is not supported.")
    if any(f"FREQ={unit}" in upper for unit in ("HOURLY", "MINUTELY", "SECONDLY")):
        raise ValueError("A schedule runs at most once per day.")
    if "RRULE:" not in upper and "FREQ=" not in upper:
        raise ValueError("The rule needs an RRULE.")
    try:
        return rrulestr(text, dtstart=datetime(2000, 1, 1), ignoretz=True)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as error:
        raise ValueError(f"Not a valid recurrence rule: {error}") from None


def compute_next_run(rule_text: str, run_time: time, zone: str, after: datetime) -> datetime | None:
    """The first run strictly after ``after``: a day the rule picks, at ``run_time`` in ``zone``; in UTC."""
    rule = parse_rule(rule_text)
    tz = _zone(zone)
    local_day = after.astimezone(tz).date() - timedelta(days=1)
    for _attempt in range(3):
        occurrence = rule.after(datetime.combine(local_day, time(23, 59, 59)), inc=False)
        if occurrence is None:
            return None
        day: date = occurrence.date()
        moment = datetime.combine(day, run_time, tzinfo=tz).astimezone(UTC)
        if moment > after:
            return moment
        local_day = day
    return None


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return ZoneInfo("UTC")


def schedule_zone(kernel: Kernel, session: Session, schedule: ScheduledExport) -> str:
    if schedule.event_id is not None:
        event = session.get(Event, schedule.event_id)
        return str(kernel.settings_for(session, event=event).get("timezone") or "UTC")
    return schedule.timezone or "UTC"


def plan_next_run(kernel: Kernel, session: Session, schedule: ScheduledExport) -> None:
    """Set ``schedule_next_run`` from the rule (after now)."""
    schedule.schedule_next_run = compute_next_run(
        schedule.schedule_rrule, schedule.schedule_rrule_time, schedule_zone(kernel, session, schedule), clock.now()
    )


def _owner_scope(session: Session, schedule: ScheduledExport) -> tuple[bool, set[int], bool]:
    """What the owner may see now: (all events, event ids, may read orders) over the owner's teams."""
    if schedule.owner_team_id is not None:
        teams = [team for team in [session.get(Team, schedule.owner_team_id)] if team is not None]
    elif schedule.owner_user_id is not None:
        teams = list(
            session.scalars(
                select(Team).where(
                    Team.organizer_id == schedule.organizer_id, Team.members.any(User.id == schedule.owner_user_id)
                )
            )
        )
    else:
        teams = []
    readers = [t for t in teams if t.all_event_permissions or EXPORT_PERMISSION in (t.limit_event_permissions or ())]
    all_events = any(team.all_events for team in readers)
    event_ids = {event.id for team in readers for event in team.limit_events}
    return all_events, event_ids, bool(readers)


def owner_address(session: Session, schedule: ScheduledExport) -> str | None:
    if schedule.owner_user_id is None:
        return None
    user = session.get(User, schedule.owner_user_id)
    return user.email if user is not None else None


def split_addresses(text: str) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _scheduled_exporter(kernel: Kernel, session: Session, schedule: ScheduledExport) -> tuple[Exporter, dict[str, Any]]:
    all_events, event_ids, may_read = _owner_scope(session, schedule)
    if not may_read:
        raise JobFailed("The owner of this schedule may no longer export order data.")
    params = dict(schedule.export_form_data or {})
    if schedule.event_id is not None:
        event = session.get(Event, schedule.event_id)
        if event is None or not (all_events or event.id in event_ids):
            raise JobFailed("The owner of this schedule may no longer see this event.")
        exporter = event_exporters(kernel, session, event).get(schedule.export_identifier)
    else:
        organizer = session.get(Organizer, schedule.organizer_id)
        if organizer is None:
            raise JobFailed("This organizer does not exist (anymore).")
        events = visible_events(session, organizer, all_events, event_ids)
        try:
            events, params = narrow_events(events, params)
        except ValidationFailure as failure:
            raise JobFailed(failure.message) from None
        exporter = organizer_exporters(kernel, session, organizer, events).get(schedule.export_identifier)
    if exporter is None:
        raise JobFailed(f"The export {schedule.export_identifier!r} is not available (anymore).")
    return exporter, params


def queue_export_mail(
    kernel: Kernel,
    session: Session,
    schedule: ScheduledExport,
    attachment: tuple[str, str, bytes] | None,
    failure: str | None = None,
) -> OutboxMail:
    """Store the mail carrying a scheduled export (or telling the owner it failed) and deliver it after commit.

    Unlike order mails the texts are sent as written (the API documents them as free of placeholders), and
    organizer-level schedules have no event to render them with.
    """
    event = session.get(Event, schedule.event_id) if schedule.event_id is not None else None
    organizer = session.get(Organizer, schedule.organizer_id)
    settings = kernel.settings_for(session, event=event, organizer=organizer if event is None else None)
    if mail.transport(kernel, settings) is None:
        raise mail.MailUnavailable("No mail server is configured, so no e-mail can be sent.")
    owner = owner_address(session, schedule)
    if failure is not None:
        to = [owner] if owner else split_addresses(schedule.mail_additional_recipients)
        cc: list[str] = []
        bcc: list[str] = []
    else:
        to = [*([owner] if owner else []), *split_addresses(schedule.mail_additional_recipients)]
        cc = split_addresses(schedule.mail_additional_recipients_cc)
        bcc = split_addresses(schedule.mail_additional_recipients_bcc)
    recipients = [address for address in [*to, *cc, *bcc] if mail.valid_address(address)]
    if not recipients:
        raise JobFailed("This schedule has no valid recipient.")
    subject = schedule.mail_subject or schedule.export_identifier
    body = schedule.mail_template
    if failure is not None:
        subject = f"Export failed: {subject}"
        body = f"The scheduled export {schedule.export_identifier!r} could not be created:\n\n{failure}\n"
    outbox = OutboxMail(
        organizer_id=schedule.organizer_id,
        event_id=schedule.event_id,
        kind="export.scheduled" if failure is None else "export.scheduled_failed",
        sender=mail.sender(kernel, settings, event),
        recipients=recipients,
        reply_to=str(settings.get("mail_reply_to") or settings.get("contact_mail") or "") or None,
        subject=subject.replace("\n", " ").strip(),
        body=body,
        attachments=[
            {"filename": name, "content_type": content_type, "content": base64.b64encode(content).decode()}
            for name, content_type, content in ([attachment] if attachment is not None and failure is None else [])
        ],
        status="queued",
        attempts=0,
        max_attempts=6,
        next_attempt=clock.now(),
    )
    session.add(outbox)
    session.flush()
    kernel.jobs.enqueue_on_commit(session, mail.SEND_JOB, mail_id=outbox.id)
    return outbox


def run_schedule(kernel: Kernel, schedule_id: int, job_id: str) -> str:
    """Run one claimed schedule: export, mail, count the failure or reset the counter."""
    target = exports_dir(kernel) / f"scheduled-{job_id}-{schedule_id}"
    error: str | None = None
    try:
        with kernel.db.session() as session:
            schedule = session.get(ScheduledExport, schedule_id)
            if schedule is None:
                return "gone"
            exporter, params = _scheduled_exporter(kernel, session, schedule)
            result = write_export(exporter, params, target, lambda percent: None, schedule.locale or None)
            attachment = (result["filename"], result["content_type"], target.read_bytes())
            queue_export_mail(kernel, session, schedule, attachment)
            schedule.error_counter = 0
        return "sent"
    except (JobFailed, mail.MailUnavailable, ValueError) as failure:
        error = str(failure)
    except Exception as failure:
        logger.exception("scheduled export %s failed", schedule_id)
        error = f"internal error: {type(failure).__name__}"
    finally:
        target.unlink(missing_ok=True)
    with kernel.db.session() as session:
        schedule = session.get(ScheduledExport, schedule_id)
        if schedule is None:
            return "gone"
        schedule.error_counter += 1
        # Telling the recipients is a courtesy; a schedule whose mail cannot go out fails on its own next time.
        with contextlib.suppress(JobFailed, mail.MailUnavailable, ValueError):
            queue_export_mail(kernel, session, schedule, None, failure=error)
    return f"failed: {error}"


def run_scheduled_job(context: Any) -> dict[str, str]:
    """Periodic job ``exports.run_scheduled``: run the schedules that are due (a few per minute at most)."""
    kernel: Kernel = context.kernel
    moment = clock.now()
    with context.session() as session:
        due = list(
            session.execute(
                select(ScheduledExport.id, ScheduledExport.schedule_next_run)
                .where(
                    ScheduledExport.schedule_next_run <= moment,
                    ScheduledExport.error_counter < MAX_CONSECUTIVE_FAILURES,
                )
                .order_by(ScheduledExport.schedule_next_run)
                .limit(SCHEDULES_PER_RUN)
            )
        )
    outcomes: dict[str, str] = {}
    for schedule_id, planned in due:
        with context.session() as session:
            schedule = session.get(ScheduledExport, schedule_id)
            if schedule is None:
                continue
            try:
                following = compute_next_run(
                    schedule.schedule_rrule,
                    schedule.schedule_rrule_time,
                    schedule_zone(kernel, session, schedule),
                    moment,
                )
            except ValueError:
                following = None
            # The claim: only the worker that moves the planned moment on runs the schedule.
            claimed = session.execute(
                update(ScheduledExport)
                .where(ScheduledExport.id == schedule_id, ScheduledExport.schedule_next_run == planned)
                .values(schedule_next_run=following)
            ).rowcount
        if claimed:
            outcomes[str(schedule_id)] = run_schedule(kernel, schedule_id, context.job_id)
    return outcomes


def job_definitions() -> list[JobDefinition]:
    """The export jobs (registered by the kernel's default plugin)."""
    return [
        JobDefinition(EXPORT_JOB, run_export_job, queue="background"),
        JobDefinition(SCHEDULE_JOB, run_scheduled_job, queue="background", every_seconds=60),
        JobDefinition(CLEANUP_JOB, delete_old_files, queue="background", every_seconds=3600),
    ]
