import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from live_server import start_worker, stop_worker, wait_for_job

from boxoffice.hookspecs import hookimpl
from boxoffice.hookspecs.providers import JobDefinition
from boxoffice.kernel import clock
from boxoffice.kernel.jobs import JobError, JobFailed, PeriodicRunner
from boxoffice.kernel.models import JobRecord

REDIS_URL = os.environ.get("BOXOFFICE_TEST_REDIS_URL", "")

# Installed as a real distribution so the worker process discovers it through its entry point.
JOBS_PLUGIN_SOURCE = """
import os

from boxoffice.hookspecs import hookimpl
from boxoffice.hookspecs.providers import JobDefinition
from boxoffice.kernel import clock


def where(context):
    context.progress(50)
    return {"pid": os.getpid(), "now": clock.now().isoformat()}


@hookimpl
def register_jobs():
    return [JobDefinition("jobstest.where", where, queue=os.environ["JOBSTEST_QUEUE"])]
"""


def fails_politely(context):
    raise JobFailed("The export needs at least one order.")


def crashes(context):
    return 1 / 0


def reports_progress(context, steps=2):
    for step in range(steps):
        context.progress((step + 1) * 100 // steps - 1)
    return {"pid": os.getpid(), "now": clock.now().isoformat()}


class JobsPlugin:
    @hookimpl
    def register_jobs(self):
        return [
            JobDefinition("t.fails", fails_politely),
            JobDefinition("t.crashes", crashes),
            JobDefinition("t.progress", reports_progress, queue="background", every_seconds=60),
        ]


@pytest.fixture
def kernel(make_kernel):
    return make_kernel(jobsplugin=JobsPlugin())


def test_in_process_job_records_result_and_time_machine(kernel):
    moment = datetime(2029, 5, 6, 7, 8, tzinfo=UTC)
    with clock.time_machine(moment):
        job_id = kernel.jobs.enqueue("t.progress", steps=4)
    record = kernel.jobs.status(job_id)
    assert record.status == "done"
    assert record.progress == 100
    assert record.result == {"pid": os.getpid(), "now": moment.isoformat()}
    assert record.finished is not None


def test_failures_are_stored_with_a_message(kernel):
    failed = kernel.jobs.status(kernel.jobs.enqueue("t.fails"))
    assert (failed.status, failed.error) == ("failed", "The export needs at least one order.")
    crashed = kernel.jobs.status(kernel.jobs.enqueue("t.crashes"))
    assert (crashed.status, crashed.error) == ("failed", "internal error: ZeroDivisionError")


def test_bad_enqueue_calls_are_refused(kernel):
    with pytest.raises(JobError, match=r"unknown job 't\.nope'"):
        kernel.jobs.enqueue("t.nope")
    with pytest.raises(JobError, match="JSON"):
        kernel.jobs.enqueue("t.progress", steps=object())
    with kernel.db.session() as session:
        assert session.query(JobRecord).count() == 0


def test_periodic_runner_runs_due_jobs(kernel):
    runner = PeriodicRunner(kernel.jobs)
    every_job = set(kernel.jobs.periodic())
    assert {"t.progress", "core.delete_finished_jobs"} <= every_job
    assert set(runner.run_due()) == every_job
    assert runner.run_due() == []
    with clock.time_machine(clock.now() + timedelta(minutes=2)):
        # Due again after a minute: the jobs that run every minute (expiry, mail and transmission retries …).
        every_minute = {name for name, seconds in kernel.jobs.periodic().items() if seconds <= 60}
        assert {"t.progress", "core.expire_orders"} <= every_minute < every_job
        assert set(runner.run_due()) == every_minute
    with clock.time_machine(clock.now() + timedelta(hours=2)):
        assert set(runner.run_due()) == every_job


def test_periodic_jobs_must_not_need_arguments(make_kernel):
    def needy(context, order_id):
        return order_id

    class Needy:
        @hookimpl
        def register_jobs(self):
            return [JobDefinition("t.needy", needy, every_seconds=5)]

    kernel = make_kernel(needy=Needy())
    with pytest.raises(JobError, match="unknown job"):
        kernel.jobs.enqueue("t.needy")
    assert "needy" not in kernel.plugins.plugins
    assert "periodic job 't.needy' from needy needs arguments ['order_id']" in kernel.plugins.errors["needy"]
    # The other plugins keep working.
    assert kernel.jobs.status(kernel.jobs.enqueue("core.delete_finished_jobs")).status == "done"


def test_a_plugin_whose_registry_hook_raises_is_taken_out(make_kernel):
    class Exploding:
        @hookimpl
        def register_settings_defaults(self):
            raise RuntimeError("boom")

    kernel = make_kernel(exploding=Exploding())
    assert kernel.registries.settings.defaults["payment_term_days"].default == 14
    assert "exploding" not in kernel.plugins.plugins
    assert "failed in register_settings_defaults: RuntimeError('boom')" in kernel.plugins.errors["exploding"]


def test_delete_finished_jobs_forgets_old_rows(kernel):
    old = kernel.jobs.enqueue("t.fails")
    with clock.time_machine(clock.now() + timedelta(days=3)):
        recent = kernel.jobs.enqueue("t.fails")
        kernel.jobs.enqueue("core.delete_finished_jobs")
    assert kernel.jobs.status(old) is None
    assert kernel.jobs.status(recent) is not None


def test_enqueue_on_commit_waits_for_the_transaction(kernel):
    with kernel.db.session() as session:
        job_id = kernel.jobs.enqueue_on_commit(session, "t.progress", steps=1)
        assert session.get(JobRecord, job_id).status == "waiting"
    assert kernel.jobs.status(job_id).status == "done"
    try:
        with kernel.db.session() as session:
            rolled_back = kernel.jobs.enqueue_on_commit(session, "t.progress", steps=1)
            raise RuntimeError("the caller's change fails")
    except RuntimeError:
        pass
    assert kernel.jobs.status(rolled_back) is None


def test_a_job_runs_once_even_if_delivered_twice(kernel):
    calls = []

    def counted(context):
        calls.append(1)

    kernel.registries.jobs["t.counted"] = JobDefinition("t.counted", counted)
    job_id = kernel.jobs.enqueue("t.counted")
    kernel.jobs.run(job_id)  # a redelivered task for a finished job
    assert calls == [1]


@pytest.mark.redis
@pytest.mark.skipif(not REDIS_URL, reason="BOXOFFICE_TEST_REDIS_URL is not set")
def test_celery_worker_runs_jobs_in_another_process(
    make_kernel, config, install_fake_plugin, tmp_path: Path, monkeypatch
):
    queue = f"jobstest-{os.getpid()}-{time.monotonic_ns()}"
    monkeypatch.setenv("JOBSTEST_QUEUE", queue)
    site = install_fake_plugin(
        tmp_path / "site",
        "boxoffice-jobstest",
        {"jobstest": "jobstest_plugin"},
        {"jobstest_plugin.py": JOBS_PLUGIN_SOURCE},
    )
    monkeypatch.syspath_prepend(str(site))
    kernel = make_kernel(config_overrides={"redis_url": REDIS_URL})
    assert "jobstest" in kernel.plugins.plugins
    assert not kernel.jobs.in_process
    python_path = os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])
    worker = start_worker(config.database_url, REDIS_URL, tmp_path, queue, {"PYTHONPATH": python_path})
    try:
        moment = datetime(2032, 3, 4, 5, 6, tzinfo=UTC)
        with clock.time_machine(moment):
            job_id = kernel.jobs.enqueue("jobstest.where")
        record = wait_for_job(kernel, job_id)
        assert record.status == "done", record.error
        assert record.result["pid"] != os.getpid()
        assert record.result["now"] == moment.isoformat()
    finally:
        print(stop_worker(worker)[-3000:])
