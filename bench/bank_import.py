"""Bank statement import: a statement of N transactions matched against M open orders, through the real import
job (bulk candidate lookup, then one booking per matched transaction through the bank transfer provider and the
orders engine: payment confirmed, order paid, audit log, ledger, order_paid notifications).

Builds its own database (a temporary SQLite file unless ``--database-url`` names another, e.g. a scratch
PostgreSQL database), fills it with open orders that chose bank transfer, writes a statement mixing exact, partial
and unmatched transfers in the reference styles buyers use, runs the import job in-process and prints the time of
the matching step (finding candidate codes and loading the orders) and of the whole job, then imports the same
statement again (everything must come back ``already``; nothing is paid twice)::

    .venv/bin/python bench/bank_import.py --orders 10000 --transactions 10000
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from boxoffice.kernel import clock
from boxoffice.kernel.config import Config
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.migrations import upgrade
from boxoffice.kernel.models import Event, Item, Organizer, Quota
from boxoffice.kernel.models.orders import Order, OrderPayment, OrderPosition
from boxoffice.kernel.orders.codes import ORDER_CODE_ALPHABET, random_string, ticket_secret, web_secret
from boxoffice.plugins.banktransfer.matching import JOB_NAME, build_matcher, checksum, load_orders, plugin_events
from boxoffice.plugins.banktransfer.models import BankTransaction, ImportJob

PRICE = Decimal("35.00")


def seed(kernel: Kernel, orders: int, rng: random.Random) -> tuple[int, list[str]]:
    now = clock.now()
    with kernel.db.session() as session:
        organizer = Organizer(slug="bench", name="Bench", plugins=[])
        event = Event(
            organizer=organizer,
            slug="benchcon",
            name={"en": "BenchCon"},
            currency="EUR",
            date_from=now + timedelta(days=90),
            plugins=["banktransfer"],
        )
        item = Item(event=event, name={"en": "Ticket"}, default_price=PRICE)
        session.add_all([organizer, event, item, Quota(event=event, name="All", size=orders * 2, items=[item])])
        session.flush()
        codes: set[str] = set()
        while len(codes) < orders:
            codes.add(random_string(ORDER_CODE_ALPHABET, 5))
        ordered = sorted(codes)
        rng.shuffle(ordered)
        rows = []
        for code in ordered:
            order = Order(
                event_id=event.id,
                code=code,
                status="n",
                secret=web_secret()[:16],
                email="buyer@example.org",
                datetime=now,
                expires=now + timedelta(days=14),
                total=PRICE,
            )
            order.positions = [
                OrderPosition(
                    positionid=1,
                    item_id=item.id,
                    price=PRICE,
                    secret=ticket_secret(32),
                    web_secret=web_secret(),
                    pseudonymization_id=random_string(ORDER_CODE_ALPHABET, 10),
                )
            ]
            order.payments = [
                OrderPayment(local_id=1, state="created", amount=PRICE, provider="banktransfer", created=now, info={})
            ]
            rows.append(order)
        session.add_all(rows)
        return organizer.id, ordered


def statement(codes: list[str], count: int, rng: random.Random) -> list[dict[str, str]]:
    styles = ("BENCHCON-{c}", "benchcon {c}", "Ticket {c} thanks", "BENCHCON {a} {b}", "bench-{c}")
    lines = []
    for index in range(count):
        roll = rng.random()
        code = codes[index % len(codes)]
        if roll < 0.1:
            reference, amount = f"Invoice 2031/{index} rent", "120.00"
        else:
            style = rng.choice(styles)
            reference = style.format(c=code, a=code[:2], b=code[2:])
            amount = "20.00" if roll < 0.15 else ("50.00" if roll < 0.2 else "35.00")
        lines.append({"payer": f"Payer {index}", "reference": reference, "amount": amount, "date": "2031-04-01"})
    return lines


def import_once(kernel: Kernel, organizer_id: int, lines: list[dict[str, str]]) -> tuple[float, Counter[str]]:
    with kernel.db.session() as session:
        job = ImportJob(organizer_id=organizer_id, state="pending", actor_type="system")
        session.add(job)
        session.flush()
        session.bulk_save_objects(
            [
                BankTransaction(
                    job_id=job.id,
                    organizer_id=organizer_id,
                    checksum=checksum(line["payer"], line["reference"], Decimal(line["amount"]), line["date"]),
                    payer=line["payer"],
                    reference=line["reference"],
                    amount=Decimal(line["amount"]),
                    date=line["date"],
                )
                for line in lines
            ]
        )
        job_id = job.id
    started = time.perf_counter()
    kernel.jobs.enqueue(JOB_NAME, import_job_id=job_id)
    elapsed = time.perf_counter() - started
    with kernel.db.session() as session:
        job = session.get(ImportJob, job_id)
        if job.state != "completed":
            sys.exit(f"import job ended {job.state}: {job.message}")
        states = Counter(session.scalars(select(BankTransaction.state).where(BankTransaction.job_id == job_id)))
    return elapsed, states


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--transactions", type=int, default=10_000)
    parser.add_argument("--database-url", default="", help="an empty database (default: a temporary SQLite file)")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    folder = Path(tempfile.mkdtemp(prefix="bank-import-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
    kernel = Kernel(Config(database_url=url, data_dir=folder))
    upgrade(kernel)
    started = time.perf_counter()
    organizer_id, codes = seed(kernel, args.orders, rng)
    print(f"seeded {args.orders} open orders in {time.perf_counter() - started:.1f} s ({url.split(':')[0]})")
    lines = statement(codes, args.transactions, rng)

    with kernel.db.session() as session:
        organizer = session.get(Organizer, organizer_id)
        started = time.perf_counter()
        events = plugin_events(kernel, session, organizer)
        matcher = build_matcher(kernel, session, organizer, events)
        candidates = [code for line in lines for code, _, _ in matcher.candidates(line["reference"])]
        found = load_orders(session, [e.id for e in events], candidates)
        matching = time.perf_counter() - started
    print(
        f"matching step: {len(lines)} references → {len(set(candidates))} candidate codes → {len(found)} orders "
        f"loaded in {matching:.2f} s"
    )

    elapsed, states = import_once(kernel, organizer_id, lines)
    print(
        f"import job: {len(lines)} transactions in {elapsed:.1f} s ({len(lines) / elapsed:.0f}/s); "
        f"states {dict(sorted(states.items()))}"
    )
    with kernel.db.session() as session:
        paid = session.scalar(select(func.count()).select_from(Order).where(Order.status == "p"))
        confirmed = session.scalar(
            select(func.count()).select_from(OrderPayment).where(OrderPayment.state == "confirmed")
        )
    print(f"orders paid: {paid}, confirmed payments: {confirmed}")

    again, states_again = import_once(kernel, organizer_id, lines)
    with kernel.db.session() as session:
        confirmed_after = session.scalar(
            select(func.count()).select_from(OrderPayment).where(OrderPayment.state == "confirmed")
        )
    print(f"re-import of the same statement: {again:.1f} s; states {dict(sorted(states_again.items()))}")
    if confirmed_after != confirmed:
        sys.exit(f"re-import paid again: {confirmed_after - confirmed} new confirmed payments")
    print("re-import paid nothing twice")
    kernel.close()


if __name__ == "__main__":
    main()
