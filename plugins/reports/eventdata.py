"""The whole event as one JSON document: settings-independent event data, products, quotas, questions and every
order with its positions, answers, fees, payments, refunds and invoice address.

Orders are written a chunk at a time (their related rows fetched per chunk with one query per table), so the file
streams with constant memory however large the event is.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, BinaryIO

from sqlalchemy import func, select

from boxoffice.hookspecs.providers import Exporter, GeneratedFile
from boxoffice.kernel.models import Item, Quota
from boxoffice.kernel.models.categories import ItemCategory
from boxoffice.kernel.models.items import ItemVariation
from boxoffice.kernel.models.orders import (
    InvoiceAddress,
    Order,
    OrderFee,
    OrderPayment,
    OrderPosition,
    OrderRefund,
    QuestionAnswer,
)
from boxoffice.kernel.models.questions import Question
from boxoffice.plugins.reports.common import CHUNK, ORDER_FILTERS, order_conditions, session_of


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _columns(row: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


ORDER_FIELDS = ("code", "status", "testmode", "email", "phone", "locale", "sales_channel", "datetime", "expires",
                "total", "comment")  # fmt: skip
POSITION_FIELDS = ("positionid", "canceled", "item_id", "variation_id", "subevent_id", "price", "tax_rate",
                   "tax_value", "attendee_name_cached", "attendee_name_parts", "attendee_email", "company", "street",
                   "zipcode", "city", "country", "secret", "addon_to_id")  # fmt: skip
FEE_FIELDS = ("fee_type", "value", "description", "tax_rate", "tax_value", "canceled")
PAYMENT_FIELDS = ("local_id", "state", "amount", "created", "payment_date", "provider")
REFUND_FIELDS = ("local_id", "state", "source", "amount", "created", "execution_date", "provider", "comment")
ADDRESS_FIELDS = ("company", "is_business", "name_parts", "street", "zipcode", "city", "country", "state",
                  "vat_id", "internal_reference")  # fmt: skip


class EventDataExporter(Exporter):
    identifier = "eventdata"
    category = "Order data"
    description = "Everything about the event and its orders in one JSON file, e.g. for archiving or own analysis."
    input_parameters = {key: ORDER_FILTERS[key] for key in ("paid_only", "status", "include_testmode")}

    @property
    def verbose_name(self) -> str:
        return "Complete event data (JSON)"

    def render(self, params: Mapping[str, Any], progress: Callable[[int], None]) -> GeneratedFile:
        buffer = io.BytesIO()
        filename, content_type = self.write(params, buffer, progress)
        return filename, content_type, buffer.getvalue()

    def write(self, params: Mapping[str, Any], target: BinaryIO, progress: Callable[[int], None]) -> tuple[str, str]:
        cleaned = self.validate_parameters(params)
        event = self.event
        assert event is not None
        session = session_of(self)
        progress(0)

        def put(text: str) -> None:
            target.write(text.encode())

        def dump(value: Any) -> str:
            return json.dumps(value, default=_plain, ensure_ascii=False)

        put('{"event": ')
        put(
            dump(
                {
                    "organizer": event.organizer.slug,
                    "slug": event.slug,
                    "name": event.name,
                    "currency": event.currency,
                    "date_from": event.date_from,
                    "date_to": event.date_to,
                    "has_subevents": event.has_subevents,
                }
            )
        )
        categories = session.scalars(select(ItemCategory).where(ItemCategory.event_id == event.id))
        put(',\n"categories": ' + dump([{"id": c.id, "name": c.name} for c in categories]))
        items = list(session.scalars(select(Item).where(Item.event_id == event.id).order_by(Item.id)))
        variations: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for variation in session.scalars(
            select(ItemVariation).where(ItemVariation.item_id.in_([item.id for item in items]))
        ):
            variations[variation.item_id].append({"id": variation.id, "value": variation.value})
        put(
            ',\n"items": '
            + dump(
                [
                    {
                        "id": item.id,
                        "name": item.name,
                        "category": item.category_id,
                        "default_price": item.default_price,
                        "variations": variations[item.id],
                    }
                    for item in items
                ]
            )
        )
        quotas = session.scalars(select(Quota).where(Quota.event_id == event.id).order_by(Quota.id))
        put(
            ',\n"quotas": '
            + dump([{"id": q.id, "name": q.name, "size": q.size, "items": [i.id for i in q.items]} for q in quotas])
        )
        questions = session.scalars(select(Question).where(Question.event_id == event.id).order_by(Question.id))
        put(
            ',\n"questions": '
            + dump([{"id": q.id, "question": q.question, "type": q.type, "key": q.identifier} for q in questions])
        )
        conditions = order_conditions(cleaned, [event.id])
        total = session.scalar(select(func.count(Order.id)).where(*conditions)) or 0
        put(',\n"orders": [')
        written = 0
        last_id = 0
        while True:
            orders = list(
                session.execute(
                    select(Order.id, *(getattr(Order, name) for name in ORDER_FIELDS))
                    .where(*conditions, Order.id > last_id)
                    .order_by(Order.id)
                    .limit(CHUNK)
                )
            )
            if not orders:
                break
            last_id = orders[-1][0]
            for entry in self._chunk(session, orders):
                put(("\n" if written == 0 else ",\n") + dump(entry))
                written += 1
            if total:
                progress(min(99, written * 100 // total))
            if len(orders) < CHUNK:
                break
        put("\n]}\n")
        progress(100)
        return f"{event.slug}_eventdata.json", "application/json"

    def _chunk(self, session: Any, orders: list[Any]) -> list[dict[str, Any]]:
        ids = [row[0] for row in orders]

        def grouped(model: Any, fields: tuple[str, ...], order_by: Any) -> dict[int, list[dict[str, Any]]]:
            found: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for row in session.scalars(select(model).where(model.order_id.in_(ids)).order_by(order_by)):
                found[row.order_id].append({"id": row.id, **_columns(row, fields)})
            return found

        positions = grouped(OrderPosition, POSITION_FIELDS, OrderPosition.positionid)
        position_ids = [p["id"] for entries in positions.values() for p in entries]
        answers: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for answer in session.scalars(
            select(QuestionAnswer).where(QuestionAnswer.orderposition_id.in_(position_ids)).order_by(QuestionAnswer.id)
        ):
            answers[answer.orderposition_id].append(
                {"question": answer.question_id, "answer": answer.answer, "options": answer.option_ids}
            )
        fees = grouped(OrderFee, FEE_FIELDS, OrderFee.id)
        payments = grouped(OrderPayment, PAYMENT_FIELDS, OrderPayment.local_id)
        refunds = grouped(OrderRefund, REFUND_FIELDS, OrderRefund.local_id)
        addresses = {
            address.order_id: _columns(address, ADDRESS_FIELDS)
            for address in session.scalars(select(InvoiceAddress).where(InvoiceAddress.order_id.in_(ids)))
        }
        result = []
        for row in orders:
            order_id = row[0]
            entry = dict(zip(ORDER_FIELDS, row[1:], strict=True))
            entry["positions"] = [{**p, "answers": answers.get(p["id"], [])} for p in positions.get(order_id, [])]
            entry["fees"] = fees.get(order_id, [])
            entry["payments"] = payments.get(order_id, [])
            entry["refunds"] = refunds.get(order_id, [])
            entry["invoice_address"] = addresses.get(order_id)
            result.append(entry)
        return result
