"""SEPA credit-transfer (pain.001) files for bank transfer refunds, written by the ``sepaxml`` library and
validated against the pain.001 XML schema it ships (through ``xmlschema``) before anyone uploads them to a bank."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from sepaxml import SepaTransfer

from boxoffice.hookspecs.providers import ValidationFailure
from boxoffice.kernel import clock
from boxoffice.plugins.banktransfer.provider import clean_bic, clean_iban

CURRENCY = "EUR"
DEFAULT_SCHEMA = "pain.001.001.03"
SCHEMAS = ("pain.001.001.03", "pain.001.001.09")
# The SEPA character set: anything else is refused by many banks, so it is transliterated or dropped.
_SEPA_UNSAFE = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")
_TRANSLITERATION = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})


def sepa_text(value: str, limit: int) -> str:
    cleaned = _SEPA_UNSAFE.sub("", value.translate(_TRANSLITERATION)).strip()
    return cleaned[:limit]


def debtor_account(settings: Any) -> dict[str, str]:
    """The organizer's account refunds are paid from (the bank transfer settings); 400 when incomplete."""
    holder = str(settings.get("_account_holder") or "").strip()
    iban = str(settings.get("_iban") or "").strip()
    if not holder or not iban:
        raise ValidationFailure(
            "Enter the account holder and IBAN of the bank transfer settings first: refunds are paid from that account."
        )
    try:
        account = {"name": sepa_text(holder, 70), "IBAN": clean_iban(iban), "currency": CURRENCY}
        bic = str(settings.get("_bic") or "").strip()
        if bic:
            account["BIC"] = clean_bic(bic)
    except ValueError as problem:
        raise ValidationFailure(str(problem)) from None
    return account


def export_rows(refunds: Iterable[Any]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The refunds a SEPA file can carry, as export rows; the others with the reason they were left out."""
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    for refund in refunds:
        order = refund.order
        info = refund.info or {}
        label = f"{order.code}-R-{refund.local_id}"
        if order.event.currency != CURRENCY:
            skipped.append(
                {"refund": label, "reason": f"SEPA transfers are in EUR, this refund is in {order.event.currency}."}
            )
            continue
        try:
            iban = clean_iban(str(info.get("iban") or ""))
            bic = clean_bic(str(info["bic"])) if info.get("bic") else ""
        except ValueError as problem:
            skipped.append({"refund": label, "reason": f"The payer's account is not usable: {problem}"})
            continue
        payer = sepa_text(str(info.get("payer") or ""), 70)
        if not payer:
            skipped.append({"refund": label, "reason": "The payer's name is missing."})
            continue
        rows.append(
            {
                "refund": refund.id,
                "order": order.code,
                "event": order.event.slug,
                "payer": payer,
                "iban": iban,
                "bic": bic,
                "amount": f"{Decimal(refund.amount):.2f}",
                "reference": sepa_text(f"Refund {order.event.slug.upper()}-{order.code}", 140),
            }
        )
    return rows, skipped


def pain001(export: Any, debtor: dict[str, str], schema: str) -> bytes:
    """The export as a pain.001 document, schema-validated."""
    # Without a BIC (optional within SEPA) sepaxml leaves the agent out.
    config = {**debtor, "batch": True}
    transfer = SepaTransfer(config, schema=schema, clean=True)
    execution = clock.now().date()
    for row in export.rows:
        payment: dict[str, Any] = {
            "name": row["payer"],
            "IBAN": row["iban"],
            "amount": int(Decimal(row["amount"]) * 100),
            "execution_date": date(execution.year, execution.month, execution.day),
            "description": row["reference"],
            "endtoend_id": f"BOXOFFICE{export.id}R{row['refund']}",
        }
        if row["bic"]:
            payment["BIC"] = row["bic"]
        transfer.add_payment(payment)
    return transfer.export(validate=True)
