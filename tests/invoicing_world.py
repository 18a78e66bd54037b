"""Invoice test world (shared by the kernel, plugin and API invoice tests): an organizer with two events, a taxed
ticket and helpers to place orders and read invoices; import ``invoice_world`` into a conftest to use it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from boxoffice.kernel import clock
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.models import Event, Item, Organizer, Quota
from boxoffice.kernel.models.invoices import Invoice
from boxoffice.kernel.models.orders import Order
from boxoffice.kernel.models.taxes import TaxRule
from boxoffice.kernel.orders.drafts import FeeDraft, InvoiceAddressDraft, OrderDraft, PositionDraft
from boxoffice.kernel.orders.placement import place_order

ACTOR = Actor("token", "1")
START = datetime(2031, 3, 1, 10, 0, tzinfo=UTC)


@dataclass
class InvoiceWorld:
    kernel: Kernel
    event_ids: dict[str, int]
    item_ids: dict[str, int]
    rule_ids: dict[str, int]

    def settings(self, event: str = "conf", **values: Any) -> None:
        with self.kernel.db.session() as session:
            self.kernel.settings_for(session, event=session.get(Event, self.event_ids[event])).update(values)

    def organizer_settings(self, **values: Any) -> None:
        with self.kernel.db.session() as session:
            organizer = session.scalar(select(Organizer).where(Organizer.slug == "org"))
            self.kernel.settings_for(session, organizer=organizer).update(values)

    def place(
        self, event: str = "conf", *, price: str = "119.00", count: int = 1, fee: str | None = None, **fields: Any
    ) -> str:
        positions = [PositionDraft(item=self.item_ids[event], price=Decimal(price)) for _ in range(count)]
        fees = [FeeDraft(fee_type="service", value=Decimal(fee), tax_rule=self.rule_ids[event])] if fee else []
        address = InvoiceAddressDraft(
            company="Acme GmbH",
            is_business=True,
            name="Erika Mustermann",
            street="Hauptstraße 1",
            zipcode="10115",
            city="Berlin",
            country="DE",
            vat_id="DE123456789",
        )
        fields.setdefault("email", "buyer@example.org")
        fields.setdefault("payment_provider", "manual")
        draft = OrderDraft(positions=positions, fees=fees, invoice_address=address, **fields)
        with self.kernel.db.session() as session:
            order = place_order(self.kernel, session, session.get(Event, self.event_ids[event]), draft, actor=ACTOR)
            return order.code

    def order(self, session: Any, code: str) -> Order:
        return session.scalar(select(Order).where(Order.code == code))

    def order_code(self, invoice: Invoice) -> str:
        with self.kernel.db.session() as session:
            return session.get(Order, invoice.order_id).code

    def invoices(self, code: str) -> list[Invoice]:
        with self.kernel.db.session() as session:
            order = self.order(session, code)
            found = list(session.scalars(select(Invoice).where(Invoice.order_id == order.id).order_by(Invoice.id)))
            for invoice in found:
                _ = invoice.lines, invoice.file_content
            return found


@pytest.fixture
def invoice_world(make_kernel: Callable[..., Kernel]) -> Iterator[InvoiceWorld]:
    kernel = make_kernel()
    with kernel.db.session() as session:
        organizer = Organizer(slug="org", name="Org Events", plugins=[])
        events, items, rules = {}, {}, {}
        for slug in ("conf", "fair"):
            event = Event(
                organizer=organizer,
                slug=slug,
                name={"en": slug.title(), "de": slug.title()},
                currency="EUR",
                date_from=datetime(2031, 6, 1, 9, tzinfo=UTC),
                location={"en": "Berlin"},
                timezone="Europe/Berlin",
            )
            rule = TaxRule(
                event=event,
                name={"en": "VAT", "de": "MwSt."},
                rate=Decimal("19.00"),
                code="S/standard",
                is_default=True,
            )
            item = Item(event=event, name={"en": "Ticket", "de": "Eintrittskarte"}, default_price=Decimal("119.00"))
            session.add_all([event, rule, item])
            session.flush()
            item.tax_rule_id = rule.id
            session.add(Quota(event=event, name="All", size=1000, items=[item]))
            events[slug], items[slug], rules[slug] = event, item, rule
        session.flush()
        event_ids = {slug: event.id for slug, event in events.items()}
        item_ids = {slug: item.id for slug, item in items.items()}
        rule_ids = {slug: rule.id for slug, rule in rules.items()}
        for event in events.values():
            kernel.settings_for(session, event=event).set("locales", ["en", "de"])
    with clock.time_machine(START):
        yield InvoiceWorld(kernel, event_ids, item_ids, rule_ids)
