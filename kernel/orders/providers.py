"""The payment providers plugins offer for an event (through the ``register_payment_providers`` hook)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from boxoffice.hookspecs.providers import PaymentProvider
from boxoffice.kernel.models import Event

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel

PROVIDERS_KEY = "boxoffice.payment_providers"


def payment_providers(kernel: Kernel, session: Session, event: Event) -> dict[str, PaymentProvider]:
    """Each provider class of the plugins active on ``event``, built with its settings sandbox, by identifier.

    Built once per unit of work and event (placing an order checks the provider and then shows the payment)."""
    built: dict[int, dict[str, PaymentProvider]] = session.info.setdefault(PROVIDERS_KEY, {})
    if event.id not in built:
        built[event.id] = _build(kernel, session, event)
    return built[event.id]


def _build(kernel: Kernel, session: Session, event: Event) -> dict[str, PaymentProvider]:
    settings = kernel.settings_for(session, event=event)
    found: dict[str, PaymentProvider] = {}
    for _owner, provider_class in kernel.plugins.for_event(event).collect("register_payment_providers", event=event):
        if isinstance(provider_class, type) and issubclass(provider_class, PaymentProvider):
            identifier = provider_class.identifier
            found[identifier] = provider_class(event, settings.sandbox(f"payment_{identifier}_"))
    return found
