"""Ticket downloads: which outputs an order offers, generating and caching their files, and bulk batches.

Outputs come from the ``register_ticket_outputs`` hook of the plugins active on the event and are built with
their settings sandbox (``ticketoutput_<identifier>_``) and the event's :class:`~boxoffice.kernel.placeholders.
TextRenderer`. Generated files are cached under ``<data_dir>/tickets/`` keyed by order, position, output and a
change marker (the order's ``last_modified`` plus the output's own :meth:`cache_marker`), so a file is rendered once
and served until the order (or e.g. a layout) changes. Generation runs as the ``tickets.generate`` job: in a Celery
worker when a broker is configured (the API answers 409 until the file exists) and right away otherwise.

In a deployment with several machines, ``data_dir`` must be shared storage, as the job may run elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from boxoffice.hookspecs.providers import JobDefinition, JobFailed, SettingDefault, TicketOutput
from boxoffice.kernel import clock
from boxoffice.kernel.models import Event, JobRecord
from boxoffice.kernel.models.orders import STATUS_PAID, STATUS_PENDING, Order, OrderPosition
from boxoffice.kernel.placeholders import text_renderer

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel

OUTPUTS_KEY = "boxoffice.ticket_outputs"
PENDING_KEY = "boxoffice.ticket_download_pending"
GENERATE_JOB = "tickets.generate"
BATCH_JOB = "tickets.render_batch"
CLEANUP_JOB = "tickets.delete_old_files"
# How long a generated file is kept without being asked for again, and how long a batch result can be fetched.
CACHE_LIFETIME = timedelta(hours=48)
BATCH_CHUNK = 100


@dataclass(frozen=True)
class TicketFile:
    """A generated ticket file on disk."""

    path: Path
    filename: str
    content_type: str


# --- outputs -------------------------------------------------------------------------------------------------------


def ticket_outputs(kernel: Kernel, session: Session, event: Event) -> dict[str, TicketOutput]:
    """The enabled outputs of the plugins active on ``event`` by identifier, built once per unit of work."""
    built: dict[int, dict[str, TicketOutput]] = session.info.setdefault(OUTPUTS_KEY, {})
    if event.id not in built:
        settings = kernel.settings_for(session, event=event)
        texts = text_renderer(kernel, event)
        found: dict[str, TicketOutput] = {}
        for _owner, output_class in kernel.plugins.for_event(event).collect("register_ticket_outputs", event=event):
            if isinstance(output_class, type) and issubclass(output_class, TicketOutput):
                identifier = output_class.identifier
                output = output_class(event, settings.sandbox(f"ticketoutput_{identifier}_"), texts)
                if output.is_enabled and identifier not in found:
                    found[identifier] = output
        built[event.id] = found
    return built[event.id]


def _pending_downloads(kernel: Kernel, session: Session, event: Event) -> bool:
    known: dict[int, bool] = session.info.setdefault(PENDING_KEY, {})
    if event.id not in known:
        known[event.id] = bool(kernel.settings_for(session, event=event).get("ticket_download_pending"))
    return known[event.id]


def downloads_allowed(kernel: Kernel, session: Session, event: Event, order: Order) -> bool:
    """Paid orders offer their tickets; pending ones only with ``ticket_download_pending`` (or when valid while
    pending); a plugin's ``allow_ticket_download`` may say no."""
    if order.status == STATUS_PENDING:
        if not (order.valid_if_pending or _pending_downloads(kernel, session, event)):
            return False
    elif order.status != STATUS_PAID:
        return False
    answer = kernel.plugins.for_event(event).allow_ticket_download(event=event, order=order)
    return answer is not False


def available_outputs(kernel: Kernel, session: Session, event: Event, order: Order) -> list[str]:
    """Identifiers of the outputs an order offers (empty when downloads are not allowed). Asked for every order of
    a list page, so it costs no query per order."""
    outputs = ticket_outputs(kernel, session, event)
    if not outputs or not downloads_allowed(kernel, session, event, order):
        return []
    return sorted(outputs)


def download_url(site_url: str, event: Event, output: str, *, order: Order | None = None, position_id: int = 0) -> str:
    base = f"{site_url.rstrip('/')}/api/v1/organizers/{event.organizer.slug}/events/{event.slug}"
    if order is not None:
        return f"{base}/orders/{order.code}/download/{output}/"
    return f"{base}/orderpositions/{position_id}/download/{output}/"


# --- the cache -----------------------------------------------------------------------------------------------------


def tickets_dir(kernel: Kernel) -> Path:
    return Path(kernel.config.data_dir) / "tickets"


def _cache_folder(kernel: Kernel, event_id: int, order_id: int) -> Path:
    return tickets_dir(kernel) / "cache" / str(event_id) / str(order_id)


def _marker(order: Order, output: TicketOutput) -> str:
    # Code and secret too: an id may come back after a test-mode order was deleted.
    text = f"{order.code}|{order.secret}|{order.last_modified.isoformat()}|{output.cache_marker()}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _stem(output: str, position_id: int | None) -> str:
    return f"{output}-{'order' if position_id is None else f'p{position_id}'}"


def _cache_path(kernel: Kernel, order: Order, output: TicketOutput, position_id: int | None) -> Path:
    folder = _cache_folder(kernel, order.event_id, order.id)
    return folder / f"{_stem(output.identifier, position_id)}-{_marker(order, output)}"


def cached_file(
    kernel: Kernel, session: Session, event: Event, order: Order, output: str, position_id: int | None
) -> TicketFile | None:
    """The generated file for this order (or position) as it is now, or None when it has to be generated."""
    found = ticket_outputs(kernel, session, event).get(output)
    if found is None:
        return None
    path = _cache_path(kernel, order, found, position_id)
    try:
        meta = json.loads(path.with_suffix(".json").read_text())
    except (FileNotFoundError, ValueError):
        return None
    if not path.exists():
        return None
    # Files in use stay; the cleanup job removes those nobody asked for within the cache lifetime.
    os.utime(path)
    return TicketFile(path, meta["filename"], meta["content_type"])


def _write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    os.replace(temporary, path)


def generate_file(
    kernel: Kernel, session: Session, event: Event, order: Order, output: str, position_id: int | None
) -> TicketFile:
    """Render the file now and store it in the cache (older versions of it are removed)."""
    renderer = ticket_outputs(kernel, session, event).get(output)
    if renderer is None:
        raise JobFailed(f"The ticket output {output!r} is not available for this event.")
    if position_id is None:
        filename, content_type, content = renderer.generate_order(order)
    else:
        position = next((p for p in order.live_positions if p.id == position_id), None)
        if position is None:
            raise JobFailed("This ticket does not exist (anymore).")
        filename, content_type, content = renderer.generate(position)
    path = _cache_path(kernel, order, renderer, position_id)
    stem = _stem(output, position_id)
    if path.parent.is_dir():
        for old in path.parent.glob(f"{stem}-*"):
            if not old.name.startswith(path.name):
                old.unlink(missing_ok=True)
    _write_atomically(path, content)
    # Written last: a file counts as cached only once its description exists.
    _write_atomically(
        path.with_suffix(".json"), json.dumps({"filename": filename, "content_type": content_type}).encode()
    )
    return TicketFile(path, filename, content_type)


def _load_order(session: Session, order_id: int) -> Order | None:
    return session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .options(
            selectinload(Order.positions).selectinload(OrderPosition.answers),
            selectinload(Order.invoice_address),
        )
    )


def generate_job(context: Any, order_id: int, output: str, position_id: int | None = None) -> dict[str, Any]:
    """Job ``tickets.generate``: render one order's (or position's) file into the cache."""
    kernel: Kernel = context.kernel
    with context.session() as session:
        order = _load_order(session, order_id)
        if order is None:
            raise JobFailed("This order does not exist (anymore).")
        event = session.get(Event, order.event_id)
        assert event is not None
        generated = generate_file(kernel, session, event, order, output, position_id)
        return {"filename": generated.filename}


def request_file(
    kernel: Kernel, session: Session, event: Event, order: Order, output: str, position_id: int | None
) -> TicketFile | None:
    """The cached file, or None after making sure it is being generated (the API then answers 409).

    A generation job already waiting or running for the same file is not started twice. With jobs in-process the
    file is generated right here and returned.
    """
    found = cached_file(kernel, session, event, order, output, position_id)
    if found is not None:
        return found
    renderer = ticket_outputs(kernel, session, event).get(output)
    if renderer is None:
        return None
    if kernel.jobs.in_process:
        # The job would run right here anyway; rendering directly saves its bookkeeping (three commits).
        return generate_file(kernel, session, event, order, output, position_id)
    marker_path = _cache_path(kernel, order, renderer, position_id).with_suffix(".job")
    if marker_path.exists():
        record = session.get(JobRecord, marker_path.read_text().strip())
        if record is not None and record.status in ("waiting", "running"):
            return None
    job_id = kernel.jobs.enqueue(GENERATE_JOB, order_id=order.id, output=output, position_id=position_id)
    _write_atomically(marker_path, job_id.encode())
    return None


# --- batches -------------------------------------------------------------------------------------------------------


def batch_path(kernel: Kernel, job_id: str) -> Path:
    return tickets_dir(kernel) / "batches" / f"{job_id}.pdf"


def _entries(
    context: Any, event_id: int, parts: list[dict[str, Any]], done: list[int]
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """The batch's positions in the order given, loaded ``BATCH_CHUNK`` at a time in units of work of their own,
    so neither the session nor the process accumulates rows as the batch grows.

    Progress (``done[0]`` tickets, counted by the output) is recorded between chunks, after a chunk's unit of work
    committed what the output wrote in it: on SQLite a second writer inside it would wait for it forever."""
    total = len(parts)
    for start in range(0, len(parts), BATCH_CHUNK):
        if start:
            context.progress(min(99, done[0] * 100 // total))
        chunk = parts[start : start + BATCH_CHUNK]
        with context.session() as session:
            wanted = {int(part["orderposition"]) for part in chunk}
            positions = {
                position.id: position
                for position in session.scalars(
                    select(OrderPosition)
                    .join(Order, Order.id == OrderPosition.order_id)
                    .where(OrderPosition.id.in_(wanted), Order.event_id == event_id)
                    .options(
                        selectinload(OrderPosition.answers),
                        selectinload(OrderPosition.order).selectinload(Order.positions),
                        selectinload(OrderPosition.order).selectinload(Order.invoice_address),
                    )
                )
            }
            for part in chunk:
                position = positions.get(int(part["orderposition"]))
                if position is not None:
                    options = {key: value for key, value in part.items() if key != "orderposition"}
                    yield position, options


def render_batch_job(context: Any, event_id: int, output: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Job ``tickets.render_batch``: many tickets into one PDF under ``<data_dir>/tickets/batches/<job id>.pdf``.

    ``parts`` are ``{"orderposition": id, …options}``; progress is reported as the tickets are rendered."""
    kernel: Kernel = context.kernel
    if not parts:
        raise JobFailed("No tickets to render.")
    with context.session() as session:
        event = session.scalar(select(Event).where(Event.id == event_id).options(selectinload(Event.organizer)))
        if event is None:
            raise JobFailed("This event does not exist (anymore).")
        renderer = ticket_outputs(kernel, session, event).get(output)
        if renderer is None:
            raise JobFailed(f"The ticket output {output!r} is not available for this event.")
        done = [0]

        def progress(count: int) -> None:
            done[0] = count

        target = batch_path(kernel, context.job_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(".tmp")
        with temporary.open("wb") as handle:
            renderer.generate_batch(_entries(context, event_id, parts, done), handle, progress)
        os.replace(temporary, target)
    return {"filename": f"tickets-{event.slug}.pdf", "size": target.stat().st_size}


def delete_old_files(context: Any) -> int:
    """Job ``tickets.delete_old_files``: forget cached tickets and batch results not touched for a while."""
    kernel: Kernel = context.kernel
    root = tickets_dir(kernel)
    if not root.is_dir():
        return 0
    cutoff = (clock.now() - CACHE_LIFETIME).timestamp()
    deleted = 0
    for path in root.rglob("*"):
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted


def ticket_settings_defaults() -> list[SettingDefault]:
    """Settings of ticket downloads (declared by the kernel's default plugin)."""
    return [
        SettingDefault(
            "ticket_download_pending",
            False,
            bool,
            public=True,
            description="Tickets of pending (unpaid) orders can be downloaded",
        ),
    ]


def ticket_job_definitions() -> list[JobDefinition]:
    """The jobs of ticket downloads (registered by the kernel's default plugin)."""
    return [
        JobDefinition(GENERATE_JOB, generate_job),
        JobDefinition(BATCH_JOB, render_batch_job),
        JobDefinition(CLEANUP_JOB, delete_old_files, queue="background", every_seconds=3600),
    ]
