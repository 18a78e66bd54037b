"""Bank transfer: buyers transfer the money with a reference naming their order; bank statements handed in through
the API (transaction lists or CSV / camt.053 / MT940 files) are matched to orders in a background job, which
confirms the payments; refunds go back by SEPA credit transfer files.

An event-level plugin: enable it per event (``plugins``), then switch the method on with
``payment_banktransfer_enabled`` and enter the account (usually once at organizer level). See docs/banktransfer.md.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, object_session

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.hookspecs.providers import (
    JobDefinition,
    PaymentProvider,
    SettingDefault,
    SimpleTextPlaceholder,
    TextPlaceholder,
)
from boxoffice.plugins.banktransfer import models as models
from boxoffice.plugins.banktransfer.api import ORGANIZER_ROUTES
from boxoffice.plugins.banktransfer.matching import JOB_NAME, owed, run_import
from boxoffice.plugins.banktransfer.provider import (
    IDENTIFIER,
    BankTransfer,
    declared_settings,
    payment_reference,
    provider_settings,
    validate_settings,
)
from boxoffice.plugins.banktransfer.web import (  # noqa: F401  (hook implementations of the control panel)
    control_event_navigation,
    control_settings_forms,
    register_control_routes,
)

plugin_meta = PluginMeta(
    name="Bank transfer",
    description="Payment by bank transfer with statement import and matching, and SEPA refund exports.",
    category="PAYMENT",
    level="event",
)

SAMPLE_DETAILS = "Account holder: Sample Events Ltd.\nIBAN: DE89 3704 0044 0532 0130 00\nBIC: COBADEFFXXX"


@hookimpl
def register_payment_providers(event: Any) -> type[PaymentProvider]:
    return BankTransfer


@hookimpl
def register_settings_defaults() -> list[SettingDefault]:
    return declared_settings()


@hookimpl
def validate_event_settings(event: Any, changes: dict[str, Any]) -> dict[str, list[str]] | None:
    return validate_settings(changes) or None


@hookimpl
def register_jobs() -> list[JobDefinition]:
    return [JobDefinition(JOB_NAME, run_import)]


@hookimpl
def register_organizer_api_routes() -> list[Any]:
    return ORGANIZER_ROUTES


def _provider(event: Any) -> BankTransfer | None:
    session = object_session(event)
    return BankTransfer(event, provider_settings(session, event)) if session is not None else None


def _owes_by_transfer(order: Any) -> bool:
    return order.status in ("n", "e") and owed(order) > 0


@hookimpl
def register_text_placeholders(event: Any) -> list[TextPlaceholder]:
    provider = _provider(event)
    if provider is None:
        return []

    def instructions(order: Any) -> str:
        return provider.instructions(order, owed(order)) if _owes_by_transfer(order) else ""

    return [
        SimpleTextPlaceholder(
            "bank_transfer_reference",
            ("order",),
            provider.reference,
            lambda e: payment_reference(e, "ABC12", provider.settings.get("_reference_prefix")),
        ),
        SimpleTextPlaceholder(
            "bank_transfer_details", ("event",), lambda _event: provider.bank_details(), SAMPLE_DETAILS
        ),
        SimpleTextPlaceholder(
            "bank_transfer_instructions",
            ("order",),
            instructions,
            lambda e: (
                f"Please transfer 42.00 {e.currency} using the reference "
                f"{payment_reference(e, 'ABC12', provider.settings.get('_reference_prefix'))}.\n{SAMPLE_DETAILS}"
            ),
        ),
    ]


@hookimpl
def order_placed(event: Any, order: Any, session: Session) -> None:
    """Give buyers paying by transfer the configured number of days (transfers take a few working days)."""
    if not any(p.provider == IDENTIFIER and p.state in ("created", "pending") for p in order.payments):
        return
    days = provider_settings(session, event).get("_days_until_expiry")
    if days and int(days) > 0:
        order.expires = order.datetime + timedelta(days=int(days))


__all__ = ["IDENTIFIER", "BankTransfer", "models", "plugin_meta"]
