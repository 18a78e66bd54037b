"""The standard placeholders every configurable text can use: event, order, position (ticket), invoice address and
question answers.

A bundled plugin like any other: it only uses the public plugin API, the kernel's models (to read related rows) and
the kernel's i18n helpers. Texts are rendered with :mod:`boxoffice.kernel.placeholders`; the identifiers are listed
in ``docs/tickets.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import object_session

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.hookspecs.providers import PLACEHOLDER_PATTERN, SimpleTextPlaceholder, TextPlaceholder
from boxoffice.kernel.i18n import format_date, format_datetime, format_money, get_locale, localize
from boxoffice.kernel.models.categories import ItemCategory
from boxoffice.kernel.models.items import Item, ItemVariation
from boxoffice.kernel.models.questions import Question, QuestionOption
from boxoffice.kernel.models.subevents import SubEvent
from boxoffice.kernel.orders.placement import format_name

plugin_meta = PluginMeta(
    name="Standard placeholders",
    description="Event, order, ticket, invoice address and answer placeholders for e-mails, ticket layouts and "
    "invoice texts.",
    category="CORE",
    level="global",
    togglable=False,
)

SAMPLE_NAME = "John Doe"
SAMPLE_CODE = "F8VVL"
SAMPLE_SECRET = "4yfeueuw3k3bn6m5fvtbmpnbgmq3ks6r"


def _event_datetime(event: Any, value: datetime | None, pattern: str = "medium") -> str:
    if value is None:
        return ""
    return format_datetime(value, get_locale(), timezone=event.timezone or "UTC", format=pattern)


def _local_date(event: Any, value: datetime | None) -> str:
    """The calendar day of ``value`` where the event takes place."""
    if value is None:
        return ""
    return format_date(value.astimezone(ZoneInfo(event.timezone or "UTC")), get_locale())


def _money(event: Any, amount: Decimal | None) -> str:
    return "" if amount is None else _formatted_money(amount, event.currency or "EUR", get_locale())


@lru_cache(maxsize=4096)
def _formatted_money(amount: Decimal, currency: str, locale: str) -> str:
    # Tickets of one event share a handful of prices; formatting them is the costly part of a ticket's texts.
    return format_money(amount, currency, locale)


ROWS_KEY = "boxoffice.placeholders.rows"


def _related(obj: Any, model: type, key: int | None) -> Any:
    """A row a position refers to by id, loaded once per unit of work: the session's identity map holds rows only
    while something references them, and a thousand tickets of one product would otherwise load it a thousand
    times."""
    if key is None:
        return None
    session = object_session(obj)
    if session is None:
        return None
    rows: dict[tuple[type, int], Any] = session.info.setdefault(ROWS_KEY, {})
    if (model, key) not in rows:
        rows[(model, key)] = session.get(model, key)
    return rows[(model, key)]


def _dates_of(position: Any, event: Any) -> Any:
    """The sub-event a ticket is for (its own dates and name), else the event."""
    subevent = _related(position, SubEvent, position.subevent_id)
    return subevent if subevent is not None else event


def _name(parts: Mapping[str, str] | None) -> str:
    return format_name(dict(parts or {})) or ""


def _item(position: Any) -> Any:
    return _related(position, Item, position.item_id)


def _variation(position: Any) -> Any:
    return _related(position, ItemVariation, position.variation_id)


def _product_with_variation(position: Any) -> str:
    item, variation = _item(position), _variation(position)
    name = localize(item.name) if item is not None else ""
    return f"{name} - {localize(variation.value)}" if variation is not None else name


def _category(position: Any) -> str:
    item = _item(position)
    category = _related(position, ItemCategory, item.category_id) if item is not None else None
    return localize(category.name) if category is not None else ""


def _addons(position: Any) -> str:
    """The add-on products booked with this ticket, one per line."""
    order = position.order
    lines = []
    for other in order.positions:
        if other.addon_to_id == position.id and not other.canceled:
            lines.append(_product_with_variation(other))
    return "\n".join(lines)


def _order_url(site_url: str, order: Any, event: Any) -> str:
    return f"{site_url.rstrip('/')}/{event.organizer.slug}/{event.slug}/order/{order.code}/{order.secret}/"


def _address_block(address: Any) -> str:
    lines = [
        address.company,
        _name(address.name_parts),
        address.street,
        " ".join(part for part in (address.zipcode, address.city) if part),
        address.country,
    ]
    return "\n".join(line for line in lines if line)


def _simple(identifier: str, context: tuple[str, ...], function: Callable[..., Any], sample: Any) -> TextPlaceholder:
    return SimpleTextPlaceholder(identifier, context, function, sample)


def _event_placeholders() -> list[TextPlaceholder]:
    return [
        _simple("event", ("event",), lambda e: localize(e.name), lambda e: localize(e.name)),
        _simple("event_name", ("event",), lambda e: localize(e.name), lambda e: localize(e.name)),
        _simple("event_slug", ("event",), lambda e: e.slug, lambda e: e.slug),
        _simple("organizer", ("event",), lambda e: e.organizer.name, lambda e: e.organizer.name),
        _simple("organizer_slug", ("event",), lambda e: e.organizer.slug, lambda e: e.organizer.slug),
        _simple("currency", ("event",), lambda e: e.currency, lambda e: e.currency),
        _simple("event_location", ("event",), lambda e: localize(e.location), lambda e: localize(e.location)),
        _simple(
            "event_date_from",
            ("event",),
            lambda e: _event_datetime(e, e.date_from),
            lambda e: _event_datetime(e, e.date_from),
        ),
        _simple(
            "event_date_to",
            ("event",),
            lambda e: _event_datetime(e, e.date_to),
            lambda e: _event_datetime(e, e.date_to),
        ),
        _simple(
            "event_admission",
            ("event",),
            lambda e: _event_datetime(e, e.date_admission),
            lambda e: _event_datetime(e, e.date_admission),
        ),
    ]


def _order_placeholders() -> list[TextPlaceholder]:
    return [
        _simple("code", ("order",), lambda o: o.code, SAMPLE_CODE),
        _simple("order", ("order",), lambda o: o.code, SAMPLE_CODE),
        _simple("order_email", ("order",), lambda o: o.email or "", "john@example.org"),
        _simple("email", ("order",), lambda o: o.email or "", "john@example.org"),
        _simple("total", ("event", "order"), lambda e, o: _money(e, o.total), lambda e: _money(e, Decimal("42.23"))),
        _simple(
            "order_date",
            ("event", "order"),
            lambda e, o: _event_datetime(e, o.datetime),
            lambda e: _event_datetime(e, e.date_from),
        ),
        _simple(
            "expire_date",
            ("event", "order"),
            lambda e, o: _event_datetime(e, o.expires),
            lambda e: _event_datetime(e, e.date_from),
        ),
        _simple(
            "url",
            ("event", "order", "site_url"),
            lambda e, o, site: _order_url(site, o, e),
            lambda e: f"https://tickets.example.org/{e.organizer.slug}/{e.slug}/order/{SAMPLE_CODE}/secret/",
        ),
    ]


def _position_placeholders() -> list[TextPlaceholder]:
    return [
        _simple("attendee_name", ("position",), lambda p: _name(p.attendee_name_parts), SAMPLE_NAME),
        _simple("attendee_email", ("position",), lambda p: p.attendee_email or "", "john@example.org"),
        _simple("attendee_company", ("position",), lambda p: p.company or "", "Sample Company LLC"),
        _simple(
            "attendee_address",
            ("position",),
            lambda p: "\n".join(
                part for part in (p.street, " ".join(x for x in (p.zipcode, p.city) if x), p.country) if part
            ),
            "Sample street 1\n12345 Sample city",
        ),
        _simple("positionid", ("position",), lambda p: str(p.positionid), "1"),
        _simple("secret", ("position",), lambda p: p.secret, SAMPLE_SECRET),
        _simple("pseudonymization_id", ("position",), lambda p: p.pseudonymization_id, "ZJ9SPQ7R9D"),
        _simple("item", ("position",), lambda p: localize(_item(p).name) if _item(p) else "", "Sample product"),
        _simple("product", ("position",), lambda p: localize(_item(p).name) if _item(p) else "", "Sample product"),
        _simple(
            "variation",
            ("position",),
            lambda p: localize(_variation(p).value) if _variation(p) else "",
            "Sample variation",
        ),
        _simple("itemvar", ("position",), _product_with_variation, "Sample product - Sample variation"),
        _simple(
            "item_description",
            ("position",),
            lambda p: localize(_item(p).description) if _item(p) else "",
            "Sample product description",
        ),
        _simple("item_category", ("position",), _category, "Sample category"),
        _simple("price", ("event", "position"), lambda e, p: _money(e, p.price), lambda e: _money(e, Decimal("23"))),
        _simple(
            "price_with_addons",
            ("event", "position"),
            lambda e, p: _money(
                e,
                p.price
                + sum(
                    (o.price for o in p.order.positions if o.addon_to_id == p.id and not o.canceled),
                    Decimal(0),
                ),
            ),
            lambda e: _money(e, Decimal("33")),
        ),
        _simple("addons", ("position",), _addons, "Workshop\nT-shirt"),
        _simple(
            "event_date",
            ("event", "position"),
            lambda e, p: _local_date(e, _dates_of(p, e).date_from),
            lambda e: _local_date(e, e.date_from),
        ),
        _simple(
            "event_begin",
            ("event", "position"),
            lambda e, p: _event_datetime(e, _dates_of(p, e).date_from),
            lambda e: _event_datetime(e, e.date_from),
        ),
        _simple(
            "event_begin_time",
            ("event", "position"),
            lambda e, p: _event_datetime(e, _dates_of(p, e).date_from, "HH:mm"),
            lambda e: _event_datetime(e, e.date_from, "HH:mm"),
        ),
        _simple(
            "event_end",
            ("event", "position"),
            lambda e, p: _event_datetime(e, _dates_of(p, e).date_to),
            lambda e: _event_datetime(e, e.date_to),
        ),
        _simple(
            "event_date_name",
            ("event", "position"),
            lambda e, p: localize(_dates_of(p, e).name),
            lambda e: localize(e.name),
        ),
        _simple(
            "name",
            ("position",),
            lambda p: (
                _name(p.attendee_name_parts)
                or (_name(p.order.invoice_address.name_parts) if p.order.invoice_address else "")
            ),
            SAMPLE_NAME,
        ),
    ]


def _address_placeholders() -> list[TextPlaceholder]:
    fields = {
        "invoice_company": ("company", "Sample Company LLC"),
        "invoice_street": ("street", "Sample street 1"),
        "invoice_zipcode": ("zipcode", "12345"),
        "invoice_city": ("city", "Sample city"),
        "invoice_country": ("country", "DE"),
        "invoice_state": ("state", ""),
        "invoice_vat_id": ("vat_id", "DE123456789"),
        "invoice_internal_reference": ("internal_reference", "PO 4711"),
    }
    placeholders: list[TextPlaceholder] = [
        _simple(identifier, ("invoice_address",), lambda a, attribute=attribute: getattr(a, attribute) or "", sample)
        for identifier, (attribute, sample) in fields.items()
    ]
    placeholders.append(_simple("invoice_name", ("invoice_address",), lambda a: _name(a.name_parts), SAMPLE_NAME))
    placeholders.append(
        _simple("invoice_address", ("invoice_address",), _address_block, "Sample Company LLC\nJohn Doe\n…")
    )
    return placeholders


class AnswerPlaceholder(TextPlaceholder):
    """``{question_<identifier>}``: the ticket's answer to one question (choices by their option texts)."""

    required_context = ("position",)

    def __init__(self, question: Question, option_texts: Mapping[int, Any]) -> None:
        self.identifier = f"question_{question.identifier}"
        self.question_id = question.id
        self.question_text = question.question
        self.option_texts = dict(option_texts)

    def render(self, context: Mapping[str, Any]) -> str:
        position = context["position"]
        for answer in position.answers:
            if answer.question_id == self.question_id:
                if answer.option_ids:
                    return ", ".join(localize(self.option_texts.get(option, "")) for option in answer.option_ids)
                return answer.answer or ""
        return ""

    def render_sample(self, event: Any) -> str:
        return f"<{localize(self.question_text)}>"


def _answer_placeholders(event: Any) -> list[TextPlaceholder]:
    session = object_session(event)
    if session is None or event.id is None:
        return []
    questions = list(session.scalars(select(Question).where(Question.event_id == event.id)))
    if not questions:
        return []
    options = {
        option.id: option.answer
        for option in session.scalars(
            select(QuestionOption).where(QuestionOption.question_id.in_([q.id for q in questions]))
        )
    }
    # Identifiers are free text; only those that can be written as a placeholder get one.
    return [
        AnswerPlaceholder(question, options)
        for question in questions
        if PLACEHOLDER_PATTERN.fullmatch("{question_" + question.identifier + "}")
    ]


@hookimpl
def register_text_placeholders(event: Any) -> list[TextPlaceholder]:
    return [
        *_event_placeholders(),
        *_order_placeholders(),
        *_position_placeholders(),
        *_address_placeholders(),
        *_answer_placeholders(event),
    ]
