"""Invoice numbers stay gap-free and unique when many transactions issue invoices at the same time, including
transactions that roll back after taking a number. On PostgreSQL every thread has its own connection and the
transactions really overlap; on SQLite (one writer) the threads queue on the database's write lock."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from invoicing_world import ACTOR, InvoiceWorld
from sqlalchemy import select

from boxoffice.kernel import invoicing
from boxoffice.kernel.models.invoices import Invoice, InvoiceNumberCounter

THREADS = 8
PER_THREAD = 6


class Abandoned(Exception):
    """Raised after issuing, so the transaction (and its number) is rolled back."""


def test_parallel_issuers_share_one_gap_free_sequence(invoice_world: InvoiceWorld) -> None:
    invoice_world.organizer_settings(invoice_numbers_prefix="ORG-")
    codes = [invoice_world.place("conf" if index % 2 else "fair") for index in range(THREADS * PER_THREAD)]
    kernel = invoice_world.kernel
    start = threading.Barrier(THREADS)
    rolled_back: list[str] = []

    def issuer(batch: list[str], worker: int) -> list[str]:
        start.wait()
        issued = []
        for index, code in enumerate(batch):
            abandon = (worker + index) % 4 == 0
            try:
                with kernel.db.writer(), kernel.db.session() as session:
                    invoice = invoicing.issue_invoice(kernel, session, invoice_world.order(session, code), actor=ACTOR)
                    if abandon:
                        rolled_back.append(invoice.number)
                        raise Abandoned
                    issued.append(code)
            except Abandoned:
                continue
        return issued

    batches = [codes[worker::THREADS] for worker in range(THREADS)]
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(issuer, batches, range(THREADS)))
    issued = [code for result in results for code in result]
    assert rolled_back, "some transactions must have been rolled back for the test to mean anything"
    with kernel.db.session() as session:
        numbers = sorted(
            int(number.removeprefix("ORG-")) for number in session.scalars(select(Invoice.full_invoice_no))
        )
        counter = session.scalar(select(InvoiceNumberCounter.last_number).where(InvoiceNumberCounter.prefix == "ORG-"))
    assert len(numbers) == len(issued) == THREADS * PER_THREAD - len(rolled_back)
    assert numbers == list(range(1, len(numbers) + 1))
    assert counter == len(numbers)
