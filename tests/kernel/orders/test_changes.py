"""The order change service: each operation, all-or-nothing behaviour, quotas, totals, ledger, vouchers, split."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, insert, select

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.models import Event, Item, LogEntry, Organizer, Quota
from boxoffice.kernel.models.items import ItemVariation
from boxoffice.kernel.models.orders import Order, OrderPayment, OrderPosition, QuestionAnswer, Transaction
from boxoffice.kernel.models.questions import Question
from boxoffice.kernel.models.quotas import quota_variations
from boxoffice.kernel.models.taxes import TaxRule
from boxoffice.kernel.models.vouchers import Voucher
from boxoffice.kernel.orders.changes import ChangeOutcome, OrderChange, OrderChangeDraft, PositionUpdate, change_order
from boxoffice.kernel.orders.drafts import OrderDraft
from boxoffice.kernel.orders.errors import OrderError
from boxoffice.kernel.orders.placement import place_order

ACTOR = Actor("token", "1")


class Recorder:
    """Records the order lifecycle hooks it receives."""

    plugin_meta = PluginMeta(level="event")

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    @hookimpl
    def order_changed(self, order: Any) -> None:
        self.calls.append(("changed", order.code))

    @hookimpl
    def order_paid(self, order: Any) -> None:
        self.calls.append(("paid", order.code))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def shop(make_kernel, recorder: Recorder) -> dict[str, Any]:
    """An event (19% VAT included) with a ticket (35.00, quota of 10), a shirt in S/L (20.00, only S on a quota of
    2) and a workshop add-on (10.00, quota of 5), a voucher for the ticket and a text question."""
    kernel = make_kernel(recorder=recorder)
    with kernel.db.session() as session:
        organizer = Organizer(slug="org", name="Org", plugins=[])
        event = Event(
            organizer=organizer,
            slug="con",
            name={"en": "Con"},
            currency="EUR",
            date_from=datetime(2031, 1, 1, tzinfo=UTC),
            plugins=["recorder"],
        )
        vat = TaxRule(event=event, name={"en": "VAT"}, rate=Decimal("19.00"), price_includes_tax=True)
        reduced = TaxRule(event=event, name={"en": "Reduced"}, rate=Decimal("7.00"), price_includes_tax=True)
        ticket = Item(event=event, name={"en": "Ticket"}, default_price=Decimal("35.00"))
        shirt = Item(event=event, name={"en": "Shirt"}, default_price=Decimal("20.00"), has_variations=True)
        workshop = Item(event=event, name={"en": "Workshop"}, default_price=Decimal("10.00"))
        session.add_all([organizer, event, vat, reduced])
        session.flush()
        ticket.tax_rule_id, workshop.tax_rule_id = vat.id, reduced.id
        session.add_all([ticket, shirt, workshop])
        session.flush()
        small = ItemVariation(item_id=shirt.id, value={"en": "S"})
        large = ItemVariation(item_id=shirt.id, value={"en": "L"}, default_price=Decimal("22.00"))
        tickets = Quota(event=event, name="Tickets", size=10, items=[ticket])
        shirts = Quota(event=event, name="Shirts", size=2, items=[shirt])
        workshops = Quota(event=event, name="Workshops", size=5, items=[workshop])
        question = Question(
            event=event, question={"en": "Diet?"}, type="S", identifier="DIET", items=[ticket, workshop]
        )
        voucher = Voucher(event=event, code="HALF", max_usages=5, price_mode="percent", value=Decimal("50"))
        session.add_all([small, large, tickets, shirts, workshops, question, voucher])
        session.flush()
        session.execute(insert(quota_variations).values(quota_id=shirts.id, variation_id=small.id))
        session.execute(insert(quota_variations).values(quota_id=shirts.id, variation_id=large.id))
        return {
            "kernel": kernel,
            "event": event.id,
            "ticket": ticket.id,
            "shirt": shirt.id,
            "small": small.id,
            "large": large.id,
            "workshop": workshop.id,
            "vat": vat.id,
            "reduced": reduced.id,
            "tickets": tickets.id,
            "shirts": shirts.id,
            "workshops": workshops.id,
            "question": question.id,
            "voucher": voucher.id,
        }


def place(shop: dict[str, Any], positions: list[dict[str, Any]], *, paid: bool = False, **fields: Any) -> str:
    """Place an order; ``paid`` records a confirmed payment of the total and marks it paid."""
    kernel = shop["kernel"]
    draft = msgspec.convert({"email": "buyer@example.org", "positions": positions, **fields}, OrderDraft)
    with kernel.db.session() as session:
        order = place_order(kernel, session, session.get(Event, shop["event"]), draft, actor=ACTOR)
        if paid:
            order.status = "p"
            session.add(
                OrderPayment(
                    order_id=order.id,
                    local_id=1,
                    state="confirmed",
                    amount=order.total,
                    provider="manual",
                    payment_date=order.datetime,
                )
            )
        return order.code


def change(shop: dict[str, Any], code: str, check_quotas: bool = True, **body: Any) -> ChangeOutcome:
    kernel = shop["kernel"]
    draft = msgspec.convert(body, OrderChangeDraft)
    with kernel.db.session() as session:
        order = session.scalar(select(Order).where(Order.code == code))
        outcome = change_order(kernel, session, order, draft, actor=ACTOR, check_quotas=check_quotas)
        return ChangeOutcome(outcome.order, list(outcome.created), outcome.split_order)


def snapshot(shop: dict[str, Any], code: str) -> dict[str, Any]:
    """The order as plain data: status, total, positions (all), fees (all), payments, ledger rows."""
    with shop["kernel"].db.session() as session:
        order = session.scalar(select(Order).where(Order.code == code))
        ledger = session.scalars(select(Transaction).where(Transaction.order_id == order.id).order_by(Transaction.id))
        return {
            "id": order.id,
            "status": order.status,
            "total": order.total,
            "email": order.email,
            "expires": order.expires,
            "positions": [
                {
                    "id": p.id,
                    "positionid": p.positionid,
                    "item": p.item_id,
                    "variation": p.variation_id,
                    "price": p.price,
                    "tax_rate": p.tax_rate,
                    "tax_value": p.tax_value,
                    "tax_rule": p.tax_rule_id,
                    "canceled": p.canceled,
                    "addon_to": p.addon_to_id,
                    "secret": p.secret,
                    "answers": [(a.question_id, a.answer) for a in p.answers],
                    "name": p.attendee_name_cached,
                }
                for p in order.positions
            ],
            "fees": [(f.id, f.fee_type, f.value, f.tax_value, f.canceled) for f in order.fees],
            "payments": [(p.provider, p.state, p.amount) for p in order.payments],
            "refunds": [(r.provider, r.state, r.amount) for r in order.refunds],
            "ledger": [(row.position_id, row.fee_id, row.count, row.price) for row in ledger],
        }


def ledger_sum(state: dict[str, Any]) -> Decimal:
    return sum((count * price for _, _, count, price in state["ledger"]), Decimal("0.00"))


def quota_used(shop: dict[str, Any], quota_key: str) -> int:
    from boxoffice.kernel.availability import quota_availability

    with shop["kernel"].db.session() as session:
        found = quota_availability(session, session.get(Quota, shop[quota_key]))
        return found.paid_orders + found.pending_orders


def actions(shop: dict[str, Any]) -> list[str]:
    with shop["kernel"].db.session() as session:
        return list(session.scalars(select(LogEntry.action_type).order_by(LogEntry.id)))


def set_quota(shop: dict[str, Any], quota_key: str, size: int) -> None:
    with shop["kernel"].db.session() as session:
        session.get(Quota, shop[quota_key]).size = size


# --- patching positions ---------------------------------------------------------------------------------------


def test_changed_price_reverses_the_old_ledger_row_and_records_the_new_one(shop, recorder):
    code = place(shop, [{"item": shop["ticket"]}])
    before = snapshot(shop, code)
    position = before["positions"][0]
    assert (position["price"], position["tax_value"]) == (Decimal("35.00"), Decimal("5.59"))
    change(shop, code, patch_positions=[{"position": position["id"], "body": {"price": "40.00"}}])
    after = snapshot(shop, code)
    changed = after["positions"][0]
    assert (changed["price"], changed["tax_value"], changed["tax_rule"]) == (
        Decimal("40.00"),
        Decimal("6.39"),
        shop["vat"],
    )
    assert after["total"] == Decimal("40.00")
    assert after["ledger"] == [
        (position["id"], None, 1, Decimal("35.00")),
        (position["id"], None, -1, Decimal("35.00")),
        (position["id"], None, 1, Decimal("40.00")),
    ]
    assert ledger_sum(after) == after["total"]
    assert "boxoffice.event.order.changed.price" in actions(shop)
    assert recorder.calls == [("changed", code)]


def test_new_tax_rule_keeps_the_gross_price_and_retaxes_it(shop):
    code = place(shop, [{"item": shop["ticket"]}])
    position = snapshot(shop, code)["positions"][0]
    change(shop, code, patch_positions=[{"position": position["id"], "body": {"tax_rule": shop["reduced"]}}])
    changed = snapshot(shop, code)["positions"][0]
    assert (changed["price"], changed["tax_rate"], changed["tax_value"]) == (
        Decimal("35.00"),
        Decimal("7.00"),
        Decimal("2.29"),
    )


def test_changing_the_item_takes_its_tax_rule_and_keeps_the_price(shop):
    code = place(shop, [{"item": shop["ticket"]}, {"item": shop["ticket"]}])
    position = snapshot(shop, code)["positions"][0]
    change(shop, code, patch_positions=[{"position": position["id"], "body": {"item": shop["workshop"]}}])
    changed = snapshot(shop, code)["positions"][0]
    assert (changed["item"], changed["price"], changed["tax_rule"], changed["tax_value"]) == (
        shop["workshop"],
        Decimal("35.00"),
        shop["reduced"],
        Decimal("2.29"),
    )
    assert quota_used(shop, "tickets") == 1


def test_item_change_needs_a_variation_and_refuses_unknown_ones(shop):
    code = place(shop, [{"item": shop["ticket"]}, {"item": shop["ticket"]}])
    first = snapshot(shop, code)["positions"][0]["id"]
    with pytest.raises(OrderError) as refused:
        change(
            shop,
            code,
            patch_positions=[
                {"position": first, "body": {"item": shop["shirt"]}},
                {"position": 2**40, "body": {"price": "1.00"}},
            ],
        )
    assert refused.value.errors == {
        "patch_positions": [
            {"body": {"variation": ["You should specify a variation for this item."]}},
            {"position": [f'Invalid pk "{2**40}" - object does not exist.']},
        ]
    }


def test_seats_are_refused_because_there_is_no_seating_plan(shop):
    code = place(shop, [{"item": shop["ticket"]}])
    position = snapshot(shop, code)["positions"][0]["id"]
    with pytest.raises(OrderError) as refused:
        change(shop, code, patch_positions=[{"position": position, "body": {"seat": "A-1"}}])
    assert refused.value.errors == {"patch_positions": [{"body": {"seat": ["The event has no seating plan."]}}]}


def test_item_change_into_a_full_quota_is_refused_unless_quotas_are_not_checked(shop):
    set_quota(shop, "shirts", 1)
    place(shop, [{"item": shop["shirt"], "variation": shop["small"]}])
    code = place(shop, [{"item": shop["ticket"]}, {"item": shop["ticket"]}])
    position = snapshot(shop, code)["positions"][0]["id"]
    body = {"item": shop["shirt"], "variation": shop["large"]}
    with pytest.raises(OrderError) as refused:
        change(shop, code, patch_positions=[{"position": position, "body": body}])
    assert "Shirts" in refused.value.detail
    assert snapshot(shop, code)["positions"][0]["item"] == shop["ticket"]
    change(shop, code, check_quotas=False, patch_positions=[{"position": position, "body": body}])
    assert quota_used(shop, "shirts") == 2


def test_moving_within_a_full_quota_is_allowed(shop):
    set_quota(shop, "shirts", 1)
    code = place(shop, [{"item": shop["shirt"], "variation": shop["small"]}])
    position = snapshot(shop, code)["positions"][0]["id"]
    change(shop, code, patch_positions=[{"position": position, "body": {"variation": shop["large"]}}])
    assert snapshot(shop, code)["positions"][0]["variation"] == shop["large"]
    assert quota_used(shop, "shirts") == 1


def test_position_update_changes_attendee_answers_and_secret(shop):
    kernel = shop["kernel"]
    code = place(
        shop,
        [{"item": shop["ticket"], "attendee_name": "Ann", "answers": [{"question": shop["question"], "answer": "x"}]}],
    )
    position = snapshot(shop, code)["positions"][0]
    update = msgspec.convert(
        {
            "attendee_name_parts": {"given_name": "Bea", "family_name": "Smith"},
            "answers": [{"question": shop["question"], "answer": "vegan"}],
            "secret": "new-secret-123",
        },
        PositionUpdate,
    )
    with kernel.db.session() as session:
        order = session.scalar(select(Order).where(Order.code == code))
        work = OrderChange(kernel, session, order, actor=ACTOR)
        work.patch_position(position["id"], update, body_path=())
        work.commit()
    after = snapshot(shop, code)
    changed = after["positions"][0]
    assert changed["name"] == "Bea Smith"
    assert changed["answers"] == [(shop["question"], "vegan")]
    assert changed["secret"] == "new-secret-123"
    assert len(after["ledger"]) == 1
    with kernel.db.session() as session:
        assert session.scalar(select(func.count()).select_from(QuestionAnswer)) == 1


def test_position_update_refuses_a_secret_in_use(shop):
    kernel = shop["kernel"]
    code = place(shop, [{"item": shop["ticket"]}, {"item": shop["ticket"]}])
    first, second = snapshot(shop, code)["positions"]
    with kernel.db.session() as session, pytest.raises(OrderError) as refused:
        work = OrderChange(kernel, session, session.scalar(select(Order).where(Order.code == code)), actor=ACTOR)
        work.patch_position(first["id"], PositionUpdate(secret=second["secret"]), body_path=())
        work.commit()
    assert refused.value.errors == {"secret": ["This secret is already in use by another ticket."]}


# --- canceling positions --------------------------------------------------------------------------------------


def test_cancel_takes_add_ons_along_and_gives_voucher_uses_back(shop):
    code = place(
        shop,
        [
            {"positionid": 1, "item": shop["ticket"], "voucher": "HALF"},
            {"positionid": 2, "item": shop["workshop"], "addon_to": 1},
            {"positionid": 3, "item": shop["ticket"]},
        ],
    )
    kernel = shop["kernel"]
    with kernel.db.session() as session:
        assert session.get(Voucher, shop["voucher"]).redeemed == 1
    before = snapshot(shop, code)
    assert before["total"] == Decimal("17.50") + Decimal("10.00") + Decimal("35.00")
    parent, addon, other = before["positions"]
    change(shop, code, cancel_positions=[{"position": parent["id"]}])
    after = snapshot(shop, code)
    assert [p["canceled"] for p in after["positions"]] == [True, True, False]
    assert after["total"] == Decimal("35.00") == ledger_sum(after)
    with kernel.db.session() as session:
        assert session.get(Voucher, shop["voucher"]).redeemed == 0
    assert quota_used(shop, "tickets") == 1
    assert actions(shop).count("boxoffice.event.order.changed.cancel") == 2
    assert other["canceled"] is False and addon["addon_to"] == parent["id"]


def test_canceling_the_last_position_is_refused(shop):
    code = place(shop, [{"item": shop["ticket"]}])
    position = snapshot(shop, code)["positions"][0]["id"]
    with pytest.raises(OrderError) as refused:
        change(shop, code, cancel_positions=[{"position": position}])
    assert "cancel the order" in refused.value.detail


def test_one_bad_operation_applies_nothing(shop, recorder):
    code = place(shop, [{"item": shop["ticket"]}, {"item": shop["ticket"]}])
    before = snapshot(shop, code)
    first, second = before["positions"]
    logged = actions(shop)
    with pytest.raises(OrderError) as refused:
        change(
            shop,
            code,
            patch_positions=[{"position": first["id"], "body": {"price": "1.00"}}],
            cancel_positions=[{"position": second["id"]}],
            create_positions=[{"item": shop["ticket"]}, {"item": shop["ticket"], "price": "-1"}],
            create_fees=[{"fee_type": "service", "value": "2.00"}],
        )
    assert refused.value.errors == {
        "create_positions": [{}, {"price": ["Ensure this value is greater than or equal to 0."]}],
    }
    assert snapshot(shop, code) == before
    assert actions(shop) == logged
    assert recorder.calls == []


def test_a_position_can_be_named_by_one_operation_only(shop):
    code = place(shop, [{"item": shop["ticket"]}, {"item": shop["ticket"]}])
    first = snapshot(shop, code)["positions"][0]["id"]
    with pytest.raises(OrderError) as refused:
        change(
            shop,
            code,
            patch_positions=[{"position": first, "body": {"price": "1.00"}}],
            cancel_positions=[{"position": first}],
        )
    assert refused.value.errors == {
        "cancel_positions": [{"position": ["This position is already part of another change in this request."]}]
    }


# --- creating positions ---------------------------------------------------------------------------------------


def test_created_add_on_gets_the_catalog_price_with_tax_and_the_next_positionid(shop):
    code = place(shop, [{"item": shop["ticket"]}])
    outcome = change(
        shop,
        code,
        create_positions=[
            {
                "item": shop["workshop"],
                "addon_to": 1,
                "attendee_name": "Carl",
                "answers": [{"question": shop["question"], "answer": "none"}],
            }
        ],
    )
    after = snapshot(shop, code)
    created = after["positions"][1]
    assert created["id"] == outcome.created[0].id
    assert (created["positionid"], created["price"], created["tax_value"], created["tax_rule"]) == (
        2,
        Decimal("10.00"),
        Decimal("0.65"),
        shop["reduced"],
    )
    assert created["addon_to"] == after["positions"][0]["id"]
    assert created["answers"] == [(shop["question"], "none")]
    assert after["total"] == Decimal("45.00") == ledger_sum(after)


def test_creating_into_a_full_quota_is_refused_unless_quotas_are_not_checked(shop):
    set_quota(shop, "tickets", 1)
    code = place(shop, [{"item": shop["ticket"]}])
    with pytest.raises(OrderError) as refused:
        change(shop, code, create_positions=[{"item": shop["ticket"], "price": "5.00"}])
    assert "Tickets" in refused.value.detail
    assert len(snapshot(shop, code)["positions"]) == 1
    change(shop, code, check_quotas=False, create_positions=[{"item": shop["ticket"], "price": "5.00"}])
    assert snapshot(shop, code)["total"] == Decimal("40.00")


def test_capacity_released_by_a_cancel_can_be_taken_in_the_same_change(shop):
    set_quota(shop, "tickets", 2)
    code = place(shop, [{"item": shop["ticket"]}, {"item": shop["ticket"]}])
    first = snapshot(shop, code)["positions"][0]["id"]
    change(shop, code, cancel_positions=[{"position": first}], create_positions=[{"item": shop["ticket"]}])
    assert quota_used(shop, "tickets") == 2


def test_a_product_without_quota_cannot_be_added(shop):
    kernel = shop["kernel"]
    with kernel.db.session() as session:
        loose = Item(event_id=shop["event"], name={"en": "Loose"}, default_price=Decimal("1.00"))
        session.add(loose)
        session.flush()
        loose_id = loose.id
    code = place(shop, [{"item": shop["ticket"]}])
    with pytest.raises(OrderError) as refused:
        change(shop, code, create_positions=[{"item": loose_id}])
    assert refused.value.errors == {
        "create_positions": [{"item": ["The product is not assigned to a quota and can therefore not be sold."]}]
    }


# --- fees and taxes ------------------------------------------------------------------------------------------


def test_fees_can_be_added_changed_and_canceled(shop):
    code = place(shop, [{"item": shop["ticket"]}], fees=[{"fee_type": "shipping", "value": "5.00"}])
    fee_id = snapshot(shop, code)["fees"][0][0]
    change(
        shop,
        code,
        patch_fees=[{"fee": fee_id, "body": {"value": "7.00"}}],
        create_fees=[{"fee_type": "service", "value": "2.38", "tax_rule": shop["vat"], "description": "Service"}],
    )
    after = snapshot(shop, code)
    assert [(fee[1], fee[2], fee[3], fee[4]) for fee in after["fees"]] == [
        ("shipping", Decimal("7.00"), Decimal("0.00"), False),
        ("service", Decimal("2.38"), Decimal("0.38"), False),
    ]
    assert after["total"] == Decimal("44.38") == ledger_sum(after)
    change(shop, code, cancel_fees=[{"fee": fee_id}])
    after = snapshot(shop, code)
    assert after["total"] == Decimal("37.38") == ledger_sum(after)


def test_unknown_fee_type_and_missing_fee_are_named(shop):
    code = place(shop, [{"item": shop["ticket"]}])
    with pytest.raises(OrderError) as refused:
        change(shop, code, cancel_fees=[{"fee": 99999}], create_fees=[{"fee_type": "bribe", "value": "1"}])
    assert refused.value.errors == {
        "cancel_fees": [{"fee": ['Invalid pk "99999" - object does not exist.']}],
        "create_fees": [{"fee_type": ['"bribe" is not a valid choice.']}],
    }


@pytest.mark.parametrize(
    ("mode", "price", "tax"),
    [("keep_gross", Decimal("35.00"), Decimal("5.30")), ("keep_net", Decimal("34.66"), Decimal("5.25"))],
)
def test_recalculate_taxes_uses_the_current_rule(shop, mode, price, tax):
    code = place(shop, [{"item": shop["ticket"]}])
    with shop["kernel"].db.session() as session:
        session.get(TaxRule, shop["vat"]).rate = Decimal("17.85")
    change(shop, code, recalculate_taxes=mode)
    after = snapshot(shop, code)
    position = after["positions"][0]
    assert (position["price"], position["tax_rate"], position["tax_value"]) == (price, Decimal("17.85"), tax)
    assert after["total"] == price == ledger_sum(after)


def test_an_unknown_tax_mode_is_refused(shop):
    code = place(shop, [{"item": shop["ticket"]}])
    with pytest.raises(OrderError) as refused:
        change(shop, code, recalculate_taxes="keep_everything")
    assert refused.value.errors == {"recalculate_taxes": ['"keep_everything" is not a valid choice.']}


# --- payment status ------------------------------------------------------------------------------------------


def test_a_paid_order_that_costs_more_becomes_pending(shop, recorder):
    code = place(shop, [{"item": shop["ticket"]}], paid=True)
    change(shop, code, create_positions=[{"item": shop["workshop"]}])
    after = snapshot(shop, code)
    assert (after["status"], after["total"]) == ("n", Decimal("45.00"))
    assert "boxoffice.event.order.changed.status" in actions(shop)


def test_a_pending_order_covered_by_its_payments_becomes_paid(shop, recorder):
    code = place(shop, [{"item": shop["ticket"]}, {"item": shop["ticket"]}])
    with shop["kernel"].db.session() as session:
        order = session.scalar(select(Order).where(Order.code == code))
        session.add(OrderPayment(order_id=order.id, local_id=1, state="confirmed", amount=35, provider="manual"))
    second = snapshot(shop, code)["positions"][1]["id"]
    change(shop, code, cancel_positions=[{"position": second}])
    assert snapshot(shop, code)["status"] == "p"
    assert recorder.calls == [("changed", code), ("paid", code)]


def test_a_canceled_order_cannot_be_changed(shop):
    code = place(shop, [{"item": shop["ticket"]}, {"item": shop["ticket"]}])
    with shop["kernel"].db.session() as session:
        session.scalar(select(Order).where(Order.code == code)).status = "c"
    with pytest.raises(OrderError, match="canceled order"):
        change(shop, code, create_fees=[{"fee_type": "other", "value": "1"}])


# --- splitting -----------------------------------------------------------------------------------------------


def test_split_moves_positions_with_add_ons_into_a_new_pending_order(shop, recorder):
    code = place(
        shop,
        [
            {"positionid": 1, "item": shop["ticket"]},
            {"positionid": 2, "item": shop["workshop"], "addon_to": 1},
            {"positionid": 3, "item": shop["ticket"]},
        ],
        fees=[{"fee_type": "service", "value": "1.50"}],
        comment="VIP",
    )
    parent = snapshot(shop, code)["positions"][0]["id"]
    outcome = change(shop, code, split_positions=[{"position": parent}])
    new_code = outcome.split_order.code
    assert new_code != code
    original, split = snapshot(shop, code), snapshot(shop, new_code)
    assert [p["positionid"] for p in original["positions"]] == [3]
    assert [p["positionid"] for p in split["positions"]] == [1, 2]
    assert split["positions"][1]["addon_to"] == split["positions"][0]["id"]
    assert (original["total"], split["total"]) == (Decimal("36.50"), Decimal("45.00"))
    assert (split["status"], split["email"], split["payments"]) == ("n", "buyer@example.org", [])
    assert ledger_sum(original) == original["total"] and ledger_sum(split) == split["total"]
    assert split["expires"] == original["expires"]
    assert quota_used(shop, "tickets") == 2
    assert recorder.calls == [("changed", code), ("changed", new_code)]
    assert {"boxoffice.event.order.changed.split", "boxoffice.event.order.changed.split_from"} <= set(actions(shop))


def test_split_of_a_paid_order_moves_the_money_along(shop):
    code = place(shop, [{"item": shop["ticket"]}, {"item": shop["ticket"], "price": "20.00"}], paid=True)
    second = snapshot(shop, code)["positions"][1]["id"]
    outcome = change(shop, code, split_positions=[{"position": second}])
    original, split = snapshot(shop, code), snapshot(shop, outcome.split_order.code)
    assert (original["status"], original["total"]) == ("p", Decimal("35.00"))
    assert original["refunds"] == [("offsetting", "done", Decimal("20.00"))]
    assert (split["status"], split["total"]) == ("p", Decimal("20.00"))
    assert split["payments"] == [("offsetting", "confirmed", Decimal("20.00"))]


def test_an_add_on_cannot_be_split_off_alone_and_nothing_may_remain_empty(shop):
    code = place(
        shop,
        [{"positionid": 1, "item": shop["ticket"]}, {"positionid": 2, "item": shop["workshop"], "addon_to": 1}],
    )
    parent, addon = (p["id"] for p in snapshot(shop, code)["positions"])
    with pytest.raises(OrderError) as refused:
        change(shop, code, split_positions=[{"position": addon}])
    assert refused.value.errors == {
        "split_positions": [{"position": ["An add-on can only be split off together with the position it belongs to."]}]
    }
    with pytest.raises(OrderError, match="empty"):
        change(shop, code, split_positions=[{"position": parent}])


def test_new_positions_continue_after_numbers_taken_by_split_positions(shop):
    code = place(shop, [{"item": shop["ticket"]}, {"item": shop["ticket"]}])
    second = snapshot(shop, code)["positions"][1]["id"]
    change(shop, code, split_positions=[{"position": second}])
    change(shop, code, create_positions=[{"item": shop["ticket"]}])
    assert [p["positionid"] for p in snapshot(shop, code)["positions"]] == [1, 3]
    with shop["kernel"].db.session() as session:
        assert session.scalar(select(func.count()).select_from(OrderPosition)) == 3


# --- concurrency ---------------------------------------------------------------------------------------------


def _race(jobs: list[Any]) -> list[object]:
    """Run the callables from one thread each, all released at once; their results or exceptions."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[object] = [None] * len(jobs)

    def run(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = jobs[index]()
        except Exception as problem:
            outcomes[index] = problem

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_concurrent_changes_of_one_order_take_turns(shop):
    code = place(shop, [{"item": shop["ticket"]}])
    jobs = [lambda: change(shop, code, create_positions=[{"item": shop["ticket"], "price": "1.00"}]) for _ in range(6)]
    outcomes = _race(jobs)
    assert all(isinstance(outcome, ChangeOutcome) for outcome in outcomes), outcomes
    after = snapshot(shop, code)
    assert [p["positionid"] for p in after["positions"]] == [1, 2, 3, 4, 5, 6, 7]
    assert after["total"] == Decimal("41.00") == ledger_sum(after)


def test_concurrent_changes_fill_a_quota_exactly(shop):
    set_quota(shop, "workshops", 3)
    codes = [place(shop, [{"item": shop["ticket"]}]) for _ in range(8)]
    jobs = [lambda code=code: change(shop, code, create_positions=[{"item": shop["workshop"]}]) for code in codes]
    outcomes = _race(jobs)
    assert sum(isinstance(outcome, ChangeOutcome) for outcome in outcomes) == 3, outcomes
    assert sum(isinstance(outcome, OrderError) for outcome in outcomes) == 5, outcomes
    assert quota_used(shop, "workshops") == 3
