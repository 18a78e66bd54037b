"""The placement service called directly (as plugins and jobs do): payments with a provider, what plugins hear,
simulations, order codes and ticket secrets (randomness, configured lengths, collisions), validity periods and
payment deadlines in the event's time zone, and drafts built in code that never passed the API's decoder."""

from __future__ import annotations

import threading
import time as clock_time
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.hookspecs.providers import PaymentProvider
from boxoffice.kernel import clock
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.models import Event, Item, LogEntry, Organizer, Quota
from boxoffice.kernel.models.orders import Order, OrderPayment, OrderPosition
from boxoffice.kernel.orders import codes
from boxoffice.kernel.orders.drafts import AnswerDraft, FeeDraft, OrderDraft, PositionDraft
from boxoffice.kernel.orders.errors import OrderError
from boxoffice.kernel.orders.placement import (
    add_months,
    dynamic_validity,
    end_of_day,
    format_name,
    name_parts,
    payment_deadline,
    place_order,
)

ACTOR = Actor.system()


class DeskPay(PaymentProvider):
    identifier = "testpay"

    @property
    def verbose_name(self) -> str:
        return "Test payments"

    def execute_payment(self, payment: Any) -> str | None:
        return None


class Listener:
    """A global plugin offering ``testpay`` and noting the lifecycle hooks it hears."""

    plugin_meta = PluginMeta(name="listener", level="global", togglable=False)

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    @hookimpl
    def register_payment_providers(self, event: Any) -> type[PaymentProvider]:
        return DeskPay

    @hookimpl
    def order_placed(self, event: Any, order: Any) -> None:
        self.calls.append(("placed", order.code))

    @hookimpl
    def order_paid(self, event: Any, order: Any) -> None:
        self.calls.append(("paid", order.code))


@dataclass
class Shop:
    kernel: Any
    listener: Listener
    event_id: int
    item_id: int

    def place(self, *positions: PositionDraft, **draft: Any) -> Order:
        """Place an order and return it detached, with positions and payments loaded."""
        with self.kernel.db.session() as session:
            event = session.get(Event, self.event_id)
            order = place_order(
                self.kernel,
                session,
                event,
                OrderDraft(positions=list(positions) or [PositionDraft(item=self.item_id)], **draft),
                actor=ACTOR,
            )
            _ = order.positions, order.payments
            session.expunge_all()
            return order

    def refused(self, *positions: PositionDraft, **draft: Any) -> OrderError:
        before = self.orders
        with pytest.raises(OrderError) as raised:
            self.place(*positions, **draft)
        assert self.orders == before
        return raised.value

    @property
    def orders(self) -> int:
        with self.kernel.db.session() as session:
            return session.scalar(select(func.count()).select_from(Order))


def build_shop(kernel: Any, listener: Listener, timezone: str = "Europe/Berlin", **item: Any) -> Shop:
    with kernel.db.session() as session:
        organizer = Organizer(slug="org", name="Org", plugins=[])
        event = Event(
            organizer=organizer,
            slug="ev",
            name={"en": "Ev"},
            currency="EUR",
            timezone=timezone,
            date_from=datetime(2031, 5, 1, tzinfo=UTC),
        )
        ticket = Item(event=event, name={"en": "Ticket"}, default_price=Decimal("35.00"), **item)
        session.add_all([organizer, event, ticket, Quota(event=event, name="All", size=100, items=[ticket])])
        session.flush()
        return Shop(kernel, listener, event.id, ticket.id)


@pytest.fixture
def shop(make_kernel) -> Shop:
    listener = Listener()
    return build_shop(make_kernel(listener=listener), listener)


# --- payments and plugins -----------------------------------------------------------------------------------------


def test_paid_order_gets_a_confirmed_payment_and_no_paid_signal(shop):
    order = shop.place(
        status="p",
        payment_provider="testpay",
        payment_date=datetime(2031, 1, 2, 10, tzinfo=UTC),
        payment_info={"reference": "X-1"},
    )
    (payment,) = order.payments
    assert (order.status, payment.provider, payment.state, payment.amount) == (
        "p",
        "testpay",
        "confirmed",
        Decimal("35"),
    )
    assert payment.payment_date == datetime(2031, 1, 2, 10, tzinfo=UTC) and payment.info == {"reference": "X-1"}
    # Creating an order as paid is an import: plugins hear that it was placed, not that it was paid.
    assert shop.listener.calls == [("placed", order.code)]


def test_pending_order_with_a_provider_gets_a_payment_to_complete(shop):
    order = shop.place(payment_provider="testpay", payment_info='{"iban": "DE00"}', payment_date=datetime(2031, 1, 1))
    (payment,) = order.payments
    assert (order.status, payment.state, payment.payment_date, payment.info) == ("n", "created", None, {"iban": "DE00"})
    order = shop.place(payment_provider="testpay", payment_info="paid at the desk")
    assert order.payments[0].info == {"info": "paid at the desk"}


def test_free_order_is_paid_with_the_free_provider_without_paid_signal(shop):
    order = shop.place(PositionDraft(item=shop.item_id, price=Decimal("0")))
    assert (order.status, order.payments[0].provider, order.payments[0].state) == ("p", "free", "confirmed")
    assert shop.listener.calls == [("placed", order.code)]


def test_simulation_writes_nothing_logs_nothing_and_tells_nobody(shop):
    order = shop.place(simulate=True, status="p", payment_provider="testpay")
    assert order.code == "PREVIEW" and order.payments[0].state == "confirmed"
    assert shop.listener.calls == []
    with shop.kernel.db.session() as session:
        for model in (Order, OrderPosition, OrderPayment, LogEntry):
            assert session.scalar(select(func.count()).select_from(model)) == 0


def test_placed_orders_are_logged(shop):
    order = shop.place(send_email=True)
    with shop.kernel.db.session() as session:
        entry = session.scalar(select(LogEntry))
        assert (entry.action_type, entry.actor_type, entry.event_id) == (
            "boxoffice.event.order.placed",
            "system",
            shop.event_id,
        )
        assert entry.data == {"code": order.code, "total": "35.00", "status": "n", "send_email": True, "positions": 1}


# --- codes and secrets --------------------------------------------------------------------------------------------


def test_codes_and_secrets_follow_the_configured_lengths(make_kernel):
    listener = Listener()
    kernel = make_kernel(listener=listener, config_overrides={"order_code_length": 9, "ticket_secret_length": 40})
    shop = build_shop(kernel, listener)
    order = shop.place()
    assert len(order.code) == 9 and set(order.code) <= set(codes.ORDER_CODE_ALPHABET)
    assert len(order.positions[0].secret) == 40 and set(order.positions[0].secret) <= set(codes.SECRET_ALPHABET)
    assert len(order.secret) == 16


def test_generated_values_do_not_repeat():
    # Long enough that a repeat among 2,000 draws means broken randomness, not a birthday coincidence (32**10).
    assert len({codes.order_code(10) for _ in range(2000)}) == 2000
    assert len({codes.ticket_secret(32) for _ in range(2000)}) == 2000
    # Codes never contain the letters and digits people confuse, so clients' codes may use what we never draw.
    assert not set("O0I1") & set(codes.ORDER_CODE_ALPHABET)


def test_a_taken_random_code_is_drawn_again(shop, monkeypatch):
    shop.place(code="TAKEN")
    drawn = iter(["TAKEN", "PREVIEW", "FRESH"])
    monkeypatch.setattr(codes, "order_code", lambda length: next(drawn))
    assert shop.place().code == "FRESH"


def test_running_out_of_codes_is_a_clear_error(shop, monkeypatch):
    shop.place(code="TAKEN")
    monkeypatch.setattr(codes, "order_code", lambda length: "TAKEN")
    refused = shop.refused()
    assert refused.body() == {"detail": "No free order code was found; try again or configure longer order codes."}


def test_a_code_taken_by_a_concurrent_order_is_a_400_not_a_500(shop):
    """Both orders pass the code check before either commits; the database's unique index decides."""
    if shop.kernel.db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: the second order sees the first one's code")
    placed, release = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def first() -> None:
        with shop.kernel.db.session() as session:
            event = session.get(Event, shop.event_id)
            draft = OrderDraft(code="RACE", positions=[PositionDraft(item=shop.item_id)])
            place_order(shop.kernel, session, event, draft, actor=ACTOR)
            placed.set()
            release.wait(10)

    def second() -> None:
        try:
            shop.place(code="RACE")
        except OrderError as error:
            outcome["error"] = error.body()

    holder = threading.Thread(target=first)
    holder.start()
    assert placed.wait(10)
    racer = threading.Thread(target=second)
    racer.start()
    try:
        # Wait until the second order is stuck on the first one's uncommitted code.
        deadline = clock_time.monotonic() + 10
        with shop.kernel.db.engine.connect() as watcher:
            while not watcher.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar():
                assert clock_time.monotonic() < deadline
                clock_time.sleep(0.02)
    finally:
        release.set()
        holder.join()
        racer.join()
    assert outcome["error"] == {"code": ["This order code is already in use."]}
    assert shop.orders == 1


# --- validity and deadlines ---------------------------------------------------------------------------------------


def test_dynamic_validity_counts_days_in_the_event_time_zone():
    berlin = ZoneInfo("Europe/Berlin")
    event = Event(timezone="Europe/Berlin")
    start = datetime(2031, 1, 15, 23, 30, tzinfo=UTC)  # already 16 January in Berlin

    def until(**durations: int) -> datetime | None:
        return dynamic_validity(
            event, Item(**{f"validity_dynamic_duration_{k}": v for k, v in durations.items()}), start
        )

    assert until() is None
    assert until(days=1) == datetime(2031, 1, 16, 23, 59, 59, tzinfo=berlin)
    assert until(days=3) == datetime(2031, 1, 18, 23, 59, 59, tzinfo=berlin)
    assert until(months=1) == datetime(2031, 2, 15, 23, 59, 59, tzinfo=berlin)
    assert until(months=1, days=1) == datetime(2031, 2, 16, 23, 59, 59, tzinfo=berlin)
    assert until(hours=2, minutes=15) == start + timedelta(hours=2, minutes=15)
    assert until(days=1, hours=1) == datetime(2031, 1, 17, 0, 59, 59, tzinfo=berlin)


def test_add_months_keeps_the_day_where_the_month_has_it():
    assert add_months(date(2031, 1, 31), 1) == date(2031, 2, 28)
    assert add_months(date(2032, 1, 31), 1) == date(2032, 2, 29)
    assert add_months(date(2031, 11, 15), 3) == date(2032, 2, 15)
    assert add_months(date(2031, 3, 15), -3) == date(2030, 12, 15)


def test_validity_is_computed_when_the_order_is_placed(make_kernel):
    listener = Listener()
    shop = build_shop(
        make_kernel(listener=listener), listener, validity_mode="dynamic", validity_dynamic_duration_months=1
    )
    moment = datetime(2031, 3, 10, 15, tzinfo=UTC)
    with clock.time_machine(moment):
        order = shop.place()
    position = order.positions[0]
    assert position.valid_from == moment
    assert position.valid_until == datetime(2031, 4, 9, 23, 59, 59, tzinfo=ZoneInfo("Europe/Berlin"))
    assert order.expires == datetime(2031, 3, 24, 23, 59, 59, tzinfo=ZoneInfo("Europe/Berlin"))


def test_payment_deadline_ends_with_the_local_day(make_kernel):
    listener = Listener()
    kernel = make_kernel(listener=listener)
    shop = build_shop(kernel, listener, timezone="America/New_York")
    with kernel.db.session() as session:
        event = session.get(Event, shop.event_id)
        kernel.settings_for(session, event=event).set("payment_term_days", 3)
        # 02:00 UTC on 10 March is still 9 March in New York.
        deadline = payment_deadline(kernel, session, event, datetime(2031, 3, 10, 2, tzinfo=UTC))
        assert deadline == datetime(2031, 3, 12, 23, 59, 59, tzinfo=ZoneInfo("America/New_York"))
        assert end_of_day(event, datetime(2031, 3, 10, 2, tzinfo=UTC)) == datetime(
            2031, 3, 9, 23, 59, 59, tzinfo=ZoneInfo("America/New_York")
        )
        assert deadline.utcoffset() == timedelta(0)


# --- names --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "shown"),
    [
        (None, None),
        ({}, None),
        ({"_legacy": "Ann Smith"}, "Ann Smith"),
        ({"given_name": "Ann", "family_name": "Smith"}, "Ann Smith"),
        ({"family_name": "Smith", "given_name": "Ann"}, "Ann Smith"),
        ({"_scheme": "family_given", "given_name": "Ann", "family_name": "Smith"}, "Smith Ann"),
        ({"_scheme": "family_nospace_given", "given_name": "太郎", "family_name": "山田"}, "山田太郎"),
        ({"salutation": "Ms", "title": "Dr.", "given_name": "Ann", "family_name": "Smith"}, "Dr. Ann Smith"),
        ({"full_name": "Ann Smith", "calling_name": "Annie"}, "Ann Smith"),
        ({"given_name": "", "family_name": "Smith"}, "Smith"),
        ({"nickname": "Ace", "given_name": "Ann"}, "Ann Ace"),
    ],
)
def test_format_name(parts, shown):
    assert format_name(parts) == shown


def test_name_parts_prefer_structure():
    assert name_parts("Ann", {"full_name": "Ann S."}) == {"full_name": "Ann S."}
    assert name_parts("Ann", None) == {"_legacy": "Ann"}
    assert name_parts(None, None) == {}


# --- drafts built in code -----------------------------------------------------------------------------------------


def test_drafts_built_in_code_are_checked_like_api_bodies(shop):
    # Struct constructors do not validate: the service must, or PostgreSQL would refuse the row with a 500.
    refused = shop.refused(
        PositionDraft(item=shop.item_id, price=Decimal("NaN"), attendee_email="a@" + "b" * 300 + ".org"),
        PositionDraft(item=shop.item_id, company="C" * 256, answers=[AnswerDraft(question=99)]),
        email="x@example.org",
        fees=[FeeDraft(fee_type="payment", value=Decimal("0.001"))],
        expires=datetime(9999, 12, 31, 23, tzinfo=ZoneInfo("America/New_York")),
    )
    assert refused.body() == {
        "expires": ["Datetime has wrong format. Use ISO 8601."],
        "positions": [
            {
                "attendee_email": [
                    "Enter a valid email address.",
                    "Ensure this field has no more than 254 characters.",
                ],
                "price": ["A valid number is required."],
            },
            {
                "company": ["Ensure this field has no more than 255 characters."],
                "answers": [{"question": ['Invalid pk "99" - object does not exist.']}],
            },
        ],
        "fees": [{"value": ["Ensure that there are no more than 2 decimal places."]}],
    }


def test_a_valid_draft_built_in_code(shop):
    start = datetime.combine(date(2031, 2, 1), time(9), tzinfo=UTC)
    order = shop.place(
        PositionDraft(item=shop.item_id, attendee_name="Ann", valid_from=start),
        PositionDraft(item=shop.item_id, price=Decimal("10.010")),
    )
    assert [p.price for p in order.positions] == [Decimal("35.00"), Decimal("10.01")]
    assert order.positions[0].valid_from == start and order.positions[0].attendee_name_cached == "Ann"
