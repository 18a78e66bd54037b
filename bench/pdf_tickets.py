"""PDF ticket throughput: tickets/s for single downloads and for a bulk batch, and peak memory. Prints figures.

Builds its own world in a temporary folder: a SQLite database, an event with the PDF plugin on and a layout like
the one measured in ``../shared/notes/pdf-spike.md`` (210 x 99 mm, a vector background PDF, event name, date,
attendee name with non-Latin letters, product and price, order code, QR code of the secret), and paid orders
written straight into the database (this measures rendering, not order placement)::

    .venv/bin/python bench/pdf_tickets.py                       # 500 single tickets, a 10,000-ticket batch
    .venv/bin/python bench/pdf_tickets.py --single 1000 --bulk 10000 --bulk 2000

Figures:

* ``render``: ``generate(position)`` of the ``pdf`` output (one file per ticket), twice for the same tickets (the
  second pass shows what warm caches — fonts, background, event texts — leave);
* ``download``: the kernel's download path (cache miss → generation job in-process → file in the cache → read),
  the work behind ``GET …/orderpositions/{id}/download/pdf/`` without HTTP;
* ``bulk N``: the ``tickets.render_batch`` job for N tickets in a fresh process (parts of 1,000 pages joined into
  one file), its tickets/s, file size and the process's peak RSS, so several N show whether memory stays flat; the
  largest N runs twice (first print and reprint; they cost the same since QR codes are no longer cached per secret).

Use ``taskset -c 1`` to pin it to one core. On a shared machine wall-clock figures are depressed by whatever else
runs; the figures per CPU second (the process's own CPU time) are closer to what one free core does.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import string
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import select
from sqlalchemy.orm import Session

from boxoffice.kernel.config import Config
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.migrations import upgrade
from boxoffice.kernel.models import Event, Item, Organizer
from boxoffice.kernel.models.markers import ChangeMarker
from boxoffice.kernel.models.orders import Order, OrderPosition
from boxoffice.kernel.tickets import BATCH_JOB, batch_path, request_file, ticket_outputs
from boxoffice.plugins.ticketoutputpdf.models import TicketLayout, TicketLayoutBackground
from boxoffice.plugins.ticketoutputpdf.rendering import background_digest

MM = 72 / 25.4
NAMES = ["Łukasz Żółć", "Дмитрий Иванов", "Σωκράτης Παππάς", "Zoë Ørsted", "Ada Lovelace", "José Núñez"]
LAYOUT = [
    {"type": "textarea", "content": "event_name", "left": 10, "bottom": 82, "width": 140, "fontsize": 20, "bold": True},
    {"type": "textarea", "content": "other", "text": "{event_begin} · {event_location}", "left": 10, "bottom": 74,
     "width": 140, "fontsize": 10},
    {"type": "textarea", "content": "attendee_name", "left": 10, "bottom": 55, "width": 140, "fontsize": 16},
    {"type": "textarea", "content": "other", "text": "{itemvar} · {price}", "left": 10, "bottom": 45, "width": 140,
     "fontsize": 11},
    {"type": "textarea", "content": "other", "text": "{order}-{positionid}", "left": 10, "bottom": 15, "width": 60,
     "fontsize": 9},
    {"type": "barcodearea", "content": "secret", "left": 166, "bottom": 40, "size": 34},
]  # fmt: skip


def background() -> bytes:
    """A one-page vector background: frame, logo circles, waves and a dashed tear line."""
    import io

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(210 * MM, 99 * MM))
    canvas.setStrokeColorRGB(0.2, 0.3, 0.6)
    canvas.roundRect(4 * MM, 4 * MM, 202 * MM, 91 * MM, 4 * MM)
    for radius in (9, 6, 3):
        canvas.circle(185 * MM, 85 * MM, radius * MM)
    for wave in range(48):
        path = canvas.beginPath()
        path.moveTo(5 * MM, (6 + wave * 0.4) * MM)
        path.curveTo(60 * MM, (12 + wave) * MM, 110 * MM, (2 + wave * 0.2) * MM, 160 * MM, (8 + wave * 0.3) * MM)
        canvas.drawPath(path)
    canvas.setDash(3, 3)
    canvas.line(160 * MM, 5 * MM, 160 * MM, 94 * MM)
    canvas.setFont("Helvetica", 7)
    canvas.drawString(10 * MM, 6 * MM, "Keep this ticket with you. boxoffice benchmark background.")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def secret(length: int = 32) -> str:
    return "".join(random.choices(string.ascii_lowercase + string.digits, k=length))


def add_festival(session: Session, starts: datetime, plugins: list[str]) -> tuple[Event, Item]:
    """Organizer ``bench``, event ``fest`` with ``plugins`` on, its weekend pass and a default layout with a
    background PDF (the world the PDF and offline sales benchmarks share)."""
    organizer = Organizer(slug="bench", name="Bench Org", plugins=[])
    event = Event(
        organizer=organizer,
        slug="fest",
        name={"en": "Summer Festival 2031"},
        location={"en": "Riverside Park"},
        currency="EUR",
        date_from=starts,
        timezone="Europe/Berlin",
        plugins=plugins,
    )
    item = Item(event=event, name={"en": "Weekend pass"}, default_price=Decimal("49.00"))
    session.add_all([organizer, event, item])
    session.flush()
    content = background()
    digest = background_digest(content)
    layout = TicketLayout(event_id=event.id, name="Bench", is_default=True, elements=LAYOUT, background_file=digest)
    session.add(layout)
    session.flush()
    session.add(TicketLayoutBackground(layout_id=layout.id, content=content))
    return event, item


def build_world(folder: Path, tickets: int) -> tuple[Kernel, int]:
    kernel = Kernel(Config(database_url=f"sqlite:///{folder / 'bench.sqlite3'}", data_dir=folder / "data"))
    upgrade(kernel)
    starts = datetime(2031, 6, 1, 18, 0, tzinfo=UTC)
    with kernel.db.session() as session:
        event, item = add_festival(session, starts, ["ticketoutputpdf"])
        session.add(ChangeMarker(event_id=event.id, resource="ticketlayouts", modified=starts))
        event_id, item_id = event.id, item.id
    made = 0
    while made < tickets:
        with kernel.db.session() as session:
            for _ in range(min(500, tickets - made)):
                made += 1
                order = Order(
                    event_id=event_id,
                    code=f"B{made:06d}",
                    status="p",
                    secret=secret(16),
                    email="buyer@example.org",
                    expires=starts + timedelta(days=30),
                    total=Decimal("49.00"),
                )
                session.add(order)
                session.flush()
                session.add(
                    OrderPosition(
                        order_id=order.id,
                        positionid=1,
                        item_id=item_id,
                        price=Decimal("49.00"),
                        attendee_name_parts={"full_name": NAMES[made % len(NAMES)]},
                        secret=secret(),
                        web_secret=secret(),
                        pseudonymization_id=secret(10).upper(),
                    )
                )
    return kernel, event_id


def single(kernel: Kernel, event_id: int, count: int) -> None:
    with kernel.db.session() as session:
        event = session.get(Event, event_id)
        output = ticket_outputs(kernel, session, event)["pdf"]
        positions = list(session.scalars(select(OrderPosition).order_by(OrderPosition.id).limit(count)))
        for position in positions:
            position.order  # noqa: B018  (loaded before timing)
        for label in ("render, first pass", "render, second pass"):
            started, cpu = time.perf_counter(), time.process_time()
            size = 0
            for position in positions:
                size += len(output.generate(position)[2])
            elapsed, used = time.perf_counter() - started, time.process_time() - cpu
            print(
                f"single  {label:<30} {count / elapsed:7.1f} tickets/s wall, {count / used:7.1f} per CPU second  "
                f"({used / count * 1000:6.2f} ms CPU/ticket)  {size / count / 1024:5.1f} KiB/file"
            )
    with kernel.db.session() as session:
        event = session.get(Event, event_id)
        orders = list(session.scalars(select(Order).order_by(Order.id).limit(count)))
        started, cpu = time.perf_counter(), time.process_time()
        for order in orders:
            found = request_file(kernel, session, event, order, "pdf", order.positions[0].id)
            assert found is not None
            found.path.read_bytes()
        elapsed, used = time.perf_counter() - started, time.process_time() - cpu
        print(
            f"single  {'download (miss: render + cache)':<30} {count / elapsed:7.1f} tickets/s wall, "
            f"{count / used:7.1f} per CPU second"
        )
        started, cpu = time.perf_counter(), time.process_time()
        for order in orders:
            found = request_file(kernel, session, event, order, "pdf", order.positions[0].id)
            assert found is not None
            found.path.read_bytes()
        elapsed, used = time.perf_counter() - started, time.process_time() - cpu
        print(
            f"single  {'download (cached)':<30} {count / elapsed:7.1f} tickets/s wall, "
            f"{count / used:7.1f} per CPU second"
        )


def bulk_child(folder: Path, count: int) -> None:
    """Runs in a fresh process: only the batch job, so the peak RSS is the batch's."""
    kernel = Kernel(Config(database_url=f"sqlite:///{folder / 'bench.sqlite3'}", data_dir=folder / "data"))
    with kernel.db.session() as session:
        event_id = session.scalar(select(Event.id).where(Event.slug == "fest"))
        ids = list(session.scalars(select(OrderPosition.id).order_by(OrderPosition.id).limit(count)))
    parts = [{"orderposition": position_id} for position_id in ids]
    before = resource.getrusage(resource.RUSAGE_SELF)
    baseline = before.ru_maxrss
    started = time.perf_counter()
    job_id = kernel.jobs.enqueue(BATCH_JOB, event_id=event_id, output="pdf", parts=parts)
    elapsed = time.perf_counter() - started
    status = kernel.jobs.status(job_id)
    assert status is not None and status.status == "done", status.error if status else "no job"
    size = batch_path(kernel, job_id).stat().st_size
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    figures = {"count": len(parts), "seconds": elapsed, "cpu": cpu, "bytes": size, "peak_kib": after.ru_maxrss}
    print(json.dumps({**figures, "base_kib": baseline}))


def bulk(folder: Path, count: int, label: str) -> None:
    finished = subprocess.run(
        [sys.executable, __file__, "--child", str(folder), "--bulk", str(count)],
        check=True,
        capture_output=True,
        text=True,
    )
    figures = json.loads(finished.stdout.strip().splitlines()[-1])
    count, seconds, size = figures["count"], figures["seconds"], figures["bytes"]
    print(
        f"bulk    {count:>6} tickets, {label}: {count / seconds:7.1f} tickets/s wall, "
        f"{count / figures['cpu']:7.1f} per CPU second  {seconds:6.1f} s  "
        f"{size / 1024 / 1024:6.1f} MiB ({size / count / 1024:.2f} KiB/ticket)  "
        f"peak RSS {figures['peak_kib'] / 1024:4.0f} MiB (before the job {figures['base_kib'] / 1024:.0f} MiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=500, help="tickets for the single-file figures")
    parser.add_argument("--bulk", type=int, action="append", help="batch sizes (default: 10000)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child is not None:
        bulk_child(arguments.child, arguments.bulk[0])
        return
    sizes = arguments.bulk or [10_000]
    with tempfile.TemporaryDirectory(prefix="boxoffice-pdf-bench-") as temporary:
        folder = Path(temporary)
        started = time.perf_counter()
        kernel, event_id = build_world(folder, max([arguments.single, *sizes]))
        print(f"world: {max([arguments.single, *sizes])} paid tickets in {time.perf_counter() - started:.1f} s")
        single(kernel, event_id, arguments.single)
        kernel.close()
        for size in sizes:
            bulk(folder, size, "first print")
        bulk(folder, max(sizes), "reprint")


if __name__ == "__main__":
    main()
