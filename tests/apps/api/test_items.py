from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

from sqlalchemy import insert, select

from boxoffice.apps.api.auth import credentials_key
from boxoffice.kernel import clock
from boxoffice.kernel.db import Base
from boxoffice.kernel.models import Event, Item, LogEntry, Quota
from boxoffice.kernel.models.api_state import UploadedFile
from boxoffice.kernel.models.items import ItemPicture

ITEMS = "/api/v1/organizers/demo/events/democon/items/"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

# The item fields of a real pretix server's response (real-responses/04_items.http).
ITEM_FIELDS = {
    "id", "category", "name", "internal_name", "active", "all_sales_channels", "limit_sales_channels",
    "description", "default_price", "free_price", "free_price_suggestion", "tax_rate", "tax_rule", "admission",
    "personalized", "position", "picture", "available_from", "available_from_mode", "available_until",
    "available_until_mode", "require_voucher", "hide_without_voucher", "allow_cancel", "require_bundling",
    "min_per_order", "max_per_order", "checkin_attention", "checkin_text", "has_variations", "variations",
    "addons", "bundles", "program_times", "original_price", "require_approval", "generate_tickets",
    "show_quota_left", "hidden_if_available", "hidden_if_item_available", "hidden_if_item_available_mode",
    "allow_waitinglist", "issue_giftcard", "meta_data", "require_membership", "require_membership_types",
    "require_membership_hidden", "grant_membership_type", "grant_membership_duration_like_event",
    "grant_membership_duration_days", "grant_membership_duration_months", "validity_mode", "validity_fixed_from",
    "validity_fixed_until", "validity_dynamic_duration_minutes", "validity_dynamic_duration_hours",
    "validity_dynamic_duration_days", "validity_dynamic_duration_months", "validity_dynamic_start_choice",
    "validity_dynamic_start_choice_day_limit", "media_policy", "media_type", "sales_channels",
}  # fmt: skip


def event_id(api, slug="democon", organizer="demo"):
    with api.kernel.db.session() as session:
        return session.scalar(
            select(Event.id).join(Event.organizer).where(Event.slug == slug, Event.organizer.has(slug=organizer))
        )


def add_row(api, table, **values):
    """A row in another area's table (categories, tax rules), written directly."""
    with api.kernel.db.session() as session:
        return session.execute(insert(Base.metadata.tables[table]).values(**values)).inserted_primary_key[0]


def add_category(api, slug="democon", **values):
    return add_row(api, "item_category", event_id=event_id(api, slug), name={"en": "Category"}, **values)


def add_tax_rule(api, rate, slug="democon"):
    return add_row(api, "tax_rule", event_id=event_id(api, slug), name={"en": "VAT"}, rate=Decimal(rate))


def seeded_item_id(api):
    return api.get(ITEMS).json()["results"][0]["id"]


def actions(api):
    with api.kernel.db.session() as session:
        return [entry.action_type for entry in session.scalars(select(LogEntry).order_by(LogEntry.id))]


def upload(
    api,
    content=PNG,
    content_type="image/png",
    token=None,
    age=timedelta(0),
    file_id="3f0c7d5e-0000-4000-8000-00000000abcd",
):
    with api.kernel.db.session() as session:
        session.add(
            UploadedFile(
                id=file_id,
                credentials=credentials_key(f"Token {token or api.token}", None),
                filename="pic.png",
                content_type=content_type,
                content=content,
                created=clock.now() - age,
            )
        )
    return f"file:{file_id}"


def test_list_has_every_spec_field(api):
    response = api.get(ITEMS)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1 and body["next"] is None
    item = body["results"][0]
    assert set(item) == ITEM_FIELDS
    assert item["default_price"] == "35.00" and item["tax_rate"] == "0.00"
    assert item["sales_channels"] == ["web"] and item["all_sales_channels"] is True
    assert item["variations"] == [] and item["has_variations"] is False


def test_create_with_nested_objects_and_detail(api):
    category = add_category(api)
    addon_category = add_category(api, is_addon=True)
    rule = add_tax_rule(api, "19.00")
    ticket = seeded_item_id(api)
    body = {
        "name": {"en": "Conference pass", "de": "Konferenzpass"},
        "internal_name": "pass",
        "default_price": "99.5",
        "category": category,
        "tax_rule": rule,
        "admission": True,
        "description": {"en": "All days"},
        "position": 3,
        "limit_sales_channels": ["web"],
        "all_sales_channels": False,
        "available_from": "2031-01-01T10:00:00+01:00",
        "available_until_mode": "info",
        "min_per_order": 1,
        "max_per_order": 4,
        "checkin_attention": True,
        "checkin_text": "Check ID",
        "original_price": "120.00",
        "validity_mode": "dynamic",
        "validity_dynamic_duration_days": 3,
        "generate_tickets": True,
        "show_quota_left": False,
        "hidden_if_item_available": ticket,
        "variations": [
            {"value": {"en": "Regular"}, "position": 1},
            {
                "value": {"en": "Student"},
                "default_price": "49.00",
                "limit_sales_channels": ["web"],
                "all_sales_channels": False,
            },
        ],
        "addons": [{"addon_category": addon_category, "min_count": 0, "max_count": 2, "price_included": True}],
        "bundles": [{"bundled_item": ticket, "count": 2, "designated_price": "10.00"}],
        "program_times": [{"start": "2031-05-01T09:00:00Z", "end": "2031-05-01T12:00:00Z"}],
    }
    created = api.post(ITEMS, body)
    assert created.status_code == 201, created.json()
    item = created.json()
    assert set(item) == ITEM_FIELDS
    assert item["default_price"] == "99.50"
    assert item["tax_rate"] == "19.00" and item["tax_rule"] == rule and item["category"] == category
    assert item["personalized"] is True  # follows admission unless sent
    assert item["available_from"] == "2031-01-01T09:00:00Z"
    assert item["has_variations"] is True
    assert [v["value"]["en"] for v in item["variations"]] == ["Student", "Regular"]  # by position
    student = item["variations"][0]
    assert student["price"] == "49.00" and item["variations"][1]["price"] == "99.50"
    assert student["sales_channels"] == ["web"]
    assert item["addons"] == [
        {"addon_category": addon_category, "min_count": 0, "max_count": 2, "position": 0,
         "multi_allowed": False, "price_included": True}
    ]  # fmt: skip
    assert item["bundles"] == [
        {"bundled_item": ticket, "bundled_variation": None, "count": 2, "designated_price": "10.00"}
    ]
    assert item["program_times"] == [{"start": "2031-05-01T09:00:00Z", "end": "2031-05-01T12:00:00Z"}]
    assert item["hidden_if_item_available"] == ticket
    assert api.get(ITEMS + f"{item['id']}/").json() == item
    assert actions(api)[-1] == "boxoffice.event.item.added"


def test_patch_changes_only_sent_fields_and_ignores_nested_lists(api):
    created = api.post(
        ITEMS, {"name": {"en": "Shirt"}, "default_price": "20.00", "variations": [{"value": {"en": "S"}}]}
    ).json()
    url = ITEMS + f"{created['id']}/"
    patched = api.patch(url, {"default_price": "25.00", "variations": [], "has_variations": False, "addons": [{}]})
    assert patched.status_code == 200, patched.json()
    body = patched.json()
    assert body["default_price"] == "25.00" and body["name"] == {"en": "Shirt"}
    assert body["has_variations"] is True and len(body["variations"]) == 1
    assert body["variations"][0]["price"] == "25.00"
    assert actions(api)[-1] == "boxoffice.event.item.changed"
    with api.kernel.db.session() as session:
        entry = session.scalars(select(LogEntry).order_by(LogEntry.id.desc())).first()
        assert entry.data == {"id": created["id"], "default_price": "25.00"}
    # Nothing changed: no log entry.
    count = len(actions(api))
    assert api.patch(url, {"default_price": "25.00"}).status_code == 200
    assert len(actions(api)) == count


def test_put_resets_fields_left_out(api):
    created = api.post(
        ITEMS,
        {"name": {"en": "Shirt"}, "default_price": "20.00", "internal_name": "x", "position": 5, "active": False},
    ).json()
    url = ITEMS + f"{created['id']}/"
    assert api.put(url, {"name": {"en": "Shirt"}}).json() == {"default_price": ["This field is required."]}
    replaced = api.put(url, {"name": {"en": "Hoodie"}, "default_price": "30.00"})
    assert replaced.status_code == 200, replaced.json()
    body = replaced.json()
    assert (body["internal_name"], body["position"], body["active"]) == (None, 0, True)
    # A client that reads the object and writes it back unchanged gets the same object.
    assert api.put(url, body).json() == body


def test_delete(api):
    created = api.post(ITEMS, {"name": {"en": "Temp"}, "default_price": "1.00"}).json()
    url = ITEMS + f"{created['id']}/"
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404
    assert api.delete(url).status_code == 404
    assert actions(api)[-1] == "boxoffice.event.item.deleted"


def test_deleting_an_item_removes_bundles_and_dependencies_on_it(api):
    ticket = seeded_item_id(api)
    package = api.post(
        ITEMS,
        {"name": {"en": "Pack"}, "default_price": "5.00", "hidden_if_item_available": ticket,
         "bundles": [{"bundled_item": ticket}]},
    ).json()  # fmt: skip
    assert api.delete(ITEMS + f"{ticket}/").status_code == 204
    after = api.get(ITEMS + f"{package['id']}/").json()
    assert after["bundles"] == [] and after["hidden_if_item_available"] is None


def test_validation_errors(api):
    other_category = add_category(api, slug="other")
    other_rule = add_tax_rule(api, "7.00", slug="other")
    response = api.post(
        ITEMS,
        {
            "name": {"en": "  "},
            "default_price": "-1",
            "category": other_category,
            "tax_rule": other_rule,
            "available_from_mode": "sometimes",
            "position": 2**40,
            "max_per_order": -1,
            "limit_sales_channels": ["nowhere"],
            "internal_name": "x" * 256,
            "original_price": "1.005",
            "free_price_suggestion": "1e20",
            "meta_data": {"unknown": "x"},
            "validity_mode": "forever",
            "media_policy": "new",
        },
    )
    assert response.status_code == 400
    assert set(response.json()) == {
        "name", "default_price", "category", "tax_rule", "available_from_mode", "position", "max_per_order",
        "limit_sales_channels", "internal_name", "original_price", "free_price_suggestion", "meta_data",
        "validity_mode", "media_type",
    }  # fmt: skip
    assert response.json()["category"] == [f'Invalid pk "{other_category}" - object does not exist.']
    missing = api.post(ITEMS, {})
    assert missing.json() == {"name": ["This field is required."], "default_price": ["This field is required."]}


def test_cross_field_validation(api):
    base = {"name": {"en": "X"}, "default_price": "10.00"}
    cases = {
        "personalized": {"admission": False, "personalized": True},
        "issue_giftcard": {"admission": True, "issue_giftcard": True},
        "max_per_order": {"min_per_order": 5, "max_per_order": 2},
        "available_until": {"available_from": "2031-02-01T00:00:00Z", "available_until": "2031-01-01T00:00:00Z"},
        "free_price_suggestion": {"free_price": True, "free_price_suggestion": "5.00"},
        "validity_fixed_until": {
            "validity_fixed_from": "2031-02-01T00:00:00Z",
            "validity_fixed_until": "2031-01-01T00:00:00Z",
        },
        "media_type": {"media_policy": "reuse", "media_type": "floppy"},
    }
    for field, extra in cases.items():
        response = api.post(ITEMS, {**base, **extra})
        assert response.status_code == 400 and field in response.json(), (field, response.json())


def test_wrong_types_and_nested_errors(api):
    wrong = api.post(ITEMS, {"name": "Ticket", "default_price": "abc", "active": "yes"})
    assert wrong.status_code == 400
    assert "name" in wrong.json() or "default_price" in wrong.json()
    nested = api.post(
        ITEMS,
        {
            "name": {"en": "Shirt"},
            "default_price": "10.00",
            "variations": [{"value": {"en": "S"}}, {"value": {"en": "M"}, "default_price": "-2"}],
            "bundles": [{"bundled_item": 999999}],
            "addons": [{"addon_category": 999999}],
            "program_times": [{"start": "2031-05-01T12:00:00Z", "end": "2031-05-01T09:00:00Z"}],
        },
    )
    assert nested.status_code == 400
    body = nested.json()
    assert body["variations"] == [{}, {"default_price": ["Ensure this value is greater than or equal to 0."]}]
    assert set(body["bundles"][0]) == {"bundled_item"}
    assert set(body["addons"][0]) == {"addon_category"}
    assert set(body["program_times"][0]) == {"end"}
    assert api.get(ITEMS).json()["count"] == 1  # nothing was created


def test_variation_channels_must_be_allowed_for_the_item(api):
    response = api.post(
        ITEMS,
        {
            "name": {"en": "Shirt"},
            "default_price": "10.00",
            "all_sales_channels": False,
            "limit_sales_channels": [],
            "variations": [{"value": {"en": "S"}, "all_sales_channels": False, "limit_sales_channels": ["web"]}],
        },
    )
    assert response.status_code == 400
    assert "limit_sales_channels" in response.json()["variations"][0]


def test_legacy_sales_channels_mean_only_these(api):
    created = api.post(ITEMS, {"name": {"en": "X"}, "default_price": "1.00", "sales_channels": ["web"]}).json()
    assert created["all_sales_channels"] is False and created["limit_sales_channels"] == ["web"]


def test_program_times_are_refused_in_event_series(api):
    api.post(
        "/api/v1/organizers/demo/events/",
        {"name": {"en": "Series"}, "slug": "series", "currency": "EUR", "date_from": "2031-01-01T00:00:00Z",
         "has_subevents": True},
    )  # fmt: skip
    response = api.post(
        "/api/v1/organizers/demo/events/series/items/",
        {"name": {"en": "X"}, "default_price": "1.00",
         "program_times": [{"start": "2031-05-01T09:00:00Z", "end": "2031-05-01T10:00:00Z"}]},
    )  # fmt: skip
    assert response.status_code == 400 and "program_times" in response.json()


def test_permissions(api):
    reader = api.make_token(event_permissions=(), organizer_permissions=())
    item = seeded_item_id(api)
    assert api.get(ITEMS, reader).status_code == 200
    assert api.get(ITEMS + f"{item}/", reader).status_code == 200
    assert api.post(ITEMS, {"name": {"en": "X"}, "default_price": "1.00"}, reader).status_code == 403
    assert api.patch(ITEMS + f"{item}/", {"active": False}, reader).status_code == 403
    assert api.put(ITEMS + f"{item}/", {"name": {"en": "X"}, "default_price": "1.00"}, reader).status_code == 403
    assert api.delete(ITEMS + f"{item}/", reader).status_code == 403
    writer = api.make_token(event_permissions=("event.items:write",), organizer_permissions=())
    assert api.patch(ITEMS + f"{item}/", {"active": False}, writer).status_code == 200
    rival = api.make_token("rival")
    assert api.get(ITEMS, rival).status_code == 403
    assert api.get(ITEMS + f"{item}/", rival).status_code == 403
    limited = api.make_token(all_events=False, events=("other",))
    assert api.get(ITEMS, limited).status_code == 403
    assert api.get("/api/v1/organizers/demo/events/other/items/", limited).status_code == 200
    # An item of another event is not found inside this one.
    assert api.get(f"/api/v1/organizers/demo/events/other/items/{item}/").status_code == 404
    assert api.get(ITEMS + "999999/").status_code == 404


def test_filters_and_ordering(api):
    category = add_category(api)
    rule = add_tax_rule(api, "19.00")
    api.post(ITEMS, {"name": {"en": "Workshop"}, "internal_name": "ws-a", "default_price": "10.00",
                     "category": category, "tax_rule": rule, "active": False, "position": -1})  # fmt: skip
    api.post(ITEMS, {"name": {"en": "Donation"}, "default_price": "0.00", "free_price": True, "admission": True})
    names = lambda query: [i["name"]["en"] for i in api.get(ITEMS + query).json()["results"]]  # noqa: E731
    assert names("") == ["Workshop", "Ticket", "Donation"]
    assert names("?ordering=-id") == ["Donation", "Workshop", "Ticket"]
    assert names("?active=false") == ["Workshop"]
    assert names("?admission=true") == ["Ticket", "Donation"]
    assert names("?free_price=true") == ["Donation"]
    assert names(f"?category={category}") == ["Workshop"]
    assert names("?search=WS-A") == ["Workshop"]
    assert names("?search=donat") == ["Donation"]
    assert names("?tax_rate=19.00") == ["Workshop"]
    assert names("?tax_rate=0") == ["Ticket", "Donation"]
    assert api.get(ITEMS + "?category=abc").status_code == 400
    assert api.get(ITEMS + "?tax_rate=lots").status_code == 400
    assert api.get(ITEMS + "?active=maybe").status_code == 400


def test_last_modified_and_if_modified_since(api):
    first = api.get(ITEMS)
    stamp = first.headers["last-modified"]
    assert api.get(ITEMS, headers={"If-Modified-Since": stamp}).status_code == 304
    clock_stamp = first.headers["last-modified"]
    api.post(ITEMS, {"name": {"en": "New"}, "default_price": "1.00"})
    changed = api.get(ITEMS, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert changed.status_code == 200 and changed.json()["count"] == 2
    assert changed.headers["last-modified"] >= clock_stamp


def test_picture_upload_serve_keep_and_remove(api):
    item = seeded_item_id(api)
    url = ITEMS + f"{item}/"
    patched = api.patch(url, {"picture": upload(api)})
    assert patched.status_code == 200, patched.json()
    picture = patched.json()["picture"]
    assert picture.startswith("http") and picture.endswith(".png")
    served = api.client.get(urlsplit(picture).path)  # public: no credentials
    assert served.status_code == 200
    assert served.content == PNG and served.headers["content-type"].startswith("image/png")
    # Writing the read object back keeps the picture.
    body = api.get(url).json()
    assert api.put(url, body).json()["picture"] == picture
    assert api.patch(url, {"picture": None}).json()["picture"] is None
    with api.kernel.db.session() as session:
        assert session.get(ItemPicture, item) is None


def test_picture_must_be_a_fresh_own_image_upload(api):
    url = ITEMS + f"{seeded_item_id(api)}/"
    other_token = api.make_token()
    cases = [
        upload(api, token=other_token, file_id="00000000-0000-4000-8000-000000000001"),
        upload(api, age=timedelta(hours=25), file_id="00000000-0000-4000-8000-000000000002"),
        upload(
            api, content=b"%PDF-1.4", content_type="application/pdf", file_id="00000000-0000-4000-8000-000000000003"
        ),
        upload(api, content=b"not really", content_type="image/png", file_id="00000000-0000-4000-8000-000000000004"),
        "file:does-not-exist",
        "https://example.com/cat.png",
    ]
    for value in cases:
        response = api.patch(url, {"picture": value})
        assert response.status_code == 400 and "picture" in response.json(), value


def test_picture_url_of_unknown_file_is_404(api):
    item = seeded_item_id(api)
    assert api.client.get(ITEMS + f"{item}/picture/nothing.png").status_code == 404


def test_program_times_sub_resource(api):
    item = seeded_item_id(api)
    base = ITEMS + f"{item}/program_times/"
    created = api.post(base, {"start": "2031-05-01T09:00:00Z", "end": "2031-05-01T10:00:00Z"})
    assert created.status_code == 201
    slot = created.json()
    assert slot == {"id": slot["id"], "start": "2031-05-01T09:00:00Z", "end": "2031-05-01T10:00:00Z", "location": None}
    assert api.patch(base + f"{slot['id']}/", {"end": "2031-05-01T08:00:00Z"}).status_code == 400
    assert api.patch(base + f"{slot['id']}/", {"location": {"en": "Hall A"}}).json()["location"] == {"en": "Hall A"}
    assert api.get(base).json()["count"] == 1
    assert api.get(ITEMS + f"{item}/").json()["program_times"] == [
        {"start": "2031-05-01T09:00:00Z", "end": "2031-05-01T10:00:00Z"}
    ]
    assert api.delete(base + f"{slot['id']}/").status_code == 204
    assert api.get(base + f"{slot['id']}/").status_code == 404


def test_clone_copies_items_with_their_parts(api):
    category = add_category(api)
    rule = add_tax_rule(api, "7.00")
    ticket = seeded_item_id(api)
    with api.kernel.db.session() as session:
        quota_id = session.scalar(select(Quota.id))
    api.patch(ITEMS + f"{ticket}/", {"picture": upload(api)})
    shirt = api.post(
        ITEMS,
        {"name": {"en": "Shirt"}, "default_price": "20.00", "category": category, "tax_rule": rule,
         "hidden_if_available": quota_id, "hidden_if_item_available": ticket,
         "variations": [{"value": {"en": "S"}}, {"value": {"en": "M"}}],
         "addons": [{"addon_category": category}],
         "program_times": [{"start": "2031-05-01T09:00:00Z", "end": "2031-05-01T10:00:00Z"}]},
    ).json()  # fmt: skip
    variation = shirt["variations"][1]["id"]
    api.post(ITEMS, {"name": {"en": "Pack"}, "default_price": "30.00",
                     "bundles": [{"bundled_item": shirt["id"], "bundled_variation": variation}]})  # fmt: skip
    cloned = api.post("/api/v1/organizers/demo/events/democon/clone/", {"slug": "copy"})
    assert cloned.status_code == 201, cloned.json()
    copies = {i["name"]["en"]: i for i in api.get("/api/v1/organizers/demo/events/copy/items/").json()["results"]}
    assert set(copies) == {"Ticket", "Shirt", "Pack"}
    new_shirt = copies["Shirt"]
    assert new_shirt["id"] != shirt["id"]
    assert new_shirt["category"] not in (None, category) and new_shirt["tax_rule"] not in (None, rule)
    assert new_shirt["tax_rate"] == "7.00"
    assert new_shirt["hidden_if_item_available"] == copies["Ticket"]["id"]
    assert new_shirt["hidden_if_available"] not in (None, quota_id)
    assert [v["value"]["en"] for v in new_shirt["variations"]] == ["S", "M"]
    assert new_shirt["addons"][0]["addon_category"] == new_shirt["category"]
    assert new_shirt["program_times"] == shirt["program_times"]
    bundle = copies["Pack"]["bundles"][0]
    assert bundle["bundled_item"] == new_shirt["id"] and bundle["bundled_variation"] == new_shirt["variations"][1]["id"]
    assert (
        copies["Ticket"]["picture"] is not None
        and copies["Ticket"]["picture"] != api.get(ITEMS + f"{ticket}/").json()["picture"]
    )
    with api.kernel.db.session() as session:
        assert session.scalar(select(Item.id).where(Item.event_id == event_id(api, "copy")).limit(1)) is not None


def test_odd_input_is_a_client_error(api):
    item = seeded_item_id(api)
    huge = 10**23
    for path in (f"{huge}/", f"{item}/variations/{huge}/", f"{huge}/picture/x.png", f"{item}/program_times/{huge}/"):
        assert api.get(ITEMS + path).status_code == 404, path
    assert api.get(ITEMS + f"?category={huge}").json()["count"] == 0
    for query in ("search=a%00b", "tax_rate=sNaN", "tax_rate=1e99999999x"):
        assert api.get(ITEMS + "?" + query).status_code == 400, query
    assert api.get(ITEMS + "?tax_rate=1e99999999").json()["count"] == 0
    base = {"name": {"en": "X"}, "default_price": "1.00"}
    # Null characters (which PostgreSQL cannot store) are refused, by this module or before it.
    for extra in (
        {"name": {"en": "a\u0000b"}},
        {"checkin_text": "\u0000"},
        {"meta_data": {"a\u0000": "b"}},
        {"limit_sales_channels": ["w\u0000"]},
        {"picture": "file:\u0000"},
    ):
        assert api.post(ITEMS, {**base, **extra}).status_code == 400, extra
    cases = {
        "available_from": {"available_from": "9999-12-31T23:00:00-05:00"},
        "available_until": {"available_until": "0001-01-01T01:00:00+05:00"},
        "hidden_if_available": {"hidden_if_available": huge},
        "require_membership_types": {"require_membership_types": [huge]},
        "default_price": {"default_price": "sNaN"},
    }
    for field, extra in cases.items():
        response = api.post(ITEMS, {**base, **extra})
        assert response.status_code == 400 and field in response.json(), (field, response.json())
    nested = api.post(
        ITEMS, {**base, "program_times": [{"start": "9999-12-31T23:00:00-05:00", "end": "2031-01-01T00:00:00Z"}]}
    )
    assert nested.json() == {"program_times": [{"start": ["Datetime is out of range."]}]}
    assert api.post(ITEMS, [1, 2]).status_code == 400


def test_deleting_the_event_removes_items_and_their_parts(api):
    api.post("/api/v1/organizers/demo/events/democon/item_meta_properties/", {"name": "code"})
    category = add_category(api)
    ticket = seeded_item_id(api)
    api.patch(ITEMS + f"{ticket}/", {"picture": upload(api), "meta_data": {"code": "T"}})
    shirt = api.post(
        ITEMS,
        {"name": {"en": "Shirt"}, "default_price": "20.00", "hidden_if_item_available": ticket,
         "variations": [{"value": {"en": "S"}}], "addons": [{"addon_category": category}]},
    ).json()  # fmt: skip
    api.post(
        ITEMS + f"{ticket}/bundles/", {"bundled_item": shirt["id"], "bundled_variation": shirt["variations"][0]["id"]}
    )
    assert api.delete("/api/v1/organizers/demo/events/democon/").status_code == 204
    with api.kernel.db.session() as session:
        assert session.scalar(select(Item.id)) is None
        assert session.scalar(select(ItemPicture.item_id)) is None
