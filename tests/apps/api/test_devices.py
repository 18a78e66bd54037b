import re
from datetime import UTC, datetime

from boxoffice.kernel.models import LogEntry
from boxoffice.kernel.models.devices import Device

DEVICES = "/api/v1/organizers/demo/devices/"
FIELDS = {
    "device_id",
    "unique_serial",
    "initialization_token",
    "all_events",
    "limit_events",
    "revoked",
    "name",
    "created",
    "initialized",
    "security_profile",
    "hardware_brand",
    "hardware_model",
    "os_name",
    "os_version",
    "software_brand",
    "software_version",
    "gate",
}


def _create(api, **fields):
    response = api.post(DEVICES, {"name": "Scanner", **fields})
    assert response.status_code == 201, response.json()
    return response.json()


def test_create_with_spec_example(api):
    created = api.post(DEVICES, {"name": "Scanner", "all_events": True, "limit_events": []})
    assert created.status_code == 201
    body = created.json()
    assert set(body) == FIELDS
    assert body["device_id"] == 1 and body["name"] == "Scanner"
    assert body["all_events"] is True and body["limit_events"] == [] and body["revoked"] is False
    assert body["security_profile"] == "full" and body["initialized"] is None and body["hardware_brand"] is None
    assert re.fullmatch(r"[A-Z0-9]{16}", body["unique_serial"])
    assert re.fullmatch(r"[a-z0-9]{16}", body["initialization_token"])
    assert datetime.fromisoformat(body["created"].replace("Z", "+00:00")) <= datetime.now(UTC)
    second = _create(api, name="POS", limit_events=["other", "democon"])
    assert second["device_id"] == 2 and second["limit_events"] == ["democon", "other"]
    assert second["all_events"] is False
    assert second["unique_serial"] != body["unique_serial"]
    assert second["initialization_token"] != body["initialization_token"]


def test_list_and_detail(api):
    first = _create(api)
    second = _create(api, name="Box office", limit_events=["democon"])
    listed = api.get(DEVICES).json()
    assert listed["count"] == 2 and listed["next"] is None
    assert listed["results"] == [first, second]
    assert api.get(f"{DEVICES}2/").json() == second
    assert [d["name"] for d in api.get(DEVICES + "?ordering=-device_id").json()["results"]] == ["Box office", "Scanner"]
    assert api.get(f"{DEVICES}99/").status_code == 404


def test_device_numbers_are_per_organizer(api):
    _create(api)
    rival = api.make_token("rival")
    response = api.post("/api/v1/organizers/rival/devices/", {"name": "Rival scanner"}, rival)
    assert response.json()["device_id"] == 1
    # The rival's device 1 is not ours.
    assert api.get(f"{DEVICES}1/").json()["name"] == "Scanner"


def test_patch(api):
    device = _create(api)
    url = f"{DEVICES}{device['device_id']}/"
    patched = api.patch(
        url,
        {
            "name": "Foo",
            "all_events": False,
            "limit_events": ["other"],
            "security_profile": "pretixscan",
            # Read-only fields are ignored.
            "hardware_brand": "Hacked",
            "revoked": True,
            "device_id": 77,
        },
    )
    assert patched.status_code == 200
    body = patched.json()
    assert body["name"] == "Foo" and body["limit_events"] == ["other"] and body["security_profile"] == "pretixscan"
    assert body["hardware_brand"] is None and body["revoked"] is False and body["device_id"] == device["device_id"]
    assert body["unique_serial"] == device["unique_serial"]
    assert api.get(url).json() == body


def test_validation(api):
    response = api.post(DEVICES, {"limit_events": ["nope", "rivalcon"], "security_profile": "root"})
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"name", "limit_events", "security_profile"}
    assert len(body["limit_events"]) == 2
    device = _create(api)
    url = f"{DEVICES}{device['device_id']}/"
    assert "name" in api.patch(url, {"name": ""}).json()
    assert "name" in api.patch(url, {"name": "x" * 191}).json()
    assert api.patch(url, {"all_events": "maybe"}).json() == {"all_events": ["Must be a valid boolean."]}
    assert api.patch(url, {"limit_events": [1, 2]}).status_code == 400
    assert api.get(url).json() == device


def test_permissions(api):
    device = _create(api)
    url = f"{DEVICES}{device['device_id']}/"
    reader = api.make_token(organizer_permissions=("organizer.devices:read",))
    listed = api.get(DEVICES, reader)
    assert listed.status_code == 200
    # Whoever cannot change devices does not get to see their initialization tokens either.
    assert listed.json()["results"][0]["initialization_token"] is None
    assert api.get(url, reader).json()["initialization_token"] is None
    assert api.post(DEVICES, {"name": "x"}, reader).status_code == 403
    assert api.patch(url, {"name": "x"}, reader).status_code == 403
    nobody = api.make_token(organizer_permissions=())
    assert api.get(DEVICES, nobody).status_code == 403
    assert api.get(url, nobody).status_code == 403
    writer = api.make_token(organizer_permissions=("organizer.devices:write",))
    assert api.post(DEVICES, {"name": "x"}, writer).status_code == 201
    rival = api.make_token("rival")
    assert api.get(DEVICES, rival).status_code == 403
    assert api.get(url, rival).status_code == 403
    assert api.patch(url, {"name": "x"}, rival).status_code == 403


def test_audit_log(api):
    device = _create(api, limit_events=["democon"])
    url = f"{DEVICES}{device['device_id']}/"
    api.patch(url, {"name": "Renamed", "limit_events": ["democon"]})
    api.patch(url, {"name": "Renamed"})
    with api.kernel.db.session() as session:
        stored = session.query(Device).one()
        entries = [
            (entry.action_type, entry.actor_type, entry.object_id, entry.organizer_id, entry.data)
            for entry in session.query(LogEntry).order_by(LogEntry.id)
            if entry.action_type.startswith("boxoffice.organizer.device")
        ]
    assert [entry[0] for entry in entries] == ["boxoffice.organizer.device.added", "boxoffice.organizer.device.changed"]
    assert all(entry[1] == "token" and entry[2] == str(stored.id) for entry in entries)
    assert entries[0][3] == stored.organizer_id
    assert entries[0][4]["limit_events"] == ["democon"]
    assert entries[1][4] == {"name": "Renamed"}


def test_deleting_an_event_drops_it_from_devices(api):
    device = _create(api, limit_events=["democon", "other"])
    assert api.delete("/api/v1/organizers/demo/events/other/").status_code == 204
    assert api.get(f"{DEVICES}{device['device_id']}/").json()["limit_events"] == ["democon"]
