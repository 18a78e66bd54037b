"""Reading orders and positions: event and organizer lists, every documented filter, ordering, include/exclude,
pagination, X-Page-Generated, conditional GET, single positions, and a fixed number of queries per page."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import pytest
from sqlalchemy import select, update
from statements import counted

from boxoffice.kernel.models import Event, Item, Organizer, Quota
from boxoffice.kernel.models.orders import Order, OrderPosition
from boxoffice.kernel.models.subevents import SubEvent

EVENT = "/api/v1/organizers/demo/events/democon/"
ORDERS = EVENT + "orders/"
POSITIONS = EVENT + "orderpositions/"
FEST = "/api/v1/organizers/demo/events/fest/"
ORG_ORDERS = "/api/v1/organizers/demo/orders/"
ORG_POSITIONS = "/api/v1/organizers/demo/orderpositions/"


@dataclass
class Shop:
    """What the tests ordered: ids of products and dates, and the orders by name."""

    ticket: int
    shirt: int
    small: int
    large: int
    voucher: int
    pass_item: int = 0
    june: int = 0
    july: int = 0
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)

    def code(self, name: str) -> str:
        return self.orders[name]["code"]

    def position(self, name: str, index: int = 0) -> dict[str, Any]:
        return self.orders[name]["positions"][index]


def created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.json()


def make_series(api) -> tuple[int, int, int]:
    """Event series ``fest`` with product ``Pass`` on two dates (June with an end, July without)."""
    with api.kernel.db.session() as session:
        demo = session.scalar(select(Organizer).where(Organizer.slug == "demo"))
        fest = Event(
            organizer=demo,
            slug="fest",
            name={"en": "Fest"},
            currency="EUR",
            date_from=datetime(2031, 6, 1, tzinfo=UTC),
            has_subevents=True,
        )
        item = Item(event=fest, name={"en": "Pass"}, default_price=Decimal("20.00"))
        june = SubEvent(
            event=fest,
            name={"en": "June"},
            active=True,
            date_from=datetime(2031, 6, 1, 10, tzinfo=UTC),
            date_to=datetime(2031, 6, 3, 18, tzinfo=UTC),
        )
        july = SubEvent(event=fest, name={"en": "July"}, active=True, date_from=datetime(2031, 7, 1, 10, tzinfo=UTC))
        session.add_all([fest, item, june, july])
        session.flush()
        for date in (june, july):
            session.add(Quota(event=fest, name=f"Q{date.id}", size=10, items=[item], subevent_id=date.id))
        session.flush()
        return item.id, june.id, july.id


@pytest.fixture
def shop(api) -> Shop:
    """Five orders in ``democon`` and two in the series ``fest``."""
    with api.kernel.db.session() as session:
        ticket = session.scalar(select(Item.id).where(Item.name["en"].as_string() == "Ticket"))
    shirt = created(
        api.post(
            EVENT + "items/",
            {
                "name": {"en": "Shirt"},
                "default_price": "15.00",
                "variations": [{"value": {"en": "S"}}, {"value": {"en": "L"}}],
            },
        )
    )
    small, large = (variation["id"] for variation in shirt["variations"])
    created(
        api.post(
            EVENT + "quotas/", {"name": "Shirts", "size": 50, "items": [shirt["id"]], "variations": [small, large]}
        )
    )
    voucher = created(
        api.post(EVENT + "vouchers/", {"code": "SAVE10", "max_usages": 5, "price_mode": "subtract", "value": "10.00"})
    )
    shop = Shop(ticket=ticket, shirt=shirt["id"], small=small, large=large, voucher=voucher["id"])
    shop.orders["alice"] = created(
        api.post(
            ORDERS,
            {
                "email": "alice@example.org",
                "customer": "CUST1",
                "locale": "en",
                "positions": [
                    {
                        "item": ticket,
                        "attendee_name_parts": {"given_name": "Alice", "family_name": "Example"},
                        "attendee_email": "alice.attendee@example.org",
                        "voucher": "SAVE10",
                    }
                ],
                "invoice_address": {
                    "company": "ACME Corp",
                    "name_parts": {"given_name": "Carla", "family_name": "Client"},
                    "country": "DE",
                },
            },
        )
    )
    shop.orders["bob"] = created(
        api.post(
            ORDERS,
            {
                "email": "Bob@Example.org",
                "status": "p",
                "payment_provider": "manual",
                "positions": [
                    {"positionid": 1, "item": ticket, "attendee_name": "Bob Builder"},
                    {"positionid": 2, "item": shirt["id"], "variation": large, "addon_to": 1},
                ],
            },
        )
    )
    shop.orders["test"] = created(
        api.post(
            ORDERS,
            {
                "email": "tester@example.org",
                "testmode": True,
                "require_approval": True,
                "positions": [{"item": shirt["id"], "variation": small, "attendee_name": "Tess Tester"}],
            },
        )
    )
    shop.orders["dora"] = created(
        api.post(ORDERS, {"email": "dora@example.org", "positions": [{"item": ticket}, {"item": ticket}]})
    )
    shop.orders["gone"] = created(api.post(ORDERS, {"email": "gone@example.org", "positions": [{"item": ticket}]}))
    with api.kernel.db.session() as session:
        # Cancellation services live elsewhere; here only the stored state matters.
        session.execute(update(Order).where(Order.code == shop.code("gone")).values(status="c"))
        session.execute(
            update(OrderPosition).where(OrderPosition.id == shop.position("dora", 1)["id"]).values(canceled=True)
        )
    shop.pass_item, shop.june, shop.july = make_series(api)
    for name, date in (("june", shop.june), ("july", shop.july)):
        shop.orders[name] = created(
            api.post(
                FEST + "orders/",
                {"email": f"{name}@example.org", "positions": [{"item": shop.pass_item, "subevent": date}]},
            )
        )
    return shop


def codes(response: Any) -> set[str]:
    assert response.status_code == 200, response.text
    return {order["code"] for order in response.json()["results"]}


def position_ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.text
    return {position["id"] for position in response.json()["results"]}


# --- order list ------------------------------------------------------------------------------------------------------


def test_list_shows_each_order_as_the_detail_does(api, shop):
    response = api.get(ORDERS)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5 and body["next"] is None and body["previous"] is None
    # Oldest first.
    assert [order["code"] for order in body["results"]] == [
        shop.code(name) for name in ("alice", "bob", "test", "dora", "gone")
    ]
    for order in body["results"]:
        assert order == api.get(f"{ORDERS}{order['code']}/").json()
    assert "pdf_data" not in body["results"][0]["positions"][0]


def test_list_sends_page_generated_and_answers_conditional_requests(api, shop):
    before = datetime.now(UTC)
    response = api.get(ORDERS)
    generated = datetime.fromisoformat(response.headers["X-Page-Generated"].replace("Z", "+00:00"))
    assert before <= generated <= datetime.now(UTC)
    last_modified = response.headers["Last-Modified"]
    for path in (ORDERS, POSITIONS, ORG_ORDERS, ORG_POSITIONS):
        # Each list answers 304 to its own Last-Modified (the organizer's lists also cover the other event, which
        # may have changed in a later second than this event's orders).
        own = api.get(path).headers["Last-Modified"]
        assert api.get(path, headers={"If-Modified-Since": own}).status_code == 304, path
        assert api.get(path, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}).status_code == 200
    latest = max(parsedate_to_datetime(api.get(path).headers["Last-Modified"]) for path in (ORG_ORDERS, ORDERS))
    last_modified = format_datetime(latest, usegmt=True)
    # Any order changing later makes the lists new again.
    with api.kernel.db.session() as session:
        order = session.scalar(select(Order).where(Order.code == shop.code("dora")))
        order.last_modified = order.last_modified + timedelta(seconds=5)
    for path in (ORDERS, POSITIONS, ORG_ORDERS, ORG_POSITIONS):
        fresh = api.get(path, headers={"If-Modified-Since": last_modified})
        assert fresh.status_code == 200 and fresh.headers["Last-Modified"] != last_modified, path
    other = api.get("/api/v1/organizers/demo/events/other/orders/", headers={"If-Modified-Since": last_modified})
    assert other.status_code == 304


def test_pagination_and_ordering(api, shop):
    first = api.get(ORDERS, params={"page_size": 2, "ordering": "-code"}).json()
    assert first["count"] == 5 and len(first["results"]) == 2 and first["next"]
    everything = [order["code"] for order in api.get(ORDERS, params={"ordering": "-code"}).json()["results"]]
    assert everything == sorted(everything, reverse=True)
    assert [order["code"] for order in first["results"]] == everything[:2]
    second = api.client.get(first["next"], headers=api.headers()).json()
    assert [order["code"] for order in second["results"]] == everything[2:4]
    ascending = [order["code"] for order in api.get(ORDERS, params={"ordering": "code"}).json()["results"]]
    assert ascending == sorted(ascending)
    by_status = [order["status"] for order in api.get(ORDERS, params={"ordering": "-status"}).json()["results"]]
    assert by_status == sorted(by_status, reverse=True)
    for name in ("datetime", "last_modified", "cancellation_date"):
        assert api.get(ORDERS, params={"ordering": name}).status_code == 200


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "p"}, {"bob"}),
        ({"status": "c"}, {"gone"}),
        ({"status": "n"}, {"alice", "test", "dora"}),
        ({"testmode": "true"}, {"test"}),
        ({"testmode": "false"}, {"alice", "bob", "dora", "gone"}),
        ({"require_approval": "true"}, {"test"}),
        ({"customer": "CUST1"}, {"alice"}),
        ({"email": "bob@example.ORG"}, {"bob"}),
        ({"locale": "en"}, {"alice", "bob", "test", "dora", "gone"}),
        ({"locale": "de"}, set()),
        ({"sales_channel": "web"}, {"alice", "bob", "test", "dora", "gone"}),
        ({"sales_channel": "box"}, set()),
        ({"payment_provider": "manual"}, {"bob"}),
        ({"payment_provider": "free"}, set()),
        ({"search": "acme"}, {"alice"}),
        ({"search": "CARLA"}, {"alice"}),
        ({"search": "client"}, {"alice"}),
        ({"search": "builder"}, {"bob"}),
        ({"search": "tester@"}, {"test"}),
        ({"search": "alice.attendee"}, {"alice"}),
        ({"search": "name"}, set()),
        ({"search": "%"}, set()),
    ],
)
def test_order_filters(api, shop, params, expected):
    assert codes(api.get(ORDERS, params=params)) == {shop.code(name) for name in expected}


def test_filters_on_code_items_and_secrets(api, shop):
    assert codes(api.get(ORDERS, params={"code": shop.code("bob")})) == {shop.code("bob")}
    assert codes(api.get(ORDERS, params={"code": shop.code("bob").lower()})) == {shop.code("bob")}
    assert codes(api.get(ORDERS, params={"item": shop.shirt})) == {shop.code("bob"), shop.code("test")}
    assert codes(api.get(ORDERS, params={"variation": shop.large})) == {shop.code("bob")}
    # A canceled position still counts for item filters.
    with api.kernel.db.session() as session:
        session.execute(
            update(OrderPosition).where(OrderPosition.id == shop.position("bob", 1)["id"]).values(canceled=True)
        )
    assert codes(api.get(ORDERS, params={"variation": shop.large})) == {shop.code("bob")}
    secret = shop.position("dora")["secret"]
    assert codes(api.get(ORDERS, params={"search": secret[:10]})) == {shop.code("dora")}
    assert codes(api.get(ORDERS, params={"search": secret[3:12]})) == set()


def test_creation_and_modification_times(api, shop):
    bob = shop.orders["bob"]["datetime"]
    since = codes(api.get(ORDERS, params={"created_since": bob}))
    assert since == {shop.code(name) for name in ("bob", "test", "dora", "gone")}
    before = codes(api.get(ORDERS, params={"created_before": bob}))
    assert before == {shop.code("alice")}
    generated = api.get(ORDERS).headers["X-Page-Generated"]
    assert codes(api.get(ORDERS, params={"modified_since": generated})) == set()
    assert api.patch(f"{ORDERS}{shop.code('dora')}/", {"comment": "called back"}).status_code == 200
    assert codes(api.get(ORDERS, params={"modified_since": generated})) == {shop.code("dora")}


def test_subevent_filters(api, shop):
    fest = FEST + "orders/"
    assert codes(api.get(fest, params={"subevent": shop.june})) == {shop.code("june")}
    # June ends on the 3rd; July has no end, so its start counts.
    assert codes(api.get(fest, params={"subevent_after": "2031-06-02T00:00:00Z"})) == {
        shop.code("june"),
        shop.code("july"),
    }
    assert codes(api.get(fest, params={"subevent_after": "2031-06-04T00:00:00Z"})) == {shop.code("july")}
    assert codes(api.get(fest, params={"subevent_before": "2031-06-15T00:00:00Z"})) == {shop.code("june")}
    assert codes(api.get(fest, params={"subevent_before": "2031-06-01T10:00:00Z"})) == set()


def test_canceled_positions_and_fees_only_on_request(api, shop):
    dora = shop.code("dora")
    listed = {order["code"]: order for order in api.get(ORDERS).json()["results"]}
    assert len(listed[dora]["positions"]) == 1
    full = {
        order["code"]: order
        for order in api.get(ORDERS, params={"include_canceled_positions": "true"}).json()["results"]
    }
    assert [position["canceled"] for position in full[dora]["positions"]] == [False, True]
    assert api.get(ORDERS, params={"include_canceled_fees": "true"}).status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"status": "x"},
        {"item": "abc"},
        {"variation": "99999999999"},
        {"subevent": "1.5"},
        {"testmode": "yes"},
        {"require_approval": "1"},
        {"created_since": "yesterday"},
        {"created_before": "2024-13-01"},
        {"modified_since": "nope"},
        {"subevent_after": "x"},
        {"subevent_before": "x"},
        {"include_canceled_positions": "sure"},
        {"include_canceled_fees": "sure"},
    ],
)
def test_malformed_filters_are_field_errors(api, shop, params):
    for path in (ORDERS, ORG_ORDERS):
        response = api.get(path, params=params)
        assert response.status_code == 400, (path, response.text)
        assert list(response.json()) == list(params)


def test_include_and_exclude(api, shop):
    alice = shop.code("alice")
    trimmed = api.client.get(
        ORDERS + f"?code={alice}&include=code&include=positions.secret&include=invoice_address.company",
        headers=api.headers(),
    ).json()["results"][0]
    assert trimmed == {
        "code": alice,
        "positions": [{"secret": shop.position("alice")["secret"]}],
        "invoice_address": {"company": "ACME Corp"},
    }
    dropped = api.client.get(
        ORDERS + f"?code={alice}&exclude=fees&exclude=positions.downloads&exclude=positions.answers",
        headers=api.headers(),
    ).json()["results"][0]
    assert "fees" not in dropped and dropped["code"] == alice
    assert "downloads" not in dropped["positions"][0] and "answers" not in dropped["positions"][0]
    assert dropped["positions"][0]["secret"] == shop.position("alice")["secret"]
    # include first, then exclude; a whole field wins over parts of it.
    both = api.client.get(
        ORDERS + f"?code={alice}&include=positions&include=positions.secret&include=total&exclude=positions.secret",
        headers=api.headers(),
    ).json()["results"][0]
    assert set(both) == {"positions", "total"}
    assert "secret" not in both["positions"][0] and both["positions"][0]["item"] == shop.ticket


# --- organizer-wide order list ---------------------------------------------------------------------------------------


def test_organizer_list_spans_visible_events(api, shop):
    response = api.get(ORG_ORDERS)
    assert response.status_code == 200
    assert "X-Page-Generated" in response.headers and "Last-Modified" in response.headers
    results = response.json()["results"]
    assert {order["code"]: order["event"] for order in results} == {
        **{shop.code(name): "democon" for name in ("alice", "bob", "test", "dora", "gone")},
        shop.code("june"): "fest",
        shop.code("july"): "fest",
    }
    june = next(order for order in results if order["code"] == shop.code("june"))
    assert june == api.get(f"{FEST}orders/{shop.code('june')}/").json()
    assert codes(api.get(ORG_ORDERS, params={"subevent": shop.july})) == {shop.code("july")}
    assert codes(api.get(ORG_ORDERS, params={"status": "p"})) == {shop.code("bob")}
    assert codes(api.get(ORG_ORDERS, params={"search": "carla"})) == {shop.code("alice")}
    limited = api.make_token(all_events=False, events=("fest",))
    assert codes(api.get(ORG_ORDERS, token=limited)) == {shop.code("june"), shop.code("july")}
    no_orders = api.make_token(event_permissions=("event.vouchers:read",))
    assert api.get(ORG_ORDERS, token=no_orders).status_code == 403
    assert api.get("/api/v1/organizers/rival/orders/").status_code == 403


def test_permissions_on_event_lists(api, shop):
    reader = api.make_token(event_permissions=("event.orders:read",))
    assert api.get(ORDERS, token=reader).status_code == 200
    assert api.get(POSITIONS, token=reader).status_code == 200
    outsider = api.make_token(event_permissions=("event.vouchers:read",))
    for path in (ORDERS, POSITIONS, EVENT + "revokedsecrets/", EVENT + "blockedsecrets/", ORG_POSITIONS):
        assert api.get(path, token=outsider).status_code == 403, path
    elsewhere = api.make_token(all_events=False, events=("other",))
    assert api.get(ORDERS, token=elsewhere).status_code == 403


# --- positions -------------------------------------------------------------------------------------------------------


def test_position_list_and_detail(api, shop):
    response = api.get(POSITIONS)
    assert response.status_code == 200 and "X-Page-Generated" in response.headers
    body = response.json()
    # Seven positions in democon, one of them canceled.
    assert body["count"] == 6
    alice = shop.position("alice")
    listed = next(position for position in body["results"] if position["id"] == alice["id"])
    assert listed == alice
    assert api.get(f"{POSITIONS}{alice['id']}/").json() == alice
    canceled = shop.position("dora", 1)["id"]
    assert api.get(f"{POSITIONS}{canceled}/").status_code == 404
    shown = api.get(f"{POSITIONS}{canceled}/", params={"include_canceled_positions": "true"})
    assert shown.status_code == 200 and shown.json()["canceled"] is True
    assert api.get(POSITIONS, params={"include_canceled_positions": "true"}).json()["count"] == 7
    assert api.get(f"{POSITIONS}{shop.position('june')['id']}/").status_code == 404
    assert api.get(f"{POSITIONS}99999999999/").status_code == 404


def test_position_filters(api, shop):
    alice, bob, shirt, tess = (
        shop.position("alice"),
        shop.position("bob"),
        shop.position("bob", 1),
        shop.position("test"),
    )
    dora = shop.position("dora")

    def ids(**params: Any) -> set[int]:
        return position_ids(api.get(POSITIONS, params=params))

    assert ids(order=shop.code("bob")) == {bob["id"], shirt["id"]}
    assert ids(customer="CUST1") == {alice["id"]}
    assert ids(item=shop.shirt) == {shirt["id"], tess["id"]}
    assert ids(item__in=f"{shop.shirt},{shop.ticket}") == ids()
    assert ids(variation=shop.small) == {tess["id"]}
    assert ids(variation__in=f"{shop.small},{shop.large}") == {shirt["id"], tess["id"]}
    # Add-ons of a named attendee come along.
    assert ids(attendee_name="bob builder") == {bob["id"], shirt["id"]}
    assert ids(attendee_name="Bob") == set()
    assert ids(secret=dora["secret"]) == {dora["id"]}
    assert ids(pseudonymization_id=tess["pseudonymization_id"]) == {tess["id"]}
    assert ids(order__status="p") == {bob["id"], shirt["id"]}
    assert ids(order__status__in="p,c") == {bob["id"], shirt["id"], shop.position("gone")["id"]}
    assert ids(has_checkin="true") == set()
    assert ids(has_checkin="false") == ids()
    assert ids(addon_to=bob["id"]) == {shirt["id"]}
    assert ids(addon_to__in=f"{bob['id']},{alice['id']}") == {shirt["id"]}
    assert ids(voucher=shop.voucher) == {alice["id"]}
    assert ids(voucher__code="SAVE10") == {alice["id"]}
    assert ids(voucher__code="NOPE") == set()
    assert ids(search="example") == {alice["id"]}
    assert ids(search="carla") == {alice["id"]}
    assert ids(search=shop.code("test").lower()) == {tess["id"]}
    assert ids(search=dora["secret"][:8]) == {dora["id"]}
    assert ids(include_canceled_positions="true", order=shop.code("dora")) == {
        dora["id"],
        shop.position("dora", 1)["id"],
    }
    fest = position_ids(api.get(FEST + "orderpositions/", params={"subevent": shop.june}))
    assert fest == {shop.position("june")["id"]}
    both = position_ids(api.get(FEST + "orderpositions/", params={"subevent__in": f"{shop.june},{shop.july}"}))
    assert both == {shop.position("june")["id"], shop.position("july")["id"]}


def test_position_ordering(api, shop):
    names = [p["attendee_name"] for p in api.get(POSITIONS, params={"ordering": "attendee_name"}).json()["results"]]
    named = [name for name in names if name]
    assert named == sorted(named)
    default = [(p["order"], p["positionid"]) for p in api.get(POSITIONS).json()["results"]]
    assert default[0] == (shop.code("alice"), 1) and default[1:3] == [(shop.code("bob"), 1), (shop.code("bob"), 2)]
    by_code = [p["order"] for p in api.get(POSITIONS, params={"ordering": "-order__code"}).json()["results"]]
    assert by_code == sorted(by_code, reverse=True)
    for name in ("order__datetime", "positionid", "order__status"):
        assert api.get(POSITIONS, params={"ordering": name}).status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"item__in": "1,x"},
        {"variation__in": "a"},
        {"subevent__in": "1;2"},
        {"addon_to": "x"},
        {"voucher": "SAVE10"},
        {"order__status": "z"},
        {"order__status__in": "n,z"},
        {"has_checkin": "maybe"},
    ],
)
def test_malformed_position_filters(api, shop, params):
    for path in (POSITIONS, ORG_POSITIONS):
        response = api.get(path, params=params)
        assert response.status_code == 400, (path, response.text)
        assert list(response.json()) == list(params)


def test_organizer_position_list(api, shop):
    response = api.get(ORG_POSITIONS)
    assert response.status_code == 200 and "X-Page-Generated" in response.headers
    results = response.json()["results"]
    assert len(results) == 8
    events = {position["id"]: position["event"] for position in results}
    assert events[shop.position("june")["id"]] == "fest" and events[shop.position("alice")["id"]] == "democon"
    june = next(position for position in results if position["id"] == shop.position("june")["id"])
    assert {key: value for key, value in june.items() if key != "event"} == shop.position("june")
    limited = api.make_token(all_events=False, events=("democon",))
    assert {p["event"] for p in api.get(ORG_POSITIONS, token=limited).json()["results"]} == {"democon"}
    assert position_ids(api.get(ORG_POSITIONS, params={"order": shop.code("july")})) == {shop.position("july")["id"]}


# --- query counts ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [ORDERS, POSITIONS, ORG_ORDERS, ORG_POSITIONS])
def test_list_queries_do_not_grow_with_the_page(api, shop, path):
    def queries() -> int:
        with counted(api.kernel.db.engine) as statements:
            assert api.get(path).status_code == 200
        return len(statements)

    few = queries()
    for number in range(8):
        created(
            api.post(
                ORDERS,
                {
                    "email": f"extra{number}@example.org",
                    "status": "p",
                    "payment_provider": "manual",
                    "invoice_address": {"name": f"Buyer {number}"},
                    "positions": [{"item": shop.ticket}, {"item": shop.shirt, "variation": shop.small}],
                },
            )
        )
    assert queries() == few
