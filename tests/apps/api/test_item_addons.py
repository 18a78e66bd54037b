from sqlalchemy import insert, select

from boxoffice.kernel.db import Base
from boxoffice.kernel.models import Event, LogEntry

ITEMS = "/api/v1/organizers/demo/events/democon/items/"


def add_category(api, slug="democon"):
    """A category row written directly (categories are another area)."""
    with api.kernel.db.session() as session:
        event = session.scalar(select(Event.id).where(Event.slug == slug))
        table = Base.metadata.tables["item_category"]
        return session.execute(insert(table).values(event_id=event, name={"en": "Extras"})).inserted_primary_key[0]


def base_url(api):
    item = api.get(ITEMS).json()["results"][0]["id"]
    return ITEMS + f"{item}/addons/", item


def test_crud(api):
    category, second = add_category(api), add_category(api)
    url, item = base_url(api)
    created = api.post(url, {"addon_category": category, "max_count": 3, "multi_allowed": True, "position": 2})
    assert created.status_code == 201, created.json()
    addon = created.json()
    assert addon == {
        "id": addon["id"], "addon_category": category, "min_count": 0, "max_count": 3, "position": 2,
        "multi_allowed": True, "price_included": False,
    }  # fmt: skip
    detail = url + f"{addon['id']}/"
    assert api.get(detail).json() == addon
    assert api.get(url).json()["results"] == [addon]
    patched = api.patch(detail, {"min_count": 1, "price_included": True})
    assert patched.status_code == 200 and patched.json()["min_count"] == 1 and patched.json()["max_count"] == 3
    replaced = api.put(detail, {"addon_category": second})
    assert replaced.status_code == 200
    assert replaced.json() == {
        "id": addon["id"], "addon_category": second, "min_count": 0, "max_count": 1, "position": 0,
        "multi_allowed": False, "price_included": False,
    }  # fmt: skip
    inline = api.get(ITEMS + f"{item}/").json()["addons"]
    assert inline == [{k: v for k, v in replaced.json().items() if k != "id"}]
    assert api.delete(detail).status_code == 204
    assert api.get(detail).status_code == 404
    with api.kernel.db.session() as session:
        logged = [e.action_type for e in session.scalars(select(LogEntry).order_by(LogEntry.id))][-4:]
    assert logged == [
        "boxoffice.event.item.addons.added", "boxoffice.event.item.addons.changed",
        "boxoffice.event.item.addons.changed", "boxoffice.event.item.addons.deleted",
    ]  # fmt: skip


def test_validation(api):
    category = add_category(api)
    foreign = add_category(api, slug="other")
    url, _ = base_url(api)
    assert api.post(url, {}).json() == {"addon_category": ["This field is required."]}
    assert "addon_category" in api.post(url, {"addon_category": foreign}).json()
    assert "addon_category" in api.post(url, {"addon_category": 2**40}).json()
    bad = api.post(url, {"addon_category": category, "min_count": 3, "max_count": 1})
    assert bad.status_code == 400 and "max_count" in bad.json()
    negative = api.post(url, {"addon_category": category, "min_count": -1, "position": 2**35})
    assert set(negative.json()) == {"min_count", "position"}
    assert api.post(url, {"addon_category": "one"}).status_code == 400
    first = api.post(url, {"addon_category": category})
    assert first.status_code == 201
    duplicate = api.post(url, {"addon_category": category})
    assert duplicate.status_code == 400 and "addon_category" in duplicate.json()
    # Changing a slot to the category it already has is fine.
    assert api.patch(url + f"{first.json()['id']}/", {"addon_category": category}).status_code == 200
    assert api.patch(url + f"{first.json()['id']}/", {"min_count": 5}).status_code == 400


def test_scoping_and_permissions(api):
    category = add_category(api)
    url, _ = base_url(api)
    addon = api.post(url, {"addon_category": category}).json()
    other_item = api.post(ITEMS, {"name": {"en": "Other"}, "default_price": "1.00"}).json()["id"]
    assert api.get(ITEMS + f"{other_item}/addons/{addon['id']}/").status_code == 404
    assert api.get(ITEMS + "999999/addons/").status_code == 404
    reader = api.make_token(event_permissions=(), organizer_permissions=())
    assert api.get(url, reader).status_code == 200
    assert api.post(url, {"addon_category": category}, reader).status_code == 403
    assert api.patch(url + f"{addon['id']}/", {"max_count": 2}, reader).status_code == 403
    assert api.delete(url + f"{addon['id']}/", reader).status_code == 403
    assert api.get(url, api.make_token("rival")).status_code == 403


def test_deleting_the_category_removes_the_slot(api):
    category = add_category(api)
    url, _ = base_url(api)
    api.post(url, {"addon_category": category})
    with api.kernel.db.session() as session:
        table = Base.metadata.tables["item_category"]
        session.execute(table.delete().where(table.c.id == category))
    assert api.get(url).json()["count"] == 0


def test_clone_translates_the_category(api):
    category = add_category(api)
    url, _ = base_url(api)
    api.post(url, {"addon_category": category, "max_count": 4})
    assert api.post("/api/v1/organizers/demo/events/democon/clone/", {"slug": "copy"}).status_code == 201
    copied = api.get("/api/v1/organizers/demo/events/copy/items/").json()["results"][0]
    assert copied["addons"][0]["max_count"] == 4
    assert copied["addons"][0]["addon_category"] != category
