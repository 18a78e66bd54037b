"""Order life cycle services: every transition from allowed and refused states, with its effects on quotas,
vouchers, ledger, payments, audit log and plugin hooks; and the expiry job."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.kernel import clock
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.availability import quota_availability
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.models import Event, Item, LogEntry, Organizer, Quota
from boxoffice.kernel.models.orders import (
    BlockedSecret,
    Order,
    OrderPayment,
    OrderPosition,
    RevokedSecret,
    Transaction,
)
from boxoffice.kernel.models.vouchers import Voucher
from boxoffice.kernel.orders import lifecycle
from boxoffice.kernel.orders.drafts import OrderDraft, PositionDraft
from boxoffice.kernel.orders.errors import LockTimeout, OrderError
from boxoffice.kernel.orders.placement import place_order

ACTOR = Actor("token", "7")
START = datetime(2031, 3, 1, 10, 0, tzinfo=UTC)


class Recorder:
    """A global plugin writing down every order lifecycle hook it receives."""

    plugin_meta = PluginMeta(level="global", togglable=False)

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def _note(self, name: str, order: Any) -> None:
        self.calls.append((name, order.code, order.status))

    @hookimpl
    def order_paid(self, order: Any) -> None:
        self._note("paid", order)

    @hookimpl
    def order_canceled(self, order: Any) -> None:
        self._note("canceled", order)

    @hookimpl
    def order_expired(self, order: Any) -> None:
        self._note("expired", order)

    @hookimpl
    def order_changed(self, order: Any) -> None:
        self._note("changed", order)

    @hookimpl
    def order_approved(self, order: Any) -> None:
        self._note("approved", order)

    @hookimpl
    def order_denied(self, order: Any) -> None:
        self._note("denied", order)

    def names(self, code: str) -> list[str]:
        return [name for name, seen, _status in self.calls if seen == code]


@dataclass
class World:
    kernel: Kernel
    hooks: Recorder
    event_id: int
    item_id: int
    quota_id: int
    voucher_id: int

    def place(self, *, voucher: bool = False, price: str | None = None, **fields: Any) -> str:
        """Place an order for one ticket (now: the time machine's time) and return its code."""
        position = PositionDraft(
            item=self.item_id, voucher="SAVE" if voucher else None, price=Decimal(price) if price else None
        )
        with self.kernel.db.session() as session:
            event = session.get(Event, self.event_id)
            order = place_order(self.kernel, session, event, OrderDraft(positions=[position], **fields), actor=ACTOR)
            return order.code

    def act(self, operation: Callable[..., Any], code: str, **options: Any) -> Order:
        """Run a lifecycle operation on the order in its own committed transaction."""
        with self.kernel.db.session() as session:
            order = self.order(session, code)
            operation(self.kernel, session, order, actor=ACTOR, **options)
            return order

    def order(self, session: Any, code: str) -> Order:
        return session.scalar(select(Order).where(Order.code == code))

    def status(self, code: str) -> str:
        with self.kernel.db.session() as session:
            return self.order(session, code).status

    def redeemed(self) -> int:
        with self.kernel.db.session() as session:
            return session.get(Voucher, self.voucher_id).redeemed

    def available(self) -> int | None:
        with self.kernel.db.session() as session:
            return quota_availability(session, session.get(Quota, self.quota_id)).available_number

    def ledger(self, code: str) -> list[tuple[int, str, str | None]]:
        """(count, price, fee type) per ledger row of the order, oldest first."""
        with self.kernel.db.session() as session:
            order = self.order(session, code)
            rows = session.scalars(select(Transaction).where(Transaction.order_id == order.id).order_by(Transaction.id))
            return [(row.count, str(row.price), row.fee_type) for row in rows]

    def actions(self, code: str) -> list[str]:
        with self.kernel.db.session() as session:
            order = self.order(session, code)
            entries = session.scalars(
                select(LogEntry)
                .where(LogEntry.object_type == "order", LogEntry.object_id == str(order.id))
                .order_by(LogEntry.id)
            )
            return [entry.action_type.removeprefix("boxoffice.event.order.") for entry in entries]

    def set_quota(self, size: int | None) -> None:
        with self.kernel.db.session() as session:
            session.get(Quota, self.quota_id).size = size


@pytest.fixture
def world(make_kernel: Callable[..., Kernel]) -> Iterator[World]:
    hooks = Recorder()
    kernel = make_kernel(recorder=hooks)
    with kernel.db.session() as session:
        organizer = Organizer(slug="org", name="Org", plugins=[])
        event = Event(
            organizer=organizer,
            slug="ev",
            name={"en": "Ev"},
            currency="EUR",
            date_from=datetime(2031, 6, 1, tzinfo=UTC),
            timezone="Europe/Berlin",
        )
        item = Item(event=event, name={"en": "Ticket"}, default_price=Decimal("35.00"))
        quota = Quota(event=event, name="Tickets", size=10, items=[item])
        voucher = Voucher(event=event, code="SAVE", max_usages=5)
        session.add_all([organizer, event, item, quota, voucher])
        session.flush()
        ids = (event.id, item.id, quota.id, voucher.id)
    with clock.time_machine(START):
        yield World(kernel, hooks, *ids)


# --- mark_paid -------------------------------------------------------------------------------------------------


def test_mark_paid_cancels_open_payments_and_records_a_manual_one(world: World) -> None:
    code = world.place(payment_provider="manual")
    world.act(lifecycle.mark_paid, code)
    with world.kernel.db.session() as session:
        order = world.order(session, code)
        assert order.status == "p"
        assert [(p.local_id, p.provider, p.state, str(p.amount)) for p in order.payments] == [
            (1, "manual", "canceled", "35.00"),
            (2, "manual", "confirmed", "35.00"),
        ]
        assert order.payments[1].payment_date == START
    assert world.hooks.names(code) == ["paid"]
    assert world.actions(code)[-3:] == ["payment.canceled", "payment.confirmed", "paid"]
    # Pending and paid both owe the same: nothing new in the ledger.
    assert world.ledger(code) == [(1, "35.00", None)]


@pytest.mark.parametrize("state", ["paid", "canceled", "approval"])
def test_mark_paid_refuses_other_states(world: World, state: str) -> None:
    code = world.place(status="p" if state == "paid" else None, payment_provider="manual" if state == "paid" else None)
    if state == "canceled":
        world.act(lifecycle.mark_canceled, code)
    if state == "approval":
        code = world.place(require_approval=True)
    before = world.actions(code)
    with pytest.raises(OrderError):
        world.act(lifecycle.mark_paid, code)
    assert world.actions(code) == before


def test_mark_paid_of_expired_order_needs_quota_unless_forced(world: World) -> None:
    world.set_quota(1)
    late = world.place(voucher=True)
    world.act(lifecycle.mark_expired, late)
    assert world.redeemed() == 0
    world.place()
    with pytest.raises(OrderError, match="quota"):
        world.act(lifecycle.mark_paid, late)
    assert world.status(late) == "e"
    world.act(lifecycle.mark_paid, late, force=True)
    assert world.status(late) == "p"
    assert world.redeemed() == 1
    assert world.ledger(late) == [(1, "35.00", None), (-1, "35.00", None), (1, "35.00", None)]


def test_mark_paid_answers_lock_timeout_when_the_order_stays_locked(world: World, monkeypatch) -> None:
    code = world.place()
    monkeypatch.setattr(lifecycle, "LOCK_WAIT_SECONDS", 0.2)
    holding, release = threading.Event(), threading.Event()
    postgres = world.kernel.db.engine.dialect.name == "postgresql"

    def hold() -> None:
        with world.kernel.db.session() as session:
            if postgres:
                session.execute(select(Order.id).where(Order.code == code).with_for_update())
            else:
                session.execute(text("UPDATE \"order\" SET comment = 'held' WHERE code = :code"), {"code": code})
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        with pytest.raises(LockTimeout), world.kernel.db.session() as session:
            if not postgres:
                session.execute(text("PRAGMA busy_timeout=200"))
            try:
                lifecycle.mark_paid(world.kernel, session, world.order(session, code), actor=ACTOR)
            finally:
                if not postgres:
                    session.rollback()
                    session.execute(text("PRAGMA busy_timeout=10000"))
    finally:
        release.set()
        holder.join()
    assert world.status(code) == "n"


@pytest.mark.parametrize(
    ("sqlstate", "message", "retryable"),
    [
        ("55P03", "canceling statement due to lock timeout", True),
        ("40P01", "deadlock detected", True),
        (None, "database is locked", True),
        ("57014", "canceling statement due to statement timeout", False),
    ],
)
def test_lock_problems_become_lock_timeouts(world: World, sqlstate: str | None, message: str, retryable: bool) -> None:
    class DriverError(Exception):
        sqlstate: str | None = None

    original = DriverError(message)
    original.sqlstate = sqlstate
    expected = LockTimeout if retryable else OperationalError
    with world.kernel.db.session() as session, pytest.raises(expected), lifecycle.lock_wait(session):
        raise OperationalError("UPDATE quota SET closed = true", {}, original)


def test_lock_wait_is_restored_after_a_refusal(world: World) -> None:
    if world.kernel.db.engine.dialect.name != "postgresql":
        pytest.skip("lock_timeout is PostgreSQL's")
    code = world.place(status="p", payment_provider="manual")
    with world.kernel.db.session() as session:
        before = session.scalar(text("SELECT current_setting('lock_timeout')"))
        with pytest.raises(OrderError):
            lifecycle.mark_paid(world.kernel, session, world.order(session, code), actor=ACTOR)
        assert session.scalar(text("SELECT current_setting('lock_timeout')")) == before
        lifecycle.mark_pending(world.kernel, session, world.order(session, code), actor=ACTOR)
        assert session.scalar(text("SELECT current_setting('lock_timeout')")) == before


# --- mark_pending / mark_expired -------------------------------------------------------------------------------


def test_mark_pending_sets_a_paid_order_back_and_renews_a_passed_deadline(world: World) -> None:
    code = world.place(status="p", payment_provider="manual")
    later = START + timedelta(days=40)
    with clock.time_machine(later):
        order = world.act(lifecycle.mark_pending, code)
    assert order.status == "n"
    assert order.expires > later
    assert world.hooks.names(code) == ["changed"]
    assert world.actions(code)[-1] == "unpaid"
    with pytest.raises(OrderError, match="paid orders"):
        world.act(lifecycle.mark_pending, code)


def test_mark_expired_releases_quota_and_vouchers(world: World) -> None:
    code = world.place(voucher=True)
    assert (world.redeemed(), world.available()) == (1, 9)
    world.act(lifecycle.mark_expired, code)
    assert world.status(code) == "e"
    assert (world.redeemed(), world.available()) == (0, 10)
    assert world.ledger(code) == [(1, "35.00", None), (-1, "35.00", None)]
    assert world.hooks.names(code) == ["expired"]
    assert world.actions(code)[-1] == "expired"
    with pytest.raises(OrderError, match="pending orders"):
        world.act(lifecycle.mark_expired, code)


# --- mark_canceled ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("paid", [False, True])
def test_cancel_releases_everything_and_reverses_the_ledger(world: World, paid: bool) -> None:
    code = world.place(voucher=True, payment_provider="manual", status="p" if paid else None)
    world.act(lifecycle.mark_canceled, code, comment="Sorry", send_email=False)
    with world.kernel.db.session() as session:
        order = world.order(session, code)
        assert order.status == "c"
        assert order.cancellation_date == START
        # Positions stay as they were, so the order can be reactivated.
        assert [p.canceled for p in order.positions] == [False]
        assert [p.state for p in order.payments] == ["confirmed" if paid else "canceled"]
    assert (world.redeemed(), world.available()) == (0, 10)
    assert world.ledger(code) == [(1, "35.00", None), (-1, "35.00", None)]
    assert world.hooks.names(code) == ["canceled"]
    with world.kernel.db.session() as session:
        entry = session.scalars(select(LogEntry).where(LogEntry.action_type.endswith(".canceled"))).all()[-1]
        assert entry.data["comment"] == "Sorry" and entry.data["send_email"] is False
    with pytest.raises(OrderError, match="canceled"):
        world.act(lifecycle.mark_canceled, code)


def test_cancel_of_expired_order_does_not_release_vouchers_twice(world: World) -> None:
    code = world.place(voucher=True)
    world.place(voucher=True)
    world.act(lifecycle.mark_expired, code)
    assert world.redeemed() == 1
    world.act(lifecycle.mark_canceled, code)
    assert world.status(code) == "c"
    assert world.redeemed() == 1
    assert world.ledger(code) == [(1, "35.00", None), (-1, "35.00", None)]


def test_cancel_with_fee_keeps_the_fee_as_only_content(world: World) -> None:
    code = world.place(voucher=True, status="p", payment_provider="manual")
    world.act(lifecycle.mark_canceled, code, cancellation_fee=Decimal("10"))
    with world.kernel.db.session() as session:
        order = world.order(session, code)
        assert order.status == "p"
        assert order.total == Decimal("10.00")
        assert order.live_positions == []
        assert [(f.fee_type, f.value) for f in order.live_fees] == [("cancellation", Decimal("10.00"))]
    assert (world.redeemed(), world.available()) == (0, 10)
    assert world.ledger(code) == [(1, "35.00", None), (-1, "35.00", None), (1, "10.00", "cancellation")]
    assert world.hooks.names(code) == ["canceled"]


@pytest.mark.parametrize(
    ("fee", "paid", "problem"),
    [
        ("35.01", True, "higher than the amount paid"),
        ("5", False, "higher than the amount paid"),
        ("-1", True, "greater than or equal to 0"),
        ("1.005", True, "2 decimal places"),
    ],
)
def test_cancellation_fee_is_checked(world: World, fee: str, paid: bool, problem: str) -> None:
    code = world.place(status="p" if paid else None, payment_provider="manual")
    with pytest.raises(OrderError, match=problem):
        world.act(lifecycle.mark_canceled, code, cancellation_fee=Decimal(fee))
    assert world.status(code) == ("p" if paid else "n")
    assert world.ledger(code) == [(1, "35.00", None)]


# --- reactivate ------------------------------------------------------------------------------------------------


def test_reactivate_takes_quota_and_vouchers_again(world: World) -> None:
    code = world.place(voucher=True)
    world.act(lifecycle.mark_canceled, code)
    later = START + timedelta(days=30)
    with clock.time_machine(later):
        order = world.act(lifecycle.reactivate, code)
    assert order.status == "n" and order.cancellation_date is None
    assert order.expires > later
    assert (world.redeemed(), world.available()) == (1, 9)
    assert world.ledger(code) == [(1, "35.00", None), (-1, "35.00", None), (1, "35.00", None)]
    assert world.hooks.names(code) == ["canceled", "changed"]
    assert world.actions(code)[-1] == "reactivated"
    with pytest.raises(OrderError, match="canceled orders"):
        world.act(lifecycle.reactivate, code)


def test_reactivate_of_a_paid_order_makes_it_paid_again(world: World) -> None:
    code = world.place(status="p", payment_provider="manual")
    world.act(lifecycle.mark_canceled, code)
    world.act(lifecycle.reactivate, code)
    assert world.status(code) == "p"
    assert world.hooks.names(code) == ["canceled", "changed", "paid"]


def test_reactivate_refuses_when_sold_out(world: World) -> None:
    world.set_quota(1)
    code = world.place()
    world.act(lifecycle.mark_canceled, code)
    world.place()
    with pytest.raises(OrderError, match='quota "Tickets"'):
        world.act(lifecycle.reactivate, code)
    assert world.status(code) == "c"
    assert world.available() == 0
    assert world.ledger(code) == [(1, "35.00", None), (-1, "35.00", None)]


def test_reactivate_refuses_when_the_voucher_is_used_up(world: World) -> None:
    code = world.place(voucher=True)
    world.act(lifecycle.mark_canceled, code)
    with world.kernel.db.session() as session:
        session.get(Voucher, world.voucher_id).max_usages = 1
    world.place(voucher=True)
    with pytest.raises(OrderError, match="voucher"):
        world.act(lifecycle.reactivate, code)
    assert world.status(code) == "c"
    assert world.redeemed() == 1


# --- extend ----------------------------------------------------------------------------------------------------


def test_extend_sets_end_of_day_in_event_time_zone(world: World) -> None:
    code = world.place()
    order = world.act(lifecycle.extend, code, expires=date(2031, 3, 20))
    # 23:59:59 in Berlin (CET, UTC+1) on that day.
    assert order.expires == datetime(2031, 3, 20, 22, 59, 59, tzinfo=UTC)
    assert order.status == "n"
    assert world.hooks.names(code) == ["changed"]
    assert world.actions(code)[-1] == "expiry_changed"


def test_extend_of_expired_order_takes_quota_unless_forced(world: World) -> None:
    world.set_quota(1)
    code = world.place(voucher=True)
    world.act(lifecycle.mark_expired, code)
    world.place()
    with pytest.raises(OrderError, match="quota"):
        world.act(lifecycle.extend, code, expires=date(2031, 3, 20))
    assert world.status(code) == "e"
    world.act(lifecycle.extend, code, expires=date(2031, 3, 20), force=True)
    assert world.status(code) == "n"
    assert world.redeemed() == 1
    assert world.ledger(code) == [(1, "35.00", None), (-1, "35.00", None), (1, "35.00", None)]


def test_extend_refuses_past_dates_and_other_states(world: World) -> None:
    code = world.place()
    with pytest.raises(OrderError) as problem:
        world.act(lifecycle.extend, code, expires=date(2031, 2, 28))
    assert "expires" in problem.value.body()
    world.act(lifecycle.mark_canceled, code)
    with pytest.raises(OrderError, match="pending or expired"):
        world.act(lifecycle.extend, code, expires=date(2031, 3, 20))


# --- approval --------------------------------------------------------------------------------------------------


def test_approve_waits_for_payment_with_a_fresh_deadline(world: World) -> None:
    code = world.place(require_approval=True, expires=START + timedelta(hours=1))
    order = world.act(lifecycle.approve, code)
    assert (order.status, order.require_approval) == ("n", False)
    assert order.expires > START + timedelta(days=13)
    assert world.hooks.names(code) == ["approved"]
    with pytest.raises(OrderError, match="awaiting approval"):
        world.act(lifecycle.approve, code)
    with pytest.raises(OrderError, match="awaiting approval"):
        world.act(lifecycle.deny, code)


def test_approving_a_free_order_makes_it_paid(world: World) -> None:
    code = world.place(require_approval=True, price="0.00")
    world.act(lifecycle.approve, code)
    with world.kernel.db.session() as session:
        order = world.order(session, code)
        assert order.status == "p"
        assert [(p.provider, p.state, p.amount) for p in order.payments] == [("free", "confirmed", Decimal("0.00"))]
    assert world.hooks.names(code) == ["approved", "paid"]


def test_deny_cancels_and_keeps_require_approval(world: World) -> None:
    code = world.place(require_approval=True, voucher=True)
    order = world.act(lifecycle.deny, code, comment="Not a member")
    assert (order.status, order.require_approval) == ("c", True)
    assert (world.redeemed(), world.available()) == (0, 10)
    assert world.ledger(code) == [(1, "35.00", None), (-1, "35.00", None)]
    assert world.hooks.names(code) == ["denied"]
    assert world.actions(code)[-1] == "denied"


# --- secrets, resend, delete -----------------------------------------------------------------------------------


def test_regenerate_secrets_revokes_the_old_ticket_secrets(world: World) -> None:
    code = world.place()
    with world.kernel.db.session() as session:
        order = world.order(session, code)
        old_order_secret, old = order.secret, order.positions[0].secret
        order.positions[0].blocked = ["admin"]
    world.act(lifecycle.regenerate_secrets, code)
    with world.kernel.db.session() as session:
        order = world.order(session, code)
        position = order.positions[0]
        assert order.secret != old_order_secret and position.secret != old
        assert session.scalars(select(RevokedSecret.secret)).all() == [old]
        assert session.scalars(select(BlockedSecret.secret).where(BlockedSecret.blocked)).all() == [position.secret]
        position_id = position.id
    assert world.hooks.names(code) == ["changed"]
    with world.kernel.db.session() as session:
        position = session.get(OrderPosition, position_id)
        second = position.secret
        lifecycle.regenerate_position_secrets(world.kernel, session, position, actor=ACTOR)
        assert position.secret != second
    with world.kernel.db.session() as session:
        assert session.scalars(select(RevokedSecret.secret).order_by(RevokedSecret.id)).all() == [old, second]
    assert world.actions(code)[-2:] == ["secrets_regenerated", "position.secrets_regenerated"]


def test_resend_link_has_no_mail_transport(world: World) -> None:
    with_email = world.place(email="buyer@example.org")
    with pytest.raises(lifecycle.MailUnavailable):
        world.act(lifecycle.resend_link, with_email)
    without = world.place()
    with pytest.raises(OrderError, match="no email address"):
        world.act(lifecycle.resend_link, without)


def test_only_test_mode_orders_are_deleted(world: World) -> None:
    real = world.place(voucher=True)
    with pytest.raises(lifecycle.NotDeletable):
        world.act(lifecycle.delete_order, real)
    test = world.place(voucher=True, testmode=True, payment_provider="manual")
    assert world.redeemed() == 2
    world.act(lifecycle.delete_order, test)
    with world.kernel.db.session() as session:
        assert world.order(session, test) is None
        assert session.scalar(select(func.count()).select_from(OrderPayment)) == 0
        assert session.scalar(select(func.count()).select_from(OrderPosition)) == 1
        deleted = session.scalars(select(LogEntry).where(LogEntry.action_type == "boxoffice.event.order.deleted")).one()
        assert deleted.data["code"] == test
    assert world.redeemed() == 1


# --- the expiry job --------------------------------------------------------------------------------------------


def test_expiry_job_expires_overdue_orders_only(world: World) -> None:
    overdue = world.place(voucher=True)
    approval = world.place(require_approval=True)
    honoured = world.place(valid_if_pending=True)
    paid = world.place(status="p", payment_provider="manual")
    later = world.place(expires=START + timedelta(days=60))
    assert world.kernel.jobs.periodic()["core.expire_orders"] == 60
    with clock.time_machine(START + timedelta(days=30)):
        job_id = world.kernel.jobs.enqueue("core.expire_orders")
    record = world.kernel.jobs.status(job_id)
    assert (record.status, record.result) == ("done", 1)
    assert [world.status(code) for code in (overdue, approval, honoured, paid, later)] == ["e", "n", "n", "p", "n"]
    assert world.redeemed() == 0
    assert world.hooks.names(overdue) == ["expired"]
    with world.kernel.db.session() as session:
        entry = session.scalars(select(LogEntry).where(LogEntry.action_type == "boxoffice.event.order.expired")).one()
        assert entry.actor_type == "system"


def test_expiry_job_respects_the_event_setting(world: World) -> None:
    code = world.place()
    with world.kernel.db.session() as session:
        world.kernel.settings_for(session, event=session.get(Event, world.event_id)).set(
            "payment_term_expire_automatically", False
        )
    with clock.time_machine(START + timedelta(days=30)):
        world.kernel.jobs.enqueue("core.expire_orders")
    assert world.status(code) == "n"


def test_expire_overdue_works_in_batches(world: World) -> None:
    codes = [world.place(voucher=True) for _ in range(5)]
    moment = START + timedelta(days=30)
    after, batches = 0, []
    while True:
        with world.kernel.db.session() as session:
            batch = lifecycle.expire_overdue(world.kernel, session, moment, after_id=after, limit=2)
        batches.append(batch.expired)
        if batch.next_after is None:
            break
        after = batch.next_after
    assert batches == [2, 2, 1]
    assert {world.status(code) for code in codes} == {"e"}
    assert world.redeemed() == 0


def _count_statements(world: World, work: Callable[[], None]) -> int:
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "INSERT", "DELETE")):
            statements.append(statement)

    engine = world.kernel.db.engine
    sqlalchemy_event.listen(engine, "before_cursor_execute", note)
    try:
        work()
    finally:
        sqlalchemy_event.remove(engine, "before_cursor_execute", note)
    return len(statements)


def test_expiry_batch_costs_a_fixed_number_of_statements_per_order(world: World) -> None:
    """Loading a batch, setting its status and releasing its vouchers does not grow with the batch; what does
    (ledger read and write, audit entry) stays three statements per order."""
    moment = START + timedelta(days=30)
    with world.kernel.db.session() as session:
        session.get(Voucher, world.voucher_id).max_usages = 100

    def expire(count: int) -> int:
        for _ in range(count):
            world.place(voucher=True)

        def run() -> None:
            with world.kernel.db.session() as session:
                assert lifecycle.expire_overdue(world.kernel, session, moment).expired == count

        return _count_statements(world, run)

    small, large = expire(2), expire(6)
    per_order = (large - small) / 4
    assert per_order <= 3, (small, large)
    assert small - 2 * per_order <= 12, (small, large)


def test_expiry_skips_orders_someone_else_is_changing(world: World) -> None:
    if world.kernel.db.engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serialises writers")
    busy, free = world.place(), world.place()
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with world.kernel.db.session() as session:
            session.execute(select(Order.id).where(Order.code == busy).with_for_update())
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        with world.kernel.db.session() as session:
            batch = lifecycle.expire_overdue(world.kernel, session, START + timedelta(days=30))
        assert batch.expired == 1
    finally:
        release.set()
        holder.join()
    assert (world.status(busy), world.status(free)) == ("n", "e")
