"""How much of a quota is left.

A quota of ``size`` units is consumed, in this order, by

1. paid order positions (less those that left through an exit scan, when ``release_after_exit`` is set),
2. pending order positions,
3. vouchers that block quota (their unredeemed usages),
4. cart positions that are still reserved,
5. waiting-list entries that have not received a voucher yet.

What is left after all of them is ``available_number``; the quota is ``available`` while that is above zero and
the quota is not closed. An unlimited quota (``size`` None) has no ``total_size`` and no ``available_number``.

One statement counts every kind for all quotas asked about; the availability breakdown and the capacity check
(:func:`consumed_units`) both read it. A position, cart row or waiting-list entry falls
into a quota when its item is one of the quota's items, its variation (if any) is one of the quota's variations and
its sub-event equals the quota's sub-event (both None outside event series). The waiting list does not exist yet.

Closing a ``close_when_sold_out`` quota is a side effect of selling the last unit, so it belongs to the code that
sells (:mod:`boxoffice.kernel.orders.quotas`), not to this read-only computation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from boxoffice.kernel import clock
from boxoffice.kernel.db import UTCDateTime
from boxoffice.kernel.models.orders import STATUS_PAID, STATUS_PENDING
from boxoffice.kernel.models.quotas import Quota, quota_items, variation_ids_by_quota


@dataclass(frozen=True)
class QuotaScope:
    """What a quota counts: these items (a variation only if listed) on this sub-event."""

    quota_id: int
    event_id: int
    subevent_id: int | None
    item_ids: frozenset[int]
    variation_ids: frozenset[int]

    def matches(self, item_id: int | None, variation_id: int | None, subevent_id: int | None) -> bool:
        if subevent_id != self.subevent_id or item_id not in self.item_ids:
            return False
        return variation_id is None or variation_id in self.variation_ids


@dataclass
class OrderCounts:
    paid: int = 0
    pending: int = 0
    # Paid positions whose last scan was at an exit; only subtracted from ``paid`` with ``release_after_exit``.
    exited: int = 0


@dataclass(frozen=True)
class QuotaAvailability:
    """The availability endpoint's body, field for field."""

    available: bool
    available_number: int | None
    total_size: int | None
    pending_orders: int
    paid_orders: int
    exited_orders: int
    cart_positions: int
    blocking_vouchers: int
    waiting_list: int


@dataclass
class _Usage:
    orders: OrderCounts = field(default_factory=OrderCounts)
    blocking_vouchers: int = 0
    cart_positions: int = 0
    waiting_list: int = 0


def quota_scopes(session: Session, quotas: Sequence[Quota]) -> dict[int, QuotaScope]:
    """Items and variations of each quota, in two queries."""
    ids = [quota.id for quota in quotas]
    items: dict[int, set[int]] = {quota_id: set() for quota_id in ids}
    if ids:
        for quota_id, item_id in session.execute(
            select(quota_items.c.quota_id, quota_items.c.item_id).where(quota_items.c.quota_id.in_(ids))
        ):
            items[quota_id].add(item_id)
    variations = variation_ids_by_quota(session, ids)
    return {
        quota.id: QuotaScope(
            quota_id=quota.id,
            event_id=quota.event_id,
            subevent_id=quota.subevent_id,
            item_ids=frozenset(items[quota.id]),
            variation_ids=frozenset(variations[quota.id]),
        )
        for quota in quotas
    }


def quota_availability(
    session: Session, quota: Quota, *, now: datetime | None = None, ignore_voucher_id: int | None = None
) -> QuotaAvailability:
    """The availability of one quota (see the module docstring for what is counted)."""
    return quota_availabilities(session, [quota], now=now, ignore_voucher_id=ignore_voucher_id)[quota.id]


def quota_availabilities(
    session: Session,
    quotas: Sequence[Quota],
    *,
    now: datetime | None = None,
    ignore_voucher_id: int | None = None,
    scopes: dict[int, QuotaScope] | None = None,
) -> dict[int, QuotaAvailability]:
    """The availability of several quotas with a fixed number of queries, whatever their number.

    ``ignore_voucher_id`` leaves one voucher's blocking out, to check whether that voucher may block (more).
    ``scopes`` may pass the quotas' scopes when the caller has them already (saves two queries).
    """
    if not quotas:
        return {}
    moment = now or clock.now()
    if scopes is None or any(quota.id not in scopes for quota in quotas):
        scopes = quota_scopes(session, quotas)
    else:
        scopes = {quota.id: scopes[quota.id] for quota in quotas}
    usage = _usage(session, scopes.values(), moment, ignore_voucher_id)
    return {quota.id: _combine(quota, usage[quota.id]) for quota in quotas}


def _combine(quota: Quota, usage: _Usage) -> QuotaAvailability:
    orders = usage.orders
    paid = orders.paid - (orders.exited if quota.release_after_exit else 0)
    consumed = paid + orders.pending + usage.blocking_vouchers + usage.cart_positions + usage.waiting_list
    if quota.size is None:
        left: int | None = None
    else:
        left = max(0, quota.size - consumed)
    if quota.closed:
        left = 0
    return QuotaAvailability(
        available=not quota.closed and (left is None or left > 0),
        available_number=left,
        total_size=quota.size,
        pending_orders=orders.pending,
        paid_orders=orders.paid,
        exited_orders=orders.exited,
        cart_positions=usage.cart_positions,
        blocking_vouchers=usage.blocking_vouchers,
        waiting_list=usage.waiting_list,
    )


# --- what consumes a quota --------------------------------------------------------------------------------------

# Every kind of use, in one statement prepared once: orders (by status), live carts and blocking vouchers, grouped
# by product so each group can be handed to every quota whose scope it falls into. It runs twice for every order
# placed (once before writing, once under the quota locks), so building it per call would cost more than running it.
# Non-canceled positions of orders ``n`` and ``p`` count (add-ons and bundled positions like any other); carts on
# blocking vouchers are left out (the voucher counts them); vouchers count their unredeemed usages.
_USAGE = text(
    """
    SELECT CAST(o.status AS VARCHAR(10)), CAST(NULL AS INTEGER), op.item_id, op.variation_id, op.subevent_id,
           count(*)
    FROM order_position op JOIN "order" o ON o.id = op.order_id
    WHERE op.item_id IN :item_ids AND op.canceled = :no AND o.status IN ('n', 'p')
    GROUP BY o.status, op.item_id, op.variation_id, op.subevent_id
    UNION ALL
    SELECT 'cart', CAST(NULL AS INTEGER), cp.item_id, cp.variation_id, cp.subevent_id, count(*)
    FROM cart_position cp LEFT JOIN voucher cv ON cv.id = cp.voucher_id
    WHERE cp.item_id IN :item_ids AND cp.expires > :now AND (cv.id IS NULL OR cv.block_quota = :no)
    GROUP BY cp.item_id, cp.variation_id, cp.subevent_id
    UNION ALL
    SELECT 'voucher', v.quota_id, v.item_id, v.variation_id, v.subevent_id, sum(v.max_usages - v.redeemed)
    FROM voucher v
    WHERE v.event_id IN :event_ids AND v.block_quota = :yes AND v.redeemed < v.max_usages AND v.id <> :ignored
      AND (v.valid_until IS NULL OR v.valid_until >= :now)
      AND (v.quota_id IN :quota_ids OR (v.quota_id IS NULL AND v.item_id IN :item_ids))
    GROUP BY v.quota_id, v.item_id, v.variation_id, v.subevent_id
    """
).bindparams(
    bindparam("item_ids", expanding=True),
    bindparam("quota_ids", expanding=True),
    bindparam("event_ids", expanding=True),
    bindparam("now", type_=UTCDateTime()),
)


def _usage(
    session: Session, scopes: Iterable[QuotaScope], now: datetime, ignore_voucher_id: int | None = None
) -> dict[int, _Usage]:
    """What uses each quota, in one query for all of them. ``exited`` stays 0 until check-ins exist and
    ``waiting_list`` until the waiting list does."""
    scopes = list(scopes)
    usage = {scope.quota_id: _Usage() for scope in scopes}
    item_ids = sorted(set().union(*(scope.item_ids for scope in scopes))) if scopes else []
    if not item_ids:
        return usage
    rows = session.execute(
        _USAGE,
        {
            "item_ids": item_ids,
            "quota_ids": sorted(usage),
            "event_ids": sorted({scope.event_id for scope in scopes}),
            "now": now,
            "ignored": ignore_voucher_id or 0,
            "no": False,
            "yes": True,
        },
    )
    for kind, quota_id, item_id, variation_id, subevent_id, number in rows:
        for scope in scopes:
            # A voucher naming a quota reserves there; others reserve wherever their product counts.
            hit = (
                quota_id == scope.quota_id
                if quota_id is not None
                else scope.matches(item_id, variation_id, subevent_id)
            )
            if not hit:
                continue
            entry = usage[scope.quota_id]
            if kind == STATUS_PAID:
                entry.orders.paid += int(number)
            elif kind == STATUS_PENDING:
                entry.orders.pending += int(number)
            elif kind == "cart":
                entry.cart_positions += int(number)
            else:
                entry.blocking_vouchers += int(number)
    return usage


def consumed_units(session: Session, scopes: Iterable[QuotaScope], now: datetime) -> dict[int, int]:
    """Units each quota has given away (orders + live carts + blocking vouchers): what a capacity check compares
    with the quota's size. Exit scans do not count yet (check-ins do not exist)."""
    return {
        quota_id: entry.orders.paid
        + entry.orders.pending
        + entry.cart_positions
        + entry.blocking_vouchers
        + entry.waiting_list
        for quota_id, entry in _usage(session, scopes, now).items()
    }


def quotas_for_product(
    session: Session, event_id: int, item_id: int, variation_id: int | None, subevent_id: int | None
) -> list[Quota]:
    """The quotas a sale of this item (variation) on this sub-event counts against."""
    candidates = session.scalars(
        select(Quota)
        .join(quota_items, quota_items.c.quota_id == Quota.id)
        .where(
            Quota.event_id == event_id,
            quota_items.c.item_id == item_id,
            Quota.subevent_id.is_(None) if subevent_id is None else Quota.subevent_id == subevent_id,
        )
        .order_by(Quota.id)
    ).all()
    if variation_id is None:
        return list(candidates)
    scopes = quota_scopes(session, candidates)
    return [quota for quota in candidates if variation_id in scopes[quota.id].variation_ids]
