"""Prices and taxes: what a product costs, what a voucher takes off, which tax applies for a buyer, and how tax is
rounded across an order.

Prices stored on positions and fees are gross (what the buyer pays); ``tax_value`` is the tax contained in it.
A tax rule's ``price_includes_tax`` says whether catalog prices are gross (the usual case for consumer sales) or
net (tax is added on top).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from boxoffice.kernel.models.taxes import TaxRule
from boxoffice.kernel.models.vouchers import Voucher

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
# Amounts are stored as Numeric(13, 2): eleven digits before the point, two after.
MONEY_LIMIT = Decimal(10) ** 11

EU_COUNTRIES = frozenset(
    {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU"}
    | {"IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}
)


def round_money(value: Decimal) -> Decimal:
    """Round half up to cents (``-0.00`` comes out as ``0.00``)."""
    rounded = Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    return rounded if rounded else ZERO


def money_problem(value: Decimal, *, negative: bool = False) -> str:
    """Why ``value`` is not an acceptable amount of money (finite, at most 13 digits and 2 decimals, not below
    zero unless ``negative``), in the words clients know from pretix; ``""`` when it is fine."""
    value = Decimal(value)
    if not value.is_finite():
        return "A valid number is required."
    if abs(value) >= MONEY_LIMIT:
        return "Ensure that there are no more than 13 digits in total."
    # "12.50" and "12.500" are the same amount; "12.345" is not an amount of cents.
    if value != value.quantize(CENT):
        return "Ensure that there are no more than 2 decimal places."
    if value < 0 and not negative:
        return "Ensure this value is greater than or equal to 0."
    return ""


@dataclass(frozen=True)
class Taxed:
    """A gross amount with the tax contained in it."""

    gross: Decimal
    tax: Decimal
    rate: Decimal
    code: str | None
    rule_id: int | None

    @property
    def net(self) -> Decimal:
        return self.gross - self.tax


class Address(Protocol):
    country: str
    is_business: bool
    vat_id: str
    vat_id_validated: bool


@dataclass(frozen=True)
class TaxDecision:
    """What a rule means for one buyer: the rate and code to apply, or that the sale is blocked."""

    rate: Decimal
    code: str | None
    blocked: bool = False
    require_approval: bool = False


def untaxed(gross: Decimal) -> Taxed:
    return Taxed(round_money(gross), ZERO, ZERO, None, None)


def decide(rule: TaxRule, address: Address | None) -> TaxDecision:
    """Apply the rule's custom rules (first match wins) or, without them, EU reverse charge; default is the rate."""
    default = TaxDecision(Decimal(rule.rate), rule.code or ("S/standard" if rule.rate else None))
    country = (address.country or "").upper() if address is not None else ""
    business = bool(address is not None and address.is_business)
    has_vat_id = bool(address is not None and address.vat_id and address.vat_id_validated)
    if rule.custom_rules:
        for custom in rule.custom_rules:
            if not _custom_rule_matches(custom, country, business, has_vat_id):
                continue
            action = custom.get("action", "vat")
            if action == "block":
                return TaxDecision(ZERO, None, blocked=True)
            if action == "require_approval":
                return replace(default, require_approval=True)
            if action == "reverse":
                return TaxDecision(ZERO, "AE")
            if action == "no":
                return TaxDecision(ZERO, custom.get("code") or "O")
            rate = custom.get("rate")
            custom_rate = Decimal(str(rate)) if rate not in (None, "") else default.rate
            return TaxDecision(custom_rate, custom.get("code") or default.code)
        return default
    if rule.eu_reverse_charge and rule.home_country and country and country != rule.home_country.upper():
        if country in EU_COUNTRIES and business and has_vat_id:
            return TaxDecision(ZERO, "AE")
        if country not in EU_COUNTRIES:
            return TaxDecision(ZERO, "O")
    return default


def _custom_rule_matches(custom: dict[str, Any], country: str, business: bool, has_vat_id: bool) -> bool:
    wanted_country = str(custom.get("country", "ZZ")).upper()
    if wanted_country == "EU":
        if country not in EU_COUNTRIES:
            return False
    elif wanted_country != "ZZ" and wanted_country != country:
        return False
    address_type = custom.get("address_type", "")
    if address_type == "individual":
        return not business
    if address_type == "business":
        return business
    if address_type == "business_vat_id":
        return business and has_vat_id
    return True


def tax_from_gross(gross: Decimal, rate: Decimal) -> Decimal:
    if not rate:
        return ZERO
    return round_money(gross * rate / (HUNDRED + rate))


def taxed_gross(gross: Decimal, rule: TaxRule | None, address: Address | None = None) -> Taxed:
    """Tax contained in a gross price the caller fixed (e.g. a price sent through the API)."""
    if rule is None:
        return untaxed(gross)
    decision = decide(rule, address)
    gross = round_money(gross)
    return Taxed(gross, tax_from_gross(gross, decision.rate), decision.rate, decision.code, rule.id)


def taxed_catalog_price(price: Decimal, rule: TaxRule | None, address: Address | None = None) -> Taxed:
    """Tax for a catalog price: gross when the rule includes tax, else net with tax added on top.

    When the buyer's rate differs from the rule's rate (reverse charge, export), a gross catalog price keeps its
    net part (the buyer pays less) unless the rule says to keep the gross price.
    """
    if rule is None:
        return untaxed(price)
    decision = decide(rule, address)
    rate = decision.rate
    if rule.price_includes_tax:
        gross = round_money(price)
        if rate != Decimal(rule.rate) and not rule.keep_gross_if_rate_changes:
            net = gross - tax_from_gross(gross, Decimal(rule.rate))
            gross = round_money(net * (HUNDRED + rate) / HUNDRED)
    else:
        gross = round_money(price * (HUNDRED + rate) / HUNDRED)
    return Taxed(gross, tax_from_gross(gross, rate), rate, decision.code, rule.id)


def voucher_price(voucher: Voucher | None, price: Decimal) -> Decimal:
    """The catalog price after the voucher's price mode (never below zero)."""
    if voucher is None or voucher.price_mode == "none" or voucher.value is None:
        return price
    value = Decimal(voucher.value)
    if voucher.price_mode == "set":
        result = value
    elif voucher.price_mode == "subtract":
        result = price - value
    elif voucher.price_mode == "percent":
        result = price * (HUNDRED - value) / HUNDRED
    else:
        result = price
    return max(ZERO, round_money(result))


class TaxedLine(Protocol):
    price: Decimal
    tax_value: Decimal
    tax_rate: Decimal


def apply_rounding_mode(lines: Sequence[Any], mode: str, *, price_attribute: str = "price") -> None:
    """Round tax per order instead of per line where the order's ``tax_rounding_mode`` asks for it.

    ``line`` (default): each line's tax is rounded on its own (already the case, nothing to do).
    ``sum_by_net``: per tax rate, tax is computed once on the sum of the lines' net amounts; the cents that
    differ are spread over the lines, whose gross prices move accordingly.
    ``sum_by_net_keep_gross``: the same tax total per rate, but the gross prices stay; the lines' tax (and so
    their net) absorbs the difference.
    Lines are objects with ``price`` (gross, or ``price_attribute``), ``tax_value`` and ``tax_rate``.
    """
    if mode not in ("sum_by_net", "sum_by_net_keep_gross"):
        return
    groups: dict[Decimal, list[Any]] = defaultdict(list)
    for line in lines:
        if line.tax_rate:
            groups[Decimal(line.tax_rate)].append(line)
    for rate, members in groups.items():
        if mode == "sum_by_net":
            nets = [Decimal(getattr(line, price_attribute)) - Decimal(line.tax_value) for line in members]
            total_tax = round_money(sum(nets, ZERO) * rate / HUNDRED)
            shares = _spread(total_tax, [net * rate / HUNDRED for net in nets])
            for line, net, tax in zip(members, nets, shares, strict=True):
                line.tax_value = tax
                setattr(line, price_attribute, net + tax)
        else:
            gross_total = sum((Decimal(getattr(line, price_attribute)) for line in members), ZERO)
            total_net = round_money(gross_total * HUNDRED / (HUNDRED + rate))
            total_tax = gross_total - total_net
            exact = [Decimal(getattr(line, price_attribute)) * rate / (HUNDRED + rate) for line in members]
            for line, tax in zip(members, _spread(total_tax, exact), strict=True):
                line.tax_value = tax


def _spread(total: Decimal, exact: Sequence[Decimal]) -> list[Decimal]:
    """Round ``exact`` shares to cents so that they add up to ``total`` (largest remainders get the extra cents)."""
    floors = [value.quantize(CENT, rounding="ROUND_FLOOR") for value in exact]
    missing = int((total - sum(floors, ZERO)) / CENT)
    order = sorted(range(len(exact)), key=lambda index: exact[index] - floors[index], reverse=missing > 0)
    step = CENT if missing > 0 else -CENT
    for index in order[: abs(missing)]:
        floors[index] += step
    return floors
