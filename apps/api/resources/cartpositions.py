"""Cart positions (pretix's experimental cart API): list and fetch the API's own carts (ids ending in ``@api``),
reserve quota by creating positions one at a time or in bulk (each entry on its own), release it by deleting."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.params import FromPath, JSONBody
from sqlalchemy import select

from boxoffice.apps.api.errors import NON_FIELD, ApiError, FieldErrors, errors_from_validation, not_found
from boxoffice.apps.api.order_shape import AnswerOut
from boxoffice.apps.api.resources.orders import WRITE_PERMISSION, require_read
from boxoffice.apps.api.toolkit import Call, Page, in_call, money
from boxoffice.kernel.models.orders import CartPosition, QuestionAnswer
from boxoffice.kernel.models.questions import Question, QuestionOption
from boxoffice.kernel.orders.carts import (
    API_SUFFIX,
    MAX_BULK,
    CreatedCart,
    answers_by_position,
    attendee_name,
    create_cart_position,
    create_cart_positions,
    delete_cart_position,
)
from boxoffice.kernel.orders.drafts import CartDraft
from boxoffice.kernel.orders.errors import OrderError

BASE = "/api/v1/organizers/{organizer:str}/events/{event:str}/cartpositions/"
DETAIL = BASE + "{position_id:int}/"


class CartPositionOut(msgspec.Struct):
    id: int
    cart_id: str
    item: int
    variation: int | None
    price: Decimal
    attendee_name: str | None
    attendee_name_parts: dict[str, str]
    attendee_email: str | None
    voucher: int | None
    addon_to: int | None
    is_bundled: bool
    subevent: int | None
    datetime: datetime
    expires: datetime
    includes_tax: bool
    seat: None
    answers: list[AnswerOut]


class CreatedCartOut(CartPositionOut):
    """What creating a position answers: the position, then the nested positions created with it."""

    addons: list[CartPositionOut]
    bundled: list[CartPositionOut]


class BulkResult(msgspec.Struct):
    success: bool
    errors: dict[str, Any] | None
    data: CreatedCartOut | None


class BulkOut(msgspec.Struct):
    results: list[BulkResult]


class _Shaper:
    """Cart positions in their API form; answers and question/option identifiers loaded per batch of rows."""

    def __init__(self, call: Call, positions: Sequence[CartPosition] = ()) -> None:
        self.call = call
        self.answers: dict[int, list[QuestionAnswer]] = {}
        self.questions: dict[int, str] = {}
        self.options: dict[int, str] = {}
        self.load(positions)

    def load(self, positions: Sequence[CartPosition]) -> None:
        """Load what these rows' representation needs beyond the rows themselves."""
        session = self.call.session
        self.answers = answers_by_position(session, [position.id for position in positions])
        every = [answer for found in self.answers.values() for answer in found]
        question_ids = {answer.question_id for answer in every}
        option_ids = {option for answer in every for option in answer.option_ids or []}
        if question_ids:
            query = select(Question.id, Question.identifier).where(Question.id.in_(question_ids))
            self.questions = {question_id: identifier for question_id, identifier in session.execute(query)}
        if option_ids:
            query = select(QuestionOption.id, QuestionOption.identifier).where(QuestionOption.id.in_(option_ids))
            self.options = {option_id: identifier for option_id, identifier in session.execute(query)}

    def answer(self, answer: QuestionAnswer) -> AnswerOut:
        options = list(answer.option_ids or [])
        return AnswerOut(
            question=answer.question_id,
            answer=answer.answer,
            question_identifier=self.questions.get(answer.question_id, ""),
            options=options,
            option_identifiers=[self.options.get(option, "") for option in options],
        )

    def position(self, position: CartPosition) -> CartPositionOut:
        return CartPositionOut(
            id=position.id,
            cart_id=position.cart_id,
            item=position.item_id,
            variation=position.variation_id,
            price=money(position.price),  # type: ignore[arg-type]
            attendee_name=attendee_name(position),
            attendee_name_parts=position.attendee_name_parts or {},
            attendee_email=position.attendee_email,
            voucher=position.voucher_id,
            addon_to=position.addon_to_id,
            is_bundled=position.is_bundled,
            subevent=position.subevent_id,
            datetime=position.datetime,
            expires=position.expires,
            includes_tax=True,
            seat=None,
            answers=[self.answer(answer) for answer in self.answers.get(position.id, [])],
        )

    def created(self, created: CreatedCart) -> CreatedCartOut:
        main = self.position(created.position)
        return CreatedCartOut(
            **{name: getattr(main, name) for name in CartPositionOut.__struct_fields__},
            addons=[self.position(row) for row in created.addons],
            bundled=[self.position(row) for row in created.bundled],
        )


def _rows(created: Sequence[CreatedCart]) -> list[CartPosition]:
    return [row for cart in created for row in (cart.position, *cart.addons, *cart.bundled)]


def _api_positions() -> Any:
    return CartPosition.cart_id.endswith(API_SUFFIX)


def _load(call: Call, event_id: int, position_id: int) -> CartPosition:
    position = call.get(CartPosition, position_id, event_id=event_id)
    if not position.cart_id.endswith(API_SUFFIX):
        raise not_found()
    return position


@get(BASE, tags=["cartpositions"])
async def list_cart_positions(
    request: Request, organizer: FromPath[str], event: FromPath[str]
) -> Response[Page[CartPositionOut]]:
    """The event's cart positions created through the API (carts of the shop are not shown)."""

    def work(call: Call) -> Page[CartPositionOut]:
        target = call.event(organizer, event)
        require_read(call)
        shaper = _Shaper(call)
        return call.paginate(
            select(CartPosition).where(CartPosition.event_id == target.id, _api_positions()),
            shaper.position,
            default_ordering=[CartPosition.id],
            prepare=shaper.load,
        )

    return await in_call(request, work)


@get(DETAIL, tags=["cartpositions"])
async def get_cart_position(
    request: Request, organizer: FromPath[str], event: FromPath[str], position_id: FromPath[int]
) -> Response[CartPositionOut]:
    """One API-created cart position."""

    def work(call: Call) -> CartPositionOut:
        target = call.event(organizer, event)
        require_read(call)
        position = _load(call, target.id, position_id)
        return _Shaper(call, [position]).position(position)

    return await in_call(request, work)


@post(BASE, tags=["cartpositions"], status_code=201)
async def create_cart(
    request: Request, organizer: FromPath[str], event: FromPath[str], data: JSONBody[CartDraft]
) -> Response[CreatedCartOut]:
    """Reserve a product (with nested ``addons``/``bundled`` positions) until ``expires`` (default: now plus the
    event's ``reservation_time``). A trusted interface: ``price`` is required and taken as sent; quotas, vouchers
    and answers are checked. Without ``cart_id`` a new ``…@api`` cart is started."""

    def work(call: Call) -> CreatedCartOut:
        target = call.event(organizer, event, WRITE_PERMISSION)
        created = create_cart_position(call.kernel, call.session, target, data)
        return _Shaper(call, _rows([created])).created(created)

    return await in_call(request, work, status_code=201)


def _decode_entry(raw: msgspec.Raw) -> CartDraft | OrderError:
    try:
        return msgspec.json.decode(raw, type=CartDraft)
    except msgspec.ValidationError as problem:
        message, _, where = str(problem).partition(" - at `")
        key = where.rstrip("`").removeprefix("$").removeprefix(".")
        return OrderError(errors=errors_from_validation([{"message": message, "key": key}]))


@post(BASE + "bulk_create/", tags=["cartpositions"], status_code=200)
async def bulk_create_carts(request: Request, organizer: FromPath[str], event: FromPath[str]) -> Response[BulkOut]:
    """Create several cart positions from a JSON list; not atomic: each entry succeeds or fails on its own, and
    ``results`` reports each (``success``, ``errors``, ``data``) in the order given."""
    body = await request.body()

    def work(call: Call) -> BulkOut:
        target = call.event(organizer, event, WRITE_PERMISSION)
        try:
            entries = msgspec.json.decode(body, type=list[msgspec.Raw])
        except msgspec.ValidationError:
            raise FieldErrors.single(NON_FIELD, "Expected a list of items.") from None
        except msgspec.DecodeError:
            raise ApiError(400, "JSON parse error - the request body is not valid JSON.") from None
        if len(entries) > MAX_BULK:
            raise FieldErrors.single(NON_FIELD, f"At most {MAX_BULK} cart positions can be created at once.")
        outcomes = create_cart_positions(call.kernel, call.session, target, [_decode_entry(raw) for raw in entries])
        shaper = _Shaper(call, _rows([outcome for outcome in outcomes if isinstance(outcome, CreatedCart)]))
        return BulkOut(
            results=[
                BulkResult(success=True, errors=None, data=shaper.created(outcome))
                if isinstance(outcome, CreatedCart)
                else BulkResult(success=False, errors=outcome.body(), data=None)
                for outcome in outcomes
            ]
        )

    return await in_call(request, work)


@delete(DETAIL, tags=["cartpositions"], status_code=204)
async def delete_cart(
    request: Request, organizer: FromPath[str], event: FromPath[str], position_id: FromPath[int]
) -> Response[None]:
    """Delete an API-created cart position (and its add-ons): its quota is released at once."""

    def work(call: Call) -> None:
        target = call.event(organizer, event, WRITE_PERMISSION)
        delete_cart_position(call.session, _load(call, target.id, position_id))

    return await in_call(request, work, status_code=204)


ROUTES = [list_cart_positions, get_cart_position, create_cart, bulk_create_carts, delete_cart]
