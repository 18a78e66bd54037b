"""Answers to the organizer's questions: checked against the question's type and limits, stored normalised.

The order and cart interfaces of the API are trusted imports: whether a required question was answered is not
checked there (the shop front end asks the buyer). What *is* given must fit the question, though: a number for
a number question, an existing option for a choice question, a date in range, and so on. File questions cannot
be answered this way (there is no upload step in placing an order).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, tzinfo
from decimal import Decimal, InvalidOperation

from babel import Locale
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from boxoffice.kernel.models.questions import CHOICE_TYPES, Question
from boxoffice.kernel.orders.drafts import AnswerDraft

PHONE = re.compile(r"^\+?[0-9 ()/.-]{3,30}$")
# ISO 3166-1 alpha-2 codes as babel knows them, without the pseudo-regions (EU, UN, …).
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "ZZ", "QO", "XA", "XB"})
COUNTRIES = frozenset(code for code in Locale("en").territories if len(code) == 2 and code.isalpha()) - _NOT_COUNTRIES
# A number answer is kept as text, but it has to stay a sensible number (no 10^100000 expansions).
NUMBER_DIGITS = 30


class AnswerProblem(ValueError):
    """An answer does not fit its question; the message is meant for the client."""


def load_questions(session: Session, event_id: int, question_ids: Sequence[int]) -> dict[int, Question]:
    """The event's questions with these ids (and their options), in one round trip per relation."""
    if not question_ids:
        return {}
    found = session.scalars(
        select(Question)
        .where(Question.event_id == event_id, Question.id.in_(set(question_ids)))
        .options(selectinload(Question.options))
    )
    return {question.id: question for question in found}


def answer_text(value: object) -> str:
    """The text of an answer as sent: clients send numbers and booleans as JSON values, too."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def is_empty(draft: AnswerDraft) -> bool:
    """An answer without text and without options says nothing; callers skip it instead of storing it."""
    return not answer_text(draft.answer).strip() and not draft.options


def normalise_answer(question: Question, draft: AnswerDraft, *, zone: tzinfo = UTC) -> tuple[str, list[int]]:
    """The stored text and option ids for ``draft``; raises :class:`AnswerProblem` when it does not fit.

    ``zone`` is the event's time zone: date-time answers without an offset are read in it.
    """
    text = answer_text(draft.answer).strip()
    kind = question.type
    if kind in CHOICE_TYPES:
        return _choice(question, draft, text)
    if draft.options:
        raise AnswerProblem("Options are only allowed for choice questions.")
    if kind == "N":
        return _number(question, text), []
    if kind == "B":
        lowered = text.lower()
        if lowered in ("true", "1", "yes", "on"):
            return "True", []
        if lowered in ("false", "0", "no", "off", ""):
            return "False", []
        raise AnswerProblem("Must be a valid boolean.")
    if kind == "D":
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise AnswerProblem("Date has wrong format. Use YYYY-MM-DD.") from None
        if (question.valid_date_min and day < question.valid_date_min) or (
            question.valid_date_max and day > question.valid_date_max
        ):
            raise AnswerProblem("The date is outside the allowed range.")
        return day.isoformat(), []
    if kind == "H":
        try:
            moment = time.fromisoformat(text)
        except ValueError:
            raise AnswerProblem("Time has wrong format. Use hh:mm[:ss].") from None
        return moment.replace(tzinfo=None).isoformat(), []
    if kind == "W":
        return _datetime(question, text, zone), []
    if kind == "CC":
        if text.upper() not in COUNTRIES:
            raise AnswerProblem(f'"{text}" is not a valid choice.')
        return text.upper(), []
    if kind == "TEL":
        if not PHONE.match(text):
            raise AnswerProblem("Enter a valid phone number.")
        return text, []
    if kind == "F":
        raise AnswerProblem("File upload questions cannot be answered here.")
    if question.valid_string_length_max is not None and len(text) > question.valid_string_length_max:
        raise AnswerProblem(f"Ensure this field has no more than {question.valid_string_length_max} characters.")
    return text, []


def _choice(question: Question, draft: AnswerDraft, text: str) -> tuple[str, list[int]]:
    options = {option.id: option for option in question.options}
    chosen = list(dict.fromkeys(draft.options))
    if not chosen and text:
        # Clients may send the option's identifier or text instead of ids.
        by_name = {o.identifier: o.id for o in question.options} | {
            label: o.id for o in question.options for label in (o.answer or {}).values()
        }
        chosen = list(dict.fromkeys(by_name[part.strip()] for part in text.split(",") if part.strip() in by_name))
        if not chosen:
            raise AnswerProblem("Invalid option selected.")
    if any(option_id not in options for option_id in chosen):
        raise AnswerProblem("Invalid option selected.")
    if not chosen:
        raise AnswerProblem("You need to select an option.")
    if question.type == "C" and len(chosen) > 1:
        raise AnswerProblem("You can only select one option.")
    labels = [_first(options[option_id].answer) for option_id in chosen]
    return ", ".join(labels), chosen


def _number(question: Question, text: str) -> str:
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise AnswerProblem("A valid number is required.") from None
    if not number.is_finite() or len(text) > NUMBER_DIGITS * 2 or abs(number.adjusted()) >= NUMBER_DIGITS:
        raise AnswerProblem("A valid number is required.")
    if question.valid_number_min is not None and number < question.valid_number_min:
        raise AnswerProblem(f"Ensure this value is greater than or equal to {_plain(question.valid_number_min)}.")
    if question.valid_number_max is not None and number > question.valid_number_max:
        raise AnswerProblem(f"Ensure this value is less than or equal to {_plain(question.valid_number_max)}.")
    return format(number, "f")


def _plain(number: Decimal) -> str:
    return format(Decimal(number).normalize(), "f")


def _datetime(question: Question, text: str, zone: tzinfo) -> str:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise AnswerProblem("Datetime has wrong format. Use ISO 8601.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    try:
        too_early = question.valid_datetime_min is not None and moment < question.valid_datetime_min
        too_late = question.valid_datetime_max is not None and moment > question.valid_datetime_max
    except OverflowError:
        raise AnswerProblem("Datetime has wrong format. Use ISO 8601.") from None
    if too_early or too_late:
        raise AnswerProblem("The date and time is outside the allowed range.")
    return moment.isoformat()


def _first(text: dict[str, str] | None) -> str:
    if not text:
        return ""
    return text.get("en") or next(iter(text.values()), "")
