"""Which tickets belong on a check-in list, how many of them were checked in, and who is inside right now."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from boxoffice.kernel.db import UTCDateTime
from boxoffice.kernel.models.checkin import TYPE_ENTRY, Checkin, CheckinList, checkin_list_items
from boxoffice.kernel.models.orders import STATUS_PAID, STATUS_PENDING, Order, OrderPosition


def product_allowed(checkin_list: CheckinList, item_id: int) -> bool:
    return checkin_list.all_products or any(item.id == item_id for item in checkin_list.limit_products)


def list_scope(checkin_list: CheckinList, *, ignore_status: bool = False) -> ColumnElement[bool]:
    """Positions (joined with their orders) that belong on ``checkin_list``: its event, its products, its date and,
    unless ``ignore_status``, live tickets of paid orders (and of pending ones where the list includes them or
    the order is valid while pending)."""
    conditions: list[ColumnElement[bool]] = [Order.event_id == checkin_list.event_id]
    if not checkin_list.all_products:
        conditions.append(
            OrderPosition.item_id.in_(
                select(checkin_list_items.c.item_id).where(checkin_list_items.c.checkin_list_id == checkin_list.id)
            )
        )
    if checkin_list.subevent_id is not None:
        conditions.append(OrderPosition.subevent_id == checkin_list.subevent_id)
    if not ignore_status:
        conditions.append(OrderPosition.canceled.is_(False))
        pending_admitted = (
            Order.status == STATUS_PENDING
            if checkin_list.include_pending
            else and_(Order.status == STATUS_PENDING, Order.valid_if_pending.is_(True))
        )
        conditions.append(or_(Order.status == STATUS_PAID, pending_admitted))
    return and_(*conditions)


def scope_of_lists(lists: Sequence[CheckinList], *, ignore_status: bool = False) -> ColumnElement[bool]:
    if not lists:
        return false()
    return or_(*(list_scope(checkin_list, ignore_status=ignore_status) for checkin_list in lists))


def checked_in_on(list_ids: Sequence[int]) -> ColumnElement[bool]:
    """The position has a successful scan on one of these lists."""
    return exists().where(
        Checkin.position_id == OrderPosition.id, Checkin.list_id.in_(list_ids), Checkin.successful.is_(True)
    )


NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def last_checked_in(list_ids: Sequence[int]) -> Any:
    """The moment of the position's latest successful scan on these lists, for sorting: tickets never scanned sort
    as the oldest on every database (PostgreSQL and SQLite place NULLs differently)."""
    latest = (
        select(func.max(Checkin.datetime))
        .where(Checkin.position_id == OrderPosition.id, Checkin.list_id.in_(list_ids), Checkin.successful.is_(True))
        .scalar_subquery()
    )
    return func.coalesce(latest, literal(NEVER, UTCDateTime()))


def positions_on_list(checkin_list: CheckinList) -> Select[Any]:
    return select(OrderPosition).join(Order, Order.id == OrderPosition.order_id).where(list_scope(checkin_list))


def position_count(session: Session, checkin_list: CheckinList) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(OrderPosition)
            .join(Order, Order.id == OrderPosition.order_id)
            .where(list_scope(checkin_list))
        )
        or 0
    )


def checkin_count(session: Session, checkin_list: CheckinList) -> int:
    """How many of the list's tickets were checked in at least once."""
    return (
        session.scalar(
            select(func.count())
            .select_from(OrderPosition)
            .join(Order, Order.id == OrderPosition.order_id)
            .where(list_scope(checkin_list), checked_in_on([checkin_list.id]))
        )
        or 0
    )


def inside_condition(list_id: int) -> ColumnElement[bool]:
    """A check-in row that is its position's latest successful scan on the list, and an entry: the ticket holder
    is inside."""
    later = aliased(Checkin)
    return and_(
        Checkin.list_id == list_id,
        Checkin.successful.is_(True),
        Checkin.type == TYPE_ENTRY,
        Checkin.position_id.is_not(None),
        ~exists().where(
            later.position_id == Checkin.position_id,
            later.list_id == Checkin.list_id,
            later.successful.is_(True),
            or_(later.datetime > Checkin.datetime, and_(later.datetime == Checkin.datetime, later.id > Checkin.id)),
        ),
    )


def inside_count(session: Session, checkin_list: CheckinList) -> int:
    return session.scalar(select(func.count()).select_from(Checkin).where(inside_condition(checkin_list.id))) or 0


def inside_positions(session: Session, list_id: int, until: datetime) -> list[int]:
    """Positions inside on the list whose entry happened before ``until``."""
    return list(
        session.scalars(
            select(Checkin.position_id).where(inside_condition(list_id), Checkin.datetime <= until)  # type: ignore[arg-type]
        )
    )
