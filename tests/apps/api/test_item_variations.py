from sqlalchemy import select

from boxoffice.kernel.models import LogEntry

ITEMS = "/api/v1/organizers/demo/events/democon/items/"
VARIATION_FIELDS = {
    "id", "value", "active", "checkin_attention", "checkin_text", "require_approval", "require_membership",
    "require_membership_hidden", "require_membership_types", "all_sales_channels", "limit_sales_channels",
    "sales_channels", "available_from", "available_from_mode", "available_until", "available_until_mode",
    "hide_without_voucher", "description", "position", "default_price", "price", "original_price",
    "free_price_suggestion", "meta_data",
}  # fmt: skip


def shirt(api, **extra):
    body = {
        "name": {"en": "Shirt"},
        "default_price": "20.00",
        "variations": [{"value": {"en": "S"}, "position": 0}, {"value": {"en": "M"}, "position": 1}],
        **extra,
    }
    created = api.post(ITEMS, body)
    assert created.status_code == 201, created.json()
    return created.json()


def last_log(api):
    with api.kernel.db.session() as session:
        entry = session.scalars(select(LogEntry).order_by(LogEntry.id.desc())).first()
        return entry.action_type, entry.object_type, entry.data


def test_list_detail_and_price(api):
    item = shirt(api)
    url = ITEMS + f"{item['id']}/variations/"
    body = api.get(url).json()
    assert body["count"] == 2
    first = body["results"][0]
    assert set(first) == VARIATION_FIELDS
    assert first["default_price"] is None and first["price"] == "20.00"
    assert api.get(url + f"{first['id']}/").json() == first


def test_create_patch_put_delete(api):
    item = shirt(api)
    url = ITEMS + f"{item['id']}/variations/"
    created = api.post(
        url,
        {"value": {"en": "XL"}, "default_price": "24.00", "position": 2, "description": {"en": "Large"},
         "all_sales_channels": False, "limit_sales_channels": ["web"], "available_from": "2031-01-01T00:00:00Z"},
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    variation = created.json()
    assert variation["price"] == "24.00" and variation["sales_channels"] == ["web"]
    action, object_type, data = last_log(api)
    assert (action, object_type) == ("boxoffice.event.item.variation.added", "item")
    assert data["id"] == variation["id"] and data["default_price"] == "24.00" and data["value"] == {"en": "XL"}
    detail = url + f"{variation['id']}/"
    patched = api.patch(detail, {"active": False, "default_price": None, "price": "1.00"})
    assert patched.status_code == 200
    assert patched.json()["active"] is False and patched.json()["price"] == "20.00"  # price is derived
    action, _, data = last_log(api)
    assert action == "boxoffice.event.item.variation.changed" and data == {
        "id": variation["id"], "active": False, "default_price": None,
    }  # fmt: skip
    replaced = api.put(detail, {"value": {"en": "XXL"}})
    assert replaced.status_code == 200
    assert replaced.json()["description"] is None and replaced.json()["all_sales_channels"] is True
    assert api.put(detail, {"position": 1}).json() == {"value": ["This field is required."]}
    assert api.delete(detail).status_code == 204
    assert api.get(detail).status_code == 404
    assert api.get(ITEMS + f"{item['id']}/").json()["variations"][-1]["value"] == {"en": "M"}


def test_variations_only_for_items_with_variations(api):
    plain = api.post(ITEMS, {"name": {"en": "Plain"}, "default_price": "1.00"}).json()
    response = api.post(ITEMS + f"{plain['id']}/variations/", {"value": {"en": "S"}})
    assert response.status_code == 400 and "non_field_errors" in response.json()


def test_last_variation_cannot_be_deleted(api):
    item = api.post(
        ITEMS, {"name": {"en": "One"}, "default_price": "1.00", "variations": [{"value": {"en": "Only"}}]}
    ).json()
    only = item["variations"][0]["id"]
    response = api.delete(ITEMS + f"{item['id']}/variations/{only}/")
    assert response.status_code == 403
    assert api.get(ITEMS + f"{item['id']}/variations/{only}/").status_code == 200


def test_validation(api):
    item = shirt(api, all_sales_channels=False, limit_sales_channels=[])
    url = ITEMS + f"{item['id']}/variations/"
    response = api.post(
        url,
        {"value": {"en": ""}, "default_price": "12.345", "available_from_mode": "never",
         "limit_sales_channels": ["web"], "all_sales_channels": False, "meta_data": {"nope": "1"},
         "position": 2**33, "checkin_text": "x" * 5000},
    )  # fmt: skip
    assert response.status_code == 400
    assert set(response.json()) == {
        "value", "default_price", "available_from_mode", "limit_sales_channels", "meta_data", "position",
        "checkin_text",
    }  # fmt: skip
    wrong_type = api.post(url, {"value": {"en": "S"}, "active": "sure"})
    assert wrong_type.status_code == 400 and "active" in wrong_type.json()
    detail = url + f"{item['variations'][0]['id']}/"
    dates = api.patch(detail, {"available_from": "2031-02-01T00:00:00Z", "available_until": "2031-01-01T00:00:00Z"})
    assert dates.status_code == 400 and "available_until" in dates.json()


def test_narrowing_item_channels_checks_variations(api):
    item = shirt(api)
    variation = item["variations"][0]["id"]
    api.patch(
        ITEMS + f"{item['id']}/variations/{variation}/", {"all_sales_channels": False, "limit_sales_channels": ["web"]}
    )
    response = api.patch(ITEMS + f"{item['id']}/", {"all_sales_channels": False, "limit_sales_channels": []})
    assert response.status_code == 400 and "limit_sales_channels" in response.json()


def test_filters(api):
    item = shirt(api)
    url = ITEMS + f"{item['id']}/variations/"
    api.patch(url + f"{item['variations'][0]['id']}/", {"active": False})
    assert [v["value"]["en"] for v in api.get(url + "?active=true").json()["results"]] == ["M"]
    assert [v["value"]["en"] for v in api.get(url + "?active=false").json()["results"]] == ["S"]
    assert [v["value"]["en"] for v in api.get(url + "?search=m").json()["results"]] == ["M"]
    assert api.get(url + "?active=perhaps").status_code == 400


def test_scoping_and_permissions(api):
    item = shirt(api)
    other = shirt(api)
    url = ITEMS + f"{item['id']}/variations/"
    foreign = other["variations"][0]["id"]
    assert api.get(url + f"{foreign}/").status_code == 404
    assert api.patch(url + f"{foreign}/", {"active": False}).status_code == 404
    assert api.get(ITEMS + "999999/variations/").status_code == 404
    reader = api.make_token(event_permissions=(), organizer_permissions=())
    assert api.get(url, reader).status_code == 200
    assert api.post(url, {"value": {"en": "L"}}, reader).status_code == 403
    assert api.patch(url + f"{item['variations'][0]['id']}/", {"active": False}, reader).status_code == 403
    assert api.delete(url + f"{item['variations'][0]['id']}/", reader).status_code == 403
    rival = api.make_token("rival")
    assert api.get(url, rival).status_code == 403


def test_variation_changes_update_the_item_list(api):
    item = shirt(api)
    stamp = api.get(ITEMS).headers["last-modified"]
    assert api.get(ITEMS, headers={"If-Modified-Since": stamp}).status_code == 304
    api.post(ITEMS + f"{item['id']}/variations/", {"value": {"en": "L"}})
    # Markers have second resolution: compare against a moment before the change.
    response = api.get(ITEMS, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert response.status_code == 200
    assert len(response.json()["results"][-1]["variations"]) == 3
