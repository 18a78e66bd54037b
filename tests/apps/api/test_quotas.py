from datetime import UTC, datetime

from sqlalchemy import insert, select

from boxoffice.kernel.db import Base
from boxoffice.kernel.models import Event, Item, LogEntry, Quota
from boxoffice.kernel.models.vouchers import Voucher

EVENT = "/api/v1/organizers/demo/events/democon/"
QUOTAS = EVENT + "quotas/"
# The keys of a quota in a recorded response from a real pretix server.
REAL_KEYS = {
    "id",
    "name",
    "size",
    "items",
    "variations",
    "subevent",
    "closed",
    "close_when_sold_out",
    "release_after_exit",
    "ignore_for_event_availability",
}
AVAILABILITY_KEYS = {
    "available",
    "available_number",
    "total_size",
    "pending_orders",
    "paid_orders",
    "exited_orders",
    "cart_positions",
    "blocking_vouchers",
    "waiting_list",
}


def seeded(api, event="democon"):
    """Ids of the seeded ticket item and quota (ids differ between backends and runs)."""
    with api.kernel.db.session() as session:
        item = session.scalar(select(Item.id).join(Event).where(Event.slug == event))
        quota = session.scalar(select(Quota.id).join(Event).where(Event.slug == event))
        return item, quota


def add_item(api, event="democon", name="Shirt"):
    with api.kernel.db.session() as session:
        owner = session.scalar(select(Event).where(Event.slug == event))
        item = Item(event=owner, name={"en": name})
        session.add(item)
        session.flush()
        return item.id


def add_variation(api, item_id, value="S"):
    with api.kernel.db.session() as session:
        table = Base.metadata.tables["item_variation"]
        return session.execute(insert(table).values(item_id=item_id, value={"en": value})).inserted_primary_key[0]


def add_subevent(api, event_slug):
    with api.kernel.db.session() as session:
        event_id = session.scalar(select(Event.id).where(Event.slug == event_slug))
        table = Base.metadata.tables["subevent"]
        values = {"event_id": event_id, "name": {"en": "Day"}, "date_from": datetime(2031, 5, 2, tzinfo=UTC)}
        return session.execute(insert(table).values(**values)).inserted_primary_key[0]


def make_series(api, slug="series"):
    body = {
        "name": {"en": "Series"},
        "slug": slug,
        "currency": "EUR",
        "date_from": "2031-01-01T00:00:00Z",
        "has_subevents": True,
    }
    assert api.post("/api/v1/organizers/demo/events/", body).status_code == 201
    return f"/api/v1/organizers/demo/events/{slug}/quotas/"


def actions(api):
    with api.kernel.db.session() as session:
        return [e.action_type for e in session.scalars(select(LogEntry).order_by(LogEntry.id))]


def test_list_has_the_real_servers_shape(api):
    item, quota = seeded(api)
    body = api.get(QUOTAS).json()
    assert body["count"] == 1 and body["next"] is None
    (row,) = body["results"]
    assert set(row) == REAL_KEYS
    assert row == {
        "id": quota,
        "name": "Tickets",
        "size": 100,
        "items": [item],
        "variations": [],
        "subevent": None,
        "closed": False,
        "close_when_sold_out": False,
        "release_after_exit": False,
        "ignore_for_event_availability": False,
    }
    assert api.get(QUOTAS + f"{quota}/").json() == row


def test_create_update_replace_delete(api):
    item, _ = seeded(api)
    shirt = add_item(api)
    small, large = add_variation(api, shirt, "S"), add_variation(api, shirt, "L")
    body = {"name": "Mixed", "size": 20, "items": [item, shirt], "variations": [small], "close_when_sold_out": True}
    created = api.post(QUOTAS, body)
    assert created.status_code == 201, created.json()
    quota = created.json()
    assert quota["items"] == sorted([item, shirt]) and quota["variations"] == [small]
    assert quota["close_when_sold_out"] is True and quota["closed"] is False
    url = QUOTAS + f"{quota['id']}/"
    assert api.get(url).json() == quota

    patched = api.patch(url, {"size": None, "variations": [small, large], "release_after_exit": True})
    assert patched.status_code == 200, patched.json()
    assert patched.json()["size"] is None
    assert patched.json()["variations"] == sorted([small, large])
    assert patched.json()["name"] == "Mixed" and patched.json()["release_after_exit"] is True

    replaced = api.put(url, {"name": "Only tickets", "items": [item]})
    assert replaced.status_code == 200, replaced.json()
    assert replaced.json() == {
        **quota,
        "name": "Only tickets",
        "size": None,
        "items": [item],
        "variations": [],
        "close_when_sold_out": False,
    }

    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404
    assert actions(api)[-4:] == [
        "boxoffice.event.quota.added",
        "boxoffice.event.quota.changed",
        "boxoffice.event.quota.changed",
        "boxoffice.event.quota.deleted",
    ]


def test_validation(api):
    item, quota = seeded(api)
    missing = api.post(QUOTAS, {"size": -1})
    assert missing.status_code == 400
    assert set(missing.json()) == {"name", "size"}
    assert api.post(QUOTAS, {"name": "x" * 201}).json()["name"]
    assert "size" in api.post(QUOTAS, {"name": "Huge", "size": 2**40}).json()
    assert "size" in api.post(QUOTAS, {"name": "Typed", "size": "many"}).json()

    other_item = add_item(api, event="other")
    foreign = api.post(QUOTAS, {"name": "Foreign", "items": [other_item, 999999]})
    assert foreign.status_code == 400
    assert len(foreign.json()["items"]) == 2

    shirt = add_item(api)
    small = add_variation(api, shirt)
    not_in_items = api.post(QUOTAS, {"name": "V", "items": [item], "variations": [small]})
    assert "variations" in not_in_items.json()
    no_variation = api.post(QUOTAS, {"name": "V", "items": [shirt]})
    assert no_variation.status_code == 400 and "variations" in no_variation.json()

    no_series = api.post(QUOTAS, {"name": "S", "subevent": 1})
    assert no_series.status_code == 400 and "subevent" in no_series.json()
    assert api.patch(QUOTAS + f"{quota}/", {"name": ""}).status_code == 400


def test_series_quotas_need_a_date_of_the_same_event(api):
    series = make_series(api)
    date = add_subevent(api, "series")
    make_series(api, "series2")
    other_date = add_subevent(api, "series2")
    assert "subevent" in api.post(series, {"name": "Day"}).json()
    assert "subevent" in api.post(series, {"name": "Day", "subevent": other_date}).json()
    created = api.post(series, {"name": "Day", "subevent": date, "size": 5})
    assert created.status_code == 201 and created.json()["subevent"] == date
    assert api.get(series + f"?subevent={date}").json()["count"] == 1
    assert api.get(series + f"?subevent__in={other_date},{date}").json()["count"] == 1
    assert api.get(series + f"?subevent={other_date}").json()["count"] == 0


def test_permissions_and_scoping(api):
    _, quota = seeded(api)
    reader = api.make_token(event_permissions=("event.orders:read",))
    assert api.get(QUOTAS, reader).status_code == 200
    assert api.get(QUOTAS + f"{quota}/availability/", reader).status_code == 200
    assert api.post(QUOTAS, {"name": "X"}, reader).status_code == 403
    assert api.patch(QUOTAS + f"{quota}/", {"size": 1}, reader).status_code == 403
    assert api.put(QUOTAS + f"{quota}/", {"name": "X"}, reader).status_code == 403
    assert api.delete(QUOTAS + f"{quota}/", reader).status_code == 403

    rival = api.make_token("rival")
    assert api.get(QUOTAS, rival).status_code == 403
    assert api.get(QUOTAS + f"{quota}/", rival).status_code == 403
    # A quota of another event of the same organizer is not found through this event.
    assert api.get(f"/api/v1/organizers/demo/events/other/quotas/{quota}/").status_code == 404
    assert api.get(QUOTAS + "999999/").status_code == 404
    assert api.get(QUOTAS + "999999/availability/").status_code == 404


def test_filters_and_ordering(api):
    item, quota = seeded(api)
    shirt = add_item(api)
    second = api.post(QUOTAS, {"name": "Shirts", "items": [shirt]}).json()["id"]
    assert [q["id"] for q in api.get(QUOTAS + "?ordering=-id").json()["results"]] == [second, quota]
    assert [q["id"] for q in api.get(QUOTAS + f"?items__in={shirt}").json()["results"]] == [second]
    assert api.get(QUOTAS + f"?items__in={shirt},{item}").json()["count"] == 2
    assert api.get(QUOTAS + "?items__in=abc").status_code == 400
    assert api.get(QUOTAS + "?subevent=x").status_code == 400


def test_last_modified_answers_if_modified_since(api):
    first = api.get(QUOTAS)
    stamp = first.headers["last-modified"]
    assert api.get(QUOTAS, headers={"If-Modified-Since": stamp}).status_code == 304
    api.post(QUOTAS, {"name": "New"})
    later = api.get(QUOTAS, headers={"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"})
    assert later.status_code == 200 and later.json()["count"] == 2
    # Availability changes without the list changing, so that variant is never answered with 304.
    assert "last-modified" not in api.get(QUOTAS + "?with_availability=true").headers


def test_availability(api):
    item, quota = seeded(api)
    body = api.get(QUOTAS + f"{quota}/availability/").json()
    assert body == {
        "available": True,
        "available_number": 100,
        "total_size": 100,
        "pending_orders": 0,
        "paid_orders": 0,
        "exited_orders": 0,
        "cart_positions": 0,
        "blocking_vouchers": 0,
        "waiting_list": 0,
    }
    voucher = {"item": item, "block_quota": True, "max_usages": 30}
    assert api.post(EVENT + "vouchers/", voucher).status_code == 201
    blocked = api.get(QUOTAS + f"{quota}/availability/").json()
    assert (blocked["blocking_vouchers"], blocked["available_number"]) == (30, 70)
    listed = api.get(QUOTAS + "?with_availability=true").json()["results"][0]
    assert (listed["available"], listed["available_number"]) == (True, 70)
    detail = api.get(QUOTAS + f"{quota}/?with_availability=true").json()
    assert detail["available_number"] == 70
    assert "available" not in api.get(QUOTAS + f"{quota}/").json()

    unlimited = api.post(QUOTAS, {"name": "Open"}).json()["id"]
    body = api.get(QUOTAS + f"{unlimited}/availability/").json()
    assert set(body) == AVAILABILITY_KEYS
    assert (body["available"], body["available_number"], body["total_size"]) == (True, None, None)

    api.patch(QUOTAS + f"{quota}/", {"closed": True})
    closed = api.get(QUOTAS + f"{quota}/availability/").json()
    assert (closed["available"], closed["available_number"]) == (False, 0)


def test_quota_with_bound_vouchers_cannot_be_deleted(api):
    _, quota = seeded(api)
    with api.kernel.db.session() as session:
        event_id = session.scalar(select(Event.id).where(Event.slug == "democon"))
        session.add(Voucher(event_id=event_id, code="BOUND-1", quota_id=quota))
    response = api.delete(QUOTAS + f"{quota}/")
    assert response.status_code == 403
    assert api.get(QUOTAS + f"{quota}/").status_code == 200


def test_clone_copies_quotas_with_translated_items(api):
    item, _ = seeded(api)
    shirt = add_item(api)
    small = add_variation(api, shirt)
    api.post(QUOTAS, {"name": "Shirts", "size": 7, "items": [shirt], "variations": [small], "closed": True})
    cloned = api.post(EVENT + "clone/", {"slug": "democlone", "date_from": "2032-05-01T09:00:00Z"})
    assert cloned.status_code == 201, cloned.json()
    copies = api.get("/api/v1/organizers/demo/events/democlone/quotas/").json()["results"]
    assert [(q["name"], q["size"], q["closed"]) for q in copies] == [("Tickets", 100, False), ("Shirts", 7, True)]
    new_items = {i for q in copies for i in q["items"]}
    assert len(new_items) == 2 and not new_items & {item, shirt}
    assert len(copies[1]["variations"]) == 1 and copies[1]["variations"] != [small]
    with api.kernel.db.session() as session:
        table = Base.metadata.tables["item_variation"]
        owner = session.scalar(select(table.c.item_id).where(table.c.id == copies[1]["variations"][0]))
    assert owner == copies[1]["items"][0]
