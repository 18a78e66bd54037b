"""The HTTP JSON sync provider on the kernel's data sync queue, against a real local HTTP API: upserts with the
update modes, configured mappings (orders and tickets, linked), idempotent re-syncs, failures and outages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from outbound_world import Receiver, World, build_world, entries, receiver, sweep, sweep_until_settled
from sqlalchemy import select

from boxoffice.kernel import clock
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.outbound import OutboundEntry, SyncMapping, SyncResult, translate_property_mappings


@pytest.fixture
def api() -> Iterator[Receiver]:
    yield from receiver()


@pytest.fixture
def world(kernel, api) -> World:
    return build_world(
        kernel,
        plugins=["httpsync"],
        settings={"httpsync_endpoint": api.url + "/v1", "httpsync_auth_header": "Authorization: Bearer s3cret"},
    )


def test_default_mapping_upserts_the_order_and_skips_unchanged(kernel, world, api):
    code = world.place()
    path = f"/v1/orders/democon-{code}"
    assert api.objects[path] == {
        "email": "buyer@example.org",
        "total": "35.00",
        "status": "pending",
        "event": "democon",
        "code": f"democon-{code}",
    }
    assert all(r.headers["Authorization"] == "Bearer s3cret" for r in api.requests)
    world.pay(code)
    assert api.objects[path]["status"] == "paid"
    assert [r.method for r in api.requests] == ["GET", "PUT", "GET", "PUT"]
    with kernel.db.session() as session:
        [result] = session.scalars(select(SyncResult)).all()
        assert (result.object_type, result.id_value, result.external_link_href) == (
            "orders",
            f"democon-{code}",
            api.url + path,
        )
        order = session.scalar(select(OutboundEntry)).payload
        assert order["triggered_by"] == "order_placed"
    # A re-sync with nothing new reads and writes nothing.
    from boxoffice.kernel.models.orders import Order

    with kernel.db.session() as session:
        from boxoffice.plugins.httpsync.provider import HttpJsonSync

        HttpJsonSync.enqueue_order(session.scalar(select(Order).where(Order.code == code)), "manual")
    assert [r.method for r in api.requests][-1] == "GET"
    assert {e.status for e in entries(kernel)} == {"delivered"}


def test_configured_mappings_for_orders_and_linked_tickets(kernel, world, api):
    with kernel.db.session() as session:
        session.add_all(
            [
                SyncMapping(
                    event_id=world.event_id,
                    provider="httpsync",
                    position=0,
                    source_model="Order",
                    external_object_type="contacts",
                    source_id_field="email",
                    external_id_field="email",
                    property_mappings=[
                        {"source_field": "order_code", "external_field": "orders", "value_map": {}, "mode": "append"},
                        {"source_field": "order_date", "external_field": "first_seen", "mode": "if_new"},
                    ],
                ),
                SyncMapping(
                    event_id=world.event_id,
                    provider="httpsync",
                    position=1,
                    source_model="OrderPosition",
                    external_object_type="tickets",
                    source_id_field="ticket_id",
                    external_id_field="ticket",
                    property_mappings=[{"source_field": "product", "external_field": "product", "mode": "overwrite"}],
                ),
            ]
        )
    first = world.place(count=2)
    second = world.place()
    contact = api.objects["/v1/contacts/buyer%40example.org"]
    assert contact["orders"] == [first, second]  # appended, not replaced
    assert contact["email"] == "buyer@example.org"
    ticket = api.objects[f"/v1/tickets/{first}-2"]
    assert (ticket["product"], ticket["ticket"]) == ("Ticket", f"{first}-2")
    assert list(ticket["related"].values()) == [["buyer@example.org"]]  # linked to the contact synced before it
    with kernel.db.session() as session:
        assert session.query(SyncResult).count() == 5  # 2 contacts syncs (one per order) + 3 tickets


def test_failures_retry_with_back_off_and_an_outage_loses_nothing(kernel, world, api):
    api.fail_next(1, 503)
    start = clock.now()
    with clock.time_machine(start):
        code = world.place()
    [entry] = entries(kernel)
    assert (entry.status, entry.attempts, entry.next_attempt) == ("waiting", 1, start + timedelta(minutes=1))
    api.down()
    with clock.time_machine(start + timedelta(minutes=1)):
        sweep(kernel)
    [entry] = entries(kernel)
    assert (entry.status, entry.attempts, entry.next_attempt) == ("waiting", 2, start + timedelta(minutes=3))
    assert "ConnectError" in entry.last_error
    api.up()
    with clock.time_machine(start + timedelta(minutes=3)):
        sweep(kernel)
    assert entries(kernel)[0].status == "delivered"
    assert api.objects[f"/v1/orders/democon-{code}"]["status"] == "pending"


def test_attempts_exhausted_and_refusals_need_attention(kernel, world, api):
    api.fail_next(5, 500)
    start = clock.now()
    with clock.time_machine(start):
        world.place()
    sweep_until_settled(kernel, start, rounds=6)
    [entry] = entries(kernel)
    assert (entry.status, entry.failure_mode, entry.attempts) == ("failed", "exceeded", 5)
    api.fail_next(1, 401)
    world.place()
    assert (entries(kernel)[1].status, entries(kernel)[1].failure_mode) == ("failed", "config")
    api.fail_next(1, 422)
    world.place()
    assert (entries(kernel)[2].status, entries(kernel)[2].failure_mode) == ("failed", "permanent")


def test_disabled_provider_and_translation_on_copy(kernel, world, api):
    with kernel.db.session() as session:
        event = session.get(Event, world.event_id)
        event.plugins = ["manualpayment"]
    world.place()
    assert entries(kernel) == []
    assert translate_property_mappings(
        [{"source_field": "checkin_date_4"}, {"source_field": "checkin_date_5"}, {"source_field": "email"}], {4: 9}
    ) == [{"source_field": "checkin_date_9"}, {"source_field": "_invalid_checkin_date_5"}, {"source_field": "email"}]
