"""Questions: list with filters (``Last-Modified`` aware), detail, create (with nested options), update (PATCH and
PUT; options are changed through their own sub-resource), delete."""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import msgspec
from litestar import Request, Response, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from boxoffice.apps.api.errors import ApiError, FieldErrors, Problems
from boxoffice.apps.api.toolkit import Call, Page, in_call, parse_bool, possible_id, sent_fields
from boxoffice.kernel.models import Event, Item
from boxoffice.kernel.models.questions import (
    QUESTION_FIELDS,
    QUESTION_TYPES,
    Question,
    QuestionOption,
    question_items,
)

Multilingual = dict[str, str]
WRITE_PERMISSION = "event.items:write"
LIST_RESOURCE = "questions"
IDENTIFIER = re.compile(r"^[a-zA-Z0-9.\-_]+$")
IDENTIFIER_MAX = 190
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
# Numeric(16, 6): ten digits before the point.
NUMBER_LIMIT = Decimal(10) ** 10
NUMBER_PLACES = Decimal("0.000001")
# Questions of these types may control whether another question is shown.
DEPENDABLE_TYPES = frozenset({"B", "C", "M"})
# A file cannot be shown on a scanner screen.
NOT_SHOWN_DURING_CHECKIN = frozenset({"F"})
BOOLEAN_VALUES = ("True", "False")


class QuestionOptionOut(msgspec.Struct):
    id: int
    identifier: str
    position: int
    answer: Multilingual


class QuestionOut(msgspec.Struct):
    id: int
    question: Multilingual
    help_text: Multilingual
    type: str
    required: bool
    items: list[int]
    position: int
    identifier: str
    ask_during_checkin: bool
    show_during_checkin: bool
    hidden: bool
    print_on_invoice: bool
    valid_number_min: Decimal | None
    valid_number_max: Decimal | None
    valid_date_min: date | None
    valid_date_max: date | None
    valid_datetime_min: datetime | None
    valid_datetime_max: datetime | None
    valid_file_portrait: bool
    valid_string_length_max: int | None
    dependency_question: int | None
    dependency_value: str | None
    dependency_values: list[str]
    options: list[QuestionOptionOut]


class QuestionOptionIn(msgspec.Struct):
    """An option as sent on question create or to the options sub-resource; on PATCH only the fields sent change."""

    answer: Multilingual | msgspec.UnsetType = msgspec.UNSET
    identifier: str | msgspec.UnsetType = msgspec.UNSET
    position: int | msgspec.UnsetType = msgspec.UNSET


class QuestionIn(msgspec.Struct):
    """Writable question fields; on PATCH only the fields sent are changed, on PUT the others are reset."""

    question: Multilingual | msgspec.UnsetType = msgspec.UNSET
    help_text: Multilingual | msgspec.UnsetType | None = msgspec.UNSET
    type: str | msgspec.UnsetType = msgspec.UNSET
    required: bool | msgspec.UnsetType = msgspec.UNSET
    items: list[int] | msgspec.UnsetType = msgspec.UNSET
    position: int | msgspec.UnsetType = msgspec.UNSET
    identifier: str | msgspec.UnsetType | None = msgspec.UNSET
    ask_during_checkin: bool | msgspec.UnsetType = msgspec.UNSET
    show_during_checkin: bool | msgspec.UnsetType = msgspec.UNSET
    hidden: bool | msgspec.UnsetType = msgspec.UNSET
    print_on_invoice: bool | msgspec.UnsetType = msgspec.UNSET
    valid_number_min: Decimal | msgspec.UnsetType | None = msgspec.UNSET
    valid_number_max: Decimal | msgspec.UnsetType | None = msgspec.UNSET
    valid_date_min: date | msgspec.UnsetType | None = msgspec.UNSET
    valid_date_max: date | msgspec.UnsetType | None = msgspec.UNSET
    valid_datetime_min: datetime | msgspec.UnsetType | None = msgspec.UNSET
    valid_datetime_max: datetime | msgspec.UnsetType | None = msgspec.UNSET
    valid_file_portrait: bool | msgspec.UnsetType = msgspec.UNSET
    valid_string_length_max: int | msgspec.UnsetType | None = msgspec.UNSET
    dependency_question: int | msgspec.UnsetType | None = msgspec.UNSET
    dependency_values: list[str] | msgspec.UnsetType | None = msgspec.UNSET
    dependency_value: str | msgspec.UnsetType | None = msgspec.UNSET
    options: list[QuestionOptionIn] | msgspec.UnsetType | None = msgspec.UNSET


REQUIRED = ("question", "type")
# What PUT resets omitted fields to (the identifier is kept: a new random one would break external matching).
DEFAULTS: dict[str, Any] = {
    "help_text": {},
    "required": False,
    "items": [],
    "position": 0,
    "ask_during_checkin": False,
    "show_during_checkin": False,
    "hidden": False,
    "print_on_invoice": False,
    "valid_number_min": None,
    "valid_number_max": None,
    "valid_date_min": None,
    "valid_date_max": None,
    "valid_datetime_min": None,
    "valid_datetime_max": None,
    "valid_file_portrait": False,
    "valid_string_length_max": None,
    "dependency_question": None,
    "dependency_values": [],
}
COLUMNS = QUESTION_FIELDS


# --- shared with the options sub-resource ------------------------------------------------------------------------


def random_identifier(taken: Iterable[str]) -> str:
    used = set(taken)
    while True:
        candidate = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(8))
        if candidate not in used:
            return candidate


def check_identifier(value: str) -> str | None:
    """The problem with a client-chosen identifier, if any."""
    if not value:
        return "This field may not be blank."
    if len(value) > IDENTIFIER_MAX:
        return f"Ensure this field has no more than {IDENTIFIER_MAX} characters."
    if not IDENTIFIER.match(value):
        return "The identifier may only contain letters, numbers, dots, dashes, and underscores."
    return None


def check_position(value: int) -> str | None:
    if not INT_MIN <= value <= INT_MAX:
        return f"Ensure this value is between {INT_MIN} and {INT_MAX}."
    return None


def check_multilingual(value: Any, *, blank_ok: bool) -> str | None:
    if not isinstance(value, dict):
        return "Expected a dictionary of items."
    if not blank_ok and not any(str(text).strip() for text in value.values()):
        return "This field may not be blank."
    return None


def flush_or_conflict(call: Call) -> None:
    """Flush, turning a lost race for a unique identifier into a retryable 409 instead of a 500."""
    try:
        call.session.flush()
    except IntegrityError:
        raise ApiError(409, "A concurrent change used the same identifier. Please retry.") from None


def serialize_option(option: QuestionOption) -> QuestionOptionOut:
    return QuestionOptionOut(id=option.id, identifier=option.identifier, position=option.position, answer=option.answer)


def touch_questions(call: Call, event: Event) -> None:
    call.touch(event, LIST_RESOURCE)


def get_question(call: Call, event: Event, question_id: int) -> Question:
    return call.get(Question, question_id, event_id=event.id)


# --- questions ---------------------------------------------------------------------------------------------------


def _number(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(NUMBER_PLACES)


def item_ids_by_question(call: Call, question_ids: list[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {question_id: [] for question_id in question_ids}
    if question_ids:
        rows = call.session.execute(
            select(question_items.c.question_id, question_items.c.item_id)
            .where(question_items.c.question_id.in_(question_ids))
            .order_by(question_items.c.item_id)
        )
        for question_id, item_id in rows:
            found[question_id].append(item_id)
    return found


def serialize(question: Question, item_ids: list[int]) -> QuestionOut:
    values = list(question.dependency_values or [])
    return QuestionOut(
        id=question.id,
        question=question.question,
        help_text=dict(question.help_text or {}),
        type=question.type,
        required=question.required,
        items=item_ids,
        position=question.position,
        identifier=question.identifier,
        ask_during_checkin=question.ask_during_checkin,
        show_during_checkin=question.show_during_checkin,
        hidden=question.hidden,
        print_on_invoice=question.print_on_invoice,
        valid_number_min=_number(question.valid_number_min),
        valid_number_max=_number(question.valid_number_max),
        valid_date_min=question.valid_date_min,
        valid_date_max=question.valid_date_max,
        valid_datetime_min=question.valid_datetime_min,
        valid_datetime_max=question.valid_datetime_max,
        valid_file_portrait=question.valid_file_portrait,
        valid_string_length_max=question.valid_string_length_max,
        dependency_question=question.dependency_question_id,
        dependency_value=values[0] if values else None,
        dependency_values=values,
        options=[serialize_option(option) for option in question.options],
    )


def serialize_one(call: Call, question: Question) -> QuestionOut:
    call.session.flush()
    return serialize(question, item_ids_by_question(call, [question.id])[question.id])


def _current(call: Call, question: Question) -> dict[str, Any]:
    """The stored question in the shape of validated input (what PATCH merges sent fields into)."""
    values = {name: getattr(question, name) for name in COLUMNS}
    values["items"] = item_ids_by_question(call, [question.id])[question.id]
    values["dependency_question"] = question.dependency_question_id
    values["dependency_values"] = list(question.dependency_values or [])
    return values


def _check_numbers(values: dict[str, Any], problems: Problems) -> None:
    for name in ("valid_number_min", "valid_number_max"):
        number = values.get(name)
        if number is not None and (not number.is_finite() or abs(number) >= NUMBER_LIMIT):
            problems.add(name, "Ensure that there are no more than 10 digits before the decimal point.")
            values[name] = None
    for low, high in (
        ("valid_number_min", "valid_number_max"),
        ("valid_date_min", "valid_date_max"),
        ("valid_datetime_min", "valid_datetime_max"),
    ):
        if values.get(low) is not None and values.get(high) is not None and values[low] > values[high]:
            problems.add(high, "The maximum must not be lower than the minimum.")
    length = values.get("valid_string_length_max")
    if length is not None and not 1 <= length <= INT_MAX:
        problems.add("valid_string_length_max", f"Ensure this value is between 1 and {INT_MAX}.")


def _check_options(
    options: list[QuestionOptionIn], problems: Problems
) -> list[tuple[Multilingual, str | None, int | None]]:
    checked: list[tuple[Multilingual, str | None, int | None]] = []
    nested: list[dict[str, list[str]]] = []
    seen: set[str] = set()
    for option in options:
        errors: dict[str, list[str]] = {}
        if option.answer is msgspec.UNSET:
            errors["answer"] = ["This field is required."]
        elif (problem := check_multilingual(option.answer, blank_ok=False)) is not None:
            errors["answer"] = [problem]
        identifier = None if option.identifier is msgspec.UNSET else option.identifier
        if identifier is not None:
            if (problem := check_identifier(identifier)) is not None:
                errors["identifier"] = [problem]
            elif identifier in seen:
                errors["identifier"] = ["This identifier is used by more than one option."]
            seen.add(identifier)
        position = None if option.position is msgspec.UNSET else option.position
        if position is not None and (problem := check_position(position)) is not None:
            errors["position"] = [problem]
        nested.append(errors)
        checked.append((option.answer if isinstance(option.answer, dict) else {}, identifier, position))
    if any(nested):
        problems.errors["options"] = nested
    return checked


def dependents(call: Call, question: Question) -> list[Question]:
    return list(call.session.scalars(select(Question).where(Question.dependency_question_id == question.id)))


def _check_dependency(
    call: Call, event: Event, values: dict[str, Any], existing: Question | None, problems: Problems
) -> None:
    dependency_id = values.get("dependency_question")
    if dependency_id is None:
        values["dependency_values"] = []
        return
    dependency = call.session.get(Question, dependency_id) if possible_id(dependency_id) else None
    if dependency is None or dependency.event_id != event.id:
        problems.add("dependency_question", f'Invalid pk "{dependency_id}" - object does not exist.')
        return
    if values.get("ask_during_checkin"):
        problems.add("dependency_question", "Questions asked during check-in cannot depend on other questions.")
    if dependency.ask_during_checkin:
        problems.add("dependency_question", "A question cannot depend on a question asked during check-in.")
    if dependency.type not in DEPENDABLE_TYPES:
        problems.add("dependency_question", "A question can only depend on a yes/no or a choice question.")
        return
    seen = {existing.id} if existing is not None else set()
    step: Question | None = dependency
    while step is not None:
        if step.id in seen:
            problems.add("dependency_question", "Circular dependency between questions detected.")
            return
        seen.add(step.id)
        step = call.session.get(Question, step.dependency_question_id) if step.dependency_question_id else None
    wanted = list(dict.fromkeys(values.get("dependency_values") or []))
    values["dependency_values"] = wanted
    if not wanted:
        problems.add("dependency_values", "Name at least one answer of the dependency question.")
        return
    allowed = BOOLEAN_VALUES if dependency.type == "B" else [option.identifier for option in dependency.options]
    unknown = [value for value in wanted if value not in allowed]
    if unknown:
        problems.add(
            "dependency_values",
            f"Not an answer of the dependency question: {', '.join(unknown)}. Use {', '.join(allowed) or 'nothing'}.",
        )


def validate(call: Call, event: Event, values: dict[str, Any], existing: Question | None) -> dict[str, Any]:
    """Check the complete intended state of a question; returns it ready to apply, or raises ``FieldErrors``."""
    problems = Problems()
    for field in REQUIRED:
        if values.get(field) is None:
            problems.add(field, "This field is required." if field not in values else "This field may not be null.")
    if values.get("question") is not None and (problem := check_multilingual(values["question"], blank_ok=False)):
        problems.add("question", problem)
    if values.get("help_text") is None:
        values["help_text"] = {}
    if values.get("type") is not None and values["type"] not in QUESTION_TYPES:
        problems.add("type", f'"{values["type"]}" is not a valid choice.')
    if values.get("position") is not None and (problem := check_position(values["position"])):
        problems.add("position", problem)
    identifier = values.get("identifier")
    if identifier is not None:
        if (problem := check_identifier(identifier)) is not None:
            problems.add("identifier", problem)
        else:
            clash = select(Question.id).where(Question.event_id == event.id, Question.identifier == identifier)
            if existing is not None:
                clash = clash.where(Question.id != existing.id)
            if call.session.scalar(clash) is not None:
                problems.add("identifier", "This identifier is already used for a different question.")
    item_ids = list(dict.fromkeys(values.get("items") or []))
    values["items"] = item_ids
    if item_ids:
        candidates = [item_id for item_id in item_ids if possible_id(item_id)]
        known = set(call.session.scalars(select(Item.id).where(Item.event_id == event.id, Item.id.in_(candidates))))
        for missing in [item_id for item_id in item_ids if item_id not in known]:
            problems.add("items", f'Invalid pk "{missing}" - object does not exist.')
    _check_numbers(values, problems)
    if values.get("show_during_checkin") and values.get("type") in NOT_SHOWN_DURING_CHECKIN:
        problems.add("show_during_checkin", "This type of question cannot be shown during check-in.")
    if existing is not None and dependents(call, existing):
        if values.get("type") not in DEPENDABLE_TYPES:
            problems.add(
                "type", "Other questions depend on this question, so it must stay a yes/no or choice question."
            )
        if values.get("ask_during_checkin"):
            problems.add(
                "ask_during_checkin", "Other questions depend on this question, so it cannot be asked during check-in."
            )
    _check_dependency(call, event, values, existing, problems)
    problems.raise_if_any()
    return values


def _normalise(data: QuestionIn) -> dict[str, Any]:
    values = sent_fields(data)
    # The deprecated single value stands in for the list when only it is sent.
    legacy = values.pop("dependency_value", msgspec.UNSET)
    if legacy is not msgspec.UNSET and "dependency_values" not in values:
        values["dependency_values"] = [legacy] if legacy is not None else []
    if "dependency_values" in values and values["dependency_values"] is None:
        values["dependency_values"] = []
    return values


def _apply(call: Call, event: Event, question: Question, values: dict[str, Any]) -> dict[str, Any]:
    """Write validated values onto ``question``; returns what changed (for the audit log)."""
    changed: dict[str, Any] = {}
    for name in COLUMNS:
        if name in values and getattr(question, name) != values[name]:
            setattr(question, name, values[name])
            changed[name] = values[name]
    if "dependency_question" in values and question.dependency_question_id != values["dependency_question"]:
        question.dependency_question_id = values["dependency_question"]
        changed["dependency_question"] = values["dependency_question"]
    if "items" in values:
        current = sorted(item.id for item in question.items)
        if current != sorted(values["items"]):
            question.items = list(
                call.session.scalars(select(Item).where(Item.event_id == event.id, Item.id.in_(values["items"])))
            )
            changed["items"] = values["items"]
    return changed


def _filtered(call: Call, event: Event) -> Select[Any]:
    statement = select(Question).where(Question.event_id == event.id).options(selectinload(Question.options))
    if "identifier" in call.query:
        statement = statement.where(Question.identifier == call.query["identifier"])
    for name in ("ask_during_checkin", "required"):
        flag = parse_bool(call.query, name)
        if flag is not None:
            statement = statement.where(getattr(Question, name).is_(flag))
    return statement


BASE = "/api/v1/organizers/{organizer:str}/events/{event:str}/questions/"


@get(BASE, tags=["questions"])
async def list_questions(
    request: Request, organizer: FromPath[str], event: FromPath[str]
) -> Response[Page[QuestionOut]]:
    """Questions of the event with their options; filter by ``identifier``, ``ask_during_checkin``, ``required``;
    ``ordering`` by ``id`` or ``position``. Sends ``Last-Modified`` (answers ``If-Modified-Since`` with 304)."""

    def work(call: Call) -> Page[QuestionOut]:
        target = call.event(organizer, event)
        call.last_modified(target, LIST_RESOURCE)
        item_ids: dict[int, list[int]] = {}

        def prepare(rows: list[Question]) -> None:
            item_ids.update(item_ids_by_question(call, [row.id for row in rows]))

        return call.paginate(
            _filtered(call, target),
            lambda question: serialize(question, item_ids[question.id]),
            ordering={"id": Question.id, "position": Question.position},
            default_ordering=[Question.position, Question.id],
            prepare=prepare,
        )

    return await in_call(request, work)


@get(BASE + "{id:int}/", tags=["questions"])
async def get_question_detail(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int]
) -> Response[QuestionOut]:
    """One question with its options."""

    def work(call: Call) -> QuestionOut:
        return serialize_one(call, get_question(call, call.event(organizer, event), id))

    return await in_call(request, work)


@post(BASE, tags=["questions"], status_code=201)
async def create_question(
    request: Request, organizer: FromPath[str], event: FromPath[str], data: JSONBody[QuestionIn]
) -> Response[QuestionOut]:
    """Create a question; ``options`` (for choice questions) may be sent along and are created with it."""

    def work(call: Call) -> QuestionOut:
        target = call.event(organizer, event, WRITE_PERMISSION)
        values = _normalise(data)
        options = values.pop("options", None) or []
        problems = Problems()
        checked_options = _check_options(options, problems)
        try:
            values = validate(call, target, {**DEFAULTS, **values}, None)
        except FieldErrors as error:
            problems.errors = {**error.errors, **problems.errors}
        problems.raise_if_any()
        if values.get("identifier") is None:
            taken = call.session.scalars(select(Question.identifier).where(Question.event_id == target.id))
            values["identifier"] = random_identifier(taken)
        question = Question(event_id=target.id, question=values["question"], type=values["type"])
        question.event = target
        _apply(call, target, question, values)
        taken_options = [identifier for _, identifier, _ in checked_options if identifier]
        for index, (answer, identifier, position) in enumerate(checked_options):
            if identifier is None:
                identifier = random_identifier(taken_options)
                taken_options.append(identifier)
            question.options.append(
                QuestionOption(
                    answer=answer, identifier=identifier, position=index + 1 if position is None else position
                )
            )
        call.session.add(question)
        flush_or_conflict(call)
        logged = msgspec.to_builtins({**values, "options": [{"answer": a} for a, _, _ in checked_options]})
        call.log(question, "boxoffice.event.question.added", logged)
        touch_questions(call, target)
        return serialize_one(call, question)

    return await in_call(request, work, status_code=201)


def _update(call: Call, organizer: str, event: str, question_id: int, data: QuestionIn, *, full: bool) -> QuestionOut:
    target = call.event(organizer, event, WRITE_PERMISSION)
    question = get_question(call, target, question_id)
    sent = _normalise(data)
    if sent.pop("options", None) is not None:
        raise FieldErrors.single(
            "options", "Options cannot be changed here; use the options endpoint of this question."
        )
    if full:
        sent = {**DEFAULTS, **sent}
        sent.setdefault("identifier", question.identifier)
    values = validate(call, target, {**_current(call, question), **sent}, question)
    if values.get("identifier") is None:
        values["identifier"] = question.identifier
    changed = _apply(call, target, question, {key: values[key] for key in (*sent, "dependency_values")})
    if changed:
        flush_or_conflict(call)
        call.log(question, "boxoffice.event.question.changed", msgspec.to_builtins(changed))
        touch_questions(call, target)
    return serialize_one(call, question)


@patch(BASE + "{id:int}/", tags=["questions"])
async def update_question(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int], data: JSONBody[QuestionIn]
) -> Response[QuestionOut]:
    """Change the fields sent (``options`` are changed through ``…/questions/{id}/options/``)."""
    return await in_call(request, lambda call: _update(call, organizer, event, id, data, full=False))


@put(BASE + "{id:int}/", tags=["questions"])
async def replace_question(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int], data: JSONBody[QuestionIn]
) -> Response[QuestionOut]:
    """Replace the question: omitted fields are reset to their defaults (the identifier is kept)."""
    return await in_call(request, lambda call: _update(call, organizer, event, id, data, full=True))


@delete(BASE + "{id:int}/", tags=["questions"], status_code=204)
async def delete_question(
    request: Request, organizer: FromPath[str], event: FromPath[str], id: FromPath[int]
) -> Response[None]:
    """Delete a question with its options; questions that depended on it are shown unconditionally again."""

    def work(call: Call) -> None:
        target = call.event(organizer, event, WRITE_PERMISSION)
        question = get_question(call, target, id)
        for dependent in dependents(call, question):
            dependent.dependency_question_id = None
            dependent.dependency_values = []
            call.log(
                dependent, "boxoffice.event.question.changed", {"dependency_question": None, "dependency_values": []}
            )
        call.log(question, "boxoffice.event.question.deleted", {"identifier": question.identifier})
        call.session.delete(question)
        touch_questions(call, target)

    return await in_call(request, work, status_code=204)


ROUTES = [list_questions, get_question_detail, create_question, update_question, replace_question, delete_question]
