"""The payments service: payment and refund state machines, partial and over-payment, the order becoming paid,
expired orders retaking quota and vouchers, refunds through a provider, and the ledger balance."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.hookspecs.providers import PaymentException, PaymentProvider
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.models import Event, Item, LogEntry, Organizer, Quota
from boxoffice.kernel.models.orders import Order, OrderPayment, OrderRefund, Transaction
from boxoffice.kernel.models.vouchers import Voucher
from boxoffice.kernel.orders import lifecycle, payments
from boxoffice.kernel.orders.drafts import OrderDraft, PositionDraft
from boxoffice.kernel.orders.errors import OrderError
from boxoffice.kernel.orders.placement import place_order

ACTOR = Actor.system()


class CardProvider(PaymentProvider):
    """A processor that refunds automatically; ``payment_card_decline`` makes it refuse (like a real decline)."""

    identifier = "card"

    @property
    def verbose_name(self) -> str:
        return "Card"

    def execute_payment(self, payment: Any) -> str | None:
        if self.settings.get("decline"):
            raise PaymentException("The card was declined.")
        self.confirm(payment)
        return None

    def payment_refund_supported(self, payment: Any) -> bool:
        return True

    def payment_partial_refund_supported(self, payment: Any) -> bool:
        return True

    def execute_refund(self, refund: Any) -> None:
        if self.settings.get("decline"):
            raise PaymentException("The processor refused the refund.")
        self.refund_sent(refund)

    def cancel_payment(self, payment: Any) -> None:
        if self.settings.get("decline"):
            raise PaymentException("The authorisation cannot be voided.")


class Recorder:
    """A global plugin that contributes the card provider and notes the lifecycle hooks it sees."""

    plugin_meta = PluginMeta(name="recorder", level="global", togglable=False)

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    @hookimpl
    def register_payment_providers(self, event: Any) -> type[PaymentProvider]:
        return CardProvider

    @hookimpl
    def order_paid(self, event: Any, order: Any) -> None:
        self.calls.append(("paid", order.code))

    @hookimpl
    def order_canceled(self, event: Any, order: Any) -> None:
        self.calls.append(("canceled", order.code))


@dataclass
class Shop:
    kernel: Any
    recorder: Recorder
    event_id: int
    item_id: int
    quota_id: int

    def place(self, price: str | None = None, voucher: str | None = None, **draft: Any) -> str:
        with self.kernel.db.session() as session:
            event = session.get(Event, self.event_id)
            position = PositionDraft(item=self.item_id, price=Decimal(price) if price else None, voucher=voucher)
            order = place_order(self.kernel, session, event, OrderDraft(positions=[position], **draft), actor=ACTOR)
            return order.code

    def order(self, session: Any, code: str) -> Order:
        return session.scalar(select(Order).where(Order.event_id == self.event_id, Order.code == code))

    def pay(self, code: str, amount: str, provider: str = "manual", **options: Any) -> int:
        """Create and confirm a payment; return its local id."""
        with self.kernel.db.session() as session:
            payment = payments.create_payment(
                session, self.order(session, code), provider=provider, amount=Decimal(amount)
            )
            payments.confirm_payment(self.kernel, session, payment, actor=ACTOR, **options)
            return payment.local_id

    def status(self, code: str) -> str:
        with self.kernel.db.session() as session:
            return self.order(session, code).status

    def expire(self, code: str) -> None:
        with self.kernel.db.session() as session:
            lifecycle.mark_expired(self.kernel, session, self.order(session, code), actor=ACTOR)

    def set_setting(self, key: str, value: Any) -> None:
        with self.kernel.db.session() as session:
            self.kernel.settings_for(session, event=session.get(Event, self.event_id)).set(key, value)

    def ledger_total(self, code: str) -> Decimal:
        with self.kernel.db.session() as session:
            order = self.order(session, code)
            rows = session.scalars(select(Transaction).where(Transaction.order_id == order.id))
            return sum((Decimal(row.price) * row.count for row in rows), Decimal("0.00"))

    def payment(self, session: Any, code: str, local_id: int) -> OrderPayment:
        order = self.order(session, code)
        return next(p for p in order.payments if p.local_id == local_id)


@pytest.fixture
def shop(make_kernel) -> Shop:
    recorder = Recorder()
    kernel = make_kernel(recorder=recorder)
    with kernel.db.session() as session:
        organizer = Organizer(slug="org", name="Org", plugins=[])
        event = Event(
            organizer=organizer,
            slug="ev",
            name={"en": "Ev"},
            currency="EUR",
            date_from=datetime(2031, 1, 1, tzinfo=UTC),
        )
        item = Item(event=event, name={"en": "Ticket"}, default_price=Decimal("35.00"))
        quota = Quota(event=event, name="Tickets", size=10, items=[item])
        session.add_all([organizer, event, item, quota])
        session.flush()
        return Shop(kernel, recorder, event.id, item.id, quota.id)


def actions(shop: Shop) -> list[str]:
    with shop.kernel.db.session() as session:
        return list(session.scalars(select(LogEntry.action_type).order_by(LogEntry.id)))


# --- payments --------------------------------------------------------------------------------------------------


def test_payments_are_numbered_per_order(shop):
    first, second = shop.place(), shop.place()
    with shop.kernel.db.session() as session:
        order = shop.order(session, first)
        numbers = [payments.create_payment(session, order, provider="manual", amount=Decimal(1)).local_id for _ in "ab"]
        other = payments.create_payment(session, shop.order(session, second), provider="manual", amount=Decimal(1))
    assert numbers == [1, 2] and other.local_id == 1


def test_partial_payments_pay_the_order_once_covered(shop):
    code = shop.place()
    ledger_before = shop.ledger_total(code)
    shop.pay(code, "20.00")
    assert shop.status(code) == "n"
    assert shop.recorder.calls == []
    shop.pay(code, "15.00")
    assert shop.status(code) == "p"
    assert shop.recorder.calls == [("paid", code)]
    with shop.kernel.db.session() as session:
        order = shop.order(session, code)
        assert payments.paid_amount(order) == Decimal("35.00")
        assert payments.pending_amount(order) == Decimal("0.00")
        assert all(p.state == "confirmed" and p.payment_date is not None for p in order.payments)
    # Payments are the credit side: the ledger of what is owed does not move.
    assert shop.ledger_total(code) == ledger_before == Decimal("35.00")
    assert actions(shop).count("boxoffice.event.order.payment.confirmed") == 2
    assert actions(shop).count("boxoffice.event.order.paid") == 1


def test_overpayment_is_recorded_and_fires_paid_only_once(shop):
    code = shop.place()
    shop.pay(code, "50.00")
    shop.pay(code, "5.00")
    assert shop.status(code) == "p"
    assert shop.recorder.calls == [("paid", code)]
    with shop.kernel.db.session() as session:
        order = shop.order(session, code)
        assert payments.pending_amount(order) == Decimal("-20.00")


def test_orders_awaiting_approval_and_canceled_orders_keep_their_status(shop):
    waiting = shop.place(require_approval=True)
    canceled = shop.place()
    with shop.kernel.db.session() as session:
        shop.order(session, canceled).status = "c"
    shop.pay(waiting, "35.00")
    shop.pay(canceled, "35.00")
    assert (shop.status(waiting), shop.status(canceled)) == ("n", "c")
    assert shop.recorder.calls == []


@pytest.mark.parametrize("state", ["confirmed", "canceled", "failed", "refunded"])
def test_only_open_payments_can_be_confirmed_canceled_or_failed(shop, state):
    code = shop.place()
    with shop.kernel.db.session() as session:
        payments.create_payment(session, shop.order(session, code), provider="manual", amount=Decimal(35), state=state)
    for change in (payments.confirm_payment, payments.cancel_payment, payments.fail_payment):
        with pytest.raises(OrderError, match=state), shop.kernel.db.session() as session:
            change(shop.kernel, session, shop.payment(session, code, 1), actor=ACTOR)
    with shop.kernel.db.session() as session:
        assert shop.payment(session, code, 1).state == state
        assert shop.order(session, code).status == "n"


@pytest.mark.parametrize(("change", "state"), [("cancel_payment", "canceled"), ("fail_payment", "failed")])
def test_open_payments_can_be_canceled_or_failed(shop, change, state):
    code = shop.place()
    with shop.kernel.db.session() as session:
        payment = payments.create_payment(session, shop.order(session, code), provider="manual", amount=Decimal(35))
        payment.state = "pending"
    with shop.kernel.db.session() as session:
        getattr(payments, change)(shop.kernel, session, shop.payment(session, code, 1), actor=ACTOR)
    with shop.kernel.db.session() as session:
        assert shop.payment(session, code, 1).state == state
        assert shop.order(session, code).status == "n"
    assert f"boxoffice.event.order.payment.{state}" in actions(shop)


def test_a_processor_refusing_to_void_keeps_the_payment_open(shop):
    code = shop.place()
    shop.set_setting("payment_card_decline", True)
    with shop.kernel.db.session() as session:
        payments.create_payment(session, shop.order(session, code), provider="card", amount=Decimal(35))
    with pytest.raises(OrderError, match="cannot be voided"), shop.kernel.db.session() as session:
        payments.cancel_payment(shop.kernel, session, shop.payment(session, code, 1), actor=ACTOR)
    with shop.kernel.db.session() as session:
        assert shop.payment(session, code, 1).state == "created"


def test_executing_a_payment_lets_the_provider_confirm_or_fail_it(shop):
    paid, declined = shop.place(), shop.place()
    with shop.kernel.db.session() as session:
        payment = payments.create_payment(session, shop.order(session, paid), provider="card", amount=Decimal(35))
        assert payments.execute_payment(shop.kernel, session, payment, actor=ACTOR) is None
    assert shop.status(paid) == "p"
    shop.set_setting("payment_card_decline", True)
    with shop.kernel.db.session() as session:
        payment = payments.create_payment(session, shop.order(session, declined), provider="card", amount=Decimal(35))
        with pytest.raises(PaymentException, match="declined"):
            payments.execute_payment(shop.kernel, session, payment, actor=ACTOR)
    # The failed attempt was written in the session, so a caller that commits keeps it.
    with shop.kernel.db.session() as session:
        assert shop.payment(session, declined, 1).state == "failed"
        assert shop.order(session, declined).status == "n"


def test_provider_helpers_refuse_outside_a_provider_step(shop):
    code = shop.place()
    with shop.kernel.db.session() as session:
        payment = payments.create_payment(session, shop.order(session, code), provider="card", amount=Decimal(35))
        with pytest.raises(RuntimeError, match="provider step"):
            payments.mark_confirmed(payment)


# --- expired orders ------------------------------------------------------------------------------------------------


def test_paying_an_expired_order_needs_its_quota_back(shop):
    code = shop.place()
    shop.expire(code)
    assert shop.ledger_total(code) == Decimal("0.00")
    with shop.kernel.db.session() as session:
        session.get(Quota, shop.quota_id).size = 1
    shop.place()  # takes the one ticket the expired order gave back
    with shop.kernel.db.session() as session:
        payment = payments.create_payment(session, shop.order(session, code), provider="manual", amount=Decimal(35))
    with pytest.raises(OrderError, match="not enough quota"), shop.kernel.db.session() as session:
        payments.confirm_payment(shop.kernel, session, shop.payment(session, code, payment.local_id), actor=ACTOR)
    assert shop.status(code) == "e"
    with shop.kernel.db.session() as session:
        assert shop.payment(session, code, 1).state == "created"
    with shop.kernel.db.session() as session:
        payments.confirm_payment(shop.kernel, session, shop.payment(session, code, 1), actor=ACTOR, force=True)
    assert shop.status(code) == "p"
    # Paid again, the order owes its positions again.
    assert shop.ledger_total(code) == Decimal("35.00")


def test_paying_an_expired_order_redeems_its_voucher_again(shop):
    with shop.kernel.db.session() as session:
        session.add(Voucher(event_id=shop.event_id, code="ONCE", max_usages=1))
    code = shop.place(voucher="ONCE")
    shop.expire(code)
    with shop.kernel.db.session() as session:
        assert session.scalar(select(Voucher.redeemed).where(Voucher.code == "ONCE")) == 0
    shop.pay(code, "35.00")
    assert shop.status(code) == "p"
    with shop.kernel.db.session() as session:
        assert session.scalar(select(Voucher.redeemed).where(Voucher.code == "ONCE")) == 1


def test_an_expired_order_whose_voucher_was_used_up_meanwhile_is_refused_unless_forced(shop):
    with shop.kernel.db.session() as session:
        session.add(Voucher(event_id=shop.event_id, code="ONCE", max_usages=1))
    code = shop.place(voucher="ONCE")
    shop.expire(code)
    shop.place(voucher="ONCE")
    with pytest.raises(OrderError, match="voucher"):
        shop.pay(code, "35.00")
    assert shop.status(code) == "e"
    shop.pay(code, "35.00", force=True)
    assert shop.status(code) == "p"


# --- refunds -------------------------------------------------------------------------------------------------------


def test_a_manual_refund_is_done_at_once_and_marks_the_payment_refunded(shop):
    code = shop.place()
    shop.pay(code, "35.00")
    with shop.kernel.db.session() as session:
        payment = shop.payment(session, code, 1)
        partial = payments.refund_payment(shop.kernel, session, payment, actor=ACTOR, amount=Decimal("10.00"))
        assert (partial.state, partial.local_id, partial.provider) == ("done", 1, "manual")
        assert payment.state == "confirmed" and payments.refundable_amount(payment) == Decimal("25.00")
        with pytest.raises(OrderError) as refused:
            payments.refund_payment(shop.kernel, session, payment, actor=ACTOR, amount=Decimal("25.01"))
        assert "amount" in refused.value.body()
        rest = payments.refund_payment(shop.kernel, session, payment, actor=ACTOR)
        assert rest.amount == Decimal("25.00") and rest.local_id == 2
        assert payment.state == "refunded"
        assert payments.paid_amount(shop.order(session, code)) == Decimal("0.00")
    # Money going back does not unpay the order by itself: the organizer decides.
    assert shop.status(code) == "p"


@pytest.mark.parametrize("amount", ["0", "-1", "NaN"])
def test_refund_amounts_must_be_positive(shop, amount):
    code = shop.place()
    shop.pay(code, "35.00")
    with pytest.raises(OrderError), shop.kernel.db.session() as session:
        payments.refund_payment(
            shop.kernel, session, shop.payment(session, code, 1), actor=ACTOR, amount=Decimal(amount)
        )


def test_only_confirmed_payments_can_be_refunded(shop):
    code = shop.place()
    with shop.kernel.db.session() as session:
        payment = payments.create_payment(session, shop.order(session, code), provider="manual", amount=Decimal(35))
        with pytest.raises(OrderError, match="confirmed"):
            payments.refund_payment(shop.kernel, session, payment, actor=ACTOR)


def test_a_provider_refunds_automatically_or_leaves_a_failed_refund(shop):
    code = shop.place()
    shop.pay(code, "35.00", provider="card")
    with shop.kernel.db.session() as session:
        refund = payments.refund_payment(
            shop.kernel, session, shop.payment(session, code, 1), actor=ACTOR, amount=Decimal("5.00")
        )
        assert refund.state == "done" and refund.execution_date is not None
    shop.set_setting("payment_card_decline", True)
    with shop.kernel.db.session() as session, pytest.raises(PaymentException):
        payments.refund_payment(shop.kernel, session, shop.payment(session, code, 1), actor=ACTOR)
    with shop.kernel.db.session() as session:
        failed = session.scalar(select(OrderRefund).where(OrderRefund.local_id == 2))
        assert failed.state == "failed"
        # A failed refund sent nothing: its money is refundable again.
        assert payments.refundable_amount(shop.payment(session, code, 1)) == Decimal("30.00")
    assert "boxoffice.event.order.refund.failed" in actions(shop)


def test_refund_with_mark_canceled_cancels_the_order(shop):
    code = shop.place()
    shop.pay(code, "35.00")
    with shop.kernel.db.session() as session:
        payments.refund_payment(shop.kernel, session, shop.payment(session, code, 1), actor=ACTOR, mark_canceled=True)
    assert shop.status(code) == "c"
    assert ("canceled", code) in shop.recorder.calls
    assert shop.ledger_total(code) == Decimal("0.00")


@pytest.mark.parametrize(
    ("state", "change", "allowed"),
    [
        ("created", "refund_done", True),
        ("transit", "refund_done", True),
        ("external", "refund_done", False),
        ("done", "refund_done", False),
        ("created", "cancel_refund", True),
        ("transit", "cancel_refund", True),
        ("external", "cancel_refund", True),
        ("done", "cancel_refund", False),
        ("failed", "cancel_refund", False),
        ("canceled", "cancel_refund", False),
        ("external", "process_refund", True),
        ("created", "process_refund", False),
        ("done", "process_refund", False),
    ],
)
def test_refund_state_machine(shop, state, change, allowed):
    code = shop.place()
    shop.pay(code, "35.00")
    with shop.kernel.db.session() as session:
        order = shop.order(session, code)
        payments.create_refund(
            shop.kernel,
            session,
            order,
            actor=ACTOR,
            amount=Decimal("35.00"),
            provider="manual",
            state=state,
            payment=shop.payment(session, code, 1),
        )
    with shop.kernel.db.session() as session:
        refund = shop.order(session, code).refunds[0]
        if allowed:
            getattr(payments, change)(shop.kernel, session, refund, actor=ACTOR)
        else:
            with pytest.raises(OrderError, match=state):
                getattr(payments, change)(shop.kernel, session, refund, actor=ACTOR)
    expected = {"refund_done": "done", "cancel_refund": "canceled", "process_refund": "done"}[change]
    with shop.kernel.db.session() as session:
        refund = shop.order(session, code).refunds[0]
        assert refund.state == (expected if allowed else state)
        assert shop.payment(session, code, 1).state == ("refunded" if refund.state == "done" else "confirmed")


def test_processing_an_external_refund_sets_an_uncovered_order_pending(shop):
    code = shop.place()
    shop.pay(code, "35.00")
    with shop.kernel.db.session() as session:
        payments.create_refund(
            shop.kernel,
            session,
            shop.order(session, code),
            actor=ACTOR,
            amount=Decimal("35.00"),
            provider="manual",
            state="external",
            source="external",
        )
    assert shop.status(code) == "p"
    with shop.kernel.db.session() as session:
        payments.process_refund(shop.kernel, session, shop.order(session, code).refunds[0], actor=ACTOR)
    assert shop.status(code) == "n"
    assert shop.ledger_total(code) == Decimal("35.00")


def test_processing_an_external_refund_can_cancel_the_order_and_release_its_voucher(shop):
    with shop.kernel.db.session() as session:
        session.add(Voucher(event_id=shop.event_id, code="VIP", max_usages=5))
    code = shop.place(voucher="VIP")
    shop.pay(code, "35.00")
    with shop.kernel.db.session() as session:
        payments.create_refund(
            shop.kernel,
            session,
            shop.order(session, code),
            actor=ACTOR,
            amount=Decimal("35.00"),
            provider="manual",
            state="external",
        )
    with shop.kernel.db.session() as session:
        refund = shop.order(session, code).refunds[0]
        payments.process_refund(shop.kernel, session, refund, actor=ACTOR, mark_canceled=True)
    assert shop.status(code) == "c"
    with shop.kernel.db.session() as session:
        assert session.scalar(select(Voucher.redeemed).where(Voucher.code == "VIP")) == 0
    assert shop.ledger_total(code) == Decimal("0.00")


def test_recorded_refunds_validate_their_choices(shop):
    code = shop.place()
    with shop.kernel.db.session() as session:
        order = shop.order(session, code)
        for bad, field in (({"state": "gone"}, "state"), ({"source": "nobody"}, "source")):
            with pytest.raises(OrderError) as refused:
                payments.create_refund(
                    shop.kernel, session, order, actor=ACTOR, amount=Decimal(1), provider="manual", **bad
                )
            assert field in refused.value.body()
        with pytest.raises(OrderError, match="both"):
            payments.create_refund(
                shop.kernel,
                session,
                order,
                actor=ACTOR,
                amount=Decimal(1),
                provider="manual",
                mark_canceled=True,
                mark_pending=True,
            )


def test_ledger_balances_with_the_order_total_through_its_life(shop):
    code = shop.place(fees=[])
    assert shop.ledger_total(code) == Decimal("35.00")
    shop.expire(code)
    assert shop.ledger_total(code) == Decimal("0.00")
    shop.pay(code, "35.00")
    assert shop.ledger_total(code) == Decimal("35.00")
    with shop.kernel.db.session() as session:
        payments.refund_payment(shop.kernel, session, shop.payment(session, code, 1), actor=ACTOR, mark_canceled=True)
    assert shop.ledger_total(code) == Decimal("0.00")
    with shop.kernel.db.session() as session:
        rows = session.scalar(select(func.count()).select_from(Transaction))
    # Placed (+1), expired (-1), paid again (+1), canceled (-1): every change is a row, nothing is rewritten.
    assert rows == 4


def test_payments_confirmed_at_the_same_time_pay_the_order_once(shop):
    """Two halves confirmed concurrently: whichever confirms second must see the first and mark the order paid."""
    code = shop.place()
    with shop.kernel.db.session() as session:
        order = shop.order(session, code)
        for _ in range(2):
            payments.create_payment(session, order, provider="manual", amount=Decimal("17.50"))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def confirm(local_id: int) -> None:
        try:
            with shop.kernel.db.session() as session:
                payment = shop.payment(session, code, local_id)
                assert [p.state for p in payment.order.payments] == ["created", "created"]
                barrier.wait(5)
                payments.confirm_payment(shop.kernel, session, payment, actor=ACTOR)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    workers = [threading.Thread(target=confirm, args=(local_id,)) for local_id in (1, 2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert errors == []
    assert shop.status(code) == "p"
    assert shop.recorder.calls == [("paid", code)]


def test_recording_a_payment_checks_every_field_at_once_and_logs_it(shop):
    code = shop.place()
    with pytest.raises(OrderError) as refused, shop.kernel.db.session() as session:
        payments.record_payment(
            shop.kernel, session, shop.order(session, code), actor=ACTOR, provider="nope", amount=Decimal(-1), state="x"
        )
    assert set(refused.value.body()) == {"state", "amount", "provider"}
    with shop.kernel.db.session() as session:
        order = shop.order(session, code)
        payment = payments.record_payment(
            shop.kernel, session, order, actor=ACTOR, provider="manual", amount=Decimal(35), state="confirmed"
        )
        assert payment.state == "confirmed" and order.status == "p"
    assert "boxoffice.event.order.payment.created" in actions(shop)


def test_a_recorded_refund_must_name_a_payment_of_its_order_and_a_known_provider(shop):
    mine, other = shop.place(), shop.place()
    shop.pay(other, "35.00")
    with pytest.raises(OrderError) as refused, shop.kernel.db.session() as session:
        payments.create_refund(
            shop.kernel,
            session,
            shop.order(session, mine),
            actor=ACTOR,
            amount=Decimal(1),
            provider="nowhere",
            payment=shop.payment(session, other, 1),
        )
    assert set(refused.value.body()) == {"payment", "provider"}
