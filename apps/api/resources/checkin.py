"""Check-in for scanning apps: the organizer-level RPC (``checkinrpc/redeem``, ``search``, ``annul``) and the event's
check-in history (``checkins``); plus what the per-list endpoints in :mod:`.checkinlists` share with them (loading
lists, the check-in view of a position, answering a scan).

Scanners authenticate as devices (``Authorization: Device …``) or with a team token that has the check-in
permission (``event.orders:checkin``, or ``event.orders:write``); searching and reading also works with
``event.orders:read``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import cache
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import contains_eager, selectinload

from boxoffice.apps.api.errors import ApiError, FieldErrors, forbidden, not_found
from boxoffice.apps.api.order_shape import OrderShaper, PositionOut, checkin_out
from boxoffice.apps.api.resources.items import lookup, render_item, serialize_variation
from boxoffice.apps.api.resources.orderpositions import POSITION_ORDERING, position_filters, positions_with_orders
from boxoffice.apps.api.resources.orders import page_generated, repeated_param
from boxoffice.apps.api.resources.questions import item_ids_by_question
from boxoffice.apps.api.resources.questions import serialize as serialize_question
from boxoffice.apps.api.resources.quotas import int_param
from boxoffice.apps.api.resources.subevents import serialize as serialize_subevent
from boxoffice.apps.api.toolkit import (
    Call,
    Page,
    decode_body,
    in_call,
    parse_bool,
    parse_datetime_param,
    possible_id,
    utc,
)
from boxoffice.kernel.checkin.queries import checked_in_on, last_checked_in, scope_of_lists
from boxoffice.kernel.checkin.redeem import (
    STATUS_ERROR,
    STATUS_INCOMPLETE,
    CheckinRefused,
    Found,
    Scan,
    ScanResult,
    annul,
    redeem,
)
from boxoffice.kernel.models import Event, Item, Organizer
from boxoffice.kernel.models.checkin import (
    CHECKIN_TYPES,
    ERROR_REASONS,
    REASON_INVALID,
    Checkin,
    CheckinList,
    checkin_list_gates,
)
from boxoffice.kernel.models.devices import Device
from boxoffice.kernel.models.items import ItemVariation
from boxoffice.kernel.models.orders import Order, OrderPosition
from boxoffice.kernel.models.questions import Question
from boxoffice.kernel.models.subevents import SubEvent
from boxoffice.kernel.orders.placement import format_name

CHECKIN_PERMISSIONS = ("event.orders:checkin", "event.orders:write")
READ_PERMISSIONS = ("event.orders:read", "event.orders:checkin", "event.orders:write")
RPC = "/api/v1/organizers/{organizer:str}/checkinrpc/"
HISTORY = "/api/v1/organizers/{organizer:str}/events/{event:str}/checkins/"
CHECKIN_POSITION_ORDERING: dict[str, Any] = {**POSITION_ORDERING, "order__email": Order.email}
EXPANDABLE = frozenset({"subevent", "item", "variation", "answers.question"})


def require_any(call: Call, permissions: Sequence[str]) -> None:
    if not any(call.principal.has_event_permission(permission) for permission in permissions):
        raise forbidden()


# --- lists ---------------------------------------------------------------------------------------------------------


@cache
def _organizer_lists_statement() -> Select[tuple[CheckinList]]:
    """Built once (building it cost more CPU than running it); parameters ``list_ids``, ``organizer`` (slug) and
    ``organizer_id`` (the caller's)."""
    return (
        select(CheckinList)
        .join(Event, Event.id == CheckinList.event_id)
        .join(Organizer, Organizer.id == Event.organizer_id)
        .where(
            CheckinList.id.in_(bindparam("list_ids", expanding=True)),
            Organizer.slug == bindparam("organizer"),
            Event.organizer_id == bindparam("organizer_id"),
        )
        .options(contains_eager(CheckinList.event).contains_eager(Event.organizer))
    )


def organizer_lists(call: Call, organizer: str, list_ids: Sequence[int], field: str = "lists") -> list[CheckinList]:
    """The caller's check-in lists with these ids, at most one per event; 403 for someone else's organizer, 404
    for a list that is not there. (One query on the scanning path: the organizer is checked with the lists.)"""
    wanted = list(dict.fromkeys(list_ids))
    if not wanted:
        call.organizer(organizer)
        raise FieldErrors.single(field, "This field is required.")
    found: dict[int, CheckinList] = {}
    if all(possible_id(list_id) for list_id in wanted):
        parameters = {"list_ids": wanted, "organizer": organizer, "organizer_id": call.principal.organizer_id}
        found = {
            checkin_list.id: checkin_list
            for checkin_list in call.session.scalars(_organizer_lists_statement(), parameters)
        }
    lists: list[CheckinList] = []
    for list_id in wanted:
        checkin_list = found.get(list_id)
        if checkin_list is None or not call.principal.can_see_event(checkin_list.event_id):
            call.organizer(organizer)
            raise not_found()
        lists.append(checkin_list)
    if len({checkin_list.event_id for checkin_list in lists}) != len(lists):
        raise FieldErrors.single(field, "Each check-in list must belong to a different event.")
    return lists


def scanner_gate(call: Call, lists: Sequence[CheckinList], field: str = "lists", *, enforce: bool = True) -> int | None:
    """The gate of the calling device (``None`` for team tokens and devices at no gate); ``400`` when one of
    ``lists`` is limited to other gates than the device's (unless not ``enforce``: a scan reported afterwards)."""
    if call.principal.device_pk is None:
        return None
    list_ids = [checkin_list.id for checkin_list in lists]
    rows = call.session.execute(
        select(Device.gate_id, checkin_list_gates.c.checkin_list_id, checkin_list_gates.c.gate_id)
        .select_from(Device)
        .outerjoin(checkin_list_gates, checkin_list_gates.c.checkin_list_id.in_(list_ids))
        .where(Device.id == call.principal.device_pk)
    ).all()
    gate_id = rows[0][0] if rows else None
    if gate_id is None:
        return None
    gates_of_list: dict[int, set[int]] = {}
    for _, list_id, list_gate in rows:
        if list_id is not None:
            gates_of_list.setdefault(list_id, set()).add(list_gate)
    if enforce and any(gate_id not in gates for gates in gates_of_list.values()):
        raise FieldErrors.single(field, "This check-in list is not used at the gate of this device.")
    return gate_id


def list_summary(checkin_list: CheckinList) -> dict[str, Any]:
    return {
        "id": checkin_list.id,
        "name": checkin_list.name,
        "event": checkin_list.event.slug,
        "subevent": checkin_list.subevent_id,
        "include_pending": checkin_list.include_pending,
    }


# --- the check-in view of a position -------------------------------------------------------------------------------


class CheckinShaper:
    """Positions as scanners see them: check-ins of the given lists only, ``require_attention``, the order's
    status, validity-while-pending, approval and locale, an attendee name taken from the parent ticket or the
    invoice address when the ticket has none, and ``expand`` (subevent, item, variation, answers.question)."""

    def __init__(self, call: Call, event: Event | None, list_ids: Sequence[int], expand: Sequence[str]) -> None:
        self.call = call
        self.list_ids = set(list_ids)
        self.expand = {name for name in expand if name in EXPANDABLE}
        # Payment details are not part of this view: no payment providers are built.
        self.orders = OrderShaper(call.session, event, call.kernel.config.site_url)
        self.parent_names: dict[int, str | None] = {}
        # (checkin_attention, checkin_text) of the positions' products and variations.
        self.item_flags: dict[int, tuple[bool, str | None]] = {}
        self.variation_flags: dict[int, tuple[bool, str | None]] = {}
        self.expanded: dict[tuple[str, int], Any] = {}

    def prepare(
        self,
        positions: Sequence[OrderPosition],
        known: Mapping[int, Sequence[Checkin]] | None = None,
        lookup: Found | None = None,
    ) -> None:
        """Load what the positions' view needs; ``known`` are their successful check-ins on the lists when the
        caller has them already, ``lookup`` what the scan's ticket lookup read already (a scan's answer)."""
        if not positions:
            return
        if lookup is not None and lookup.product_flags is not None:
            self.item_flags[lookup.position.item_id] = lookup.product_flags
        if known is not None:
            devices = device_numbers(self.call, [checkin for found in known.values() for checkin in found])
            for position_id, checkins in known.items():
                self.orders.checkins[position_id] = [
                    checkin_out(checkin, devices.get(checkin.device_id) if checkin.device_id else None)
                    for checkin in checkins
                ]
        # ``new`` tells the order view that the positions have no print logs (what it assumes of new positions).
        no_print_logs = lookup is not None and not lookup.print_logged
        self.orders.prepare_positions(positions, new=no_print_logs, checkins_known=known is not None)
        session = self.call.session
        parent_ids = {p.addon_to_id for p in positions if p.addon_to_id is not None and not p.attendee_name_cached}
        if parent_ids:
            for parent_id, name in session.execute(
                select(OrderPosition.id, OrderPosition.attendee_name_cached).where(OrderPosition.id.in_(parent_ids))
            ):
                self.parent_names[parent_id] = name
        item_ids = {p.item_id for p in positions} - set(self.item_flags)
        if item_ids:
            for item_id, attention, text in session.execute(
                select(Item.id, Item.checkin_attention, Item.checkin_text).where(Item.id.in_(item_ids))
            ):
                self.item_flags[item_id] = (attention, text)
        variation_ids = {p.variation_id for p in positions if p.variation_id is not None}
        if variation_ids:
            for variation_id, attention, text in session.execute(
                select(ItemVariation.id, ItemVariation.checkin_attention, ItemVariation.checkin_text).where(
                    ItemVariation.id.in_(variation_ids)
                )
            ):
                self.variation_flags[variation_id] = (attention, text)
        if self.expand:
            self._expand(positions)

    def _expand(self, positions: Sequence[OrderPosition]) -> None:
        session = self.call.session
        events = {p.order.event_id: self.orders.event_of(p.order) for p in positions}
        if "subevent" in self.expand:
            for subevent_id in {p.subevent_id for p in positions if p.subevent_id is not None}:
                subevent = session.get(SubEvent, subevent_id)
                if subevent is not None:
                    self.expanded["subevent", subevent_id] = msgspec.to_builtins(serialize_subevent(subevent))
        if "item" in self.expand or "variation" in self.expand:
            items = {
                item.id: item
                for item in session.scalars(select(Item).where(Item.id.in_({p.item_id for p in positions})))
            }
            for item in items.values():
                event = events.get(item.event_id) or session.get(Event, item.event_id)
                assert event is not None
                if "item" in self.expand:
                    self.expanded["item", item.id] = msgspec.to_builtins(render_item(self.call, event, item))
                if "variation" in self.expand:
                    context = lookup(self.call, event, [item])
                    for variation in session.scalars(select(ItemVariation).where(ItemVariation.item_id == item.id)):
                        self.expanded["variation", variation.id] = msgspec.to_builtins(
                            serialize_variation(variation, item, context)
                        )
        if "answers.question" in self.expand:
            question_ids = {a.question_id for p in positions for a in p.answers}
            questions = list(
                session.scalars(
                    select(Question).where(Question.id.in_(question_ids)).options(selectinload(Question.options))
                )
            )
            item_ids = item_ids_by_question(self.call, [q.id for q in questions])
            for question in questions:
                self.expanded["question", question.id] = msgspec.to_builtins(
                    serialize_question(question, item_ids[question.id])
                )

    def _flags(self, position: OrderPosition) -> list[tuple[bool, str | None]]:
        flags = [(position.order.checkin_attention, position.order.checkin_text)]
        flags.append(self.item_flags.get(position.item_id, (False, None)))
        if position.variation_id is not None:
            flags.append(self.variation_flags.get(position.variation_id, (False, None)))
        return flags

    def require_attention(self, position: OrderPosition) -> bool:
        """The order, the product or the variation asks door staff to look closely."""
        return any(attention for attention, _ in self._flags(position))

    def checkin_texts(self, position: OrderPosition) -> list[str]:
        """Texts to show at the door: the order's, the product's and the variation's."""
        return [text for _, text in self._flags(position) if text]

    def position(self, position: OrderPosition) -> dict[str, Any]:
        order = position.order
        shaped: PositionOut = self.orders.position(position, order)
        data: dict[str, Any] = msgspec.to_builtins(shaped)
        data["checkins"] = [checkin for checkin in data["checkins"] if checkin["list"] in self.list_ids]
        if not data.get("attendee_name"):
            fallback = self.parent_names.get(position.addon_to_id) if position.addon_to_id is not None else None
            if not fallback and order.invoice_address is not None:
                fallback = format_name(order.invoice_address.name_parts)
            data["attendee_name"] = fallback or None
        data["require_attention"] = self.require_attention(position)
        data["order__status"] = order.status
        data["order__valid_if_pending"] = order.valid_if_pending
        data["order__require_approval"] = order.require_approval
        data["order__locale"] = order.locale
        for name in ("subevent", "item", "variation"):
            if name in self.expand and data.get(name) is not None:
                data[name] = self.expanded.get((name, data[name]), data[name])
        if "answers.question" in self.expand:
            for answer in data["answers"]:
                answer["question"] = self.expanded.get(("question", answer["question"]), answer["question"])
        return data


# --- answering a scan ----------------------------------------------------------------------------------------------


def scan_answer(call: Call, result: ScanResult, expand: Sequence[str]) -> tuple[dict[str, Any], int]:
    """The body and status code pretix's scanning apps expect for a scan's result."""
    body: dict[str, Any] = {"status": result.status}
    if result.status != "ok":
        body["reason"] = result.reason
        body["reason_explanation"] = result.explanation
    body["require_attention"] = False
    body["checkin_texts"] = []
    if result.checkin_list is not None and result.position is not None:
        body["list"] = list_summary(result.checkin_list)
    if result.position is not None:
        view = CheckinShaper(call, result.checkin_list.event if result.checkin_list else None, _lists(result), expand)
        view.prepare([result.position], known={result.position.id: result.history}, lookup=result.lookup)
        body["require_attention"] = view.require_attention(result.position)
        body["checkin_texts"] = view.checkin_texts(result.position)
        body["position"] = view.position(result.position)
    if result.status == STATUS_INCOMPLETE:
        item_ids = item_ids_by_question(call, [question.id for question in result.questions])
        body["questions"] = [
            msgspec.to_builtins(serialize_question(question, item_ids[question.id])) for question in result.questions
        ]
        return body, 400
    if result.status == STATUS_ERROR:
        if result.reason == REASON_INVALID and result.position is None:
            body["detail"] = "Not found."
            return body, 404
        return body, 400
    return body, 201


def _lists(result: ScanResult) -> list[int]:
    return [result.checkin_list.id] if result.checkin_list is not None else []


def device_pk(call: Call) -> int | None:
    return call.principal.device_pk


class ScanIn(msgspec.Struct, forbid_unknown_fields=False):
    """What a scanner sends to redeem a ticket (shared by the RPC and the per-list endpoint)."""

    secret: str | None = None
    source_type: str = "barcode"
    lists: list[int] = msgspec.field(default_factory=list)
    type: str = "entry"
    datetime: datetime | None = None
    force: bool = False
    questions_supported: bool = True
    ignore_unpaid: bool = False
    canceled_supported: bool = False
    answers: dict[str, Any] = msgspec.field(default_factory=dict)
    nonce: str | None = None
    use_order_locale: bool = False


def scan_of(
    call: Call,
    data: ScanIn,
    lists: Sequence[CheckinList],
    *,
    secret: str,
    gate_id: int | None,
    position_id: int | None = None,
    canceled_supported: bool = True,
) -> Scan:
    """The scan a checked :class:`ScanIn` describes, made by the caller (at ``gate_id``)."""
    return Scan(
        secret=secret,
        lists=lists,
        actor=call.principal.actor,
        type=data.type,
        moment=data.datetime,
        force=data.force,
        questions_supported=data.questions_supported,
        ignore_unpaid=data.ignore_unpaid,
        answers=data.answers,
        nonce=data.nonce,
        source_type=data.source_type,
        canceled_supported=canceled_supported,
        position_id=position_id,
        device_pk=device_pk(call),
        gate_id=gate_id,
        use_order_locale=data.use_order_locale,
    )


def check_scan(data: ScanIn) -> None:
    if data.type not in CHECKIN_TYPES:
        raise FieldErrors.single("type", f'"{data.type}" is not a valid choice.')
    if data.nonce is not None and len(data.nonce) > 190:
        raise FieldErrors.single("nonce", "Ensure this field has no more than 190 characters.")
    if len(data.source_type) > 50:
        raise FieldErrors.single("source_type", "Ensure this field has no more than 50 characters.")
    if data.datetime is not None:
        try:
            data.datetime = utc(data.datetime)
        except (OverflowError, ValueError):
            raise FieldErrors.single("datetime", "Datetime is out of the supported range.") from None


def run_scan(call: Call, scan: Scan, expand: Sequence[str]) -> tuple[dict[str, Any], int]:
    """Redeem and shape the answer in one transaction (under the process's write queue on SQLite): the ticket's
    row lock is held a few milliseconds longer than the decision needs, which only a second scan of the same
    ticket waits for, while every scan saves a second connection checkout and transaction."""
    with call.kernel.db.writer():
        result = redeem(call.kernel, call.session, scan)
        answer = scan_answer(call, result, expand)
        call.session.commit()
    return answer


# --- endpoints -----------------------------------------------------------------------------------------------------


@post(RPC + "redeem/", tags=["checkin"], status_code=201)
async def redeem_rpc(request: Request, organizer: FromPath[str]) -> Response[dict[str, Any]]:
    """Check a ticket in or out by its scanned ``secret`` on one or more ``lists`` (one per event). Answers ``201``
    with status ``ok``; ``400`` with status ``incomplete`` (``questions`` to ask) or ``error`` and a ``reason``;
    ``404`` (reason ``invalid``) for an unknown secret. A repeated ``nonce`` never records a second check-in."""
    raw = await request.body()
    expand = repeated_param(request, "expand")
    status = 201

    def work(call: Call) -> dict[str, Any]:
        nonlocal status
        require_any(call, CHECKIN_PERMISSIONS)
        data = decode_body(raw, ScanIn)
        check_scan(data)
        if not data.secret:
            raise FieldErrors.single("secret", "This field is required.")
        lists = organizer_lists(call, organizer, data.lists)
        scan = scan_of(call, data, lists, secret=data.secret, gate_id=scanner_gate(call, lists))
        body, status = run_scan(call, scan, expand)
        return body

    response = await in_call(request, work, status_code=201)
    response.status_code = status
    return response


def search_positions(call: Call, lists: Sequence[CheckinList], expand: Sequence[str]) -> Page[dict[str, Any]]:
    """Positions on ``lists`` with the position filters, ``has_checkin`` and ``ordering`` (incl.
    ``last_checked_in``) of the check-in API."""
    ignore_status = bool(parse_bool(call.query, "ignore_status"))
    list_ids = [checkin_list.id for checkin_list in lists]
    statement: Select[Any] = positions_with_orders().where(scope_of_lists(lists, ignore_status=ignore_status))
    has_checkin = parse_bool(call.query, "has_checkin")
    # The generic position filters, without the two that mean something else here.
    generic = {
        key: value
        for key, value in call.query.items()
        if key not in ("has_checkin", "include_canceled_positions", "ordering")
    }
    if ignore_status:
        generic["include_canceled_positions"] = "true"
    statement = position_filters(replace(call, query=generic), statement)
    if has_checkin is not None:
        statement = statement.where(checked_in_on(list_ids) if has_checkin else ~checked_in_on(list_ids))
    view = CheckinShaper(call, lists[0].event if len(lists) == 1 else None, list_ids, expand)
    ordering = {**CHECKIN_POSITION_ORDERING, "last_checked_in": last_checked_in(list_ids)}
    default = [] if call.query.get("ordering") else [OrderPosition.attendee_name_cached]
    return call.paginate(
        statement,
        view.position,
        ordering=ordering,
        default_ordering=[*default, OrderPosition.positionid, OrderPosition.id],
        prepare=view.prepare,
    )


@get(RPC + "search/", tags=["checkin"])
async def search_rpc(request: Request, organizer: FromPath[str]) -> Response[Page[dict[str, Any]]]:
    """Search tickets on one or more check-in lists (``list``, repeatable, one per event): ``search`` matches
    attendee names, order codes, invoice names and secret prefixes; the position filters of the order API apply,
    plus ``has_checkin`` (on these lists) and ``ignore_status``."""
    list_values = repeated_param(request, "list")
    expand = repeated_param(request, "expand")

    def work(call: Call) -> Page[dict[str, Any]]:
        page_generated(call)
        call.organizer(organizer)
        require_any(call, READ_PERMISSIONS)
        list_ids: list[int] = []
        for value in list_values:
            try:
                list_ids.append(int(value))
            except ValueError:
                raise FieldErrors.single("list", "Enter a whole number.") from None
        lists = organizer_lists(call, organizer, list_ids, field="list")
        scanner_gate(call, lists, field="list")
        return search_positions(call, lists, expand)

    return await in_call(request, work)


class AnnulIn(msgspec.Struct, forbid_unknown_fields=False):
    nonce: str
    lists: list[int] = msgspec.field(default_factory=list)
    datetime: datetime | None = None
    error_explanation: str | None = None


@post(RPC + "annul/", tags=["checkin"], status_code=200)
async def annul_rpc(request: Request, organizer: FromPath[str]) -> Response[dict[str, str]]:
    """Annul a check-in this scanner made moments ago (identified by its ``nonce``), e.g. when the turnstile did not
    turn: ``404`` for an unknown nonce, ``400`` when it is ambiguous, made by another device, no longer successful
    or older than 15 minutes."""
    raw = await request.body()

    def work(call: Call) -> dict[str, str]:
        call.organizer(organizer)
        require_any(call, CHECKIN_PERMISSIONS)
        data = decode_body(raw, AnnulIn)
        lists = organizer_lists(call, organizer, data.lists)
        try:
            annul(
                call.kernel,
                call.session,
                lists,
                data.nonce,
                device_pk=device_pk(call),
                actor=call.principal.actor,
                moment=utc(data.datetime) if data.datetime is not None else None,
                explanation=data.error_explanation,
            )
        except CheckinRefused as refusal:
            raise ApiError(refusal.status_code, refusal.message) from None
        return {"status": "ok"}

    return await in_call(request, work)


# --- history -------------------------------------------------------------------------------------------------------


class CheckinOut(msgspec.Struct):
    id: int
    successful: bool
    error_reason: str | None
    error_explanation: str | None
    position: int | None
    datetime: datetime
    created: datetime
    list: int
    auto_checked_in: bool
    gate: int | None
    device: int | None
    device_id: int | None
    type: str


def checkin_record(checkin: Checkin, device_number: int | None) -> CheckinOut:
    return CheckinOut(
        id=checkin.id,
        successful=checkin.successful,
        error_reason=checkin.error_reason,
        error_explanation=checkin.error_explanation,
        position=checkin.position_id,
        datetime=checkin.datetime,
        created=checkin.created,
        list=checkin.list_id,
        auto_checked_in=checkin.auto_checked_in,
        gate=checkin.gate_id,
        device=checkin.device_id,
        device_id=device_number,
        type=checkin.type,
    )


def device_numbers(call: Call, checkins: Sequence[Checkin]) -> dict[int, int]:
    device_ids = {checkin.device_id for checkin in checkins if checkin.device_id is not None}
    if not device_ids:
        return {}
    return dict(call.session.execute(select(Device.id, Device.device_id).where(Device.id.in_(device_ids))).all())


def history_filters(call: Call, statement: Select[Any]) -> Select[Any]:
    query = call.query
    for name, column, since in (
        ("created_since", Checkin.created, True),
        ("created_before", Checkin.created, False),
        ("datetime_since", Checkin.datetime, True),
        ("datetime_before", Checkin.datetime, False),
    ):
        moment = parse_datetime_param(query, name)
        if moment is not None:
            statement = statement.where(column >= moment if since else column < moment)
    for name in ("successful", "auto_checked_in"):
        flag = parse_bool(query, name)
        if flag is not None:
            statement = statement.where(getattr(Checkin, name).is_(flag))
    if (reason := query.get("error_reason")) is not None:
        if reason not in ERROR_REASONS:
            raise FieldErrors.single("error_reason", f"Select a valid choice. {reason} is not one of the choices.")
        statement = statement.where(Checkin.error_reason == reason)
    if (checkin_type := query.get("type")) is not None:
        if checkin_type not in CHECKIN_TYPES:
            raise FieldErrors.single("type", f"Select a valid choice. {checkin_type} is not one of the choices.")
        statement = statement.where(Checkin.type == checkin_type)
    for name, column in (("list", Checkin.list_id), ("gate", Checkin.gate_id), ("device", Checkin.device_id)):
        if (value := int_param(query, name)) is not None:
            statement = statement.where(column == value)
    return statement


@get(HISTORY, tags=["checkin"])
async def list_checkins(request: Request, organizer: FromPath[str], event: FromPath[str]) -> Response[Page[CheckinOut]]:
    """Every scan recorded on the event's check-in lists, refused and annulled ones included; filter by
    ``created_since``/``_before``, ``datetime_since``/``_before``, ``successful``, ``error_reason``, ``list``,
    ``type``, ``gate``, ``device``, ``auto_checked_in``; ``ordering`` by ``datetime``, ``created`` or ``id``."""

    def work(call: Call) -> Page[CheckinOut]:
        target = call.event(organizer, event)
        require_any(call, READ_PERMISSIONS)
        statement = history_filters(
            call,
            select(Checkin)
            .join(CheckinList, CheckinList.id == Checkin.list_id)
            .where(CheckinList.event_id == target.id),
        )
        numbers: dict[int, int] = {}

        def prepare(rows: list[Checkin]) -> None:
            numbers.update(device_numbers(call, rows))

        return call.paginate(
            statement,
            lambda checkin: checkin_record(checkin, numbers.get(checkin.device_id) if checkin.device_id else None),
            ordering={"datetime": Checkin.datetime, "created": Checkin.created, "id": Checkin.id},
            default_ordering=[Checkin.id],
            prepare=prepare,
        )

    return await in_call(request, work)


ROUTES = [redeem_rpc, search_rpc, annul_rpc, list_checkins]
