"""Shredding personal data of an event that is over: export what will go, confirm with that export, then overwrite.

Shredders come from the ``register_data_shredders`` hook of the plugins active on the event. The flow has two jobs:

1. ``shredding.export`` runs ``generate_files()`` of each chosen shredder into one ZIP under
   ``<data_dir>/shredder/<job id>.zip`` (the organizer's copy of what is about to be destroyed);
2. ``shredding.shred`` — started only with the id of that finished export, once — runs ``shred_data()`` of the
   same shredders, deletes the export file and writes one audit-log entry on the event.

Both are refused while the event is not over or its shop is still live (:func:`shred_constraint`): data of an event
that still sells tickets or admits people is still needed. Shredders overwrite personal text; orders, their totals,
payments' amounts and the ledger stay as they were, so accounts and statistics keep adding up.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from boxoffice.hookspecs.providers import DataShredder, JobDefinition, JobFailed
from boxoffice.kernel import clock
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.exports import FILE_LIFETIME, built_for_event, delete_files_older_than
from boxoffice.kernel.models import Event, JobRecord
from boxoffice.kernel.models.subevents import SubEvent
from boxoffice.kernel.tickets import tickets_dir

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel

EXPORT_JOB = "shredding.export"
SHRED_JOB = "shredding.shred"
CLEANUP_JOB = "shredding.delete_old_files"
SHRED_PERMISSION = "event.orders:write"
SHRED_ACTION = "boxoffice.event.shredder.shredded"
# The export row is marked with this status once its shred has started, so one confirmation shreds only once.
CONSUMED = "consumed"
NOT_OVER = "Your event needs to be over to use this feature."
STILL_LIVE = "Your ticket shop needs to be offline to use this feature."


def event_shredders(kernel: Kernel, session: Session, event: Event) -> dict[str, DataShredder]:
    """The shredders of the plugins active on ``event``, by identifier (the first plugin to claim one wins)."""
    return built_for_event(kernel, session, event, "register_data_shredders")


def event_end(session: Session, event: Event) -> datetime:
    """When the event (all of its dates, for a series) is over."""
    if event.has_subevents:
        latest = session.scalar(
            select(func.max(func.coalesce(SubEvent.date_to, SubEvent.date_from))).where(SubEvent.event_id == event.id)
        )
        if latest is not None:
            return latest
    return event.date_to or event.date_from


def shred_constraint(session: Session, event: Event) -> str | None:
    """Why the event's data may not be shredded now, or ``None`` when it may."""
    if event_end(session, event) > clock.now():
        return NOT_OVER
    if event.live:
        return STILL_LIVE
    return None


def shredder_dir(kernel: Kernel) -> Path:
    return Path(kernel.config.data_dir) / "shredder"


def export_path(kernel: Kernel, job_id: str) -> Path:
    return shredder_dir(kernel) / f"{job_id}.zip"


def _load(kernel: Kernel, session: Session, event_id: int, identifiers: list[str]) -> tuple[Event, list[DataShredder]]:
    event = session.scalar(select(Event).where(Event.id == event_id).options(selectinload(Event.organizer)))
    if event is None:
        raise JobFailed("This event does not exist (anymore).")
    problem = shred_constraint(session, event)
    if problem:
        raise JobFailed(problem)
    available = event_shredders(kernel, session, event)
    missing = [identifier for identifier in identifiers if identifier not in available]
    if missing:
        raise JobFailed(f"The shredder {missing[0]!r} is not available for this event (anymore).")
    return event, [available[identifier] for identifier in identifiers]


def export_job(context: Any, event_id: int, shredders: list[str], credentials: str) -> dict[str, Any]:
    """Job ``shredding.export``: the data the chosen shredders will destroy, as one ZIP file.

    ``credentials`` (a key of the caller's credentials, not the credentials) binds the file and the shred step to
    whoever started the export.
    """
    kernel: Kernel = context.kernel
    with context.session() as session:
        event, chosen = _load(kernel, session, event_id, shredders)
        target = export_path(kernel, context.job_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(".tmp")
        try:
            with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for index, shredder in enumerate(chosen):
                    for filename, _content_type, content in shredder.generate_files():
                        archive.writestr(f"{shredder.identifier}/{filename}", content)
                    context.progress((index + 1) * 100 // (len(chosen) + 1))
                archive.writestr("CONFIRM_CODE.txt", _manifest(event, shredders, context.job_id))
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        os.replace(temporary, target)
        return {"filename": f"{event.slug}-shredder-export.zip", "size": target.stat().st_size}


def _manifest(event: Event, shredders: list[str], job_id: str) -> str:
    lines = [
        f"Export of personal data of {event.slug} before shredding ({clock.now().isoformat()}).",
        f"Confirmation code: {job_id}",
        "Shredders: " + ", ".join(shredders),
    ]
    return "\n".join(lines) + "\n"


def start_shred(kernel: Kernel, session: Session, export: JobRecord, actor: Actor) -> str | None:
    """Consume the finished export ``export`` and queue the shred job; ``None`` when it was consumed already."""
    consumed = session.execute(
        update(JobRecord).where(JobRecord.id == export.id, JobRecord.status == "done").values(status=CONSUMED)
    ).rowcount
    if not consumed:
        return None
    arguments = export.arguments or {}
    # The copy is the organizer's to keep from the download; it must not outlive the data it holds on the server.
    export_path(kernel, export.id).unlink(missing_ok=True)
    return kernel.jobs.enqueue_on_commit(
        session,
        SHRED_JOB,
        event_id=arguments["event_id"],
        shredders=list(arguments["shredders"]),
        confirm_code=export.id,
        credentials=arguments["credentials"],
        actor_type=actor.type,
        actor_id=actor.id,
    )


def shred_job(
    context: Any,
    event_id: int,
    shredders: list[str],
    confirm_code: str,
    credentials: str,
    actor_type: str,
    actor_id: str | None,
) -> dict[str, Any]:
    """Job ``shredding.shred``: run ``shred_data()`` of each chosen shredder, then audit-log it on the event.

    Each shredder commits on its own, so progress can be reported between them (SQLite admits one writer) and a
    failing shredder keeps what the ones before it removed; running the same shredder again only masks masks.
    """
    kernel: Kernel = context.kernel
    with context.session() as session:
        _load(kernel, session, event_id, shredders)
    for index, identifier in enumerate(shredders):
        with context.session() as session:
            _event, (shredder,) = _load(kernel, session, event_id, [identifier])
            shredder.shred_data(None)
        context.progress((index + 1) * 100 // (len(shredders) + 1))
    with context.session() as session:
        event, _chosen = _load(kernel, session, event_id, [])
        kernel.log_action(
            session,
            event,
            SHRED_ACTION,
            actor=Actor(actor_type, actor_id),  # type: ignore[arg-type]
            data={"shredders": shredders, "confirm_code": confirm_code},
        )
    # Cached ticket files carry attendee names; they are rendered again from the shredded data when asked for.
    shutil.rmtree(tickets_dir(kernel) / "cache" / str(event_id), ignore_errors=True)
    return {"shredders": shredders}


def delete_old_files(context: Any) -> int:
    """Job ``shredding.delete_old_files``: exports that were never confirmed are removed after a day."""
    return delete_files_older_than(shredder_dir(context.kernel), FILE_LIFETIME)


def job_definitions() -> list[JobDefinition]:
    """The shredder jobs (registered by the kernel's default plugin)."""
    return [
        JobDefinition(EXPORT_JOB, export_job, queue="background"),
        JobDefinition(SHRED_JOB, shred_job),
        JobDefinition(CLEANUP_JOB, delete_old_files, queue="background", every_seconds=3600),
    ]
