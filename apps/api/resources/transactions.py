"""The ledger (``…/transactions/``): the debit side of every order, one row per thing sold or taken back, for an
event or for all events of an organizer the caller may see orders of."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response, get
from litestar.params import FromPath
from sqlalchemy import ColumnElement, Select, select

from boxoffice.apps.api.errors import FieldErrors
from boxoffice.apps.api.resources.orders import READ_PERMISSIONS, require_read
from boxoffice.apps.api.toolkit import MAX_ID, Call, Page, in_call, money, parse_datetime_param
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.orders import FEE_TYPES, Order, Transaction

ORDERING: dict[str, ColumnElement[Any]] = {
    "datetime": Transaction.datetime,
    "created": Transaction.created,
    "id": Transaction.id,
}
DEFAULT_ORDERING = (Transaction.datetime, Transaction.id)

T = TypeVar("T")


class TransactionOut(msgspec.Struct):
    id: int
    order: str
    created: datetime
    datetime: datetime
    positionid: int | None
    count: int
    item: int | None
    variation: int | None
    subevent: int | None
    price: Decimal
    tax_rate: Decimal
    tax_rule: int | None
    tax_code: str | None
    tax_value: Decimal
    fee_type: str | None
    internal_type: str | None
    # Only on the organizer-wide list.
    event: str | msgspec.UnsetType = msgspec.UNSET


# --- query parameters ----------------------------------------------------------------------------------------------


def _whole(name: str, raw: str) -> int:
    try:
        number = int(raw.strip())
    except ValueError:
        raise FieldErrors.single(name, "Enter a whole number.") from None
    if abs(number) > MAX_ID:
        raise FieldErrors.single(name, f"Ensure this value is at most {MAX_ID} in magnitude.")
    return number


def _rate(name: str, raw: str) -> Decimal:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise FieldErrors.single(name, "Enter a number.") from None
    if not value.is_finite() or abs(value) >= 10**5:
        raise FieldErrors.single(name, "Enter a number.")
    return value


def _values(query: Mapping[str, str], name: str, parse: Callable[[str, str], T]) -> list[T] | None:
    """``name`` and ``name__in`` together: the one value and/or the comma-separated ones, each parsed (and named
    in errors) under the parameter it came from; ``None`` when neither is given."""
    found: list[T] | None = None
    if (single := query.get(name)) is not None:
        found = [parse(name, single)]
    if (several := query.get(f"{name}__in")) is not None:
        parts = [parse(f"{name}__in", part) for part in several.split(",") if part.strip()]
        found = parts if found is None else [value for value in found if value in parts]
    return found


def _text(_name: str, raw: str) -> str:
    return raw.strip()


def _fee_type(name: str, raw: str) -> str:
    value = raw.strip()
    if value not in FEE_TYPES:
        raise FieldErrors.single(name, f"Select a valid choice. {value} is not one of the choices.")
    return value


def ledger_filters(query: Mapping[str, str], statement: Select[Any]) -> Select[Any]:
    """pretix's transaction filters; malformed values answer 400."""
    if (code := query.get("order")) is not None:
        statement = statement.where(Order.code == code.upper())
    for name, column, operator in (
        ("datetime_since", Transaction.datetime, "ge"),
        ("datetime_before", Transaction.datetime, "lt"),
        ("created_since", Transaction.created, "ge"),
        ("created_before", Transaction.created, "lt"),
    ):
        moment = parse_datetime_param(query, name)
        if moment is not None:
            statement = statement.where(column >= moment if operator == "ge" else column < moment)
    for name, column in (
        ("item", Transaction.item_id),
        ("variation", Transaction.variation_id),
        ("subevent", Transaction.subevent_id),
        ("tax_rule", Transaction.tax_rule_id),
    ):
        if (ids := _values(query, name, _whole)) is not None:
            statement = statement.where(column.in_(ids))
    if (codes := _values(query, "tax_code", _text)) is not None:
        statement = statement.where(Transaction.tax_code.in_(codes))
    if (rates := _values(query, "tax_rate", _rate)) is not None:
        statement = statement.where(Transaction.tax_rate.in_(rates))
    if (types := _values(query, "fee_type", _fee_type)) is not None:
        statement = statement.where(Transaction.fee_type.in_(types))
    return statement


# --- shaping -------------------------------------------------------------------------------------------------------


class _Shaper:
    """Order codes (and event slugs) of a page, loaded in one query."""

    def __init__(self, call: Call, with_event: bool) -> None:
        self.call = call
        self.with_event = with_event
        self.orders: dict[int, tuple[str, str]] = {}

    def prepare(self, rows: list[Transaction]) -> None:
        wanted = {row.order_id for row in rows} - set(self.orders)
        if wanted:
            for order_id, code, slug in self.call.session.execute(
                select(Order.id, Order.code, Event.slug)
                .join(Event, Event.id == Order.event_id)
                .where(Order.id.in_(wanted))
            ):
                self.orders[order_id] = (code, slug)

    def shape(self, row: Transaction) -> TransactionOut:
        code, slug = self.orders[row.order_id]
        shaped = TransactionOut(
            id=row.id,
            order=code,
            created=row.created,
            datetime=row.datetime,
            positionid=row.positionid,
            count=row.count,
            item=row.item_id,
            variation=row.variation_id,
            subevent=row.subevent_id,
            price=money(row.price),  # type: ignore[arg-type]
            tax_rate=money(row.tax_rate),  # type: ignore[arg-type]
            tax_rule=row.tax_rule_id,
            tax_code=row.tax_code,
            tax_value=money(row.tax_value),  # type: ignore[arg-type]
            fee_type=row.fee_type,
            internal_type=row.internal_type,
        )
        if self.with_event:
            shaped.event = slug
        return shaped


def _page(call: Call, statement: Select[Any], *, with_event: bool) -> Page[TransactionOut]:
    shaper = _Shaper(call, with_event)
    return call.paginate(
        ledger_filters(call.query, statement),
        shaper.shape,
        ordering=ORDERING,
        default_ordering=DEFAULT_ORDERING,
        prepare=shaper.prepare,
    )


def _may_read_orders(call: Call) -> bool:
    return any(call.principal.has_event_permission(permission) for permission in READ_PERMISSIONS)


# --- endpoints -----------------------------------------------------------------------------------------------------


@get("/api/v1/organizers/{organizer:str}/events/{event:str}/transactions/", tags=["transactions"])
async def list_event_transactions(
    request: Request, organizer: FromPath[str], event: FromPath[str]
) -> Response[Page[TransactionOut]]:
    """The ledger of one event; filter by order, time, product, date, tax and fee type; order by ``datetime``,
    ``created`` or ``id``."""

    def work(call: Call) -> Page[TransactionOut]:
        target = call.event(organizer, event)
        require_read(call)
        statement = select(Transaction).join(Order, Order.id == Transaction.order_id).where(Order.event_id == target.id)
        return _page(call, statement, with_event=False)

    return await in_call(request, work)


@get("/api/v1/organizers/{organizer:str}/transactions/", tags=["transactions"])
async def list_organizer_transactions(request: Request, organizer: FromPath[str]) -> Response[Page[TransactionOut]]:
    """The ledger of every event of the organizer whose orders the caller may read (``event`` narrows it to one),
    with the same filters as the event list; rows carry their event's slug."""

    def work(call: Call) -> Page[TransactionOut]:
        owner = call.organizer(organizer)
        statement = (
            select(Transaction)
            .join(Order, Order.id == Transaction.order_id)
            .join(Event, Event.id == Order.event_id)
            .where(Event.organizer_id == owner.id)
        )
        if not _may_read_orders(call):
            # Like an event list: no event to show rather than a refusal.
            statement = statement.where(Event.id == -1)
        elif not call.principal.all_events:
            statement = statement.where(Event.id.in_(call.principal.event_ids or {-1}))
        if (slug := call.query.get("event")) is not None:
            statement = statement.where(Event.slug == slug)
        return _page(call, statement, with_event=True)

    return await in_call(request, work)


ROUTES = [list_event_transactions, list_organizer_transactions]
