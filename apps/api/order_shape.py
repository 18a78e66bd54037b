"""How orders, positions, fees, payments and refunds look in the REST API (pretix's field names and formats), and
how to load a page of orders with a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from boxoffice.apps.api.toolkit import money
from boxoffice.hookspecs.providers import PaymentProvider
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.checkin import Checkin
from boxoffice.kernel.models.devices import Device
from boxoffice.kernel.models.orders import (
    InvoiceAddress,
    Order,
    OrderFee,
    OrderPayment,
    OrderPosition,
    OrderRefund,
    PrintLog,
    QuestionAnswer,
)
from boxoffice.kernel.models.questions import Question, QuestionOption
from boxoffice.kernel.orders.placement import format_name
from boxoffice.kernel.tickets import download_url


class AnswerOut(msgspec.Struct):
    question: int
    answer: str
    question_identifier: str
    options: list[int]
    option_identifiers: list[str]


class PrintLogOut(msgspec.Struct):
    id: int
    successful: bool
    device_id: int | None
    datetime: datetime
    source: str
    type: str
    info: dict[str, Any]


class PositionOut(msgspec.Struct):
    id: int
    order: str
    positionid: int
    canceled: bool
    item: int
    variation: int | None
    price: Decimal
    attendee_name: str | None
    attendee_name_parts: dict[str, str]
    attendee_email: str | None
    company: str | None
    street: str | None
    zipcode: str | None
    city: str | None
    country: str | None
    state: str | None
    voucher: int | None
    voucher_budget_use: Decimal | None
    tax_rate: Decimal
    tax_value: Decimal
    tax_code: str | None
    tax_rule: int | None
    secret: str
    addon_to: int | None
    subevent: int | None
    discount: int | None
    blocked: list[str] | None
    valid_from: datetime | None
    valid_until: datetime | None
    pseudonymization_id: str
    checkins: list[dict[str, Any]]
    print_logs: list[PrintLogOut]
    downloads: list[dict[str, str]]
    answers: list[AnswerOut]
    seat: dict[str, Any] | None
    plugin_data: dict[str, Any]
    # Only on organizer-level position lists.
    event: str | msgspec.UnsetType = msgspec.UNSET


class FeeOut(msgspec.Struct):
    id: int
    fee_type: str
    value: Decimal
    description: str
    internal_type: str
    tax_rate: Decimal
    tax_value: Decimal
    tax_rule: int | None
    tax_code: str | None
    canceled: bool


class PaymentOut(msgspec.Struct):
    local_id: int
    state: str
    amount: Decimal
    created: datetime
    payment_date: datetime | None
    provider: str
    payment_url: str | None
    details: dict[str, Any]


class RefundOut(msgspec.Struct):
    local_id: int
    state: str
    source: str
    amount: Decimal
    payment: int | None
    created: datetime
    execution_date: datetime | None
    comment: str | None
    provider: str
    details: dict[str, Any]


class InvoiceAddressOut(msgspec.Struct):
    last_modified: datetime
    company: str
    is_business: bool
    name: str
    name_parts: dict[str, str]
    street: str
    zipcode: str
    city: str
    country: str
    state: str
    internal_reference: str
    vat_id: str
    vat_id_validated: bool
    custom_field: str | None
    transmission_type: str
    transmission_info: dict[str, Any]


class OrderOut(msgspec.Struct):
    code: str
    event: str
    status: str
    testmode: bool
    secret: str
    email: str | None
    phone: str | None
    customer: str | None
    locale: str
    sales_channel: str
    datetime: datetime
    expires: datetime
    payment_date: date | None
    payment_provider: str | None
    fees: list[FeeOut]
    total: Decimal
    tax_rounding_mode: str
    comment: str
    custom_followup_at: date | None
    invoice_address: InvoiceAddressOut | None
    positions: list[PositionOut]
    downloads: list[dict[str, str]]
    checkin_attention: bool
    checkin_text: str | None
    last_modified: datetime
    payments: list[PaymentOut]
    refunds: list[RefundOut]
    require_approval: bool
    valid_if_pending: bool
    url: str
    api_meta: dict[str, Any]
    cancellation_date: datetime | None
    plugin_data: dict[str, Any]


def order_url(site_url: str, event: Event, order: Order) -> str:
    return f"{site_url.rstrip('/')}/{event.organizer.slug}/{event.slug}/order/{order.code}/{order.secret}/"


def payment_details(providers: dict[str, PaymentProvider], payment: OrderPayment) -> dict[str, Any]:
    provider = providers.get(payment.provider)
    return provider.api_payment_details(payment) if provider is not None else {}


def eager_order_options() -> list[Any]:
    """Loader options that fetch everything an order's representation needs, one query per relation."""
    return [
        selectinload(Order.positions).selectinload(OrderPosition.answers),
        selectinload(Order.fees),
        selectinload(Order.payments),
        selectinload(Order.refunds),
        selectinload(Order.invoice_address),
    ]


class OrderShaper:
    """Turns loaded orders (and positions) into their API form; ``prepare`` loads what rows do not carry
    (question identifiers, option identifiers, print logs) for a whole page at once.

    ``event`` is the event every shaped order belongs to. Organizer-wide lists pass ``event=None``: each order's
    own event is then loaded in ``prepare`` (one query per page) and its payment providers come from
    ``provider_factory``, built once per event on first use.
    """

    def __init__(
        self,
        session: Session,
        event: Event | None,
        site_url: str,
        providers: dict[str, PaymentProvider] | None = None,
        *,
        include_canceled_positions: bool = False,
        include_canceled_fees: bool = False,
        with_event: bool = False,
        zero_ids: bool = False,
        position_extras: Callable[[OrderPosition], dict[str, Any]] | None = None,
        provider_factory: Callable[[Event], dict[str, PaymentProvider]] | None = None,
        download_outputs: Callable[[Event, Order], list[str]] | None = None,
    ) -> None:
        self.session = session
        self.event = event
        self.site_url = site_url
        self.providers = providers or {}
        self.include_canceled_positions = include_canceled_positions
        self.include_canceled_fees = include_canceled_fees
        self.with_event = with_event
        self.zero_ids = zero_ids
        self.position_extras = position_extras
        self.provider_factory = provider_factory
        # Ticket outputs an order offers (kernel.tickets.available_outputs), asked once per order.
        self.download_outputs = download_outputs
        self.outputs_by_order: dict[int, list[str]] = {}
        self.question_identifiers: dict[int, str] = {}
        self.option_identifiers: dict[int, str] = {}
        self.print_logs: dict[int, list[PrintLogOut]] = defaultdict(list)
        self.checkins: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.id_by_position: dict[int, int] = {}
        self.events: dict[int, Event] = {event.id: event} if event is not None else {}
        self.providers_by_event: dict[int, dict[str, PaymentProvider]] = (
            {event.id: self.providers} if event is not None else {}
        )

    def event_of(self, order: Order) -> Event:
        """The event ``order`` belongs to (loaded by ``prepare`` on organizer-wide lists)."""
        found = self.events.get(order.event_id)
        if found is None:
            found = self.session.get(Event, order.event_id)
            assert found is not None
            self.events[order.event_id] = found
        return found

    def providers_of(self, event: Event) -> dict[str, PaymentProvider]:
        found = self.providers_by_event.get(event.id)
        if found is None:
            found = self.provider_factory(event) if self.provider_factory is not None else {}
            self.providers_by_event[event.id] = found
        return found

    def load_events(self, event_ids: set[int]) -> None:
        missing = event_ids - set(self.events)
        if missing:
            for found in self.session.scalars(
                select(Event).where(Event.id.in_(missing)).options(selectinload(Event.organizer))
            ):
                self.events[found.id] = found

    def prepare_positions(
        self, positions: Sequence[OrderPosition], *, new: bool = False, checkins_known: bool = False
    ) -> None:
        """Load what the page's positions refer to; ``new`` positions (just created) have no print logs yet;
        ``checkins_known``: the caller filled :attr:`checkins` itself."""
        answers = [answer for position in positions for answer in position.answers]
        question_ids = {answer.question_id for answer in answers} - set(self.question_identifiers)
        if question_ids:
            for question_id, identifier in self.session.execute(
                select(Question.id, Question.identifier).where(Question.id.in_(question_ids))
            ):
                self.question_identifiers[question_id] = identifier
        option_ids = {option for answer in answers for option in answer.option_ids} - set(self.option_identifiers)
        if option_ids:
            for option_id, identifier in self.session.execute(
                select(QuestionOption.id, QuestionOption.identifier).where(QuestionOption.id.in_(option_ids))
            ):
                self.option_identifiers[option_id] = identifier
        if self.event is None:
            self.load_events({position.order.event_id for position in positions})
        position_ids = [position.id for position in positions if position.id]
        if position_ids and not self.zero_ids and not new:
            for log in self.session.scalars(
                select(PrintLog).where(PrintLog.position_id.in_(position_ids)).order_by(PrintLog.id)
            ):
                self.print_logs[log.position_id].append(
                    PrintLogOut(
                        id=log.id,
                        successful=True,
                        device_id=log.device_id,
                        datetime=log.datetime,
                        source=log.source,
                        type=log.type,
                        info=log.info or {},
                    )
                )
            if not checkins_known:
                self.load_checkins(position_ids)

    def load_checkins(self, position_ids: Sequence[int]) -> None:
        """The successful check-ins of these positions, oldest first, in one query."""
        rows = self.session.execute(
            select(Checkin, Device.device_id)
            .outerjoin(Device, Device.id == Checkin.device_id)
            .where(Checkin.position_id.in_(position_ids), Checkin.successful.is_(True))
            .order_by(Checkin.datetime, Checkin.id)
        )
        for checkin, device_number in rows:
            self.checkins[checkin.position_id].append(checkin_out(checkin, device_number))

    def prepare_orders(self, orders: Sequence[Order], *, new: bool = False) -> None:
        self.load_events({order.event_id for order in orders})
        self.prepare_positions([position for order in orders for position in order.positions], new=new)

    def outputs(self, order: Order) -> list[str]:
        if self.download_outputs is None or self.zero_ids:
            return []
        if order.id not in self.outputs_by_order:
            self.outputs_by_order[order.id] = self.download_outputs(self.event_of(order), order)
        return self.outputs_by_order[order.id]

    def answer(self, answer: QuestionAnswer) -> AnswerOut:
        return AnswerOut(
            question=answer.question_id,
            answer=answer.answer,
            question_identifier=self.question_identifiers.get(answer.question_id, ""),
            options=list(answer.option_ids or []),
            option_identifiers=[self.option_identifiers.get(option, "") for option in answer.option_ids or []],
        )

    def position(self, position: OrderPosition, order: Order) -> PositionOut:
        shaped = PositionOut(
            id=0 if self.zero_ids else position.id,
            order=order.code,
            positionid=position.positionid,
            canceled=position.canceled,
            item=position.item_id,
            variation=position.variation_id,
            price=money(position.price),  # type: ignore[arg-type]
            attendee_name=format_name(position.attendee_name_parts),
            attendee_name_parts=position.attendee_name_parts or {},
            attendee_email=position.attendee_email,
            company=position.company,
            street=position.street,
            zipcode=position.zipcode,
            city=position.city,
            country=position.country,
            state=position.state,
            voucher=position.voucher_id,
            voucher_budget_use=money(position.voucher_budget_use),
            tax_rate=money(position.tax_rate),  # type: ignore[arg-type]
            tax_value=money(position.tax_value),  # type: ignore[arg-type]
            tax_code=position.tax_code,
            tax_rule=position.tax_rule_id,
            secret=position.secret,
            addon_to=(0 if self.zero_ids and position.addon_to_id else position.addon_to_id),
            subevent=position.subevent_id,
            discount=position.discount_id,
            blocked=position.blocked or None,
            valid_from=position.valid_from,
            valid_until=position.valid_until,
            pseudonymization_id=position.pseudonymization_id,
            checkins=self.checkins.get(position.id, []),
            print_logs=self.print_logs.get(position.id, []),
            downloads=[]
            if position.canceled
            else [
                {
                    "output": output,
                    "url": download_url(self.site_url, self.event_of(order), output, position_id=position.id),
                }
                for output in self.outputs(order)
            ],
            answers=[self.answer(answer) for answer in position.answers],
            seat=None,
            plugin_data=position.plugin_data or {},
        )
        if self.with_event:
            shaped.event = self.event_of(order).slug
        if self.position_extras is not None:
            for name, value in self.position_extras(position).items():
                setattr(shaped, name, value)
        return shaped

    def order(self, order: Order) -> OrderOut:
        event = self.event_of(order)
        positions = order.positions if self.include_canceled_positions else order.live_positions
        fees = order.fees if self.include_canceled_fees else order.live_fees
        confirmed = [p for p in order.payments if p.state in ("confirmed", "refunded") and p.payment_date]
        last_payment = order.payments[-1] if order.payments else None
        return OrderOut(
            code=order.code,
            event=event.slug,
            status=order.status,
            testmode=order.testmode,
            secret=order.secret,
            email=order.email,
            phone=order.phone,
            customer=order.customer,
            locale=order.locale,
            sales_channel=order.sales_channel,
            datetime=order.datetime,
            expires=order.expires,
            payment_date=max(p.payment_date for p in confirmed).date() if confirmed else None,  # type: ignore[type-var]
            payment_provider=last_payment.provider if last_payment else None,
            fees=[self.fee(fee) for fee in fees],
            total=money(order.total),  # type: ignore[arg-type]
            tax_rounding_mode=order.tax_rounding_mode,
            comment=order.comment,
            custom_followup_at=order.custom_followup_at,
            invoice_address=invoice_address(order.invoice_address) if order.invoice_address else None,
            positions=[self.position(position, order) for position in positions],
            downloads=[
                {"output": output, "url": download_url(self.site_url, event, output, order=order)}
                for output in (self.outputs(order) if order.live_positions else [])
            ],
            checkin_attention=order.checkin_attention,
            checkin_text=order.checkin_text,
            last_modified=order.last_modified,
            payments=[self.payment(order, payment) for payment in order.payments],
            refunds=[refund_out(refund, order) for refund in order.refunds],
            require_approval=order.require_approval,
            valid_if_pending=order.valid_if_pending,
            url=order_url(self.site_url, event, order),
            api_meta=order.api_meta or {},
            cancellation_date=order.cancellation_date,
            plugin_data=order.plugin_data or {},
        )

    def fee(self, fee: OrderFee) -> FeeOut:
        return FeeOut(
            id=0 if self.zero_ids else fee.id,
            fee_type=fee.fee_type,
            value=money(fee.value),  # type: ignore[arg-type]
            description=fee.description,
            internal_type=fee.internal_type,
            tax_rate=money(fee.tax_rate),  # type: ignore[arg-type]
            tax_value=money(fee.tax_value),  # type: ignore[arg-type]
            tax_rule=fee.tax_rule_id,
            tax_code=fee.tax_code,
            canceled=fee.canceled,
        )

    def payment(self, order: Order, payment: OrderPayment) -> PaymentOut:
        pending = payment.state in ("created", "pending")
        event = self.event_of(order)
        return PaymentOut(
            local_id=payment.local_id,
            state=payment.state,
            amount=money(payment.amount),  # type: ignore[arg-type]
            created=payment.created,
            payment_date=payment.payment_date,
            provider=payment.provider,
            payment_url=f"{order_url(self.site_url, event, order)}pay/{payment.local_id}/" if pending else None,
            details=payment_details(self.providers_of(event), payment),
        )


def checkin_out(checkin: Checkin, device_number: int | None) -> dict[str, Any]:
    """A successful check-in as positions show it (``device`` is the internal id, ``device_id`` the device's
    number within its organizer)."""
    return {
        "id": checkin.id,
        "list": checkin.list_id,
        "datetime": checkin.datetime,
        "type": checkin.type,
        "gate": checkin.gate_id,
        "device": checkin.device_id,
        "device_id": device_number,
        "auto_checked_in": checkin.auto_checked_in,
    }


def refund_out(refund: OrderRefund, order: Order) -> RefundOut:
    payment_local_id = None
    if refund.payment_id is not None:
        payment_local_id = next((p.local_id for p in order.payments if p.id == refund.payment_id), None)
    return RefundOut(
        local_id=refund.local_id,
        state=refund.state,
        source=refund.source,
        amount=money(refund.amount),  # type: ignore[arg-type]
        payment=payment_local_id,
        created=refund.created,
        execution_date=refund.execution_date,
        comment=refund.comment,
        provider=refund.provider,
        details=refund.info or {},
    )


def invoice_address(address: InvoiceAddress) -> InvoiceAddressOut:
    return InvoiceAddressOut(
        last_modified=address.last_modified,
        company=address.company,
        is_business=address.is_business,
        name=format_name(address.name_parts) or "",
        name_parts=address.name_parts or {},
        street=address.street,
        zipcode=address.zipcode,
        city=address.city,
        country=address.country,
        state=address.state,
        internal_reference=address.internal_reference,
        vat_id=address.vat_id,
        vat_id_validated=address.vat_id_validated,
        custom_field=address.custom_field,
        transmission_type=address.transmission_type,
        transmission_info=address.transmission_info or {},
    )


# --- include / exclude ---------------------------------------------------------------------------------------------

FieldTree = dict[str, Any]


def field_tree(paths: Iterable[str]) -> FieldTree:
    """Dotted field paths (``positions.secret``) as a tree; ``True`` marks a whole field. A whole field wins over
    parts of it (``positions`` and ``positions.secret`` together mean all of ``positions``)."""
    tree: FieldTree = {}
    for path in paths:
        parts = [part for part in path.strip().split(".") if part]
        if not parts:
            continue
        node = tree
        for depth, part in enumerate(parts):
            if node.get(part) is True:
                break
            if depth == len(parts) - 1:
                node[part] = True
            else:
                node = node.setdefault(part, {})
    return tree


def _keep(value: Any, tree: FieldTree) -> Any:
    if isinstance(value, list):
        return [_keep(entry, tree) for entry in value]
    if not isinstance(value, dict):
        return value
    return {key: entry if tree[key] is True else _keep(entry, tree[key]) for key, entry in value.items() if key in tree}


def _drop(value: Any, tree: FieldTree) -> Any:
    if isinstance(value, list):
        return [_drop(entry, tree) for entry in value]
    if not isinstance(value, dict):
        return value
    return {
        key: entry if key not in tree else _drop(entry, tree[key])
        for key, entry in value.items()
        if tree.get(key) is not True
    }


def trim_fields(shaped: msgspec.Struct, include: Sequence[str], exclude: Sequence[str]) -> dict[str, Any]:
    """The representation with only the ``include`` paths (all when empty), then without the ``exclude`` paths.
    Paths go through lists: ``positions.secret`` addresses the secret of every position."""
    data = msgspec.to_builtins(shaped)
    if include:
        data = _keep(data, field_tree(include))
    if exclude:
        data = _drop(data, field_tree(exclude))
    return data
