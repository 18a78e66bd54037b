"""Payments and refunds of an order through the API: recording, confirming, canceling, refunding, the order status
that follows from them, permissions, and pretix's error shapes."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.hookspecs.providers import PaymentException, PaymentProvider
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.models import Event, Item, LogEntry, Quota
from boxoffice.kernel.models.orders import Order, Transaction
from boxoffice.kernel.orders import lifecycle, payments

ORDERS = "/api/v1/organizers/demo/events/democon/orders/"


def item_id(api) -> int:
    with api.kernel.db.session() as session:
        return session.scalar(select(Item.id).where(Item.name["en"].as_string() == "Ticket"))


def place(api, **extra) -> str:
    body = {"email": "buyer@example.org", "positions": [{"item": item_id(api)}], **extra}
    response = api.post(ORDERS, body)
    assert response.status_code == 201, response.text
    return response.json()["code"]


def order_json(api, code: str) -> dict:
    return api.get(f"{ORDERS}{code}/").json()


def expire(api, code: str) -> None:
    with api.kernel.db.session() as session:
        order = session.scalar(select(Order).where(Order.code == code))
        lifecycle.mark_expired(api.kernel, session, order, actor=Actor.system())


def ledger_total(api, code: str) -> Decimal:
    with api.kernel.db.session() as session:
        rows = session.scalars(select(Transaction).join(Order).where(Order.code == code))
        return sum((Decimal(row.price) * row.count for row in rows), Decimal("0.00"))


# --- payments ------------------------------------------------------------------------------------------------------


def test_pending_manual_payment_confirmed_pays_the_order(api):
    code = place(api, payment_provider="manual")
    listed = api.get(f"{ORDERS}{code}/payments/")
    assert listed.status_code == 200
    body = listed.json()
    assert body["count"] == 1 and body["next"] is None
    payment = body["results"][0]
    assert set(payment) == {
        "local_id",
        "state",
        "amount",
        "created",
        "payment_date",
        "provider",
        "payment_url",
        "details",
    }
    assert payment["local_id"] == 1 and payment["state"] == "created" and payment["provider"] == "manual"
    assert payment["amount"] == "35.00" and payment["payment_date"] is None and payment["payment_url"]
    assert api.get(f"{ORDERS}{code}/payments/1/").json() == payment

    confirmed = api.post(f"{ORDERS}{code}/payments/1/confirm/", {"send_email": True})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["state"] == "confirmed"
    assert confirmed.json()["payment_date"] is not None and confirmed.json()["payment_url"] is None
    order = order_json(api, code)
    assert order["status"] == "p" and order["payment_date"] is not None
    again = api.post(f"{ORDERS}{code}/payments/1/confirm/")
    assert again.status_code == 400 and "detail" in again.json()
    with api.kernel.db.session() as session:
        actions = set(session.scalars(select(LogEntry.action_type)))
    assert {"boxoffice.event.order.payment.confirmed", "boxoffice.event.order.paid"} <= actions


def test_unknown_orders_and_payments_are_not_found(api):
    code = place(api, payment_provider="manual")
    assert api.get(f"{ORDERS}{code}/payments/2/").status_code == 404
    assert api.get(f"{ORDERS}{code}/payments/99999999999/").status_code == 404
    assert api.get(f"{ORDERS}ZZZZZ/payments/").status_code == 404
    assert api.post(f"{ORDERS}{code}/payments/7/confirm/").status_code == 404
    assert api.get(f"{ORDERS}{code}/refunds/1/").status_code == 404


def test_recording_payments_partial_then_covering(api):
    code = place(api)
    first = api.post(f"{ORDERS}{code}/payments/", {"state": "confirmed", "amount": "20.00", "provider": "manual"})
    assert first.status_code == 201, first.text
    assert first.json()["local_id"] == 1 and first.json()["state"] == "confirmed"
    assert order_json(api, code)["status"] == "n"
    second = api.post(
        f"{ORDERS}{code}/payments/",
        {"state": "confirmed", "amount": "15.00", "provider": "manual", "payment_date": "2030-01-02T03:04:05Z"},
    )
    assert second.status_code == 201
    assert second.json()["payment_date"] == "2030-01-02T03:04:05Z"
    order = order_json(api, code)
    assert order["status"] == "p" and [p["local_id"] for p in order["payments"]] == [1, 2]
    created = api.post(f"{ORDERS}{code}/payments/", {"amount": "1.00", "provider": "manual", "info": {"ref": "x"}})
    assert created.status_code == 201 and created.json()["state"] == "created"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"state": "refunded", "amount": "1.00", "provider": "manual"}, "state"),
        ({"state": "created", "amount": "-1.00", "provider": "manual"}, "amount"),
        ({"state": "created", "amount": "1.00", "provider": "banktransfer"}, "provider"),
        ({"state": "created", "provider": "manual"}, "amount"),
        ({"state": "created", "amount": "one", "provider": "manual"}, "amount"),
        ({"state": "created", "amount": "1.00", "provider": "manual", "send_email": "yes"}, "send_email"),
    ],
)
def test_recording_a_payment_validates_its_fields(api, body, field):
    code = place(api)
    response = api.post(f"{ORDERS}{code}/payments/", body)
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert order_json(api, code)["payments"] == []


def test_malformed_bodies_are_400(api):
    code = place(api, payment_provider="manual")
    response = api.client.post(
        f"{ORDERS}{code}/payments/1/confirm/",
        content=b"{nope",
        headers={**api.headers(), "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and "detail" in response.json()
    assert api.post(f"{ORDERS}{code}/payments/1/confirm/", [1]).status_code == 400
    assert api.post(f"{ORDERS}{code}/payments/1/confirm/", {"force": "maybe"}).json() == {
        "force": ["Must be a valid boolean."]
    }


def test_cancel_only_open_payments(api):
    code = place(api, payment_provider="manual")
    canceled = api.post(f"{ORDERS}{code}/payments/1/cancel/")
    assert canceled.status_code == 200 and canceled.json()["state"] == "canceled"
    assert api.post(f"{ORDERS}{code}/payments/1/cancel/").status_code == 400
    assert api.post(f"{ORDERS}{code}/payments/1/confirm/").status_code == 400
    assert order_json(api, code)["status"] == "n"


def test_confirming_for_an_expired_order_with_sold_out_quota_needs_force(api):
    code = place(api, payment_provider="manual")
    expire(api, code)
    with api.kernel.db.session() as session:
        session.execute(Quota.__table__.update().values(size=1))
    place(api)
    refused = api.post(f"{ORDERS}{code}/payments/1/confirm/", {"force": False})
    assert refused.status_code == 400
    assert "not enough quota" in refused.json()["detail"]
    assert api.get(f"{ORDERS}{code}/payments/1/").json()["state"] == "created"
    assert order_json(api, code)["status"] == "e"
    assert ledger_total(api, code) == Decimal("0.00")
    forced = api.post(f"{ORDERS}{code}/payments/1/confirm/", {"force": True})
    assert forced.status_code == 200, forced.text
    assert order_json(api, code)["status"] == "p"
    assert ledger_total(api, code) == Decimal("35.00")


# --- refunds -------------------------------------------------------------------------------------------------------


def test_refunding_a_confirmed_payment(api):
    code = place(api, payment_provider="manual", status="p")
    assert api.post(f"{ORDERS}{code}/payments/1/refund/", {"amount": "35.01"}).json().keys() == {"amount"}
    partial = api.post(f"{ORDERS}{code}/payments/1/refund/", {"amount": "10.00", "comment": "Overpaid"})
    assert partial.status_code == 200, partial.text
    body = partial.json()
    fields = "local_id state source amount payment created execution_date comment provider details"
    assert set(body) == set(fields.split())
    assert (body["local_id"], body["state"], body["source"], body["payment"]) == (1, "done", "admin", 1)
    assert body["amount"] == "10.00" and body["comment"] == "Overpaid" and body["execution_date"]
    assert api.get(f"{ORDERS}{code}/payments/1/").json()["state"] == "confirmed"
    rest = api.post(f"{ORDERS}{code}/payments/1/refund/", {})
    assert rest.json()["amount"] == "25.00"
    assert api.get(f"{ORDERS}{code}/payments/1/").json()["state"] == "refunded"
    assert api.post(f"{ORDERS}{code}/payments/1/refund/", {}).status_code == 400
    listed = api.get(f"{ORDERS}{code}/refunds/").json()
    assert [r["local_id"] for r in listed["results"]] == [1, 2]
    assert api.get(f"{ORDERS}{code}/refunds/2/").json() == listed["results"][1]
    # Refunds do not unpay an order on their own.
    assert order_json(api, code)["status"] == "p"


def test_refund_only_from_confirmed_and_mark_canceled(api):
    pending = place(api, payment_provider="manual")
    assert api.post(f"{ORDERS}{pending}/payments/1/refund/", {}).status_code == 400
    paid = place(api, payment_provider="manual", status="p")
    response = api.post(f"{ORDERS}{paid}/payments/1/refund/", {"mark_canceled": True})
    assert response.status_code == 200
    assert order_json(api, paid)["status"] == "c"
    assert ledger_total(api, paid) == Decimal("0.00")


def test_recorded_refunds_and_their_transitions(api):
    code = place(api, payment_provider="manual", status="p")
    created = api.post(
        f"{ORDERS}{code}/refunds/",
        {"state": "created", "source": "admin", "amount": "35.00", "payment": 1, "provider": "manual", "comment": "C"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["payment"] == 1 and created.json()["execution_date"] is None
    done = api.post(f"{ORDERS}{code}/refunds/1/done/")
    assert done.status_code == 200 and done.json()["state"] == "done" and done.json()["execution_date"]
    assert api.get(f"{ORDERS}{code}/payments/1/").json()["state"] == "refunded"
    assert api.post(f"{ORDERS}{code}/refunds/1/done/").status_code == 400
    assert api.post(f"{ORDERS}{code}/refunds/1/cancel/").status_code == 400
    assert api.post(f"{ORDERS}{code}/refunds/1/process/").status_code == 400

    api.post(f"{ORDERS}{code}/refunds/", {"state": "transit", "amount": "5.00", "provider": "manual"})
    canceled = api.post(f"{ORDERS}{code}/refunds/2/cancel/")
    assert canceled.status_code == 200 and canceled.json()["state"] == "canceled"


def test_processing_an_external_refund(api):
    kept = place(api, payment_provider="manual", status="p")
    api.post(
        f"{ORDERS}{kept}/refunds/", {"state": "external", "source": "external", "amount": "35.00", "provider": "manual"}
    )
    processed = api.post(f"{ORDERS}{kept}/refunds/1/process/", {"mark_canceled": False})
    assert processed.status_code == 200 and processed.json()["state"] == "done"
    assert order_json(api, kept)["status"] == "n"

    dropped = place(api, payment_provider="manual", status="p")
    api.post(f"{ORDERS}{dropped}/refunds/", {"state": "external", "amount": "35.00", "provider": "manual"})
    assert api.post(f"{ORDERS}{dropped}/refunds/1/process/", {"mark_canceled": True}).status_code == 200
    assert order_json(api, dropped)["status"] == "c"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"state": "later", "amount": "1.00", "provider": "manual"}, "state"),
        ({"source": "bank", "amount": "1.00", "provider": "manual"}, "source"),
        ({"amount": "1.00", "provider": "manual", "payment": 9}, "payment"),
        ({"amount": "1.00", "provider": "nope"}, "provider"),
        ({"amount": "0.00", "provider": "manual"}, "amount"),
        ({"provider": "manual"}, "amount"),
    ],
)
def test_recording_a_refund_validates_its_fields(api, body, field):
    code = place(api, payment_provider="manual", status="p")
    response = api.post(f"{ORDERS}{code}/refunds/", body)
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert order_json(api, code)["refunds"] == []


def test_mark_pending_with_a_recorded_refund(api):
    code = place(api, payment_provider="manual", status="p")
    response = api.post(
        f"{ORDERS}{code}/refunds/",
        {"state": "done", "amount": "35.00", "payment": 1, "provider": "manual", "mark_pending": True},
    )
    assert response.status_code == 201
    assert order_json(api, code)["status"] == "n"


class Card(PaymentProvider):
    identifier = "testcard"

    @property
    def verbose_name(self) -> str:
        return "Test card"

    def execute_payment(self, payment: Any) -> str | None:
        return None

    def payment_refund_supported(self, payment: Any) -> bool:
        return True

    def execute_refund(self, refund: Any) -> None:
        raise PaymentException("The processor is down.")

    def api_payment_details(self, payment: Any) -> dict[str, Any]:
        return {"last4": payment.info.get("last4")}


class CardPlugin:
    plugin_meta = PluginMeta(name="test card", level="global", togglable=False)

    @hookimpl
    def register_payment_providers(self, event: Any) -> type[PaymentProvider]:
        return Card


@pytest.fixture
def card(api) -> Iterator[None]:
    assert api.kernel.plugins.register(CardPlugin(), "testcard")
    try:
        yield
    finally:
        api.kernel.plugins.unregister("testcard")


def test_a_provider_refusing_a_refund_answers_400_and_keeps_the_failed_refund(api, card):
    code = place(api, payment_provider="testcard", status="p", payment_info={"last4": "4242"})
    assert api.get(f"{ORDERS}{code}/payments/1/").json()["details"] == {"last4": "4242"}
    response = api.post(f"{ORDERS}{code}/payments/1/refund/", {})
    assert response.status_code == 400
    assert "processor is down" in response.json()["detail"]
    refunds = api.get(f"{ORDERS}{code}/refunds/").json()["results"]
    assert [(r["state"], r["provider"]) for r in refunds] == [("failed", "testcard")]
    assert api.get(f"{ORDERS}{code}/payments/1/").json()["state"] == "confirmed"


# --- permissions ---------------------------------------------------------------------------------------------------


def test_reading_needs_order_read_and_writing_order_write(api):
    code = place(api, payment_provider="manual")
    reader = api.make_token(event_permissions=("event.orders:read",))
    stranger = api.make_token(event_permissions=("event.vouchers:read",))
    assert api.get(f"{ORDERS}{code}/payments/", token=reader).status_code == 200
    assert api.get(f"{ORDERS}{code}/refunds/", token=reader).status_code == 200
    assert api.get(f"{ORDERS}{code}/payments/", token=stranger).status_code == 403
    for path in ("payments/1/confirm/", "payments/1/cancel/", "payments/1/refund/", "refunds/1/done/"):
        assert api.post(f"{ORDERS}{code}/{path}", {}, token=reader).status_code == 403
    assert api.post(f"{ORDERS}{code}/payments/", {"amount": "1", "provider": "manual"}, token=reader).status_code == 403
    assert api.get(f"/api/v1/organizers/rival/events/rivalcon/orders/{code}/payments/").status_code == 403
    assert api.get(f"{ORDERS}{code}/payments/1/").json()["state"] == "created"


def test_ledger_balance_and_payment_sums_after_changes(api):
    code = place(api, payment_provider="manual")
    api.post(f"{ORDERS}{code}/payments/", {"state": "confirmed", "amount": "50.00", "provider": "manual"})
    api.post(f"{ORDERS}{code}/payments/2/refund/", {"amount": "15.00"})
    with api.kernel.db.session() as session:
        order = session.scalar(select(Order).where(Order.code == code))
        assert payments.paid_amount(order) == Decimal(order.total) == Decimal("35.00")
        assert session.get(Event, order.event_id).slug == "democon"
    assert order_json(api, code)["status"] == "p"
    assert ledger_total(api, code) == Decimal("35.00")
