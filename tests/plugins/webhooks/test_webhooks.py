"""Webhooks end to end: the spec's resource, calls made through the outbound queue to a real local receiver,
payloads, retries with back-off, 410 Gone, a receiver down for a while, call logs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from litestar.testing import TestClient
from outbound_world import Receiver, World, build_world, entries, receiver, sweep, sweep_until_settled
from sqlalchemy import select

from boxoffice.apps.api import create_app
from boxoffice.kernel import clock

BASE = "/api/v1/organizers/demo/webhooks/"
PAID = ["pretix.event.order.paid", "pretix.event.order.placed"]


@pytest.fixture
def target() -> Iterator[Receiver]:
    yield from receiver()


@pytest.fixture
def world(kernel) -> World:
    return build_world(kernel)


@pytest.fixture
def client(kernel) -> Iterator[TestClient]:
    with TestClient(app=create_app(kernel)) as test_client:
        yield test_client


def create(client: TestClient, world: World, url: str, **fields) -> dict:
    body = {"target_url": url, "action_types": PAID, "all_events": True, **fields}
    response = client.post(BASE, json=body, headers=world.headers())
    assert response.status_code == 201, response.text
    return response.json()


def test_resource_round_trip_and_validation(client, world):
    created = create(client, world, "https://example.org/hook", all_events=False, limit_events=["democon"], comment="x")
    assert created == {
        "id": created["id"],
        "enabled": True,
        "target_url": "https://example.org/hook",
        "all_events": False,
        "limit_events": ["democon"],
        "action_types": PAID,
        "comment": "x",
    }
    detail = f"{BASE}{created['id']}/"
    assert client.get(detail, headers=world.headers()).json() == created
    patched = client.patch(detail, json={"enabled": False}, headers=world.headers()).json()
    assert patched["enabled"] is False and patched["target_url"] == created["target_url"]
    assert client.get(BASE, params={"enabled": "true"}, headers=world.headers()).json()["count"] == 0
    assert client.get(BASE, params={"enabled": "false"}, headers=world.headers()).json()["count"] == 1
    put = client.put(
        detail, json={"target_url": "http://x.test/", "action_types": ["pretix.event.checkin"]}, headers=world.headers()
    )
    assert put.status_code == 200 and put.json()["all_events"] is True and put.json()["comment"] is None
    assert client.delete(detail, headers=world.headers()).status_code == 204
    assert client.get(detail, headers=world.headers()).json()["enabled"] is False
    client.patch(detail, json={"enabled": True}, headers=world.headers())
    singular = f"/api/v1/organizers/demo/webhook/{created['id']}/"  # the path pretix documents for DELETE
    assert client.delete(singular, headers=world.headers()).status_code == 204
    assert client.get(detail, headers=world.headers()).json()["enabled"] is False

    bad = client.post(
        BASE,
        json={"target_url": "ftp://nope", "action_types": ["pretix.nope"], "limit_events": ["ghost"]},
        headers=world.headers(),
    )
    assert bad.status_code == 400
    assert set(bad.json()) == {"target_url", "action_types", "limit_events"}
    missing = client.post(BASE, json={}, headers=world.headers())
    assert missing.status_code == 400 and set(missing.json()) == {"target_url", "action_types"}
    assert client.get(BASE).status_code == 401
    assert client.get(f"{BASE}999999/", headers=world.headers()).status_code == 404


def test_paid_order_calls_the_webhook_with_the_documented_payload(kernel, client, world, target):
    hook = create(client, world, target.url + "/hook")
    code = world.place()
    world.pay(code)
    posts = target.posts()
    assert [p.body["action"] for p in posts] == ["pretix.event.order.placed", "pretix.event.order.paid"]
    assert posts[1].body == {
        "notification_id": posts[1].body["notification_id"],
        "organizer": "demo",
        "event": "democon",
        "code": code,
        "action": "pretix.event.order.paid",
    }
    assert all(p.path == "/hook" and len(p.headers["Idempotency-Key"]) == 32 for p in posts)
    assert [e.status for e in entries(kernel)] == ["delivered", "delivered"]
    calls = client.get(f"{BASE}{hook['id']}/calls/", headers=world.headers()).json()
    assert calls["count"] == 2 and all(c["success"] and c["return_code"] == 200 for c in calls["results"])


def test_action_and_event_filters(kernel, client, world, target):
    create(client, world, target.url + "/other", all_events=False, limit_events=[], action_types=PAID)
    create(client, world, target.url + "/changes", action_types=["pretix.event.order.changed.*"])
    world.place()
    assert target.posts() == []
    assert entries(kernel) == []


def test_failures_back_off_then_deliver_once_the_receiver_recovers(kernel, client, world, target):
    create(client, world, target.url + "/hook", action_types=["pretix.event.order.placed"])
    target.fail_next(2, 503)
    start = clock.now()
    with clock.time_machine(start):
        world.place()
    [entry] = entries(kernel)
    assert (entry.status, entry.attempts, entry.next_attempt) == ("waiting", 1, start + timedelta(minutes=1))
    assert "HTTP 503" in entry.last_error
    with clock.time_machine(start + timedelta(seconds=59)):
        sweep(kernel)  # not due yet
    assert len(target.posts()) == 1
    with clock.time_machine(start + timedelta(minutes=1)):
        sweep(kernel)
    [entry] = entries(kernel)
    assert (entry.status, entry.attempts, entry.next_attempt) == ("waiting", 2, start + timedelta(minutes=3))
    with clock.time_machine(start + timedelta(minutes=3)):
        sweep(kernel)
    [entry] = entries(kernel)
    assert (entry.status, entry.attempts) == ("delivered", 3)
    assert len(target.posts()) == 3 and len(target.unique_posts()) == 1


def test_receiver_down_for_a_while_loses_nothing_and_keeps_order(kernel, client, world, target):
    create(client, world, target.url + "/hook")
    target.down()
    start = clock.now()
    with clock.time_machine(start):
        codes = [world.place() for _ in range(3)]
        world.pay(codes[0])
    assert {e.status for e in entries(kernel)} == {"waiting"}
    # Only the first entry of each order was tried; the paid call waits behind its order's placed call.
    assert max(e.attempts for e in entries(kernel)) == 1 and min(e.attempts for e in entries(kernel)) == 0
    for minutes in (1, 3):
        with clock.time_machine(start + timedelta(minutes=minutes)):
            sweep(kernel)
    target.up()
    with clock.time_machine(start + timedelta(minutes=8)):
        sweep(kernel)
    assert {e.status for e in entries(kernel)} == {"delivered"}
    received = [(p.body["code"], p.body["action"]) for p in target.posts()]
    assert sorted(received) == sorted(
        [(c, "pretix.event.order.placed") for c in codes] + [(codes[0], "pretix.event.order.paid")]
    )
    first = [action for code, action in received if code == codes[0]]
    assert first == ["pretix.event.order.placed", "pretix.event.order.paid"]


def test_gone_disables_the_webhook_and_gives_up(kernel, client, world, target):
    hook = create(client, world, target.url + "/hook", action_types=["pretix.event.order.placed"])
    target.fail_next(1, 410)
    world.place()
    [entry] = entries(kernel)
    assert (entry.status, entry.failure_mode) == ("discarded", "discarded")
    assert client.get(f"{BASE}{hook['id']}/", headers=world.headers()).json()["enabled"] is False
    world.place()
    assert len(target.posts()) == 1


def test_retries_stop_after_three_days(kernel, client, world, target):
    create(client, world, target.url + "/hook", action_types=["pretix.event.order.placed"])
    target.fail_next(1000, 500)
    start = clock.now()
    with clock.time_machine(start):
        world.place()
    moment = sweep_until_settled(kernel, start, rounds=200)
    [entry] = entries(kernel)
    assert (entry.status, entry.failure_mode) == ("failed", "exceeded")
    assert moment - start <= timedelta(days=3)
    assert entry.attempts > 70  # hourly once the back-off reached its cap


def test_checkin_calls_carry_the_ticket_and_the_list(kernel, client, world, target):
    from boxoffice.kernel.models.orders import Order, OrderPosition

    create(client, world, target.url + "/hook", action_types=["pretix.event.checkin"])
    code = world.place()
    world.pay(code)
    lists = client.post(
        "/api/v1/organizers/demo/events/democon/checkinlists/",
        json={"name": "Entry", "all_products": True},
        headers=world.headers(),
    )
    assert lists.status_code == 201, lists.text
    list_id = lists.json()["id"]
    with kernel.db.session() as session:
        position = session.scalar(select(OrderPosition).join(Order).where(Order.code == code))
        secret, position_id = position.secret, position.id
    scan = client.post(
        "/api/v1/organizers/demo/checkinrpc/redeem/",
        json={"secret": secret, "lists": [list_id]},
        headers=world.headers(),
    )
    assert scan.status_code == 201 and scan.json()["status"] == "ok", scan.text
    [call] = target.posts()
    assert call.body | {"notification_id": None} == {
        "notification_id": None,
        "organizer": "demo",
        "event": "democon",
        "code": code,
        "orderposition_id": position_id,
        "orderposition_positionid": 1,
        "checkin_list": list_id,
        "type": "entry",
        "action": "pretix.event.checkin",
    }
