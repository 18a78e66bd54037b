"""The outbound queue itself: the outbox commits and rolls back with its transaction, leases of a dead worker
lapse and the entry is delivered again with the same idempotency key, manual retry and discard through the API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from litestar.testing import TestClient
from outbound_world import Receiver, World, build_world, receiver, sweep
from sqlalchemy import select

from boxoffice.apps.api import create_app
from boxoffice.kernel import clock
from boxoffice.kernel.jobs import JobRunContext
from boxoffice.kernel.models.outbound import OutboundEntry
from boxoffice.kernel.outbound import _claim, _deliver_claimed, enqueue, release_lapsed
from boxoffice.plugins.webhooks.models import Webhook

OUTBOUND = "/api/v1/organizers/demo/outbound/"


@pytest.fixture
def target() -> Iterator[Receiver]:
    yield from receiver()


@pytest.fixture
def world(kernel) -> World:
    return build_world(kernel)


@pytest.fixture
def hook_id(kernel, world, target) -> int:
    with kernel.db.session() as session:
        hook = Webhook(organizer_id=world.organizer_id, target_url=target.url + "/q", action_types=[], all_events=True)
        session.add(hook)
        session.flush()
        return hook.id


def write(kernel, world, hook_id, key="A", immediate=True) -> int:
    with kernel.db.session() as session:
        return enqueue(
            session,
            channel="webhooks",
            target=str(hook_id),
            organizer_id=world.organizer_id,
            object_key=key,
            payload={"action": "test", "key": key},
            immediate=immediate,
        ).id


def statuses(kernel) -> list[tuple[str, int]]:
    with kernel.db.session() as session:
        return [(e.status, e.attempts) for e in session.scalars(select(OutboundEntry).order_by(OutboundEntry.id))]


def test_entries_roll_back_with_their_transaction(kernel, world, hook_id, target):
    with pytest.raises(RuntimeError), kernel.db.session() as session:
        enqueue(session, channel="webhooks", target=str(hook_id), organizer_id=world.organizer_id, payload={})
        raise RuntimeError("the change failed")
    assert statuses(kernel) == []
    sweep(kernel)
    assert target.posts() == []
    write(kernel, world, hook_id)
    assert statuses(kernel) == [("delivered", 1)] and len(target.posts()) == 1


def test_a_killed_worker_lease_lapses_and_the_entry_is_delivered_once(kernel, world, hook_id, target):
    entry_id = write(kernel, world, hook_id, immediate=False)
    start = clock.now()
    with clock.time_machine(start):
        token, claimed = _claim(kernel, None, 10)  # the worker took it … and died before recording anything
    assert [d.id for d in claimed] == [entry_id] and statuses(kernel) == [("inflight", 1)]
    with clock.time_machine(start + timedelta(seconds=30)):
        assert release_lapsed(kernel) == 0  # still within its lease
        assert sweep(kernel) == {"released": 0}
    # The dying worker's request had reached the receiver.
    with clock.time_machine(start + timedelta(minutes=2)):
        result = sweep(kernel)
    assert result == {"released": 1, "delivered": 1}
    assert statuses(kernel) == [("delivered", 2)]
    # A late answer from the dead worker no longer changes the entry.
    _deliver_claimed(JobRunContext(kernel, "t"), token, claimed)
    assert statuses(kernel) == [("delivered", 2)]
    assert len(target.posts()) == 2 and len(target.unique_posts()) == 1


def test_ordering_per_object_and_independence_across_objects(kernel, world, hook_id, target):
    target.down()
    write(kernel, world, hook_id, "A")
    write(kernel, world, hook_id, "A")
    write(kernel, world, hook_id, "B")
    assert statuses(kernel) == [("waiting", 1), ("waiting", 0), ("waiting", 1)]
    target.up()
    with clock.time_machine(clock.now() + timedelta(minutes=1)):
        sweep(kernel)
    assert [p.body["key"] for p in target.posts()] in (["A", "B", "A"], ["B", "A", "A"], ["A", "A", "B"])
    assert statuses(kernel) == [("delivered", 2), ("delivered", 1), ("delivered", 2)]


def test_api_lists_retries_and_discards(kernel, world, hook_id, target):
    target.fail_next(1, 400)
    with kernel.db.session() as session:
        hook = session.get(Webhook, hook_id)
        hook.target_url = target.url + "/q"
    first = write(kernel, world, hook_id, "A")
    second = write(kernel, world, hook_id, "B", immediate=False)
    with TestClient(app=create_app(kernel)) as client:
        headers = world.headers()
        listing = client.get(OUTBOUND, headers=headers).json()
        assert listing["count"] == 2 and [e["id"] for e in listing["results"]] == [second, first]
        failed = client.get(f"{OUTBOUND}{first}/", headers=headers).json()
        assert (failed["status"], failed["attempts"], failed["channel"]) == ("waiting", 1, "webhooks")
        assert "HTTP 400" in failed["last_error"]
        assert client.get(OUTBOUND, params={"status": "nope"}, headers=headers).status_code == 400
        retried = client.post(f"{OUTBOUND}{first}/retry/", headers=headers)
        assert retried.status_code == 200 and (retried.json()["status"], retried.json()["attempts"]) == ("waiting", 0)
        # Delivered right after the retry committed (jobs run in-process here).
        assert client.get(f"{OUTBOUND}{first}/", headers=headers).json()["status"] == "delivered"
        assert client.post(f"{OUTBOUND}{first}/retry/", headers=headers).status_code == 409
        discarded = client.post(f"{OUTBOUND}{second}/discard/", headers=headers).json()
        assert (discarded["status"], discarded["failure_mode"]) == ("discarded", "manual")
        assert client.get(OUTBOUND, params={"status": "discarded"}, headers=headers).json()["count"] == 1
        assert client.post(f"{OUTBOUND}{second}/discard/", headers=headers).status_code == 409
        assert client.get(OUTBOUND).status_code == 401
        assert client.get(f"{OUTBOUND}99999/", headers=headers).status_code == 404
    sweep(kernel)
    assert [p.body["key"] for p in target.posts()] == ["A", "A"]


def test_concurrent_sweeps_deliver_each_entry_exactly_once(kernel, world, hook_id, target):
    import threading

    ids = [write(kernel, world, hook_id, f"K{n % 7}", immediate=False) for n in range(60)]
    errors: list[BaseException] = []

    def sweeper() -> None:
        try:
            sweep(kernel)
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=sweeper) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sweep(kernel)  # entries blocked behind a stream-mate claimed by another sweeper
    assert errors == []
    assert statuses(kernel) == [("delivered", 1)] * len(ids)
    posts = target.posts()
    assert len(posts) == len(ids) and len(target.unique_posts()) == len(ids)
    for key in {f"K{n}" for n in range(7)}:
        sent = [p.headers["Idempotency-Key"] for p in posts if p.body["key"] == key]
        with kernel.db.session() as session:
            written = list(
                session.scalars(
                    select(OutboundEntry.idempotency_key)
                    .where(OutboundEntry.object_key == key)
                    .order_by(OutboundEntry.id)
                )
            )
        assert sent == written  # each stream arrived in the order it was written


def test_finished_entries_are_forgotten_after_30_days(kernel, world, hook_id, target):
    from boxoffice.kernel.outbound import cleanup_job

    start = clock.now()
    with clock.time_machine(start):
        write(kernel, world, hook_id, "A")  # delivered
        target.fail_next(1, 400)
        write(kernel, world, hook_id, "B")  # waiting after a failure
    with clock.time_machine(start + timedelta(days=29)):
        assert cleanup_job(JobRunContext(kernel, "t")) == 0
    with clock.time_machine(start + timedelta(days=31)):
        assert cleanup_job(JobRunContext(kernel, "t")) == 1
    assert statuses(kernel) == [("waiting", 1)]
