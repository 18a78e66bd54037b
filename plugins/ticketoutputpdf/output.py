"""The ``pdf`` ticket output: chooses a layout per ticket and draws tickets into one reportlab canvas per file."""

from __future__ import annotations

import gc
import io
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from boxoffice.hookspecs.providers import (
    PLACEHOLDER_PATTERN,
    BatchEntry,
    GeneratedFile,
    TextPlaceholder,
    TicketOutput,
    render_placeholders,
)
from boxoffice.kernel.i18n import get_locale, use_locale
from boxoffice.kernel.models.items import ItemPicture
from boxoffice.kernel.models.markers import ChangeMarker
from boxoffice.kernel.pdfs import PdfConcatenator
from boxoffice.kernel.placeholders import EVENT_ONLY, TextRenderer, complete_context
from boxoffice.plugins.ticketoutputpdf.layouts import DEFAULT_LAYOUT
from boxoffice.plugins.ticketoutputpdf.models import TicketLayout, TicketLayoutBackground, TicketLayoutItem
from boxoffice.plugins.ticketoutputpdf.rendering import (
    Background,
    LayoutDrawer,
    TicketData,
    load_background,
    new_canvas,
)

logger = logging.getLogger(__name__)
SAMPLE_SECRET = "4yfeueuw3k3bn6m5fvtbmpnbgmq3ks6r"
PAGES_PER_PART = 1000
"""A batch is drawn in parts of this many pages: reportlab keeps a document's pages until it is saved."""
BATCH_GC_THRESHOLD = 50_000

CHANGE_RESOURCE = "ticketlayouts"
"""The change marker the layout API touches; generated tickets are cached until it moves."""


@dataclass
class EventLayouts:
    """The event's layouts as drawers, read once per output (a unit of work or a batch)."""

    drawers: dict[int, LayoutDrawer] = field(default_factory=dict)
    default_id: int | None = None
    assignments: dict[tuple[int, str], int] = field(default_factory=dict)
    fallback: LayoutDrawer | None = None

    def choose(self, item_id: int, channel: str, override: Any = None) -> LayoutDrawer:
        if isinstance(override, int) and override in self.drawers:
            return self.drawers[override]
        chosen = self.assignments.get((item_id, channel))
        if chosen is None and self.default_id is not None:
            chosen = self.default_id
        if chosen is not None and chosen in self.drawers:
            return self.drawers[chosen]
        if self.fallback is None:
            self.fallback = LayoutDrawer(DEFAULT_LAYOUT, None)
        return self.fallback


def read_layouts(session: Session, event_id: int) -> EventLayouts:
    layouts = list(session.scalars(select(TicketLayout).where(TicketLayout.event_id == event_id)))
    found = EventLayouts()
    for layout in layouts:
        background: Background | None = None
        if layout.background_file:
            layout_id = layout.id

            def content(layout_id: int = layout_id) -> bytes | None:
                row = session.get(TicketLayoutBackground, layout_id)
                return row.content if row is not None else None

            background = load_background(layout.background_file, content)
        found.drawers[layout.id] = LayoutDrawer(layout.elements or [], background)
        if layout.is_default:
            found.default_id = layout.id
    if layouts:
        for assignment in session.scalars(
            select(TicketLayoutItem).where(TicketLayoutItem.layout_id.in_([layout.id for layout in layouts]))
        ):
            found.assignments[(assignment.item_id, assignment.sales_channel)] = assignment.layout_id
    return found


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Let the garbage collector run less often while a batch is drawn.

    Drawing allocates many short-lived containers (loaded rows, reportlab's page objects), and with the default
    threshold the collector's young-generation passes took a sixth of a batch's time; the threshold is put back
    afterwards. Memory still stays flat: the rows and pages are freed by reference counting as before.
    """
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, BATCH_GC_THRESHOLD), middle, old)
    try:
        yield
    finally:
        gc.set_threshold(young, middle, old)


class PdfTicketOutput(TicketOutput):
    """PDF tickets drawn from the event's layouts (or a built-in one while the event has none)."""

    identifier = "pdf"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._layouts: EventLayouts | None = None
        self._pictures: dict[int, bytes | None] = {}
        self._templates: dict[str, tuple[bool, list[TextPlaceholder]]] = {}
        self._event_texts: dict[tuple[str, str], str] = {}

    @property
    def verbose_name(self) -> str:
        return "PDF"

    def layouts(self, session: Session | None = None) -> EventLayouts:
        if self._layouts is None:
            session = session or object_session(self.event)
            self._layouts = read_layouts(session, self.event.id) if session is not None else EventLayouts()
        return self._layouts

    def cache_marker(self) -> str:
        session = object_session(self.event)
        if session is None:
            return ""
        marker = session.get(ChangeMarker, (self.event.id, CHANGE_RESOURCE))
        return marker.modified.isoformat() if marker is not None else ""

    def _template(self, template: str) -> tuple[bool, list[TextPlaceholder]]:
        """What drawing ``template`` needs, worked out once per output: whether it comes out the same on every
        ticket (it names only placeholders of the event, or none that exist) and the placeholders it names."""
        found = self._templates.get(template)
        if found is None:
            names = set(PLACEHOLDER_PATTERN.findall(template))
            used = [p for p in self.texts.placeholders if p.identifier in names]
            event_only = all(set(p.required_context) <= EVENT_ONLY for p in used)
            found = self._templates[template] = (event_only, used)
        return found

    def _ticket(self, position: Any) -> TicketData:
        completed: dict[str, Any] = {}

        def text(template: str) -> str:
            if "{" not in template or not isinstance(self.texts, TextRenderer):
                return self.texts.render(template, {"position": position})
            event_only, used = self._template(template)
            if event_only:
                # Event name, location …: rendered once per output (a download, or a whole batch) and language.
                key = (template, get_locale())
                rendered = self._event_texts.get(key)
                if rendered is None:
                    rendered = self._event_texts[key] = self.texts.render(template, {"position": position})
                return rendered
            if not completed:
                completed.update(complete_context(self.event, {"position": position}, self.texts.site_url))
            # The kernel's renderer with only the placeholders this template names (a batch renders it thousands
            # of times; matching every placeholder of the event against each ticket is most of that work).
            return render_placeholders(template, used, completed)

        def image(name: str) -> bytes | None:
            if name != "item_picture":
                return None
            if position.item_id not in self._pictures:
                session = object_session(position)
                picture = session.get(ItemPicture, position.item_id) if session is not None else None
                self._pictures[position.item_id] = picture.content if picture is not None else None
            return self._pictures[position.item_id]

        return TicketData(secret=position.secret, text=text, image=image)

    def draw_sample(self, canvas: Any, layout_id: int) -> int:
        """Draw a layout with every placeholder's sample value (organizers' preview; no order needed)."""
        drawer = self.layouts().drawers.get(layout_id) or self.layouts().choose(0, "web")
        sample = TicketData(secret=SAMPLE_SECRET, text=self.texts.sample)
        return drawer.draw(canvas, sample, {})

    def _draw(self, canvas: Any, position: Any, options: Mapping[str, Any], bridges: dict[str, Any]) -> int:
        order = position.order
        channel = str(options.get("override_channel") or order.sales_channel or "web")
        drawer = self.layouts(object_session(position)).choose(
            position.item_id, channel, options.get("override_layout")
        )
        with use_locale(order.locale):
            return drawer.draw(canvas, self._ticket(position), bridges)

    def generate(self, position: Any) -> GeneratedFile:
        buffer = io.BytesIO()
        canvas = new_canvas(buffer, f"{position.order.code}-{position.positionid}")
        self._draw(canvas, position, {}, {})
        canvas.save()
        return (
            f"{self.event.slug}-{position.order.code}-{position.positionid}.pdf",
            "application/pdf",
            buffer.getvalue(),
        )

    def generate_order(self, order: Any) -> GeneratedFile:
        """All tickets of the order drawn into one document (fonts and background stored once)."""
        positions = [position for position in order.positions if not position.canceled]
        if not positions:
            raise ValueError(f"order {order.code} has no positions to render")
        buffer = io.BytesIO()
        canvas = new_canvas(buffer, order.code)
        bridges: dict[str, Any] = {}
        for position in positions:
            self._draw(canvas, position, {}, bridges)
        canvas.save()
        return f"{self.event.slug}-{order.code}.pdf", "application/pdf", buffer.getvalue()

    def generate_batch(
        self, entries: Iterable[BatchEntry], target: BinaryIO, progress: Callable[[int], None] | None = None
    ) -> None:
        """Tickets drawn into parts of about :data:`PAGES_PER_PART` pages on disk, then joined into ``target``.

        Each part is one canvas (fonts and background embedded once per part); only the current part is held in
        memory, so memory stays flat however long the batch is.
        """
        with tempfile.TemporaryDirectory(prefix="boxoffice-batch-") as folder, fewer_collections():
            parts: list[str] = []
            canvas: Any = None
            bridges: dict[str, Any] = {}
            pages = 0
            for done, (position, options) in enumerate(entries, start=1):
                if canvas is None:
                    parts.append(os.path.join(folder, f"part-{len(parts):05d}.pdf"))
                    canvas, bridges, pages = new_canvas(parts[-1], self.event.slug), {}, 0
                pages += self._draw(canvas, position, options, bridges)
                if progress is not None:
                    progress(done)
                if pages >= PAGES_PER_PART:
                    canvas.save()
                    canvas = None
            if canvas is not None:
                canvas.save()
            if not parts:
                raise ValueError("no tickets to render")
            if len(parts) == 1:
                with open(parts[0], "rb") as single:
                    shutil.copyfileobj(single, target)
                return
            with PdfConcatenator(target) as joined:
                for part in parts:
                    joined.append(part)
                    os.unlink(part)
