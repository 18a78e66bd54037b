"""Every "now" goes through here, so test mode can move an event in time (pretix's time machine).

The override travels in a context variable: a request sets it, background jobs receive it explicitly
(``current_override()`` when enqueuing, ``time_machine(value)`` inside the job).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_override: ContextVar[datetime | None] = ContextVar("boxoffice_time_machine", default=None)


def now() -> datetime:
    """The current time, timezone-aware (UTC), or the time machine's time when one is active."""
    return _override.get() or datetime.now(UTC)


def current_override() -> datetime | None:
    return _override.get()


@contextmanager
def time_machine(moment: datetime | None) -> Iterator[None]:
    """Pretend it is ``moment`` inside the block; ``None`` leaves the real clock in place."""
    if moment is not None and moment.tzinfo is None:
        raise ValueError("time_machine needs a timezone-aware datetime")
    token = _override.set(moment)
    try:
        yield
    finally:
        _override.reset(token)
