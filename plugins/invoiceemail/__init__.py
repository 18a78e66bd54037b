"""The ``email_pdf`` transmission provider: invoices of transmission type ``email`` are sent as a PDF attachment
through the kernel's mail service, to the order's address or, for business customers, the address given in the
invoice address's ``transmission_email_address``.

An event-level plugin: organizers switch it on per event; where it is off no e-mail transmission is offered and
invoices of type ``email`` stay ``pending``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.hookspecs.providers import (
    SettingDefault,
    TransmissionContext,
    TransmissionFailed,
    TransmissionProvider,
)

plugin_meta = PluginMeta(
    name="Invoices by e-mail",
    description="Sends issued invoices as PDF attachments to the buyer by e-mail.",
    category="INTEGRATION",
    level="event",
)

PERMISSION = "event.settings.invoicing:write"
SUBJECT = {"en": "Invoice {invoice_number}", "de": "Rechnung {invoice_number}"}
TEXT = {
    "en": "Hello,\n\nplease find attached the invoice {invoice_number} for your order {code} for {event}.\n\n"
    "Best regards,\n{organizer}",
    "de": "Hallo,\n\nanbei erhalten Sie die Rechnung {invoice_number} zu Ihrer Bestellung {code} für {event}.\n\n"
    "Viele Grüße\n{organizer}",
}


class EmailPdfTransmission(TransmissionProvider):
    identifier = "email_pdf"
    type = "email"
    # Test orders still have a buyer address that a test mail may reach.
    testmode_supported = True

    @property
    def verbose_name(self) -> str:
        return "PDF by e-mail"

    def is_ready(self, event: Any) -> bool:
        return True

    def is_available(self, event: Any, country: str | None, is_business: bool) -> bool:
        return True

    def transmit(self, invoice: Any, context: TransmissionContext) -> Mapping[str, Any]:
        order = invoice.order
        recipient = order.email or ""
        if invoice.invoice_to_is_business:
            recipient = (invoice.invoice_to_transmission_info or {}).get("transmission_email_address") or recipient
        if not recipient:
            raise TransmissionFailed("The order has no e-mail address to send the invoice to.", retry=False)
        message_id = context.send_mail(
            [recipient],
            context.settings.get("invoiceemail_subject") or SUBJECT,
            context.settings.get("invoiceemail_text") or TEXT,
            attachments=[context.invoice_file()],
        )
        return {"recipient": recipient, "message_id": message_id}


@hookimpl
def register_transmission_providers(event: Any) -> type[TransmissionProvider]:
    return EmailPdfTransmission


@hookimpl
def register_settings_defaults() -> list[SettingDefault]:
    return [
        SettingDefault(
            "invoiceemail_subject",
            SUBJECT,
            dict,
            public=True,
            description="Subject of the e-mail that carries an invoice",
            permission=PERMISSION,
        ),
        SettingDefault(
            "invoiceemail_text",
            TEXT,
            dict,
            public=True,
            description="Text of the e-mail that carries an invoice",
            permission=PERMISSION,
        ),
    ]
