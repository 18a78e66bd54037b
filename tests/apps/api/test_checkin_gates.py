"""Gates: the organizer's gates resource, a device's gate (devices API and the device's own info), a check-in
list's gates, and scans of a device at a gate (which lists it may use, the gate on its check-ins and in rules)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from test_checkin import LISTS, RPC, device_token, make_list, place  # noqa: F401 (fixture)

from boxoffice.kernel.models.checkin import Checkin

GATES = "/api/v1/organizers/demo/gates/"
DEVICES = "/api/v1/organizers/demo/devices/"


def make_gate(api, name: str, identifier: str) -> dict[str, Any]:
    response = api.post(GATES, {"name": name, "identifier": identifier})
    assert response.status_code == 201, response.text
    return response.json()


def as_device(api, token: str, method: str, path: str, **kwargs: Any):
    return api.client.request(method, path, headers={"Authorization": f"Device {token}"}, **kwargs)


def test_gates_resource(api) -> None:
    south = make_gate(api, "South entrance", "S")
    assert set(south) == {"id", "name", "identifier"} and south["name"] == "South entrance"
    north = make_gate(api, "North entrance", "N")
    assert api.get(GATES).json()["results"] == [south, north]
    assert [g["identifier"] for g in api.get(GATES, params={"ordering": "-name"}).json()["results"]] == ["S", "N"]
    assert api.get(f"{GATES}{north['id']}/").json() == north
    renamed = api.patch(f"{GATES}{north['id']}/", {"name": "North gate"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "North gate"
    duplicate = api.post(GATES, {"name": "Other", "identifier": "S"})
    assert duplicate.status_code == 400 and "identifier" in duplicate.json()
    missing = api.post(GATES, {"name": ""})
    assert missing.status_code == 400 and set(missing.json()) == {"name", "identifier"}
    assert api.patch(f"{GATES}{north['id']}/", {"identifier": "S"}).status_code == 400
    assert api.post(GATES, content=b"[", headers={"Content-Type": "application/json"}).status_code == 400
    rival = api.make_token("rival")
    assert api.get(f"/api/v1/organizers/rival/gates/{south['id']}/", token=rival).status_code == 404
    assert api.delete(f"{GATES}{north['id']}/").status_code == 204
    assert api.get(f"{GATES}{north['id']}/").status_code == 404


def test_devices_and_lists_name_gates(api) -> None:
    gate = make_gate(api, "South entrance", "S")
    device = api.post(DEVICES, {"name": "Scanner", "gate": gate["id"]})
    assert device.status_code == 201 and device.json()["gate"] == gate["id"]
    number = device.json()["device_id"]
    assert api.patch(f"{DEVICES}{number}/", {"gate": 999999}).json() == {
        "gate": ['Invalid pk "999999" - object does not exist.']
    }
    checkin_list = make_list(api, gates=[gate["id"]])
    assert checkin_list["gates"] == [gate["id"]]
    bad = api.post(LISTS, {"name": "x", "gates": [999999]})
    assert bad.status_code == 400 and "gates" in bad.json()
    # Deleting the gate leaves the device at no gate and the list used at every gate.
    assert api.delete(f"{GATES}{gate['id']}/").status_code == 204
    assert api.get(f"{DEVICES}{number}/").json()["gate"] is None
    assert api.get(f"{LISTS}{checkin_list['id']}/").json()["gates"] == []
    unset = api.patch(f"{DEVICES}{number}/", {"gate": None})
    assert unset.status_code == 200 and unset.json()["gate"] is None


def test_a_device_at_a_gate_uses_only_lists_of_that_gate(api, device_token: str) -> None:  # noqa: F811
    south, north = make_gate(api, "South entrance", "S"), make_gate(api, "North entrance", "N")
    assert api.patch(f"{DEVICES}1/", {"gate": south["id"]}).status_code == 200
    info = as_device(api, device_token, "GET", "/api/v1/device/info")
    assert info.status_code == 200 and info.json()["device"]["gate"] == {"id": south["id"], "name": "South entrance"}
    at_south = make_list(api, name="South", gates=[south["id"]])
    at_north = make_list(api, name="North", gates=[north["id"]])
    everywhere = make_list(api, name="Everywhere")
    secret = place(api)["positions"][0]["secret"]

    refused = as_device(api, device_token, "POST", RPC + "redeem/", json={"secret": secret, "lists": [at_north["id"]]})
    assert refused.status_code == 400 and "lists" in refused.json()
    search = as_device(api, device_token, "GET", RPC + "search/", params={"list": at_north["id"]})
    assert search.status_code == 400 and "list" in search.json()
    legacy = as_device(api, device_token, "POST", f"{LISTS}{at_north['id']}/positions/{secret}/redeem/", json={})
    assert legacy.status_code == 400

    scanned = as_device(api, device_token, "POST", RPC + "redeem/", json={"secret": secret, "lists": [at_south["id"]]})
    assert scanned.status_code == 201, scanned.text
    assert scanned.json()["position"]["checkins"][0]["gate"] == south["id"]
    assert (
        as_device(
            api, device_token, "POST", RPC + "redeem/", json={"secret": secret, "lists": [everywhere["id"]]}
        ).status_code
        == 201
    )
    history = api.get("/api/v1/organizers/demo/events/democon/checkins/", params={"gate": south["id"]}).json()
    assert history["count"] == 2 and {row["gate"] for row in history["results"]} == {south["id"]}
    # Scans refused offline are reported with the device's gate, even on a list of another gate.
    failed = as_device(
        api,
        device_token,
        "POST",
        f"{LISTS}{at_north['id']}/failed_checkins/",
        json={"raw_barcode": "nonsense", "error_reason": "invalid"},
    )
    assert failed.status_code == 201, failed.text
    assert failed.json()["gate"] == south["id"]
    # A team token is at no gate: every list is open to it.
    assert api.post(RPC + "redeem/", {"secret": secret, "lists": [at_north["id"]]}).status_code == 201


@pytest.mark.parametrize(("gate_name", "admitted"), [("S", True), ("N", False)])
def test_rules_see_the_device_gate(api, device_token: str, gate_name: str, admitted: bool) -> None:  # noqa: F811
    south, north = make_gate(api, "South entrance", "S"), make_gate(api, "North entrance", "N")
    assert api.patch(f"{DEVICES}1/", {"gate": (south if gate_name == "S" else north)["id"]}).status_code == 200
    rule = {"inList": [{"var": "gate"}, {"objectList": [{"lookup": ["gate", str(south["id"]), "South"]}]}]}
    checkin_list = make_list(api, rules=rule)
    secret = place(api)["positions"][0]["secret"]
    scanned = as_device(
        api, device_token, "POST", RPC + "redeem/", json={"secret": secret, "lists": [checkin_list["id"]]}
    )
    assert (scanned.json()["status"] == "ok") is admitted, scanned.text
    if not admitted:
        assert scanned.json()["reason"] == "rules"
    with api.kernel.db.session() as session:
        assert session.scalars(select(Checkin.gate_id)).all() == [(south if admitted else north)["id"]]


def test_a_cloned_event_gets_copies_of_the_lists(api) -> None:
    gate = make_gate(api, "South entrance", "S")
    ticket = api.post(
        "/api/v1/organizers/demo/events/democon/items/", {"name": {"en": "Day pass"}, "default_price": "5.00"}
    ).json()["id"]
    rule = {"inList": [{"var": "product"}, {"objectList": [{"lookup": ["product", str(ticket), "Day pass"]}]}]}
    original = make_list(
        api, name="Day", all_products=False, limit_products=[ticket], gates=[gate["id"]], rules=rule, addon_match=True
    )
    cloned = api.post(
        "/api/v1/organizers/demo/events/democon/clone/", {"slug": "democon2", "date_from": "2032-05-01T09:00:00Z"}
    )
    assert cloned.status_code == 201, cloned.text
    copies = api.get("/api/v1/organizers/demo/events/democon2/checkinlists/").json()["results"]
    assert len(copies) == 1
    copy = copies[0]
    copied_ticket = api.get("/api/v1/organizers/demo/events/democon2/items/").json()["results"]
    copied_id = next(item["id"] for item in copied_ticket if item["name"]["en"] == "Day pass")
    assert copy["id"] != original["id"] and copy["name"] == "Day" and copy["addon_match"] is True
    assert copy["limit_products"] == [copied_id] and copied_id != ticket
    assert copy["gates"] == [gate["id"]]
    assert copy["rules"]["inList"][1]["objectList"][0]["lookup"] == ["product", str(copied_id), "Day pass"]
