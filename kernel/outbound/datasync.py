"""Data sync on the outbound queue: one entry per (order, provider); running it calls the provider once per mapping
(and per position for position mappings) and stores what each object became in ``sync_result``.

Source values are read in a short unit of work and the provider's network calls run after it, so no transaction
(and on SQLite no read snapshot) stays open while an external system answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session, selectinload

from boxoffice.hookspecs.providers import (
    DiscardedSyncError,
    OutboundChannel,
    OutboundDelivery,
    OutboundSyncProvider,
    PropertyMapping,
    RecoverableSyncError,
    StaticMapping,
    SyncConfigError,
    UnrecoverableSyncError,
)
from boxoffice.kernel import clock
from boxoffice.kernel.core import kernel_of
from boxoffice.kernel.models import Event, Item
from boxoffice.kernel.models.checkin import Checkin
from boxoffice.kernel.models.orders import Order, OrderPosition
from boxoffice.kernel.models.outbound import OUTBOUND_WAITING, OutboundEntry, SyncMapping, SyncResult
from boxoffice.kernel.models.questions import Question
from boxoffice.kernel.outbound import enqueue, wake_on_commit

if TYPE_CHECKING:
    from boxoffice.hookspecs.providers import JobContext
    from boxoffice.kernel.core import Kernel

CHANNEL = "datasync"
STATUS_NAMES = {"n": "pending", "p": "paid", "e": "expired", "c": "canceled"}


def provider_classes(kernel: Kernel, event: Event) -> dict[str, type[OutboundSyncProvider]]:
    """Sync providers of the plugins active on ``event``."""
    found: dict[str, type[OutboundSyncProvider]] = {}
    for _owner, provider in kernel.plugins.for_event(event).collect("register_sync_providers", event=event):
        if isinstance(provider, type) and issubclass(provider, OutboundSyncProvider) and provider.identifier:
            found.setdefault(provider.identifier, provider)
    return found


def enqueue_order(
    provider: str, order: Order, triggered_by: str, *, not_before: datetime | None = None, immediate: bool = True
) -> tuple[OutboundEntry, bool]:
    """Queue ``order`` for ``provider`` in the order's transaction; an entry still waiting is reused."""
    session = object_session(order)
    if session is None:
        raise ValueError("enqueue_order needs an order loaded in a session")
    waiting = session.scalar(
        select(OutboundEntry).where(
            OutboundEntry.channel == CHANNEL,
            OutboundEntry.target == provider,
            OutboundEntry.object_key == order.code,
            OutboundEntry.event_id == order.event_id,
            OutboundEntry.status == OUTBOUND_WAITING,
        )
    )
    if waiting is not None:
        # The waiting run will read the order as it is then, so it covers this change too.
        waiting.payload = {**waiting.payload, "triggered_by": triggered_by}
        if not_before is not None:
            waiting.next_attempt = not_before
        elif immediate and waiting.next_attempt <= clock.now():
            wake_on_commit(session, waiting.id)
        return waiting, False
    entry = enqueue(
        session,
        channel=CHANNEL,
        target=provider,
        organizer_id=order.event.organizer_id,
        event_id=order.event_id,
        object_key=order.code,
        payload={"order_id": order.id, "triggered_by": triggered_by},
        not_before=not_before,
        immediate=immediate,
    )
    return entry, True


def enqueue_for_all_providers(session: Session, event: Event, order: Order, triggered_by: str) -> None:
    """Lifecycle notification → one queue entry per sync provider active on the event."""
    providers = provider_classes(kernel_of(session), event)
    for identifier in providers:
        enqueue_order(identifier, order, triggered_by)


# --- source fields ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataField:
    """One source field offered to property mappings: ``required_input`` is ``order``, ``position`` or ``event``."""

    key: str
    label: str
    required_input: str
    getter: Callable[[dict[str, Any]], Any]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("en") or next(iter(value.values()), ""))
    return "" if value is None else str(value)


def _address(order: Order, name: str) -> str:
    address = order.invoice_address
    return str(getattr(address, name) or "") if address is not None else ""


def _paid_at(order: Order) -> str | None:
    dates = [
        payment.payment_date for payment in order.payments if payment.state == "confirmed" and payment.payment_date
    ]
    return _iso(max(dates)) if dates else None


def data_fields(session: Session, event: Event) -> dict[str, DataField]:
    """The source fields of ``event`` (order, position and event data, one per question and check-in list)."""
    fields = [
        DataField("email", "Order email", "order", lambda i: i["order"].email or ""),
        DataField("email_domain", "Order email domain", "order", lambda i: (i["order"].email or "").rpartition("@")[2]),
        DataField("order_code", "Order code", "order", lambda i: i["order"].code),
        DataField(
            "event_order_code", "Event and order code", "order", lambda i: f"{i['event'].slug}-{i['order'].code}"
        ),
        DataField("order_total", "Order total", "order", lambda i: str(i["order"].total)),
        DataField("order_status", "Order status", "order", lambda i: i["order"].status),
        DataField("order_date", "Order date", "order", lambda i: _iso(i["order"].datetime)),
        DataField("payment_date", "Payment date", "order", lambda i: _paid_at(i["order"])),
        DataField("order_locale", "Order language", "order", lambda i: i["order"].locale),
        DataField("phone", "Order phone", "order", lambda i: i["order"].phone or ""),
        DataField("invoice_address_company", "Invoice company", "order", lambda i: _address(i["order"], "company")),
        DataField("invoice_address_street", "Invoice street", "order", lambda i: _address(i["order"], "street")),
        DataField("invoice_address_zipcode", "Invoice ZIP code", "order", lambda i: _address(i["order"], "zipcode")),
        DataField("invoice_address_city", "Invoice city", "order", lambda i: _address(i["order"], "city")),
        DataField("invoice_address_country", "Invoice country", "order", lambda i: _address(i["order"], "country")),
        DataField("event_slug", "Event short form", "event", lambda i: i["event"].slug),
        DataField("event_name", "Event name", "event", lambda i: _text(i["event"].name)),
        DataField("event_date_from", "Event start", "event", lambda i: _iso(i["event"].date_from)),
        DataField("event_date_to", "Event end", "event", lambda i: _iso(i["event"].date_to)),
        DataField("position_id", "Position ID", "position", lambda i: str(i["position"].positionid)),
        DataField("ticket_id", "Ticket ID", "position", lambda i: f"{i['order'].code}-{i['position'].positionid}"),
        DataField("ticket_price", "Ticket price", "position", lambda i: str(i["position"].price)),
        DataField(
            "ticket_status", "Ticket status", "position", lambda i: "c" if i["position"].canceled else i["order"].status
        ),
        DataField("attendee_name", "Attendee name", "position", lambda i: i["position"].attendee_name_cached or ""),
        DataField("attendee_email", "Attendee email", "position", lambda i: i["position"].attendee_email or ""),
        DataField(
            "attendee_or_order_email",
            "Attendee email or order email",
            "position",
            lambda i: i["position"].attendee_email or i["order"].email or "",
        ),
        DataField("attendee_company", "Attendee company", "position", lambda i: i["position"].company or ""),
        DataField("attendee_street", "Attendee street", "position", lambda i: i["position"].street or ""),
        DataField("attendee_zipcode", "Attendee ZIP code", "position", lambda i: i["position"].zipcode or ""),
        DataField("attendee_city", "Attendee city", "position", lambda i: i["position"].city or ""),
        DataField("attendee_country", "Attendee country", "position", lambda i: i["position"].country or ""),
        DataField("product", "Product name", "position", lambda i: _text(i["item"].name)),
        DataField("product_id", "Product ID", "position", lambda i: str(i["position"].item_id)),
        DataField(
            "product_is_admission",
            "Product is an admission ticket",
            "position",
            lambda i: bool(i["item"].admission),
        ),
    ]
    for question in session.scalars(select(Question).where(Question.event_id == event.id).order_by(Question.id)):
        if question.type == "F":
            continue
        fields.append(
            DataField(f"question_{question.identifier}", _text(question.question), "position", _answer(question))
        )
    from boxoffice.kernel.models.checkin import CheckinList

    for checkin_list in session.scalars(select(CheckinList).where(CheckinList.event_id == event.id)):
        fields.append(
            DataField(
                f"checkin_date_{checkin_list.id}",
                f"Check-in date ({checkin_list.name})",
                "position",
                _checkin_date(checkin_list.id),
            )
        )
    return {field.key: field for field in fields}


def _answer(question: Question) -> Callable[[dict[str, Any]], Any]:
    def get(inputs: dict[str, Any]) -> Any:
        for answer in inputs["position"].answers:
            if answer.question_id == question.id:
                if question.type == "B":
                    return answer.answer == "True"
                if question.type in ("C", "M"):
                    return [part.strip() for part in answer.answer.split(",") if part.strip()]
                return answer.answer
        return [] if question.type in ("C", "M") else ""

    return get


def _checkin_date(list_id: int) -> Callable[[dict[str, Any]], Any]:
    def get(inputs: dict[str, Any]) -> Any:
        times = [
            c.datetime
            for c in inputs.get("checkins", [])
            if c.list_id == list_id and c.position_id == inputs["position"].id
        ]
        return _iso(min(times)) if times else None

    return get


def stored_mappings(session: Session, event: Event, provider: str) -> list[StaticMapping]:
    """The organizer-configured mappings of ``provider`` on ``event``, in their order."""
    rows = session.scalars(
        select(SyncMapping)
        .where(SyncMapping.event_id == event.id, SyncMapping.provider == provider)
        .order_by(SyncMapping.position, SyncMapping.id)
    )
    return [
        StaticMapping(
            id=row.id,
            source_model=row.source_model,  # type: ignore[arg-type]
            external_object_type=row.external_object_type,
            source_id_field=row.source_id_field,
            external_id_field=row.external_id_field,
            property_mappings=[
                PropertyMapping(
                    source_field=item["source_field"],
                    external_field=item["external_field"],
                    value_map=dict(item.get("value_map") or {}),
                    mode=item.get("mode", "overwrite"),
                )
                for item in row.property_mappings
            ],
        )
        for row in rows
    ]


# --- running ----------------------------------------------------------------------------------------------------


@dataclass
class _Step:
    mapping: Any
    position: OrderPosition | None
    id_value: Any
    properties: list[tuple[str, Any, str]]
    inputs: dict[str, Any]


def _value(fields: dict[str, DataField], key: str, inputs: dict[str, Any]) -> Any:
    field = fields.get(key)
    if field is None:
        raise SyncConfigError([f"Unknown source field {key!r}."])
    if field.required_input == "position" and "position" not in inputs:
        raise SyncConfigError([f"Source field {key!r} needs a position; use it in an OrderPosition mapping."])
    value = field.getter(inputs)
    return str(value) if isinstance(value, Decimal) else value


def _plan(session: Session, provider: OutboundSyncProvider, order: Order) -> list[_Step]:
    event = order.event
    fields = data_fields(session, event)
    checkins = list(session.scalars(select(Checkin).where(Checkin.position_id.in_([p.id for p in order.positions]))))
    items = {item.id: item for item in session.scalars(select(Item).where(Item.event_id == event.id))}
    steps: list[_Step] = []
    for mapping in provider.mappings:
        targets: list[OrderPosition | None] = (
            [None] if mapping.source_model == "Order" else [p for p in order.positions if not p.canceled]
        )
        for position in targets:
            inputs: dict[str, Any] = {"order": order, "event": event, "checkins": checkins}
            if position is not None:
                inputs["position"] = position
                inputs["item"] = items.get(position.item_id)
            id_value = _value(fields, mapping.source_id_field, inputs)
            properties = []
            for pm in mapping.property_mappings:
                value = pm.map_value(_value(fields, pm.source_field, inputs))
                properties.append((pm.external_field, value, pm.mode))
            inputs.pop("checkins")
            steps.append(_Step(mapping, position, id_value, properties, inputs))
    return steps


class AttemptsExceeded(UnrecoverableSyncError):
    """A recoverable error came once too often (the provider's ``max_attempts``): now it needs attention."""

    failure_mode = "exceeded"


class DataSyncChannel(OutboundChannel):
    """Runs queued orders through their sync provider (the kernel's own channel)."""

    identifier = CHANNEL
    max_attempts = None  # each provider sets its own limit (``OutboundSyncProvider.max_attempts``)
    # pretix's limit for one sync run before it counts as timed out.
    lease = timedelta(minutes=20)

    def deliver(self, delivery: OutboundDelivery, context: JobContext) -> dict[str, Any] | None:
        kernel: Kernel = context.kernel
        with kernel.db.session() as session:
            order = session.scalar(
                select(Order)
                .where(Order.id == delivery.payload["order_id"])
                .options(
                    selectinload(Order.positions).selectinload(OrderPosition.answers),
                    selectinload(Order.payments),
                    selectinload(Order.invoice_address),
                )
            )
            if order is None:
                raise DiscardedSyncError("The order no longer exists.")
            provider_class = provider_classes(kernel, order.event).get(delivery.target)
            if provider_class is None:
                raise DiscardedSyncError(f"The sync provider {delivery.target!r} is not active on this event.")
            provider = provider_class(order.event)
            if not provider.should_sync_order(order):
                return {"skipped": True}
            steps = _plan(session, provider, order)
            order_id, event_id = order.id, order.event_id
        try:
            results = self._run(provider, order, steps)
        except RecoverableSyncError as error:
            if delivery.attempt >= provider.max_attempts:
                raise AttemptsExceeded(error.messages, error.full_message) from error
            error.retry_after = provider.next_retry_delay(delivery.attempt)  # type: ignore[attr-defined]
            raise
        _store(kernel, order_id, event_id, delivery.target, results)
        return {"objects": len(results), "triggered_by": delivery.payload.get("triggered_by")}

    def _run(
        self, provider: OutboundSyncProvider, order: Order, steps: list[_Step]
    ) -> list[tuple[_Step, dict[str, Any]]]:
        results: list[tuple[_Step, dict[str, Any]]] = []
        with provider:
            mapped: dict[Any, list[Any]] = {}
            for step in steps:
                if step.id_value in (None, "", []):
                    continue
                result = provider.sync_object_with_properties(
                    step.mapping.external_id_field, step.id_value, step.properties, step.inputs, step.mapping, mapped
                )
                if result is None:
                    continue
                mapped.setdefault(step.mapping.id, []).append(result)
                if result.get("action") != "nothing_to_do":
                    results.append((step, result))
            provider.finalize_sync_order(order)
        return results


def _store(
    kernel: Kernel, order_id: int, event_id: int, provider: str, results: list[tuple[_Step, dict[str, Any]]]
) -> None:
    with kernel.db.session() as session:
        for step, result in results:
            info = dict(result)
            href = info.pop("external_link_href", None)
            display = info.pop("external_link_display_name", None)
            key = str(step.mapping.id)
            position_id = step.position.id if step.position is not None else None
            row = session.scalar(
                select(SyncResult).where(
                    SyncResult.order_id == order_id,
                    SyncResult.provider == provider,
                    SyncResult.mapping_key == key,
                    SyncResult.position_id.is_(None) if position_id is None else SyncResult.position_id == position_id,
                )
            )
            if row is None:
                row = SyncResult(order_id=order_id, event_id=event_id, provider=provider, mapping_key=key)
                row.position_id = position_id
                session.add(row)
            row.object_type = step.mapping.external_object_type
            row.external_id_field = step.mapping.external_id_field
            row.id_value = str(step.id_value)
            row.external_link_href = href
            row.external_link_display_name = display
            row.sync_info = _jsonable(info)
            row.transmitted = clock.now()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
