from sqlalchemy import delete, select

from boxoffice.kernel.models import LogEntry, Organizer
from boxoffice.kernel.models.saleschannels import SalesChannel

CHANNELS = "/api/v1/organizers/demo/saleschannels/"
CUSTOM = {"identifier": "api.custom", "label": {"en": "Custom integration"}, "type": "api", "position": 2}
WEB = {"identifier": "web", "label": {"en": "Online shop"}, "type": "web", "position": 0}


def test_every_organizer_has_the_web_shop(api):
    assert api.get(CHANNELS).json() == {"count": 1, "next": None, "previous": None, "results": [WEB]}
    assert api.get(CHANNELS + "web/").json() == WEB
    with api.kernel.db.session() as session:
        session.add(Organizer(slug="fresh", name="Fresh"))
        session.flush()
        channels = session.scalars(select(SalesChannel.identifier).join(Organizer).where(Organizer.slug == "fresh"))
        assert list(channels) == ["web"]


def test_web_shop_is_created_on_first_access_when_missing(api):
    with api.kernel.db.session() as session:
        session.execute(delete(SalesChannel))
    assert api.get(CHANNELS + "web/").json() == WEB
    assert api.get(CHANNELS).json()["count"] == 1


def test_crud_round_trip(api):
    created = api.post(CHANNELS, CUSTOM)
    assert created.status_code == 201, created.json()
    assert created.json() == CUSTOM
    detail = CHANNELS + "api.custom/"
    assert api.get(detail).json() == CUSTOM
    assert [c["identifier"] for c in api.get(CHANNELS).json()["results"]] == ["web", "api.custom"]

    patched = api.patch(detail, {"position": 5, "label": {"en": "Box office API"}})
    assert patched.json() == {**CUSTOM, "position": 5, "label": {"en": "Box office API"}}
    replaced = api.put(detail, {"label": {"en": "Kiosk"}})
    assert replaced.json() == {**CUSTOM, "label": {"en": "Kiosk"}, "position": 0}
    # Sending the unchanged identifier and type is fine, changing them is not.
    assert api.patch(detail, {"identifier": "api.custom", "type": "api"}).status_code == 200
    unchangeable = api.patch(detail, {"identifier": "api.other", "type": "web"})
    assert unchangeable.status_code == 400 and set(unchangeable.json()) == {"identifier", "type"}

    assert api.delete(detail).status_code == 204
    assert api.get(detail).status_code == 404
    with api.kernel.db.session() as session:
        entries = session.scalars(
            select(LogEntry).where(LogEntry.object_type == "saleschannel").order_by(LogEntry.id)
        ).all()
    assert [entry.action_type for entry in entries] == [
        "boxoffice.organizer.saleschannel.added",
        "boxoffice.organizer.saleschannel.changed",
        "boxoffice.organizer.saleschannel.changed",
        "boxoffice.organizer.saleschannel.deleted",
    ]
    assert all(entry.organizer_id is not None and entry.event_id is None for entry in entries)


def test_web_shop_can_be_changed_but_not_deleted(api):
    assert api.patch(CHANNELS + "web/", {"position": 5}).json() == {**WEB, "position": 5}
    response = api.delete(CHANNELS + "web/")
    assert response.status_code == 403
    assert api.get(CHANNELS + "web/").status_code == 200


def test_create_validation(api):
    only_api = api.post(CHANNELS, {**CUSTOM, "identifier": "web.two", "type": "web"})
    assert only_api.status_code == 400 and "type" in only_api.json()
    for identifier in ("custom", "api.", "api.with space", "other.custom", "api." + "x" * 190):
        response = api.post(CHANNELS, {**CUSTOM, "identifier": identifier})
        assert response.status_code == 400 and "identifier" in response.json(), identifier
    missing = api.post(CHANNELS, {"type": "api"})
    assert set(missing.json()) == {"identifier", "label"}
    assert api.post(CHANNELS, {**CUSTOM, "label": {"en": ""}, "position": -(2**31) - 1}).json().keys() == {
        "label",
        "position",
    }
    # The type may be left out: only "api" can be created anyway.
    created = api.post(CHANNELS, {"identifier": "api.pos", "label": {"en": "POS"}})
    assert created.status_code == 201 and created.json()["type"] == "api"
    duplicate = api.post(CHANNELS, {"identifier": "api.pos", "label": {"en": "POS"}})
    assert duplicate.status_code == 400 and "identifier" in duplicate.json()
    # The same identifier may exist for another organizer.
    rival = api.make_token("rival")
    assert api.post("/api/v1/organizers/rival/saleschannels/", CUSTOM, rival).status_code == 201
    assert api.post(CHANNELS, CUSTOM).status_code == 201


def test_channels_in_use_cannot_be_deleted(api):
    assert api.post(CHANNELS, CUSTOM).status_code == 201
    assert api.post(CHANNELS, {**CUSTOM, "identifier": "api.custom_2"}).status_code == 201
    limited = api.patch(
        "/api/v1/organizers/demo/events/democon/", {"all_sales_channels": False, "limit_sales_channels": ["api.custom"]}
    )
    assert limited.status_code == 200, limited.json()
    response = api.delete(CHANNELS + "api.custom/")
    assert response.status_code == 403 and "in use" in response.json()["detail"]
    # Only the exact identifier counts ("_" is no wildcard), and only this organizer's data.
    assert api.delete(CHANNELS + "api.custom_2/").status_code == 204
    rival = api.make_token("rival")
    assert api.post("/api/v1/organizers/rival/saleschannels/", CUSTOM, rival).status_code == 201
    assert api.delete("/api/v1/organizers/rival/saleschannels/api.custom/", rival).status_code == 204


def test_permissions(api):
    assert api.post(CHANNELS, CUSTOM).status_code == 201
    reader = api.make_token(organizer_permissions=("organizer.events:create",))
    assert api.get(CHANNELS, reader).status_code == 200
    assert api.post(CHANNELS, {**CUSTOM, "identifier": "api.x"}, reader).status_code == 403
    assert api.patch(CHANNELS + "api.custom/", {"position": 1}, reader).status_code == 403
    assert api.put(CHANNELS + "api.custom/", {"label": {"en": "x"}}, reader).status_code == 403
    assert api.delete(CHANNELS + "api.custom/", reader).status_code == 403
    writer = api.make_token(organizer_permissions=("organizer.settings.general:write",))
    assert api.patch(CHANNELS + "api.custom/", {"position": 1}, writer).status_code == 200
    rival = api.make_token("rival")
    assert api.get(CHANNELS, rival).status_code == 403
    assert api.get(CHANNELS + "web/", rival).status_code == 403
    assert api.get("/api/v1/organizers/rival/saleschannels/api.custom/", rival).status_code == 404
    assert api.get(CHANNELS + "web%00/").status_code == 400
