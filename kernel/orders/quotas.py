"""Selling against quotas without overselling, and without an event-wide lock.

The pattern every operation that takes capacity follows (placing an order or cart, reactivating, paying an
expired order, adding or changing positions):

1. a lock-free :func:`precheck` answers "sold out" early, so a rush on an exhausted quota costs no locks;
2. the operation writes its rows (positions, carts, status changes) inside its transaction;
3. :func:`verify` then locks the touched quota rows — only those, in id order so two buyers never deadlock —
   and counts again; if any quota is now over its size the whole transaction is rolled back.

Each count is one statement (:func:`~boxoffice.kernel.availability.consumed_units`). The lock is taken last
and, when the caller commits right away as order creation does, held only for one count and the commit: buyers of
different products never wait for each other, buyers of one product wait for one short statement, not a whole order.
On PostgreSQL the rows are locked with ``SELECT … FOR UPDATE``; each statement of a READ COMMITTED transaction
sees what was committed before it started, so the count after the lock sees every earlier buyer. SQLite has one
writer at a time: the transaction already holds the database's write lock from its first insert.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from boxoffice.kernel import clock
from boxoffice.kernel.availability import QuotaScope, consumed_units, quota_scopes
from boxoffice.kernel.models.quotas import Quota, quota_items
from boxoffice.kernel.orders.errors import OrderError

# (item id, variation id, sub-event id): what a position or cart row sells.
ProductKey = tuple[int, int | None, int | None]
# check_capacity leaves the quotas' scopes here for verify, within one unit of work (saves two queries).
SCOPES_KEY = "boxoffice.quota_scopes"


class QuotaExceeded(OrderError):
    """Not enough left on ``quota`` for the operation."""

    def __init__(self, quota: Quota) -> None:
        super().__init__(not_enough_message(quota))
        self.quota = quota


def not_enough_message(quota: Quota) -> str:
    return f'There is not enough quota available on quota "{quota.name}" to perform the operation.'


def quotas_by_product(session: Session, event_id: int, keys: Iterable[ProductKey]) -> dict[ProductKey, list[Quota]]:
    """The quotas each product key counts against, in three queries for all keys (the quotas, their items, their
    variations); the quotas' scopes stay in the session for :func:`verify`."""
    keys = set(keys)
    item_ids = {key[0] for key in keys}
    if not item_ids:
        return {}
    candidates = list(
        session.scalars(
            select(Quota)
            .join(quota_items, quota_items.c.quota_id == Quota.id)
            .where(Quota.event_id == event_id, quota_items.c.item_id.in_(item_ids))
            .order_by(Quota.id)
            .distinct()
        )
    )
    scopes = quota_scopes(session, candidates)
    session.info.setdefault(SCOPES_KEY, {}).update(scopes)
    # Indexed by item first: a shop page asks for every product at once, and comparing each key with every quota
    # of the event would grow with products times quotas.
    by_item: dict[int, list[Quota]] = defaultdict(list)
    for quota in candidates:
        for item_id in scopes[quota.id].item_ids:
            by_item[item_id].append(quota)
    return {key: [quota for quota in by_item.get(key[0], ()) if scopes[quota.id].matches(*key)] for key in keys}


def demand(keys: Iterable[ProductKey], quotas: Mapping[ProductKey, list[Quota]]) -> Counter[int]:
    """Units needed per quota id for these product keys (one per key occurrence)."""
    needed: Counter[int] = Counter()
    for key in keys:
        for quota in quotas.get(key, []):
            needed[quota.id] += 1
    return needed


def precheck(session: Session, quotas: Iterable[Quota], needed: Mapping[int, int]) -> None:
    """Refuse early, without locks, when a quota cannot take ``needed`` more units (a hint: :func:`verify` decides)."""
    limited = [quota for quota in {quota.id: quota for quota in quotas}.values() if needed.get(quota.id)]
    if not limited:
        return
    for quota in limited:
        if quota.closed:
            raise QuotaExceeded(quota)
    sized = [quota for quota in limited if quota.size is not None]
    used = consumed_units(session, _scopes(session, sized, session.info.get(SCOPES_KEY)).values(), clock.now())
    for quota in sized:
        if used[quota.id] + needed[quota.id] > quota.size:  # type: ignore[operator]
            raise QuotaExceeded(quota)


def _scopes(session: Session, quotas: list[Quota], known: dict[int, QuotaScope] | None) -> dict[int, QuotaScope]:
    if known is not None and all(quota.id in known for quota in quotas):
        return {quota.id: known[quota.id] for quota in quotas}
    return quota_scopes(session, quotas)


def verify(session: Session, quota_ids: Iterable[int], *, closed_is_full: bool = True) -> None:
    """Lock the quotas in id order and make sure none holds more than its size, now that the caller's rows are
    written. Raise :class:`QuotaExceeded` (the caller's transaction must then roll back) otherwise.

    Quotas that reach their size and are marked ``close_when_sold_out`` are closed here, under the lock.
    """
    known: dict[int, QuotaScope] | None = session.info.pop(SCOPES_KEY, None)
    ids = sorted(set(quota_ids))
    if not ids:
        return
    session.flush()
    quotas = list(
        session.scalars(
            select(Quota)
            .where(Quota.id.in_(ids))
            .order_by(Quota.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    limited = [quota for quota in quotas if quota.size is not None or quota.closed]
    if not limited:
        return
    for quota in limited:
        if quota.closed and closed_is_full:
            raise QuotaExceeded(quota)
    sized = [quota for quota in limited if quota.size is not None]
    used = consumed_units(session, _scopes(session, sized, known).values(), clock.now())
    for quota in sized:
        if used[quota.id] > quota.size:  # type: ignore[operator]
            raise QuotaExceeded(quota)
        if used[quota.id] >= quota.size and quota.close_when_sold_out and not quota.closed:  # type: ignore[operator]
            quota.closed = True


def check_capacity(session: Session, event_id: int, keys: list[ProductKey]) -> list[int]:
    """Pre-check ``keys`` (one entry per unit) against their quotas; return the quota ids to :func:`verify` once
    the rows are written. Each key must be covered by at least one quota, or the product is not for sale."""
    by_product = quotas_by_product(session, event_id, keys)
    for index, key in enumerate(keys):
        if not by_product.get(key):
            raise NoQuota(index)
    needed = demand(keys, by_product)
    quotas = {quota.id: quota for found in by_product.values() for quota in found}
    precheck(session, quotas.values(), needed)
    return sorted(needed)


class NoQuota(OrderError):
    """A product has no quota on this date, so it cannot be sold."""

    def __init__(self, index: int) -> None:
        super().__init__("The product is not assigned to a quota and can therefore not be sold.")
        self.index = index
