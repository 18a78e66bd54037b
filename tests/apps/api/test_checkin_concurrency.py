"""Scanners racing at the real server (``boxoffice serve`` with several worker processes, on the test database):
several scanners redeem the same ticket at the same instant; exactly one of them may admit it, the others must be
told ``already_redeemed``, and nothing may fail with a 5xx. Retries carrying the same nonce, sent at once, record
one check-in.

PostgreSQL (``BOXOFFICE_TEST_DATABASE_URL``) runs 4 workers; SQLite runs 2 workers sharing one database file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from live_server import live_server, post_at_once
from sqlalchemy import func, select

from boxoffice.kernel.audit import Actor
from boxoffice.kernel.config import Config
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.models import Event, Item, Organizer, Quota, Team, TeamAPIToken
from boxoffice.kernel.models.checkin import Checkin, CheckinList
from boxoffice.kernel.models.orders import OrderPosition
from boxoffice.kernel.orders.drafts import OrderDraft, PositionDraft
from boxoffice.kernel.orders.placement import place_order
from boxoffice.kernel.tokens import new_token, token_digest

TICKETS = 12
SCANNERS = 4
REDEEM = "/api/v1/organizers/doors/checkinrpc/redeem/"


@dataclass
class Doors:
    url: str
    token: str
    kernel: Kernel
    list_id: int
    secrets: list[str]


def seed(kernel: Kernel) -> tuple[str, int, list[str]]:
    token = new_token()
    with kernel.db.session() as session:
        organizer = Organizer(slug="doors", name="Doors", plugins=[])
        event = Event(
            organizer=organizer,
            slug="doorcon",
            name={"en": "DoorCon"},
            currency="EUR",
            date_from=datetime(2031, 5, 1, tzinfo=UTC),
        )
        item = Item(event=event, name={"en": "Ticket"}, default_price=Decimal("10.00"))
        session.add_all([organizer, event, item])
        session.add(Quota(event=event, name="Tickets", size=None, items=[item]))
        checkin_list = CheckinList(event=event, name="Doors", rules={})
        session.add(checkin_list)
        team = Team(organizer=organizer, name="door staff", all_events=True, all_event_permissions=True)
        session.add(TeamAPIToken(team=team, name="scanner", token_digest=token_digest(token)))
        session.flush()
        draft = OrderDraft(
            positions=[PositionDraft(item=item.id) for _ in range(TICKETS * 2)], status="p", payment_provider="manual"
        )
        order = place_order(kernel, session, event, draft, actor=Actor.system())
        return token, checkin_list.id, [position.secret for position in order.positions]


@pytest.fixture(scope="module")
def doors(
    migrated_url: str, tmp_path_factory: pytest.TempPathFactory, empty_tables: Callable[[Kernel], None]
) -> Iterator[Doors]:
    data_dir = tmp_path_factory.mktemp("doors")
    kernel = Kernel(Config(database_url=migrated_url, data_dir=data_dir))
    token, list_id, secrets = seed(kernel)
    try:
        with live_server(migrated_url, data_dir) as url:
            yield Doors(url, token, kernel, list_id, secrets)
    finally:
        empty_tables(kernel)
        kernel.close()


def successful_checkins(doors: Doors, secrets: list[str]) -> int:
    with doors.kernel.db.session() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(Checkin)
                .join(OrderPosition, OrderPosition.id == Checkin.position_id)
                .where(Checkin.successful.is_(True), OrderPosition.secret.in_(secrets))
            )
            or 0
        )


def test_one_ticket_scanned_at_once_by_several_scanners_is_admitted_once(doors: Doors) -> None:
    secrets = doors.secrets[:TICKETS]
    # Every ticket is scanned by SCANNERS scanners, all requests released together.
    bodies = [{"secret": secret, "lists": [doors.list_id]} for secret in secrets for _ in range(SCANNERS)]
    responses = post_at_once(doors.url, doors.token, REDEEM, bodies)
    assert Counter(r.status_code for r in responses) == {201: TICKETS, 400: TICKETS * (SCANNERS - 1)}, [
        r.text for r in responses if r.status_code >= 500
    ][:3]
    admitted = Counter(r.json()["position"]["secret"] for r in responses if r.status_code == 201)
    assert set(admitted.values()) == {1} and set(admitted) == set(secrets)
    assert {r.json()["reason"] for r in responses if r.status_code == 400} == {"already_redeemed"}
    assert successful_checkins(doors, secrets) == TICKETS


def test_retries_with_one_nonce_sent_at_once_record_one_checkin(doors: Doors) -> None:
    secrets = doors.secrets[TICKETS:]
    bodies = [
        {"secret": secret, "lists": [doors.list_id], "nonce": f"nonce-{secret}"}
        for secret in secrets
        for _ in range(SCANNERS)
    ]
    responses = post_at_once(doors.url, doors.token, REDEEM, bodies)
    assert Counter(r.status_code for r in responses) == {201: len(bodies)}
    assert successful_checkins(doors, secrets) == len(secrets)
