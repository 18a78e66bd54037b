"""Checkout: contact data, attendee data and the questions asked for the products in the cart, the payment method,
then the order — placed by the kernel (``place_order`` consuming the cart), paid through the provider's
``checkout_prepare`` / ``execute_payment``.

The shop checks what the trusted API leaves to its clients: required questions (and those whose dependency is
met), attendee names of personalized products, the e-mail address, which payment methods the buyer may choose
(enabled, allowed for the total) and the plugins' ``validate_cart`` / ``validate_order`` / ``order_fee_calculation``
hooks. Everything else (prices, taxes, quotas, vouchers, answer formats) is the kernel's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from boxoffice.apps.shop.cart import Cart, CartLine, ShopError
from boxoffice.apps.shop.catalog import product_label
from boxoffice.hookspecs.providers import PaymentException, PaymentProvider, ValidationFailure
from boxoffice.kernel import clock
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.i18n import currency_places
from boxoffice.kernel.i18n import gettext as _
from boxoffice.kernel.mail import event_locale
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.orders import Order
from boxoffice.kernel.models.questions import CHOICE_TYPES, Question, question_items
from boxoffice.kernel.orders.answers import AnswerProblem, normalise_answer
from boxoffice.kernel.orders.drafts import AnswerDraft, FeeDraft, OrderDraft, PositionDraft
from boxoffice.kernel.orders.errors import OrderError
from boxoffice.kernel.orders.payments import execute_payment
from boxoffice.kernel.orders.placement import place_order, valid_email
from boxoffice.kernel.orders.providers import payment_providers

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel

# The buyer placing an order in the shop is not a logged-in user; the audit log shows the shop as the actor.
SHOP_ACTOR = Actor("system", "shop")
# File uploads need a storage flow of their own; the shop does not ask such questions (yet).
UNSUPPORTED_TYPES = frozenset({"F"})
NAME_LIMIT = 255
EMAIL_LIMIT = 254
TEXT_LIMIT = 10_000

# (question type, the kernel's refusal) → what the buyer is told, in their language.
_TYPE_PROBLEMS: dict[str, Callable[[], str]] = {
    "N": lambda: _("Please enter a number in the allowed range."),
    "B": lambda: _("Please answer yes or no."),
    "D": lambda: _("Please enter a valid date in the allowed range."),
    "H": lambda: _("Please enter a valid time."),
    "W": lambda: _("Please enter a valid date and time in the allowed range."),
    "CC": lambda: _("Please choose a country."),
    "TEL": lambda: _("Please enter a valid phone number."),
    "C": lambda: _("Please choose one of the options."),
    "M": lambda: _("Please choose from the options."),
}


@dataclass
class PositionForm:
    """The part of the checkout form for one cart position (field names carry the position's id)."""

    line: CartLine
    asks_name: bool
    questions: list[Question]
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        return str(self.line.position.id)

    def name_field(self) -> str:
        return f"attendee_name_{self.prefix}"

    def email_field(self) -> str:
        return f"attendee_email_{self.prefix}"

    def question_field(self, question: Question) -> str:
        return f"question_{self.prefix}_{question.id}"


@dataclass
class PaymentChoice:
    provider: PaymentProvider
    fee: Decimal

    @property
    def identifier(self) -> str:
        return self.provider.identifier


@dataclass
class Checkout:
    event: Event
    cart: Cart
    positions: list[PositionForm]
    payments: list[PaymentChoice]
    email: str = ""
    payment: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return self.cart.total

    @property
    def needs_payment(self) -> bool:
        return self.total > 0

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.messages or any(p.errors for p in self.positions))

    def chosen(self) -> PaymentChoice | None:
        return next((choice for choice in self.payments if choice.identifier == self.payment), None)


def _asked_questions(session: Session, event: Event, item_ids: set[int]) -> dict[int, list[Question]]:
    """The questions asked at checkout per item, with their options (two queries)."""
    if not item_ids:
        return {}
    links = session.execute(
        select(question_items.c.item_id, question_items.c.question_id).where(question_items.c.item_id.in_(item_ids))
    ).all()
    question_ids = {question_id for _item, question_id in links}
    questions = (
        {
            question.id: question
            for question in session.scalars(
                select(Question)
                .where(
                    Question.event_id == event.id,
                    Question.id.in_(question_ids),
                    Question.hidden.is_(False),
                    Question.ask_during_checkin.is_(False),
                )
                .options(selectinload(Question.options))
            )
            if question.type not in UNSUPPORTED_TYPES
        }
        if question_ids
        else {}
    )
    asked: dict[int, list[Question]] = {item_id: [] for item_id in item_ids}
    for item_id, question_id in links:
        if question_id in questions:
            asked[item_id].append(questions[question_id])
    for found in asked.values():
        found.sort(key=lambda question: (question.position, question.id))
    return asked


def available_payments(kernel: Kernel, session: Session, event: Event, total: Decimal) -> list[PaymentChoice]:
    """The methods a buyer may choose for ``total``: enabled, not implicit, allowed for the amount; best first."""
    if total <= 0:
        return []
    places = currency_places(event.currency)
    now = clock.now()
    choices = [
        PaymentChoice(provider, provider.calculate_fee(total, places))
        for provider in payment_providers(kernel, session, event).values()
        if not provider.is_implicit and provider.is_enabled and provider.is_allowed(total, None, now)
    ]
    choices.sort(key=lambda choice: (-choice.provider.priority, choice.provider.public_name))
    return choices


def build_checkout(kernel: Kernel, session: Session, event: Event, cart: Cart) -> Checkout:
    asked = _asked_questions(session, event, {line.item.id for line in cart.lines})
    positions = [PositionForm(line, line.item.personalized, asked.get(line.item.id, [])) for line in cart.lines]
    payments = available_payments(kernel, session, event, cart.total)
    checkout = Checkout(event, cart, positions, payments)
    if len(payments) == 1:
        checkout.payment = payments[0].identifier
    return checkout


def _event_zone(event: Event) -> ZoneInfo:
    try:
        return ZoneInfo(event.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _visible(question: Question, drafts: dict[int, AnswerDraft], questions: dict[int, Question]) -> bool:
    """A question depending on another is asked only when that one's answer is one of ``dependency_values``."""
    parent_id = question.dependency_question_id
    if parent_id is None:
        return True
    parent = questions.get(parent_id)
    draft = drafts.get(parent_id)
    if parent is None or draft is None:
        return parent is None
    if parent.type == "B":
        given = {"True" if str(draft.answer) == "True" else "False"}
    elif parent.type in CHOICE_TYPES:
        given = {option.identifier for option in parent.options if option.id in draft.options}
    else:
        given = {str(draft.answer)}
    return bool(given & set(question.dependency_values or []))


def read_form(checkout: Checkout, form: Any) -> list[PositionDraft]:
    """Take the buyer's input into ``checkout`` (values and errors) and return the positions to order."""
    zone = _event_zone(checkout.event)
    checkout.email = (form.get("email") or "").strip()
    if not checkout.email or len(checkout.email) > EMAIL_LIMIT or not valid_email(checkout.email):
        checkout.errors["email"] = _("Please enter a valid e-mail address.")
    checkout.payment = (form.get("payment") or checkout.payment or "").strip()
    if checkout.needs_payment:
        if not checkout.payments:
            checkout.messages.append(_("No payment method is available for this order. Please contact the organizer."))
        elif checkout.chosen() is None:
            checkout.errors["payment"] = _("Please choose a payment method.")

    drafts: list[PositionDraft] = []
    for position in checkout.positions:
        line = position.line
        draft = PositionDraft(
            item=line.item.id,
            variation=line.variation.id if line.variation else None,
            price=line.price,
            voucher=line.voucher_code,
            subevent=line.position.subevent_id,
        )
        if position.asks_name:
            name = (form.get(position.name_field()) or "").strip()
            position.values["name"] = name
            if not name:
                position.errors["name"] = _("Please enter the attendee's name.")
            elif len(name) > NAME_LIMIT:
                position.errors["name"] = _("This name is too long.")
            else:
                draft.attendee_name_parts = {"_scheme": "full", "full_name": name}
            email = (form.get(position.email_field()) or "").strip()
            position.values["email"] = email
            if email and (len(email) > EMAIL_LIMIT or not valid_email(email)):
                position.errors["email"] = _("Please enter a valid e-mail address.")
            elif email:
                draft.attendee_email = email
        answers: dict[int, AnswerDraft] = {}
        by_id = {question.id: question for question in position.questions}
        for question in position.questions:
            name = position.question_field(question)
            if question.type == "M":
                chosen = [value for value in form.getall(name, []) if value] if hasattr(form, "getall") else []
                position.values[name] = chosen
                answers[question.id] = AnswerDraft(question=question.id, options=_option_ids(chosen))
            elif question.type == "C":
                chosen_one = (form.get(name) or "").strip()
                position.values[name] = chosen_one
                answers[question.id] = AnswerDraft(question=question.id, options=_option_ids([chosen_one]))
            elif question.type == "B":
                checked = bool(form.get(name))
                position.values[name] = checked
                answers[question.id] = AnswerDraft(question=question.id, answer="True" if checked else "")
            else:
                text = (form.get(name) or "").strip()[:TEXT_LIMIT]
                position.values[name] = text
                answers[question.id] = AnswerDraft(question=question.id, answer=text)
        for question in position.questions:
            draft_answer = answers[question.id]
            name = position.question_field(question)
            if not _visible(question, answers, by_id):
                continue
            empty = not str(draft_answer.answer or "").strip() and not draft_answer.options
            if empty:
                if question.required:
                    position.errors[name] = _("This question must be answered.")
                continue
            try:
                normalise_answer(question, draft_answer, zone=zone)
            except AnswerProblem:
                position.errors[name] = _TYPE_PROBLEMS.get(question.type, lambda: _("Please check this answer."))()
                continue
            draft.answers.append(draft_answer)
        drafts.append(draft)
    return drafts


def _option_ids(values: Sequence[str]) -> list[int]:
    ids = []
    for value in values:
        try:
            number = int(value)
        except (TypeError, ValueError):
            continue
        if 0 < number < 2**31:
            ids.append(number)
    return ids


def _messages(tree: Any) -> list[str]:
    if isinstance(tree, str):
        return [tree]
    if isinstance(tree, dict):
        return [message for value in tree.values() for message in _messages(value)]
    if isinstance(tree, list):
        return [message for value in tree for message in _messages(value)]
    return []


def explain(problem: OrderError) -> str:
    """What the buyer is told when the kernel refuses the order."""
    body = problem.body()
    texts = _messages(body)
    if "'voucher'" in repr(body):
        return _("A voucher in your cart cannot be used any more. Please remove the product and try again.")
    if any("quota" in text for text in texts):
        return _("Some of the products in your cart are no longer available in this quantity. Please check your cart.")
    return _("Your order could not be placed: %(reason)s") % {"reason": " ".join(texts)}


@dataclass
class Placed:
    order: Order
    # Where the payment provider wants the buyer to go next (a processor's page), if anywhere.
    next_url: str | None
    payment_problem: str | None


def place(kernel: Kernel, session: Session, checkout: Checkout, drafts: list[PositionDraft], *, locale: str) -> Placed:
    """Place the order for the checked form. Raises :class:`ShopError` (roll back) when it cannot be placed."""
    event = checkout.event
    hooks = kernel.plugins.for_event(event)
    try:
        hooks.validate_cart(event=event, positions=[line.position for line in checkout.cart.lines], sales_channel="web")
        hooks.validate_order(event=event, positions=drafts, email=checkout.email, invoice_address=None)
    except ValidationFailure as refused:
        raise ShopError(refused.message) from None

    choice = checkout.chosen() if checkout.needs_payment else None
    fees: list[FeeDraft] = []
    if choice is not None and choice.fee > 0:
        fees.append(FeeDraft(fee_type="payment", value=choice.fee, internal_type=choice.identifier))
    for extra in hooks.order_fee_calculation(
        event=event,
        positions=drafts,
        invoice_address=None,
        total=checkout.total,
        payment_provider=choice.identifier if choice else None,
    ):
        for line in extra or []:
            fees.append(
                FeeDraft(
                    fee_type=line.fee_type,
                    value=line.value,
                    description=line.description,
                    internal_type=line.internal_type,
                    tax_rule=line.tax_rule_id,
                )
            )
    if choice is not None:
        prepared = choice.provider.checkout_prepare({"email": checkout.email, "total": checkout.total})
        if prepared is False:
            raise ShopError(_("Please check your payment details."))
    draft = OrderDraft(
        positions=drafts,
        consume_carts=[checkout.cart.cart_id],
        email=checkout.email,
        # The buyer's language when the event offers it (e-mails are written in it), else the event's.
        locale=event_locale(kernel, session, event, locale),
        sales_channel="web",
        payment_provider=choice.identifier if choice else None,
        fees=fees,
        testmode=event.testmode,
        send_email=True,
    )
    try:
        order = place_order(kernel, session, event, draft, actor=SHOP_ACTOR)
    except OrderError as problem:
        raise ShopError(explain(problem)) from None
    next_url: str | None = None
    payment_problem: str | None = None
    open_payments = [payment for payment in order.payments if payment.state in ("created", "pending")]
    if open_payments:
        try:
            next_url = execute_payment(kernel, session, open_payments[0], actor=SHOP_ACTOR)
        except PaymentException as failed:
            # The failed attempt stays on record with the order; the buyer sees why on the order page.
            payment_problem = failed.message
    return Placed(order, next_url, payment_problem)


def position_label(line: CartLine) -> str:
    label = product_label(line.item, line.variation)
    return f"{label} ({line.date_label})" if line.date_label else label
