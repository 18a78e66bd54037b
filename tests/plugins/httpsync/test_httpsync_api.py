"""Configuring data sync through the REST API: mappings (validation, replace), source fields, results; mappings
follow an event copy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient
from outbound_world import Receiver, World, build_world, receiver
from sqlalchemy import select

from boxoffice.apps.api import create_app
from boxoffice.kernel.copying import copy_event_data
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.checkin import CheckinList
from boxoffice.kernel.models.outbound import SyncMapping

BASE = "/api/v1/organizers/demo/events/democon/datasync/"
MAPPINGS = BASE + "httpsync/mappings/"
CONTACTS = {
    "source_model": "Order",
    "external_object_type": "contacts",
    "source_id_field": "email",
    "external_id_field": "email",
    "property_mappings": [
        {"source_field": "order_status", "external_field": "status", "value_map": {"n": "open", "p": "paid"}},
        {"source_field": "order_code", "external_field": "orders", "mode": "append"},
    ],
}


@pytest.fixture
def api() -> Iterator[Receiver]:
    yield from receiver()


@pytest.fixture
def world(kernel, api) -> World:
    return build_world(kernel, plugins=["httpsync"], settings={"httpsync_endpoint": api.url})


@pytest.fixture
def client(kernel) -> Iterator[TestClient]:
    with TestClient(app=create_app(kernel)) as test_client:
        yield test_client


def test_mappings_round_trip_and_drive_the_sync(kernel, client, world, api):
    headers = world.headers()
    assert client.get(MAPPINGS, headers=headers).json() == []
    saved = client.put(MAPPINGS, json=[CONTACTS], headers=headers)
    assert saved.status_code == 200, saved.text
    [mapping] = saved.json()
    assert mapping["id"] and mapping["property_mappings"][0] == {
        "source_field": "order_status",
        "external_field": "status",
        "value_map": {"n": "open", "p": "paid"},
        "mode": "overwrite",
    }
    assert client.get(MAPPINGS, headers=headers).json() == saved.json()
    code = world.place()
    assert api.objects["/contacts/buyer%40example.org"] == {
        "status": "open",
        "orders": [code],
        "email": "buyer@example.org",
    }
    results = client.get(BASE + "results/", params={"order": code}, headers=headers).json()
    assert results["count"] == 1
    assert results["results"][0] | {"transmitted": None, "sync_info": None} == {
        "order": code,
        "positionid": None,
        "provider": "httpsync",
        "mapping": str(mapping["id"]),
        "object_type": "contacts",
        "external_id_field": "email",
        "id_value": "buyer@example.org",
        "external_link_href": f"{api.url}/contacts/buyer%40example.org",
        "external_link_display_name": "contacts buyer@example.org",
        "transmitted": None,
        "sync_info": None,
    }
    fields = {f["key"]: f["required_input"] for f in client.get(BASE + "sourcefields/", headers=headers).json()}
    assert fields["email"] == "order" and fields["attendee_name"] == "position" and fields["event_slug"] == "event"
    assert client.put(MAPPINGS, json=[], headers=headers).json() == []


def test_bad_mappings_are_400_per_mapping(client, world):
    bad = dict(
        CONTACTS,
        source_model="Customer",
        property_mappings=[
            {"source_field": "nope", "external_field": "x"},
            {"source_field": "attendee_name", "external_field": "", "mode": "sometimes"},
        ],
    )
    response = client.put(MAPPINGS, json=[CONTACTS, bad], headers=world.headers())
    assert response.status_code == 400
    first, second = response.json()["mappings"]
    assert first == {}
    assert set(second) == {"source_model", "property_mappings"}
    assert client.put(MAPPINGS, json={"no": "list"}, headers=world.headers()).status_code == 400
    assert client.put(BASE + "ghost/mappings/", json=[], headers=world.headers()).status_code == 404
    assert client.get(MAPPINGS).status_code == 401


def test_mappings_are_copied_with_their_event(kernel, world):
    with kernel.db.session() as session:
        source = session.get(Event, world.event_id)
        old_list = CheckinList(event_id=source.id, name="Entry")
        session.add(old_list)
        session.flush()
        session.add(
            SyncMapping(
                event_id=source.id,
                provider="httpsync",
                position=0,
                source_model="OrderPosition",
                external_object_type="tickets",
                source_id_field="ticket_id",
                external_id_field="ticket",
                property_mappings=[{"source_field": f"checkin_date_{old_list.id}", "external_field": "in"}],
            )
        )
        session.flush()
        copy = Event(organizer_id=source.organizer_id, slug="copy", name={"en": "Copy"}, date_from=source.date_from)
        session.add(copy)
        session.flush()
        copy_event_data(session, source, copy)
        [copied] = session.scalars(select(SyncMapping).where(SyncMapping.event_id == copy.id)).all()
        copied_lists = session.scalars(select(CheckinList.id).where(CheckinList.event_id == copy.id)).all()
        # The field follows the copied check-in list; a list that was not copied would make it _invalid_.
        expected = f"checkin_date_{copied_lists[0]}" if copied_lists else f"_invalid_checkin_date_{old_list.id}"
        assert copied.property_mappings == [{"source_field": expected, "external_field": "in"}]
