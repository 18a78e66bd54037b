"""Ticket outputs: the files a buyer downloads for an order or one of its positions (PDF, wallet passes…)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from boxoffice.hookspecs import hookspec, scope

if TYPE_CHECKING:
    from boxoffice.hookspecs.providers import TicketOutput
    from boxoffice.kernel.models import Event


@hookspec
@scope("event")
def register_ticket_outputs(event: Event) -> list[type[TicketOutput]] | type[TicketOutput] | None:
    """Return one :class:`~boxoffice.hookspecs.providers.TicketOutput` subclass or a list of them.

    Each output has an ``identifier`` (``pdf``, ``passbook`` …) that becomes the ``output`` of the order's and
    position's ``downloads`` in the REST API and the last segment of ``…/download/<output>/``.
    ``generate(position)`` and ``generate_order(order)`` return ``(filename, content_type, bytes)``; generated
    files are cached by the kernel until the order changes.
    """
