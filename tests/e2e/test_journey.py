"""The whole journey in a real browser: the organizer enables bank transfer and PDF tickets, a buyer on a phone
buys a ticket in the shop, the organizer marks the order paid, the buyer downloads the PDF ticket."""

from __future__ import annotations

import io
import re

from playwright.sync_api import expect
from pypdf import PdfReader

IBAN = "DE89 3704 0044 0532 0130 00"


def test_organizer_and_buyer_journey(desktop, phone, site, screenshot, fits_viewport, logged_in):
    organizer = desktop
    event_url = f"/control/event/{site.organizer}/{site.event}/"

    # The organizer switches on the two plugins and configures bank transfer.
    logged_in(organizer, site)
    organizer.goto(event_url + "plugins/")
    organizer.get_by_role("button", name="Enable Bank transfer").click()
    organizer.get_by_role("button", name="Enable PDF ticket output").click()
    expect(organizer.get_by_role("button", name="Disable Bank transfer")).to_be_visible()
    expect(organizer.get_by_role("button", name="Disable PDF ticket output")).to_be_visible()
    screenshot(organizer, "control-plugins")
    organizer.get_by_role("link", name="Settings of Bank transfer").click()
    organizer.get_by_label("Offer bank transfer to buyers at checkout").check()
    organizer.get_by_label("Name of the account holder.").fill("Demo Events Ltd.")
    organizer.get_by_label("IBAN of the account buyers pay into.").fill(IBAN)
    organizer.get_by_role("button", name="Save").first.click()
    expect(organizer.get_by_text("Your changes have been saved.")).to_be_visible()
    screenshot(organizer, "control-plugin-settings")

    # The buyer, on a phone, buys one ticket and chooses bank transfer.
    buyer = phone
    buyer.goto(f"/{site.organizer}/{site.event}/")
    assert fits_viewport(buyer)
    screenshot(buyer, "shop-event")
    buyer.locator("input[name^='item_']").first.fill("1")
    buyer.get_by_role("button", name="Add to cart").click()
    buyer.wait_for_url("**/cart/")
    screenshot(buyer, "shop-cart")
    buyer.get_by_role("link", name="Proceed to checkout").click()
    buyer.get_by_label("E-mail").first.fill("buyer@example.org")
    buyer.locator("input[name='payment'][value='banktransfer']").check()
    screenshot(buyer, "shop-checkout")
    buyer.get_by_role("button", name="Place binding order").click()
    buyer.wait_for_url(re.compile(r".*/order/[A-Z0-9]+/[A-Za-z0-9]+/$"))
    order_page = buyer.url
    code = re.search(r"/order/([A-Z0-9]+)/", order_page).group(1)
    assert buyer.locator(".order-status .badge").get_attribute("data-status") == "pending"
    instructions = buyer.locator(".payment-instructions").inner_text()
    assert IBAN.replace(" ", "") in instructions.replace(" ", "")
    assert f"{site.event.upper()}-{code}" in instructions
    assert fits_viewport(buyer)
    screenshot(buyer, "shop-order-pending")

    # The organizer finds the order, sees it on the dashboard and marks it paid.
    organizer.goto(event_url + "orders/")
    organizer.get_by_label("Search by order code, e-mail address or attendee").fill(code)
    organizer.get_by_role("button", name="Search").click()
    organizer.get_by_role("link", name=code).click()
    assert organizer.get_by_test_id("order-status").inner_text() == "pending"
    organizer.get_by_role("button", name="Mark as paid").click()
    assert organizer.get_by_test_id("order-status").inner_text() == "paid"
    assert "user:" in organizer.get_by_role("main").inner_text()
    screenshot(organizer, "control-order-paid")
    organizer.goto(event_url)
    assert organizer.get_by_test_id("revenue").inner_text().replace("\xa0", " ") == "€35.00"
    screenshot(organizer, "control-dashboard")

    # The buyer reloads the order page and downloads the PDF ticket.
    buyer.goto(order_page)
    assert buyer.locator(".order-status .badge").get_attribute("data-status") == "paid"
    screenshot(buyer, "shop-order-paid")
    link = buyer.locator(".downloads a").first
    with buyer.expect_download() as download_info:
        link.click()
    content = download_info.value.path().read_bytes()
    assert content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 1
    assert code in "".join(page.extract_text() or "" for page in reader.pages)
