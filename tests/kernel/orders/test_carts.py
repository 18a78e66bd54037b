"""The cart service: reservations against quotas and vouchers, nested positions, non-atomic bulk creation, and the
job that deletes expired carts."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from boxoffice.kernel import clock
from boxoffice.kernel.jobs import JobRunContext
from boxoffice.kernel.models import Event, Item, Organizer, Quota
from boxoffice.kernel.models.orders import CartPosition, QuestionAnswer
from boxoffice.kernel.models.questions import Question
from boxoffice.kernel.models.vouchers import Voucher
from boxoffice.kernel.orders.carts import (
    CreatedCart,
    create_cart_position,
    create_cart_positions,
    delete_expired_carts,
    is_api_cart,
    new_cart_id,
)
from boxoffice.kernel.orders.drafts import AnswerDraft, CartDraft
from boxoffice.kernel.orders.errors import OrderError


def setup_event(kernel, quota_size: int | None = 10) -> tuple[int, int]:
    """An event with one ticket on a quota of ``quota_size``; returns (event id, item id)."""
    with kernel.db.session() as session:
        organizer = Organizer(slug="org", name="Org", plugins=[])
        event = Event(
            organizer=organizer,
            slug="con",
            name={"en": "Con"},
            currency="EUR",
            date_from=datetime(2031, 1, 1, tzinfo=UTC),
        )
        item = Item(event=event, name={"en": "Ticket"}, default_price=Decimal("10.00"))
        session.add_all([organizer, event, item, Quota(event=event, name="Tickets", size=quota_size, items=[item])])
        session.flush()
        return event.id, item.id


def create(kernel, event_id: int, draft: CartDraft) -> CreatedCart:
    with kernel.db.session() as session:
        return create_cart_position(kernel, session, session.get(Event, event_id), draft)


def count(kernel, model=CartPosition) -> int:
    with kernel.db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_new_cart_ids_are_random_api_ids():
    first, second = new_cart_id(), new_cart_id()
    assert first != second and is_api_cart(first) and len(first) == 52
    assert not is_api_cart("shop-session")


def test_expired_carts_are_deleted_with_their_answers(kernel):
    event_id, item = setup_event(kernel)
    with kernel.db.session() as session:
        question = Question(event_id=event_id, question={"en": "Q"}, type="S", identifier="Q", items=[])
        session.add(question)
        session.flush()
        question_id = question.id
    now = clock.now()
    soon = CartDraft(
        item=item,
        price=Decimal("1"),
        expires=now + timedelta(minutes=5),
        answers=[AnswerDraft(question=question_id, answer="hi")],
        addons=[CartDraft(item=item, price=Decimal("1"))],
    )
    create(kernel, event_id, soon)
    create(kernel, event_id, CartDraft(item=item, price=Decimal("1"), expires=now + timedelta(hours=2)))
    assert count(kernel) == 3 and count(kernel, QuestionAnswer) == 1
    context = JobRunContext(kernel, "test")
    assert delete_expired_carts(context) == 0
    with clock.time_machine(now + timedelta(minutes=10)):
        assert delete_expired_carts(context) == 2
    assert count(kernel) == 1 and count(kernel, QuestionAnswer) == 0


def test_default_expiry_follows_reservation_time(kernel):
    event_id, item = setup_event(kernel)
    with kernel.db.session() as session:
        kernel.settings_for(session, event=session.get(Event, event_id)).set("reservation_time", 5)
    moment = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
    with clock.time_machine(moment):
        created = create(kernel, event_id, CartDraft(item=item, price=Decimal("1")))
    assert created.position.expires == moment + timedelta(minutes=5)
    assert created.position.datetime == moment


def test_bulk_creation_keeps_what_fits(kernel):
    event_id, item = setup_event(kernel, quota_size=2)
    drafts = [CartDraft(item=item, price=Decimal("1"), cart_id="a@api") for _ in range(3)]
    drafts.insert(1, OrderError.field("price", "This field is required."))
    with kernel.db.session() as session:
        results = create_cart_positions(kernel, session, session.get(Event, event_id), drafts)
    assert [type(result) for result in results] == [CreatedCart, OrderError, CreatedCart, OrderError]
    assert results[3].body() == {
        "non_field_errors": ['There is not enough quota available on quota "Tickets" to perform the operation.']
    }
    assert count(kernel) == 2


def test_product_without_quota_cannot_be_reserved(kernel):
    event_id, _ = setup_event(kernel)
    with kernel.db.session() as session:
        loose = Item(event_id=event_id, name={"en": "Loose"}, default_price=Decimal("1"))
        session.add(loose)
        session.flush()
        loose_id = loose.id
    with pytest.raises(OrderError) as refused:
        create(kernel, event_id, CartDraft(item=loose_id, price=Decimal("1")))
    assert refused.value.body() == {"item": ["The product is not assigned to a quota and can therefore not be sold."]}


def _race(kernel, event_id: int, drafts: list[CartDraft]) -> list[object]:
    """Create the drafts from one thread each, all released at once."""
    barrier = threading.Barrier(len(drafts))
    outcomes: list[object] = [None] * len(drafts)

    def run(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = create(kernel, event_id, drafts[index])
        except Exception as problem:
            outcomes[index] = problem

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(drafts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_concurrent_carts_share_a_voucher_exactly(kernel):
    event_id, item = setup_event(kernel, quota_size=None)
    with kernel.db.session() as session:
        voucher = Voucher(event_id=event_id, code="THREE", max_usages=3)
        session.add(voucher)
        session.flush()
        voucher_id = voucher.id
    outcomes = _race(kernel, event_id, [CartDraft(item=item, price=Decimal("1"), voucher="three") for _ in range(12)])
    created = [outcome for outcome in outcomes if isinstance(outcome, CreatedCart)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, OrderError)]
    assert len(created) == 3 and len(refused) == 9, outcomes
    assert all(
        problem.body() == {"voucher": ["This voucher has already been redeemed the maximum number of times."]}
        for problem in refused
    )
    with kernel.db.session() as session:
        assert session.get(Voucher, voucher_id).redeemed == 0
        assert session.scalar(select(func.count()).where(CartPosition.voucher_id == voucher_id)) == 3


def test_concurrent_carts_fill_a_quota_exactly(kernel):
    event_id, item = setup_event(kernel, quota_size=5)
    outcomes = _race(kernel, event_id, [CartDraft(item=item, price=Decimal("1")) for _ in range(16)])
    assert sum(isinstance(outcome, CreatedCart) for outcome in outcomes) == 5
    assert sum(isinstance(outcome, OrderError) for outcome in outcomes) == 11, outcomes
    assert count(kernel) == 5
