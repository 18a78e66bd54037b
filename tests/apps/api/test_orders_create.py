"""Creating orders through the API: prices, taxes, vouchers, answers, add-ons, quotas, simulate."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from boxoffice.kernel.models import Item, Quota
from boxoffice.kernel.models.orders import Order, OrderPosition, Transaction

ORDERS = "/api/v1/organizers/demo/events/democon/orders/"


def item_id(api) -> int:
    with api.kernel.db.session() as session:
        return session.scalar(select(Item.id).where(Item.name["en"].as_string() == "Ticket"))


def test_create_minimal_order(api):
    item = item_id(api)
    response = api.post(ORDERS, {"email": "alice@example.org", "positions": [{"item": item}]})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "n"
    assert body["total"] == "35.00"
    assert len(body["code"]) == 5
    position = body["positions"][0]
    assert position["price"] == "35.00" and len(position["secret"]) == 32
    fetched = api.get(f"{ORDERS}{body['code']}/")
    assert fetched.status_code == 200
    assert fetched.json() == body
    with api.kernel.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Transaction)) == 1


def test_sold_out_quota_refuses_and_leaves_nothing(api):
    item = item_id(api)
    with api.kernel.db.session() as session:
        session.execute(Quota.__table__.update().values(size=1))
    assert api.post(ORDERS, {"positions": [{"item": item}]}).status_code == 201
    response = api.post(ORDERS, {"positions": [{"item": item}]})
    assert response.status_code == 400
    assert "quota" in response.json()["positions"][0]["item"][0]
    with api.kernel.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 1
        assert session.scalar(select(func.count()).select_from(OrderPosition)) == 1


def test_simulate_writes_nothing(api):
    item = item_id(api)
    response = api.post(ORDERS, {"simulate": True, "positions": [{"item": item, "price": "12.50"}]})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["code"] == "PREVIEW" and body["positions"][0]["id"] == 0
    assert Decimal(body["total"]) == Decimal("12.50")
    with api.kernel.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 0
