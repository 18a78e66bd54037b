"""Invoices issued at once by many workers sharing one number range: throughput, latency, and proof of gap-free,
duplicate-free numbers.

Works on the kernel directly (no HTTP), on a fresh database of its own: a PostgreSQL schema it creates and drops, or
a temporary SQLite file. ``--workers`` threads, each with its own connection, issue invoices for ``--orders``
pre-placed orders with one shared prefix (the worst case: every issuer waits for the same counter row until the
previous issuer's transaction commits). Rendering the PDF is a job after the commit and is not part of the
measured transaction; ``--render`` includes it (in-process, as ``boxoffice serve`` does without a broker)::

    .venv/bin/python bench/invoice_numbering.py --database postgresql://postgres@127.0.0.1:5432/test \\
        --workers 8 --orders 400

Prints invoices/s, latency percentiles, and whether the numbers are exactly 1…N; exits non-zero when they are not.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, select, text

from boxoffice.hookspecs.providers import JobDefinition
from boxoffice.kernel import invoicing
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.config import Config
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.db import normalise_url
from boxoffice.kernel.migrations import upgrade
from boxoffice.kernel.models import Event, Item, Organizer, Quota
from boxoffice.kernel.models.invoices import Invoice
from boxoffice.kernel.models.orders import Order
from boxoffice.kernel.orders.drafts import OrderDraft, PositionDraft
from boxoffice.kernel.orders.placement import place_order

ACTOR = Actor("cli", "bench")


def skip_rendering(_context: object, invoice_id: int) -> None:
    """Stands in for the render job when only the issuing transaction is measured."""


def prepare(kernel: Kernel, orders: int) -> list[int]:
    with kernel.db.session() as session:
        organizer = Organizer(slug="bench", name="Bench", plugins=[])
        event = Event(
            organizer=organizer,
            slug="bench",
            name={"en": "Bench"},
            currency="EUR",
            date_from=datetime(2031, 1, 1, tzinfo=UTC),
        )
        item = Item(event=event, name={"en": "Ticket"}, default_price=Decimal("10.00"))
        session.add_all([organizer, event, item, Quota(event=event, name="All", size=None, items=[item])])
        session.flush()
        kernel.settings_for(session, organizer=organizer).set("invoice_numbers_prefix", "B-")
        event_id, item_id = event.id, item.id
    ids = []
    for _ in range(orders):
        with kernel.db.session() as session:
            draft = OrderDraft(
                positions=[PositionDraft(item=item_id)], email="b@example.org", payment_provider="manual"
            )
            ids.append(place_order(kernel, session, session.get(Event, event_id), draft, actor=ACTOR).id)
    return ids


def run(kernel: Kernel, order_ids: list[int], workers: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(workers)

    def worker(batch: list[int]) -> None:
        start.wait()
        for order_id in batch:
            began = time.perf_counter()
            with kernel.db.writer(), kernel.db.session() as session:
                invoicing.issue_invoice(kernel, session, session.get(Order, order_id), actor=ACTOR)
            elapsed = time.perf_counter() - began
            with lock:
                latencies.append(elapsed)

    began = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(worker, [order_ids[index::workers] for index in range(workers)]))
    return time.perf_counter() - began, latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database", default="", help="PostgreSQL URL (a schema is created and dropped); default SQLite"
    )
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--orders", type=int, default=400)
    parser.add_argument("--render", action="store_true", help="render each PDF in-process after its commit")
    options = parser.parse_args()

    schema = f"bench_invoices_{uuid.uuid4().hex[:8]}"
    admin = None
    with tempfile.TemporaryDirectory() as folder:
        if options.database:
            admin = create_engine(normalise_url(options.database), isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            separator = "&" if "?" in options.database else "?"
            url = f"{normalise_url(options.database)}{separator}options={quote(f'-csearch_path={schema}')}"
        else:
            url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        kernel = Kernel(Config(database_url=url, data_dir=Path(folder), db_pool_size=max(5, options.workers)))
        try:
            upgrade(kernel)
            if not options.render:
                # The render job is registered by the kernel; without --render it is replaced by a no-op so only the
                # issuing transaction is measured.
                kernel.registries.jobs[invoicing.RENDER_JOB] = JobDefinition(invoicing.RENDER_JOB, skip_rendering)
            order_ids = prepare(kernel, options.orders)
            elapsed, latencies = run(kernel, order_ids, options.workers)
            with kernel.db.session() as session:
                numbers = sorted(
                    int(number.removeprefix("B-")) for number in session.scalars(select(Invoice.full_invoice_no))
                )
        finally:
            kernel.close()
            if admin is not None:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    latencies.sort()

    def percentile(share: float) -> float:
        return latencies[min(len(latencies) - 1, int(share * len(latencies)))] * 1000

    backend = "PostgreSQL" if options.database else "SQLite"
    gap_free = numbers == list(range(1, options.orders + 1))
    print(f"backend {backend}, {options.workers} workers, {options.orders} invoices, render={options.render}")
    print(f"throughput  {options.orders / elapsed:8.1f} invoices/s ({elapsed:.2f} s)")
    print(
        f"latency ms  p50 {percentile(0.5):.1f}  p95 {percentile(0.95):.1f}  p99 {percentile(0.99):.1f}  "
        f"mean {statistics.mean(latencies) * 1000:.1f}"
    )
    print(f"numbers     1…{numbers[-1] if numbers else 0}, gap-free and unique: {gap_free}")
    return 0 if gap_free else 1


if __name__ == "__main__":
    sys.exit(main())
