from decimal import Decimal

import pytest
from sqlalchemy import select

from boxoffice.kernel.models import Event, Item, LogEntry, Quota
from boxoffice.kernel.models.items import ItemVariation
from boxoffice.kernel.models.subevents import SubEvent, SubEventItem

EVENTS = "/api/v1/organizers/demo/events/"
DATES = EVENTS + "series/subevents/"
FIRST = {
    "name": {"en": "First Sample Conference"},
    "active": False,
    "is_public": True,
    "date_from": "2031-12-27T10:00:00Z",
    "date_to": None,
    "date_admission": None,
    "presale_start": None,
    "presale_end": None,
    "location": None,
    "geo_lat": None,
    "geo_lon": None,
    "seating_plan": None,
    "seat_category_mapping": {},
    "item_price_overrides": [],
    "variation_price_overrides": [],
    "meta_data": {},
}


@pytest.fixture
def series(api):
    """An event series with an item (two variations) and the ids: item, variations."""
    body = {
        "name": {"en": "Series"},
        "slug": "series",
        "currency": "EUR",
        "date_from": "2031-06-01T10:00:00Z",
        "has_subevents": True,
        "meta_data": {},
    }
    assert api.post(EVENTS, body).status_code == 201
    with api.kernel.db.session() as session:
        event = session.scalar(select(Event).where(Event.slug == "series"))
        item = Item(event=event, name={"en": "Day ticket"}, default_price=Decimal("12.00"), has_variations=True)
        item.variations = [ItemVariation(value={"en": "Adult"}), ItemVariation(value={"en": "Child"})]
        session.add(item)
        session.flush()
        return {"item": item.id, "variations": [variation.id for variation in item.variations]}


def create(api, **fields):
    response = api.post(DATES, {**FIRST, **fields})
    assert response.status_code == 201, response.json()
    return response.json()


def test_crud_round_trip(api, series):
    override = {"item": series["item"], "disabled": False, "available_from": None, "available_until": None}
    created = create(
        api,
        item_price_overrides=[{**override, "price": "12"}],
        variation_price_overrides=[{"variation": series["variations"][1], "price": "5.5", "disabled": True}],
        frontpage_text={"en": "Welcome"},
        location={"en": "Hall 1"},
        geo_lat=52.5,
        geo_lon=13.4,
        date_to="2031-12-27T18:00:00+01:00",
    )
    assert created["event"] == "series"
    assert created["item_price_overrides"] == [{**override, "price": "12.00"}]
    assert created["variation_price_overrides"] == [
        {
            "variation": series["variations"][1],
            "disabled": True,
            "available_from": None,
            "available_until": None,
            "price": "5.50",
        }
    ]
    assert created["date_to"] == "2031-12-27T17:00:00Z"
    assert created["frontpage_text"] == {"en": "Welcome"} and created["last_modified"].endswith("Z")
    detail = DATES + f"{created['id']}/"
    assert api.get(detail).json() == created
    assert api.get(DATES).json()["results"] == [created]

    patched = api.patch(
        detail, {"name": {"en": "New name"}, "item_price_overrides": [{**override, "price": "23.42"}]}
    ).json()
    assert patched["name"] == {"en": "New name"}
    assert patched["item_price_overrides"][0]["price"] == "23.42"
    # Lists not sent stay as they were.
    assert len(patched["variation_price_overrides"]) == 1 and patched["location"] == {"en": "Hall 1"}
    assert patched["last_modified"] >= created["last_modified"]

    replaced = api.put(detail, {"name": {"en": "Replaced"}, "date_from": "2031-12-28T10:00:00Z"}).json()
    assert replaced["item_price_overrides"] == [] and replaced["variation_price_overrides"] == []
    assert replaced["location"] is None and replaced["geo_lat"] is None and replaced["active"] is False

    assert api.delete(detail).status_code == 204
    assert api.get(detail).status_code == 404
    with api.kernel.db.session() as session:
        assert session.scalars(select(SubEventItem)).all() == []
        entries = session.scalars(
            select(LogEntry).where(LogEntry.object_type == "subevent").order_by(LogEntry.id)
        ).all()
    assert [entry.action_type for entry in entries] == [
        "boxoffice.event.subevent.added",
        "boxoffice.event.subevent.changed",
        "boxoffice.event.subevent.changed",
        "boxoffice.event.subevent.deleted",
    ]
    assert set(entries[1].data) == {"name", "item_price_overrides"}


def test_only_event_series_have_dates(api, series):
    response = api.post(EVENTS + "democon/subevents/", FIRST)
    assert response.status_code == 400 and "non_field_errors" in response.json()
    assert api.get(EVENTS + "democon/subevents/").json()["count"] == 0


def test_validation(api, series):
    missing = api.post(DATES, {"active": True})
    assert set(missing.json()) == {"name", "date_from"}
    bad = api.post(
        DATES,
        {
            **FIRST,
            "date_to": "2031-12-26T10:00:00Z",
            "presale_start": "2031-12-01T00:00:00Z",
            "presale_end": "2031-11-01T00:00:00Z",
            "geo_lat": 91,
            "geo_lon": -181,
            "seating_plan": 5,
            "location": {},
        },
    )
    assert bad.status_code == 400
    assert set(bad.json()) == {"date_to", "presale_end", "geo_lat", "geo_lon", "seating_plan"}

    with api.kernel.db.session() as session:
        foreign_item = session.scalar(select(Item.id).join(Event).where(Event.slug == "democon"))
    overrides = api.post(
        DATES,
        {
            **FIRST,
            "item_price_overrides": [
                {"item": series["item"], "price": "1.00"},
                {"item": foreign_item, "price": "-1"},
                {"item": series["item"], "price": "1.001"},
                {
                    "item": 2**40,
                    "available_from": "2031-02-01T00:00:00Z",
                    "available_until": "2031-01-01T00:00:00Z",
                },
            ],
            "variation_price_overrides": [{"variation": 2**31 + 5}],
        },
    )
    assert overrides.status_code == 400
    body = overrides.json()
    assert body["item_price_overrides"][0] == {}
    assert set(body["item_price_overrides"][1]) == {"item", "price"}
    assert set(body["item_price_overrides"][2]) == {"item", "price"}
    assert set(body["item_price_overrides"][3]) == {"item", "available_until"}
    assert set(body["variation_price_overrides"][0]) == {"variation"}

    wrong_type = api.post(DATES, {**FIRST, "item_price_overrides": [{"item": "x"}]})
    assert wrong_type.status_code == 400 and "item_price_overrides" in wrong_type.json()
    no_item = api.post(DATES, {**FIRST, "item_price_overrides": [{"price": "1.00"}]})
    assert no_item.json() == {"item_price_overrides": [{"item": ["This field is required."]}]}

    mapping = api.post(DATES, {**FIRST, "seat_category_mapping": {"Stalls": foreign_item}})
    assert set(mapping.json()) == {"seat_category_mapping"}
    assert create(api, seat_category_mapping={"Stalls": series["item"], "Box": None})["seat_category_mapping"] == {
        "Stalls": series["item"],
        "Box": None,
    }
    created = create(api)
    assert api.patch(DATES + f"{created['id']}/", {"date_to": "2031-01-01T00:00:00Z"}).json().keys() == {"date_to"}


def test_list_filters(api, series):
    past = create(api, name={"en": "Past"}, date_from="2020-01-01T10:00:00Z", active=True, location={"en": "Berlin"})
    future = create(api, name={"en": "Future"}, date_from="2032-01-01T10:00:00Z", date_to="2032-01-02T10:00:00Z")
    hidden = create(api, name={"en": "Hidden"}, date_from="2033-01-01T10:00:00Z", is_public=False)

    def ids(query):
        response = api.get(DATES + query)
        assert response.status_code == 200, response.json()
        return [subevent["id"] for subevent in response.json()["results"]]

    assert ids("") == [past["id"], future["id"], hidden["id"]]
    assert ids("?ordering=-date_from") == [hidden["id"], future["id"], past["id"]]
    assert ids("?is_public=false") == [hidden["id"]]
    assert ids("?active=true") == [past["id"]]
    assert ids("?is_future=true") == [future["id"], hidden["id"]]
    assert ids("?is_past=true") == [past["id"]]
    assert ids("?is_past=false") == [future["id"], hidden["id"]]
    assert ids("?date_from_after=2031-01-01T00:00:00Z") == [future["id"], hidden["id"]]
    assert ids("?date_from_before=2031-01-01T00:00:00Z") == [past["id"]]
    assert ids("?date_to_after=2032-01-01T00:00:00Z") == [future["id"]]
    assert ids("?date_to_before=2032-01-01T00:00:00Z") == []
    assert ids("?ends_after=2032-01-01T12:00:00Z") == [future["id"], hidden["id"]]
    assert ids("?search=futu") == [future["id"]]
    assert ids("?search=berlin") == [past["id"]]
    assert ids("?search=%25") == []
    assert api.get(DATES + "?search=%00").status_code == 400
    assert api.get(DATES + "?is_future=maybe").status_code == 400
    assert api.get(DATES + "?date_from_after=soon").status_code == 400


def test_modified_since(api, series):
    first = create(api)
    stamp = first["last_modified"]
    assert [s["id"] for s in api.get(DATES, params={"modified_since": stamp}).json()["results"]] == [first["id"]]
    later = api.get(DATES, params={"modified_since": "2099-01-01T00:00:00Z"}).json()
    assert later["count"] == 0


def test_meta_data_filter_with_event_defaults(api, series):
    assert api.patch(EVENTS + "series/", {"meta_data": {"Language": "en"}}).status_code == 200
    own = create(api, meta_data={"Language": "de", "Track": "A"})
    inherited = create(api, name={"en": "Inherits"})

    def ids(**params):
        return [s["id"] for s in api.get(DATES, params=params).json()["results"]]

    assert ids(**{"attr[Language]": "de"}) == [own["id"]]
    assert ids(**{"attr[Language]": "en"}) == [inherited["id"]]
    assert ids(**{"attr[Track]": "A"}) == [own["id"]]
    assert ids(**{"attr[Track]": ""}) == [inherited["id"]]
    assert ids(**{"attr[Language]": ""}) == []


def test_with_availability_for(api, series):
    create(api)
    plain = api.get(DATES).json()["results"][0]
    assert "best_availability_state" not in plain
    detailed = api.get(DATES + "?with_availability_for=web").json()["results"][0]
    assert detailed["best_availability_state"] is None


def test_organizer_wide_list(api, series):
    first = create(api)
    listed = api.get("/api/v1/organizers/demo/subevents/").json()
    assert listed["count"] == 1 and listed["results"][0] == first
    assert api.get("/api/v1/organizers/demo/subevents/?event__live=true").json()["count"] == 0
    assert api.get("/api/v1/organizers/demo/subevents/?event__live=false").json()["count"] == 1
    assert api.get("/api/v1/organizers/demo/subevents/?sales_channel=web").json()["count"] == 1
    assert api.patch(EVENTS + "series/", {"all_sales_channels": False, "limit_sales_channels": ["api.x"]}).status_code
    assert api.get("/api/v1/organizers/demo/subevents/?sales_channel=web").json()["count"] == 0
    assert api.get("/api/v1/organizers/demo/subevents/?sales_channel=api.x").json()["count"] == 1
    limited = api.make_token(all_events=False, events=("democon",))
    assert api.get("/api/v1/organizers/demo/subevents/", limited).json()["count"] == 0
    assert api.get("/api/v1/organizers/rival/subevents/").status_code == 403


def test_permissions_and_scoping(api, series):
    created = create(api)
    detail = DATES + f"{created['id']}/"
    reader = api.make_token(event_permissions=("event.items:write",), organizer_permissions=())
    assert api.get(detail, reader).status_code == 200
    assert api.post(DATES, FIRST, reader).status_code == 403
    assert api.patch(detail, {"active": True}, reader).status_code == 403
    assert api.put(detail, FIRST, reader).status_code == 403
    assert api.delete(detail, reader).status_code == 403
    writer = api.make_token(event_permissions=("event.subevents:write",), organizer_permissions=())
    assert api.patch(detail, {"active": True}, writer).json()["active"] is True
    assert api.get(detail, api.make_token("rival")).status_code == 403
    assert api.get(EVENTS + f"democon/subevents/{created['id']}/").status_code == 404


def test_list_last_modified(api, series):
    stamp = api.get(DATES).headers["last-modified"]
    assert api.get(DATES, headers={"If-Modified-Since": stamp}).status_code == 304
    create(api)
    fresh = api.get(DATES, headers={"If-Modified-Since": "Thu, 01 Jan 2015 00:00:00 GMT"})
    assert fresh.status_code == 200 and fresh.json()["count"] == 1


def test_deleting_a_date_takes_its_quotas(api, series):
    created = create(api)
    with api.kernel.db.session() as session:
        event = session.scalar(select(Event).where(Event.slug == "series"))
        session.add(Quota(event=event, name="Day 1", size=10, subevent_id=created["id"]))
    assert api.delete(DATES + f"{created['id']}/").status_code == 204
    with api.kernel.db.session() as session:
        assert session.scalars(select(Quota).where(Quota.name == "Day 1")).all() == []


def test_clone_copies_dates_and_overrides(api, series):
    created = create(
        api,
        item_price_overrides=[{"item": series["item"], "price": "9.00"}],
        variation_price_overrides=[{"variation": series["variations"][0], "price": "4.00"}],
        seat_category_mapping={"Stalls": series["item"]},
        meta_data={"Track": "A"},
    )
    cloned = api.post(EVENTS + "series/clone/", {"slug": "series2", "date_from": "2032-06-01T10:00:00Z"})
    assert cloned.status_code == 201, cloned.json()
    copies = api.get(EVENTS + "series2/subevents/").json()["results"]
    assert len(copies) == 1
    copy = copies[0]
    assert copy["id"] != created["id"] and copy["event"] == "series2"
    assert copy["name"] == created["name"] and copy["meta_data"] == {"Track": "A"}
    with api.kernel.db.session() as session:
        new_item = session.scalar(select(Item).join(Event).where(Event.slug == "series2"))
        new_variation_ids = [variation.id for variation in new_item.variations]
        assert session.get(SubEvent, copy["id"]) is not None
    assert [o["item"] for o in copy["item_price_overrides"]] == [new_item.id]
    assert copy["item_price_overrides"][0]["price"] == "9.00"
    assert [o["variation"] for o in copy["variation_price_overrides"]] == [new_variation_ids[0]]
    assert copy["seat_category_mapping"] == {"Stalls": new_item.id}
