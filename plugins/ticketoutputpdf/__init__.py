"""PDF tickets: layouts of texts with placeholders, QR codes, barcodes and images on the organizer's background
PDF, per product and sales channel; the ``pdf`` ticket output; the layout and batch-rendering REST API.

Enabled per event (``plugins: ["ticketoutputpdf", …]``); while it is off the event offers no PDF downloads and its
layout endpoints answer 404. See ``docs/tickets.md``.
"""

from __future__ import annotations

from typing import Any

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.hookspecs.providers import TicketOutput
from boxoffice.plugins.ticketoutputpdf import models  # noqa: F401  (the tables belong to the metadata)
from boxoffice.plugins.ticketoutputpdf.output import PdfTicketOutput

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
