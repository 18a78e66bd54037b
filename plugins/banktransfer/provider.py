"""The ``banktransfer`` payment method: the buyer transfers the money with a reference naming the order, and a
bank statement import later confirms the payment.

Settings live in the provider's sandbox ``payment_banktransfer_*`` and resolve event → organizer → global, so an
organizer enters the account once for all events.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sqlalchemy.orm import Session

from boxoffice.hookspecs.providers import PaymentProvider, SettingDefault
from boxoffice.kernel.i18n import format_money, get_locale
from boxoffice.kernel.settings import Settings, SettingsRegistry, SettingsSandbox

IDENTIFIER = "banktransfer"
PREFIX = f"payment_{IDENTIFIER}"
PAYMENT_PERMISSION = "event.settings.payment:write"
DETAILS_TYPES = ("sepa", "other")
CSV_COLUMNS_KEY = "banktransfer_csv_columns"

PROVIDER_SETTINGS = (
    SettingDefault("_public_name", "", str, description="Name of the method shown to buyers."),
    SettingDefault(
        "_bank_details_type",
        "sepa",
        str,
        description="'sepa' to show account holder, IBAN and BIC; 'other' to show the free-form bank details.",
    ),
    SettingDefault("_account_holder", "", str, description="Name of the account holder."),
    SettingDefault("_iban", "", str, description="IBAN of the account buyers pay into."),
    SettingDefault("_bic", "", str, description="BIC of the account buyers pay into."),
    SettingDefault("_bank_name", "", str, description="Name of the bank."),
    SettingDefault("_bank_details", "", str, description="Free-form bank details (for accounts outside SEPA)."),
    SettingDefault(
        "_reference_prefix",
        "",
        str,
        description="Text before the order code in the payment reference; the event's slug when empty.",
    ),
    SettingDefault(
        "_invite_immediately",
        True,
        bool,
        description="Show the bank details right after ordering; when off, buyers are told they will receive "
        "them separately (e.g. after the organizer checked the order).",
    ),
    SettingDefault(
        "_days_until_expiry",
        0,
        int,
        description="Days a buyer paying by bank transfer has to pay (transfers take a while); 0 keeps the "
        "event's payment term.",
    ),
)

EXTRA_SETTINGS = (
    SettingDefault(
        CSV_COLUMNS_KEY,
        {},
        dict,
        description="Default column mapping for CSV statement uploads: field name → column header or 0-based index "
        "(a list of columns for 'reference'); fields payer, reference, amount, date, iban, bic, external_id, "
        "currency, plus 'delimiter' and 'decimal'.",
        permission=PAYMENT_PERMISSION,
    ),
)


def declared_settings() -> list[SettingDefault]:
    """Every setting of the plugin under its global key (the provider's schema entries prefixed)."""
    declared = [
        SettingDefault(
            f"{PREFIX}{entry.key}",
            entry.default,
            entry.type,
            public=True,
            description=entry.description,
            permission=PAYMENT_PERMISSION,
        )
        for entry in PROVIDER_SETTINGS
    ]
    declared.insert(
        0,
        SettingDefault(
            f"{PREFIX}_enabled",
            False,
            bool,
            public=True,
            description="Offer bank transfer to buyers at checkout",
            permission=PAYMENT_PERMISSION,
        ),
    )
    return declared + list(EXTRA_SETTINGS)


_REGISTRY = SettingsRegistry(("banktransfer", entry) for entry in declared_settings())


def provider_settings(session: Session, event: Any) -> SettingsSandbox:
    """The provider's settings for ``event`` where hooks are handed no kernel (placeholders, lifecycle hooks): the
    kernel's own settings store, typed by this plugin's declarations."""
    return Settings(session, _REGISTRY, event=event).sandbox(PREFIX)


def clean_iban(value: str) -> str:
    """The IBAN in its compact form; ``ValueError`` with a message for the user when it is not a valid IBAN."""
    try:
        return IBAN(value).compact
    except SchwiftyException as problem:
        raise ValueError(f"This is not a valid IBAN ({problem}).") from None


def clean_bic(value: str) -> str:
    try:
        return BIC(value).compact
    except SchwiftyException as problem:
        raise ValueError(f"This is not a valid BIC ({problem}).") from None


def payment_reference(event: Any, order_code: str, prefix: str | None) -> str:
    """The reference buyers are asked to use: ``<PREFIX>-<ORDER CODE>``, upper case.

    The prefix (the event's slug unless configured) makes the order code stand out in a reference field full of
    other text, and tells several events' orders apart on one account.
    """
    return f"{(prefix or event.slug).upper()}-{order_code}"


class BankTransfer(PaymentProvider):
    """Moves no money itself: the buyer transfers it, a statement import confirms it; refunds are exported as a
    SEPA credit-transfer file for the organizer's bank."""

    identifier = IDENTIFIER
    # Nothing is reserved anywhere: a buyer may switch to another method while the transfer is still open.
    abort_pending_allowed = True

    @property
    def verbose_name(self) -> str:
        return "Bank transfer"

    @property
    def public_name(self) -> str:
        configured = self.settings.get("_public_name")
        return str(configured) if configured else "Bank transfer"

    @property
    def settings_schema(self) -> dict[str, SettingDefault]:
        return {**super().settings_schema, **{entry.key: entry for entry in PROVIDER_SETTINGS}}

    def reference(self, order: Any) -> str:
        return payment_reference(self.event, order.code, self.settings.get("_reference_prefix"))

    def bank_details(self) -> str:
        """The account to pay into, as lines of text."""
        if self.settings.get("_bank_details_type") == "other":
            return str(self.settings.get("_bank_details") or "").strip()
        lines = [
            ("Account holder", self.settings.get("_account_holder")),
            ("IBAN", _formatted_iban(str(self.settings.get("_iban") or ""))),
            ("BIC", self.settings.get("_bic")),
            ("Bank", self.settings.get("_bank_name")),
        ]
        return "\n".join(f"{label}: {value}" for label, value in lines if value)

    def execute_payment(self, payment: Any) -> str | None:
        """Nothing to collect now: the payment stays open until a statement import finds the transfer."""
        return None

    def instructions(self, order: Any, amount: Decimal) -> str:
        """What a buyer with an open transfer of ``amount`` for ``order`` must do."""
        if not self.settings.get("_invite_immediately"):
            return "You will receive the bank details for your payment separately."
        money = format_money(amount, order.event.currency, get_locale())
        return (
            f"Please transfer {money} to the following account, using the reference {self.reference(order)} "
            f"so that we can match your payment:\n{self.bank_details()}"
        )

    def payment_pending_instructions(self, payment: Any) -> str:
        return self.instructions(payment.order, Decimal(payment.amount))

    def api_payment_details(self, payment: Any) -> dict[str, Any]:
        info = payment.info or {}
        return {key: info.get(key) for key in ("reference", "payer", "iban", "bic", "date") if key in info}

    def matching_id(self, payment: Any) -> str | None:
        return self.reference(payment.order)

    # Refunds: possible wherever the payer's account is known; they wait for the next SEPA export.

    def payment_refund_supported(self, payment: Any) -> bool:
        return bool((payment.info or {}).get("iban"))

    def payment_partial_refund_supported(self, payment: Any) -> bool:
        return self.payment_refund_supported(payment)

    def execute_refund(self, refund: Any) -> None:
        """Record the account the money goes back to; the refund stays open until its export is marked done."""
        payment = next((p for p in refund.order.payments if p.id == refund.payment_id), None)
        payment_info = (payment.info if payment is not None else None) or {}
        refund.info = {
            **(refund.info or {}),
            "payer": payment_info.get("payer", ""),
            "iban": payment_info.get("iban", ""),
            "bic": payment_info.get("bic", ""),
        }

    def shred_payment_info(self, obj: Any) -> None:
        """Forget who paid from which account; keep the reference and date (bookkeeping needs them)."""
        info = dict(obj.info or {})
        for key in ("payer", "iban", "bic"):
            if key in info:
                info[key] = "█"
        obj.info = info


def _formatted_iban(value: str) -> str:
    compact = value.replace(" ", "").upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def validate_settings(changes: dict[str, Any]) -> dict[str, list[str]]:
    """Refuse account data that would send buyers' money nowhere."""
    problems: dict[str, list[str]] = {}
    checks = {f"{PREFIX}_iban": clean_iban, f"{PREFIX}_bic": clean_bic}
    for key, check in checks.items():
        value = changes.get(key)
        if isinstance(value, str) and value.strip():
            try:
                check(value)
            except ValueError as problem:
                problems[key] = [str(problem)]
    kind = changes.get(f"{PREFIX}_bank_details_type")
    if kind is not None and kind not in DETAILS_TYPES:
        problems[f"{PREFIX}_bank_details_type"] = [f"Choose one of: {', '.join(DETAILS_TYPES)}."]
    days = changes.get(f"{PREFIX}_days_until_expiry")
    if isinstance(days, int) and not isinstance(days, bool) and not 0 <= days <= 365:
        problems[f"{PREFIX}_days_until_expiry"] = ["Enter a number of days between 0 and 365."]
    return problems
