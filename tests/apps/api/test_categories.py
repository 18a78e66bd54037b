from decimal import Decimal

from sqlalchemy import select

from boxoffice.kernel.models import Event, Item, LogEntry

CATEGORIES = "/api/v1/organizers/demo/events/democon/categories/"
TICKETS = {
    "name": {"en": "Tickets"},
    "internal_name": "",
    "description": {"en": "Tickets are what you need to get in."},
    "position": 1,
    "is_addon": False,
    "cross_selling_mode": None,
    "cross_selling_condition": None,
    "cross_selling_match_products": [],
}


def create(api, **fields):
    response = api.post(CATEGORIES, {**TICKETS, **fields})
    assert response.status_code == 201, response.json()
    return response.json()


def item_id(api, event="democon"):
    with api.kernel.db.session() as session:
        return session.scalar(select(Item.id).join(Event).where(Event.slug == event))


def add_item(api, event="democon", name="Other"):
    with api.kernel.db.session() as session:
        owner = session.scalar(select(Event).where(Event.slug == event))
        item = Item(event=owner, name={"en": name}, default_price=Decimal("10.00"))
        session.add(item)
        session.flush()
        return item.id


def test_crud_round_trip(api):
    created = create(api)
    assert created == {"id": created["id"], **TICKETS}
    detail = CATEGORIES + f"{created['id']}/"
    assert api.get(detail).json() == created
    assert api.get(CATEGORIES).json()["results"] == [created]

    patched = api.patch(detail, {"is_addon": True})
    assert patched.status_code == 200 and patched.json()["is_addon"] is True
    assert patched.json()["description"] == TICKETS["description"]

    replaced = api.put(detail, {"name": {"en": "Merch"}})
    assert replaced.status_code == 200
    assert replaced.json() == {
        "id": created["id"],
        "name": {"en": "Merch"},
        "internal_name": None,
        "description": None,
        "position": 0,
        "is_addon": False,
        "cross_selling_mode": None,
        "cross_selling_condition": None,
        "cross_selling_match_products": [],
    }
    assert api.delete(detail).status_code == 204
    assert api.get(detail).status_code == 404
    with api.kernel.db.session() as session:
        entries = session.scalars(
            select(LogEntry).where(LogEntry.object_type == "itemcategory").order_by(LogEntry.id)
        ).all()
    assert [entry.action_type for entry in entries] == [
        "boxoffice.event.category.added",
        "boxoffice.event.category.changed",
        "boxoffice.event.category.changed",
        "boxoffice.event.category.deleted",
    ]
    assert entries[1].data == {"is_addon": True}


def test_cross_selling(api):
    ticket = item_id(api)
    created = create(
        api, cross_selling_mode="both", cross_selling_condition="products", cross_selling_match_products=[ticket]
    )
    assert created["cross_selling_match_products"] == [ticket]
    detail = CATEGORIES + f"{created['id']}/"
    # Switching cross-selling on without a condition means "always".
    other = create(api, cross_selling_mode="only")
    assert other["cross_selling_condition"] == "always"

    foreign = add_item(api, event="other")
    response = api.patch(detail, {"cross_selling_match_products": [ticket, foreign]})
    assert response.status_code == 400
    assert "cross_selling_match_products" in response.json()
    assert api.patch(detail, {"cross_selling_match_products": []}).status_code == 400  # "products" needs some
    assert api.patch(detail, {"cross_selling_mode": "sometimes"}).json().keys() == {"cross_selling_mode"}
    assert api.patch(detail, {"cross_selling_condition": "never"}).json().keys() == {"cross_selling_condition"}
    # Add-on categories are never cross-sold.
    assert "cross_selling_mode" in api.patch(detail, {"is_addon": True}).json()
    switched = api.patch(detail, {"is_addon": True, "cross_selling_mode": None})
    assert switched.status_code == 200 and switched.json()["cross_selling_mode"] is None


def test_validation(api):
    response = api.post(CATEGORIES, {"internal_name": "x" * 256, "position": 2**31})
    assert response.status_code == 400
    assert set(response.json()) == {"name", "internal_name", "position"}
    assert set(api.post(CATEGORIES, {"name": {"en": "x"}, "description": "text"}).json()) == {"description"}
    assert api.post(CATEGORIES, {"name": {}}).json() == {"name": ["This field may not be blank."]}
    assert api.post(CATEGORIES, {"name": {"en": "x"}, "position": "first"}).status_code == 400
    assert set(api.post(CATEGORIES, {"name": {"en": "x"}, "internal_name": "\u0000"}).json()) == {"internal_name"}
    created = create(api)
    assert api.put(CATEGORIES + f"{created['id']}/", {"position": 3}).json() == {"name": ["This field is required."]}


def test_filters_and_ordering(api):
    first = create(api, name={"en": "A"}, position=2)
    second = create(api, name={"en": "B"}, position=1, is_addon=True)
    assert [c["id"] for c in api.get(CATEGORIES).json()["results"]] == [second["id"], first["id"]]
    assert [c["id"] for c in api.get(CATEGORIES + "?ordering=id").json()["results"]] == [first["id"], second["id"]]
    assert [c["id"] for c in api.get(CATEGORIES + "?ordering=-position").json()["results"]] == [
        first["id"],
        second["id"],
    ]
    assert [c["id"] for c in api.get(CATEGORIES + "?is_addon=true").json()["results"]] == [second["id"]]
    assert [c["id"] for c in api.get(CATEGORIES + "?is_addon=false").json()["results"]] == [first["id"]]
    assert api.get(CATEGORIES + "?is_addon=yes").status_code == 400


def test_deleting_keeps_the_items(api):
    category = create(api)
    ticket = item_id(api)
    with api.kernel.db.session() as session:
        session.get(Item, ticket).category_id = category["id"]
    assert api.delete(CATEGORIES + f"{category['id']}/").status_code == 204
    with api.kernel.db.session() as session:
        item = session.get(Item, ticket)
        assert item is not None and item.category_id is None


def test_permissions_and_scoping(api):
    category = create(api)
    detail = CATEGORIES + f"{category['id']}/"
    reader = api.make_token(event_permissions=("event.settings.tax:write",), organizer_permissions=())
    assert api.get(detail, reader).status_code == 200
    assert api.post(CATEGORIES, TICKETS, reader).status_code == 403
    assert api.patch(detail, {"position": 3}, reader).status_code == 403
    assert api.delete(detail, reader).status_code == 403
    limited = api.make_token(all_events=False, events=("other",))
    assert api.get(CATEGORIES, limited).status_code == 403
    assert api.get(CATEGORIES, api.make_token("rival")).status_code == 403
    assert api.get(f"/api/v1/organizers/demo/events/other/categories/{category['id']}/").status_code == 404
    assert api.delete(CATEGORIES + "424242/").status_code == 404


def test_list_last_modified(api):
    stamp = api.get(CATEGORIES).headers["last-modified"]
    assert api.get(CATEGORIES, headers={"If-Modified-Since": stamp}).status_code == 304
    create(api)
    fresh = api.get(CATEGORIES, headers={"If-Modified-Since": "Thu, 01 Jan 2015 00:00:00 GMT"})
    assert fresh.status_code == 200 and fresh.json()["count"] == 1


def test_clone_copies_categories_and_matched_products(api):
    ticket = item_id(api)
    create(api, cross_selling_mode="both", cross_selling_condition="products", cross_selling_match_products=[ticket])
    cloned = api.post(
        "/api/v1/organizers/demo/events/democon/clone/", {"slug": "catclone", "date_from": "2032-01-01T00:00:00Z"}
    )
    assert cloned.status_code == 201, cloned.json()
    copies = api.get("/api/v1/organizers/demo/events/catclone/categories/").json()["results"]
    assert [copy["name"] for copy in copies] == [{"en": "Tickets"}]
    copied_ticket = item_id(api, "catclone")
    assert copied_ticket is not None and copied_ticket != ticket
    assert copies[0]["cross_selling_match_products"] == [copied_ticket]
