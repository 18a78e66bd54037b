"""Redeeming one scan: find the ticket, decide, record the outcome.

The decision follows pretix's order: unknown or revoked secret → canceled ticket → block → order awaiting approval
→ validity window (entries) → product on the list → date of the list → payment → custom rules and plugins
(entries) → questions asked at check-in → earlier entries. ``force`` (a scanner uploading scans it already let
through offline) skips the revoked, questions and earlier-entries checks.

Two scanners redeeming the same ticket at the same moment are serialised on the ticket's row: PostgreSQL locks it
(``SELECT … FOR UPDATE``) while looking it up, SQLite writes it first (taking its single write lock); the earlier
entries are read only under that lock, so exactly one of them is admitted. A retried request carrying the same
``nonce`` finds the check-in it made the first time and records nothing new.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, Update, bindparam, exists, select, update
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from boxoffice.hookspecs.providers import ValidationFailure
from boxoffice.kernel import clock
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.checkin.queries import inside_positions, product_allowed
from boxoffice.kernel.checkin.rules import RuleContext, RuleError, evaluate, explain, uses_entries
from boxoffice.kernel.i18n import gettext, localize
from boxoffice.kernel.models.checkin import (
    REASON_ALREADY_REDEEMED,
    REASON_AMBIGUOUS,
    REASON_ANNULLED,
    REASON_BLOCKED,
    REASON_CANCELED,
    REASON_INCOMPLETE,
    REASON_INVALID,
    REASON_INVALID_TIME,
    REASON_PRODUCT,
    REASON_REVOKED,
    REASON_RULES,
    REASON_UNAPPROVED,
    REASON_UNPAID,
    TYPE_ENTRY,
    TYPE_EXIT,
    Checkin,
    CheckinList,
    checkin_list_items,
)
from boxoffice.kernel.models.items import Item
from boxoffice.kernel.models.orders import (
    STATUS_CANCELED,
    STATUS_EXPIRED,
    STATUS_PENDING,
    InvoiceAddress,
    OrderPosition,
    PrintLog,
    QuestionAnswer,
    RevokedSecret,
)
from boxoffice.kernel.models.questions import Question, question_items
from boxoffice.kernel.models.subevents import SubEvent
from boxoffice.kernel.orders.answers import AnswerProblem, normalise_answer
from boxoffice.kernel.orders.drafts import AnswerDraft

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel

STATUS_OK = "ok"
STATUS_INCOMPLETE = "incomplete"
STATUS_ERROR = "error"
ACTION = "boxoffice.event.checkin"
# How long after a check-in the scanner that made it may still annul it.
ANNUL_WINDOW = timedelta(minutes=15)


class CheckinRefused(ValueError):
    """A request about check-ins that cannot be carried out (annulment); ``status_code`` says how the API answers."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


@dataclass
class Scan:
    """One scan as a scanner reports it."""

    secret: str
    lists: Sequence[CheckinList]
    actor: Actor
    type: str = TYPE_ENTRY
    moment: datetime | None = None
    force: bool = False
    questions_supported: bool = True
    ignore_unpaid: bool = False
    answers: Mapping[str, Any] = field(default_factory=dict)
    nonce: str | None = None
    source_type: str = "barcode"
    # The legacy endpoint reports canceled tickets as unpaid to clients that do not know ``canceled``.
    canceled_supported: bool = True
    # The legacy endpoint may name the ticket by id instead of secret.
    position_id: int | None = None
    device_pk: int | None = None
    gate_id: int | None = None
    # Explanations in the language of the ticket's order instead of the request's.
    use_order_locale: bool = False

    def locale(self, position: OrderPosition) -> str | None:
        """The language of this scan's explanations (``None``: the current request's)."""
        return position.order.locale if self.use_order_locale and position.order.locale else None


@dataclass
class ScanResult:
    status: str
    reason: str | None = None
    explanation: str | None = None
    position: OrderPosition | None = None
    checkin_list: CheckinList | None = None
    checkin: Checkin | None = None
    questions: list[Question] = field(default_factory=list)
    # Successful scans of the position on the list, oldest first (after this one).
    history: list[Checkin] = field(default_factory=list)
    # What the ticket's lookup already read about ``position`` (for building the answer without asking again).
    lookup: Found | None = None


def event_zone(checkin_list: CheckinList) -> ZoneInfo:
    try:
        return ZoneInfo(checkin_list.event.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


# --- finding the ticket ------------------------------------------------------------------------------------------


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


@dataclass
class Found:
    """A ticket found by its secret, with two facts the decision needs, read in the same statement: whether its
    product is among the limited products of the scan's lists, and whether its product has questions asked at
    check-in (only then are they loaded). The lookup also marks absent answers and invoice address as loaded, and
    reads for the answer whether the ticket has print logs and its product's check-in flags."""

    position: OrderPosition
    listed: bool
    asks_questions: bool
    print_logged: bool = True
    # The product's (checkin_attention, checkin_text); ``None``: not read.
    product_flags: tuple[bool, str | None] | None = None


@cache
def _lookup_statement(by_id: bool, lock: bool) -> Select[Any]:
    """The ticket's lookup, built once per shape (building and cache-keying it cost more CPU than running it);
    parameters ``list_ids`` and ``secret`` or ``position_id``."""
    # Only the secret (or id) narrows the statement: the planner then always starts from its index, even when
    # the tables' statistics are stale; the event is checked on the rows found.
    listed = (
        exists()
        .where(
            checkin_list_items.c.item_id == OrderPosition.item_id,
            checkin_list_items.c.checkin_list_id.in_(bindparam("list_ids", expanding=True)),
        )
        .correlate(OrderPosition)
    )
    asks_questions = (
        exists()
        .where(
            question_items.c.item_id == OrderPosition.item_id,
            question_items.c.question_id == Question.id,
            Question.ask_during_checkin.is_(True),
        )
        .correlate(OrderPosition)
    )
    # Most tickets have no answers and no invoice address: knowing it from this statement saves the answer's two
    # loads of them.
    has_answers = exists().where(QuestionAnswer.orderposition_id == OrderPosition.id).correlate(OrderPosition)
    has_address = exists().where(InvoiceAddress.order_id == OrderPosition.order_id).correlate(OrderPosition)
    print_logged = exists().where(PrintLog.position_id == OrderPosition.id).correlate(OrderPosition)
    statement = (
        select(
            OrderPosition,
            listed,
            asks_questions,
            has_answers,
            has_address,
            print_logged,
            Item.checkin_attention,
            Item.checkin_text,
        )
        .join(Item, Item.id == OrderPosition.item_id)
        .options(joinedload(OrderPosition.order, innerjoin=True))
    )
    if by_id:
        statement = statement.where(OrderPosition.id == bindparam("position_id"))
    else:
        statement = statement.where(OrderPosition.secret == bindparam("secret"))
    if lock:
        statement = statement.with_for_update(of=OrderPosition)
    return statement


def _lookup(session: Session, scan: Scan, event_ids: list[int]) -> list[Found]:
    by_id = scan.position_id is not None
    statement = _lookup_statement(by_id, not _is_sqlite(session))
    parameters: dict[str, Any] = {"list_ids": [checkin_list.id for checkin_list in scan.lists]}
    parameters |= {"position_id": scan.position_id} if by_id else {"secret": scan.secret}
    found: list[Found] = []
    rows = session.execute(statement, parameters).unique()
    for position, is_listed, asks, answered, addressed, printed, attention, text in rows:
        if position.order.event_id not in event_ids:
            continue
        # Only for display, and only where no questions are asked at check-in: the answers are then never
        # written by this scan, so the statement's snapshot is as good as a read after the row lock.
        if not answered and not asks:
            set_committed_value(position, "answers", [])
        if not addressed:
            set_committed_value(position.order, "invoice_address", None)
        found.append(Found(position, bool(is_listed), bool(asks), bool(printed), (attention, text)))
    return found


def lock_position(session: Session, position: OrderPosition) -> None:
    """Serialise scans of one ticket. PostgreSQL: the lookup already took the row lock. SQLite: writing the row
    takes the database's write lock until commit (SQLite has no row locks); read what matters only afterwards."""
    if _is_sqlite(session):
        session.execute(_lock_statement(), {"position_id": position.id})


@cache
def _lock_statement() -> Update:
    # On the table, not the entity: an ORM update is re-annotated and cache-keyed on every execution, and the
    # row is written back unchanged, so the session has nothing to synchronise.
    positions = OrderPosition.__table__
    return update(positions).where(positions.c.id == bindparam("position_id")).values(positionid=positions.c.positionid)


def _revoked(session: Session, scan: Scan, event_ids: list[int]) -> Found | None:
    if scan.position_id is not None:
        return None
    position_id = session.scalar(
        select(RevokedSecret.position_id)
        .where(RevokedSecret.event_id.in_(event_ids), RevokedSecret.secret == scan.secret)
        .order_by(RevokedSecret.id.desc())
        .limit(1)
    )
    if position_id is None:
        return None
    found = _lookup(session, Scan(scan.secret, scan.lists, scan.actor, position_id=position_id), event_ids)
    return found[0] if found else None


def _prefer_live(candidates: list[Found]) -> list[Found]:
    live = [found for found in candidates if not found.position.canceled]
    return live or candidates


# --- the decision ------------------------------------------------------------------------------------------------


def redeem(kernel: Kernel, session: Session, scan: Scan) -> ScanResult:
    """Decide about ``scan`` and record it (a check-in, or a refused scan with its reason); the caller commits."""
    looked_up: list[Found] = []
    result = _decide(kernel, session, scan, looked_up)
    if looked_up and result.position is looked_up[-1].position:
        result.lookup = looked_up[-1]
    return result


def _decide(kernel: Kernel, session: Session, scan: Scan, looked_up: list[Found]) -> ScanResult:
    if not scan.lists:
        raise CheckinRefused("No check-in list given.")
    moment = scan.moment or clock.now()
    lists_by_event = {checkin_list.event_id: checkin_list for checkin_list in scan.lists}
    event_ids = list(lists_by_event)
    revoked = False
    candidates = _prefer_live(_lookup(session, scan, event_ids))
    if not candidates:
        revoked_ticket = _revoked(session, scan, event_ids)
        if revoked_ticket is None:
            return _refuse(kernel, session, scan, scan.lists[0], None, REASON_INVALID, None, moment)
        candidates, revoked = [revoked_ticket], True
    if len(candidates) > 1:
        return _refuse(kernel, session, scan, scan.lists[0], None, REASON_AMBIGUOUS, None, moment)
    found = candidates[0]
    looked_up.append(found)
    position = found.position
    checkin_list = lists_by_event[position.order.event_id]
    if checkin_list.addon_match and not (checkin_list.all_products or found.listed):
        matched = _matching_addons(session, checkin_list, position)
        if len(matched) > 1:
            return _refuse(kernel, session, scan, checkin_list, position, REASON_AMBIGUOUS, None, moment)
        if matched:
            # The add-on is on the list by construction; whether it asks questions is looked up.
            found = Found(matched[0], listed=True, asks_questions=True)
            looked_up.append(found)
            position = found.position
    lock_position(session, position)
    history = list(session.scalars(_history_statement(), {"position_id": position.id, "list_id": checkin_list.id}))
    if scan.nonce:
        earlier = next((checkin for checkin in history if checkin.nonce == scan.nonce), None)
        if earlier is not None:
            return ScanResult(STATUS_OK, position=position, checkin_list=checkin_list, checkin=earlier, history=history)

    refusal = _basic_checks(scan, checkin_list, found, moment, revoked=revoked)
    if refusal is not None:
        reason, explanation = refusal
        return _refuse(kernel, session, scan, checkin_list, position, reason, explanation, moment, history=history)

    if scan.type == TYPE_ENTRY and checkin_list.rules and not scan.force:
        context = _rule_context(session, checkin_list, position, scan, moment, history)
        try:
            passed = evaluate(checkin_list.rules, context)
            explanation = None if passed else explain(checkin_list.rules, context)
        except RuleError as problem:
            passed, explanation = False, str(problem)
        if not passed:
            return _refuse(kernel, session, scan, checkin_list, position, REASON_RULES, explanation, moment, history)

    if not scan.force:
        try:
            kernel.plugins.for_event(checkin_list.event).validate_checkin(
                event=checkin_list.event, position=position, checkin_list=checkin_list, checkin_type=scan.type
            )
        except ValidationFailure as failure:
            return _refuse(
                kernel, session, scan, checkin_list, position, REASON_RULES, failure.message, moment, history
            )

    if scan.type == TYPE_ENTRY:
        open_questions, answer_problem = (
            _ask_questions(session, checkin_list, position, scan) if found.asks_questions else ([], None)
        )
        if open_questions and scan.questions_supported and not scan.force:
            return ScanResult(
                STATUS_INCOMPLETE,
                reason=REASON_INCOMPLETE,
                explanation=answer_problem,
                position=position,
                checkin_list=checkin_list,
                questions=open_questions,
                history=history,
            )
        if not scan.force and not _entry_allowed(checkin_list, history):
            return _refuse(
                kernel, session, scan, checkin_list, position, REASON_ALREADY_REDEEMED, None, moment, history
            )

    checkin = Checkin(
        checkin_list=checkin_list,
        list_id=checkin_list.id,
        position_id=position.id,
        successful=True,
        type=scan.type,
        datetime=moment,
        created=clock.now(),
        forced=scan.force,
        nonce=scan.nonce,
        device_id=scan.device_pk,
        gate_id=scan.gate_id,
        raw_barcode=None if scan.position_id is not None else scan.secret,
        raw_source_type=scan.source_type,
    )
    session.add(checkin)
    _record(kernel, session, checkin, position)
    return ScanResult(
        STATUS_OK, position=position, checkin_list=checkin_list, checkin=checkin, history=[*history, checkin]
    )


@cache
def _history_statement() -> Select[tuple[Checkin]]:
    """The ticket's successful scans on the list, oldest first (built once; parameters ``position_id``,
    ``list_id``)."""
    return (
        select(Checkin)
        .where(
            Checkin.position_id == bindparam("position_id"),
            Checkin.list_id == bindparam("list_id"),
            Checkin.successful,
        )
        .order_by(Checkin.datetime, Checkin.id)
    )


def _matching_addons(session: Session, checkin_list: CheckinList, position: OrderPosition) -> list[OrderPosition]:
    addons = session.scalars(
        select(OrderPosition)
        .where(OrderPosition.addon_to_id == position.id, OrderPosition.canceled.is_(False))
        .options(selectinload(OrderPosition.order))
    )
    return [
        addon
        for addon in addons
        if product_allowed(checkin_list, addon.item_id)
        and (checkin_list.subevent_id is None or addon.subevent_id == checkin_list.subevent_id)
    ]


def _basic_checks(
    scan: Scan, checkin_list: CheckinList, found: Found, moment: datetime, *, revoked: bool
) -> tuple[str, str | None] | None:
    position = found.position
    order = position.order
    if position.canceled or order.status in (STATUS_CANCELED, STATUS_EXPIRED):
        return (REASON_CANCELED if scan.canceled_supported else REASON_UNPAID), None
    if position.blocked:
        return REASON_BLOCKED, None
    if order.status == STATUS_PENDING and order.require_approval:
        return REASON_UNAPPROVED, None
    if scan.type == TYPE_ENTRY:
        zone = event_zone(checkin_list)
        locale = scan.locale(position)
        if position.valid_from is not None and moment < position.valid_from:
            shown = position.valid_from.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            return REASON_INVALID_TIME, gettext("This ticket is only valid after {moment}.", locale).format(
                moment=shown
            )
        if position.valid_until is not None and moment > position.valid_until:
            shown = position.valid_until.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            return REASON_INVALID_TIME, gettext("This ticket was only valid until {moment}.", locale).format(
                moment=shown
            )
    if not (checkin_list.all_products or found.listed):
        return REASON_PRODUCT, None
    if checkin_list.subevent_id is not None and position.subevent_id != checkin_list.subevent_id:
        return REASON_INVALID, None
    pending_admitted = order.valid_if_pending or (checkin_list.include_pending and scan.ignore_unpaid)
    if order.status == STATUS_PENDING and not pending_admitted:
        return REASON_UNPAID, None
    if revoked and not scan.force:
        return REASON_REVOKED, None
    return None


def _entry_allowed(checkin_list: CheckinList, history: list[Checkin]) -> bool:
    if checkin_list.allow_multiple_entries or not history:
        return True
    if not any(checkin.type == TYPE_ENTRY for checkin in history):
        return True
    return history[-1].type == TYPE_EXIT and checkin_list.allow_entry_after_exit


def _rule_context(
    session: Session,
    checkin_list: CheckinList,
    position: OrderPosition,
    scan: Scan,
    moment: datetime,
    history: list[Checkin],
) -> RuleContext:
    event = checkin_list.event
    date_from, date_to, date_admission = event.date_from, event.date_to, event.date_admission
    if position.subevent_id is not None:
        subevent = session.get(SubEvent, position.subevent_id)
        if subevent is not None:
            date_from, date_to, date_admission = subevent.date_from, subevent.date_to, subevent.date_admission
    entries = (
        [checkin.datetime for checkin in history if checkin.type == TYPE_ENTRY]
        if uses_entries(checkin_list.rules)
        else []
    )
    return RuleContext(
        now=moment,
        zone=event_zone(checkin_list),
        product=position.item_id,
        variation=position.variation_id,
        gate=scan.gate_id,
        entries=entries,
        date_from=date_from,
        date_to=date_to,
        date_admission=date_admission,
        locale=scan.locale(position),
    )


def _ask_questions(
    session: Session, checkin_list: CheckinList, position: OrderPosition, scan: Scan
) -> tuple[list[Question], str | None]:
    """Store the answers the scan brings; return the questions asked at check-in that are still open (required
    ones without an answer; optional ones not yet answered and not skipped in this scan) and the first problem
    with a given answer."""
    questions = list(
        session.scalars(
            select(Question)
            .join(question_items, question_items.c.question_id == Question.id)
            .where(
                question_items.c.item_id == position.item_id,
                Question.event_id == checkin_list.event_id,
                Question.ask_during_checkin.is_(True),
            )
            .order_by(Question.position, Question.id)
            .options(selectinload(Question.options))
        )
    )
    if not questions:
        return [], None
    answered = {answer.question_id: answer for answer in position.answers}
    given = {str(key): value for key, value in scan.answers.items()}
    zone = event_zone(checkin_list)
    still_open: list[Question] = []
    problem: str | None = None
    for question in questions:
        raw = given.get(str(question.id))
        if raw is not None and str(raw).strip():
            draft = _draft(question, raw)
            try:
                text, option_ids = normalise_answer(question, draft, zone=zone)
            except AnswerProblem as error:
                problem = problem or f"{localize(question.question, scan.locale(position))}: {error}"
                still_open.append(question)
                continue
            existing = answered.get(question.id)
            if existing is None:
                existing = QuestionAnswer(orderposition_id=position.id, question_id=question.id)
                session.add(existing)
                position.answers.append(existing)
            existing.answer, existing.option_ids = text, option_ids
            continue
        if question.id in answered and answered[question.id].answer:
            continue
        if raw is not None and not question.required:
            continue
        still_open.append(question)
    return still_open, problem


def _draft(question: Question, raw: Any) -> AnswerDraft:
    if question.type in ("C", "M") and isinstance(raw, str):
        parts = [part.strip() for part in raw.split(",") if part.strip()]
        if parts and all(part.isdigit() for part in parts):
            return AnswerDraft(question=question.id, options=[int(part) for part in parts])
    return AnswerDraft(question=question.id, answer=raw)


# --- recording ---------------------------------------------------------------------------------------------------


def _record(kernel: Kernel, session: Session, checkin: Checkin, position: OrderPosition | None) -> None:
    """Audit-log the scan and tell plugins. The audit log's flush writes the check-in together with its entry (one
    flush instead of two); plugins then see the check-in with its id."""
    checkin_list = checkin.checkin_list
    action = ACTION if checkin.successful else ACTION + ".denied"
    data: dict[str, Any] = {
        "list": checkin_list.id,
        "type": checkin.type,
        "datetime": checkin.datetime.isoformat(),
        "forced": checkin.forced,
        "nonce": checkin.nonce,
    }
    if position is not None:
        data |= {"position": position.id, "positionid": position.positionid, "order": position.order.code}
    if not checkin.successful:
        data |= {"reason": checkin.error_reason, "explanation": checkin.error_explanation}
    subject: Any = position.order if position is not None else checkin_list.event
    kernel.log_action(session, subject, action, actor=_actor(checkin), data=data)
    kernel.plugins.for_event(checkin_list.event).checkin_created(
        event=checkin_list.event, checkin=checkin, session=session
    )


def _actor(checkin: Checkin) -> Actor:
    return Actor("device", str(checkin.device_id)) if checkin.device_id is not None else Actor.system()


def _refuse(
    kernel: Kernel,
    session: Session,
    scan: Scan,
    checkin_list: CheckinList,
    position: OrderPosition | None,
    reason: str,
    explanation: str | None,
    moment: datetime,
    history: list[Checkin] | None = None,
) -> ScanResult:
    checkin = record_failed(
        kernel,
        session,
        checkin_list,
        reason=reason,
        explanation=explanation,
        moment=moment,
        checkin_type=scan.type,
        position=position,
        raw_barcode=scan.secret if scan.position_id is None else None,
        source_type=scan.source_type,
        device_pk=scan.device_pk,
        gate_id=scan.gate_id,
        nonce=scan.nonce,
        actor=scan.actor,
    )
    return ScanResult(
        STATUS_ERROR,
        reason=reason,
        explanation=explanation,
        position=position,
        checkin_list=checkin_list,
        checkin=checkin,
        history=history or [],
    )


def record_failed(
    kernel: Kernel,
    session: Session,
    checkin_list: CheckinList,
    *,
    reason: str,
    explanation: str | None,
    moment: datetime,
    checkin_type: str,
    actor: Actor,
    position: OrderPosition | None = None,
    raw_barcode: str | None = None,
    source_type: str | None = None,
    raw_item_id: int | None = None,
    raw_variation_id: int | None = None,
    raw_subevent_id: int | None = None,
    device_pk: int | None = None,
    gate_id: int | None = None,
    nonce: str | None = None,
) -> Checkin:
    """Record a refused scan (the server's own decision, or one a scanner made offline and reports)."""
    checkin = Checkin(
        checkin_list=checkin_list,
        list_id=checkin_list.id,
        position_id=position.id if position is not None else None,
        successful=False,
        error_reason=reason,
        error_explanation=explanation,
        type=checkin_type,
        datetime=moment,
        created=clock.now(),
        device_id=device_pk,
        gate_id=gate_id,
        nonce=nonce,
        raw_barcode=raw_barcode,
        raw_source_type=source_type,
        raw_item_id=raw_item_id if raw_item_id is not None else (position.item_id if position else None),
        raw_variation_id=raw_variation_id if raw_variation_id is not None else (position and position.variation_id),
        raw_subevent_id=raw_subevent_id if raw_subevent_id is not None else (position and position.subevent_id),
    )
    session.add(checkin)
    _record(kernel, session, checkin, position)
    return checkin


# --- annulment and automatic exits -------------------------------------------------------------------------------


def annul(
    kernel: Kernel,
    session: Session,
    lists: Sequence[CheckinList],
    nonce: str,
    *,
    device_pk: int | None,
    actor: Actor,
    moment: datetime | None = None,
    explanation: str | None = None,
) -> Checkin:
    """Revert a check-in a scanner made by mistake (a turnstile that did not turn), found by its nonce. Only the
    scanner that made it may, within :data:`ANNUL_WINDOW`; the check-in stays in the history, unsuccessful, with
    the reason ``annulled``."""
    found = list(
        session.scalars(
            select(Checkin)
            .where(Checkin.nonce == nonce, Checkin.list_id.in_([checkin_list.id for checkin_list in lists]))
            .options(selectinload(Checkin.checkin_list).selectinload(CheckinList.event))
        )
    )
    if not found:
        raise CheckinRefused("No check-in with this nonce.", status_code=404)
    if len(found) > 1:
        raise CheckinRefused("More than one check-in carries this nonce.")
    checkin = found[0]
    if checkin.device_id != device_pk:
        raise CheckinRefused("Only the device that made the check-in may annul it.")
    if not checkin.successful:
        reason = "already annulled" if checkin.error_reason == REASON_ANNULLED else "not successful"
        raise CheckinRefused(f"This check-in is {reason}.")
    when = moment or clock.now()
    if abs(when - checkin.datetime) > ANNUL_WINDOW or clock.now() - checkin.created > ANNUL_WINDOW:
        raise CheckinRefused("This check-in is too old to be annulled.")
    checkin.successful = False
    checkin.error_reason = REASON_ANNULLED
    checkin.error_explanation = explanation
    session.flush()
    position = session.get(OrderPosition, checkin.position_id) if checkin.position_id is not None else None
    subject: Any = position.order if position is not None else checkin.checkin_list.event
    kernel.log_action(
        session,
        subject,
        ACTION + ".annulled",
        actor=actor,
        data={"checkin": checkin.id, "list": checkin.list_id, "nonce": nonce, "explanation": explanation},
    )
    event = checkin.checkin_list.event
    kernel.plugins.for_event(event).checkin_annulled(event=event, checkin=checkin, session=session)
    return checkin


def exit_everyone(kernel: Kernel, session: Session) -> int:
    """Lists whose ``exit_all_at`` has come: everyone inside gets an automatic exit at that moment, and the
    moment moves one day ahead (the next night's closing). Returns the number of exits recorded."""
    now = clock.now()
    recorded = 0
    due = session.scalars(
        select(CheckinList)
        .where(CheckinList.exit_all_at.is_not(None), CheckinList.exit_all_at <= now)
        .with_for_update(skip_locked=True)
    ).all()
    for checkin_list in due:
        moment = checkin_list.exit_all_at
        assert moment is not None
        for position_id in inside_positions(session, checkin_list.id, moment):
            session.add(
                Checkin(
                    list_id=checkin_list.id,
                    position_id=position_id,
                    successful=True,
                    type=TYPE_EXIT,
                    datetime=moment,
                    created=now,
                    auto_checked_in=True,
                )
            )
            recorded += 1
        while moment <= now:
            moment += timedelta(days=1)
        checkin_list.exit_all_at = moment
        kernel.log_action(
            session, checkin_list, ACTION + ".exit_all", actor=Actor.system(), data={"list": checkin_list.id}
        )
    session.flush()
    return recorded


def exit_all_job(context: Any) -> int:
    """Periodic job ``core.checkin_exit_all``: the automatic exits of lists whose ``exit_all_at`` has come."""
    with context.session() as session:
        return exit_everyone(context.kernel, session)
