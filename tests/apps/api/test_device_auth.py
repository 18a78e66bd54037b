from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, update

from boxoffice.kernel.db import Base
from boxoffice.kernel.models import Event, LogEntry
from boxoffice.kernel.models.devices import Device
from boxoffice.kernel.tokens import token_digest

DEVICES = "/api/v1/organizers/demo/devices/"
EVENTS = "/api/v1/organizers/demo/events/"
HARDWARE = {
    "hardware_brand": "Samsung",
    "hardware_model": "Galaxy S",
    "os_name": "Android",
    "os_version": "2.3.6",
    "software_brand": "pretixdroid",
    "software_version": "4.0.0",
}
# A syntactically valid (throwaway) RSA public key in PEM form.
PUBKEY = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n"
    "4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u\n"
    "+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyeh\n"
    "kd3qqGElvW/VDL5AaWTg0nLVkjRo9z+40RQzuVaE8AkAFmxZzow3x+VJYKdjykkJ\n"
    "0iT9wCS0DRTXu269V264Vf/3jvredZiKRkgwlL9xNAwxXFg0x/XFw005UWVRIkdg\n"
    "cKWTjpBP2dPwVZ4WWC+9aGVd+Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbc\n"
    "mwIDAQAB\n"
    "-----END PUBLIC KEY-----\n"
)


def device_headers(token):
    return {"Authorization": f"Device {token}"}


def _new_device(api, **fields):
    response = api.post(DEVICES, {"name": "Bar", **fields})
    assert response.status_code == 201, response.json()
    return response.json()


def _initialize(api, init_token, **extra):
    return api.client.post("/api/v1/device/initialize", json={"token": init_token, **HARDWARE, **extra})


def _initialized(api, **fields):
    device = _new_device(api, **fields)
    response = _initialize(api, device["initialization_token"])
    assert response.status_code == 200, response.json()
    return device, response.json()["api_token"]


def test_initialize_handshake(api):
    device = _new_device(api)
    response = _initialize(api, device["initialization_token"], rsa_pubkey=PUBKEY, info={"arbitrary": "data"})
    assert response.status_code == 200
    body = response.json()
    api_token = body.pop("api_token")
    assert body == {
        "organizer": "demo",
        "device_id": device["device_id"],
        "unique_serial": device["unique_serial"],
        "name": "Bar",
        "gate": None,
    }
    assert len(api_token) == 64
    with api.kernel.db.session() as session:
        stored = session.query(Device).one()
        # Only the digest of the API token is kept.
        assert stored.api_token_digest == token_digest(api_token)
        assert api_token not in {stored.initialization_token, stored.unique_serial}
        assert stored.rsa_pubkey == PUBKEY and stored.info == {"arbitrary": "data"}
        entry = session.query(LogEntry).filter_by(action_type="boxoffice.organizer.device.initialized").one()
        assert (entry.actor_type, entry.actor_id, entry.organizer_id) == ("device", str(stored.id), stored.organizer_id)
        assert entry.data["software_version"] == "4.0.0"
    detail = api.get(f"{DEVICES}{device['device_id']}/").json()
    assert detail["initialized"] is not None
    assert detail["hardware_brand"] == "Samsung" and detail["software_brand"] == "pretixdroid"


def test_initialization_token_works_once(api):
    device = _new_device(api)
    assert _initialize(api, device["initialization_token"]).status_code == 200
    again = _initialize(api, device["initialization_token"])
    assert again.status_code == 400
    assert again.json() == {"token": ["This initialization token has already been used."]}
    unknown = _initialize(api, "doesnotexist")
    assert unknown.status_code == 400 and list(unknown.json()) == ["token"]
    assert _initialize(api, "a\x00b").status_code == 400
    assert api.client.post("/api/v1/device/initialize", json={}).json() == {"token": ["This field is required."]}


def test_initialize_validation(api):
    device = _new_device(api)
    token = device["initialization_token"]
    bad = _initialize(api, token, hardware_brand="x" * 191, rsa_pubkey="not a key")
    assert bad.status_code == 400
    assert set(bad.json()) == {"hardware_brand", "rsa_pubkey"}
    # A failed attempt does not use up the token.
    assert _initialize(api, token).status_code == 200


def test_update_info_roll_revoke(api):
    device, api_token = _initialized(api)
    headers = device_headers(api_token)
    update_body = {**HARDWARE, "software_version": "4.1.0", "info": {"arbitrary": "data"}}
    updated = api.client.post("/api/v1/device/update", json=update_body, headers=headers)
    assert updated.status_code == 200
    assert updated.json()["api_token"] == api_token and updated.json()["device_id"] == device["device_id"]
    assert api.get(f"{DEVICES}{device['device_id']}/").json()["software_version"] == "4.1.0"

    info = api.client.get("/api/v1/device/info", headers=headers)
    assert info.status_code == 200
    body = info.json()
    assert body["device"]["unique_serial"] == device["unique_serial"] and body["device"]["api_token"] == api_token
    assert body["medium_key_sets"] == []
    assert isinstance(body["server"]["version"]["pretix"], str)
    assert body["server"]["version"]["pretix_numeric"] > 40000000000

    rolled = api.client.post("/api/v1/device/roll", headers=headers)
    assert rolled.status_code == 200
    new_token = rolled.json()["api_token"]
    assert new_token != api_token
    assert api.client.get("/api/v1/device/info", headers=headers).status_code == 401
    new_headers = device_headers(new_token)
    assert api.client.get("/api/v1/device/info", headers=new_headers).status_code == 200

    revoked = api.client.post("/api/v1/device/revoke", headers=new_headers)
    assert revoked.status_code == 200
    assert api.client.get("/api/v1/device/info", headers=new_headers).status_code == 401
    assert api.get(f"{DEVICES}{device['device_id']}/").json()["revoked"] is True
    with api.kernel.db.session() as session:
        actions = [
            (entry.action_type, entry.actor_type)
            for entry in session.query(LogEntry).order_by(LogEntry.id)
            if entry.action_type.startswith("boxoffice.organizer.device.")
        ]
    assert actions[-3:] == [
        ("boxoffice.organizer.device.updated", "device"),
        ("boxoffice.organizer.device.keyroll", "device"),
        ("boxoffice.organizer.device.revoked", "device"),
    ]


def test_revoked_device_cannot_initialize(api):
    device = _new_device(api)
    with api.kernel.db.session() as session:
        session.execute(update(Device).values(revoked=True))
    response = _initialize(api, device["initialization_token"])
    assert response.status_code == 400 and "revoked" in response.json()["token"][0]


def test_rsa_key_cannot_be_replaced(api):
    _, api_token = _initialized(api, all_events=True)
    headers = device_headers(api_token)
    assert api.client.post("/api/v1/device/update", json={"rsa_pubkey": PUBKEY}, headers=headers).status_code == 200
    other_key = PUBKEY.replace("u1SU1LfV", "u1SU1LfW")
    refused = api.client.post("/api/v1/device/update", json={"rsa_pubkey": other_key}, headers=headers)
    assert refused.status_code == 400 and "rsa_pubkey" in refused.json()
    # Sending the same key again is fine (clients repeat it).
    assert api.client.post("/api/v1/device/update", json={"rsa_pubkey": PUBKEY}, headers=headers).status_code == 200


def test_device_endpoints_need_device_credentials(api):
    assert api.client.get("/api/v1/device/info").status_code == 401
    assert api.client.get("/api/v1/device/info", headers=device_headers("wrong")).status_code == 401
    # A team token is not a device.
    assert api.get("/api/v1/device/info").status_code == 401
    assert api.post("/api/v1/device/roll").status_code == 401
    assert api.post("/api/v1/device/revoke").status_code == 401
    # An uninitialized device has no API token at all.
    device = _new_device(api)
    init_headers = device_headers(device["initialization_token"])
    assert api.client.get("/api/v1/device/info", headers=init_headers).status_code == 401


def test_device_principal_has_fixed_permissions(api):
    _, api_token = _initialized(api, limit_events=["democon"])
    headers = device_headers(api_token)
    listed = api.client.get(EVENTS, headers=headers)
    assert listed.status_code == 200
    assert [event["slug"] for event in listed.json()["results"]] == ["democon"]
    assert api.client.get(EVENTS + "democon/", headers=headers).status_code == 200
    # Events the device is not limited to, and other organizers, stay invisible.
    assert api.client.get(EVENTS + "other/", headers=headers).status_code == 403
    assert api.client.get("/api/v1/organizers/rival/events/", headers=headers).status_code == 403
    # Devices never change events or manage the organizer.
    assert api.client.patch(EVENTS + "democon/", json={"is_public": False}, headers=headers).status_code == 403
    assert api.client.get(DEVICES, headers=headers).status_code == 403
    assert api.client.get("/api/v1/organizers/demo/teams/", headers=headers).status_code == 403
    assert api.client.post("/api/v1/device/revoke", headers=headers).status_code == 200
    assert api.client.get(EVENTS, headers=headers).status_code == 401


# --- event selection ----------------------------------------------------------------------------------------------


def _set_dates(api, slug, date_from, date_to=None):
    with api.kernel.db.session() as session:
        session.execute(update(Event).where(Event.slug == slug).values(date_from=date_from, date_to=date_to))


def test_event_selection(api):
    now = datetime.now(UTC)
    _, api_token = _initialized(api, all_events=True)
    headers = device_headers(api_token)
    url = "/api/v1/device/eventselection"
    # Both demo events lie in the future: nothing to suggest.
    assert api.client.get(url, headers=headers).status_code == 404
    _set_dates(api, "democon", now - timedelta(hours=1), now + timedelta(hours=3))
    suggestion = api.client.get(url, headers=headers)
    assert suggestion.status_code == 200
    assert suggestion.json() == {
        "event": {"name": "DemoCon", "slug": "democon"},
        "subevent": None,
        "checkinlist": None,
    }
    keep = api.client.get(url, params={"current_event": "democon"}, headers=headers)
    assert keep.status_code == 304 and keep.content == b""
    # Starting soon (within the lead time before admission) counts as running.
    _set_dates(api, "other", now + timedelta(minutes=30), now + timedelta(hours=2))
    latest = api.client.get(url, params={"current_event": "rivalcon"}, headers=headers)
    assert latest.json()["event"]["slug"] == "other"
    assert api.client.get(url, params={"current_event": "democon"}, headers=headers).status_code == 304
    _set_dates(api, "democon", now - timedelta(days=3), now - timedelta(days=2))
    _set_dates(api, "other", now + timedelta(days=3))
    assert api.client.get(url, params={"current_event": "democon"}, headers=headers).status_code == 404


def test_event_selection_respects_device_limits(api):
    now = datetime.now(UTC)
    _set_dates(api, "democon", now - timedelta(hours=1), now + timedelta(hours=3))
    _, api_token = _initialized(api, limit_events=["other"])
    response = api.client.get("/api/v1/device/eventselection", headers=device_headers(api_token))
    assert response.status_code == 404


def test_event_selection_suggests_series_dates(api):
    subevents = Base.metadata.tables.get("subevent")
    if subevents is None:
        pytest.skip("no sub-events in this build")
    now = datetime.now(UTC)
    with api.kernel.db.session() as session:
        session.execute(update(Event).where(Event.slug == "other").values(has_subevents=True))
        other_id = session.query(Event.id).filter_by(slug="other").scalar()
        session.execute(
            insert(subevents),
            [
                {"event_id": other_id, "name": {"en": "past"}, "active": True, "date_from": now - timedelta(days=1)},
                {
                    "event_id": other_id,
                    "name": {"en": "now"},
                    "active": True,
                    "date_from": now - timedelta(hours=1),
                    "date_to": now + timedelta(hours=1),
                },
                {
                    "event_id": other_id,
                    "name": {"en": "inactive"},
                    "active": False,
                    "date_from": now - timedelta(minutes=5),
                    "date_to": now + timedelta(hours=1),
                },
            ],
        )
        running_id = session.query(subevents.c.id).filter(subevents.c.name["en"].as_string() == "now").scalar()
    _, api_token = _initialized(api, all_events=True)
    headers = device_headers(api_token)
    url = "/api/v1/device/eventselection"
    response = api.client.get(url, params={"current_event": "other", "current_subevent": "0"}, headers=headers)
    assert response.status_code == 200
    assert response.json()["event"]["slug"] == "other" and response.json()["subevent"] == running_id
    params = {"current_event": "other", "current_subevent": str(running_id)}
    assert api.client.get(url, params=params, headers=headers).status_code == 304
