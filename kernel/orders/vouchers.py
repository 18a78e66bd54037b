"""Taking voucher uses: the one guarded step every operation that redeems a voucher goes through (placing an
order, paying an expired one, reactivating a canceled one).

A voucher's uses are taken by orders (``Voucher.redeemed``) and held by live cart positions. The voucher row is
locked first (``FOR NO KEY UPDATE``: cart rows referencing it hold key-share locks, which this must not wait for),
then the live carts are counted in a statement of their own — so it sees every cart committed before the lock was
granted — and only then is ``redeemed`` raised, if everything fits. Vouchers are always taken in id order, before
any quota row is locked.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from boxoffice.kernel.models.orders import QUOTA_HOLDING_STATUSES, CartPosition, Order, OrderPosition
from boxoffice.kernel.models.vouchers import Voucher


def take_uses(session: Session, voucher_id: int, number: int, *, now: datetime, force: bool = False) -> bool:
    """Redeem ``number`` more uses of the voucher; ``False`` (nothing changed) when its uses left — after what
    orders redeemed and live carts hold — are fewer. ``force`` redeems regardless (an organizer overbooking)."""
    session.execute(select(Voucher.id).where(Voucher.id == voucher_id).with_for_update(key_share=True))
    guarded = update(Voucher).where(Voucher.id == voucher_id)
    if not force:
        held = session.scalar(
            select(func.count())
            .select_from(CartPosition)
            .where(CartPosition.voucher_id == voucher_id, CartPosition.expires > now)
        )
        guarded = guarded.where(Voucher.redeemed + number + (held or 0) <= Voucher.max_usages)
    result = session.execute(
        guarded.values(redeemed=Voucher.redeemed + number).execution_options(synchronize_session=False)
    )
    loaded = session.identity_map.get(identity_key(Voucher, voucher_id))
    if loaded is not None:
        session.expire(loaded, ["redeemed"])
    return result.rowcount == 1


def budget_exceeded(session: Session, voucher: Voucher) -> bool:
    """Whether the discounts of the voucher's positions in quota-holding orders add up to more than its budget
    (call it after :func:`take_uses`, which holds the voucher's lock, so the sum cannot change meanwhile)."""
    if voucher.budget is None:
        return False
    spent = session.scalar(
        select(func.coalesce(func.sum(OrderPosition.voucher_budget_use), 0))
        .join(Order, Order.id == OrderPosition.order_id)
        .where(
            OrderPosition.voucher_id == voucher.id,
            OrderPosition.canceled.is_(False),
            Order.status.in_(QUOTA_HOLDING_STATUSES),
        )
    )
    return Decimal(spent) > Decimal(voucher.budget)
