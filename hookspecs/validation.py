"""Filters and validators: plugins veto or adjust what a buyer or scanner is about to do.

Raise :class:`~boxoffice.hookspecs.providers.ValidationFailure` with a message for the buyer to stop the
operation; the API turns it into a 400 with that message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from boxoffice.hookspecs import hookspec, scope

if TYPE_CHECKING:
    from decimal import Decimal

    from boxoffice.hookspecs.providers import FeeLine
    from boxoffice.kernel.models import Event


@hookspec
@scope("event")
def validate_cart(event: Event, positions: list[Any], sales_channel: str) -> None:
    """Check the cart before it is turned into an order; raise ``ValidationFailure`` to refuse it."""


@hookspec
@scope("event")
def validate_order(event: Event, positions: list[Any], email: str | None, invoice_address: Any) -> None:
    """Check a complete order (positions, contact e-mail, invoice address) before it is placed."""


@hookspec
@scope("event")
def validate_checkin(event: Event, position: Any, checkin_list: Any, checkin_type: str) -> None:
    """Check a scan before it is accepted; raise ``ValidationFailure`` to reject it with a reason."""


@hookspec
@scope("event")
def order_fee_calculation(
    event: Event, positions: list[Any], invoice_address: Any, total: Decimal, payment_provider: str | None
) -> list[FeeLine] | None:
    """Return extra fees (``FeeLine``) to add to an order, e.g. a service fee."""


@hookspec(firstresult=True)
@scope("event")
def allow_ticket_download(event: Event, order: Any) -> bool | None:
    """Return ``False`` to hide downloads for this order; the first non-``None`` answer wins."""


@hookspec
@scope("event")
def register_import_columns(event: Event) -> list[Any] | None:
    """Return extra columns offered by the order import (objects with ``identifier``, ``verbose_name``,
    ``clean(value)`` and ``assign(value, order, position)``)."""


@hookspec
@scope("event")
def allow_event_deletion(event: Event, session: Any) -> bool | None:
    """Return ``False`` when the event must not be deleted (it holds orders or other data you own)."""
