"""Vouchers in the shop: redeeming opens products sold only with a voucher, sets the price, and the order redeems
the voucher (through the kernel's cart and order services)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from boxoffice.kernel.models import Event, Item, Quota
from boxoffice.kernel.models.orders import CartPosition, Order
from boxoffice.kernel.models.vouchers import Voucher

SHOP = "/demo/democon/"


def make_voucher(shop: Any, code: str, **fields: Any) -> int:
    with shop.kernel.db.session() as session:
        voucher = Voucher(event_id=shop.ids["event"], code=code, **fields)
        session.add(voucher)
        session.flush()
        return voucher.id


def secret_item(shop: Any) -> int:
    with shop.kernel.db.session() as session:
        event = session.get(Event, shop.ids["event"])
        item = Item(event=event, name={"en": "Backstage"}, default_price=Decimal("100.00"), require_voucher=True)
        session.add(item)
        session.flush()
        session.add(Quota(event=event, name="Backstage", size=3, items=[item]))
        return item.id


def test_a_voucher_opens_its_product_at_its_price_and_is_redeemed_by_the_order(shop):
    backstage = secret_item(shop)
    make_voucher(shop, "VIP2031", item_id=backstage, price_mode="set", value=Decimal("60.00"), max_usages=2)
    assert "Backstage" not in shop.page().text
    assert 'action="/demo/democon/redeem"' in shop.page().text

    page = shop.page(SHOP + "redeem?voucher=vip2031")
    assert page.status_code == 200
    assert "Backstage" in page.text and "€60.00" in page.text
    assert 'name="voucher" value="VIP2031"' in page.text
    response = shop.submit(
        SHOP + "cart/add", {f"item_{backstage}": "2", "voucher": "VIP2031"}, page=SHOP + "redeem?voucher=VIP2031"
    )
    assert response.headers["location"] == SHOP + "cart/"
    with shop.kernel.db.session() as session:
        assert [(p.price, p.voucher_id is not None) for p in session.scalars(select(CartPosition))] == [
            (Decimal("60.00"), True),
            (Decimal("60.00"), True),
        ]
    shop.enable_bank_transfer()
    response = shop.checkout(email="vip@example.com")
    assert response.status_code == 303, response.text
    with shop.kernel.db.session() as session:
        order = session.scalars(select(Order)).one()
        assert order.total == Decimal("120.00")
        assert session.scalars(select(Voucher)).one().redeemed == 2
    # Used up: redeeming it again says so.
    assert "This voucher has already been used." in shop.page(SHOP + "redeem?voucher=VIP2031").text


def test_more_than_the_voucher_allows_is_refused(shop):
    backstage = secret_item(shop)
    make_voucher(shop, "ONE", item_id=backstage, max_usages=1)
    page = shop.page(SHOP + "redeem?voucher=ONE").text
    assert f'name="item_{backstage}" min="0" max="1"' in page
    shop.submit(SHOP + "cart/add", {f"item_{backstage}": "2", "voucher": "ONE"}, page=SHOP + "redeem?voucher=ONE")
    assert "Only 1 of Backstage can be added to your cart." in shop.page().text
    with shop.kernel.db.session() as session:
        assert session.scalars(select(CartPosition)).all() == []


def test_unknown_and_useless_vouchers_are_explained(shop):
    assert "This voucher code is not known." in shop.page(SHOP + "redeem?voucher=NOPE").text
    make_voucher(shop, "SHIRTS", item_id=shop.ids["shirt"], variation_id=shop.ids["small"])
    with shop.kernel.db.session() as session:
        session.get(Item, shop.ids["shirt"]).active = False
    assert "not valid for any product that is on sale" in shop.page(SHOP + "redeem?voucher=SHIRTS").text
    response = shop.add(ticket=1, voucher="NOPE")
    assert response.headers["location"] == SHOP
    assert "This voucher code is not known." in shop.page().text


def test_a_voucher_for_a_variation_prices_only_that_variation(shop):
    make_voucher(
        shop,
        "SMALL",
        variation_id=shop.ids["small"],
        item_id=shop.ids["shirt"],
        price_mode="percent",
        value=Decimal("50"),
    )
    page = shop.page(SHOP + "redeem?voucher=SMALL").text
    assert "€9.00" in page  # half of the small shirt's 18.00
    assert "€20.00" in page  # the large one at its own price
    assert "With voucher" in page
