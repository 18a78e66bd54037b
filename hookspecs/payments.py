"""Payments: plugins contribute payment providers (bank transfer, card processors, …)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from boxoffice.hookspecs import hookspec, scope

if TYPE_CHECKING:
    from boxoffice.hookspecs.providers import PaymentProvider
    from boxoffice.kernel.models import Event


@hookspec
@scope("event")
def register_payment_providers(event: Event) -> list[type[PaymentProvider]] | type[PaymentProvider] | None:
    """Return one :class:`~boxoffice.hookspecs.providers.PaymentProvider` subclass or a list of them.

    Called for one event with only the plugins enabled on it. The kernel instantiates each class with the event
    and a settings sandbox prefixed ``payment_<identifier>_``; ``identifier`` must be unique across plugins.
    The order service then asks each provider whether it is enabled and allowed for an order, calculates its
    fee, runs its checkout steps, confirms payments, executes refunds and exposes ``api_payment_details``.
    """
