"""The invoice service: issuing invoices from orders with gap-free numbers, cancellation documents, reissuing after
changes, rendering through the invoice-renderer plugins and transmission through the transmission providers.

The pieces: :mod:`.numbering` (counters), :mod:`.service` (issuing, cancelling, files, automatic issuing),
:mod:`.transmission` (providers, status, retries). The kernel's default plugin declares :func:`settings_defaults`
and :func:`job_definitions` and calls the ``on_order_*`` functions from the order lifecycle hooks.
"""

from __future__ import annotations

from boxoffice.hookspecs.providers import JobDefinition, SettingDefault
from boxoffice.kernel.invoicing import transmission
from boxoffice.kernel.invoicing.service import (
    GENERATE_CHOICES,
    RENDER_JOB,
    active_invoice,
    cancel_invoice,
    invoice_file,
    invoice_qualified,
    issue_invoice,
    on_order_canceled,
    on_order_changed,
    on_order_paid,
    on_order_placed,
    order_invoices,
    regenerate_invoice,
    reissue_invoice,
    render_invoice,
    render_invoice_job,
)

INVOICING_PERMISSION = "event.settings.invoicing:write"


def settings_defaults() -> list[SettingDefault]:
    def setting(key: str, default: object, kind: type, description: str) -> SettingDefault:
        return SettingDefault(key, default, kind, public=True, description=description, permission=INVOICING_PERMISSION)

    return [
        setting(
            "invoice_generate",
            "False",
            str,
            "Issue invoices by themselves: False (never), admin (only on request), user (on request of buyers or "
            "admins), True (when an order is placed), paid (when an order is paid)",
        ),
        setting("invoice_renderer", "classic", str, "Identifier of the invoice layout"),
        setting("invoice_language", "__user__", str, "Language of invoices (__user__: the order's language)"),
        setting("invoice_include_free", True, bool, "Issue invoices for free orders too"),
        setting("invoice_numbers_prefix", "", str, "Prefix of invoice numbers (empty: the event slug and a dash)"),
        setting(
            "invoice_numbers_prefix_cancellations",
            "",
            str,
            "Prefix of cancellation document numbers (empty: the invoice prefix)",
        ),
        setting("invoice_numbers_counter_length", 5, int, "Digits of the number after the prefix"),
        setting("invoice_address_from_name", "", str, "Issuer name on invoices (empty: the organizer's name)"),
        setting("invoice_address_from", "", str, "Issuer street address on invoices"),
        setting("invoice_address_from_zipcode", "", str, "Issuer postal code"),
        setting("invoice_address_from_city", "", str, "Issuer city"),
        setting("invoice_address_from_state", "", str, "Issuer state (some countries)"),
        setting("invoice_address_from_country", "", str, "Issuer country (ISO code)"),
        setting("invoice_address_from_tax_id", "", str, "Issuer local tax number"),
        setting("invoice_address_from_vat_id", "", str, "Issuer VAT ID"),
        setting("invoice_introductory_text", {}, dict, "Text above the invoice lines (per language)"),
        setting("invoice_additional_text", {}, dict, "Text below the invoice lines (per language)"),
        setting("invoice_footer_text", {}, dict, "Footer of invoice pages (per language)"),
    ]


def job_definitions() -> list[JobDefinition]:
    return [
        JobDefinition(RENDER_JOB, render_invoice_job),
        JobDefinition(transmission.TRANSMIT_JOB, transmission.transmit_invoice_job),
        # Failed transmissions come back after their back-off; a minute is the finest step that matters.
        JobDefinition(transmission.RETRY_JOB, transmission.retry_transmissions_job, every_seconds=60),
    ]


__all__ = [
    "GENERATE_CHOICES",
    "INVOICING_PERMISSION",
    "active_invoice",
    "cancel_invoice",
    "invoice_file",
    "invoice_qualified",
    "issue_invoice",
    "job_definitions",
    "on_order_canceled",
    "on_order_changed",
    "on_order_paid",
    "on_order_placed",
    "order_invoices",
    "regenerate_invoice",
    "reissue_invoice",
    "render_invoice",
    "settings_defaults",
    "transmission",
]
