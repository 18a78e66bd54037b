"""The shop's pages cost a fixed number of queries, whatever they show (no N+1)."""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from statements import counted

from boxoffice.kernel.audit import Actor
from boxoffice.kernel.models import Event, Item, Quota
from boxoffice.kernel.models.items import ItemVariation
from boxoffice.kernel.models.orders import Order
from boxoffice.kernel.models.quotas import quota_variations
from boxoffice.kernel.orders.lifecycle import mark_paid

SHOP = "/demo/democon/"


def page_statements(engine: Any) -> AbstractContextManager[list[str]]:
    # The web session's own reads and writes depend on whether the session changed, not on the page.
    return counted(engine, keep=lambda statement: "web_session" not in statement)


def more_products(shop: Any, count: int) -> None:
    """``count`` products, each with two variations, a quota and a question."""
    created: list[int] = []
    with shop.kernel.db.session() as session:
        event = session.get(Event, shop.ids["event"])
        start = session.query(Item).count()
        for number in range(start, start + count):
            item = Item(event=event, name={"en": f"Product {number}"}, default_price=Decimal("10.00"))
            item.has_variations = True
            item.personalized = True
            variations = [ItemVariation(item=item, value={"en": size}) for size in ("S", "L")]
            session.add_all([item, *variations])
            quota = Quota(event=event, name=f"Q{number}", size=50, items=[item])
            session.add(quota)
            session.flush()
            session.execute(
                insert(quota_variations), [{"quota_id": quota.id, "variation_id": v.id} for v in variations]
            )
            session.flush()
            created.append(item.id)
    for item_id in created:
        shop.question(item_id, question={"en": f"Q{item_id}?"}, type="S", identifier=f"Q{item_id}", required=True)


def queries(shop: Any, path: str) -> int:
    with page_statements(shop.kernel.db.engine) as statements:
        response = shop.page(path)
        assert response.status_code == 200, response.text
    return len(statements)


def fill_cart(shop: Any) -> None:
    page = shop.page().text
    fields = re.findall(r'name="((?:item|variation)_[\d_]+)"', page)
    response = shop.submit(SHOP + "cart/add", {name: "1" for name in fields})
    assert response.headers["location"].endswith("/cart/")


def test_event_page_cart_and_checkout_do_not_grow_with_the_products(shop):
    shop.settings(max_items_per_order=100)
    for path in (SHOP, SHOP + "cart/", SHOP + "checkout/"):
        shop.client.cookies.clear()
        more_products(shop, 1)
        fill_cart(shop)
        few = queries(shop, path)
        shop.client.cookies.clear()
        more_products(shop, 6)
        fill_cart(shop)
        assert shop.page(SHOP).text.count("Product ") >= 7
        many = queries(shop, path)
        assert many == few, path


def test_order_page_does_not_grow_with_the_positions(shop):
    shop.enable_bank_transfer()

    def order_page(tickets: int) -> int:
        shop.client.cookies.clear()
        shop.add(ticket=tickets)
        response = shop.checkout(email="q@example.com")
        assert response.status_code == 303, response.text
        with shop.kernel.db.session() as session:
            order = session.scalars(select(Order).order_by(Order.id.desc()).limit(1)).one()
            mark_paid(shop.kernel, session, order, actor=Actor.system())
        return queries(shop, response.headers["location"])

    assert order_page(1) == order_page(4)
