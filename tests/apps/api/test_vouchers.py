import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select, update

from boxoffice.kernel.db import Base
from boxoffice.kernel.models import Event, Item, LogEntry, Quota
from boxoffice.kernel.models.questions import Question
from boxoffice.kernel.models.vouchers import CODE_ALPHABET, Voucher

EVENT = "/api/v1/organizers/demo/events/democon/"
VOUCHERS = EVENT + "vouchers/"
SPEC = Path("/work/shared/spec/pretix-api.json")


def seeded(api):
    """Ids of the seeded ticket item and quota of democon."""
    with api.kernel.db.session() as session:
        item = session.scalar(select(Item.id).join(Event).where(Event.slug == "democon"))
        quota = session.scalar(select(Quota.id).join(Event).where(Event.slug == "democon"))
        return item, quota


def add_item(api, event="democon", name="Shirt"):
    with api.kernel.db.session() as session:
        item = Item(event=session.scalar(select(Event).where(Event.slug == event)), name={"en": name})
        session.add(item)
        session.flush()
        return item.id


def add_variation(api, item_id, value="S"):
    # Variations and dates belong to other areas: written through their tables, not their classes.
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
        "name": {"en": "S"},
        "slug": slug,
        "currency": "EUR",
        "date_from": "2031-01-01T00:00:00Z",
        "has_subevents": True,
    }
    assert api.post("/api/v1/organizers/demo/events/", body).status_code == 201


def spec_example():
    """The spec's create request and response for vouchers."""
    resources = json.loads(SPEC.read_text())["resources"]
    (vouchers,) = [r for r in resources if r["resource"] == "vouchers"]
    (create,) = [e for e in vouchers["endpoints"] if e["method"] == "POST" and e["path"].endswith("/vouchers/")]
    return create["example_request"], create["example_response"]["body"]


def voucher(api, **fields):
    response = api.post(VOUCHERS, fields)
    assert response.status_code == 201, response.json()
    return response.json()


def test_create_from_the_spec_example_and_read_back(api):
    item, _ = seeded(api)
    request, expected = spec_example()
    created = api.post(VOUCHERS, {**request, "item": item})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert set(body) == set(expected) | {"min_usages"}
    assert {key: body[key] for key in ("code", "price_mode", "value", "tag", "redeemed", "budget_used")} == {
        "code": "43K6LKM37FBVR2YG",
        "price_mode": "set",
        "value": "12.00",
        "tag": "testvoucher",
        "redeemed": 0,
        "budget_used": "0.00",
    }
    assert body["item"] == item and body["seat"] is None and body["created"].endswith("Z")
    assert api.get(VOUCHERS + f"{body['id']}/").json() == body
    listed = api.get(VOUCHERS).json()
    assert listed["count"] == 1 and listed["results"] == [body]


def test_codes_are_generated_and_unique_regardless_of_case(api):
    generated = voucher(api)
    assert len(generated["code"]) == 16 and set(generated["code"]) <= set(CODE_ALPHABET)
    assert generated["max_usages"] == 1 and generated["min_usages"] == 1 and generated["price_mode"] == "none"
    assert generated["show_hidden_items"] is True
    voucher(api, code="Summer2031")
    clash = api.post(VOUCHERS, {"code": "SUMMER2031"})
    assert clash.status_code == 400 and "code" in clash.json()
    # Another event may use the same code.
    assert api.post("/api/v1/organizers/demo/events/other/vouchers/", {"code": "summer2031"}).status_code == 201
    assert "code" in api.post(VOUCHERS, {"code": "abc"}).json()
    assert "code" in api.post(VOUCHERS, {"code": "has space"}).json()
    assert "code" in api.post(VOUCHERS, {"code": "x" * 256}).json()


def test_batch_create_is_all_or_nothing(api):
    item, _ = seeded(api)
    good = {"code": "BATCH-ONE", "item": item, "price_mode": "percent", "value": "10"}
    bad = [good, {"code": "batch-one"}, {"code": "BATCH-THREE", "max_usages": 0}]
    refused = api.post(VOUCHERS + "batch_create/", bad)
    assert refused.status_code == 400
    errors = refused.json()
    assert isinstance(errors, list) and len(errors) == 3
    assert errors[0] == {} and "code" in errors[1] and "max_usages" in errors[2]
    assert api.get(VOUCHERS).json()["count"] == 0

    created = api.post(VOUCHERS + "batch_create/", [good, {"tag": "gen"}, {"tag": "gen"}])
    assert created.status_code == 201, created.json()
    rows = created.json()
    assert rows[0]["code"] == "BATCH-ONE"
    assert rows[0]["value"] == "10.00" and len({row["code"] for row in rows}) == 3
    assert api.get(VOUCHERS + "?tag=gen").json()["count"] == 2
    with api.kernel.db.session() as session:
        added = session.scalars(select(LogEntry).where(LogEntry.action_type == "boxoffice.event.voucher.added"))
        assert len(list(added)) == 3
    assert api.post(VOUCHERS + "batch_create/", {"code": "NOTALIST"}).status_code == 400


def test_validation(api):
    item, quota = seeded(api)
    shirt = add_item(api)
    small = add_variation(api, shirt)
    other_variation = add_variation(api, add_item(api, name="Cap"))

    def errors(**fields):
        response = api.post(VOUCHERS, fields)
        assert response.status_code == 400, response.json()
        return set(response.json())

    assert errors(price_mode="free") == {"price_mode"}
    assert errors(price_mode="set") == {"value"}
    assert errors(price_mode="percent", value="150") == {"value"}
    assert errors(price_mode="set", value="-1") == {"value"}
    assert errors(price_mode="set", value="NaN") == {"value"}
    assert errors(price_mode="set", value="1e20") == {"value"}
    assert errors(min_usages=3, max_usages=2) == {"min_usages"}
    assert errors(max_usages=2**40) == {"max_usages"}
    assert errors(item=item, quota=quota) == {"quota"}
    assert errors(item=999999) == {"item"}
    assert errors(variation=small) == {"variation"}
    assert errors(item=shirt, variation=other_variation) == {"variation"}
    assert errors(block_quota=True) == {"block_quota"}
    assert errors(item=shirt, block_quota=True) == {"block_quota"}
    assert errors(subevent=1) == {"subevent"}
    assert errors(seat="abc-123") == {"seat"}
    assert errors(budget="-5") == {"budget"}
    assert errors(tag="t" * 256) == {"tag"}
    assert errors(valid_until="soon") == {"valid_until"}
    other_quota = api.post("/api/v1/organizers/demo/events/other/quotas/", {"name": "Q"}).json()["id"]
    assert errors(quota=other_quota) == {"quota"}
    # Blocking needs a quota that counts the product.
    assert errors(item=shirt, variation=small, block_quota=True) == {"block_quota"}
    api.post(EVENT + "quotas/", {"name": "Shirts", "items": [shirt], "variations": [small], "size": 3})
    assert voucher(api, item=shirt, variation=small, block_quota=True)["variation"] == small


def test_blocking_needs_free_quota(api):
    item, quota = seeded(api)
    api.patch(EVENT + f"quotas/{quota}/", {"size": 5})
    first = voucher(api, item=item, block_quota=True, max_usages=3)
    too_many = api.post(VOUCHERS, {"quota": quota, "block_quota": True, "max_usages": 3})
    assert too_many.status_code == 400 and "block_quota" in too_many.json()
    # Raising a voucher's own blocking only needs the additional units.
    assert api.patch(VOUCHERS + f"{first['id']}/", {"max_usages": 5}).status_code == 200
    assert api.patch(VOUCHERS + f"{first['id']}/", {"max_usages": 6}).status_code == 400
    # Unrelated changes to a voucher are not held up by a full quota.
    assert api.patch(VOUCHERS + f"{first['id']}/", {"comment": "vip"}).status_code == 200
    # A voucher allowed to ignore quota may overbook deliberately.
    ignoring = api.post(VOUCHERS, {"item": item, "block_quota": True, "allow_ignore_quota": True})
    assert ignoring.status_code == 201
    api.delete(VOUCHERS + f"{ignoring.json()['id']}/")
    # Within one batch the entries compete for the same units.
    api.patch(VOUCHERS + f"{first['id']}/", {"max_usages": 1})
    batch = [{"item": item, "block_quota": True, "max_usages": 2}] * 3
    refused = api.post(VOUCHERS + "batch_create/", batch)
    assert refused.status_code == 400
    assert refused.json()[:2] == [{}, {}] and set(refused.json()[2]) == {"block_quota"}
    # An expired voucher blocks nothing.
    assert voucher(api, item=item, block_quota=True, max_usages=50, valid_until="2000-01-01T00:00:00Z")
    # A closed quota has nothing to block.
    api.patch(EVENT + f"quotas/{quota}/", {"closed": True, "size": None})
    assert "block_quota" in api.post(VOUCHERS, {"item": item, "block_quota": True}).json()


def test_series_vouchers_block_per_date(api):
    make_series(api)
    date = add_subevent(api, "series")
    base = "/api/v1/organizers/demo/events/series/"
    ticket = add_item(api, event="series")
    assert (
        api.post(base + "quotas/", {"name": "Day", "items": [ticket], "subevent": date, "size": 2}).status_code == 201
    )
    undated = api.post(base + "vouchers/", {"item": ticket, "block_quota": True})
    assert undated.status_code == 400 and "block_quota" in undated.json()
    dated = api.post(base + "vouchers/", {"item": ticket, "block_quota": True, "subevent": date, "max_usages": 2})
    assert dated.status_code == 201, dated.json()
    assert api.get(base + f"vouchers/?subevent={date}").json()["count"] == 1


def test_update_replace_delete(api):
    item, _ = seeded(api)
    created = voucher(api, code="CHANGE-ME", item=item, tag="a", comment="note", price_mode="set", value="5")
    url = VOUCHERS + f"{created['id']}/"
    patched = api.patch(url, {"price_mode": "subtract", "value": "2.5", "redeemed": 7})
    assert patched.status_code == 200
    assert (patched.json()["price_mode"], patched.json()["value"], patched.json()["redeemed"]) == (
        "subtract",
        "2.50",
        0,
    )
    replaced = api.put(url, {"max_usages": 4})
    assert replaced.status_code == 200, replaced.json()
    body = replaced.json()
    assert body["code"] == "CHANGE-ME" and body["max_usages"] == 4
    assert (body["item"], body["tag"], body["comment"], body["price_mode"], body["value"]) == (
        None,
        "",
        "",
        "none",
        None,
    )
    assert api.patch(url, {"code": None}).status_code == 400
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404
    with api.kernel.db.session() as session:
        logged = [e.action_type for e in session.scalars(select(LogEntry).order_by(LogEntry.id))][-4:]
    assert logged == [
        "boxoffice.event.voucher.added",
        "boxoffice.event.voucher.changed",
        "boxoffice.event.voucher.changed",
        "boxoffice.event.voucher.deleted",
    ]


def test_redeemed_vouchers_are_kept(api):
    created = voucher(api, code="USED-ONCE", max_usages=3)
    with api.kernel.db.session() as session:
        session.execute(update(Voucher).where(Voucher.id == created["id"]).values(redeemed=2))
    url = VOUCHERS + f"{created['id']}/"
    assert api.get(url).json()["redeemed"] == 2
    assert api.patch(url, {"max_usages": 1}).json().keys() == {"max_usages"}
    assert api.delete(url).status_code == 403
    assert api.get(VOUCHERS + "?redeemed=2").json()["count"] == 1


def test_filters_and_ordering(api):
    item, quota = seeded(api)
    a = voucher(api, code="AAAAA1", item=item, price_mode="set", value="10", max_usages=5, tag="press")
    b = voucher(api, code="BBBBB2", quota=quota, block_quota=True, valid_until="2031-01-01T00:00:00Z")
    c = voucher(api, code="CCCCC3", allow_ignore_quota=True, price_mode="percent", value="10")

    def ids(query):
        response = api.get(VOUCHERS + query)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids("") == [a["id"], b["id"], c["id"]]
    assert ids("?code=BBBBB2") == [b["id"]]
    assert ids("?max_usages=5") == [a["id"]]
    assert ids("?redeemed=0") == [a["id"], b["id"], c["id"]]
    assert ids("?block_quota=true") == [b["id"]]
    assert ids("?allow_ignore_quota=true") == [c["id"]]
    assert ids("?price_mode=percent") == [c["id"]]
    assert ids("?value=10.00") == [a["id"], c["id"]]
    assert ids(f"?item={item}") == [a["id"]]
    assert ids(f"?quota={quota}") == [b["id"]]
    assert ids("?tag=press") == [a["id"]]
    assert ids("?ordering=-code") == [c["id"], b["id"], a["id"]]
    assert ids("?ordering=-max_usages")[0] == a["id"]
    assert api.get(VOUCHERS + "?value=abc").status_code == 400
    assert api.get(VOUCHERS + "?item=abc").status_code == 400
    assert api.get(VOUCHERS + "?block_quota=yes").status_code == 400


def test_permissions_and_scoping(api):
    created = voucher(api, code="SCOPED-1")
    url = VOUCHERS + f"{created['id']}/"
    viewer = api.make_token(event_permissions=("event.vouchers:read",))
    assert api.get(VOUCHERS, viewer).status_code == 200
    assert api.get(url, viewer).status_code == 200
    assert api.post(VOUCHERS, {}, viewer).status_code == 403
    assert api.post(VOUCHERS + "batch_create/", [{}], viewer).status_code == 403
    assert api.patch(url, {"tag": "x"}, viewer).status_code == 403
    assert api.delete(url, viewer).status_code == 403
    nothing = api.make_token(event_permissions=("event.items:write",))
    assert api.get(VOUCHERS, nothing).status_code == 403
    assert api.get(url, nothing).status_code == 403
    assert api.get(VOUCHERS, api.make_token("rival")).status_code == 403
    assert api.get(f"/api/v1/organizers/demo/events/other/vouchers/{created['id']}/").status_code == 404
    assert api.get(VOUCHERS + "999999/").status_code == 404


def test_vouchers_are_not_cloned(api):
    voucher(api, code="NOT-COPIED")
    assert api.post(EVENT + "clone/", {"slug": "democlone", "date_from": "2032-05-01T09:00:00Z"}).status_code == 201
    assert api.get("/api/v1/organizers/demo/events/democlone/vouchers/").json()["count"] == 0
    with api.kernel.db.session() as session:
        assert session.scalar(select(Event.id).where(Event.slug == "democlone")) is not None


def test_deleting_the_event_takes_its_catalog_along(api):
    item, quota = seeded(api)
    api.post(EVENT + "quotas/", {"name": "Extra", "items": [item]})
    voucher(api, code="GONE-1", quota=quota, block_quota=True)
    voucher(api, code="GONE-2", item=item)
    options = [{"answer": {"en": "A"}, "identifier": "A"}]
    choice = api.post(EVENT + "questions/", {"question": {"en": "Q"}, "type": "C", "items": [item], "options": options})
    body = {
        "question": {"en": "D"},
        "type": "S",
        "dependency_question": choice.json()["id"],
        "dependency_values": ["A"],
    }
    assert api.post(EVENT + "questions/", body).status_code == 201
    assert api.delete(EVENT).status_code == 204
    with api.kernel.db.session() as session:
        assert session.scalar(select(Voucher.id)) is None
        assert session.scalar(select(Question.id)) is None
        assert session.scalar(select(Quota.id).join(Event).where(Event.slug == "democon")) is None
