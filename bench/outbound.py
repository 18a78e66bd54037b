"""Outbound delivery: webhook calls per second through the outbound queue to a local receiver, and the delay from
an order being paid to its webhook arriving (p50/p99).

Builds its own database (a temporary SQLite file unless ``--database-url`` names another, e.g. a scratch
PostgreSQL database), starts a receiver in its own process (answers 200, notes the arrival time of each call),
then

1. writes ``--entries`` queue entries for one webhook and times sweeps in ``--threads`` threads delivering them
   (deliveries per second of wall time and per CPU second of this process);
2. places ``--orders`` orders and marks each paid, timing from the paid transaction's commit to the arrival of its
   ``pretix.event.order.paid`` call — in-process (the embedded default) or, with ``--redis-url``, through a real
   Celery worker that this script starts::

    .venv/bin/python bench/outbound.py --entries 2000 --orders 200
    .venv/bin/python bench/outbound.py --database-url postgresql://postgres@127.0.0.1:5432/bench \\
        --redis-url redis://127.0.0.1:6379/12
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import func, select

from boxoffice.kernel import clock
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.config import Config
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.jobs import JobRunContext
from boxoffice.kernel.migrations import upgrade
from boxoffice.kernel.models import Event, Item, Organizer, Quota
from boxoffice.kernel.models.orders import Order
from boxoffice.kernel.models.outbound import OutboundEntry
from boxoffice.kernel.orders import lifecycle
from boxoffice.kernel.orders.drafts import OrderDraft, PositionDraft
from boxoffice.kernel.orders.placement import place_order
from boxoffice.kernel.outbound import enqueue, sweep_job
from boxoffice.plugins.webhooks.models import Webhook

RECEIVER = r"""
import json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

arrivals = []

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        arrivals.append((time.time(), body.get("code"), body.get("action")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        data = json.dumps(arrivals).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
server.daemon_threads = True
server.serve_forever()
"""
ACTOR = Actor.system()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_receiver() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port)])
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(url + "/stats", timeout=1)
            return process, url
        except httpx.TransportError:
            time.sleep(0.05)
    raise SystemExit("the receiver did not start")


def arrivals(url: str) -> list[tuple[float, str | None, str]]:
    return [tuple(row) for row in httpx.get(url + "/stats", timeout=30).json()]  # type: ignore[misc]


def seed(kernel: Kernel, url: str) -> tuple[int, int, int]:
    with kernel.db.session() as session:
        organizer = Organizer(slug="bench", name="Bench", plugins=[])
        event = Event(
            organizer=organizer, slug="benchcon", name={"en": "BenchCon"}, currency="EUR", date_from=clock.now()
        )
        item = Item(event=event, name={"en": "Ticket"}, default_price=Decimal("35.00"))
        session.add_all([organizer, event, item, Quota(event=event, name="All", size=1_000_000, items=[item])])
        session.flush()
        hook = Webhook(
            organizer_id=organizer.id,
            target_url=url + "/hook",
            all_events=True,
            action_types=["pretix.event.order.paid"],
        )
        session.add(hook)
        session.flush()
        return organizer.id, event.id, hook.id


def throughput(kernel: Kernel, organizer_id: int, hook_id: int, entries: int, threads: int, url: str) -> None:
    before = len(arrivals(url))
    with kernel.db.session() as session:
        for n in range(entries):
            enqueue(
                session,
                channel="webhooks",
                target=str(hook_id),
                organizer_id=organizer_id,
                object_key=f"object-{n}",
                payload={"action": "bench", "n": n},
                immediate=False,
            )
    cpu, wall = time.process_time(), time.perf_counter()
    workers = [threading.Thread(target=sweep_job, args=(JobRunContext(kernel, "bench"),)) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    delivered = len(arrivals(url)) - before
    with kernel.db.session() as session:
        left = session.scalar(select(func.count()).where(OutboundEntry.status != "delivered")) or 0
    print(f"deliveries: {delivered} of {entries} in {wall:.2f} s with {threads} threads ({left} not delivered)")
    print(f"  {delivered / wall:.0f} deliveries/s wall, {delivered / cpu:.0f} per CPU second of the delivering process")


def paid_delay(kernel: Kernel, event_id: int, orders: int, url: str, timeout: float = 60) -> None:
    committed: dict[str, float] = {}
    with kernel.db.session() as session:
        event = session.get(Event, event_id)
        item = session.scalar(select(Item).where(Item.event_id == event_id))
        draft = OrderDraft(positions=[PositionDraft(item=item.id)], payment_provider=None, email="b@example.org")
        codes = [place_order(kernel, session, event, draft, actor=ACTOR).code for _ in range(orders)]
    for code in codes:
        with kernel.db.session() as session:
            order = session.scalar(select(Order).where(Order.code == code, Order.event_id == event_id))
            lifecycle.mark_paid(kernel, session, order, actor=ACTOR)
            committed[code] = time.time()  # the block's end commits right after this
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        paid = {code: at for at, code, action in arrivals(url) if action == "pretix.event.order.paid"}
        if all(code in paid for code in codes):
            break
        time.sleep(0.2)
    delays = sorted(max(0.0, paid[code] - committed[code]) * 1000 for code in codes if code in paid)
    if not delays:
        print("paid → webhook: nothing arrived")
        return
    p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
    print(
        f"paid → webhook arrival over {len(delays)} of {orders} orders: p50 {statistics.median(delays):.1f} ms, "
        f"p99 {p99:.1f} ms, max {delays[-1]:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="", help="deliver paid webhooks through a real Celery worker")
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-outbound-"))
    database_url = args.database_url or f"sqlite:///{data_dir / 'bench.sqlite3'}"
    kernel = Kernel(Config(database_url=database_url, data_dir=data_dir))
    upgrade(kernel)
    receiver, url = start_receiver()
    worker = None
    try:
        organizer_id, event_id, hook_id = seed(kernel, url)
        print(f"database: {kernel.db.engine.dialect.name}, receiver: {url}")
        throughput(kernel, organizer_id, hook_id, args.entries, args.threads, url)
        if args.redis_url:
            queued = Kernel(Config(database_url=database_url, data_dir=data_dir, redis_url=args.redis_url))
            env = {**os.environ, "BOXOFFICE_DATABASE_URL": database_url, "BOXOFFICE_REDIS_URL": args.redis_url}
            env["BOXOFFICE_DATA_DIR"] = str(data_dir)
            worker = subprocess.Popen(
                [sys.executable, "-m", "boxoffice.apps.cli", "worker", "-c", "2", "-Q", "outbound"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(8)  # the worker connects to the broker
            print("paid → webhook through a Celery worker (2 processes):")
            paid_delay(queued, event_id, args.orders, url)
        else:
            print("paid → webhook in-process (embedded default, delivered right after the commit):")
            paid_delay(kernel, event_id, args.orders, url)
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(20)
        receiver.terminate()
        kernel.close()
        if not args.database_url:
            print(json.dumps({"data_dir": str(data_dir)}))


if __name__ == "__main__":
    main()
