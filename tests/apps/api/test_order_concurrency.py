"""Overselling under a real rush: the actual server (``boxoffice serve``, several worker processes) on the test
database, hit by a couple of hundred simultaneous requests from threads; afterwards exactly the quota (or the
voucher's usages) must be sold, everyone else must have been told so with a 400, and nothing may fail with a 5xx.

PostgreSQL (``BOXOFFICE_TEST_DATABASE_URL``) runs 4 workers; SQLite runs 2 workers sharing one database file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from live_server import live_server, post_at_once
from sqlalchemy import func, select

from boxoffice.kernel.config import Config
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.models import Event, Item, Organizer, Quota, Team, TeamAPIToken
from boxoffice.kernel.models.orders import CartPosition, Order, OrderPosition
from boxoffice.kernel.models.vouchers import Voucher
from boxoffice.kernel.tokens import new_token, token_digest

ATTEMPTS = 200
SOLD = 50
VOUCHER_USES = 10
EVENT = "/api/v1/organizers/rush/events/rushcon/"
QUOTA_MESSAGE = 'There is not enough quota available on quota "{}" to perform the operation.'


@dataclass
class Rush:
    url: str
    token: str
    kernel: Kernel
    items: dict[str, int]


def seed(kernel: Kernel) -> tuple[str, dict[str, int]]:
    """An organizer with a token, an event and one product per test, each on its own quota."""
    token = new_token()
    with kernel.db.session() as session:
        organizer = Organizer(slug="rush", name="Rush", plugins=[])
        event = Event(
            organizer=organizer,
            slug="rushcon",
            name={"en": "RushCon"},
            currency="EUR",
            date_from=datetime(2031, 5, 1, tzinfo=UTC),
        )
        items = {name: Item(event=event, name={"en": name}, default_price=Decimal("10.00")) for name in SIZES}
        session.add_all([organizer, event, *items.values()])
        for name, item in items.items():
            session.add(Quota(event=event, name=name, size=SIZES[name], items=[item]))
        session.flush()
        session.add(Voucher(event=event, code="RUSH10", max_usages=VOUCHER_USES, item_id=items["voucher"].id))
        team = Team(organizer=organizer, name="rushers", all_events=True, all_event_permissions=True)
        session.add(TeamAPIToken(team=team, name="rush", token_digest=token_digest(token)))
        session.flush()
        return token, {name: item.id for name, item in items.items()}


SIZES: dict[str, int | None] = {"orders": SOLD, "voucher": None, "carts": SOLD}


@pytest.fixture(scope="module")
def rush(
    migrated_url: str, tmp_path_factory: pytest.TempPathFactory, empty_tables: Callable[[Kernel], None]
) -> Iterator[Rush]:
    data_dir = tmp_path_factory.mktemp("rush")
    kernel = Kernel(Config(database_url=migrated_url, data_dir=data_dir))
    token, items = seed(kernel)
    try:
        with live_server(migrated_url, data_dir) as url:
            yield Rush(url, token, kernel, items)
    finally:
        empty_tables(kernel)
        kernel.close()


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(response.status_code for response in responses)


def test_orders_never_oversell(rush: Rush) -> None:
    item = rush.items["orders"]
    responses = post_at_once(
        rush.url, rush.token, EVENT + "orders/", [{"positions": [{"item": item}]} for _ in range(ATTEMPTS)]
    )
    assert statuses(responses) == {201: SOLD, 400: ATTEMPTS - SOLD}, [
        r.text for r in responses if r.status_code >= 500
    ][:3]
    refusal = {"positions": [{"item": [QUOTA_MESSAGE.format("orders")]}]}
    assert all(response.json() == refusal for response in responses if response.status_code == 400)
    with rush.kernel.db.session() as session:
        orders = session.scalar(
            select(func.count()).select_from(Order).join(OrderPosition).where(OrderPosition.item_id == item)
        )
        positions = session.scalar(select(func.count()).where(OrderPosition.item_id == item))
    assert orders == positions == SOLD
    codes = {response.json()["code"] for response in responses if response.status_code == 201}
    assert len(codes) == SOLD


def test_vouchers_never_over_redeem(rush: Rush) -> None:
    item = rush.items["voucher"]
    body = {"positions": [{"item": item, "voucher": "RUSH10"}]}
    responses = post_at_once(rush.url, rush.token, EVENT + "orders/", [body for _ in range(ATTEMPTS)])
    assert statuses(responses) == {201: VOUCHER_USES, 400: ATTEMPTS - VOUCHER_USES}
    refusal = {"positions": [{"voucher": ["This voucher has already been redeemed the maximum number of times."]}]}
    bodies = Counter(response.text for response in responses if response.status_code == 400)
    assert all(response.json() == refusal for response in responses if response.status_code == 400), bodies
    with rush.kernel.db.session() as session:
        voucher = session.scalar(select(Voucher).where(Voucher.code == "RUSH10"))
        assert voucher.redeemed == VOUCHER_USES
        assert session.scalar(select(func.count()).where(OrderPosition.voucher_id == voucher.id)) == VOUCHER_USES


def test_carts_never_oversell(rush: Rush) -> None:
    item = rush.items["carts"]
    responses = post_at_once(
        rush.url, rush.token, EVENT + "cartpositions/", [{"item": item, "price": "10.00"} for _ in range(ATTEMPTS)]
    )
    assert statuses(responses) == {201: SOLD, 400: ATTEMPTS - SOLD}
    refusal = {"non_field_errors": [QUOTA_MESSAGE.format("carts")]}
    assert all(response.json() == refusal for response in responses if response.status_code == 400)
    with rush.kernel.db.session() as session:
        assert session.scalar(select(func.count()).where(CartPosition.item_id == item)) == SOLD
