"""A real Celery worker killed in the middle of a webhook call: the entry stays in flight until its lease lapses,
then a second worker delivers it again with the same idempotency key, so an idempotent receiver acts once."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from live_server import start_worker, stop_worker
from outbound_world import Receiver, build_world, receiver
from sqlalchemy import select

from boxoffice.kernel import clock
from boxoffice.kernel.models.outbound import OutboundEntry
from boxoffice.kernel.outbound import SWEEP_JOB
from boxoffice.plugins.webhooks.delivery import WebhookChannel
from boxoffice.plugins.webhooks.models import Webhook

REDIS_URL = os.environ.get("BOXOFFICE_TEST_REDIS_URL", "")
pytestmark = [pytest.mark.redis, pytest.mark.skipif(not REDIS_URL, reason="BOXOFFICE_TEST_REDIS_URL is not set")]


@pytest.fixture
def target() -> Iterator[Receiver]:
    yield from receiver()


def start_outbound_worker(config, tmp_path: Path) -> subprocess.Popen[str]:
    return start_worker(config.database_url, REDIS_URL, tmp_path, "outbound")


def entry_state(kernel) -> tuple[str, int] | None:
    with kernel.db.session() as session:
        entry = session.scalar(select(OutboundEntry))
        return (entry.status, entry.attempts) if entry is not None else None


def wait_for(condition, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_worker_killed_mid_delivery_is_redelivered_once(make_kernel, config, tmp_path, target):
    kernel = make_kernel(config_overrides={"redis_url": REDIS_URL})
    assert not kernel.jobs.in_process
    world = build_world(kernel)
    with kernel.db.session() as session:
        session.add(
            Webhook(
                organizer_id=world.organizer_id,
                target_url=target.url + "/hook",
                action_types=["pretix.event.order.placed"],
                all_events=True,
            )
        )
    kernel.jobs.celery.control.purge()
    target.hold_next = True
    first = start_outbound_worker(config, tmp_path)
    second = None
    try:
        code = world.place()
        assert target.holding.wait(90), stop_worker(first)
        assert entry_state(kernel) == ("inflight", 1)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(20)
        target.release.set()  # the dead worker's request had reached the receiver
        wait_for(lambda: len(target.posts()) == 1)
        assert entry_state(kernel) == ("inflight", 1)

        second = start_outbound_worker(config, tmp_path)
        with clock.time_machine(clock.now() + WebhookChannel.lease + timedelta(seconds=1)):
            kernel.jobs.enqueue(SWEEP_JOB)
        wait_for(lambda: entry_state(kernel) == ("delivered", 2))
    finally:
        target.release.set()
        print(stop_worker(first)[-2000:])
        if second is not None:
            print(stop_worker(second)[-2000:])
    posts = target.posts()
    assert [p.body["code"] for p in posts] == [code, code]
    assert len(target.unique_posts()) == 1  # same idempotency key: an idempotent receiver acts once
