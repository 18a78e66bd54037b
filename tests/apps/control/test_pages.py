"""Control panel pages through HTTP: sales figures, orders, products, quotas, plugins and their settings, tokens,
permissions as the API grants them, and a fixed number of queries per page."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select
from statements import counted

from boxoffice.kernel.models import Event, Item, LogEntry, Quota, Setting
from boxoffice.kernel.models.orders import Order

DEMO = "/control/event/demo/democon/"


def order_status(control, code: str) -> str:
    with control.kernel.db.session() as session:
        return session.scalar(select(Order.status).where(Order.code == code))


def test_event_list_shows_only_the_users_organizers(admin):
    page = admin.client.get("/control/")
    assert "DemoCon" in page.text and "Other" in page.text
    assert "RivalCon" not in page.text


def test_dashboard_figures(admin):
    paid = admin.place_order(count=2)
    admin.place_order()
    admin.post(f"{DEMO}orders/{paid}/mark-paid")
    page = admin.client.get(DEMO)
    assert page.status_code == 200
    assert "€70.00" in page.text  # revenue: the paid order
    assert "Awaiting payment: €35.00" in page.text
    quota_row = re.search(r"<td data-label=\"Quota\">Tickets</td>(.*?)</tr>", page.text, re.S).group(1)
    assert [int(n) for n in re.findall(r">(\d+)</td>", quota_row)] == [2, 1, 0, 100]
    assert "3&nbsp;%" in quota_row


def test_foreign_events_are_not_found(admin):
    assert admin.client.get("/control/event/rival/rivalcon/").status_code == 404
    assert admin.client.get("/control/event/demo/nope/orders/").status_code == 404


def test_order_search_and_paging(admin):
    codes = [admin.place_order(email=f"buyer{n}@example.org") for n in range(27)]
    first = admin.client.get(f"{DEMO}orders/")
    assert "27 orders" in first.text and "Page 1 of 2" in first.text
    assert len(re.findall(r'<a href="/control/event/demo/democon/orders/[A-Z0-9]+/">', first.text)) == 25
    second = admin.client.get(f"{DEMO}orders/?page=2")
    assert len(re.findall(r'<a href="/control/event/demo/democon/orders/[A-Z0-9]+/">', second.text)) == 2
    by_code = admin.client.get(f"{DEMO}orders/", params={"q": codes[3].lower()})
    assert "1 order" in by_code.text and codes[3] in by_code.text
    by_mail = admin.client.get(f"{DEMO}orders/", params={"q": "BUYER12@"})
    assert "1 order" in by_mail.text and codes[12] in by_mail.text
    assert "0 orders" in admin.client.get(f"{DEMO}orders/", params={"status": "p"}).text
    assert admin.client.get(f"{DEMO}orders/?page=0").status_code == 400
    assert admin.client.get(f"{DEMO}orders/?page=x").status_code == 400


def test_mark_paid_and_cancel_are_audit_logged_as_the_user(admin):
    code = admin.place_order()
    detail = admin.client.get(f"{DEMO}orders/{code}/")
    assert "Mark as paid" in detail.text and "Cancel order" in detail.text
    paid = admin.post(f"{DEMO}orders/{code}/mark-paid")
    assert paid.status_code == 200 and "marked as paid" in paid.text
    assert order_status(admin, code) == "p"
    again = admin.post(f"{DEMO}orders/{code}/mark-paid")
    assert "Only pending or expired orders" in again.text
    admin.post(f"{DEMO}orders/{code}/cancel")
    assert order_status(admin, code) == "c"
    user_id = str(admin.users["admin@example.org"])
    with admin.kernel.db.session() as session:
        actions = session.execute(
            select(LogEntry.action_type, LogEntry.actor_type, LogEntry.actor_id).where(LogEntry.object_type == "order")
        ).all()
    assert ("boxoffice.event.order.paid", "user", user_id) in actions
    assert ("boxoffice.event.order.canceled", "user", user_id) in actions
    assert admin.client.get(f"{DEMO}orders/NOPE1/").status_code == 404


def test_order_permissions_follow_the_team(control):
    control.add_user(
        "reader@example.org",
        all_event_permissions=False,
        all_organizer_permissions=False,
        limit_event_permissions=["event.orders:read"],
    )
    code = control.place_order()
    control.log_in("reader@example.org")
    detail = control.client.get(f"{DEMO}orders/{code}/")
    assert detail.status_code == 200 and "Mark as paid" not in detail.text
    assert control.post(f"{DEMO}orders/{code}/mark-paid").status_code == 403
    assert order_status(control, code) == "n"
    assert control.post(f"{DEMO}plugins/banktransfer/enable").status_code == 403
    assert control.client.get("/control/organizer/demo/tokens").status_code == 403
    assert control.post("/control/organizer/demo/plugins/reports/enable").status_code == 403


def test_limited_events(control):
    control.add_user("other@example.org", all_events=False, events=("other",))
    control.log_in("other@example.org")
    assert control.client.get(DEMO).status_code == 404
    assert control.client.get("/control/event/demo/other/").status_code == 200
    assert "DemoCon" not in control.client.get("/control/").text


def test_products_create_and_edit(admin):
    with admin.kernel.db.session() as session:
        quota_id = session.scalar(select(Quota.id))
    bad = admin.post(f"{DEMO}products/", {"name_en": "", "price": "abc", "quota": "999999"})
    assert bad.status_code == 400
    assert "Enter a name." in bad.text and "Enter a price" in bad.text and "Choose one of the event" in bad.text
    created = admin.post(
        f"{DEMO}products/",
        {"name_en": "VIP", "name_de": "VIP-Karte", "price": "99,50", "quota": str(quota_id), "active": "on"},
    )
    assert created.status_code == 200 and "VIP" in created.text
    with admin.kernel.db.session() as session:
        item = session.scalar(select(Item).where(Item.name["en"].as_string() == "VIP"))
        assert (item.default_price, item.name, item.active) == (
            Decimal("99.50"),
            {"en": "VIP", "de": "VIP-Karte"},
            True,
        )
        assert item.id in {i.id for i in session.get(Quota, quota_id).items}
        item_id = item.id
    admin.post(f"{DEMO}products/{item_id}", {"name_en": "VIP", "price": "120"})
    with admin.kernel.db.session() as session:
        item = session.get(Item, item_id)
        assert (item.default_price, item.active, item.name) == (Decimal("120.00"), False, {"en": "VIP"})
        logged = session.scalars(select(LogEntry.action_type).where(LogEntry.object_type == "item")).all()
    assert logged == ["boxoffice.event.item.added", "boxoffice.event.item.changed"]
    assert admin.post(f"{DEMO}products/999999", {"name_en": "x", "price": "1"}).status_code == 404


def test_quotas_create_and_edit(admin):
    with admin.kernel.db.session() as session:
        item_id = session.scalar(select(Item.id))
    bad = admin.post(f"{DEMO}quotas/", {"name": "", "size": "-3"})
    assert bad.status_code == 400 and "Enter a name" in bad.text and "whole number" in bad.text
    admin.post(f"{DEMO}quotas/", {"name": "Day 2", "size": "50", "items": str(item_id)})
    with admin.kernel.db.session() as session:
        quota = session.scalar(select(Quota).where(Quota.name == "Day 2"))
        assert (quota.size, [i.id for i in quota.items]) == (50, [item_id])
        quota_id = quota.id
    admin.post(f"{DEMO}quotas/{quota_id}", {"name": "Day 2", "size": ""})
    with admin.kernel.db.session() as session:
        quota = session.get(Quota, quota_id)
        assert (quota.size, quota.items) == (None, [])
    assert "unlimited" in admin.client.get(f"{DEMO}quotas/").text


def test_plugins_enable_configure_disable(admin):
    plugins = admin.client.get(f"{DEMO}plugins/")
    assert "Bank transfer" in plugins.text and "Payment by bank transfer" in plugins.text
    assert "PDF ticket output" in plugins.text
    assert admin.client.get(f"{DEMO}plugins/banktransfer/").status_code == 404  # not enabled yet
    enabled = admin.post(f"{DEMO}plugins/banktransfer/enable")
    assert "Bank transfer is enabled." in enabled.text
    settings = admin.client.get(f"{DEMO}plugins/banktransfer/")
    assert "IBAN of the account buyers pay into." in settings.text
    assert 'name="payment_banktransfer_bank_details_type"' in settings.text
    assert "Bank transactions" in settings.text  # the plugin's navigation entry

    refused = admin.post(
        f"{DEMO}plugins/banktransfer/",
        {
            "form": "0",
            "payment_banktransfer_enabled": "on",
            "payment_banktransfer_iban": "DE00 1234",
            "payment_banktransfer_days_until_expiry": "soon",
            "payment_banktransfer_bank_details_type": "sepa",
        },
    )
    assert refused.status_code == 400 and "errorlist" in refused.text
    saved = admin.post(
        f"{DEMO}plugins/banktransfer/",
        {
            "form": "0",
            "payment_banktransfer_enabled": "on",
            "payment_banktransfer_iban": "DE89 3704 0044 0532 0130 00",
            "payment_banktransfer_account_holder": "Demo Events",
            "payment_banktransfer_days_until_expiry": "5",
            "payment_banktransfer_bank_details_type": "sepa",
        },
    )
    assert saved.status_code == 200 and "Your changes have been saved." in saved.text
    with admin.kernel.db.session() as session:
        event = session.scalar(select(Event).where(Event.slug == "democon"))
        settings = admin.kernel.settings_for(session, event=event)
        assert settings.get("payment_banktransfer_enabled") is True
        assert settings.get("payment_banktransfer_days_until_expiry") == 5
        assert settings.get("payment_banktransfer_account_holder") == "Demo Events"
        assert "banktransfer" in event.plugins
        logged = session.scalars(select(LogEntry).where(LogEntry.action_type == "boxoffice.event.settings")).all()
        assert [entry.actor_type for entry in logged] == ["user"]

    transactions = admin.client.get(f"{DEMO}p/banktransfer/transactions")
    assert transactions.status_code == 200 and "No bank transactions" in transactions.text

    admin.post(f"{DEMO}plugins/ticketoutputpdf/enable")
    pdf = admin.client.get(f"{DEMO}plugins/ticketoutputpdf/")
    assert "Offer tickets as PDF downloads to buyers" in pdf.text
    admin.post(f"{DEMO}plugins/ticketoutputpdf/", {"form": "0"})
    with admin.kernel.db.session() as session:
        event = session.scalar(select(Event).where(Event.slug == "democon"))
        assert admin.kernel.settings_for(session, event=event).get("ticketoutput_pdf__enabled") is False

    admin.post(f"{DEMO}plugins/banktransfer/disable")
    assert admin.client.get(f"{DEMO}p/banktransfer/transactions").status_code == 404
    assert admin.post(f"{DEMO}plugins/nonexistent/enable").status_code == 404


def test_plugin_pages_need_a_log_in(control):
    response = control.client.get(f"{DEMO}p/banktransfer/transactions", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/control/login")


def test_api_tokens(admin):
    page = admin.client.get("/control/organizer/demo/tokens")
    team_id = re.search(r'name="team" value="(\d+)"', page.text).group(1)
    created = admin.post("/control/organizer/demo/tokens", {"team": team_id, "name": "export script"})
    assert created.status_code == 201
    token = re.search(r'data-testid="new-token">([^<]+)<', created.text).group(1)
    api = admin.client.get("/api/v1/organizers/demo/events/", headers={"Authorization": f"Token {token}"})
    assert api.status_code == 200
    assert admin.post("/control/organizer/demo/tokens", {"team": team_id, "name": ""}).status_code == 400
    assert admin.post("/control/organizer/demo/tokens", {"team": "999999", "name": "x"}).status_code == 404
    assert admin.client.get("/control/organizer/rival/tokens").status_code == 404


def test_german_pages(admin):
    page = admin.client.get(f"{DEMO}?lang=de")
    assert "Umsatz" in page.text and "DemoKon" in page.text and "Bestellungen" in page.text


@pytest.mark.parametrize("path", ["", "orders/", "products/", "quotas/", "plugins/"])
def test_pages_cost_a_fixed_number_of_queries(admin, path):
    admin.post(f"{DEMO}plugins/banktransfer/enable")

    def queries() -> int:
        with counted(admin.kernel.db.engine) as statements:
            assert admin.client.get(DEMO + path).status_code == 200
        return len(statements)

    for number in range(2):
        admin.place_order(email=f"first{number}@example.org", count=2)
        admin.post(f"{DEMO}products/", {"name_en": f"Extra {number}", "price": "5"})
        admin.post(f"{DEMO}quotas/", {"name": f"Extra {number}", "size": "5"})
    few = queries()
    for number in range(6):
        admin.place_order(email=f"more{number}@example.org", count=3)
        admin.post(f"{DEMO}products/", {"name_en": f"More {number}", "price": "5"})
        admin.post(f"{DEMO}quotas/", {"name": f"More {number}", "size": "5"})
    assert queries() == few


def test_order_detail_costs_a_fixed_number_of_queries(admin):
    small, large = admin.place_order(count=1), admin.place_order(count=8)

    def queries(code: str) -> int:
        with counted(admin.kernel.db.engine) as statements:
            assert admin.client.get(f"{DEMO}orders/{code}/").status_code == 200
        return len(statements)

    assert queries(small) == queries(large)


def test_settings_table_untouched_by_reading(admin):
    admin.client.get(DEMO)
    with admin.kernel.db.session() as session:
        assert session.scalar(select(Setting.id)) is None


def test_organizer_plugins_allow_hybrid_plugins_on_events(admin):
    listing = admin.client.get("/control/organizer/demo/plugins/")
    assert listing.status_code == 200 and "Reports" in listing.text
    assert "Bank transfer" not in listing.text  # an event-level plugin
    refused = admin.post(f"{DEMO}plugins/reports/enable")
    assert "must be enabled for the organizer" in refused.text
    admin.post("/control/organizer/demo/plugins/reports/enable")
    admin.post(f"{DEMO}plugins/reports/enable")
    with admin.kernel.db.session() as session:
        event = session.scalar(select(Event).where(Event.slug == "democon"))
        assert "reports" in event.organizer.plugins and "reports" in event.plugins
    assert admin.post("/control/organizer/demo/plugins/banktransfer/enable").status_code == 404
    assert admin.client.get("/control/organizer/rival/plugins/").status_code == 404


def test_bank_transfer_pages_in_german(admin):
    admin.post(f"{DEMO}plugins/banktransfer/enable")
    page = admin.client.get(f"{DEMO}p/banktransfer/transactions?lang=de")
    assert "Bankumsätze" in page.text and "noch keine Bankumsätze" in page.text
    assert "Banküberweisung" in admin.client.get(f"{DEMO}plugins/banktransfer/").text
