"""Background jobs: one ``enqueue`` runs a job in a Celery worker when a broker is configured and in the calling
process otherwise. Job state lives in the ``job`` table so the API can report progress the same way for both.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from celery import Celery
from kombu.exceptions import OperationalError as KombuOperationalError
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import update
from sqlalchemy.orm import Session, object_session

from boxoffice.hookspecs.providers import JobDefinition, JobFailed
from boxoffice.kernel import clock
from boxoffice.kernel.models import JobRecord

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel
    from boxoffice.kernel.settings import Settings

logger = logging.getLogger(__name__)

RUN_JOB_TASK = "boxoffice.run_job"
ENQUEUE_JOB_TASK = "boxoffice.enqueue_job"


class JobError(ValueError):
    """A job cannot be enqueued as asked (unknown name, arguments that are not JSON …)."""


class JobRunContext:
    """What a running job gets: database sessions, settings, progress reporting."""

    def __init__(self, kernel: Kernel, job_id: str) -> None:
        self.kernel = kernel
        self.job_id = job_id

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.kernel.db.session() as session:
            yield session

    def progress(self, percent: int) -> None:
        percent = max(0, min(100, int(percent)))
        with self.kernel.db.session() as session:
            session.execute(update(JobRecord).where(JobRecord.id == self.job_id).values(progress=percent))

    def settings_for(self, event: Any) -> Settings:
        session = object_session(event)
        if session is None:
            raise JobError("settings_for needs an event loaded in one of this job's sessions")
        return self.kernel.settings_for(session, event=event)


class JobRunner:
    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self._celery: Celery | None = None
        self._lock = threading.Lock()

    @property
    def definitions(self) -> dict[str, JobDefinition]:
        return self.kernel.registries.jobs

    @property
    def in_process(self) -> bool:
        return self.kernel.config.runs_jobs_in_process

    def _record(self, name: str, arguments: dict[str, Any]) -> tuple[JobDefinition, JobRecord]:
        definition = self.definitions.get(name)
        if definition is None:
            raise JobError(f"unknown job {name!r}")
        try:
            json.dumps(arguments)
        except TypeError as error:
            raise JobError(f"job {name!r}: arguments must be JSON values ({error})") from None
        return definition, JobRecord(name=name, arguments=arguments, status="waiting")

    def enqueue(self, name: str, **arguments: Any) -> str:
        """Record a job and run it (now, here, or soon in a worker). Returns the job id.

        Call it outside of any open unit of work; from inside one use :meth:`enqueue_on_commit`.
        """
        definition, record = self._record(name, arguments)
        with self.kernel.db.session() as session:
            session.add(record)
            session.flush()
            job_id = record.id
        self._dispatch(job_id, definition)
        return job_id

    def enqueue_on_commit(self, session: Session, name: str, **arguments: Any) -> str:
        """Record the job in the caller's transaction and start it only once that transaction commits.

        What the job reads is then committed (and a rolled-back change starts no job).
        """
        definition, record = self._record(name, arguments)
        session.add(record)
        session.flush()
        job_id = record.id
        override = clock.current_override()

        def start(_session: Session) -> None:
            with clock.time_machine(override):
                self._dispatch(job_id, definition)

        sqlalchemy_event.listen(session, "after_commit", start, once=True)
        return job_id

    def _dispatch(self, job_id: str, definition: JobDefinition) -> None:
        # Background work does not inherit the time machine by itself: carry it explicitly.
        override = clock.current_override()
        moment = override.isoformat() if override else None
        if self.in_process:
            self.run(job_id, moment)
            return
        try:
            self.celery.send_task(RUN_JOB_TASK, args=[job_id], kwargs={"now": moment}, queue=definition.queue)
        except KombuOperationalError as error:
            self._finish(job_id, "failed", None, "the job queue is not reachable")
            raise JobError(f"cannot reach the job broker ({error})") from None

    def run(self, job_id: str, now: str | None = None) -> None:
        """Execute a recorded job; the outcome (result or error) is stored on its row.

        The job is claimed with a conditional update, so a redelivered task never runs it a second time.
        """
        with self.kernel.db.session() as session:
            claimed = session.execute(
                update(JobRecord).where(JobRecord.id == job_id, JobRecord.status == "waiting").values(status="running")
            ).rowcount
            record = session.get(JobRecord, job_id)
            if record is None:
                raise JobError(f"unknown job id {job_id!r}")
            if not claimed:
                return
            name, arguments = record.name, dict(record.arguments)
        definition = self.definitions.get(name)
        status, result, error = "done", None, None
        try:
            if definition is None:
                raise JobFailed(f"job {name!r} is not installed on this worker")
            with clock.time_machine(datetime.fromisoformat(now) if now else None):
                result = definition.function(JobRunContext(self.kernel, job_id), **arguments)
            json.dumps(result)
        except JobFailed as failure:
            status, error = "failed", str(failure)
        except Exception as failure:
            logger.exception("job %s (%s) failed", name, job_id)
            status, error = "failed", f"internal error: {type(failure).__name__}"
        self._finish(job_id, status, result, error)

    def _finish(self, job_id: str, status: str, result: Any, error: str | None) -> None:
        with self.kernel.db.session() as session:
            record = session.get(JobRecord, job_id)
            if record is None:
                return
            record.status = status
            record.result = result if status == "done" else None
            record.error = error
            record.progress = 100 if status == "done" else record.progress
            record.finished = clock.now()

    def status(self, job_id: str) -> JobRecord | None:
        with self.kernel.db.session() as session:
            return session.get(JobRecord, job_id)

    def periodic(self) -> dict[str, int]:
        return {name: d.every_seconds for name, d in self.definitions.items() if d.every_seconds}

    @property
    def celery(self) -> Celery:
        with self._lock:
            if self._celery is None:
                self._celery = build_celery(self.kernel)
            return self._celery


def build_celery(kernel: Kernel) -> Celery:
    """The Celery app that carries boxoffice jobs; workers and the enqueueing side share this definition."""
    app = Celery("boxoffice", broker=kernel.config.effective_broker_url, set_as_current=False)
    queues = sorted({"default", *(d.queue for d in kernel.registries.jobs.values())})
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_default_queue="default",
        task_acks_late=True,
        # Acks come after the job: an unacknowledged task returns only after this long (jobs may be slow);
        # the conditional claim in ``run`` keeps a redelivery from running a job twice.
        broker_transport_options={"visibility_timeout": 12 * 3600},
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        beat_schedule={
            f"periodic:{name}": {"task": ENQUEUE_JOB_TASK, "schedule": float(seconds), "args": [name]}
            for name, seconds in kernel.jobs.periodic().items()
        },
    )
    app.boxoffice_queues = queues  # type: ignore[attr-defined]

    @app.task(name=RUN_JOB_TASK)
    def run_job(job_id: str, now: str | None = None) -> None:
        kernel.jobs.run(job_id, now)

    @app.task(name=ENQUEUE_JOB_TASK)
    def enqueue_job(name: str) -> str:
        return kernel.jobs.enqueue(name)

    return app


class PeriodicRunner:
    """Runs periodic jobs that are due; used by ``boxoffice serve`` when there is no Celery beat."""

    def __init__(self, runner: JobRunner) -> None:
        self.runner = runner
        self.last_run: dict[str, datetime] = {}

    def run_due(self, force: bool = False) -> list[str]:
        started = []
        moment = clock.now()
        for name, seconds in self.runner.periodic().items():
            last = self.last_run.get(name)
            if force or last is None or (moment - last).total_seconds() >= seconds:
                self.last_run[name] = moment
                self.runner.enqueue(name)
                started.append(name)
        return started
