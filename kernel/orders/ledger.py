"""The financial ledger: an append-only record of what an order owes (the debit side; payments and refunds are
the credit side).

:func:`record_transactions` compares the order as it is now with what the ledger says and appends the difference:
a row with ``count`` 1 for everything newly owed, a row with ``count`` -1 reversing what is no longer owed as it was
(canceled, or changed in price, tax, product or date). Call it after every change of an order; calling it when
nothing changed writes nothing, so callers never need to know whether a change was financially relevant.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from boxoffice.kernel import clock
from boxoffice.kernel.models.orders import (
    STATUS_CANCELED,
    STATUS_EXPIRED,
    Order,
    OrderFee,
    OrderPosition,
    Transaction,
)


@dataclass(frozen=True)
class Owed:
    """What one position or fee contributes to the debit side, as the ledger records it."""

    positionid: int | None
    item_id: int | None
    variation_id: int | None
    subevent_id: int | None
    price: Decimal
    tax_rate: Decimal
    tax_value: Decimal
    tax_rule_id: int | None
    tax_code: str | None
    fee_type: str | None
    internal_type: str | None


def _owed_by_position(position: OrderPosition) -> Owed:
    return Owed(
        positionid=position.positionid,
        item_id=position.item_id,
        variation_id=position.variation_id,
        subevent_id=position.subevent_id,
        price=Decimal(position.price),
        tax_rate=Decimal(position.tax_rate),
        tax_value=Decimal(position.tax_value),
        tax_rule_id=position.tax_rule_id,
        tax_code=position.tax_code,
        fee_type=None,
        internal_type=None,
    )


def _owed_by_fee(fee: OrderFee) -> Owed:
    return Owed(
        positionid=None,
        item_id=None,
        variation_id=None,
        subevent_id=None,
        price=Decimal(fee.value),
        tax_rate=Decimal(fee.tax_rate),
        tax_value=Decimal(fee.tax_value),
        tax_rule_id=fee.tax_rule_id,
        tax_code=fee.tax_code,
        fee_type=fee.fee_type,
        internal_type=fee.internal_type or None,
    )


def _owed_by_row(row: Transaction) -> Owed:
    return Owed(
        positionid=row.positionid,
        item_id=row.item_id,
        variation_id=row.variation_id,
        subevent_id=row.subevent_id,
        price=Decimal(row.price),
        tax_rate=Decimal(row.tax_rate),
        tax_value=Decimal(row.tax_value),
        tax_rule_id=row.tax_rule_id,
        tax_code=row.tax_code,
        fee_type=row.fee_type,
        internal_type=row.internal_type,
    )


def record_transactions(
    session: Session,
    order: Order,
    *,
    positions: Iterable[OrderPosition] | None = None,
    fees: Iterable[OrderFee] | None = None,
    when: datetime | None = None,
    fresh: bool = False,
) -> list[Transaction]:
    """Append the rows that bring the ledger of ``order`` in line with its current state; return them.

    ``positions``/``fees`` default to the order's relationships; ``fresh`` (a just-created order) skips reading
    the ledger, which is empty then.
    """
    session.flush()
    moment = when or clock.now()
    positions = list(order.positions if positions is None else positions)
    fees = list(order.fees if fees is None else fees)
    void = order.status in (STATUS_CANCELED, STATUS_EXPIRED)
    balance: dict[tuple[str, int], tuple[int, Owed | None]] = {}
    if not fresh:
        rows = session.scalars(
            select(Transaction).where(Transaction.order_id == order.id).order_by(Transaction.id)
        ).all()
        for row in rows:
            key = ("p", row.position_id) if row.position_id is not None else ("f", row.fee_id or 0)
            count, last = balance.get(key, (0, None))
            balance[key] = (count + row.count, _owed_by_row(row) if row.count > 0 else last)
    written: list[Transaction] = []

    def settle(key: tuple[str, int], owed_now: Owed | None) -> None:
        count, recorded = balance.get(key, (0, None))
        if count > 0 and recorded is not None and recorded == owed_now:
            return
        if count > 0 and recorded is not None:
            written.append(_row(order, key, recorded, -count, moment))
        if owed_now is not None:
            written.append(_row(order, key, owed_now, 1, moment))

    for position in positions:
        settle(("p", position.id), None if void or position.canceled else _owed_by_position(position))
    for fee in fees:
        settle(("f", fee.id), None if void or fee.canceled else _owed_by_fee(fee))
    session.add_all(written)
    return written


def opening_rows(
    order: Order, positions: Iterable[OrderPosition], fees: Iterable[OrderFee], when: datetime
) -> list[Transaction]:
    """The rows a just-written order's ledger starts with (what ``record_transactions(fresh=True)`` appends),
    neither added nor flushed: for writers of many orders at once, who add them in one go."""
    rows = [_row(order, ("p", p.id), _owed_by_position(p), 1, when) for p in positions if not p.canceled]
    return rows + [_row(order, ("f", f.id), _owed_by_fee(f), 1, when) for f in fees if not f.canceled]


def _row(order: Order, key: tuple[str, int], owed: Owed, count: int, moment: datetime) -> Transaction:
    kind, object_id = key
    return Transaction(
        order_id=order.id,
        created=moment,
        datetime=moment,
        position_id=object_id if kind == "p" else None,
        fee_id=object_id if kind == "f" else None,
        count=count,
        positionid=owed.positionid,
        item_id=owed.item_id,
        variation_id=owed.variation_id,
        subevent_id=owed.subevent_id,
        price=owed.price,
        tax_rate=owed.tax_rate,
        tax_value=owed.tax_value,
        tax_rule_id=owed.tax_rule_id,
        tax_code=owed.tax_code,
        fee_type=owed.fee_type,
        internal_type=owed.internal_type,
    )
