"""Counting the SQL statements a piece of work sends, for the tests that keep query counts fixed (no N+1)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event as sqlalchemy_event

WRITES = ("INSERT", "UPDATE", "DELETE")


def is_write(statement: str) -> bool:
    return statement.lstrip().upper().startswith(WRITES)


@contextmanager
def counted(engine: Any, keep: Callable[[str], bool] | None = None) -> Iterator[list[str]]:
    """The statements ``engine`` sends inside the block (those ``keep`` accepts, when given), in order."""
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if keep is None or keep(statement):
            statements.append(statement)

    sqlalchemy_event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sqlalchemy_event.remove(engine, "before_cursor_execute", count)
