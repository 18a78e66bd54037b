"""The ledger API: event and organizer lists, filters, ordering, permissions, and the balance it keeps."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from boxoffice.kernel.models import Event, Item, Quota

ORDERS = "/api/v1/organizers/demo/events/democon/orders/"
EVENT_LEDGER = "/api/v1/organizers/demo/events/democon/transactions/"
ORGANIZER_LEDGER = "/api/v1/organizers/demo/transactions/"


def item_id(api) -> int:
    with api.kernel.db.session() as session:
        return session.scalar(select(Item.id).where(Item.name["en"].as_string() == "Ticket"))


def place(api, **extra) -> dict:
    response = api.post(ORDERS, {"positions": [{"item": item_id(api)}], **extra})
    assert response.status_code == 201, response.text
    return response.json()


def test_event_ledger_lists_what_orders_owe(api):
    first = place(api, fees=[{"fee_type": "service", "value": "2.50"}])
    place(api)
    response = api.get(EVENT_LEDGER)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == 3
    row = next(r for r in body["results"] if r["order"] == first["code"] and r["fee_type"] is None)
    assert row["count"] == 1 and row["price"] == "35.00" and row["positionid"] == 1
    assert row["item"] == item_id(api) and row["tax_rate"] == "0.00" and "event" not in row
    fee = next(r for r in body["results"] if r["fee_type"] == "service")
    assert fee["item"] is None and fee["positionid"] is None and fee["price"] == "2.50"


def test_filters_narrow_the_ledger(api):
    first = place(api, fees=[{"fee_type": "service", "value": "2.50"}])
    second = place(api, positions=[{"item": item_id(api), "price": "10.00"}])
    item = item_id(api)

    def codes(query: str) -> list[tuple[str, str]]:
        response = api.get(f"{EVENT_LEDGER}?{query}")
        assert response.status_code == 200, response.text
        return sorted((row["order"], row["fee_type"] or "") for row in response.json()["results"])

    assert codes(f"order={first['code']}") == [(first["code"], ""), (first["code"], "service")]
    assert codes(f"order={first['code'].lower()}") == codes(f"order={first['code']}")
    assert len(codes(f"item={item}")) == 2 and codes(f"item__in={item},999") == codes(f"item={item}")
    assert codes("item=999") == []
    assert codes("fee_type=service") == [(first["code"], "service")]
    assert codes("fee_type__in=service,payment") == [(first["code"], "service")]
    assert codes("tax_rate=0") == codes("tax_rate__in=0.00,7") and len(codes("tax_rate=0")) == 3
    assert codes("tax_rate=19") == []
    assert codes("tax_code=E") == []
    assert codes("subevent=1") == [] and codes("variation__in=1,2") == []
    assert len(codes("datetime_since=2000-01-01T00:00:00Z")) == 3
    assert codes("created_before=2000-01-01T00:00:00Z") == []
    assert codes(f"order={second['code']}&item={item}") == [(second["code"], "")]


@pytest.mark.parametrize(
    "query",
    ["item=abc", "item__in=1,x", "tax_rate=abc", "fee_type=bogus", "datetime_since=yesterday", "subevent=99999999999"],
)
def test_malformed_filters_are_400(api, query):
    response = api.get(f"{EVENT_LEDGER}?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


def test_ordering_by_id_datetime_or_created(api):
    for _ in range(3):
        place(api)
    ids = [row["id"] for row in api.get(f"{EVENT_LEDGER}?ordering=-id").json()["results"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 3
    assert [row["id"] for row in api.get(f"{EVENT_LEDGER}?ordering=id").json()["results"]] == sorted(ids)
    assert len(api.get(f"{EVENT_LEDGER}?ordering=-datetime").json()["results"]) == 3
    assert len(api.get(f"{EVENT_LEDGER}?ordering=created").json()["results"]) == 3


def test_pages_of_the_ledger(api):
    for _ in range(3):
        place(api)
    page = api.get(f"{EVENT_LEDGER}?page_size=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    assert len(api.get(page["next"].replace("http://testserver.local", "")).json()["results"]) == 1
    assert api.get(f"{EVENT_LEDGER}?page=5").status_code == 404


def test_organizer_ledger_spans_visible_events_and_names_them(api):
    mine = place(api)
    other_item = None
    with api.kernel.db.session() as session:
        other = session.scalar(select(Event).where(Event.slug == "other"))
        ticket = Item(event=other, name={"en": "Other ticket"}, default_price=Decimal("5.00"))
        session.add_all([ticket, Quota(event=other, name="Other", size=5, items=[ticket])])
        session.flush()
        other_item = ticket.id
    response = api.post("/api/v1/organizers/demo/events/other/orders/", {"positions": [{"item": other_item}]})
    assert response.status_code == 201, response.text
    theirs = response.json()["code"]

    body = api.get(ORGANIZER_LEDGER).json()
    assert sorted((row["event"], row["order"]) for row in body["results"]) == sorted(
        [("democon", mine["code"]), ("other", theirs)]
    )
    assert [row["order"] for row in api.get(f"{ORGANIZER_LEDGER}?event=other").json()["results"]] == [theirs]
    assert api.get(f"{ORGANIZER_LEDGER}?event=nowhere").json()["count"] == 0

    limited = api.make_token(all_events=False, events=("other",), event_permissions=("event.orders:read",))
    assert [row["order"] for row in api.get(ORGANIZER_LEDGER, token=limited).json()["results"]] == [theirs]
    assert api.get(EVENT_LEDGER, token=limited).status_code == 403
    no_orders = api.make_token(event_permissions=("event.vouchers:read",))
    assert api.get(ORGANIZER_LEDGER, token=no_orders).json()["count"] == 0
    assert api.get(EVENT_LEDGER, token=no_orders).status_code == 403
    assert api.get("/api/v1/organizers/rival/transactions/").status_code == 403
    assert api.get("/api/v1/organizers/rival/events/rivalcon/transactions/").status_code == 403


def test_the_ledger_follows_refunds_and_cancellation(api):
    placed = place(api, payment_provider="manual", status="p", fees=[{"fee_type": "payment", "value": "1.50"}])
    code = placed["code"]
    assert api.post(f"{ORDERS}{code}/payments/1/refund/", {"mark_canceled": True}).status_code == 200
    rows = api.get(f"{EVENT_LEDGER}?order={code}&ordering=id").json()["results"]
    assert [row["count"] for row in rows] == [1, 1, -1, -1]
    assert sum(Decimal(row["price"]) * row["count"] for row in rows) == Decimal("0.00")
