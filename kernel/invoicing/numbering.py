"""Gap-free invoice numbers: one counter row per organizer and prefix, incremented in the issuing transaction.

Tax law in many countries wants invoice numbers without gaps. A sequence (or ``max(number) + 1``) cannot promise
that: a sequence value is lost when its transaction rolls back, and two transactions reading the same maximum would
both take the next number. Incrementing a counter row with ``UPDATE … RETURNING`` inside the transaction that
inserts the invoice does both jobs: the row lock makes concurrent issuers of one prefix wait for each other (for the
rest of the issuing transaction, which is why issuing keeps that transaction short), and a rollback undoes the
increment together with the invoice. Different prefixes never wait for each other.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from boxoffice.kernel.models.invoices import InvoiceNumberCounter


def _create_counter(session: Session, organizer_id: int, prefix: str) -> None:
    """Insert the counter row unless it exists; two first invoices racing both end up using the one row."""
    dialect = session.get_bind().dialect.name
    values = {"organizer_id": organizer_id, "prefix": prefix, "last_number": 0}
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(InvoiceNumberCounter).values(**values).on_conflict_do_nothing()
    session.execute(statement)


def next_number(session: Session, organizer_id: int, prefix: str) -> int:
    """Take the next number of ``prefix`` in the caller's transaction (locks the counter until it ends)."""
    statement = (
        update(InvoiceNumberCounter)
        .where(InvoiceNumberCounter.organizer_id == organizer_id, InvoiceNumberCounter.prefix == prefix)
        .values(last_number=InvoiceNumberCounter.last_number + 1)
        .returning(InvoiceNumberCounter.last_number)
        .execution_options(synchronize_session=False)
    )
    number = session.scalar(statement)
    if number is None:
        _create_counter(session, organizer_id, prefix)
        number = session.scalar(statement)
    if number is None:  # pragma: no cover - the row exists after the insert above
        raise RuntimeError(f"invoice number counter for {prefix!r} could not be created")
    return int(number)


def format_number(number: int, length: int) -> str:
    """``42`` → ``"00042"`` for a counter length of 5; longer numbers keep all their digits."""
    return str(number).zfill(max(1, length))
