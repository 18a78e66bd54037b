import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import insert

from boxoffice.kernel import availability
from boxoffice.kernel.availability import OrderCounts, quota_availabilities, quota_availability, quotas_for_product
from boxoffice.kernel.db import Base
from boxoffice.kernel.models import Event, Item, Organizer, Quota
from boxoffice.kernel.models.quotas import quota_variations
from boxoffice.kernel.models.vouchers import Voucher

NOW = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)
CODES = itertools.count()


@pytest.fixture
def catalog(kernel):
    """An event with a ticket, a shirt in two variations and a quota over both (size 10)."""
    with kernel.db.session() as session:
        organizer = Organizer(slug="org", name="Org", plugins=[])
        event = Event(organizer=organizer, slug="ev", name={"en": "Ev"}, currency="EUR", date_from=NOW)
        ticket = Item(event=event, name={"en": "Ticket"})
        shirt = Item(event=event, name={"en": "Shirt"})
        session.add_all([organizer, event, ticket, shirt])
        session.flush()
        table = Base.metadata.tables["item_variation"]
        small, large = (
            session.execute(insert(table).values(item_id=shirt.id, value={"en": size})).inserted_primary_key[0]
            for size in ("S", "L")
        )
        quota = Quota(event=event, name="All", size=10, items=[ticket, shirt])
        session.add(quota)
        session.flush()
        session.execute(insert(quota_variations).values(quota_id=quota.id, variation_id=small))
        return {
            "event": event.id,
            "ticket": ticket.id,
            "shirt": shirt.id,
            "small": small,
            "large": large,
            "quota": quota.id,
        }


def add_voucher(kernel, catalog, **fields):
    with kernel.db.session() as session:
        voucher = Voucher(event_id=catalog["event"], code=f"CODE{next(CODES)}", **fields)
        session.add(voucher)
        session.flush()
        return voucher.id


def available(kernel, catalog, **kwargs):
    with kernel.db.session() as session:
        return quota_availability(session, session.get(Quota, catalog["quota"]), now=NOW, **kwargs)


def test_an_untouched_quota_is_fully_available(kernel, catalog):
    result = available(kernel, catalog)
    assert (result.available, result.available_number, result.total_size) == (True, 10, 10)
    assert (result.paid_orders, result.pending_orders, result.exited_orders) == (0, 0, 0)
    assert (result.cart_positions, result.blocking_vouchers, result.waiting_list) == (0, 0, 0)


def test_blocking_vouchers_count_by_quota_item_and_variation(kernel, catalog):
    add_voucher(kernel, catalog, quota_id=catalog["quota"], block_quota=True, max_usages=2)
    add_voucher(kernel, catalog, item_id=catalog["ticket"], block_quota=True, max_usages=3, redeemed=1)
    add_voucher(kernel, catalog, item_id=catalog["shirt"], variation_id=catalog["small"], block_quota=True)
    # Not counted: a variation outside the quota, no blocking, expired, used up.
    add_voucher(kernel, catalog, item_id=catalog["shirt"], variation_id=catalog["large"], block_quota=True)
    add_voucher(kernel, catalog, item_id=catalog["ticket"], max_usages=5)
    add_voucher(kernel, catalog, quota_id=catalog["quota"], block_quota=True, valid_until=NOW - timedelta(seconds=1))
    add_voucher(kernel, catalog, quota_id=catalog["quota"], block_quota=True, max_usages=2, redeemed=2)
    result = available(kernel, catalog)
    assert result.blocking_vouchers == 2 + 2 + 1
    assert (result.available, result.available_number) == (True, 5)


def test_a_voucher_can_be_left_out(kernel, catalog):
    voucher = add_voucher(kernel, catalog, quota_id=catalog["quota"], block_quota=True, max_usages=4)
    assert available(kernel, catalog).available_number == 6
    assert available(kernel, catalog, ignore_voucher_id=voucher).available_number == 10


def test_fully_blocked_closed_and_unlimited_quotas(kernel, catalog):
    add_voucher(kernel, catalog, quota_id=catalog["quota"], block_quota=True, max_usages=25)
    blocked = available(kernel, catalog)
    assert (blocked.available, blocked.available_number, blocked.blocking_vouchers) == (False, 0, 25)
    with kernel.db.session() as session:
        session.get(Quota, catalog["quota"]).size = None
    unlimited = available(kernel, catalog)
    assert (unlimited.available, unlimited.available_number, unlimited.total_size) == (True, None, None)
    with kernel.db.session() as session:
        session.get(Quota, catalog["quota"]).closed = True
    closed = available(kernel, catalog)
    assert (closed.available, closed.available_number) == (False, 0)


def test_sub_events_are_kept_apart(kernel, catalog):
    with kernel.db.session() as session:
        table = Base.metadata.tables["subevent"]
        values = {"event_id": catalog["event"], "name": {"en": "Day"}, "date_from": NOW}
        day = session.execute(insert(table).values(**values)).inserted_primary_key[0]
        dated = Quota(event_id=catalog["event"], subevent_id=day, name="Day", size=4)
        dated.items = [session.get(Item, catalog["ticket"])]
        session.add(dated)
        session.flush()
        dated_id = dated.id
    add_voucher(kernel, catalog, item_id=catalog["ticket"], subevent_id=day, block_quota=True, max_usages=3)
    with kernel.db.session() as session:
        quotas = [session.get(Quota, catalog["quota"]), session.get(Quota, dated_id)]
        results = quota_availabilities(session, quotas, now=NOW)
        assert results[catalog["quota"]].blocking_vouchers == 0
        assert results[dated_id].available_number == 1
        matching = quotas_for_product(session, catalog["event"], catalog["ticket"], None, day)
        assert [quota.id for quota in matching] == [dated_id]


def test_many_quotas_take_a_fixed_number_of_queries(kernel, catalog):
    with kernel.db.session() as session:
        ticket = session.get(Item, catalog["ticket"])
        for number in range(20):
            session.add(Quota(event_id=catalog["event"], name=f"Q{number}", size=number, items=[ticket]))
    add_voucher(kernel, catalog, item_id=catalog["ticket"], block_quota=True)
    statements: list[str] = []

    def record(_connection, _cursor, statement, *_args):
        statements.append(statement)

    with kernel.db.session() as session:
        quotas = session.query(Quota).all()
        sa_event.listen(kernel.db.engine, "before_cursor_execute", record)
        try:
            results = quota_availabilities(session, quotas, now=NOW)
        finally:
            sa_event.remove(kernel.db.engine, "before_cursor_execute", record)
    assert len(results) == 21 and all(result.blocking_vouchers == 1 for result in results.values())
    # Two for the quotas' items and variations, one for positions, carts and vouchers together.
    assert len(statements) <= 5


def test_order_counts_plug_in_without_changing_the_arithmetic(kernel, catalog, monkeypatch):
    """What the orders engine will supply: paid, pending and exited positions, carts and the waiting list."""
    quota_id = catalog["quota"]
    monkeypatch.setattr(
        availability,
        "_usage",
        lambda *_: {
            quota_id: availability._Usage(
                orders=OrderCounts(paid=4, pending=2, exited=1), cart_positions=1, waiting_list=1
            )
        },
    )
    result = available(kernel, catalog)
    assert (result.paid_orders, result.pending_orders, result.exited_orders) == (4, 2, 1)
    assert result.available_number == 10 - 4 - 2 - 1 - 1
    with kernel.db.session() as session:
        session.get(Quota, quota_id).release_after_exit = True
    assert available(kernel, catalog).available_number == 10 - 3 - 2 - 1 - 1


def test_consumed_units_agrees_with_availability(kernel, catalog):
    """The capacity check's count and the availability breakdown agree and follow the counting rules: orders by
    status, canceled positions, live and expired carts, carts on blocking vouchers, vouchers by quota, item and
    variation, expired and used-up vouchers."""
    from boxoffice.kernel.availability import consumed_units, quota_scopes
    from boxoffice.kernel.models.orders import CartPosition, Order, OrderPosition

    quota_vouchers = add_voucher(kernel, catalog, quota_id=catalog["quota"], block_quota=True, max_usages=3)
    add_voucher(kernel, catalog, item_id=catalog["ticket"], block_quota=True, max_usages=2, redeemed=1)
    add_voucher(kernel, catalog, item_id=catalog["shirt"], variation_id=catalog["small"], block_quota=True)
    add_voucher(kernel, catalog, item_id=catalog["shirt"], variation_id=catalog["large"], block_quota=True)
    add_voucher(kernel, catalog, item_id=catalog["ticket"], block_quota=True, valid_until=NOW - timedelta(days=1))
    add_voucher(kernel, catalog, item_id=catalog["ticket"], block_quota=True, max_usages=1, redeemed=1)
    add_voucher(kernel, catalog, item_id=catalog["ticket"], block_quota=False, max_usages=5)
    with kernel.db.session() as session:
        for number, status in enumerate(("n", "p", "e", "c", "p")):
            order = Order(event_id=catalog["event"], code=f"C{number}", status=status, secret="s", expires=NOW)
            session.add(order)
            session.flush()
            for positionid, (item, variation, canceled) in enumerate(
                [
                    (catalog["ticket"], None, False),
                    (catalog["shirt"], catalog["small"], False),
                    (catalog["shirt"], catalog["large"], False),
                    (catalog["ticket"], None, True),
                ],
                start=1,
            ):
                session.add(
                    OrderPosition(
                        order_id=order.id,
                        positionid=positionid,
                        item_id=item,
                        variation_id=variation,
                        canceled=canceled,
                        secret=f"s{number}{positionid}",
                        web_secret="w",
                        pseudonymization_id="P",
                    )
                )
        for expires, voucher in ((NOW + timedelta(minutes=5), None), (NOW - timedelta(minutes=5), None)):
            for item in (catalog["ticket"], catalog["shirt"]):
                variation = catalog["small"] if item == catalog["shirt"] else None
                session.add(
                    CartPosition(
                        event_id=catalog["event"],
                        cart_id="c@api",
                        expires=expires,
                        item_id=item,
                        variation_id=variation,
                        price=1,
                        voucher_id=voucher,
                    )
                )
        session.add(
            CartPosition(
                event_id=catalog["event"],
                cart_id="v@api",
                expires=NOW + timedelta(minutes=5),
                item_id=catalog["ticket"],
                price=1,
                voucher_id=quota_vouchers,
            )
        )
    with kernel.db.session() as session:
        quota = session.get(Quota, catalog["quota"])
        breakdown = quota_availability(session, quota, now=NOW)
        expected = (
            breakdown.paid_orders
            + breakdown.pending_orders
            + breakdown.cart_positions
            + breakdown.blocking_vouchers
            + breakdown.waiting_list
        )
        counted = consumed_units(session, quota_scopes(session, [quota]).values(), NOW)
    # Orders n, p, p: ticket and small shirt each (large is not in the quota) = 6; carts: live ticket + live small
    # shirt = 2 (the cart on the blocking voucher is counted by the voucher); vouchers: quota 3 + ticket 1 + small 1.
    assert expected == 6 + 2 + 5
    assert counted == {catalog["quota"]: expected}
