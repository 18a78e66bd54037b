"""Invoices: renderers that turn an invoice into a file, and transmission providers that deliver it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from boxoffice.hookspecs import hookspec, scope

if TYPE_CHECKING:
    from boxoffice.hookspecs.providers import InvoiceRenderer, TransmissionProvider, TransmissionType
    from boxoffice.kernel.models import Event


@hookspec
@scope("event")
def register_invoice_renderers(event: Event) -> list[type[InvoiceRenderer]] | type[InvoiceRenderer] | None:
    """Return :class:`~boxoffice.hookspecs.providers.InvoiceRenderer` subclasses.

    The event setting ``invoice_renderer`` picks one by ``identifier`` (the first one offered serves when the
    setting names none that is active); ``generate(invoice)`` returns ``(filename, content_type, bytes)``. The
    kernel renders each invoice once, in a job after it was issued, and stores the file; the ``regenerate`` API
    action renders it again.
    """


@hookspec
def register_transmission_types() -> list[TransmissionType] | TransmissionType | None:
    """Return :class:`~boxoffice.hookspecs.providers.TransmissionType` instances (``email``, ``peppol`` …).

    Types are channels with the invoice-address fields they need. Only the kernel's default plugin answers this
    hook: a third-party plugin that returns a type is reported as a load error. Plugins add *providers*.
    """


@hookspec
@scope("event")
def register_transmission_providers(
    event: Event,
) -> list[type[TransmissionProvider]] | type[TransmissionProvider] | None:
    """Return :class:`~boxoffice.hookspecs.providers.TransmissionProvider` subclasses for one event.

    A provider serves one transmission ``type``. Among the providers that are ``is_ready(event)`` and
    ``is_available(event, country, is_business)``, the highest ``priority`` transmits; providers of plugins not
    active on the event are never offered. ``transmit(invoice, context)`` runs in a job with the invoice
    ``inflight``: returning marks it ``completed``, raising
    :class:`~boxoffice.hookspecs.providers.TransmissionFailed` marks it ``failed`` (retried later with back-off
    when the failure allows).
    """
