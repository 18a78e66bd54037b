"""Answers to the organizer's questions: checked against the question's type and limits, stored normalised."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from boxoffice.kernel.models.questions import CHOICE_TYPES, Question
from boxoffice.kernel.orders.drafts import AnswerDraft

PHONE = re.compile(r"^\+?[0-9 ()/.-]{3,30}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")


class AnswerProblem(ValueError):
    """An answer does not fit its question; the message is meant for the client."""


def load_questions(session: Session, event_id: int, question_ids: Sequence[int]) -> dict[int, Question]:
    if not question_ids:
        return {}
    found = session.scalars(
        select(Question)
        .where(Question.event_id == event_id, Question.id.in_(set(question_ids)))
        .options(selectinload(Question.options))
    )
    return {question.id: question for question in found}


def normalise_answer(question: Question, draft: AnswerDraft) -> tuple[str, list[int]]:
    """The stored text and option ids for ``draft``; raises :class:`AnswerProblem` when it does not fit."""
    text = draft.answer or ""
    kind = question.type
    if kind in CHOICE_TYPES:
        options = {option.id: option for option in question.options}
        chosen = list(dict.fromkeys(draft.options))
        if not chosen and text:
            # Clients may send the option's identifier or text instead of ids.
            by_name = {o.identifier: o.id for o in question.options} | {
                label: o.id for o in question.options for label in (o.answer or {}).values()
            }
            chosen = [by_name[part.strip()] for part in text.split(",") if part.strip() in by_name]
        if any(option_id not in options for option_id in chosen):
            raise AnswerProblem("Invalid option selected.")
        if not chosen:
            raise AnswerProblem("You need to select an option.")
        if kind == "C" and len(chosen) > 1:
            raise AnswerProblem("You can only select one option.")
        labels = [_first(options[option_id].answer) for option_id in chosen]
        return ", ".join(labels), chosen
    if draft.options:
        raise AnswerProblem("Options are only allowed for choice questions.")
    if kind == "N":
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise AnswerProblem("A valid number is required.") from None
        if not number.is_finite():
            raise AnswerProblem("A valid number is required.")
        if question.valid_number_min is not None and number < question.valid_number_min:
            raise AnswerProblem(f"Ensure this value is greater than or equal to {question.valid_number_min}.")
        if question.valid_number_max is not None and number > question.valid_number_max:
            raise AnswerProblem(f"Ensure this value is less than or equal to {question.valid_number_max}.")
        return str(number), []
    if kind == "B":
        lowered = text.strip().lower()
        if lowered in ("true", "1", "yes", "on"):
            return "True", []
        if lowered in ("false", "0", "no", "off", ""):
            if question.required:
                raise AnswerProblem("This question must be confirmed.")
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
            return time.fromisoformat(text).isoformat(), []
        except ValueError:
            raise AnswerProblem("Time has wrong format. Use hh:mm[:ss].") from None
    if kind == "W":
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise AnswerProblem("Datetime has wrong format. Use ISO 8601.") from None
        if moment.tzinfo is None:
            raise AnswerProblem("Datetime needs a time zone offset.")
        if (question.valid_datetime_min and moment < question.valid_datetime_min) or (
            question.valid_datetime_max and moment > question.valid_datetime_max
        ):
            raise AnswerProblem("The date and time is outside the allowed range.")
        return moment.isoformat(), []
    if kind == "CC":
        if not COUNTRY.match(text.upper()):
            raise AnswerProblem("Enter a two-letter ISO country code.")
        return text.upper(), []
    if kind == "TEL":
        if not PHONE.match(text):
            raise AnswerProblem("Enter a valid phone number.")
        return text, []
    if kind == "F":
        raise AnswerProblem("File uploads are not supported here.")
    if question.required and not text.strip():
        raise AnswerProblem("This field is required.")
    if question.valid_string_length_max is not None and len(text) > question.valid_string_length_max:
        raise AnswerProblem(f"Ensure this field has no more than {question.valid_string_length_max} characters.")
    return text, []


def _first(text: dict[str, str] | None) -> str:
    if not text:
        return ""
    return text.get("en") or next(iter(text.values()), "")
