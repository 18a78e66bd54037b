"""Placing many orders of the same content at once (offline sales batches): one transaction, all or nothing.

Every order is what :func:`~boxoffice.kernel.orders.placement.place_order` creates for the draft: the draft is
placed once as a simulation, which runs all of the engine's checks and its pricing, tax, validity and payment rules,
and the result is then written ``count`` times with fresh codes and secrets. Quota is taken the engine's way
(:mod:`boxoffice.kernel.orders.quotas`): one lock-free pre-check for every unit of the batch, the rows written, then
the touched quota rows locked and counted once. A batch that would oversell raises
:class:`~boxoffice.kernel.orders.quotas.QuotaExceeded` before anything is committed, so the caller's rollback leaves
nothing behind.

Rows are written ``CHUNK`` orders per flush (multi-row inserts) and let go of after their chunk, so a batch of ten
thousand orders costs a few hundred statements and no more memory than one chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import insert, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from boxoffice.kernel import clock
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.models import Event, LogEntry
from boxoffice.kernel.models.orders import Order, OrderFee, OrderPayment, OrderPosition, Transaction
from boxoffice.kernel.orders import codes, quotas
from boxoffice.kernel.orders.drafts import OrderDraft
from boxoffice.kernel.orders.errors import OrderError
from boxoffice.kernel.orders.ledger import opening_rows
from boxoffice.kernel.orders.placement import CODE_ATTEMPTS, PREVIEW_CODE, place_order

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel

MAX_ORDERS = 10_000
CHUNK = 500
# Order codes are checked against the organizer's orders this many at a time (one query each).
CODE_QUERY_SIZE = 1000
# Columns every copy gets anew (keys, links, and what makes an order or ticket unguessable).
FRESH_ORDER = frozenset({"id", "code", "secret", "datetime", "last_modified"})
FRESH_POSITION = frozenset({"id", "order_id", "addon_to_id", "secret", "web_secret", "pseudonymization_id"})
FRESH_CHILD = frozenset({"id", "order_id"})
FRESH_PAYMENT = frozenset({"id", "order_id", "fee_id", "created", "payment_date"})
LEDGER_COLUMNS = [attribute.key for attribute in inspect(Transaction).column_attrs if attribute.key != "id"]


@dataclass(frozen=True)
class PlacedOrder:
    """One order of a bulk placement."""

    id: int
    code: str
    position_ids: tuple[int, ...]


def _columns(model: type, excluded: frozenset[str]) -> list[str]:
    return [attribute.key for attribute in inspect(model).column_attrs if attribute.key not in excluded]


def _unsupported(draft: OrderDraft) -> str | None:
    """What the draft asks for that cannot be the same for many orders."""
    if draft.code is not None:
        return "Orders placed in bulk get their own codes; do not send one."
    if draft.consume_carts:
        return "Orders placed in bulk cannot take over carts."
    if draft.invoice_address is not None:
        return "Orders placed in bulk have no invoice address."
    for position in draft.positions:
        if position.secret:
            return "Tickets placed in bulk get their own secrets; do not send one."
        if position.voucher:
            return "Orders placed in bulk cannot redeem vouchers."
        if position.answers:
            return "Orders placed in bulk cannot carry answers to questions."
    return None


def place_orders(
    kernel: Kernel,
    session: Session,
    event: Event,
    draft: OrderDraft,
    count: int,
    *,
    actor: Actor,
    log_data: dict[str, Any] | None = None,
    on_placed: Callable[[list[PlacedOrder]], None] | None = None,
) -> list[PlacedOrder]:
    """Place ``count`` orders, each as ``draft`` describes, in the caller's transaction; returns them in order.

    Raises :class:`OrderError` (the caller must roll back) for anything wrong with the draft, when the batch does not
    fit its quotas, or when ``count`` is not between 1 and :data:`MAX_ORDERS`. Each order is audit-logged as
    placed (``log_data`` is added to the entry's data), plugins hear ``order_placed``, invoices are issued as the
    event's settings say, exactly as for one order. ``on_placed`` receives each chunk of orders once written.
    """
    if not 1 <= count <= MAX_ORDERS:
        raise OrderError(f"Between 1 and {MAX_ORDERS} orders can be placed at once.")
    problem = _unsupported(draft)
    if problem is not None:
        raise OrderError(problem)
    model = place_order(kernel, session, event, msgspec.structs.replace(draft, simulate=True), actor=actor)
    positions = sorted(model.positions, key=lambda position: position.positionid)
    # Add-ons point at their parent by the parent's number within the order (the simulation's ids are gone).
    parent_numbers = {position.id: position.positionid for position in positions}
    order_values = {name: getattr(model, name) for name in _columns(Order, FRESH_ORDER)}
    position_values = [
        (
            {name: getattr(position, name) for name in _columns(OrderPosition, FRESH_POSITION)},
            parent_numbers.get(position.addon_to_id) if position.addon_to_id is not None else None,
        )
        for position in positions
    ]
    fee_values = [{name: getattr(fee, name) for name in _columns(OrderFee, FRESH_CHILD)} for fee in model.fees]
    payment_values = [
        {name: getattr(payment, name) for name in _columns(OrderPayment, FRESH_PAYMENT)}
        | {"paid": payment.payment_date is not None}
        for payment in model.payments
    ]

    quota_ids: list[int] = []
    if not draft.force:
        keys = [(p.item_id, p.variation_id, p.subevent_id) for p in positions] * count
        try:
            quota_ids = quotas.check_capacity(session, event.id, keys)
        except quotas.NoQuota as missing:
            raise OrderError(missing.detail) from None

    order_codes = _free_codes(kernel, session, event, count)
    settings = kernel.settings_for(session, event=event)
    hooks = kernel.plugins.for_event(event)
    from boxoffice.kernel import invoicing  # imported here: the invoice service builds on the orders engine

    placed: list[PlacedOrder] = []
    for start in range(0, count, CHUNK):
        now = clock.now()
        chunk_codes = order_codes[start : start + CHUNK]
        orders = [
            Order(**order_values, code=code, secret=codes.order_secret(), datetime=now, last_modified=now)
            for code in chunk_codes
        ]
        session.add_all(orders)
        session.flush()
        rows = _write_positions(kernel, session, orders, position_values)
        fees = {order.id: [OrderFee(**values, order_id=order.id) for values in fee_values] for order in orders}
        payments = {order.id: _payments(order, payment_values, now) for order in orders}
        session.add_all([row for found in fees.values() for row in found])
        session.add_all([row for found in payments.values() for row in found])
        session.flush()
        ledger = [row for order in orders for row in opening_rows(order, rows[order.id], fees[order.id], now)]
        # Nobody reads the ledger rows back: one plain multi-row insert (no ids fetched) instead of the ORM's.
        session.execute(insert(Transaction), [_column_values(row, LEDGER_COLUMNS) for row in ledger])
        entries = [_log_entry(event, order, len(position_values), actor, log_data) for order in orders]
        session.add_all(entries)
        session.flush()
        for order in orders:
            set_committed_value(order, "event", event)
            set_committed_value(order, "positions", rows[order.id])
            set_committed_value(order, "fees", fees[order.id])
            set_committed_value(order, "payments", payments[order.id])
            set_committed_value(order, "refunds", [])
            set_committed_value(order, "invoice_address", None)
            for position in rows[order.id]:
                set_committed_value(position, "order", order)
                set_committed_value(position, "answers", [])
        for entry in entries:
            kernel.plugins.hook.log_entry_created(entry=entry, session=session)
        for order in orders:
            hooks.order_placed(event=event, order=order, session=session)
            invoicing.on_order_placed(kernel, session, order, settings)
        session.flush()
        chunk = [PlacedOrder(order.id, order.code, tuple(row.id for row in rows[order.id])) for order in orders]
        placed += chunk
        if on_placed is not None:
            on_placed(chunk)
        # Written and told: the rows need not stay in the session (keeps memory flat for big batches).
        for obj in [*orders, *(r for found in rows.values() for r in found), *entries]:
            session.expunge(obj)
        for found in (*fees.values(), *payments.values()):
            for obj in found:
                session.expunge(obj)
    if quota_ids:
        # Last, as for one order: lock the quotas and count again with every order of the batch in place.
        quotas.verify(session, quota_ids)
    return placed


def _column_values(row: Any, columns: list[str]) -> dict[str, Any]:
    """The values set on a new row (columns left unset keep their defaults in the insert)."""
    return {name: row.__dict__[name] for name in columns if name in row.__dict__}


def _write_positions(
    kernel: Kernel, session: Session, orders: list[Order], values: list[tuple[dict[str, Any], int | None]]
) -> dict[int, list[OrderPosition]]:
    rows: dict[int, list[OrderPosition]] = {}
    length = kernel.config.ticket_secret_length
    for order in orders:
        rows[order.id] = [
            OrderPosition(
                **columns,
                order_id=order.id,
                secret=codes.ticket_secret(length),
                web_secret=codes.web_secret(),
                pseudonymization_id=codes.pseudonymization_id(),
            )
            for columns, _parent in values
        ]
    # Parents first, so add-ons can point at their ids.
    session.add_all(
        [row for found in rows.values() for row, (_, parent) in zip(found, values, strict=True) if parent is None]
    )
    if any(parent is not None for _, parent in values):
        session.flush()
        for found in rows.values():
            by_number = {row.positionid: row for row in found}
            for row, (_, parent) in zip(found, values, strict=True):
                if parent is not None:
                    row.addon_to_id = by_number[parent].id
                    session.add(row)
    session.flush()
    return rows


def _payments(order: Order, values: Iterable[dict[str, Any]], now: Any) -> list[OrderPayment]:
    payments = []
    for found in values:
        columns = {key: value for key, value in found.items() if key != "paid"}
        payments.append(
            OrderPayment(**columns, order_id=order.id, created=now, payment_date=now if found["paid"] else None)
        )
    return payments


def _log_entry(event: Event, order: Order, position_count: int, actor: Actor, extra: dict[str, Any] | None) -> LogEntry:
    """The entry ``place_order`` writes for an order (``kernel.log_action`` would flush once per entry)."""
    return LogEntry(
        organizer_id=event.organizer_id,
        event_id=event.id,
        object_type="order",
        object_id=str(order.id),
        action_type="boxoffice.event.order.placed",
        actor_type=actor.type,
        actor_id=actor.id,
        data={
            "code": order.code,
            "total": str(order.total),
            "status": order.status,
            "send_email": False,
            "positions": position_count,
            **(extra or {}),
        },
    )


def _free_codes(kernel: Kernel, session: Session, event: Event, count: int) -> list[str]:
    """``count`` distinct random order codes no order of the organizer has (codes are unique per organizer)."""
    length = kernel.config.order_code_length
    chosen: dict[str, None] = {}
    for _attempt in range(CODE_ATTEMPTS):
        wanted = count - len(chosen)
        if not wanted:
            break
        fresh = {codes.order_code(length) for _ in range(wanted)} - chosen.keys() - {PREVIEW_CODE}
        candidates = sorted(fresh)
        taken: set[str] = set()
        for start in range(0, len(candidates), CODE_QUERY_SIZE):
            part = candidates[start : start + CODE_QUERY_SIZE]
            taken.update(
                session.scalars(
                    select(Order.code)
                    .join(Event, Event.id == Order.event_id)
                    .where(Event.organizer_id == event.organizer_id, Order.code.in_(part))
                )
            )
        for code in fresh - taken:
            chosen[code] = None
            if len(chosen) == count:
                break
    if len(chosen) < count:
        raise OrderError("No free order codes were found; try again or configure longer order codes.")
    return list(chosen)
