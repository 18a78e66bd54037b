"""The kernel side of exports: files written atomically and expired, the periodic schedule job registered with
Celery beat and claimed once by concurrent workers, and an export run by a real Celery worker process."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from live_server import start_worker, stop_worker, wait_for_job
from sqlalchemy import func, select

from boxoffice.hookspecs.providers import JobFailed, ListExporter
from boxoffice.kernel import clock, exports
from boxoffice.kernel.jobs import build_celery
from boxoffice.kernel.models import Event, Item, Organizer, Quota, Team
from boxoffice.kernel.models.exports import ScheduledExport
from boxoffice.kernel.models.mail import OutboxMail

REDIS_URL = os.environ.get("BOXOFFICE_TEST_REDIS_URL", "")


def world(kernel, smtp=None) -> tuple[int, int]:
    """An organizer with the reports plugin, one event with a quota, and a team owning a daily schedule."""
    with kernel.db.session() as session:
        organizer = Organizer(slug="acme", name="Acme", plugins=["reports"])
        event = Event(organizer=organizer, slug="fest", name={"en": "Fest"}, currency="EUR",
                      date_from=datetime(2031, 5, 1, tzinfo=UTC), plugins=["reports"])  # fmt: skip
        item = Item(event=event, name={"en": "Ticket"}, default_price=Decimal("10.00"))
        team = Team(organizer=organizer, name="Reporting", all_events=True, all_event_permissions=True)
        session.add_all([organizer, event, item, team, Quota(event=event, name="All", size=50, items=[item])])
        session.flush()
        if smtp:
            kernel.settings_for(session, event=event).update(
                {"smtp_use_custom": True, "smtp_host": smtp[0], "smtp_port": smtp[1], "mail_from": "box@acme.example"}
            )
        schedule = ScheduledExport(
            organizer_id=organizer.id,
            event_id=event.id,
            owner_team_id=team.id,
            export_identifier="quotaoverview",
            export_form_data={},
            mail_additional_recipients="ops@acme.example",
            mail_subject="Quotas",
            schedule_rrule="DTSTART:20240101T000000\nRRULE:FREQ=DAILY",
            schedule_rrule_time=datetime(2000, 1, 1, 6).time(),
            schedule_next_run=datetime(2031, 1, 2, 6, tzinfo=UTC),
        )
        session.add(schedule)
        session.flush()
        return event.id, schedule.id


def test_schedule_job_is_registered_for_celery_beat(kernel):
    app = build_celery(kernel)
    entry = app.conf.beat_schedule[f"periodic:{exports.SCHEDULE_JOB}"]
    assert entry["schedule"] == 60.0 and entry["args"] == [exports.SCHEDULE_JOB]
    assert f"periodic:{exports.CLEANUP_JOB}" in app.conf.beat_schedule


def test_concurrent_workers_run_a_due_schedule_once(kernel, smtp_server):
    _event_id, schedule_id = world(kernel, smtp_server)
    moment = datetime(2031, 1, 2, 6, 0, 30, tzinfo=UTC)
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            with clock.time_machine(moment):
                kernel.jobs.enqueue(exports.SCHEDULE_JOB)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    with kernel.db.session() as session:
        assert session.scalar(select(func.count(OutboxMail.id)).where(OutboxMail.kind == "export.scheduled")) == 1
        schedule = session.get(ScheduledExport, schedule_id)
        assert schedule.schedule_next_run == datetime(2031, 1, 3, 6, tzinfo=UTC)
        assert schedule.error_counter == 0
    assert len(smtp_server[2].messages) == 1
    attachment = next(smtp_server[2].parsed().iter_attachments())
    assert attachment.get_filename() == "fest_quotaoverview.csv"
    # Nothing of the run stays on disk: the file travelled by mail.
    assert not any(exports.exports_dir(kernel).glob("scheduled-*"))


class Exploding(ListExporter):
    identifier = "exploding"
    verbose_name = "Exploding"

    def iterate_rows(self, params):
        yield ("a",)
        yield ("b",)
        raise JobFailed("The data source went away.")


def test_a_failed_export_leaves_no_file(tmp_path: Path):
    from types import SimpleNamespace

    target = tmp_path / "exports" / "job"
    with pytest.raises(JobFailed):
        exports.write_export(Exploding(SimpleNamespace(slug="x")), {}, target, lambda percent: None)
    assert not target.exists() and not target.with_suffix(".tmp").exists()


def test_old_export_files_are_deleted(kernel):
    root = exports.exports_dir(kernel)
    root.mkdir(parents=True, exist_ok=True)
    old, fresh = root / "old", root / "fresh"
    old.write_bytes(b"x")
    fresh.write_bytes(b"y")
    long_ago = (clock.now() - timedelta(days=2)).timestamp()
    os.utime(old, (long_ago, long_ago))
    kernel.jobs.enqueue(exports.CLEANUP_JOB)
    assert not old.exists() and fresh.exists()


@pytest.mark.redis
@pytest.mark.skipif(not REDIS_URL, reason="BOXOFFICE_TEST_REDIS_URL is not set")
def test_celery_worker_runs_an_export(make_kernel, config, tmp_path: Path):
    kernel = make_kernel(config_overrides={"redis_url": REDIS_URL})
    assert not kernel.jobs.in_process
    event_id, _schedule = world(kernel)
    worker = start_worker(config.database_url, REDIS_URL, config.data_dir, "background")
    try:
        with kernel.db.session() as session:
            event = session.get(Event, event_id)
            exporter = exports.event_exporters(kernel, session, event)["quotaoverview"]
            job_id = exports.start_export(kernel, session, exporter, {"_format": "json"}, event=event)
        record = wait_for_job(kernel, job_id)
        assert record.status == "done", record.error
        assert record.result["filename"] == "fest_quotaoverview.json"
        assert b'"Quota": "All"' in exports.export_path(kernel, job_id).read_bytes()
    finally:
        print(stop_worker(worker)[-3000:])


class RecordingContext:
    """What the job runner hands a job, recording the progress it reports."""

    def __init__(self, kernel, job_id: str) -> None:
        self.kernel = kernel
        self.job_id = job_id
        self.reported: list[int] = []

    def session(self):
        return self.kernel.db.session()

    def progress(self, percent: int) -> None:
        self.reported.append(percent)


def test_an_export_reports_progress_per_percent(kernel):
    from sqlalchemy import insert

    from boxoffice.kernel.models.orders import Order

    event_id, _schedule = world(kernel)
    placed = datetime(2031, 1, 1, tzinfo=UTC)
    with kernel.db.session() as session:
        session.execute(
            insert(Order),
            [
                {"event_id": event_id, "code": f"P{n:05d}", "status": "p", "secret": f"s{n:031d}",
                 "email": f"b{n}@example.org", "datetime": placed, "expires": placed, "total": Decimal("10.00")}
                for n in range(2500)
            ],
        )  # fmt: skip
    context = RecordingContext(kernel, "progress-test")
    result = exports.run_export_job(context, "orderlist", {"_format": "json"}, event_id=event_id)
    assert result["filename"] == "fest_orderlist.json" and result["content_type"] == "application/json"
    assert context.reported[0] == 0 and context.reported[-1] == 100
    assert context.reported == sorted(set(context.reported))  # each percent once, never backwards
    assert len(context.reported) > 50
    assert exports.export_path(kernel, "progress-test").stat().st_size == result["size"]
