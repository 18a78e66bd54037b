"""Options of choice questions: list, detail, create, update (PATCH and PUT), delete.

Options are part of the question list's payload, so every change here also moves the question list's
``Last-Modified``.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody
from sqlalchemy import func, select

from boxoffice.apps.api.errors import Problems
from boxoffice.apps.api.resources.questions import (
    WRITE_PERMISSION,
    QuestionOptionIn,
    QuestionOptionOut,
    check_identifier,
    check_multilingual,
    check_position,
    dependents,
    flush_or_conflict,
    get_question,
    random_identifier,
    serialize_option,
    touch_questions,
)
from boxoffice.apps.api.toolkit import Call, Page, in_call, parse_bool, sent_fields
from boxoffice.kernel.models.questions import Question, QuestionOption

BASE = "/api/v1/organizers/{organizer:str}/events/{event:str}/questions/{question:int}/options/"


def _scope(call: Call, organizer: str, event: str, question_id: int, permission: str | None = None) -> Question:
    return get_question(call, call.event(organizer, event, permission), question_id)


def _get_option(call: Call, question: Question, option_id: int) -> QuestionOption:
    return call.get(QuestionOption, option_id, question_id=question.id)


def _validate(call: Call, question: Question, values: dict[str, Any], existing: QuestionOption | None) -> None:
    problems = Problems()
    if "answer" not in values:
        problems.add("answer", "This field is required.")
    elif (problem := check_multilingual(values["answer"], blank_ok=False)) is not None:
        problems.add("answer", problem)
    if (identifier := values.get("identifier")) is not None:
        if (problem := check_identifier(identifier)) is not None:
            problems.add("identifier", problem)
        else:
            clash = select(QuestionOption.id).where(
                QuestionOption.question_id == question.id, QuestionOption.identifier == identifier
            )
            if existing is not None:
                clash = clash.where(QuestionOption.id != existing.id)
            if call.session.scalar(clash) is not None:
                problems.add("identifier", "This identifier is already used for a different option.")
    if "position" in values and (problem := check_position(values["position"])) is not None:
        problems.add("position", problem)
    problems.raise_if_any()


def _follow_identifier(call: Call, question: Question, old: str, new: str | None) -> None:
    """Keep questions that depend on an option pointing at it when it is renamed (``new``) or deleted (None).

    A dependent left without any value would never be shown, so it loses its dependency instead.
    """
    for dependent in dependents(call, question):
        values = list(dependent.dependency_values or [])
        if old not in values:
            continue
        values = [new if value == old else value for value in values if new is not None or value != old]
        changes: dict[str, Any] = {"dependency_values": values}
        if not values:
            dependent.dependency_question_id = None
            changes["dependency_question"] = None
        dependent.dependency_values = values
        call.log(dependent, "boxoffice.event.question.changed", changes)


@get(BASE, tags=["questions"])
async def list_options(
    request: Request, organizer: FromPath[str], event: FromPath[str], question: FromPath[int]
) -> Response[Page[QuestionOptionOut]]:
    """Options of one question in their order. ``active=false`` yields none: options cannot be deactivated."""

    def work(call: Call) -> Page[QuestionOptionOut]:
        owner = _scope(call, organizer, event, question)
        statement = select(QuestionOption).where(QuestionOption.question_id == owner.id)
        if parse_bool(call.query, "active") is False:
            statement = statement.where(QuestionOption.id.is_(None))
        return call.paginate(
            statement,
            serialize_option,
            ordering={"id": QuestionOption.id, "position": QuestionOption.position},
            default_ordering=[QuestionOption.position, QuestionOption.id],
        )

    return await in_call(request, work)


@get(BASE + "{id:int}/", tags=["questions"])
async def get_option(
    request: Request, organizer: FromPath[str], event: FromPath[str], question: FromPath[int], id: FromPath[int]
) -> Response[QuestionOptionOut]:
    """One option."""

    def work(call: Call) -> QuestionOptionOut:
        return serialize_option(_get_option(call, _scope(call, organizer, event, question), id))

    return await in_call(request, work)


@post(BASE, tags=["questions"], status_code=201)
async def create_option(
    request: Request,
    organizer: FromPath[str],
    event: FromPath[str],
    question: FromPath[int],
    data: JSONBody[QuestionOptionIn],
) -> Response[QuestionOptionOut]:
    """Add an option; without ``identifier`` one is generated, without ``position`` it goes last."""

    def work(call: Call) -> QuestionOptionOut:
        owner = _scope(call, organizer, event, question, WRITE_PERMISSION)
        values = sent_fields(data)
        _validate(call, owner, values, None)
        if values.get("identifier") is None:
            taken = call.session.scalars(
                select(QuestionOption.identifier).where(QuestionOption.question_id == owner.id)
            )
            values["identifier"] = random_identifier(taken)
        if "position" not in values:
            last = call.session.scalar(
                select(func.max(QuestionOption.position)).where(QuestionOption.question_id == owner.id)
            )
            values["position"] = 1 if last is None else min(last + 1, 2**31 - 1)
        option = QuestionOption(question=owner, **values)
        call.session.add(option)
        flush_or_conflict(call)
        call.log(owner, "boxoffice.event.question.option.added", {"id": option.id, **msgspec.to_builtins(values)})
        touch_questions(call, owner.event)
        return serialize_option(option)

    return await in_call(request, work, status_code=201)


def _update(
    call: Call, organizer: str, event: str, question_id: int, option_id: int, data: QuestionOptionIn, *, full: bool
) -> QuestionOptionOut:
    owner = _scope(call, organizer, event, question_id, WRITE_PERMISSION)
    option = _get_option(call, owner, option_id)
    sent = sent_fields(data)
    if sent.get("identifier", option.identifier) is None:
        sent.pop("identifier")
    if full:
        sent = {"position": 0, **sent}
        _validate(call, owner, sent, option)
    else:
        _validate(call, owner, {"answer": option.answer, **sent}, option)
    changed = {key: value for key, value in sent.items() if getattr(option, key) != value}
    if "identifier" in changed:
        _follow_identifier(call, owner, option.identifier, changed["identifier"])
    for key, value in changed.items():
        setattr(option, key, value)
    if changed:
        flush_or_conflict(call)
        call.log(owner, "boxoffice.event.question.option.changed", {"id": option.id, **msgspec.to_builtins(changed)})
        touch_questions(call, owner.event)
    return serialize_option(option)


@patch(BASE + "{id:int}/", tags=["questions"])
async def update_option(
    request: Request,
    organizer: FromPath[str],
    event: FromPath[str],
    question: FromPath[int],
    id: FromPath[int],
    data: JSONBody[QuestionOptionIn],
) -> Response[QuestionOptionOut]:
    """Change the fields sent. Questions depending on a renamed identifier follow the rename."""
    return await in_call(request, lambda call: _update(call, organizer, event, question, id, data, full=False))


@put(BASE + "{id:int}/", tags=["questions"])
async def replace_option(
    request: Request,
    organizer: FromPath[str],
    event: FromPath[str],
    question: FromPath[int],
    id: FromPath[int],
    data: JSONBody[QuestionOptionIn],
) -> Response[QuestionOptionOut]:
    """Replace the option (``answer`` required; an omitted ``position`` becomes 0, the identifier is kept)."""

    return await in_call(request, lambda call: _update(call, organizer, event, question, id, data, full=True))


@delete(BASE + "{id:int}/", tags=["questions"], status_code=204)
async def delete_option(
    request: Request, organizer: FromPath[str], event: FromPath[str], question: FromPath[int], id: FromPath[int]
) -> Response[None]:
    """Delete an option; questions shown only for it lose that condition."""

    def work(call: Call) -> None:
        owner = _scope(call, organizer, event, question, WRITE_PERMISSION)
        option = _get_option(call, owner, id)
        _follow_identifier(call, owner, option.identifier, None)
        call.log(owner, "boxoffice.event.question.option.deleted", {"id": option.id, "identifier": option.identifier})
        owner.options.remove(option)
        call.session.delete(option)
        touch_questions(call, owner.event)

    return await in_call(request, work, status_code=204)


ROUTES = [list_options, get_option, create_option, update_option, replace_option, delete_option]
