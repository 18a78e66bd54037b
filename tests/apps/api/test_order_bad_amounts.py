"""Amounts and codes that do not fit answer 400 on every order endpoint that takes them (found by review)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from boxoffice.kernel.models import Item

ORDERS = "/api/v1/organizers/demo/events/democon/orders/"


@pytest.fixture
def order(api) -> str:
    with api.kernel.db.session() as session:
        item = session.scalar(select(Item.id))
    created = api.post(ORDERS, {"email": "a@example.org", "positions": [{"item": item}]})
    assert created.status_code == 201, created.text
    return created.json()["code"]


@pytest.mark.parametrize("fee", ["1e40", "NaN", "-1.00", "0.001"])
def test_cancellation_fee_out_of_range(api, order, fee):
    response = api.post(f"{ORDERS}{order}/mark_canceled/", {"cancellation_fee": fee})
    assert response.status_code == 400, response.text
    assert "cancellation_fee" in response.json()


@pytest.mark.parametrize("amount", ["1e40", "NaN", "-5.00"])
def test_recorded_payment_amount_out_of_range(api, order, amount):
    response = api.post(f"{ORDERS}{order}/payments/", {"amount": amount, "provider": "manual", "state": "created"})
    assert response.status_code == 400, response.text
    assert "amount" in response.json()


@pytest.mark.parametrize("amount", ["1e40", "NaN", "0.00"])
def test_recorded_refund_amount_out_of_range(api, order, amount):
    body = {"amount": amount, "provider": "manual", "state": "done", "source": "admin"}
    response = api.post(f"{ORDERS}{order}/refunds/", body)
    assert response.status_code == 400, response.text
    assert "amount" in response.json()


def test_patched_invoice_address_needs_a_real_country(api, order):
    response = api.patch(f"{ORDERS}{order}/", {"invoice_address": {"name": "A", "country": "ZZ"}})
    assert response.status_code == 400, response.text
    assert response.json()["invoice_address"]["country"]
    assert api.patch(f"{ORDERS}{order}/", {"invoice_address": {"name": "A", "country": "at"}}).status_code == 200
