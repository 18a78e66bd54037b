"""PDF tickets: layouts of texts with placeholders, QR codes, barcodes and images on the organizer's background
PDF, per product and sales channel; the ``pdf`` ticket output; the layout and batch-rendering REST API.

Enabled per event (``plugins: ["ticketoutputpdf", …]``); while it is off the event offers no PDF downloads and its
layout endpoints answer 404. See ``docs/tickets.md``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.hookspecs.providers import TicketOutput
from boxoffice.kernel.models import Item
from boxoffice.plugins.ticketoutputpdf.models import TicketLayout, TicketLayoutBackground, TicketLayoutItem
from boxoffice.plugins.ticketoutputpdf.output import PdfTicketOutput
from boxoffice.plugins.ticketoutputpdf.web import control_settings_forms, register_settings_defaults  # noqa: F401

plugin_meta = PluginMeta(
    name="PDF ticket output",
    description="Tickets as PDF files drawn from layouts with placeholders, QR codes and a background PDF.",
    category="FORMAT",
    level="event",
)


@hookimpl
def register_ticket_outputs(event: Any) -> type[TicketOutput]:
    return PdfTicketOutput


@hookimpl
def register_api_routes() -> list[Any]:
    from boxoffice.plugins.ticketoutputpdf.api import ROUTES

    return ROUTES


@hookimpl
def event_copied(event: Any, source: Any, session: Session) -> None:
    """A cloned event gets the source's layouts and backgrounds; assignments follow the copied products, which the
    kernel creates in the source's order."""
    layouts = list(
        session.scalars(select(TicketLayout).where(TicketLayout.event_id == source.id).order_by(TicketLayout.id))
    )
    if not layouts:
        return
    source_items = list(session.scalars(select(Item.id).where(Item.event_id == source.id).order_by(Item.id)))
    copied_items = list(session.scalars(select(Item.id).where(Item.event_id == event.id).order_by(Item.id)))
    items = dict(zip(source_items, copied_items, strict=False)) if len(source_items) == len(copied_items) else {}
    for layout in layouts:
        copy = TicketLayout(
            event_id=event.id,
            name=layout.name,
            is_default=layout.is_default,
            elements=list(layout.elements or []),
            background_file=layout.background_file,
        )
        session.add(copy)
        session.flush()
        background = session.get(TicketLayoutBackground, layout.id)
        if background is not None:
            session.add(TicketLayoutBackground(layout_id=copy.id, content=background.content))
        for assignment in layout.assignments:
            if assignment.item_id in items:
                copy.assignments.append(
                    TicketLayoutItem(item_id=items[assignment.item_id], sales_channel=assignment.sales_channel)
                )
    session.flush()
