"""Offline sales: create a batch of N paid orders and render its tickets into one PDF, as the API's jobs do. Prints
wall time, CPU time and peak memory of each step.

Builds its own world in a temporary folder (SQLite, or PostgreSQL with ``--database-url``): an event with the PDF
and offline sales plugins on, one product with a quota of N, and the ticket layout of ``bench/pdf_tickets.py``
(210 x 99 mm vector background, texts with placeholders, QR code of the secret)::

    .venv/bin/python bench/offline_batch.py                   # 10,000 tickets on SQLite
    .venv/bin/python bench/offline_batch.py --amount 2000
    .venv/bin/python bench/offline_batch.py --database-url postgresql://postgres@127.0.0.1:5432/bench

Each step runs in a fresh process, so the peak RSS printed is that step's: ``create`` is the job behind
``POST …/offlinesalesbatches/`` (every order, position, payment, ledger row and log entry in one transaction, quota
locked and counted once), ``render`` the job behind ``POST …/offlinesalesbatches/{id}/render/``, ``render again``
a reprint. On a shared machine wall-clock figures are depressed by whatever else runs; the CPU figures are the
process's own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from pdf_tickets import add_festival
from sqlalchemy import create_engine, select, text

from boxoffice.kernel.config import Config
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.db import normalise_url
from boxoffice.kernel.migrations import upgrade
from boxoffice.kernel.models import Event, Item, Quota
from boxoffice.kernel.tickets import batch_path
from boxoffice.plugins.offlinesales.batches import CREATE_JOB, RENDER_JOB
from boxoffice.plugins.offlinesales.models import OfflineSalesBatch
from boxoffice.plugins.ticketoutputpdf.models import TicketLayout


def kernel_for(url: str, folder: Path) -> Kernel:
    return Kernel(Config(database_url=url, data_dir=folder / "data"))


def build_world(url: str, folder: Path, amount: int) -> None:
    kernel = kernel_for(url, folder)
    upgrade(kernel)
    with kernel.db.session() as session:
        starts = datetime(2031, 6, 1, 18, 0, tzinfo=UTC)
        event, item = add_festival(session, starts, ["ticketoutputpdf", "offlinesales"])
        session.add(Quota(event=event, name="Passes", size=amount, items=[item]))
    kernel.close()


def child(url: str, folder: Path, step: str, amount: int) -> None:
    """One step in this fresh process; prints its figures as JSON."""
    kernel = kernel_for(url, folder)
    with kernel.db.session() as session:
        event = session.scalar(select(Event).where(Event.slug == "fest"))
        assert event is not None
        event_id = event.id
        item_id = session.scalar(select(Item.id).where(Item.event_id == event_id))
        layout_id = session.scalar(select(TicketLayout.id).where(TicketLayout.event_id == event_id))
        batch_id = session.scalar(select(OfflineSalesBatch.id).order_by(OfflineSalesBatch.id.desc()).limit(1))
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    if step == "create":
        batch = {
            "item": item_id,
            "amount": amount,
            "layout": layout_id,
            "testmode": False,
            "sales_channel": "web",
            "subevent": None,
            "variation": None,
            "comment": "bench",
        }
        job_id = kernel.jobs.enqueue(CREATE_JOB, event_id=event_id, batch=batch, actor=["system", None])
    else:
        job_id = kernel.jobs.enqueue(RENDER_JOB, event_id=event_id, batch_id=batch_id)
    elapsed = time.perf_counter() - started
    record = kernel.jobs.status(job_id)
    assert record is not None and record.status == "done", record.error if record else "no job"
    after = resource.getrusage(resource.RUSAGE_SELF)
    figures = {
        "seconds": elapsed,
        "cpu": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
        "peak_kib": after.ru_maxrss,
        "base_kib": before.ru_maxrss,
        "bytes": batch_path(kernel, job_id).stat().st_size if step != "create" else 0,
    }
    print(json.dumps(figures))


def run_step(url: str, folder: Path, step: str, amount: int) -> dict[str, float]:
    finished = subprocess.run(
        [sys.executable, __file__, "--child", step, "--folder", str(folder), "--database-url", url, "--amount",
         str(amount)],
        check=True,
        capture_output=True,
        text=True,
    )  # fmt: skip
    return json.loads(finished.stdout.strip().splitlines()[-1])


def report(label: str, amount: int, figures: dict[str, float]) -> None:
    size = f"  {figures['bytes'] / 1024 / 1024:6.1f} MiB" if figures["bytes"] else ""
    print(
        f"{label:<14} {amount:>6} tickets  {figures['seconds']:6.1f} s wall ({amount / figures['seconds']:7.0f}/s)  "
        f"{figures['cpu']:6.1f} s CPU ({amount / figures['cpu']:7.0f}/CPU-s)  peak RSS "
        f"{figures['peak_kib'] / 1024:4.0f} MiB (before {figures['base_kib'] / 1024:.0f} MiB){size}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--amount", type=int, default=10_000)
    parser.add_argument("--database-url", default="", help="PostgreSQL server to use (a scratch schema is made)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.database_url, arguments.folder, arguments.child, arguments.amount)
        return
    with tempfile.TemporaryDirectory(prefix="boxoffice-offline-bench-") as temporary:
        folder = Path(temporary)
        url, schema = f"sqlite:///{folder / 'bench.sqlite3'}", ""
        if arguments.database_url:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(normalise_url(arguments.database_url), isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            url = f"{normalise_url(arguments.database_url)}?options=-csearch_path%3D{schema}"
        try:
            build_world(url, folder, arguments.amount)
            print(f"database: {url.split(':', 1)[0]}")
            for step, label in (("create", "create"), ("render", "render"), ("render", "render again")):
                report(label, arguments.amount, run_step(url, folder, step, arguments.amount))
        finally:
            if schema:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
