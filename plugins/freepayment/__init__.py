"""The ``free`` payment method: orders that cost nothing are settled without asking the buyer anything.

Core-like: always active on every event and not switchable, because placing a free order must never depend on
the organizer having configured a payment method.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.hookspecs.providers import PaymentProvider

plugin_meta = PluginMeta(
    name="Free orders",
    description="Settles orders with a total of zero without a payment step.",
    category="PAYMENT",
    level="global",
    togglable=False,
)


class FreePayment(PaymentProvider):
    """Confirms at once; only offered for a zero total, so it can never let a buyer skip paying."""

    identifier = "free"
    is_implicit = True
    # Ahead of every real method, so a free order never shows a payment choice.
    priority = 1000

    @property
    def verbose_name(self) -> str:
        return "Free of charge"

    @property
    def is_enabled(self) -> bool:
        # Not a choice the organizer makes: without it free orders could not be completed.
        return True

    def is_allowed(self, total: Decimal, country: str | None = None, now: datetime | None = None) -> bool:
        """Only for orders that cost nothing (the organizer's restrictions on other methods do not apply)."""
        return Decimal(total) == 0

    def execute_payment(self, payment: Any) -> str | None:
        """Nothing to collect: confirm the payment, which marks the order paid."""
        self.confirm(payment)
        return None


@hookimpl
def register_payment_providers(event: Any) -> type[PaymentProvider]:
    return FreePayment
