"""Event series in the shop: the dates to pick from, a date's own prices and quotas, orders for that date."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from boxoffice.kernel import clock
from boxoffice.kernel.models import Event, Item, Quota
from boxoffice.kernel.models.orders import CartPosition, Order
from boxoffice.kernel.models.subevents import SubEvent, SubEventItem

SHOP = "/demo/democon/"


def make_series(shop: Any) -> dict[str, int]:
    now = clock.now()
    with shop.kernel.db.session() as session:
        event = session.get(Event, shop.ids["event"])
        event.has_subevents = True
        for quota in session.scalars(select(Quota)):
            session.delete(quota)
        ticket = session.get(Item, shop.ids["ticket"])
        friday = SubEvent(event=event, name={"en": "Friday"}, active=True, date_from=now + timedelta(days=5))
        saturday = SubEvent(event=event, name={"en": "Saturday"}, active=True, date_from=now + timedelta(days=6))
        past = SubEvent(event=event, name={"en": "Last week"}, active=True, date_from=now - timedelta(days=7))
        hidden = SubEvent(event=event, name={"en": "Draft"}, active=False, date_from=now + timedelta(days=8))
        session.add_all([friday, saturday, past, hidden])
        session.flush()
        session.add(Quota(event=event, subevent_id=friday.id, name="Fri", size=1, items=[ticket]))
        session.add(Quota(event=event, subevent_id=saturday.id, name="Sat", size=10, items=[ticket]))
        session.add(SubEventItem(subevent_id=saturday.id, item_id=ticket.id, price=Decimal("45.00")))
        return {"friday": friday.id, "saturday": saturday.id, "past": past.id, "hidden": hidden.id}


def test_the_series_page_lists_the_dates(shop):
    dates = make_series(shop)
    page = shop.page().text
    assert "Choose a date" in page
    assert f'href="{SHOP}{dates["friday"]}/"' in page and f'href="{SHOP}{dates["saturday"]}/"' in page
    assert "Last week" not in page and "Draft" not in page
    assert 'name="item_' not in page
    for date in ("past", "hidden"):
        assert shop.page(f"{SHOP}{dates[date]}/").status_code in (200, 404)
    assert shop.page(f"{SHOP}{dates['hidden']}/").status_code == 404
    assert "The presale for this event is over." in shop.page(f"{SHOP}{dates['past']}/").text


def test_buying_for_a_date(shop):
    dates = make_series(shop)
    saturday = shop.page(f"{SHOP}{dates['saturday']}/").text
    assert "€45.00" in saturday  # the date's own price
    friday = f"{SHOP}{dates['friday']}/"
    assert 'max="1"' in shop.page(friday).text  # the date's own quota
    response = shop.submit(
        SHOP + "cart/add", {f"item_{shop.ids['ticket']}": "2", "subevent": str(dates["friday"])}, page=friday
    )
    assert response.headers["location"] == friday
    assert "Only 1 of Ticket can be added to your cart." in shop.page(friday).text
    saturday_url = f"{SHOP}{dates['saturday']}/"
    shop.submit(
        SHOP + "cart/add", {f"item_{shop.ids['ticket']}": "2", "subevent": str(dates["saturday"])}, page=saturday_url
    )
    cart = shop.page(SHOP + "cart/").text
    assert "Saturday" in cart and "€90.00" in cart
    shop.enable_bank_transfer()
    response = shop.checkout(email="sat@example.com")
    assert response.status_code == 303, response.text
    with shop.kernel.db.session() as session:
        order = session.scalars(select(Order)).one()
        assert order.total == Decimal("90.00")
        assert {p.subevent_id for p in order.positions} == {dates["saturday"]}
        assert session.scalars(select(CartPosition)).all() == []


def test_a_date_must_be_chosen(shop):
    dates = make_series(shop)
    friday = f"{SHOP}{dates['friday']}/"
    for date in ("", "99999", "abc", str(dates["hidden"])):
        response = shop.submit(SHOP + "cart/add", {f"item_{shop.ids['ticket']}": "1", "subevent": date}, page=friday)
        assert response.headers["location"] == SHOP
        assert "Please choose a date." in shop.page().text
    with shop.kernel.db.session() as session:
        assert session.scalars(select(CartPosition)).all() == []
