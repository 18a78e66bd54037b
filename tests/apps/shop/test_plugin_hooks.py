"""What plugins do at checkout: refuse an order (validate_order), add fees (order_fee_calculation), and payment
providers that send the buyer to a processor or fail."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.hookspecs.providers import FeeLine, PaymentException, PaymentProvider, ValidationFailure
from boxoffice.kernel.models.orders import Order

SHOP = "/demo/democon/"


class Processor(PaymentProvider):
    identifier = "testprocessor"
    priority = 200

    @property
    def verbose_name(self) -> str:
        return "Test processor"

    @property
    def is_enabled(self) -> bool:
        return True

    def execute_payment(self, payment: Any) -> str | None:
        if payment.order.email.startswith("fail"):
            raise PaymentException("The card was declined.")
        return "https://processor.example/pay/123"


class Rules:
    plugin_meta = PluginMeta(name="shop rules", level="global", togglable=False)

    @hookimpl
    def validate_order(self, event: Any, positions: list[Any], email: str | None, invoice_address: Any) -> None:
        if email and email.endswith("@blocked.example"):
            raise ValidationFailure("Orders from this address are not accepted.")

    @hookimpl
    def order_fee_calculation(
        self, event: Any, positions: list[Any], invoice_address: Any, total: Decimal, payment_provider: str | None
    ) -> list[FeeLine]:
        return [FeeLine(fee_type="service", value=Decimal("1.50"), description="Booking fee")]

    @hookimpl
    def register_payment_providers(self, event: Any) -> type[PaymentProvider]:
        return Processor


@pytest.fixture
def rules(shop: Any) -> Iterator[None]:
    assert shop.kernel.plugins.register(Rules(), "testshoprules")
    try:
        yield
    finally:
        shop.kernel.plugins.unregister("testshoprules")


def test_a_plugin_refuses_the_order_with_its_message(shop, rules):
    shop.add(ticket=1)
    response = shop.checkout(email="x@blocked.example", payment="testprocessor")
    assert response.status_code == 400
    assert "Orders from this address are not accepted." in response.text
    with shop.kernel.db.session() as session:
        assert session.scalars(select(Order)).all() == []


def test_fees_and_a_processor_redirect(shop, rules):
    shop.add(ticket=1)
    form = shop.page(SHOP + "checkout/").text
    assert "Test processor" in form
    response = shop.checkout(email="buyer@example.com", payment="testprocessor")
    assert response.status_code == 303
    assert response.headers["location"] == "https://processor.example/pay/123"
    # The cart is done with, and the thank-you waits for the buyer's return to the shop.
    assert "Your cart is empty." in shop.page(SHOP + "cart/").text
    with shop.kernel.db.session() as session:
        order = session.scalars(select(Order)).one()
        assert order.total == Decimal("36.50")
        assert [(fee.fee_type, fee.value) for fee in order.fees] == [("service", Decimal("1.50"))]
        assert [p.provider for p in order.payments] == ["testprocessor"]
        page = shop.page(f"{SHOP}order/{order.code}/{order.secret}/").text
    assert "Booking fee" in page and "€36.50" in page


def test_a_failed_payment_keeps_the_order_and_says_so(shop, rules):
    shop.add(ticket=1)
    response = shop.checkout(email="fail@example.com", payment="testprocessor")
    assert response.status_code == 303
    assert "/order/" in response.headers["location"]
    page = shop.page(response.headers["location"]).text
    assert "The payment could not be completed: The card was declined." in page
    with shop.kernel.db.session() as session:
        order = session.scalars(select(Order)).one()
        assert [p.state for p in order.payments] == ["failed"]


def test_after_a_failed_payment_the_buyer_pays_another_way(shop, rules):
    shop.enable_bank_transfer()
    shop.add(ticket=1)
    response = shop.checkout(email="fail@example.com", payment="testprocessor")
    order_page = response.headers["location"]
    page = shop.page(order_page).text
    assert "Pay now" in page and 'value="banktransfer"' in page
    response = shop.submit(order_page + "pay", {"payment": "banktransfer"}, page=order_page)
    assert response.status_code == 303 and response.headers["location"] == order_page
    page = shop.page(order_page).text
    assert "Your payment method has been changed." in page
    assert "payment-instructions" in page and "DEMOCON-" in page
    with shop.kernel.db.session() as session:
        order = session.scalars(select(Order)).one()
        assert [(p.provider, p.state) for p in order.payments] == [
            ("testprocessor", "failed"),
            ("banktransfer", "created"),
        ]
        assert order.payments[1].amount == Decimal("36.50")


def test_switching_away_from_bank_transfer_and_refusals(shop, rules):
    shop.enable_bank_transfer()
    shop.add(ticket=1)
    response = shop.checkout(email="buyer@example.com", payment="banktransfer")
    order_page = response.headers["location"]
    page = shop.page(order_page).text
    # Bank transfer may be given up (nothing is reserved anywhere), so other methods are offered.
    assert "Pay with another method" in page and 'value="testprocessor"' in page
    for bad in ("banktransfer", "nothing", ""):
        shop.submit(order_page + "pay", {"payment": bad}, page=order_page)
        assert "Please choose a payment method." in shop.page(order_page).text
    response = shop.submit(order_page + "pay", {"payment": "testprocessor"}, page=order_page)
    assert response.headers["location"] == "https://processor.example/pay/123"
    with shop.kernel.db.session() as session:
        order = session.scalars(select(Order)).one()
        assert [(p.provider, p.state) for p in order.payments] == [
            ("banktransfer", "canceled"),
            ("testprocessor", "created"),
        ]
    # The processor's open attempt may not be given up: no more switching.
    assert "Pay with another method" not in shop.page(order_page).text
    assert shop.submit(order_page + "pay", {"payment": "banktransfer"}, page=SHOP).status_code == 303
    assert "Please choose a payment method." in shop.page(order_page).text
    assert shop.page("/demo/democon/order/NOPE/x/pay").status_code in (404, 405)
