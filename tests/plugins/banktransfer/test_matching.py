"""Matching bank transactions to orders: references, amounts, order states, currencies, test mode, duplicates."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from boxoffice.hookspecs.providers import render_placeholders
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.models import Event, Quota
from boxoffice.kernel.models.orders import Order, OrderPayment
from boxoffice.kernel.orders import lifecycle
from boxoffice.kernel.orders.providers import payment_providers
from boxoffice.plugins.banktransfer.matching import Matcher
from boxoffice.plugins.banktransfer.models import Booking

ACTOR = Actor.system()


def states(job) -> list[str]:
    return [t.state for t in job.transactions]


def bank_payments(shop, code: str, event: str = "democon") -> list[OrderPayment]:
    return [p for p in shop.get(code, event).payments if p.provider == "banktransfer"]


def test_exact_amount_pays_the_order_and_forgets_payer_and_reference(shop):
    code = shop.order()
    job = shop.import_job(
        [{"payer": "Jane Doe", "reference": f"DEMOCON-{code}", "amount": "35.00", "iban": "DE89370400440532013000"}]
    )
    assert job.state == "completed"
    (transaction,) = job.transactions
    assert (transaction.state, transaction.order_code, transaction.message) == ("valid", code, "")
    assert (transaction.payer, transaction.reference) == ("", "")
    order = shop.get(code)
    assert order.status == "p"
    (payment,) = bank_payments(shop, code)
    assert payment.state == "confirmed" and payment.amount == Decimal("35.00")
    assert payment.info["payer"] == "Jane Doe" and payment.info["iban"] == "DE89370400440532013000"


@pytest.mark.parametrize(
    "reference",
    [
        "democon-{code}",
        "DEMOCON - {code}",
        "Ticket DemoCon {spaced} thanks",
        "DEMOCON{code}",
        "demo {code}",
        "Payment for order {code} please",
        "SVWZ+EREF: DEMOCON.{code}/2031",
    ],
)
def test_references_are_read_tolerantly(shop, reference):
    code = shop.order()
    spaced = f"{code[:2]} {code[2:]}"
    job = shop.import_job([{"reference": reference.format(code=code, spaced=spaced), "amount": "35.00"}])
    assert states(job) == ["valid"]
    assert shop.get(code).status == "p"


def test_configured_reference_prefix_is_recognised(shop):
    with shop.kernel.db.session() as session:
        event = session.get(Event, shop.events["democon"])
        shop.kernel.settings_for(session, event=event).set("payment_banktransfer_reference_prefix", "TIX26")
    code = shop.order()
    job = shop.import_job([{"reference": f"tix26 {code}", "amount": "35.00"}])
    assert states(job) == ["valid"]


def test_smaller_amount_is_a_partial_payment_and_the_rest_pays_later(shop):
    code = shop.order()
    first = shop.import_job([{"reference": f"DEMOCON-{code}", "amount": "20.00", "date": "2031-04-01"}])
    assert states(first) == ["valid"]
    assert "15.00" in first.transactions[0].message and "due" in first.transactions[0].message
    assert shop.get(code).status == "n"
    second = shop.import_job([{"reference": f"DEMOCON-{code}", "amount": "15.00", "date": "2031-04-03"}])
    assert states(second) == ["valid"]
    assert shop.get(code).status == "p"
    assert sorted(p.amount for p in bank_payments(shop, code)) == [Decimal("15.00"), Decimal("20.00")]


def test_larger_amount_pays_and_reports_the_overpayment(shop):
    code = shop.order()
    job = shop.import_job([{"reference": f"DEMOCON-{code}", "amount": "50.00"}])
    assert states(job) == ["valid"]
    assert "overpaid" in job.transactions[0].message and "15.00" in job.transactions[0].message
    assert shop.get(code).status == "p"


def test_two_orders_in_one_reference_are_paid_together_when_the_sum_matches(shop):
    first, second = shop.order(), shop.order(count=2)
    job = shop.import_job([{"reference": f"DEMOCON-{first} DEMOCON-{second}", "amount": "105.00"}])
    assert states(job) == ["valid"]
    assert shop.get(first).status == "p" and shop.get(second).status == "p"
    assert [p.amount for p in bank_payments(shop, second)] == [Decimal("70.00")]


def test_two_orders_with_a_sum_that_does_not_fit_stay_unmatched(shop):
    first, second = shop.order(), shop.order()
    job = shop.import_job([{"reference": f"{first} and {second}", "amount": "50.00"}])
    assert states(job) == ["nomatch"]
    assert "several orders" in job.transactions[0].message
    assert shop.get(first).status == "n" and shop.get(second).status == "n"


def test_an_order_already_paid_is_not_paid_again(shop):
    code = shop.order()
    shop.import_job([{"reference": code, "amount": "35.00", "payer": "A"}])
    job = shop.import_job([{"reference": code, "amount": "35.00", "payer": "B"}])
    assert states(job) == ["already"]
    assert "already paid" in job.transactions[0].message
    assert len(bank_payments(shop, code)) == 1


def test_a_canceled_order_is_not_paid(shop):
    code = shop.order()
    with shop.kernel.db.session() as session:
        order = session.scalar(select(Order).where(Order.code == code))
        lifecycle.mark_canceled(shop.kernel, session, order, actor=ACTOR)
    job = shop.import_job([{"reference": code, "amount": "35.00"}])
    assert states(job) == ["invalid"]
    assert "canceled" in job.transactions[0].message
    assert job.transactions[0].order_code == code
    assert not any(p.state == "confirmed" for p in shop.get(code).payments)


def test_foreign_currency_is_refused_and_matching_currency_accepted(shop):
    euro, dollar = shop.order(), shop.order("usacon")
    job = shop.import_job(
        [
            {"reference": f"DEMOCON-{euro}", "amount": "35.00", "currency": "USD"},
            {"reference": f"USACON-{dollar}", "amount": "35.00", "currency": "USD"},
        ]
    )
    assert states(job) == ["invalid", "valid"]
    assert "USD" in job.transactions[0].message and "EUR" in job.transactions[0].message
    assert shop.get(euro).status == "n" and shop.get(dollar, "usacon").status == "p"


def test_test_mode_orders_are_never_paid_by_real_money(shop):
    code = shop.order(testmode=True)
    job = shop.import_job([{"reference": f"DEMOCON-{code}", "amount": "35.00"}])
    assert states(job) == ["invalid"]
    assert "test-mode" in job.transactions[0].message
    assert shop.get(code).status == "n"


def test_references_without_a_known_code_are_no_match(shop):
    shop.order()
    job = shop.import_job([{"reference": "Membership fee 2031", "amount": "35.00"}, {"reference": "", "amount": "1"}])
    assert states(job) == ["nomatch", "nomatch"]


def test_outgoing_amounts_are_invalid(shop):
    code = shop.order()
    job = shop.import_job([{"reference": code, "amount": "-35.00"}])
    assert states(job) == ["invalid"]


def test_reimporting_a_statement_never_pays_twice(shop):
    code = shop.order(count=2)
    statement = [
        {"reference": f"DEMOCON-{code}", "amount": "30.00", "payer": "Jane", "date": "2031-04-01"},
        {"reference": f"DEMOCON-{code}", "amount": "40.00", "payer": "Jane", "date": "2031-04-02"},
    ]
    first = shop.import_job(statement)
    assert states(first) == ["valid", "valid"]
    second = shop.import_job(statement)
    assert states(second) == ["already", "already"]
    assert sorted(p.amount for p in bank_payments(shop, code)) == [Decimal("30.00"), Decimal("40.00")]


def test_the_banks_id_identifies_a_line_even_when_its_text_changed(shop):
    code = shop.order(count=2)
    shop.import_job([{"reference": f"DEMOCON-{code}", "amount": "30.00", "external_id": "TX-1"}])
    job = shop.import_job([{"reference": f"DEMOCON {code} (corrected)", "amount": "30.00", "external_id": "TX-1"}])
    assert states(job) == ["already"]
    assert len(bank_payments(shop, code)) == 1


def test_an_expired_order_is_paid_while_its_quota_has_room_and_refused_when_not(shop):
    roomy, tight = shop.order(), shop.order()
    shop.set_status(roomy, "e")
    shop.set_status(tight, "e")
    job = shop.import_job([{"reference": roomy, "amount": "35.00"}])
    assert states(job) == ["valid"] and shop.get(roomy).status == "p"
    with shop.kernel.db.session() as session:
        session.execute(Quota.__table__.update().values(size=1))
    job = shop.import_job([{"reference": tight, "amount": "35.00"}])
    assert states(job) == ["error"]
    assert "quota" in job.transactions[0].message
    assert shop.get(tight).status == "e"
    assert not [p for p in bank_payments(shop, tight) if p.state == "confirmed"]


def test_orders_of_events_without_the_plugin_and_of_other_events_are_not_touched(shop):
    off = shop.order("off", provider="manual")
    elsewhere = shop.order()
    job = shop.import_job(
        [{"reference": off, "amount": "35.00"}, {"reference": elsewhere, "amount": "35.00"}], event="usacon"
    )
    assert states(job) == ["nomatch", "nomatch"]
    assert shop.get(off, "off").status == "n"


def test_an_order_placed_with_another_method_can_still_be_paid_by_transfer(shop):
    code = shop.order(provider="manual")
    job = shop.import_job([{"reference": code, "amount": "35.00"}])
    assert states(job) == ["valid"]
    (payment,) = bank_payments(shop, code)
    assert payment.state == "confirmed"


def test_duplicate_lines_within_one_statement_book_once(shop):
    code = shop.order(count=3)
    line = {"reference": code, "amount": "35.00", "payer": "Jane", "date": "2031-04-01"}
    job = shop.import_job([line, line])
    assert states(job) == ["valid", "already"]


def test_concurrent_imports_of_one_statement_pay_once(shop):
    """Two workers importing the same statement at once: the booking key decides, never both."""
    codes = [shop.order() for _ in range(5)]
    statement = [{"reference": f"DEMOCON-{c}", "amount": "35.00", "payer": "P", "date": "d"} for c in codes]
    results: list[object] = []

    def run() -> None:
        results.append(shop.import_job(statement))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(s for job in results for s in states(job)).count("valid") == 5
    with shop.kernel.db.session() as session:
        confirmed = session.scalar(
            select(func.count()).select_from(OrderPayment).where(OrderPayment.state == "confirmed")
        )
        assert confirmed == 5
        assert session.scalar(select(func.count()).select_from(Booking)) == 5


def test_matcher_finds_codes_after_prefixes_and_as_words():
    matcher = Matcher({"DEMO": None, "DEMOCON": 7}, {5})
    found = matcher.candidates("Ticket democon-ab c12 and XYZ99")
    assert ("ABC12", 7, True) in found and ("XYZ99", None, False) in found


def test_a_code_after_a_prefix_wins_over_a_word_that_equals_another_code(shop):
    meant, other = shop.order(), shop.order()
    job = shop.import_job([{"reference": f"DEMOCON-{meant} from {other}", "amount": "35.00"}])
    assert states(job) == ["valid"] and job.transactions[0].order_code == meant
    assert shop.get(other).status == "n"


def test_provider_offers_instructions_with_the_reference(shop):
    code = shop.order()
    with shop.kernel.db.session() as session:
        event = session.get(Event, shop.events["democon"])
        provider = payment_providers(shop.kernel, session, event)["banktransfer"]
        assert provider.is_enabled
        order = session.scalar(select(Order).where(Order.code == code))
        text = provider.payment_pending_instructions(order.payments[0])
        assert f"DEMOCON-{code}" in text and "DE89 3704 0044 0532 0130 00" in text and "35.00" in text
        placeholders = [
            p for _, p in shop.kernel.plugins.for_event(event).collect("register_text_placeholders", event=event)
        ]
        rendered = render_placeholders(
            "Ref {bank_transfer_reference}\n{bank_transfer_instructions}",
            placeholders,
            {"event": event, "order": order},
        )
        assert rendered.startswith(f"Ref DEMOCON-{code}\nPlease transfer")
        assert "COBADEFFXXX" in rendered


def test_the_provider_is_not_offered_where_the_plugin_is_off(shop):
    with shop.kernel.db.session() as session:
        assert "banktransfer" not in payment_providers(shop.kernel, session, session.get(Event, shop.events["off"]))
        assert "banktransfer" in payment_providers(shop.kernel, session, session.get(Event, shop.events["democon"]))


def test_days_until_expiry_gives_transfer_buyers_their_term(shop):
    with shop.kernel.db.session() as session:
        event = session.get(Event, shop.events["democon"])
        shop.kernel.settings_for(session, event=event).set("payment_banktransfer_days_until_expiry", 30)
    order = shop.get(shop.order())
    assert (order.expires - order.datetime).days == 30
