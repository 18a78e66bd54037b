from sqlalchemy import select

from boxoffice.kernel.models import Event, LogEntry

EVENT = "/api/v1/organizers/demo/events/democon/"
PROPS = EVENT + "item_meta_properties/"
ITEMS = EVENT + "items/"


def make(api, **body):
    response = api.post(PROPS, body)
    assert response.status_code == 201, response.json()
    return response.json()


def test_crud(api):
    created = make(api, name="ref-code", default="abcde", required=True, allowed_values=None)
    assert created == {
        "id": created["id"],
        "name": "ref-code",
        "default": "abcde",
        "required": True,
        "allowed_values": None,
    }
    detail = PROPS + f"{created['id']}/"
    assert api.get(detail).json() == created
    assert api.get(PROPS).json()["results"] == [created]
    patched = api.patch(detail, {"required": False})
    assert patched.status_code == 200 and patched.json()["required"] is False and patched.json()["default"] == "abcde"
    replaced = api.put(detail, {"name": "color", "allowed_values": ["red", "green"]})
    assert replaced.json() == {
        "id": created["id"], "name": "color", "default": "", "required": False, "allowed_values": ["red", "green"],
    }  # fmt: skip
    assert api.delete(detail).status_code == 204
    assert api.get(detail).status_code == 404
    with api.kernel.db.session() as session:
        logged = [e.action_type for e in session.scalars(select(LogEntry).order_by(LogEntry.id))][-4:]
    assert logged == [
        "boxoffice.event.item_meta_property.added", "boxoffice.event.item_meta_property.changed",
        "boxoffice.event.item_meta_property.changed", "boxoffice.event.item_meta_property.deleted",
    ]  # fmt: skip


def test_validation(api):
    make(api, name="Color")
    assert api.post(PROPS, {}).json() == {"name": ["This field is required."]}
    assert "name" in api.post(PROPS, {"name": "color"}).json()  # names are unique regardless of case
    assert "name" in api.post(PROPS, {"name": "x" * 51}).json()
    assert "name" in api.post(PROPS, {"name": "  "}).json()
    assert "default" in api.post(PROPS, {"name": "size", "default": "XL", "allowed_values": ["S", "M"]}).json()
    assert "allowed_values" in api.post(PROPS, {"name": "size", "allowed_values": ["S", "S"]}).json()
    assert api.post(PROPS, {"name": "size", "required": "yes"}).status_code == 400
    assert api.post(PROPS, {"name": "size", "allowed_values": [1, 2]}).status_code == 400


def test_item_meta_data_is_validated_and_stored_by_property(api):
    color = make(api, name="color", allowed_values=["red", "green"])
    make(api, name="code", required=True)
    item = api.post(ITEMS, {"name": {"en": "X"}, "default_price": "1.00", "meta_data": {"color": "red"}})
    assert item.status_code == 400 and item.json()["meta_data"] == ['A value for "code" is required.']
    bad = api.post(ITEMS, {"name": {"en": "X"}, "default_price": "1.00", "meta_data": {"color": "blue", "code": "1"}})
    assert bad.status_code == 400 and "meta_data" in bad.json()
    created = api.post(
        ITEMS,
        {"name": {"en": "X"}, "default_price": "1.00", "meta_data": {"color": "red", "code": "A1"},
         "variations": [{"value": {"en": "S"}, "meta_data": {"color": "green"}}]},
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    item = created.json()
    assert item["meta_data"] == {"color": "red", "code": "A1"}
    assert item["variations"][0]["meta_data"] == {"color": "green"}
    # Renaming a property keeps the values items carry.
    api.patch(PROPS + f"{color['id']}/", {"name": "colour"})
    renamed = api.get(ITEMS + f"{item['id']}/").json()
    assert renamed["meta_data"] == {"colour": "red", "code": "A1"}
    assert renamed["variations"][0]["meta_data"] == {"colour": "green"}
    # Deleting it removes the values.
    assert api.delete(PROPS + f"{color['id']}/").status_code == 204
    after = api.get(ITEMS + f"{item['id']}/").json()
    assert after["meta_data"] == {"code": "A1"} and after["variations"][0]["meta_data"] == {}


def test_event_summary_follows_the_properties(api):
    prop = make(api, name="cost-center", default="42")
    assert api.get(EVENT).json()["item_meta_properties"] == {"cost-center": "42"}
    api.patch(PROPS + f"{prop['id']}/", {"default": "7"})
    assert api.get(EVENT).json()["item_meta_properties"] == {"cost-center": "7"}
    api.delete(PROPS + f"{prop['id']}/")
    assert api.get(EVENT).json()["item_meta_properties"] == {}


def test_scoping_and_permissions(api):
    prop = make(api, name="color")
    assert api.get(f"/api/v1/organizers/demo/events/other/item_meta_properties/{prop['id']}/").status_code == 404
    assert api.get(PROPS + "999999/").status_code == 404
    reader = api.make_token(event_permissions=(), organizer_permissions=())
    assert api.get(PROPS, reader).status_code == 200
    assert api.post(PROPS, {"name": "size"}, reader).status_code == 403
    assert api.patch(PROPS + f"{prop['id']}/", {"required": True}, reader).status_code == 403
    assert api.delete(PROPS + f"{prop['id']}/", reader).status_code == 403
    assert api.get(PROPS, api.make_token("rival")).status_code == 403


def test_clone_copies_properties_and_values(api):
    make(api, name="color")
    item = api.get(ITEMS).json()["results"][0]["id"]
    api.patch(ITEMS + f"{item}/", {"meta_data": {"color": "red"}})
    assert api.post(EVENT + "clone/", {"slug": "copy"}).status_code == 201
    copied = api.get("/api/v1/organizers/demo/events/copy/item_meta_properties/").json()["results"]
    assert [p["name"] for p in copied] == ["color"]
    assert api.get("/api/v1/organizers/demo/events/copy/items/").json()["results"][0]["meta_data"] == {"color": "red"}
    with api.kernel.db.session() as session:
        assert session.scalar(select(Event.item_meta_properties).where(Event.slug == "copy")) == {"color": ""}
