"""Test helpers for outbound delivery: a real local HTTP receiver (records requests, fails on demand, goes down
and comes back, can hold a request open) and a small world (organizer, event, orders, API token and client)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from live_server import free_port
from sqlalchemy import select

from boxoffice.kernel import clock
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.jobs import JobRunContext
from boxoffice.kernel.models import Event, Item, Organizer, Quota, Team, TeamAPIToken
from boxoffice.kernel.models.orders import Order
from boxoffice.kernel.models.outbound import OutboundEntry
from boxoffice.kernel.orders import lifecycle
from boxoffice.kernel.orders.drafts import OrderDraft, PositionDraft
from boxoffice.kernel.orders.placement import place_order
from boxoffice.kernel.outbound import sweep_job
from boxoffice.kernel.tokens import new_token, token_digest

ACTOR = Actor.system()
STARTS = datetime(2031, 5, 1, 9, 0, tzinfo=UTC)


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that stores PUT objects (served back by GET) and answers POSTs with 200."""

    port: int = field(default_factory=free_port)
    requests: list[Received] = field(default_factory=list)
    objects: dict[str, Any] = field(default_factory=dict)
    failures: list[int] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    holding: threading.Event = field(default_factory=threading.Event)
    hold_next: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_next(self, count: int, status: int = 500) -> None:
        with self.lock:
            self.failures.extend([status] * count)

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                with receiver.lock:
                    hold, receiver.hold_next = receiver.hold_next, False
                if hold:
                    receiver.holding.set()
                    receiver.release.wait(120)
                body = json.loads(raw) if raw else None
                with receiver.lock:
                    receiver.requests.append(Received(self.command, self.path, dict(self.headers), body))
                    status = receiver.failures.pop(0) if receiver.failures else None
                    answer: Any = {"ok": True}
                    if status is None and self.command == "GET":
                        if self.path in receiver.objects:
                            status, answer = 200, receiver.objects[self.path]
                        else:
                            status, answer = 404, {"detail": "not found"}
                    elif status is None and self.command == "PUT":
                        receiver.objects[self.path] = body
                        status = 200
                    status = status or 200
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _handle

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def posts(self) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.method == "POST"]

    def unique_posts(self) -> dict[str, Received]:
        """What an idempotent receiver keeps: one request per idempotency key."""
        return {r.headers["Idempotency-Key"]: r for r in self.posts()}


def entries(kernel: Kernel) -> list[OutboundEntry]:
    with kernel.db.session() as session:
        return list(session.scalars(select(OutboundEntry).order_by(OutboundEntry.id)))


def sweep(kernel: Kernel) -> dict[str, Any]:
    """One run of the outbound sweep job, as the scheduler starts it."""
    return sweep_job(JobRunContext(kernel, "test"))


def sweep_until_settled(kernel: Kernel, start: datetime, rounds: int) -> datetime:
    """Sweeps the one entry at each of its next attempts until it stops waiting (at most ``rounds`` sweeps);
    returns the time of the last sweep."""
    moment = start
    for _ in range(rounds):
        [entry] = entries(kernel)
        if entry.status != "waiting":
            break
        moment = entry.next_attempt
        with clock.time_machine(moment):
            sweep(kernel)
    return moment


def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.up()
    try:
        yield server
    finally:
        server.release.set()
        server.down()


@dataclass
class World:
    kernel: Kernel
    organizer_id: int
    event_id: int
    token: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}

    def place(self, count: int = 1, *, code: str | None = None) -> str:
        with self.kernel.db.session() as session:
            event = session.get(Event, self.event_id)
            item = session.scalar(select(Item).where(Item.event_id == event.id))
            draft = OrderDraft(
                positions=[PositionDraft(item=item.id) for _ in range(count)],
                payment_provider=None,
                code=code,
                email="buyer@example.org",
            )
            return place_order(self.kernel, session, event, draft, actor=ACTOR).code

    def pay(self, code: str) -> None:
        with self.kernel.db.session() as session:
            order = session.scalar(select(Order).where(Order.code == code, Order.event_id == self.event_id))
            lifecycle.mark_paid(self.kernel, session, order, actor=ACTOR)


def build_world(kernel: Kernel, plugins: list[str] | None = None, settings: dict[str, Any] | None = None) -> World:
    token = new_token()
    with kernel.db.session() as session:
        organizer = Organizer(slug="demo", name="Demo", plugins=[])
        event = Event(
            organizer=organizer,
            slug="democon",
            name={"en": "DemoCon"},
            currency="EUR",
            date_from=STARTS,
            plugins=["manualpayment", *(plugins or [])],
        )
        item = Item(event=event, name={"en": "Ticket"}, default_price=Decimal("35.00"))
        session.add_all([organizer, event, item, Quota(event=event, name="Tickets", size=100_000, items=[item])])
        session.add(
            TeamAPIToken(
                team=Team(
                    organizer=organizer,
                    name="all",
                    all_events=True,
                    all_event_permissions=True,
                    all_organizer_permissions=True,
                    limit_event_permissions=[],
                ),
                name="test",
                token_digest=token_digest(token),
            )
        )
        session.flush()
        if settings:
            kernel.settings_for(session, event=event).update(settings)
        return World(kernel, organizer.id, event.id, token)
