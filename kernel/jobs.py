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
from sqlalchemy import update
from sqlalchemy.orm import Session, object_session

from boxoffice.hookspecs.providers import JobDefinition
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


class JobFailed(RuntimeError):
    """Raise inside a job to fail it with a message meant for the user (shown by the async API as-is)."""


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

    def enqueue(self, name: str, **arguments: Any) -> str:
        """Record a job and run it (now, here, or soon in a worker). Returns the job id."""
        definition = self.definitions.get(name)
        if definition is None:
            raise JobError(f"unknown job {name!r}")
        try:
            json.dumps(arguments)
        except TypeError as error:
            raise JobError(f"job {name!r}: arguments must be JSON values ({error})") from None
        with self.kernel.db.session() as session:
            record = JobRecord(name=name, arguments=arguments, status="waiting")
            session.add(record)
            session.flush()
            job_id = record.id
        # Background work does not inherit the time machine by itself: carry it explicitly.
        override = clock.current_override()
        moment = override.isoformat() if override else None
        if self.in_process:
            self.run(job_id, moment)
        else:
            self.celery.send_task(RUN_JOB_TASK, args=[job_id], kwargs={"now": moment}, queue=definition.queue)
        return job_id

    def run(self, job_id: str, now: str | None = None) -> None:
        """Execute a recorded job; the outcome (result or error) is stored on its row."""
        with self.kernel.db.session() as session:
            record = session.get(JobRecord, job_id)
            if record is None:
                raise JobError(f"unknown job id {job_id!r}")
            if record.status not in ("waiting", "running"):
                return
            record.status = "running"
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
        with self.kernel.db.session() as session:
            record = session.get(JobRecord, job_id)
            assert record is not None
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
