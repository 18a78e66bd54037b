"""Prices and taxes without a database: money checks, tax decisions (reverse charge, custom rules), catalog prices
(gross and net), voucher price modes, and the order-wide tax rounding modes with awkward cents."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from boxoffice.kernel.models.taxes import TaxRule
from boxoffice.kernel.models.vouchers import Voucher
from boxoffice.kernel.orders.pricing import (
    apply_rounding_mode,
    decide,
    money_problem,
    round_money,
    tax_from_gross,
    taxed_catalog_price,
    taxed_gross,
    voucher_price,
)

D = Decimal


def rule(rate: str = "19.00", **fields: Any) -> TaxRule:
    values: dict[str, Any] = {
        "id": 7,
        "rate": D(rate),
        "code": None,
        "price_includes_tax": True,
        "eu_reverse_charge": False,
        "home_country": None,
        "keep_gross_if_rate_changes": False,
        "custom_rules": None,
    }
    values.update(fields)
    return TaxRule(**values)


def address(country: str = "", *, business: bool = False, vat_id: str = "", validated: bool = False) -> Any:
    return SimpleNamespace(country=country, is_business=business, vat_id=vat_id, vat_id_validated=validated)


EU_BUSINESS = address("AT", business=True, vat_id="ATU12345678", validated=True)


# --- money ------------------------------------------------------------------------------------------------------


def test_round_money_rounds_half_up_and_never_gives_negative_zero():
    assert round_money(D("0.005")) == D("0.01")
    assert round_money(D("2.675")) == D("2.68")
    assert round_money(D("-0.004")) == D("0.00")
    assert str(round_money(D("-0.004"))) == "0.00"
    assert str(round_money(D("-0"))) == "0.00"


@pytest.mark.parametrize(
    ("value", "negative", "problem"),
    [
        ("12.50", False, ""),
        ("12.500", False, ""),
        ("0", False, ""),
        ("99999999999.99", False, ""),
        ("12.345", False, "Ensure that there are no more than 2 decimal places."),
        ("1e-400", False, "Ensure that there are no more than 2 decimal places."),
        ("100000000000", False, "Ensure that there are no more than 13 digits in total."),
        ("1e400", False, "Ensure that there are no more than 13 digits in total."),
        ("NaN", False, "A valid number is required."),
        ("-Infinity", True, "A valid number is required."),
        ("-0.01", False, "Ensure this value is greater than or equal to 0."),
        ("-0.01", True, ""),
    ],
)
def test_money_problem(value, negative, problem):
    assert money_problem(D(value), negative=negative) == problem


# --- tax decisions --------------------------------------------------------------------------------------------------


def test_decide_defaults_to_the_rule_rate_and_standard_code():
    decision = decide(rule(), None)
    assert (decision.rate, decision.code, decision.blocked) == (D("19.00"), "S/standard", False)
    assert decide(rule("0.00"), None).code is None
    assert decide(rule(code="S/reduced"), None).code == "S/reduced"


def test_reverse_charge_needs_a_validated_vat_id_of_a_business_in_another_eu_country():
    charged = rule(eu_reverse_charge=True, home_country="DE")
    assert (decide(charged, EU_BUSINESS).rate, decide(charged, EU_BUSINESS).code) == (D("0"), "AE")
    # Home country, private buyer, unvalidated or missing VAT id: tax is charged.
    assert decide(charged, address("DE", business=True, vat_id="DE1", validated=True)).rate == D("19.00")
    assert decide(charged, address("AT")).rate == D("19.00")
    assert decide(charged, address("AT", business=True, vat_id="ATU1")).rate == D("19.00")
    assert decide(charged, address("AT", business=True, validated=True)).rate == D("19.00")
    # Outside the EU no VAT is charged at all (export).
    assert (decide(charged, address("US")).rate, decide(charged, address("US")).code) == (D("0"), "O")
    # Without reverse charge on the rule, nothing changes.
    assert decide(rule(home_country="DE"), EU_BUSINESS).rate == D("19.00")


def test_custom_rules_first_match_wins():
    custom = rule(
        custom_rules=[
            {"country": "CH", "address_type": "", "action": "block"},
            {"country": "EU", "address_type": "business_vat_id", "action": "reverse"},
            {"country": "FR", "address_type": "individual", "action": "vat", "rate": "5.50", "code": "S/reduced"},
            {"country": "GB", "address_type": "business", "action": "no", "code": "O"},
            {"country": "NO", "address_type": "", "action": "require_approval"},
            {"country": "ZZ", "address_type": "", "action": "vat"},
        ]
    )
    assert decide(custom, address("CH")).blocked
    assert decide(custom, EU_BUSINESS).code == "AE"
    french = decide(custom, address("FR"))
    assert (french.rate, french.code) == (D("5.50"), "S/reduced")
    assert decide(custom, address("GB", business=True)).rate == D("0")
    assert decide(custom, address("GB")).rate == D("19.00")
    assert decide(custom, address("NO")).require_approval
    assert decide(custom, None).rate == D("19.00")


# --- prices -------------------------------------------------------------------------------------------------------


def test_gross_catalog_price_contains_the_tax():
    taxed = taxed_catalog_price(D("35.00"), rule())
    assert (taxed.gross, taxed.tax, taxed.net, taxed.rate, taxed.rule_id) == (
        D("35.00"),
        D("5.59"),
        D("29.41"),
        D("19.00"),
        7,
    )


def test_net_catalog_price_gets_the_tax_added():
    taxed = taxed_catalog_price(D("100.00"), rule(price_includes_tax=False))
    assert (taxed.gross, taxed.tax) == (D("119.00"), D("19.00"))
    cheap = taxed_catalog_price(D("0.05"), rule(price_includes_tax=False))
    assert (cheap.gross, cheap.tax, cheap.net) == (D("0.06"), D("0.01"), D("0.05"))


def test_reverse_charge_keeps_the_net_price_unless_the_rule_keeps_gross():
    charged = rule(eu_reverse_charge=True, home_country="DE")
    net_kept = taxed_catalog_price(D("35.00"), charged, EU_BUSINESS)
    assert (net_kept.gross, net_kept.tax, net_kept.code) == (D("29.41"), D("0.00"), "AE")
    keep_gross = rule(eu_reverse_charge=True, home_country="DE", keep_gross_if_rate_changes=True)
    assert taxed_catalog_price(D("35.00"), keep_gross, EU_BUSINESS).gross == D("35.00")
    # Net list prices stay net: the buyer pays no tax on top.
    net_rule = rule(eu_reverse_charge=True, home_country="DE", price_includes_tax=False)
    assert taxed_catalog_price(D("100.00"), net_rule, EU_BUSINESS).gross == D("100.00")


def test_a_price_sent_by_the_client_is_gross():
    taxed = taxed_gross(D("23.00"), rule(price_includes_tax=False))
    assert (taxed.gross, taxed.tax) == (D("23.00"), D("3.67"))
    assert taxed_gross(D("23.00"), None).tax == D("0.00")
    assert taxed_gross(D("23.00"), rule(eu_reverse_charge=True, home_country="DE"), EU_BUSINESS).tax == D("0.00")


@pytest.mark.parametrize(
    ("mode", "value", "price", "expected"),
    [
        ("none", "5.00", "35.00", "35.00"),
        ("set", "12.00", "35.00", "12.00"),
        ("set", "50.00", "35.00", "50.00"),
        ("subtract", "5.00", "35.00", "30.00"),
        ("subtract", "50.00", "35.00", "0.00"),
        ("percent", "10.00", "35.00", "31.50"),
        ("percent", "33.33", "9.99", "6.66"),
        ("percent", "100.00", "35.00", "0.00"),
    ],
)
def test_voucher_price_modes(mode, value, price, expected):
    voucher = Voucher(price_mode=mode, value=D(value))
    assert voucher_price(voucher, D(price)) == D(expected)
    assert voucher_price(None, D(price)) == D(price)


# --- rounding modes -----------------------------------------------------------------------------------------------


@dataclass
class Line:
    price: Decimal
    tax_value: Decimal
    tax_rate: Decimal


def lines(*prices: str, rate: str = "19.00") -> list[Line]:
    return [Line(D(p), tax_from_gross(D(p), D(rate)), D(rate)) for p in prices]


def test_line_rounding_changes_nothing():
    items = lines("0.99", "0.99", "0.99")
    apply_rounding_mode(items, "line")
    assert [(i.price, i.tax_value) for i in items] == [(D("0.99"), D("0.16"))] * 3


def test_sum_by_net_taxes_the_net_total_once_and_moves_gross_prices():
    # Per line: 0.99 gross = 0.83 net + 0.16 tax, so 0.48 tax in total; on the net total 2.49 it is 0.47.
    items = lines("0.99", "0.99", "0.99")
    apply_rounding_mode(items, "sum_by_net")
    assert sum(i.tax_value for i in items) == D("0.47")
    assert sorted(i.price - i.tax_value for i in items) == [D("0.83")] * 3
    assert sorted(i.price for i in items) == [D("0.98"), D("0.99"), D("0.99")]


def test_sum_by_net_keep_gross_moves_tax_not_prices():
    items = lines("0.99", "0.99", "0.99")
    apply_rounding_mode(items, "sum_by_net_keep_gross")
    # 2.97 gross at 19 % holds 0.47 tax (net 2.50), not the 0.48 of the single lines.
    assert [i.price for i in items] == [D("0.99")] * 3
    assert sum(i.tax_value for i in items) == D("0.47")
    assert sorted(i.tax_value for i in items) == [D("0.15"), D("0.16"), D("0.16")]


def test_rounding_modes_group_by_rate_and_skip_untaxed_lines():
    items = [*lines("0.99", "0.99", rate="19.00"), *lines("1.01", "1.01", rate="7.00"), Line(D("5.00"), D(0), D(0))]
    apply_rounding_mode(items, "sum_by_net_keep_gross")
    assert items[-1].tax_value == D(0)
    assert items[0].tax_value + items[1].tax_value == D("1.98") - round_money(D("1.98") * 100 / D("119"))
    assert items[2].tax_value + items[3].tax_value == D("2.02") - round_money(D("2.02") * 100 / D("107"))
    assert sum(i.price for i in items) == D("9.00")


def test_sum_by_net_spreads_negative_amounts_too():
    items = lines("-0.99", "-0.99", "-0.99")
    apply_rounding_mode(items, "sum_by_net")
    assert sum(i.tax_value for i in items) == D("-0.47")
    assert sorted(i.price for i in items) == [D("-0.99"), D("-0.99"), D("-0.98")]


@pytest.mark.parametrize("mode", ["sum_by_net", "sum_by_net_keep_gross"])
@pytest.mark.parametrize("prices", [("0.01",) * 7, ("0.03", "0.07", "10.00", "3.33", "1.99"), ("123.45",)])
def test_rounding_modes_keep_every_line_consistent(mode, prices):
    items = lines(*prices)
    apply_rounding_mode(items, mode)
    net_total = sum(D(p) - tax_from_gross(D(p), D("19")) for p in prices)
    gross_total = sum(D(p) for p in prices)
    for item in items:
        assert item.tax_value == item.tax_value.quantize(D("0.01"))
        assert abs(item.tax_value - item.price * D("19") / D("119")) < D("0.02")
    if mode == "sum_by_net":
        assert sum(i.price - i.tax_value for i in items) == net_total
        assert sum(i.tax_value for i in items) == round_money(net_total * D("0.19"))
    else:
        assert sum(i.price for i in items) == gross_total
        assert sum(i.tax_value for i in items) == gross_total - round_money(gross_total / D("1.19"))
