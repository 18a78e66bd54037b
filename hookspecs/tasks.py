"""Background work: jobs that run in a Celery worker (or in-process without a broker), and periodic jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from boxoffice.hookspecs import hookspec

if TYPE_CHECKING:
    from boxoffice.hookspecs.providers import JobDefinition


@hookspec
def register_jobs() -> list[JobDefinition] | JobDefinition | None:
    """Return :class:`~boxoffice.hookspecs.providers.JobDefinition` entries.

    A job is a function taking JSON-serialisable keyword arguments (pass primary keys, never objects) and a
    ``context`` (:class:`~boxoffice.hookspecs.providers.JobContext`: database session factory, settings,
    progress reporting). ``enqueue(name, **kwargs)`` runs it in a Celery worker when a broker is configured and
    in the calling process otherwise. With ``every_seconds`` set it also runs periodically (``boxoffice worker
    --beat`` or ``boxoffice periodic``).
    """
