"""The plugin's two jobs: placing a batch's orders (all or nothing) and rendering its tickets into one PDF."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import selectinload

from boxoffice.hookspecs.providers import JobFailed
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.orders import QUOTA_HOLDING_STATUSES, Order, OrderPosition
from boxoffice.kernel.orders.bulk import PlacedOrder, place_orders
from boxoffice.kernel.orders.drafts import OrderDraft, PositionDraft
from boxoffice.kernel.orders.errors import OrderError
from boxoffice.kernel.tickets import render_batch_job
from boxoffice.plugins.offlinesales.models import OfflineSalesBatch, OfflineSalesBatchOrder

PLUGIN = "offlinesales"
CREATE_JOB = "offlinesales.create_batch"
RENDER_JOB = "offlinesales.render_batch"
PDF_OUTPUT = "pdf"
# The orders are paid: the money is collected outside the system, as with any manual payment.
PAYMENT_PROVIDER = "manual"


def first_message(problem: OrderError) -> str:
    """One sentence for the failed job: the detail, or the first field message of the error tree."""
    if problem.detail:
        return problem.detail
    pending: list[Any] = [problem.errors]
    while pending:
        node = pending.pop(0)
        if isinstance(node, str):
            return node
        if isinstance(node, dict):
            pending[:0] = list(node.values())
        elif isinstance(node, list):
            pending[:0] = node
    return "The orders could not be placed."


def _event(session: Any, event_id: int) -> Event:
    event = session.scalar(select(Event).where(Event.id == event_id).options(selectinload(Event.organizer)))
    if event is None:
        raise JobFailed("This event does not exist (anymore).")
    return event


def create_batch_job(context: Any, event_id: int, batch: dict[str, Any], actor: list[Any]) -> dict[str, Any]:
    """Job ``offlinesales.create_batch``: the batch row and ``amount`` paid orders in one transaction; any problem
    (e.g. not enough quota) fails the job with its message and leaves nothing behind."""
    kernel = context.kernel
    who = Actor(actor[0], actor[1])
    with context.session() as session:
        event = _event(session, event_id)
        if PLUGIN not in kernel.plugins.active_for_event(event):
            raise JobFailed("Offline sales are not enabled for this event.")
        row = OfflineSalesBatch(
            event_id=event.id,
            testmode=batch["testmode"],
            sales_channel=batch["sales_channel"],
            layout_id=batch["layout"],
            subevent_id=batch["subevent"],
            item_id=batch["item"],
            variation_id=batch["variation"],
            amount=batch["amount"],
            comment=batch["comment"],
            actor_type=who.type,
            actor_id=who.id,
        )
        session.add(row)
        session.flush()
        draft = OrderDraft(
            positions=[PositionDraft(item=batch["item"], variation=batch["variation"], subevent=batch["subevent"])],
            status="p",
            testmode=batch["testmode"],
            sales_channel=batch["sales_channel"],
            payment_provider=PAYMENT_PROVIDER,
            send_email=False,
        )

        def link(chunk: list[PlacedOrder]) -> None:
            session.execute(
                insert(OfflineSalesBatchOrder), [{"batch_id": row.id, "order_id": order.id} for order in chunk]
            )

        try:
            placed = place_orders(
                kernel,
                session,
                event,
                draft,
                batch["amount"],
                actor=who,
                log_data={"offlinesales_batch": row.id},
                on_placed=link,
            )
        except OrderError as problem:
            raise JobFailed(first_message(problem)) from None
        kernel.log_action(
            session,
            row,
            "boxoffice.offlinesales.batch.created",
            actor=who,
            data={**batch, "id": row.id, "orders": len(placed)},
        )
        return {"batch": row.id}


def batch_position_ids(session: Any, batch_id: int) -> list[int]:
    """The tickets of the batch's orders that are still valid (paid or pending, not canceled), in order."""
    return list(
        session.scalars(
            select(OrderPosition.id)
            .join(Order, Order.id == OrderPosition.order_id)
            .join(OfflineSalesBatchOrder, OfflineSalesBatchOrder.order_id == Order.id)
            .where(
                OfflineSalesBatchOrder.batch_id == batch_id,
                Order.status.in_(QUOTA_HOLDING_STATUSES),
                OrderPosition.canceled.is_(False),
            )
            .order_by(Order.id, OrderPosition.positionid)
        )
    )


def render_batch(context: Any, event_id: int, batch_id: int) -> dict[str, Any]:
    """Job ``offlinesales.render_batch``: every ticket of the batch with its layout, through the kernel's bulk
    ticket path (the PDF output draws parts of 1,000 pages and joins them while writing; progress as it goes)."""
    with context.session() as session:
        batch = session.get(OfflineSalesBatch, batch_id)
        if batch is None or batch.event_id != event_id:
            raise JobFailed("This batch does not exist (anymore).")
        layout_id = batch.layout_id
        positions = batch_position_ids(session, batch_id)
    if not positions:
        raise JobFailed("This batch has no valid tickets left to print.")
    parts = [{"orderposition": position_id, "override_layout": layout_id} for position_id in positions]
    result = render_batch_job(context, event_id, PDF_OUTPUT, parts)
    return {**result, "filename": f"offlinesales-{batch_id}.pdf", "tickets": len(parts)}
