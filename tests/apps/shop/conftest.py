"""Shop fixtures: one app for the module's tests, an event on sale with a product, a product with variations, a
quota and a question; a browser-like client that keeps cookies and sends the CSRF token with every form."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import insert

from boxoffice.apps.api import create_app
from boxoffice.kernel.config import Config
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.models import Event, Item, Organizer, Quota
from boxoffice.kernel.models.items import ItemVariation
from boxoffice.kernel.models.questions import Question, QuestionOption
from boxoffice.kernel.models.quotas import quota_variations
from boxoffice.kernel.orders.carts import create_cart_position
from boxoffice.kernel.orders.drafts import CartDraft

SHOP = "/demo/democon/"
BANK_ACCOUNT = {
    "payment_banktransfer_enabled": True,
    "payment_banktransfer_account_holder": "Demo Events GmbH",
    "payment_banktransfer_iban": "DE89370400440532013000",
    "payment_banktransfer_bic": "COBADEFFXXX",
}
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


@dataclass
class Shop:
    kernel: Kernel
    client: TestClient
    ids: dict[str, int] = field(default_factory=dict)

    def page(self, path: str = SHOP, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def submit(self, path: str, data: dict[str, Any] | list[tuple[str, str]], *, page: str | None = None) -> Any:
        """POST a form like a browser: the CSRF token is taken from ``page`` (the form's page)."""
        html = self.client.get(page or SHOP).text
        token = CSRF.search(html)
        assert token, "the page has no CSRF field"
        fields: dict[str, list[str]] = {}
        for name, value in data.items() if isinstance(data, dict) else data:
            fields.setdefault(name, []).append(str(value))
        fields["_csrf_token"] = [token.group(1)]
        return self.client.post(path, data=fields, follow_redirects=False)

    def checkout(self, **fields: Any) -> Any:
        """Submit the checkout form with ``fields`` (e-mail, payment, attendee names, answers)."""
        return self.submit(SHOP + "checkout/", fields, page=SHOP + "checkout/")

    def reserve_elsewhere(self, item: str, count: int, cart_id: str) -> None:
        """Put ``count`` of ``item`` into another buyer's cart, taking them from the quota."""
        with self.kernel.db.session() as session:
            event = session.get(Event, self.ids["event"])
            for _unit in range(count):
                draft = CartDraft(item=self.ids[item], price=Decimal("35.00"), cart_id=cart_id)
                create_cart_position(self.kernel, session, event, draft, shop_cart=True)

    def settings(self, **values: Any) -> None:
        """Store event settings."""
        with self.kernel.db.session() as session:
            event = session.get(Event, self.ids["event"])
            stored = self.kernel.settings_for(session, event=event)
            for key, value in values.items():
                stored.set(key, value)

    def enable_bank_transfer(self) -> None:
        self.settings(**BANK_ACCOUNT)

    def question(self, item_id: int, **fields: Any) -> int:
        """A question asked for ``item_id``; ``options`` as ``[(identifier, {"en": text}), …]``."""
        return add_question(self.kernel, item_id, event_id=self.ids["event"], **fields)

    def add(self, **quantities: int) -> Any:
        """Add to the cart: ``add(ticket=2)`` or ``add(**{"variation_3_4": 1})``."""
        data = {}
        for name, count in quantities.items():
            data[f"item_{self.ids[name]}" if name in self.ids else name] = str(count)
        return self.submit(SHOP + "cart/add", data)


def seed(kernel: Kernel) -> dict[str, int]:
    with kernel.db.session() as session:
        demo = Organizer(slug="demo", name="Demo Organizer", plugins=[])
        event = Event(
            organizer=demo,
            slug="democon",
            name={"en": "DemoCon", "de": "DemoKonferenz"},
            currency="EUR",
            date_from=datetime(2031, 5, 1, 9, 0, tzinfo=UTC),
            live=True,
            plugins=["banktransfer", "ticketoutputpdf"],
        )
        ticket = Item(event=event, name={"en": "Ticket", "de": "Eintritt"}, default_price=Decimal("35.00"), position=1)
        shirt = Item(event=event, name={"en": "Shirt", "de": "Hemd"}, default_price=Decimal("20.00"), position=2)
        shirt.has_variations = True
        small = ItemVariation(item=shirt, value={"en": "S"}, default_price=Decimal("18.00"), position=1)
        large = ItemVariation(item=shirt, value={"en": "L"}, position=2)
        session.add_all([demo, event, ticket, shirt, small, large])
        session.add(Quota(event=event, name="Tickets", size=5, items=[ticket]))
        shirts = Quota(event=event, name="Shirts", size=10, items=[shirt])
        session.add(shirts)
        session.flush()
        session.execute(
            insert(quota_variations),
            [{"quota_id": shirts.id, "variation_id": small.id}, {"quota_id": shirts.id, "variation_id": large.id}],
        )
        return {"event": event.id, "ticket": ticket.id, "shirt": shirt.id, "small": small.id, "large": large.id}


def add_question(kernel: Kernel, item_id: int, **fields: Any) -> int:
    with kernel.db.session() as session:
        options = fields.pop("options", [])
        question = Question(event_id=fields.pop("event_id"), **fields)
        question.items = [session.get(Item, item_id)]
        session.add(question)
        session.flush()
        for position, (identifier, text) in enumerate(options):
            session.add(QuestionOption(question_id=question.id, identifier=identifier, answer=text, position=position))
        return question.id


@pytest.fixture(scope="session")
def shop_client(migrated_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kernel, TestClient]]:
    kernel = Kernel(
        Config(database_url=migrated_url, data_dir=tmp_path_factory.mktemp("shop-data"), site_url="http://testserver")
    )
    with TestClient(app=create_app(kernel)) as client:
        yield kernel, client


@pytest.fixture
def shop(shop_client: tuple[Kernel, TestClient], empty_tables: Callable[[Kernel], None]) -> Iterator[Shop]:
    kernel, client = shop_client
    holder = Shop(kernel, client, seed(kernel))
    try:
        yield holder
    finally:
        client.cookies.clear()
        empty_tables(kernel)
