"""The check-in service: plugin hooks, add-on matching, automatic exits, and two scanners at once (threads with
their own database connections, on SQLite and on PostgreSQL)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.hookspecs.providers import ValidationFailure
from boxoffice.kernel import clock
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.checkin.queries import inside_count
from boxoffice.kernel.checkin.redeem import Scan, annul, exit_everyone, redeem
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.models import Event, Item, Organizer, Quota
from boxoffice.kernel.models.checkin import Checkin, CheckinList
from boxoffice.kernel.models.orders import Order, OrderPosition
from boxoffice.kernel.orders.drafts import OrderDraft, PositionDraft
from boxoffice.kernel.orders.placement import place_order

ACTOR = Actor("token", "1")


class Gatekeeper:
    """A plugin that refuses entry to attendees called "Mallory" and notes every check-in it hears of."""

    plugin_meta = PluginMeta(level="global", togglable=False)

    def __init__(self) -> None:
        self.created: list[tuple[bool, str | None]] = []
        self.annulled: list[str | None] = []

    @hookimpl
    def validate_checkin(self, position: Any, checkin_list: Any, checkin_type: str) -> None:
        if checkin_type == "entry" and position.attendee_name_cached == "Mallory":
            raise ValidationFailure("Mallory is banned.")

    @hookimpl
    def checkin_created(self, checkin: Any) -> None:
        self.created.append((checkin.successful, checkin.error_reason))

    @hookimpl
    def checkin_annulled(self, checkin: Any) -> None:
        self.annulled.append(checkin.nonce if checkin.error_reason == "annulled" else None)


@dataclass
class World:
    kernel: Kernel
    event_id: int
    ticket_id: int
    extra_id: int

    def list(self, **fields: Any) -> int:
        with self.kernel.db.session() as session:
            checkin_list = CheckinList(event_id=self.event_id, name="Door", rules={}, **fields)
            if not fields.get("all_products", True):
                checkin_list.limit_products = [session.get(Item, self.extra_id)]
            session.add(checkin_list)
            session.flush()
            return checkin_list.id

    def place(self, *positions: PositionDraft) -> list[str]:
        with self.kernel.db.session() as session:
            event = session.get(Event, self.event_id)
            draft = OrderDraft(positions=list(positions), status="p", payment_provider="manual")
            order = place_order(self.kernel, session, event, draft, actor=ACTOR)
            return [position.secret for position in order.positions]

    def scan(self, secret: str, list_id: int, **options: Any) -> tuple[str, str | None, int | None]:
        with self.kernel.db.session() as session:
            checkin_list = session.scalar(
                select(CheckinList)
                .where(CheckinList.id == list_id)
                .options(selectinload(CheckinList.limit_products), selectinload(CheckinList.event))
            )
            result = redeem(self.kernel, session, Scan(secret=secret, lists=[checkin_list], actor=ACTOR, **options))
            return result.status, result.reason, result.position.id if result.position else None


def build(kernel: Kernel) -> World:
    with kernel.db.session() as session:
        organizer = Organizer(slug="gate", name="Gate", plugins=[])
        event = Event(
            organizer=organizer,
            slug="gatecon",
            name={"en": "GateCon"},
            currency="EUR",
            date_from=datetime(2031, 5, 1, 18, tzinfo=UTC),
        )
        ticket = Item(event=event, name={"en": "Ticket"}, default_price=Decimal("10.00"))
        extra = Item(event=event, name={"en": "Workshop"}, default_price=Decimal("5.00"))
        session.add_all([organizer, event, ticket, extra])
        session.add(Quota(event=event, name="All", size=None, items=[ticket, extra]))
        session.flush()
        return World(kernel, event.id, ticket.id, extra.id)


def test_plugins_veto_and_hear_of_checkins(make_kernel, empty_tables) -> None:
    gatekeeper = Gatekeeper()
    kernel = make_kernel(gatekeeper=gatekeeper)
    try:
        world = build(kernel)
        list_id = world.list()
        mallory, alice = world.place(
            PositionDraft(item=world.ticket_id, attendee_name="Mallory"),
            PositionDraft(item=world.ticket_id, attendee_name="Alice"),
        )
        assert world.scan(mallory, list_id)[:2] == ("error", "rules")
        assert world.scan(alice, list_id)[:2] == ("ok", None)
        # Exits are not vetoed by this plugin.
        assert world.scan(mallory, list_id, type="exit")[:2] == ("ok", None)
        assert gatekeeper.created == [(False, "rules"), (True, None), (True, None)]
        with kernel.db.session() as session:
            refused = session.scalar(select(Checkin).where(Checkin.successful.is_(False)))
            assert refused.error_explanation == "Mallory is banned."
        assert world.scan(alice, list_id, type="exit", nonce="turnstile")[:2] == ("ok", None)
        assert gatekeeper.annulled == []
        with kernel.db.session() as session:
            checkin_list = session.get(CheckinList, list_id)
            annul(kernel, session, [checkin_list], "turnstile", device_pk=None, actor=ACTOR)
        assert gatekeeper.annulled == ["turnstile"]
    finally:
        empty_tables(kernel)


def test_addon_match_redeems_the_one_matching_addon(kernel: Kernel) -> None:
    world = build(kernel)
    list_id = world.list(all_products=False, addon_match=True)
    parent, _ = world.place(
        PositionDraft(positionid=1, item=world.ticket_id),
        PositionDraft(positionid=2, item=world.extra_id, addon_to=1),
    )
    status, reason, position_id = world.scan(parent, list_id)
    assert (status, reason) == ("ok", None)
    with kernel.db.session() as session:
        assert session.get(OrderPosition, position_id).item_id == world.extra_id
    lonely = world.place(PositionDraft(item=world.ticket_id))[0]
    assert world.scan(lonely, list_id)[:2] == ("error", "product")
    two, _, _ = world.place(
        PositionDraft(positionid=1, item=world.ticket_id),
        PositionDraft(positionid=2, item=world.extra_id, addon_to=1),
        PositionDraft(positionid=3, item=world.extra_id, addon_to=1),
    )
    assert world.scan(two, list_id)[:2] == ("error", "ambiguous")


def test_exit_all_at_lets_everyone_out_and_moves_a_day_ahead(kernel: Kernel) -> None:
    world = build(kernel)
    closing = datetime(2031, 5, 1, 23, 0, tzinfo=UTC)
    list_id = world.list(exit_all_at=closing)
    inside, left = world.place(PositionDraft(item=world.ticket_id), PositionDraft(item=world.ticket_id))
    with clock.time_machine(closing - timedelta(hours=3)):
        world.scan(inside, list_id)
        world.scan(left, list_id)
        world.scan(left, list_id, type="exit")
    # The kernel runs this every minute.
    assert kernel.jobs.periodic()["core.checkin_exit_all"] == 60
    with clock.time_machine(closing + timedelta(minutes=5)), kernel.db.session() as session:
        assert exit_everyone(kernel, session) == 1
    with kernel.db.session() as session:
        checkin_list = session.get(CheckinList, list_id)
        assert checkin_list.exit_all_at == closing + timedelta(days=1)
        assert inside_count(session, checkin_list) == 0
        auto = session.scalar(select(Checkin).where(Checkin.auto_checked_in.is_(True)))
        assert (auto.type, auto.datetime) == ("exit", closing)


def race(world: World, secret: str, list_id: int) -> tuple[list[tuple[str, str | None]], list[BaseException]]:
    """Two threads redeem ``secret`` released by one barrier; their outcomes and any exceptions."""
    barrier = threading.Barrier(2)
    outcomes: list[tuple[str, str | None]] = []
    failures: list[BaseException] = []

    def scanner() -> None:
        try:
            barrier.wait()
            status, reason, _ = world.scan(secret, list_id)
            outcomes.append((status, reason))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=scanner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes, failures


def test_two_scanners_at_once_admit_the_ticket_exactly_once(kernel: Kernel) -> None:
    """Each round, two threads with their own connections redeem the same fresh ticket at the same instant."""
    world = build(kernel)
    list_id = world.list()
    rounds = 8
    secrets = [world.place(PositionDraft(item=world.ticket_id))[0] for _ in range(rounds)]
    for secret in secrets:
        outcomes, failures = race(world, secret, list_id)
        assert not failures, failures
        assert sorted(outcomes) == [("error", "already_redeemed"), ("ok", None)]
    with kernel.db.session() as session:
        successful = session.scalars(select(Checkin).where(Checkin.successful.is_(True))).all()
        assert len(successful) == rounds
        assert session.scalar(select(Order.id).limit(1)) is not None
