"""Payments and refunds of an order through the API: recording, confirming, canceling, refunding, the order status
that follows from them, and pretix's error shapes."""

from __future__ import annotations

from sqlalchemy import select

from boxoffice.kernel.models import Item, LogEntry

ORDERS = "/api/v1/organizers/demo/events/democon/orders/"


def item_id(api) -> int:
    with api.kernel.db.session() as session:
        return session.scalar(select(Item.id).where(Item.name["en"].as_string() == "Ticket"))


def place(api, **extra) -> str:
    body = {"email": "buyer@example.org", "positions": [{"item": item_id(api)}], **extra}
    response = api.post(ORDERS, body)
    assert response.status_code == 201, response.text
    return response.json()["code"]


def order_status(api, code: str) -> str:
    return api.get(f"{ORDERS}{code}/").json()["status"]


def test_pending_manual_payment_confirmed_pays_the_order(api):
    code = place(api, payment_provider="manual")
    listed = api.get(f"{ORDERS}{code}/payments/")
    assert listed.status_code == 200
    body = listed.json()
    assert body["count"] == 1 and body["next"] is None
    payment = body["results"][0]
    assert payment["local_id"] == 1 and payment["state"] == "created" and payment["provider"] == "manual"
    assert payment["amount"] == "35.00" and payment["payment_date"] is None and payment["payment_url"]
    assert api.get(f"{ORDERS}{code}/payments/1/").json() == payment

    confirmed = api.post(f"{ORDERS}{code}/payments/1/confirm/", {"send_email": True})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["state"] == "confirmed"
    assert confirmed.json()["payment_date"] is not None and confirmed.json()["payment_url"] is None
    order = api.get(f"{ORDERS}{code}/").json()
    assert order["status"] == "p" and order["payment_date"] is not None
    again = api.post(f"{ORDERS}{code}/payments/1/confirm/")
    assert again.status_code == 400 and "detail" in again.json()
    with api.kernel.db.session() as session:
        actions = set(session.scalars(select(LogEntry.action_type)))
    assert {"boxoffice.event.order.payment.confirmed", "boxoffice.event.order.paid"} <= actions
