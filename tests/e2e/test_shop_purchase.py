"""A buyer's purchase in a real browser on a phone-sized viewport: event page, cart with countdown, checkout with a
question and bank transfer, the order page with the bank details, and — once paid — the PDF download."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from boxoffice.kernel.activation import enable_plugin
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.models import Event, Item, Organizer
from boxoffice.kernel.models.orders import Order
from boxoffice.kernel.models.questions import Question
from boxoffice.kernel.orders.lifecycle import mark_paid

BANK_ACCOUNT = {
    "payment_banktransfer_enabled": True,
    "payment_banktransfer_account_holder": "Demo Events GmbH",
    "payment_banktransfer_iban": "DE89370400440532013000",
}


@pytest.fixture(scope="module")
def shop_event(site: Any) -> dict[str, Any]:
    """The demo event selling with bank transfer and PDF tickets, a question on its ticket, German offered."""
    kernel = site.kernel
    actor = Actor("cli")
    with kernel.db.session() as session:
        event = session.scalar(
            select(Event).join(Organizer).where(Organizer.slug == site.organizer, Event.slug == site.event)
        )
        for plugin in ("banktransfer", "ticketoutputpdf"):
            if plugin not in (event.plugins or []):
                enable_plugin(kernel, session, event, plugin, actor=actor, as_admin=True)
        settings = kernel.settings_for(session, event=event)
        for key, value in {**BANK_ACCOUNT, "locales": ["en", "de"]}.items():
            settings.set(key, value)
        item = session.scalars(select(Item).where(Item.event_id == event.id)).first()
        question = Question(
            event_id=event.id,
            question={"en": "Company", "de": "Firma"},
            type="S",
            required=True,
            identifier="COMPANY",
        )
        question.items = [item]
        session.add(question)
        return {"item": item.id, "path": f"/{site.organizer}/{site.event}/"}


def test_phone_purchase_with_bank_transfer_and_pdf_download(phone, site, shop_event, screenshot, fits_viewport):
    page = phone
    page.goto(shop_event["path"])
    expect(page.get_by_role("heading", name="DemoCon").first).to_be_visible()
    assert fits_viewport(page)
    screenshot(page, "shop-event")

    page.locator(f'input[name="item_{shop_event["item"]}"]').fill("2")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url("**/cart/")
    expect(page.get_by_text("The products have been added to your cart.")).to_be_visible()
    clock = page.locator(".countdown-clock")
    first = clock.inner_text()
    assert re.fullmatch(r"\d+:\d\d", first)
    # The countdown script keeps the clock ticking without reloading the page.
    page.wait_for_function(f"document.querySelector('.countdown-clock').textContent !== {first!r}", timeout=5000)
    assert fits_viewport(page)
    screenshot(page, "shop-cart")

    page.get_by_role("link", name="Proceed to checkout").click()
    page.wait_for_url("**/checkout/")
    # Submitting without answers keeps the buyer on the form with the problems marked.
    page.get_by_role("button", name="Place binding order").click()
    expect(page.get_by_text("Please enter a valid e-mail address.")).to_be_visible()
    expect(page.get_by_text("This question must be answered.").first).to_be_visible()
    assert fits_viewport(page)
    screenshot(page, "shop-checkout-errors")

    page.get_by_label("E-mail").fill("buyer@example.com")
    for field in page.get_by_label("Company").all():
        field.fill("ACME")
    page.get_by_label("Bank transfer").check()
    screenshot(page, "shop-checkout")
    page.get_by_role("button", name="Place binding order").click()
    page.wait_for_url(re.compile(r".*/order/[A-Z0-9]+/[a-z0-9]+/$"))
    code = re.search(r"/order/([A-Z0-9]+)/", page.url).group(1)
    expect(page.get_by_text("Thank you! Your order has been placed.")).to_be_visible()
    assert page.locator(".order-status .badge").get_attribute("data-status") == "pending"
    instructions = page.locator(".payment-instructions").inner_text()
    assert f"DEMOCON-{code}" in instructions
    assert "DE89 3704 0044 0532 0130 00" in instructions
    assert fits_viewport(page)
    screenshot(page, "shop-order-pending")

    with site.kernel.db.session() as session:
        order = session.scalar(select(Order).where(Order.code == code))
        assert order.email == "buyer@example.com" and len(order.positions) == 2
        mark_paid(site.kernel, session, order, actor=Actor("cli"))
    page.reload()
    assert page.locator(".order-status .badge").get_attribute("data-status") == "paid"
    screenshot(page, "shop-order-paid")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download (PDF)").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as handle:
        assert handle.read(4) == b"%PDF"


def test_phone_shop_in_german(phone, site, shop_event, screenshot, fits_viewport):
    page = phone
    page.goto(shop_event["path"] + "?lang=de")
    expect(page.get_by_role("button", name="In den Warenkorb")).to_be_visible()
    page.locator(f'input[name="item_{shop_event["item"]}"]').fill("1")
    page.get_by_role("button", name="In den Warenkorb").click()
    page.wait_for_url("**/cart/")
    expect(page.get_by_text("Verbleibende Zeit:")).to_be_visible()
    assert fits_viewport(page)
    screenshot(page, "shop-cart-de")
