"""The bundled ``manual`` payment provider: usable through the API always, offered to buyers only when enabled,
never moves money itself."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from boxoffice.kernel.audit import Actor
from boxoffice.kernel.models import Event, Item, Organizer, Quota
from boxoffice.kernel.orders import payments
from boxoffice.kernel.orders.drafts import OrderDraft, PositionDraft
from boxoffice.kernel.orders.placement import place_order
from boxoffice.kernel.orders.providers import payment_providers
from boxoffice.plugins.manualpayment import ManualPayment


@pytest.fixture
def event_id(kernel) -> int:
    with kernel.db.session() as session:
        organizer = Organizer(slug="org", name="Org", plugins=[])
        event = Event(organizer=organizer, slug="ev", name={"en": "Ev"}, date_from=datetime(2031, 1, 1, tzinfo=UTC))
        item = Item(event=event, name={"en": "Ticket"}, default_price=Decimal("20.00"))
        session.add_all([organizer, event, item, Quota(event=event, name="All", size=5, items=[item])])
        session.flush()
        return event.id


def manual(kernel, session, event_id) -> ManualPayment:
    provider = payment_providers(kernel, session, session.get(Event, event_id))["manual"]
    assert isinstance(provider, ManualPayment)
    return provider


def test_installed_as_a_core_like_plugin(kernel):
    meta = kernel.plugins.plugins["manualpayment"].meta
    assert (meta.level, meta.togglable, meta.category) == ("global", False, "PAYMENT")


def test_offered_at_checkout_only_once_enabled(kernel, event_id):
    with kernel.db.session() as session:
        provider = manual(kernel, session, event_id)
        assert not provider.is_enabled and not provider.is_implicit
        assert provider.public_name == "Pay on site"
        settings = kernel.settings_for(session, event=session.get(Event, event_id))
        settings.update(
            {
                "payment_manual_enabled": "true",
                "payment_manual_public_name": "Cash at the door",
                "payment_manual_pending_description": "Bring the exact amount.",
            }
        )
        # Typed by its declaration: the text "true" is stored as a boolean.
        assert settings.get("payment_manual_enabled") is True
    with kernel.db.session() as session:
        provider = manual(kernel, session, event_id)
        assert provider.is_enabled and provider.is_allowed(Decimal("20.00"))
        assert provider.public_name == "Cash at the door"
        assert provider.payment_pending_instructions(None) == "Bring the exact amount."
        assert "_pending_description" in provider.settings_schema and "_enabled" in provider.settings_schema


def test_usable_through_the_api_while_disabled_and_confirmed_by_hand(kernel, event_id):
    with kernel.db.session() as session:
        event = session.get(Event, event_id)
        item_id = session.query(Item).one().id
        draft = OrderDraft(positions=[PositionDraft(item=item_id)], payment_provider="manual")
        order = place_order(kernel, session, event, draft, actor=Actor.system())
        payment = order.payments[0]
        assert (payment.provider, payment.state) == ("manual", "created")
        # Executing it does nothing: the organizer confirms once the money is there.
        assert payments.execute_payment(kernel, session, payment, actor=Actor.system()) is None
        assert payment.state == "created" and order.status == "n"
        payments.confirm_payment(kernel, session, payment, actor=Actor.system())
        assert order.status == "p"


def test_refunds_are_recorded_as_done_by_the_organizer(kernel, event_id):
    with kernel.db.session() as session:
        event = session.get(Event, event_id)
        item_id = session.query(Item).one().id
        draft = OrderDraft(positions=[PositionDraft(item=item_id)], payment_provider="manual", status="p")
        order = place_order(kernel, session, event, draft, actor=Actor.system())
        provider = manual(kernel, session, event_id)
        assert not provider.payment_refund_supported(order.payments[0])
        refund = payments.refund_payment(kernel, session, order.payments[0], actor=Actor.system())
        assert (refund.state, refund.amount, order.payments[0].state) == ("done", Decimal("20.00"), "refunded")
