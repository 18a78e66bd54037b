"""The bundled ``free`` payment provider: always there, only for zero totals, confirms at once."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from boxoffice.kernel.audit import Actor
from boxoffice.kernel.models import Event, Item, Organizer, Quota
from boxoffice.kernel.models.orders import Order
from boxoffice.kernel.orders import payments
from boxoffice.kernel.orders.drafts import OrderDraft, PositionDraft
from boxoffice.kernel.orders.placement import place_order
from boxoffice.kernel.orders.providers import payment_providers
from boxoffice.plugins.freepayment import FreePayment


@pytest.fixture
def event_id(kernel) -> int:
    with kernel.db.session() as session:
        organizer = Organizer(slug="org", name="Org", plugins=[])
        event = Event(organizer=organizer, slug="ev", name={"en": "Ev"}, date_from=datetime(2031, 1, 1, tzinfo=UTC))
        item = Item(event=event, name={"en": "Free ticket"}, default_price=Decimal("0.00"))
        session.add_all([organizer, event, item, Quota(event=event, name="All", size=5, items=[item])])
        session.flush()
        return event.id


def test_installed_as_a_core_like_plugin(kernel):
    meta = kernel.plugins.plugins["freepayment"].meta
    assert (meta.level, meta.togglable, meta.category) == ("global", False, "PAYMENT")


def test_offered_on_every_event_for_zero_totals_only(kernel, event_id):
    with kernel.db.session() as session:
        provider = payment_providers(kernel, session, session.get(Event, event_id))["free"]
    assert isinstance(provider, FreePayment)
    assert provider.is_implicit and provider.is_enabled
    assert provider.is_allowed(Decimal("0.00"))
    assert not provider.is_allowed(Decimal("0.01"))


def test_free_orders_are_placed_paid_through_it(kernel, event_id):
    with kernel.db.session() as session:
        event = session.get(Event, event_id)
        item_id = session.scalar(select(Item.id))
        order = place_order(
            kernel, session, event, OrderDraft(positions=[PositionDraft(item=item_id)]), actor=Actor.system()
        )
        assert order.status == "p"
        assert [(p.provider, p.state, p.amount) for p in order.payments] == [("free", "confirmed", Decimal("0.00"))]


def test_executing_a_free_payment_confirms_it_and_pays_the_order(kernel, event_id):
    with kernel.db.session() as session:
        event = session.get(Event, event_id)
        item_id = session.scalar(select(Item.id))
        draft = OrderDraft(positions=[PositionDraft(item=item_id)], require_approval=True)
        order = place_order(kernel, session, event, draft, actor=Actor.system())
        assert order.status == "n"
        order.require_approval = False  # approved
        payment = payments.create_payment(session, order, provider="free", amount=Decimal("0.00"))
        assert payments.execute_payment(kernel, session, payment, actor=Actor.system()) is None
    with kernel.db.session() as session:
        order = session.scalar(select(Order))
        assert order.status == "p" and order.payments[0].state == "confirmed"
