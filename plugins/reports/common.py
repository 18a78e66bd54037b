"""What the report exporters share: the database session of the running job, names in the event's language,
chunked reading (constant memory whatever the number of orders) and the common filter inputs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.orm import Session, object_session

from boxoffice.kernel import clock
from boxoffice.kernel.i18n import get_locale, localize
from boxoffice.kernel.models import Event, Item
from boxoffice.kernel.models.items import ItemVariation
from boxoffice.kernel.models.orders import ORDER_STATUSES, STATUS_PAID, Order

CHUNK = 1000
STATUS_NAMES = {"n": "pending", "p": "paid", "e": "expired", "c": "canceled"}

DATE_RANGES = (
    "today",
    "yesterday",
    "week_this",
    "week_previous",
    "month_this",
    "month_previous",
    "year_this",
    "year_previous",
    "days_last7",
    "days_last30",
)
"""Order date ranges relative to the day the export runs (weeks start on Monday), for scheduled exports such as
"last week's orders every Monday"."""

ORDER_FILTERS: dict[str, dict[str, Any]] = {
    "paid_only": {"type": "boolean", "default": False},
    "status": {"type": "list", "choices": list(ORDER_STATUSES)},
    "date_range": {"type": "string", "choices": list(DATE_RANGES)},
    "date_from": {"type": "date"},
    "date_to": {"type": "date"},
    "include_testmode": {"type": "boolean", "default": True},
}
"""Inputs of every order-based export: status (``paid_only`` or a list of status codes), order date range
(``date_range`` relative to today, or ``date_from``/``date_to``; inclusive UTC days) and whether test-mode orders are
included."""

DATE_FILTERS = {key: ORDER_FILTERS[key] for key in ("date_range", "date_from", "date_to")}
"""The order date inputs alone, for exports by date that do not filter by status or test mode."""


def resolve_range(name: str, today: date) -> tuple[date, date]:
    """The first and last day of a :data:`DATE_RANGES` entry seen from ``today``."""
    monday = today - timedelta(days=today.weekday())
    first_of_month = today.replace(day=1)
    last_month_end = first_of_month - timedelta(days=1)
    ranges = {
        "today": (today, today),
        "yesterday": (today - timedelta(days=1), today - timedelta(days=1)),
        "week_this": (monday, monday + timedelta(days=6)),
        "week_previous": (monday - timedelta(days=7), monday - timedelta(days=1)),
        "month_this": (first_of_month, (first_of_month + timedelta(days=32)).replace(day=1) - timedelta(days=1)),
        "month_previous": (last_month_end.replace(day=1), last_month_end),
        "year_this": (date(today.year, 1, 1), date(today.year, 12, 31)),
        "year_previous": (date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
        "days_last7": (today - timedelta(days=6), today),
        "days_last30": (today - timedelta(days=29), today),
    }
    return ranges[name]


def chosen_days(params: dict[str, Any]) -> tuple[date | None, date | None]:
    """The first and last day chosen by ``date_range`` (which wins) or ``date_from``/``date_to``; ``None`` is open."""
    if params.get("date_range"):
        return resolve_range(params["date_range"], clock.now().date())
    return params.get("date_from"), params.get("date_to")


def session_of(exporter: Any) -> Session:
    """The job's session: the kernel builds exporters with an event or organizer loaded in it."""
    owner = exporter.event if exporter.event is not None else exporter.organizer
    session = object_session(owner)
    if session is None:
        raise RuntimeError("exporters run with an event or organizer loaded in a session")
    return session


def events_of(exporter: Any) -> list[Event]:
    """The one event of an event-level export, or the chosen events of an organizer-level one."""
    return [exporter.event] if exporter.event is not None else list(exporter.events)


def organizer_level(exporter: Any) -> bool:
    return exporter.event is None


def order_conditions(params: dict[str, Any], event_ids: Sequence[int]) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Order.event_id.in_(list(event_ids))]
    if params.get("paid_only"):
        conditions.append(Order.status == STATUS_PAID)
    if params.get("status"):
        conditions.append(Order.status.in_(params["status"]))
    first, last = chosen_days(params)
    if first:
        conditions.append(Order.datetime >= datetime.combine(first, time(0), tzinfo=UTC))
    if last:
        end: date = last + timedelta(days=1)
        conditions.append(Order.datetime < datetime.combine(end, time(0), tzinfo=UTC))
    if params.get("include_testmode") is False:
        conditions.append(Order.testmode.is_(False))
    return conditions


def chunked(session: Session, statement: Select[Any], key: Any) -> Iterator[Any]:
    """Rows of ``statement`` in ``key`` order, read ``CHUNK`` at a time by key (keyset paging); the statement's
    first column must be ``key``.

    Every chunk is its own short query, so neither the database cursor nor the ORM holds more than a chunk, and
    the same code streams on SQLite and PostgreSQL.
    """
    last: Any = None
    while True:
        page = statement.order_by(key).limit(CHUNK)
        if last is not None:
            page = page.where(key > last)
        rows = list(session.execute(page))
        if not rows:
            return
        yield from rows
        last = rows[-1][0]
        if len(rows) < CHUNK:
            return


class Names:
    """Product and variation names of some events in one language, loaded once per export."""

    def __init__(self, session: Session, event_ids: Sequence[int], locale: str) -> None:
        self.items = {
            item_id: localize(name, locale)
            for item_id, name in session.execute(select(Item.id, Item.name).where(Item.event_id.in_(event_ids)))
        }
        self.variations = {
            variation_id: localize(value, locale)
            for variation_id, value in session.execute(
                select(ItemVariation.id, ItemVariation.value)
                .join(Item, Item.id == ItemVariation.item_id)
                .where(and_(Item.event_id.in_(event_ids)))
            )
        }

    def item(self, item_id: int | None) -> str:
        return self.items.get(item_id, "") if item_id is not None else ""

    def variation(self, variation_id: int | None) -> str:
        return self.variations.get(variation_id, "") if variation_id is not None else ""


def locale_of(exporter: Any) -> str:
    """The language the export is written in: the kernel runs exporters in the event's language, or in the one a
    scheduled export asks for."""
    return get_locale()


def status_name(code: str) -> str:
    return STATUS_NAMES.get(code, code)
