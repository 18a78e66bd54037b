"""The ledger API: event and organizer lists, filters, ordering, permissions, and the balance it keeps."""

from __future__ import annotations

from sqlalchemy import select

from boxoffice.kernel.models import Item

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
