"""Exports of a large event: rows per second and peak memory of the bundled exporters, run as export jobs.

Builds an event with ``--orders`` orders (one ticket each by default, an invoice address, a confirmed payment) in a
fresh database, then runs each chosen exporter through the kernel's ``exports.run`` job exactly as the API does
(in-process) and prints, per export: rows, wall and CPU seconds, rows per CPU second, file size, progress updates,
and the peak growth of the process's resident memory while the export ran (sampled every 10 ms). Run it with two
sizes to see that memory does not grow with the number of orders (the formats stream; only ``pdf`` would not)::

    .venv/bin/python bench/export.py --orders 100000
    .venv/bin/python bench/export.py --orders 10000
    .venv/bin/python bench/export.py --orders 100000 --database-url postgresql://postgres@127.0.0.1:5432/bench

On PostgreSQL the database must exist and be empty (the script migrates it). The machine may be shared: CPU seconds
are the fairer figure.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from boxoffice.kernel import exports
from boxoffice.kernel.config import Config
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.migrations import upgrade
from boxoffice.kernel.models import Event, Item, JobRecord, Organizer, Quota
from boxoffice.kernel.models.orders import InvoiceAddress, Order, OrderPayment, OrderPosition

EXPORTS = {
    "orderlist-csv": ("orderlist", {"_format": "default"}),
    "orderlist-xlsx": ("orderlist", {"_format": "xlsx"}),
    "positionlist-csv": ("positionlist", {"_format": "default"}),
    "positionlist-json": ("positionlist", {"_format": "json"}),
    "paymentlist-csv": ("paymentlist", {}),
    "eventdata-json": ("eventdata", {}),
}
BATCH = 5000


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakMemory:
    """Samples the resident set size in a thread while a block runs."""

    def __enter__(self) -> PeakMemory:
        self.baseline = self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss_bytes())

    def __exit__(self, *_exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.baseline) / 2**20


def build(kernel: Kernel, orders: int, per_order: int) -> int:
    start = datetime(2031, 5, 1, 9, tzinfo=UTC)
    with kernel.db.session() as session:
        organizer = Organizer(slug="bench", name="Bench Events", plugins=["reports"])
        event = Event(organizer=organizer, slug="big", name={"en": "Big"}, currency="EUR", date_from=start,
                      plugins=["reports"])  # fmt: skip
        item = Item(event=event, name={"en": "Ticket"}, default_price=Decimal("25.00"))
        session.add_all([organizer, event, item, Quota(event=event, name="All", size=None, items=[item])])
        session.flush()
        event_id, item_id = event.id, item.id
    placed = datetime(2031, 1, 1, tzinfo=UTC)
    next_order = 1
    while next_order <= orders:
        upto = min(orders, next_order + BATCH - 1)
        with kernel.db.session() as session:
            session.execute(
                insert(Order),
                [
                    {"id": n, "event_id": event_id, "code": f"B{n:07d}", "status": "p" if n % 10 else "n",
                     "secret": f"s{n:031d}", "email": f"buyer{n}@example.org", "locale": "en",
                     "datetime": placed + timedelta(seconds=n), "expires": placed + timedelta(days=14),
                     "total": Decimal("25.00") * per_order}
                    for n in range(next_order, upto + 1)
                ],
            )  # fmt: skip
            session.execute(
                insert(OrderPosition),
                [
                    {"order_id": n, "positionid": p, "item_id": item_id, "price": Decimal("25.00"),
                     "attendee_name_parts": {"given_name": f"Given{n}", "family_name": f"Family{p}"},
                     "attendee_name_cached": f"Given{n} Family{p}", "attendee_email": f"guest{n}-{p}@example.org",
                     "secret": f"t{n:09d}{p:03d}", "web_secret": f"w{n:031d}", "pseudonymization_id": f"P{n:09d}{p}"}
                    for n in range(next_order, upto + 1)
                    for p in range(1, per_order + 1)
                ],
            )  # fmt: skip
            session.execute(
                insert(InvoiceAddress),
                [
                    {"order_id": n, "name_parts": {"full_name": f"Buyer {n}"}, "street": f"{n} Long Road",
                     "zipcode": "10115", "city": "Berlin", "country": "DE"}
                    for n in range(next_order, upto + 1)
                ],
            )  # fmt: skip
            session.execute(
                insert(OrderPayment),
                [
                    {"order_id": n, "local_id": 1, "state": "confirmed" if n % 10 else "created",
                     "amount": Decimal("25.00") * per_order, "provider": "manual", "info": {},
                     "payment_date": placed + timedelta(seconds=n) if n % 10 else None}
                    for n in range(next_order, upto + 1)
                ],
            )  # fmt: skip
        next_order = upto + 1
    return event_id


def run_export(kernel: Kernel, event_id: int, identifier: str, params: dict[str, Any]) -> dict[str, Any]:
    with kernel.db.session() as session:
        event = session.get(Event, event_id)
        exporter = exports.event_exporters(kernel, session, event)[identifier]
        job_id = exports.start_export(kernel, session, exporter, params, event=event)
    # The job starts when the unit of work above commits (in-process runner): time it from there.
    return {"job_id": job_id}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--per-order", type=int, default=1, help="tickets per order")
    parser.add_argument("--database-url", default="", help="an empty database (default: a temporary SQLite file)")
    parser.add_argument("--only", nargs="*", choices=sorted(EXPORTS), help="run only these exports")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="boxoffice-export-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    kernel = Kernel(Config(database_url=url, data_dir=workdir))
    upgrade(kernel)
    began = time.perf_counter()
    event_id = build(kernel, args.orders, args.per_order)
    print(f"built {args.orders:,} orders x {args.per_order} tickets in {time.perf_counter() - began:.1f} s "
          f"({kernel.db.engine.dialect.name})")  # fmt: skip
    print(f"{'export':<18} {'rows':>9} {'wall s':>7} {'cpu s':>7} {'rows/cpu s':>11} {'MB file':>8} {'peak +MB':>9}")
    for name in args.only or list(EXPORTS):
        identifier, params = EXPORTS[name]
        with PeakMemory() as memory:
            wall, cpu = time.perf_counter(), time.process_time()
            job_id = run_export(kernel, event_id, identifier, params)["job_id"]
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        with kernel.db.session() as session:
            record = session.get(JobRecord, job_id)
            assert record is not None
            if record.status != "done":
                raise SystemExit(f"{name} failed: {record.error}")
            size = exports.export_path(kernel, job_id).stat().st_size
        rows = args.orders * (args.per_order if identifier == "positionlist" else 1)
        print(f"{name:<18} {rows:>9,} {wall:>7.2f} {cpu:>7.2f} {rows / max(cpu, 1e-9):>11,.0f} "
              f"{size / 2**20:>8.1f} {memory.growth_mb:>9.1f}")  # fmt: skip
        exports.export_path(kernel, job_id).unlink()
    with kernel.db.session() as session:
        count = session.scalar(select(Order.id).order_by(Order.id.desc()).limit(1))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"max RSS of the process (setup included): {peak:.0f} MB; last order id {count}")
    kernel.close()


if __name__ == "__main__":
    main()
