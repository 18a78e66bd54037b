"""Scanners racing at the real server (``boxoffice serve`` with several worker processes, on the test database):
several scanners redeem the same ticket at the same instant; exactly one of them may admit it, the others must be
told ``already_redeemed``, and nothing may fail with a 5xx. Retries carrying the same nonce, sent at once, record
one check-in.

PostgreSQL (``BOXOFFICE_TEST_DATABASE_URL``) runs 4 workers; SQLite runs 2 workers sharing one database file.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
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

POSTGRES = bool(os.environ.get("BOXOFFICE_TEST_DATABASE_URL"))
WORKERS = 4 if POSTGRES else 2
TICKETS = 12
SCANNERS = 4
REDEEM = "/api/v1/organizers/doors/checkinrpc/redeem/"
BOXOFFICE = Path(sys.executable).with_name("boxoffice")


@dataclass
class Doors:
    url: str
    token: str
    kernel: Kernel
    list_id: int
    secrets: list[str]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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


def server_environment(database_url: str, data_dir: Path) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("BOXOFFICE_")}
    environment.update(BOXOFFICE_DATABASE_URL=database_url, BOXOFFICE_DATA_DIR=str(data_dir))
    return environment


def wait_until_serving(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited ({process.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the server did not come up:\n{log.read_text()}")


@pytest.fixture(scope="module")
def doors(
    migrated_url: str, tmp_path_factory: pytest.TempPathFactory, empty_tables: Callable[[Kernel], None]
) -> Iterator[Doors]:
    data_dir = tmp_path_factory.mktemp("doors")
    kernel = Kernel(Config(database_url=migrated_url, data_dir=data_dir))
    token, list_id, secrets = seed(kernel)
    port = free_port()
    log = data_dir / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(BOXOFFICE), "serve", "--no-demo", "--workers", str(WORKERS), "--port", str(port)],
            env=server_environment(migrated_url, data_dir),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(process, url, log)
        yield Doors(url, token, kernel, list_id, secrets)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        empty_tables(kernel)
        kernel.close()


def fire(doors: Doors, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """POST every body at once: one thread (and connection) per request, all released together."""
    barrier = threading.Barrier(len(bodies))
    responses: list[httpx.Response | BaseException | None] = [None] * len(bodies)
    limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=len(bodies))
    with httpx.Client(
        base_url=doors.url, headers={"Authorization": f"Token {doors.token}"}, timeout=60, limits=limits
    ) as client:

        def send(index: int) -> None:
            barrier.wait()
            try:
                responses[index] = client.post(REDEEM, json=bodies[index])
            except BaseException as problem:
                responses[index] = problem

        threads = [threading.Thread(target=send, args=(index,)) for index in range(len(bodies))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    failures = [response for response in responses if not isinstance(response, httpx.Response)]
    assert not failures, failures[:3]
    return responses  # type: ignore[return-value]


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
    responses = fire(doors, bodies)
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
    responses = fire(doors, bodies)
    assert Counter(r.status_code for r in responses) == {201: len(bodies)}
    assert successful_checkins(doors, secrets) == len(secrets)
