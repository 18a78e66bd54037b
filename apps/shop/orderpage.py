"""The buyer's order page (``/{organizer}/{event}/order/{code}/{secret}/``, the address the kernel's e-mails link
to): status, positions with answers, fees, what to do about an open payment (the provider's
``payment_pending_instructions``) and ticket downloads through :mod:`boxoffice.kernel.tickets`.

Possession of the code and the secret is the buyer's authorisation, as in pretix; the secret is compared in
constant time.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from boxoffice.apps.shop.cart import ShopError
from boxoffice.apps.shop.catalog import product_label, products_of
from boxoffice.apps.shop.checkout import SHOP_ACTOR, PaymentChoice, available_payments
from boxoffice.hookspecs.providers import PaymentException
from boxoffice.kernel.i18n import gettext as _
from boxoffice.kernel.i18n import localize
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.orders import (
    STATUS_CANCELED,
    STATUS_EXPIRED,
    STATUS_PAID,
    STATUS_PENDING,
    Order,
    OrderPosition,
)
from boxoffice.kernel.models.questions import Question
from boxoffice.kernel.orders.payments import (
    OPEN_PAYMENT_STATES,
    cancel_payment,
    execute_payment,
    lock_order,
    paid_amount,
    pending_amount,
    record_payment,
)
from boxoffice.kernel.orders.placement import format_name
from boxoffice.kernel.orders.providers import payment_providers
from boxoffice.kernel.tickets import available_outputs, ticket_outputs

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel


def find_order(session: Session, event: Event, code: str, secret: str) -> Order | None:
    """The order with this code and secret, with positions, answers, fees and payments loaded (four queries)."""
    order = session.scalar(
        select(Order)
        .where(Order.event_id == event.id, Order.code == code.upper())
        .options(
            selectinload(Order.positions).selectinload(OrderPosition.answers),
            selectinload(Order.fees),
            selectinload(Order.payments),
        )
    )
    if order is None or not hmac.compare_digest(order.secret.encode(), secret.encode()):
        return None
    order.event = event
    return order


@dataclass
class PositionView:
    position: OrderPosition
    label: str
    attendee: str | None
    answers: list[tuple[str, str]]


@dataclass
class PaymentView:
    name: str
    amount: Decimal
    state: str
    instructions: str


@dataclass
class Download:
    output: str
    label: str


@dataclass
class OrderView:
    order: Order
    status: str
    status_label: str
    positions: list[PositionView]
    open_payments: list[PaymentView]
    downloads: list[Download]
    paid: Decimal
    fees: list[tuple[str, Decimal]] = field(default_factory=list)
    # Methods the buyer may (re)start paying with: the attempt failed, or the open one may be given up.
    payment_choices: list[PaymentChoice] = field(default_factory=list)


def status_label(order: Order) -> tuple[str, str]:
    """A status key for styling and its text for the buyer."""
    if order.status == STATUS_PENDING:
        if order.require_approval:
            return "approval", _("Awaiting approval by the organizer")
        return "pending", _("Awaiting payment")
    if order.status == STATUS_PAID:
        if not order.live_positions:
            return "canceled", _("Canceled")
        return "paid", _("Paid")
    if order.status == STATUS_EXPIRED:
        return "expired", _("Expired")
    if order.status == STATUS_CANCELED:
        return "canceled", _("Canceled")
    return order.status, order.status


def fee_label(fee_type: str) -> str:
    labels = {
        "payment": _("Payment fee"),
        "shipping": _("Shipping fee"),
        "service": _("Service fee"),
        "cancellation": _("Cancellation fee"),
    }
    return labels.get(fee_type, _("Fee"))


def build_order_view(kernel: Kernel, session: Session, event: Event, order: Order) -> OrderView:
    """Everything the order page shows, in a fixed number of queries (products, variations and questions are
    loaded for all positions at once)."""
    live = order.live_positions
    items, variations = products_of(session, live)
    question_ids = {answer.question_id for p in live for answer in p.answers}
    questions = (
        {q.id: q for q in session.scalars(select(Question).where(Question.id.in_(question_ids)))}
        if question_ids
        else {}
    )
    positions = []
    for position in live:
        item = items.get(position.item_id)
        variation = variations.get(position.variation_id) if position.variation_id is not None else None
        label = product_label(item, variation) if item is not None else ""
        answers = [
            (localize(questions[answer.question_id].question), _answer_text(answer.answer))
            for answer in position.answers
            if answer.question_id in questions and not questions[answer.question_id].hidden
        ]
        positions.append(PositionView(position, label, format_name(position.attendee_name_parts), answers))

    providers = payment_providers(kernel, session, event)
    open_payments = []
    # Nothing to pay before the organizer approved the order.
    if order.status == STATUS_PENDING and not order.require_approval:
        for payment in order.payments:
            if payment.state not in OPEN_PAYMENT_STATES:
                continue
            provider = providers.get(payment.provider)
            open_payments.append(
                PaymentView(
                    name=provider.public_name if provider is not None else payment.provider,
                    amount=Decimal(payment.amount),
                    state=payment.state,
                    instructions=provider.payment_pending_instructions(payment) if provider is not None else "",
                )
            )
    outputs = ticket_outputs(kernel, session, event)
    downloads = [
        Download(output, outputs[output].download_button_text)
        for output in available_outputs(kernel, session, event, order)
    ]
    key, label = status_label(order)
    fees = [(fee.description or fee_label(fee.fee_type), Decimal(fee.value)) for fee in order.fees if not fee.canceled]
    view = OrderView(order, key, label, positions, open_payments, downloads, paid_amount(order), fees)
    view.payment_choices = payment_choices(kernel, session, event, order)
    return view


def payment_choices(kernel: Kernel, session: Session, event: Event, order: Order) -> list[PaymentChoice]:
    """The methods a buyer may switch to on the order page. Only for a pending, approved order with money owed
    whose open attempts (if any) may be abandoned; methods with a fee are offered at checkout only, as the order's
    fees are fixed once it is placed."""
    if order.status != STATUS_PENDING or order.require_approval:
        return []
    owed = pending_amount(order)
    if owed <= 0:
        return []
    providers = payment_providers(kernel, session, event)
    for payment in order.payments:
        if payment.state in OPEN_PAYMENT_STATES:
            provider = providers.get(payment.provider)
            if provider is None or not provider.abort_pending_allowed:
                return []
    choices = [choice for choice in available_payments(kernel, session, event, owed) if choice.fee == 0]
    open_methods = {p.provider for p in order.payments if p.state in OPEN_PAYMENT_STATES}
    return [choice for choice in choices if choice.identifier not in open_methods]


def switch_payment(kernel: Kernel, session: Session, event: Event, order: Order, identifier: str) -> str | None:
    """Give up the open attempts and start paying with ``identifier``; returns where the provider sends the buyer.
    Raises :class:`ShopError` when the method cannot be chosen (any more)."""
    lock_order(session, order)
    if identifier not in {choice.identifier for choice in payment_choices(kernel, session, event, order)}:
        raise ShopError(_("Please choose a payment method."))
    for payment in list(order.payments):
        if payment.state in OPEN_PAYMENT_STATES:
            cancel_payment(kernel, session, payment, actor=SHOP_ACTOR)
    payment = record_payment(
        kernel, session, order, actor=SHOP_ACTOR, provider=identifier, amount=pending_amount(order)
    )
    try:
        return execute_payment(kernel, session, payment, actor=SHOP_ACTOR)
    except PaymentException as failed:
        raise PaymentFailed(failed.message) from None


class PaymentFailed(Exception):
    """The provider refused the new attempt; it stays on record as failed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _answer_text(text: str) -> str:
    if text == "True":
        return _("Yes")
    if text == "False":
        return _("No")
    return text
