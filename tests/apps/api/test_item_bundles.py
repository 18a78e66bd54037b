from sqlalchemy import select

from boxoffice.kernel.models import LogEntry

ITEMS = "/api/v1/organizers/demo/events/democon/items/"


def make_item(api, name, event="democon", **extra):
    response = api.post(
        f"/api/v1/organizers/demo/events/{event}/items/", {"name": {"en": name}, "default_price": "10.00", **extra}
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_crud(api):
    base = make_item(api, "Package")
    included = make_item(api, "Drink voucher")
    url = ITEMS + f"{base['id']}/bundles/"
    created = api.post(url, {"bundled_item": included["id"], "count": 2, "designated_price": "1.5"})
    assert created.status_code == 201, created.json()
    bundle = created.json()
    assert bundle == {
        "id": bundle["id"], "bundled_item": included["id"], "bundled_variation": None, "count": 2,
        "designated_price": "1.50",
    }  # fmt: skip
    detail = url + f"{bundle['id']}/"
    assert api.get(detail).json() == bundle
    assert api.get(url).json()["results"] == [bundle]
    assert api.patch(detail, {"count": 3}).json()["count"] == 3
    replaced = api.put(detail, {"bundled_item": included["id"]})
    assert replaced.json()["count"] == 1 and replaced.json()["designated_price"] == "0.00"
    assert api.get(ITEMS + f"{base['id']}/").json()["bundles"] == [
        {"bundled_item": included["id"], "bundled_variation": None, "count": 1, "designated_price": "0.00"}
    ]
    assert api.delete(detail).status_code == 204
    assert api.get(detail).status_code == 404
    with api.kernel.db.session() as session:
        logged = [e.action_type for e in session.scalars(select(LogEntry).order_by(LogEntry.id))][-4:]
    assert logged == [
        "boxoffice.event.item.bundles.added", "boxoffice.event.item.bundles.changed",
        "boxoffice.event.item.bundles.changed", "boxoffice.event.item.bundles.deleted",
    ]  # fmt: skip


def test_variations_of_the_bundled_item(api):
    base = make_item(api, "Package")
    shirt = make_item(api, "Shirt", variations=[{"value": {"en": "S"}}, {"value": {"en": "M"}}])
    plain = make_item(api, "Plain")
    other_shirt = make_item(api, "Other shirt", variations=[{"value": {"en": "L"}}])
    url = ITEMS + f"{base['id']}/bundles/"
    assert "bundled_variation" in api.post(url, {"bundled_item": shirt["id"]}).json()
    foreign_variation = other_shirt["variations"][0]["id"]
    assert (
        "bundled_variation"
        in api.post(url, {"bundled_item": shirt["id"], "bundled_variation": foreign_variation}).json()
    )
    assert (
        "bundled_variation"
        in api.post(url, {"bundled_item": plain["id"], "bundled_variation": foreign_variation}).json()
    )
    ok = api.post(url, {"bundled_item": shirt["id"], "bundled_variation": shirt["variations"][1]["id"]})
    assert ok.status_code == 201 and ok.json()["bundled_variation"] == shirt["variations"][1]["id"]
    # Switching to an item without variations needs the variation cleared in the same request.
    detail = url + f"{ok.json()['id']}/"
    assert api.patch(detail, {"bundled_item": plain["id"]}).status_code == 400
    assert api.patch(detail, {"bundled_item": plain["id"], "bundled_variation": None}).status_code == 200


def test_validation(api):
    base = make_item(api, "Package")
    foreign = make_item(api, "Elsewhere", event="other")
    url = ITEMS + f"{base['id']}/bundles/"
    assert api.post(url, {}).json() == {"bundled_item": ["This field is required."]}
    assert "bundled_item" in api.post(url, {"bundled_item": base["id"]}).json()
    assert "bundled_item" in api.post(url, {"bundled_item": foreign["id"]}).json()
    included = make_item(api, "Included")
    bad = api.post(url, {"bundled_item": included["id"], "count": 0, "designated_price": "-3"})
    assert set(bad.json()) == {"count", "designated_price"}
    huge = api.post(url, {"bundled_item": included["id"], "count": 2**40, "designated_price": "1e30"})
    assert set(huge.json()) == {"count", "designated_price"}
    assert api.post(url, {"bundled_item": included["id"], "designated_price": None}).status_code == 400


def test_scoping_and_permissions(api):
    base = make_item(api, "Package")
    included = make_item(api, "Included")
    url = ITEMS + f"{base['id']}/bundles/"
    bundle = api.post(url, {"bundled_item": included["id"]}).json()
    assert api.get(ITEMS + f"{included['id']}/bundles/{bundle['id']}/").status_code == 404
    reader = api.make_token(event_permissions=(), organizer_permissions=())
    assert api.get(url, reader).status_code == 200
    assert api.post(url, {"bundled_item": included["id"]}, reader).status_code == 403
    assert api.patch(url + f"{bundle['id']}/", {"count": 2}, reader).status_code == 403
    assert api.delete(url + f"{bundle['id']}/", reader).status_code == 403
    assert api.get(url, api.make_token("rival")).status_code == 403


def test_clone_points_bundles_at_the_copies(api):
    base = make_item(api, "Package")
    shirt = make_item(api, "Shirt", variations=[{"value": {"en": "S"}}])
    api.post(
        ITEMS + f"{base['id']}/bundles/",
        {"bundled_item": shirt["id"], "bundled_variation": shirt["variations"][0]["id"]},
    )
    assert api.post("/api/v1/organizers/demo/events/democon/clone/", {"slug": "copy"}).status_code == 201
    copies = {i["name"]["en"]: i for i in api.get("/api/v1/organizers/demo/events/copy/items/").json()["results"]}
    bundle = copies["Package"]["bundles"][0]
    assert bundle["bundled_item"] == copies["Shirt"]["id"] != shirt["id"]
    assert bundle["bundled_variation"] == copies["Shirt"]["variations"][0]["id"]
