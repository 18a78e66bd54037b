"""The ``manual`` payment method: the organizer collects the money outside boxoffice (cash at the desk, an
invoice paid later…) and confirms each payment by hand.

Core-like: always installed and not switchable, because orders imported through the API name ``manual`` as their
provider. Buyers are offered it at checkout only when the organizer turns on ``payment_manual_enabled``.
"""

from __future__ import annotations

from typing import Any

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.hookspecs.providers import PaymentProvider, SettingDefault

plugin_meta = PluginMeta(
    name="Manual payment",
    description="Payments the organizer receives outside boxoffice and confirms by hand.",
    category="PAYMENT",
    level="global",
    togglable=False,
)

PREFIX = "payment_manual"
PAYMENT_PERMISSION = "event.settings.payment:write"


class ManualPayment(PaymentProvider):
    """Never moves money itself: a payment stays open until someone confirms it, and refunds are recorded as
    done by whoever paid the money back."""

    identifier = "manual"
    # Nothing was reserved at a processor, so a buyer may drop an open manual payment and choose another method.
    abort_pending_allowed = True

    @property
    def verbose_name(self) -> str:
        return "Manual payment"

    @property
    def public_name(self) -> str:
        configured = self.settings.get("_public_name")
        return str(configured) if configured else "Pay on site"

    @property
    def settings_schema(self) -> dict[str, SettingDefault]:
        extra = (
            SettingDefault("_public_name", "", str, description="Name of the method shown to buyers."),
            SettingDefault(
                "_pending_description", "", str, description="Tells buyers with an open payment how to pay."
            ),
        )
        return {**super().settings_schema, **{entry.key: entry for entry in extra}}

    def execute_payment(self, payment: Any) -> str | None:
        """Nothing to do now: the organizer confirms the payment once the money is there."""
        return None

    def payment_pending_instructions(self, payment: Any) -> str:
        return str(self.settings.get("_pending_description") or "")


@hookimpl
def register_payment_providers(event: Any) -> type[PaymentProvider]:
    return ManualPayment


@hookimpl
def register_settings_defaults() -> list[SettingDefault]:
    # Declared so that the event settings API types them and lets holders of the payment permission change them.
    return [
        SettingDefault(
            f"{PREFIX}_enabled",
            False,
            bool,
            public=True,
            description="Offer manual payment to buyers at checkout",
            permission=PAYMENT_PERMISSION,
        ),
        SettingDefault(
            f"{PREFIX}_public_name",
            "",
            str,
            public=True,
            description="Name of the manual payment method shown to buyers",
            permission=PAYMENT_PERMISSION,
        ),
        SettingDefault(
            f"{PREFIX}_pending_description",
            "",
            str,
            public=True,
            description="How buyers with an open manual payment should pay",
            permission=PAYMENT_PERMISSION,
        ),
    ]
