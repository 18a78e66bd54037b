"""The shop through HTTP, like a browser: event page, cart, checkout, order page, downloads."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from boxoffice.kernel import clock
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.models import Event, Item, Quota
from boxoffice.kernel.models.orders import CartPosition, Order, QuestionAnswer
from boxoffice.kernel.orders.lifecycle import mark_paid

SHOP = "/demo/democon/"


def set_event(shop: Any, **settings: Any) -> None:
    shop.settings(**settings)


def cart_rows(shop: Any) -> int:
    with shop.kernel.db.session() as session:
        return session.scalar(select(func.count()).select_from(CartPosition)) or 0


def only_order(shop: Any) -> Order:
    with shop.kernel.db.session() as session:
        order = session.scalars(select(Order)).one()
        _ = order.positions, order.payments, order.fees
        for position in order.positions:
            _ = position.answers
        session.expunge_all()
        return order


def test_event_page_lists_products_variations_prices(shop):
    page = shop.page()
    assert page.status_code == 200
    assert "DemoCon" in page.text
    assert "Ticket" in page.text and "€35.00" in page.text
    # A variation's own price, and the product's price for a variation without one.
    assert "€18.00" in page.text and "€20.00" in page.text
    assert f'name="item_{shop.ids["ticket"]}"' in page.text
    assert f'name="variation_{shop.ids["shirt"]}_{shop.ids["small"]}"' in page.text
    assert 'name="viewport"' in page.text


def test_unpublished_and_unknown_events_are_not_found(shop):
    with shop.kernel.db.session() as session:
        session.get(Event, shop.ids["event"]).live = False
    assert shop.page().status_code == 404
    assert shop.page("/demo/nothing/").status_code == 404
    assert "does not exist" in shop.page("/demo/nothing/").text


def test_add_to_cart_reserves_and_shows_the_countdown(shop):
    response = shop.add(ticket=2, **{f"variation_{shop.ids['shirt']}_{shop.ids['small']}": 1})
    assert response.status_code == 303
    assert response.headers["location"] == SHOP + "cart/"
    cart = shop.page(SHOP + "cart/")
    assert "added to your cart" in cart.text
    assert cart.text.count('name="position"') == 3
    assert "€88.00" in cart.text
    seconds = int(re.search(r'data-countdown-seconds="(\d+)"', cart.text).group(1))
    assert 29 * 60 < seconds <= 30 * 60
    assert "countdown.js" in cart.text
    assert cart_rows(shop) == 3
    # The reservation counts against the quota: 5 - 2 left.
    assert 'max="3"' in shop.page().text


def test_cart_ids_are_the_shops_not_the_apis(shop):
    shop.add(ticket=1)
    with shop.kernel.db.session() as session:
        cart_id = session.scalars(select(CartPosition.cart_id)).one()
    assert not cart_id.endswith("@api")


def test_more_than_the_quota_is_refused_and_nothing_is_reserved(shop):
    response = shop.add(ticket=6)
    assert response.headers["location"] == SHOP
    page = shop.page()
    assert "Only 5 of Ticket can be added to your cart." in page.text
    assert cart_rows(shop) == 0


def test_sold_out_products_are_marked_and_refused(shop):
    shop.reserve_elsewhere("ticket", 5, "someone-else")
    page = shop.page()
    assert "Sold out" in page.text
    assert f'name="item_{shop.ids["ticket"]}"' not in page.text
    response = shop.add(ticket=1)
    assert response.headers["location"] == SHOP
    assert "Ticket is sold out." in shop.page().text
    assert cart_rows(shop) == 5


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "99999999999999999999"])
def test_bad_quantities_are_explained(shop, value):
    response = shop.add(ticket=value)
    assert response.status_code == 303
    assert "Please enter a whole number of tickets." in shop.page().text
    assert cart_rows(shop) == 0


def test_nothing_selected(shop):
    shop.add(ticket=0)
    assert "You did not select any products." in shop.page().text


def test_order_limit(shop):
    set_event(shop, max_items_per_order=2)
    shop.add(ticket=3)
    assert "You cannot buy more than 2 tickets in one order." in shop.page().text
    assert cart_rows(shop) == 0


def test_forms_need_the_csrf_token(shop):
    shop.page()
    response = shop.client.post(SHOP + "cart/add", data={f"item_{shop.ids['ticket']}": "1"})
    assert response.status_code == 403
    assert cart_rows(shop) == 0


def test_removing_a_position(shop):
    shop.add(ticket=2)
    cart = shop.page(SHOP + "cart/").text
    position = re.search(r'name="position" value="(\d+)"', cart).group(1)
    response = shop.submit(SHOP + "cart/remove", {"position": position}, page=SHOP + "cart/")
    assert response.status_code == 303
    assert "removed from your cart" in shop.page(SHOP + "cart/").text
    assert cart_rows(shop) == 1
    # Again (or someone else's position, or garbage): a message, no error.
    for value in (position, "abc", "99999999999"):
        shop.submit(SHOP + "cart/remove", {"position": value}, page=SHOP + "cart/")
        assert "no longer in your cart" in shop.page(SHOP + "cart/").text
    assert cart_rows(shop) == 1


def test_an_expired_reservation_frees_the_quota(shop, monkeypatch):
    shop.enable_bank_transfer()
    shop.add(ticket=5)
    later = clock.now() + timedelta(minutes=31)
    monkeypatch.setattr(clock, "now", lambda: later)
    cart = shop.page(SHOP + "cart/").text
    assert "Your reservation has expired." in cart
    # The expired reservation holds nothing: another buyer gets the tickets …
    shop.reserve_elsewhere("ticket", 5, "faster-buyer")
    # … and the first buyer is told so at checkout instead of getting an order (or an error page).
    response = shop.checkout(email="late@example.com", payment="banktransfer")
    assert response.status_code == 400
    assert "no longer available in this quantity" in response.text
    with shop.kernel.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 0


def test_an_expired_reservation_still_orders_while_tickets_are_left(shop, monkeypatch):
    shop.add(ticket=1)
    later = clock.now() + timedelta(minutes=45)
    monkeypatch.setattr(clock, "now", lambda: later)
    shop.enable_bank_transfer()
    response = shop.checkout(email="late@example.com", payment="banktransfer")
    assert response.status_code == 303, response.text
    assert only_order(shop).status == "n"


def test_checkout_with_an_empty_cart_goes_back(shop):
    response = shop.client.get(SHOP + "checkout/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == SHOP


def add_questions(shop: Any) -> dict[str, int]:
    return {
        "age": shop.question(
            shop.ids["ticket"],
            question={"en": "Your age", "de": "Ihr Alter"},
            type="N",
            required=True,
            identifier="AGE",
            position=1,
            valid_number_min=Decimal(0),
            valid_number_max=Decimal(120),
        ),
        "diet": shop.question(
            shop.ids["ticket"],
            question={"en": "Diet"},
            type="C",
            required=False,
            identifier="DIET",
            position=2,
            options=[("VEG", {"en": "Vegetarian"}), ("ALL", {"en": "Anything"})],
        ),
    }


def test_checkout_asks_questions_and_attendee_names(shop):
    questions = add_questions(shop)
    with shop.kernel.db.session() as session:
        session.get(Item, shop.ids["ticket"]).personalized = True
    shop.enable_bank_transfer()
    shop.add(ticket=1)
    form = shop.page(SHOP + "checkout/").text
    position = re.search(r'name="attendee_name_(\d+)"', form).group(1)
    assert "Your age" in form and "Vegetarian" in form
    age = f"question_{position}_{questions['age']}"
    diet = f"question_{position}_{questions['diet']}"
    assert f'name="{age}"' in form and f'name="{diet}"' in form
    assert 'value="banktransfer"' in form

    # Missing and invalid answers come back marked, nothing is ordered.
    response = shop.checkout(email="not-an-address", payment="banktransfer", **{age: "200"})
    assert response.status_code == 400
    assert "Please enter a valid e-mail address." in response.text
    assert "Please enter the attendee&#39;s name." in response.text
    assert "Please enter a number in the allowed range." in response.text
    assert 'value="200"' in response.text  # what the buyer typed stays
    response = shop.checkout(email="a@example.com", payment="banktransfer", **{f"attendee_name_{position}": "Ada"})
    assert "This question must be answered." in response.text
    with shop.kernel.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 0

    option = re.search(r'name="' + diet + r'" value="(\d+)"', form).group(1)
    response = shop.checkout(
        email="ada@example.com",
        payment="banktransfer",
        **{f"attendee_name_{position}": "Ada Lovelace", age: "36", diet: option},
    )
    assert response.status_code == 303, response.text
    order = only_order(shop)
    assert order.email == "ada@example.com"
    (placed,) = order.positions
    assert placed.attendee_name_parts == {"_scheme": "full", "full_name": "Ada Lovelace"}
    answers = {answer.question_id: answer.answer for answer in placed.answers}
    assert answers == {questions["age"]: "36", questions["diet"]: "Vegetarian"}
    assert cart_rows(shop) == 0


def test_payment_method_is_required_and_must_be_offered(shop):
    shop.enable_bank_transfer()
    shop.add(ticket=1)
    response = shop.checkout(email="a@example.com", payment="")
    # One method only: it is chosen for the buyer.
    assert response.status_code == 303
    shop.add(ticket=1)
    set_event(shop, payment_manual_enabled=True)
    response = shop.checkout(email="a@example.com", payment="stripe")
    assert response.status_code == 400
    assert "Please choose a payment method." in response.text


def test_no_payment_method_is_a_message_not_an_error(shop):
    shop.add(ticket=1)
    response = shop.checkout(email="a@example.com")
    assert response.status_code == 400
    assert "No payment method is available for this order." in response.text


def test_bank_transfer_order_page_shows_instructions_and_then_downloads(shop):
    shop.enable_bank_transfer()
    shop.add(ticket=2)
    response = shop.checkout(email="buyer@example.com", payment="banktransfer")
    assert response.status_code == 303
    order = only_order(shop)
    assert response.headers["location"] == f"{SHOP}order/{order.code}/{order.secret}/"
    assert [(p.provider, p.state, p.amount) for p in order.payments] == [("banktransfer", "created", Decimal("70.00"))]
    page = shop.page(response.headers["location"])
    assert page.status_code == 200
    assert "Thank you! Your order has been placed." in page.text
    assert "Awaiting payment" in page.text
    assert f"DEMOCON-{order.code}" in page.text
    assert "DE89 3704 0044 0532 0130 00" in page.text
    assert "/download/" not in page.text

    with shop.kernel.db.session() as session:
        mark_paid(shop.kernel, session, session.get(Order, order.id), actor=Actor.system())
    page = shop.page(response.headers["location"])
    assert "Paid" in page.text
    download = f"{SHOP}order/{order.code}/{order.secret}/download/pdf/"
    assert download in page.text
    ticket = shop.page(download)
    assert ticket.status_code == 200
    assert ticket.headers["content-type"] == "application/pdf"
    assert ticket.content.startswith(b"%PDF")


def test_order_page_needs_the_secret(shop):
    shop.enable_bank_transfer()
    shop.add(ticket=1)
    shop.checkout(email="buyer@example.com", payment="banktransfer")
    order = only_order(shop)
    assert shop.page(f"{SHOP}order/{order.code}/wrongsecret/").status_code == 404
    assert shop.page(f"{SHOP}order/{order.code}/{order.secret}/download/pdf/").status_code == 404  # not paid
    assert shop.page(f"{SHOP}order/NOPE/{order.secret}/").status_code == 404


def test_free_orders_need_no_payment_and_are_paid(shop):
    with shop.kernel.db.session() as session:
        session.get(Item, shop.ids["ticket"]).default_price = Decimal("0.00")
    shop.add(ticket=1)
    form = shop.page(SHOP + "checkout/").text
    assert 'name="payment"' not in form
    response = shop.checkout(email="free@example.com")
    assert response.status_code == 303
    assert only_order(shop).status == "p"
    assert "download/pdf/" in shop.page(response.headers["location"]).text


def test_pages_announce_the_language_they_were_rendered_in(shop):
    chosen = shop.page(SHOP + "?lang=de", headers={"Accept-Language": "en"})
    assert '<html lang="de">' in chosen.text
    assert chosen.headers.get_list("content-language") == ["de"]
    remembered = shop.page(SHOP, headers={"Accept-Language": "en"})
    assert remembered.headers.get_list("content-language") == ["de"]
    missing = shop.page("/demo/no-such-event/nowhere/", headers={"Accept-Language": "en"})
    assert missing.status_code == 404
    assert missing.headers.get_list("content-language") == ["de"]
    shop.client.cookies.clear()
    negotiated = shop.page(SHOP, headers={"Accept-Language": "de"})
    assert negotiated.headers.get_list("content-language") == ["de"]
    english = shop.page(SHOP + "?lang=en", headers={"Accept-Language": "de"})
    assert english.headers.get_list("content-language") == ["en"]
    api = shop.client.get("/api/v1/organizers/", headers={"Accept-Language": "de"})
    assert api.headers.get_list("content-language") == ["de"]


def test_german(shop):
    page = shop.page(SHOP + "?lang=de")
    assert page.status_code == 200
    assert '<html lang="de">' in page.text
    assert "DemoKonferenz" in page.text and "Eintritt" in page.text
    assert "In den Warenkorb" in page.text
    assert "35,00" in page.text
    shop.add(ticket=9)
    assert "Nur 5 von Eintritt können in den Warenkorb gelegt werden." in shop.page().text
    shop.add(ticket=1)
    cart = shop.page(SHOP + "cart/").text
    assert "Ihr Warenkorb" in cart and "Verbleibende Zeit" in cart
    shop.settings(locales=["en", "de"])
    shop.enable_bank_transfer()
    response = shop.checkout(email="x", payment="banktransfer")
    assert "Bitte geben Sie eine gültige E-Mail-Adresse ein." in response.text
    response = shop.checkout(email="de@example.com", payment="banktransfer")
    order_page = shop.page(response.headers["location"]).text
    assert "Warten auf Zahlung" in order_page
    assert only_order(shop).locale == "de"


def test_quota_without_room_for_the_variation_is_unavailable(shop):
    with shop.kernel.db.session() as session:
        session.execute(Quota.__table__.delete().where(Quota.name == "Shirts"))
    page = shop.page()
    assert "Not available" in page.text
    assert f'name="variation_{shop.ids["shirt"]}_{shop.ids["small"]}"' not in page.text


def test_answers_are_stored_only_for_asked_questions(shop):
    add_questions(shop)
    shop.enable_bank_transfer()
    shop.add(ticket=1)
    form = shop.page(SHOP + "checkout/").text
    age = re.search(r'name="(question_\d+_\d+)" id', form).group(1)
    response = shop.checkout(email="a@example.com", payment="banktransfer", question_1_999999="x", **{age: "20"})
    assert response.status_code == 303
    with shop.kernel.db.session() as session:
        assert session.scalar(select(func.count()).select_from(QuestionAnswer)) == 1


def test_presale_window(shop):
    now = clock.now()
    with shop.kernel.db.session() as session:
        session.get(Event, shop.ids["event"]).presale_start = now + timedelta(days=1)
    page = shop.page().text
    assert "The presale for this event has not started yet." in page
    assert 'name="item_' not in page
    shop.add(ticket=1)  # a form posted anyway (an old tab) is refused with the reason
    assert "cannot be bought at the moment" in shop.page().text
    with shop.kernel.db.session() as session:
        event = session.get(Event, shop.ids["event"])
        event.presale_start, event.presale_end = None, now - timedelta(minutes=1)
    assert "The presale for this event is over." in shop.page().text
    assert cart_rows(shop) == 0


def test_products_not_for_sale_on_the_page(shop):
    from boxoffice.kernel.models.categories import ItemCategory

    now = clock.now()
    with shop.kernel.db.session() as session:
        event = session.get(Event, shop.ids["event"])
        addons = ItemCategory(event=event, name={"en": "Extras"}, is_addon=True)
        session.add(addons)
        session.flush()
        hidden = {
            "Inactive": {"active": False},
            "Voucher only": {"require_voucher": True},
            "Box office only": {"all_sales_channels": False, "limit_sales_channels": ["box"]},
            "Later hidden": {"available_from": now + timedelta(days=1)},
        }
        for name, fields in hidden.items():
            session.add(Item(event=event, name={"en": name}, default_price=Decimal(1), **fields))
        session.add(Item(event=event, name={"en": "Add-on"}, default_price=Decimal(1), category_id=addons.id))
        shown = Item(
            event=event,
            name={"en": "Early bird"},
            default_price=Decimal(1),
            available_until=now - timedelta(days=1),
            available_until_mode="info",
        )
        session.add(shown)
        session.flush()
        session.add(Quota(event=event, name="Early", size=10, items=[shown]))
    page = shop.page().text
    for name in ("Inactive", "Voucher only", "Box office only", "Later hidden", "Add-on"):
        assert name not in page
    assert "Early bird" in page and "No longer on sale" in page
    assert "Ticket" in page


def test_orders_awaiting_approval_show_no_payment_yet(shop):
    with shop.kernel.db.session() as session:
        session.get(Item, shop.ids["ticket"]).require_approval = True
    shop.enable_bank_transfer()
    shop.add(ticket=1)
    response = shop.checkout(email="a@example.com", payment="banktransfer")
    page = shop.page(response.headers["location"]).text
    assert "Awaiting approval by the organizer" in page
    assert "payment-instructions" not in page


def test_organizer_page_lists_published_events(shop):
    with shop.kernel.db.session() as session:
        event = session.get(Event, shop.ids["event"])
        session.add(
            Event(organizer_id=event.organizer_id, slug="hidden", name={"en": "Draft"}, date_from=event.date_from)
        )
    page = shop.page("/demo/")
    assert page.status_code == 200
    assert 'href="/demo/democon/"' in page.text
    assert "Draft" not in page.text
    assert shop.page("/nobody/").status_code == 404
    assert "Derzeit sind keine" not in shop.page("/demo/?lang=de").text
