"""Changing order contents through the API: ``…/orders/{code}/change/`` and the order position endpoints."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from boxoffice.kernel.models import Event, Item, LogEntry, Quota
from boxoffice.kernel.models.orders import Order, OrderPosition, Transaction
from boxoffice.kernel.models.questions import Question

EVENT = "/api/v1/organizers/demo/events/democon/"
ORDERS = EVENT + "orders/"
POSITIONS = EVENT + "orderpositions/"


@pytest.fixture
def catalog(api) -> dict[str, int]:
    """The seeded ticket, plus a workshop (12.00) on its own quota of 1 and a question asked for both."""
    with api.kernel.db.session() as session:
        event = session.scalar(select(Event).where(Event.slug == "democon"))
        ticket = session.scalar(select(Item).where(Item.event_id == event.id))
        workshop = Item(event=event, name={"en": "Workshop"}, default_price=Decimal("12.00"))
        question = Question(event=event, question={"en": "Diet?"}, type="S", identifier="DIET", items=[ticket])
        session.add_all([workshop, question, Quota(event=event, name="Workshops", size=1, items=[workshop])])
        session.flush()
        return {"ticket": ticket.id, "workshop": workshop.id, "question": question.id}


def place(api, catalog, count: int = 2) -> dict:
    response = api.post(ORDERS, {"email": "buyer@example.org", "positions": [{"item": catalog["ticket"]}] * count})
    assert response.status_code == 201, response.text
    return response.json()


def ledger(api, code: str) -> list[tuple[int, Decimal]]:
    with api.kernel.db.session() as session:
        order_id = session.scalar(select(Order.id).where(Order.code == code))
        rows = session.scalars(select(Transaction).where(Transaction.order_id == order_id).order_by(Transaction.id))
        return [(row.count, row.price) for row in rows]


def test_change_applies_every_operation_and_answers_the_order(api, catalog):
    order = place(api, catalog)
    first, second = order["positions"]
    response = api.post(
        f"{ORDERS}{order['code']}/change/",
        {
            "patch_positions": [{"position": first["id"], "body": {"price": "30.00"}}],
            "cancel_positions": [{"position": second["id"]}],
            "create_positions": [{"item": catalog["workshop"], "addon_to": 1, "attendee_name": "Ann"}],
            "create_fees": [{"fee_type": "service", "value": "1.50", "description": "Handling"}],
            "send_email": True,
            "reissue_invoice": False,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["code"] == order["code"] and body["total"] == "43.50"
    assert [(p["positionid"], p["price"], p["addon_to"]) for p in body["positions"]] == [
        (1, "30.00", None),
        (3, "12.00", first["id"]),
    ]
    assert body["positions"][1]["attendee_name"] == "Ann"
    assert [(fee["fee_type"], fee["value"]) for fee in body["fees"]] == [("service", "1.50")]
    assert api.get(f"{ORDERS}{order['code']}/").json() == body
    assert sorted(ledger(api, order["code"])) == sorted(
        [
            (1, Decimal("35.00")),
            (1, Decimal("35.00")),
            (-1, Decimal("35.00")),
            (-1, Decimal("35.00")),
            (1, Decimal("30.00")),
            (1, Decimal("12.00")),
            (1, Decimal("1.50")),
        ]
    )
    with api.kernel.db.session() as session:
        logged = set(session.scalars(select(LogEntry.action_type)))
    assert {
        "boxoffice.event.order.changed.price",
        "boxoffice.event.order.changed.cancel",
        "boxoffice.event.order.changed.add_position",
        "boxoffice.event.order.changed.add_fee",
    } <= logged


def test_change_with_one_bad_operation_changes_nothing(api, catalog):
    order = place(api, catalog)
    first, _ = order["positions"]
    response = api.post(
        f"{ORDERS}{order['code']}/change/",
        {
            "patch_positions": [{"position": first["id"], "body": {"price": "1.00"}}],
            "cancel_positions": [{"position": 999999}],
            "create_positions": [{"item": catalog["ticket"], "seat": "row-1-seat-2"}],
        },
    )
    assert response.status_code == 400
    assert response.json() == {
        "cancel_positions": [{"position": ['Invalid pk "999999" - object does not exist.']}],
        "create_positions": [{"seat": ["The event has no seating plan."]}],
    }
    assert api.get(f"{ORDERS}{order['code']}/").json() == order


def test_change_refuses_sold_out_capacity_unless_told_not_to_check(api, catalog):
    order = place(api, catalog)
    first, second = order["positions"]
    body = {
        "patch_positions": [
            {"position": first["id"], "body": {"item": catalog["workshop"]}},
            {"position": second["id"], "body": {"item": catalog["workshop"]}},
        ]
    }
    refused = api.post(f"{ORDERS}{order['code']}/change/", body)
    assert refused.status_code == 400
    assert "Workshops" in refused.json()["detail"]
    forced = api.post(f"{ORDERS}{order['code']}/change/?check_quotas=false", body)
    assert forced.status_code == 200, forced.text
    assert [p["item"] for p in forced.json()["positions"]] == [catalog["workshop"]] * 2
    assert api.post(f"{ORDERS}{order['code']}/change/?check_quotas=maybe", body).status_code == 400


def test_split_answers_the_original_order_and_creates_another(api, catalog):
    order = place(api, catalog)
    response = api.post(
        f"{ORDERS}{order['code']}/change/", {"split_positions": [{"position": order["positions"][1]["id"]}]}
    )
    assert response.status_code == 200, response.text
    assert [p["positionid"] for p in response.json()["positions"]] == [1]
    assert response.json()["total"] == "35.00"
    with api.kernel.db.session() as session:
        codes = set(session.scalars(select(Order.code)))
    (new_code,) = codes - {order["code"]}
    split = api.get(f"{ORDERS}{new_code}/").json()
    assert (split["email"], split["total"], split["status"]) == ("buyer@example.org", "35.00", "n")
    assert split["positions"][0]["id"] == order["positions"][1]["id"]


def test_change_needs_something_to_do_and_a_known_order(api, catalog):
    order = place(api, catalog)
    empty = api.post(f"{ORDERS}{order['code']}/change/", {})
    assert (empty.status_code, empty.json()) == (400, {"detail": "Please specify at least one change."})
    assert api.post(f"{ORDERS}NOPE/change/", {"cancel_positions": []}).status_code == 404
    bad_type = api.post(f"{ORDERS}{order['code']}/change/", {"cancel_positions": [{"position": "x"}]})
    assert bad_type.status_code == 400


def test_change_needs_write_permission(api, catalog):
    order = place(api, catalog)
    token = api.make_token(event_permissions=("event.orders:read",))
    body = {"cancel_positions": [{"position": order["positions"][0]["id"]}]}
    assert api.post(f"{ORDERS}{order['code']}/change/", body, token=token).status_code == 403
    assert api.delete(f"{POSITIONS}{order['positions'][0]['id']}/", token=token).status_code == 403


def test_create_position_answers_the_position(api, catalog):
    order = place(api, catalog, count=1)
    response = api.post(
        POSITIONS,
        {
            "order": order["code"],
            "item": catalog["ticket"],
            "price": "20.00",
            "attendee_email": "guest@example.org",
            "answers": [{"question": catalog["question"], "answer": "vegan"}],
        },
    )
    assert response.status_code == 201, response.text
    position = response.json()
    assert (position["order"], position["positionid"], position["price"]) == (order["code"], 2, "20.00")
    assert position["answers"][0]["answer"] == "vegan" and position["answers"][0]["question_identifier"] == "DIET"
    assert api.get(f"{ORDERS}{order['code']}/").json()["total"] == "55.00"


def test_create_position_takes_fixed_validity_and_state_from_its_product(api, catalog):
    with api.kernel.db.session() as session:
        workshop = session.get(Item, catalog["workshop"])
        workshop.validity_mode = "fixed"
        workshop.validity_fixed_from = datetime(2031, 5, 1, 8, 0, tzinfo=UTC)
        workshop.validity_fixed_until = datetime(2031, 5, 1, 18, 0, tzinfo=UTC)
    order = place(api, catalog, count=1)
    response = api.post(
        POSITIONS, {"order": order["code"], "item": catalog["workshop"], "country": "us", "state": "US-NY"}
    )
    assert response.status_code == 201, response.text
    position = response.json()
    assert (position["valid_from"], position["valid_until"]) == ("2031-05-01T08:00:00Z", "2031-05-01T18:00:00Z")
    assert (position["country"], position["state"], position["price"]) == ("US", "NY", "12.00")


def test_create_position_refusals(api, catalog):
    order = place(api, catalog, count=1)
    unknown = api.post(POSITIONS, {"order": "NOPE", "item": catalog["ticket"]})
    assert (unknown.status_code, list(unknown.json())) == (400, ["order"])
    missing_item = api.post(POSITIONS, {"order": order["code"]})
    assert (missing_item.status_code, missing_item.json()) == (400, {"item": ["This field is required."]})
    wrong_question = api.post(
        POSITIONS,
        {"order": order["code"], "item": catalog["workshop"], "answers": [{"question": catalog["question"]}]},
    )
    assert wrong_question.status_code == 400
    assert wrong_question.json() == {"answers": [{"question": ["This question is not asked for this product."]}]}
    assert api.post(POSITIONS, {"order": order["code"], "item": catalog["workshop"]}).status_code == 201
    sold_out = api.post(POSITIONS, {"order": order["code"], "item": catalog["workshop"]})
    assert sold_out.status_code == 400 and "Workshops" in sold_out.json()["detail"]
    forced = api.post(POSITIONS + "?check_quotas=false", {"order": order["code"], "item": catalog["workshop"]})
    assert forced.status_code == 201


def test_delete_cancels_one_position_but_not_the_last(api, catalog):
    order = place(api, catalog)
    first, second = order["positions"]
    response = api.delete(f"{POSITIONS}{second['id']}/")
    assert response.status_code == 204 and response.content == b""
    fetched = api.get(f"{ORDERS}{order['code']}/").json()
    assert [p["id"] for p in fetched["positions"]] == [first["id"]] and fetched["total"] == "35.00"
    assert api.delete(f"{POSITIONS}{second['id']}/").status_code == 404
    last = api.delete(f"{POSITIONS}{first['id']}/")
    assert last.status_code == 400 and "cancel the order" in last.json()["detail"]
    assert api.delete(f"{POSITIONS}{2**40}/").status_code == 404
    assert ledger(api, order["code"]) == [(1, Decimal("35.00")), (1, Decimal("35.00")), (-1, Decimal("35.00"))]


def test_patch_position_changes_attendee_answers_price_and_secret(api, catalog):
    order = place(api, catalog)
    position = order["positions"][0]
    response = api.patch(
        f"{POSITIONS}{position['id']}/",
        {
            "attendee_name_parts": {"given_name": "Bea", "family_name": "Smith"},
            "company": "ACME",
            "country": "de",
            "answers": [{"question": catalog["question"], "answer": "none"}],
            "price": "31.00",
            "secret": "my-own-secret-0001",
            "valid_from": "2031-05-01T08:00:00Z",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["attendee_name"], body["company"], body["country"]) == ("Bea Smith", "ACME", "DE")
    assert (body["price"], body["secret"], body["valid_from"]) == (
        "31.00",
        "my-own-secret-0001",
        "2031-05-01T08:00:00Z",
    )
    assert [answer["answer"] for answer in body["answers"]] == ["none"]
    again = api.patch(f"{POSITIONS}{position['id']}/", {"answers": []})
    assert again.status_code == 200 and again.json()["answers"] == []
    assert api.get(f"{ORDERS}{order['code']}/").json()["total"] == "66.00"
    with api.kernel.db.session() as session:
        assert session.scalar(select(func.count()).select_from(OrderPosition)) == 2


def test_patch_position_refusals(api, catalog):
    order = place(api, catalog)
    first, second = order["positions"]
    url = f"{POSITIONS}{first['id']}/"
    assert api.patch(url, {"seat": "A-1"}).json() == {"seat": ["The event has no seating plan."]}
    assert api.patch(url, {"secret": second["secret"]}).json() == {
        "secret": ["This secret is already in use by another ticket."]
    }
    assert api.patch(url, {"price": "-3"}).json() == {"price": ["Ensure this value is greater than or equal to 0."]}
    assert api.patch(url, {"attendee_email": "nope"}).json() == {"attendee_email": ["Enter a valid email address."]}
    assert api.patch(url, {"item": catalog["workshop"]}).status_code == 200
    sold_out = api.patch(f"{POSITIONS}{second['id']}/", {"item": catalog["workshop"]})
    assert sold_out.status_code == 400 and "Workshops" in sold_out.json()["detail"]
    assert api.patch(f"{POSITIONS}{second['id']}/?check_quotas=false", {"item": catalog["workshop"]}).status_code == 200
    assert api.patch(f"{POSITIONS}123456/", {"company": "x"}).status_code == 404
    assert api.patch(url, {"valid_from": "0001-01-01T00:00:00+05:00"}).json() == {
        "valid_from": ["Datetime is out of the supported range."]
    }
    assert api.patch(url, {"country": "XX"}).json() == {"country": ['"XX" is not a valid choice.']}
    assert api.patch(url, {"country": "DE", "state": "BY"}).json() == {
        "state": ["States are only used for addresses in AU, BR, CA, CN, MY, MX and US."]
    }
    with api.kernel.db.session() as session:
        logged = session.scalar(select(func.count()).select_from(LogEntry))
    unchanged = api.patch(url, {})
    assert unchanged.status_code == 200 and unchanged.json()["item"] == catalog["workshop"]
    with api.kernel.db.session() as session:
        assert session.scalar(select(func.count()).select_from(LogEntry)) == logged


def test_positions_of_other_events_are_not_found(api, catalog):
    order = place(api, catalog)
    other = "/api/v1/organizers/demo/events/other/orderpositions/"
    assert api.delete(f"{other}{order['positions'][0]['id']}/").status_code == 404
    assert api.patch(f"{other}{order['positions'][0]['id']}/", {"company": "x"}).status_code == 404


def test_a_pending_order_that_now_costs_nothing_is_paid(api, catalog):
    order = place(api, catalog, count=1)
    position = order["positions"][0]["id"]
    body = {"patch_positions": [{"position": position, "body": {"price": "0.00"}}]}
    changed = api.post(f"{ORDERS}{order['code']}/change/", body)
    assert changed.status_code == 200, changed.text
    result = changed.json()
    assert result["status"] == "p" and result["total"] == "0.00"
    assert [(p["provider"], p["state"], p["amount"]) for p in result["payments"]] == [("free", "confirmed", "0.00")]
