"""Changing what an existing order contains: positions (product, date, price, tax, validity, attendee data), fees,
taxes, and splitting positions off into an order of their own — all of one request at once, or nothing.

:class:`OrderChange` collects operations, then :meth:`OrderChange.commit` locks the order row, checks every
operation against the order as it is now (one error tree naming every problem), pre-checks quotas for the capacity
the change takes (net of what it releases), writes, re-counts the quotas under their row locks, and brings totals,
payment status, the ledger and voucher counters in line. The caller's transaction must be rolled back when it
raises :class:`~boxoffice.kernel.orders.errors.OrderError`; nothing has been committed then.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from boxoffice.kernel import clock
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.models import Event, Item
from boxoffice.kernel.models.items import ItemVariation
from boxoffice.kernel.models.orders import (
    FEE_TYPES,
    QUOTA_HOLDING_STATUSES,
    STATUS_CANCELED,
    STATUS_PAID,
    STATUS_PENDING,
    InvoiceAddress,
    Order,
    OrderFee,
    OrderPayment,
    OrderPosition,
    OrderRefund,
    QuestionAnswer,
    Transaction,
)
from boxoffice.kernel.models.questions import CHOICE_TYPES, question_items
from boxoffice.kernel.models.subevents import SubEvent, SubEventItem, SubEventItemVariation
from boxoffice.kernel.models.taxes import TaxRule
from boxoffice.kernel.orders import codes, quotas
from boxoffice.kernel.orders.answers import COUNTRIES, AnswerProblem, is_empty, load_questions, normalise_answer
from boxoffice.kernel.orders.drafts import AnswerDraft
from boxoffice.kernel.orders.errors import OrderError, insert_error
from boxoffice.kernel.orders.ledger import record_transactions
from boxoffice.kernel.orders.lifecycle import lock_wait, release_vouchers
from boxoffice.kernel.orders.payments import create_payment, lock_order, paid_amount
from boxoffice.kernel.orders.placement import (
    FEE_WIDTHS,
    FREE_PROVIDER,
    NAME_WIDTH,
    POSITION_WIDTHS,
    STATE,
    STATE_COUNTRIES,
    clock_utc,
    dynamic_validity,
    event_zone,
    format_name,
    name_parts,
    payment_deadline,
    valid_email,
)
from boxoffice.kernel.orders.pricing import (
    HUNDRED,
    ZERO,
    Taxed,
    apply_rounding_mode,
    decide,
    round_money,
    tax_from_gross,
    taxed_catalog_price,
    taxed_gross,
)

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel

logger = logging.getLogger(__name__)

UNSET = msgspec.UNSET
UnsetType = msgspec.UnsetType
# Where a problem is reported in the error tree: field names and list indexes, like the request body.
Path = tuple[str | int, ...]

TAX_MODES = ("keep_net", "keep_gross")
ACTION = "boxoffice.event.order.changed"
# Numeric(13, 2) holds eleven digits before the decimal point.
MAX_MONEY = Decimal("99999999999.99")
MAX_ID = 2**31 - 1
# The internal payment method that moves money between two orders of one buyer (used when splitting).
OFFSETTING_PROVIDER = "offsetting"

NOT_FOUND = 'Invalid pk "{}" - object does not exist.'
STATES_ONLY = "States are only used for addresses in AU, BR, CA, CN, MY, MX and US."
CONTACT_FIELDS = ("attendee_email", "company", "street", "zipcode", "city", "country", "state")
NO_SEATING = "The event has no seating plan."
ALREADY_CHANGED = "This position is already part of another change in this request."


# --- what a caller asks for ------------------------------------------------------------------------------------


class PositionPatch(msgspec.Struct, kw_only=True):
    """Product, date, price, tax rule and validity of a position; fields left out stay as they are."""

    item: int | UnsetType = UNSET
    variation: int | UnsetType | None = UNSET
    subevent: int | UnsetType | None = UNSET
    seat: str | UnsetType | None = UNSET
    price: Decimal | UnsetType = UNSET
    tax_rule: int | UnsetType | None = UNSET
    valid_from: datetime | UnsetType | None = UNSET
    valid_until: datetime | UnsetType | None = UNSET


class PositionUpdate(PositionPatch, kw_only=True):
    """A :class:`PositionPatch` plus the attendee's data, the answers (a full replacement) and the ticket secret
    (the body of ``PATCH …/orderpositions/{id}/``)."""

    attendee_name: str | UnsetType | None = UNSET
    attendee_name_parts: dict[str, str] | UnsetType | None = UNSET
    attendee_email: str | UnsetType | None = UNSET
    company: str | UnsetType | None = UNSET
    street: str | UnsetType | None = UNSET
    zipcode: str | UnsetType | None = UNSET
    city: str | UnsetType | None = UNSET
    country: str | UnsetType | None = UNSET
    state: str | UnsetType | None = UNSET
    answers: list[AnswerDraft] | UnsetType = UNSET
    secret: str | UnsetType = UNSET


class NewPosition(msgspec.Struct, kw_only=True):
    """A position added to an existing order; ``price`` None means the catalog price (tax rule applied),
    ``addon_to`` is the ``positionid`` of the parent position in the same order."""

    item: int
    variation: int | None = None
    subevent: int | None = None
    seat: str | None = None
    price: Decimal | None = None
    addon_to: int | None = None
    attendee_name: str | None = None
    attendee_name_parts: dict[str, str] | None = None
    attendee_email: str | None = None
    company: str | None = None
    street: str | None = None
    zipcode: str | None = None
    city: str | None = None
    country: str | None = None
    state: str | None = None
    answers: list[AnswerDraft] = msgspec.field(default_factory=list)
    valid_from: datetime | None = None
    valid_until: datetime | None = None


class FeePatch(msgspec.Struct, kw_only=True):
    value: Decimal | UnsetType = UNSET


class NewFee(msgspec.Struct, kw_only=True):
    fee_type: str
    value: Decimal
    description: str = ""
    internal_type: str = ""
    tax_rule: int | None = None


class PatchPositionOp(msgspec.Struct, kw_only=True):
    position: int
    body: PositionPatch


class PositionRef(msgspec.Struct, kw_only=True):
    position: int


class PatchFeeOp(msgspec.Struct, kw_only=True):
    fee: int
    body: FeePatch


class FeeRef(msgspec.Struct, kw_only=True):
    fee: int


class OrderChangeDraft(msgspec.Struct, kw_only=True):
    """The body of ``POST …/orders/{code}/change/``: positions and fees are referred to by their ``id``."""

    patch_positions: list[PatchPositionOp] = msgspec.field(default_factory=list)
    cancel_positions: list[PositionRef] = msgspec.field(default_factory=list)
    split_positions: list[PositionRef] = msgspec.field(default_factory=list)
    create_positions: list[NewPosition] = msgspec.field(default_factory=list)
    patch_fees: list[PatchFeeOp] = msgspec.field(default_factory=list)
    cancel_fees: list[FeeRef] = msgspec.field(default_factory=list)
    create_fees: list[NewFee] = msgspec.field(default_factory=list)
    recalculate_taxes: str | None = None
    send_email: bool = False
    reissue_invoice: bool = True


@dataclass
class ChangeOutcome:
    """What :meth:`OrderChange.commit` did: the order, positions it created, the order split off (if any)."""

    order: Order
    created: list[OrderPosition] = field(default_factory=list)
    split_order: Order | None = None


# --- error collection ------------------------------------------------------------------------------------------


class _Problems:
    """Field errors shaped like the request (lists padded to the length of the list sent)."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}
        # Lists in the error tree are padded to the length of the list sent at that path.
        self.sizes: dict[Path, int] = {}
        self.count = 0

    def add(self, path: Path, message: str) -> None:
        self.count += 1
        if not path:
            path = ("non_field_errors",)
        insert_error(self.tree, path, message)

    def raise_if_any(self) -> None:
        if not self.tree:
            return
        for path, size in self.sizes.items():
            node: Any = self.tree
            for part in path:
                if isinstance(node, dict):
                    node = node.get(str(part))
                elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                    node = node[part]
                else:
                    node = None
                if node is None:
                    break
            if isinstance(node, list):
                node.extend({} for _ in range(size - len(node)))
        raise OrderError(errors=self.tree)


# --- resolved operations ---------------------------------------------------------------------------------------


@dataclass
class _Product:
    item: Item
    variation: ItemVariation | None
    subevent_id: int | None

    @property
    def key(self) -> quotas.ProductKey:
        return (self.item.id, self.variation.id if self.variation else None, self.subevent_id)


@dataclass
class _Details:
    """Attendee data, answers and secret of a position update, checked."""

    values: dict[str, Any] = field(default_factory=dict)
    answers: list[tuple[int, str, list[int]]] | None = None


@dataclass
class _PatchOp:
    position_id: int
    body: PositionPatch
    where: Path
    body_path: Path


@dataclass
class _Patch:
    position: OrderPosition
    product: _Product | None
    taxed: Taxed | None
    validity: dict[str, datetime | None]
    details: _Details
    item_path: Path


@dataclass
class _Create:
    draft: NewPosition
    product: _Product
    taxed: Taxed
    parent: OrderPosition | None
    answers: list[tuple[int, str, list[int]]]
    item_path: Path
    contact: dict[str, Any]
    valid_from: datetime | None
    valid_until: datetime | None


@dataclass
class _FeeChange:
    fee: OrderFee
    taxed: Taxed


@dataclass
class _Plan:
    patches: list[_Patch] = field(default_factory=list)
    cancels: list[OrderPosition] = field(default_factory=list)
    cascaded: list[OrderPosition] = field(default_factory=list)
    splits: list[OrderPosition] = field(default_factory=list)
    creates: list[_Create] = field(default_factory=list)
    fee_patches: list[_FeeChange] = field(default_factory=list)
    fee_cancels: list[OrderFee] = field(default_factory=list)
    fee_creates: list[tuple[NewFee, Taxed]] = field(default_factory=list)


@dataclass
class _TaxLine:
    """A position or fee as :func:`apply_rounding_mode` sees it."""

    target: OrderPosition | OrderFee
    price: Decimal
    tax_value: Decimal
    tax_rate: Decimal


# --- the service -----------------------------------------------------------------------------------------------


class OrderChange:
    """A set of changes to one order, applied by :meth:`commit` in the caller's transaction, all or nothing.

    Operations refer to positions and fees by their ``id``; ``where`` says where problems with an operation are
    reported in the error tree (e.g. ``("cancel_positions", 2)``), ``body_path`` where problems with the fields of
    its body go (by default ``where + ("body",)``). With ``check_quotas=False`` capacity is not checked.
    """

    def __init__(
        self, kernel: Kernel, session: Session, order: Order, *, actor: Actor, check_quotas: bool = True
    ) -> None:
        self.kernel = kernel
        self.session = session
        self.order = order
        self.actor = actor
        self.check_quotas = check_quotas
        self.problems = _Problems()
        self._patches: list[_PatchOp] = []
        self._cancels: list[tuple[int, Path]] = []
        self._splits: list[tuple[int, Path]] = []
        self._creates: list[tuple[NewPosition, Path]] = []
        self._fee_patches: list[tuple[int, FeePatch, Path]] = []
        self._fee_cancels: list[tuple[int, Path]] = []
        self._fee_creates: list[tuple[NewFee, Path]] = []
        self._tax_mode: str | None = None
        self._tax_mode_path: Path = ("recalculate_taxes",)
        self._cache: dict[tuple[type, int], Any] = {}

    # --- collecting ------------------------------------------------------------------------------------------

    def patch_position(
        self, position_id: int, body: PositionPatch, *, where: Path = (), body_path: Path | None = None
    ) -> None:
        """Change product, date, price, tax rule or validity (and with a :class:`PositionUpdate` also attendee
        data, answers and secret) of a live position. A body that sets nothing is no operation."""
        if all(getattr(body, name) is UNSET for name in body.__struct_fields__):
            return
        self._patches.append(_PatchOp(position_id, body, where, (*where, "body") if body_path is None else body_path))

    def cancel_position(self, position_id: int, *, where: Path = ()) -> None:
        """Cancel a live position together with its add-ons."""
        self._cancels.append((position_id, where))

    def split_position(self, position_id: int, *, where: Path = ()) -> None:
        """Move a live position (with its add-ons) into the new order this change splits off."""
        self._splits.append((position_id, where))

    def create_position(self, position: NewPosition, *, where: Path = ()) -> None:
        """Add a position to the order."""
        self._creates.append((position, where))

    def patch_fee(self, fee_id: int, body: FeePatch, *, where: Path = ()) -> None:
        """Change the value of a live fee (its tax is recomputed with its tax rule)."""
        self._fee_patches.append((fee_id, body, where))

    def cancel_fee(self, fee_id: int, *, where: Path = ()) -> None:
        """Cancel a live fee."""
        self._fee_cancels.append((fee_id, where))

    def create_fee(self, fee: NewFee, *, where: Path = ()) -> None:
        """Add a fee to the order."""
        self._fee_creates.append((fee, where))

    def recalculate_taxes(self, mode: str | None, *, where: Path = ("recalculate_taxes",)) -> None:
        """Recompute the tax of every live position and fee from its tax rule: ``keep_net`` keeps net amounts
        (gross prices move with the rate), ``keep_gross`` keeps what the buyer pays; None does nothing."""
        self._tax_mode = mode
        self._tax_mode_path = where

    def expect(self, name: str, count: int) -> None:
        """Error lists under ``name`` are padded to ``count`` entries (the length of the list the client sent)."""
        self.problems.sizes[(name,)] = count

    @property
    def empty(self) -> bool:
        """Whether no operation has been collected (committing then changes nothing)."""
        return not (
            self._patches
            or self._cancels
            or self._splits
            or self._creates
            or self._fee_patches
            or self._fee_cancels
            or self._fee_creates
            or self._tax_mode is not None
        )

    # --- committing ------------------------------------------------------------------------------------------

    def commit(self, *, send_email: bool = False, reissue_invoice: bool = True) -> ChangeOutcome:
        """Check and apply every collected operation; raise :class:`OrderError` (nothing applied) otherwise, or
        :class:`~boxoffice.kernel.orders.errors.LockTimeout` when the order or a quota stayed locked too long.

        ``send_email`` and ``reissue_invoice`` are recorded in the audit log; there is no mail service and there
        are no invoices yet, so nothing is sent or issued.
        """
        with lock_wait(self.session):
            return self._commit(send_email=send_email, reissue_invoice=reissue_invoice)

    def _commit(self, *, send_email: bool, reissue_invoice: bool) -> ChangeOutcome:
        order = self._lock()
        if order.status == STATUS_CANCELED:
            raise OrderError("A canceled order cannot be changed.")
        if self.empty:
            return ChangeOutcome(order)
        plan = self._check(order)
        status_before = order.status
        holds_quota = status_before in QUOTA_HOLDING_STATUSES
        quota_ids = self._precheck_quotas(order, plan) if self.check_quotas and holds_quota else []

        now = clock.now()
        log: list[tuple[Order, str, dict[str, Any]]] = []
        outcome = ChangeOutcome(order)
        self._apply_patches(order, plan, log)
        self._apply_cancels(order, plan, log, holds_quota=holds_quota)
        outcome.created = self._apply_creates(order, plan, log)
        self._apply_fees(order, plan, log)
        if self._tax_mode is not None:
            self._apply_tax_recalculation(order)
            log.append((order, "recalculate_taxes", {"mode": self._tax_mode}))
        if plan.splits:
            outcome.split_order = self._split(order, plan, now, log)
        order.total = _total(order)
        if order.total < 0:
            raise OrderError("The order total would be negative.")
        self._settle_status(order, now, log)
        order.last_modified = now

        self.session.flush()
        if outcome.split_order is not None:
            _reverse_moved(self.session, order, [p.id for p in outcome.split_order.positions], now)
            record_transactions(self.session, outcome.split_order, when=now, fresh=True)
        record_transactions(self.session, order, when=now)
        if quota_ids:
            try:
                quotas.verify(self.session, quota_ids)
            except quotas.QuotaExceeded as problem:
                raise OrderError(problem.detail) from None

        if send_email:
            # No mail service exists yet: the request is recorded, nothing is sent.
            logger.info("order %s changed; an email to the buyer was requested but cannot be sent", order.code)
        for target, action, data in log:
            data = {"code": target.code, **data, "send_email": send_email, "reissue_invoice": reissue_invoice}
            self.kernel.log_action(self.session, target, f"{ACTION}.{action}", actor=self.actor, data=data)
        hooks = self.kernel.plugins.for_event(order.event)
        hooks.order_changed(event=order.event, order=order, session=self.session)
        if outcome.split_order is not None:
            hooks.order_changed(event=order.event, order=outcome.split_order, session=self.session)
        if order.status == STATUS_PAID and status_before != STATUS_PAID:
            hooks.order_paid(event=order.event, order=order, session=self.session)
        from boxoffice.kernel import invoicing  # imported here: the invoice service builds on this module

        if reissue_invoice:
            invoicing.on_order_changed(self.kernel, self.session, order)
        if order.status == STATUS_PAID and status_before != STATUS_PAID:
            invoicing.on_order_paid(self.kernel, self.session, order)
        return outcome

    def _lock(self) -> Order:
        """Lock the order row (concurrent changes of one order take turns) and read its contents afresh: rows
        loaded before the lock may be stale."""
        order = lock_order(self.session, self.order)
        self.session.scalars(
            select(Order)
            .where(Order.id == order.id)
            .options(
                selectinload(Order.positions).selectinload(OrderPosition.answers),
                selectinload(Order.fees),
                selectinload(Order.invoice_address),
            )
            .execution_options(populate_existing=True)
        ).all()
        self.order = order
        return order

    # --- checking --------------------------------------------------------------------------------------------

    def _check(self, order: Order) -> _Plan:
        """Resolve every operation against the order and the catalog; raise with all problems at once."""
        event = order.event
        address = order.invoice_address
        live = {position.id: position for position in order.positions if not position.canceled}
        fees = {fee.id: fee for fee in order.fees if not fee.canceled}
        claimed: set[int] = set()
        plan = _Plan()

        def claim(position: OrderPosition, where: Path) -> bool:
            if position.id in claimed:
                self.problems.add((*where, "position"), ALREADY_CHANGED)
                return False
            claimed.add(position.id)
            return True

        for op in self._patches:
            position = live.get(op.position_id)
            if position is None:
                self.problems.add((*op.where, "position"), NOT_FOUND.format(op.position_id))
            elif claim(position, op.where):
                patch = self._check_patch(event, address, position, op.body, op.body_path)
                if patch is not None:
                    plan.patches.append(patch)

        canceled: set[int] = set()
        for position_id, where in self._cancels:
            position = live.get(position_id)
            if position is None:
                self.problems.add((*where, "position"), NOT_FOUND.format(position_id))
            elif claim(position, where):
                plan.cancels.append(position)
                canceled.add(position.id)
        for position in plan.cancels:
            for addon in live.values():
                if addon.addon_to_id == position.id and addon.id not in canceled:
                    plan.cascaded.append(addon)
                    canceled.add(addon.id)

        split_ids = {position_id for position_id, _ in self._splits}
        for position_id, where in self._splits:
            position = live.get(position_id)
            if position is None:
                self.problems.add((*where, "position"), NOT_FOUND.format(position_id))
            elif claim(position, where):
                if position.addon_to_id is not None and position.addon_to_id not in split_ids:
                    self.problems.add(
                        (*where, "position"),
                        "An add-on can only be split off together with the position it belongs to.",
                    )
                elif position.id in canceled:
                    self.problems.add((*where, "position"), "A position canceled in this request cannot be split off.")
                else:
                    plan.splits.append(position)

        by_positionid = {position.positionid: position for position in live.values()}
        for draft, where in self._creates:
            created = self._check_create(event, address, draft, where, by_positionid, canceled, split_ids)
            if created is not None:
                plan.creates.append(created)

        claimed_fees: set[int] = set()

        def claim_fee(fee_id: int, where: Path) -> OrderFee | None:
            fee = fees.get(fee_id)
            if fee is None:
                self.problems.add((*where, "fee"), NOT_FOUND.format(fee_id))
                return None
            if fee.id in claimed_fees:
                self.problems.add((*where, "fee"), "This fee is already part of another change in this request.")
                return None
            claimed_fees.add(fee.id)
            return fee

        for fee_id, body, where in self._fee_patches:
            fee = claim_fee(fee_id, where)
            if fee is None or body.value is UNSET:
                continue
            value = self._money(body.value, (*where, "body", "value"), allow_negative=True)
            if value is not None:
                plan.fee_patches.append(_FeeChange(fee, self._retax_fee(fee, value, address)))
        for fee_id, where in self._fee_cancels:
            fee = claim_fee(fee_id, where)
            if fee is not None:
                plan.fee_cancels.append(fee)
        for new_fee, where in self._fee_creates:
            taxed = self._check_new_fee(event, address, new_fee, where)
            if taxed is not None:
                plan.fee_creates.append((new_fee, taxed))

        if self._tax_mode is not None and self._tax_mode not in TAX_MODES:
            self.problems.add(self._tax_mode_path, f'"{self._tax_mode}" is not a valid choice.')
        self.problems.raise_if_any()

        leaving = canceled | {position.id for position in plan.splits}
        leaving |= {addon.id for addon in live.values() if addon.addon_to_id in split_ids}
        if len(set(live) - leaving) + len(plan.creates) == 0:
            if plan.splits:
                raise OrderError("Splitting off every position would leave the order empty; nothing was changed.")
            raise OrderError("The order would be left without positions; cancel the order instead.")
        return plan

    def _check_patch(
        self, event: Event, address: InvoiceAddress | None, position: OrderPosition, body: PositionPatch, at: Path
    ) -> _Patch | None:
        problems_before = self.problems.count
        if _given(body.seat) and body.seat is not None:
            self.problems.add((*at, "seat"), NO_SEATING)
        item_id = body.item if _given(body.item) else position.item_id
        if _given(body.variation):
            variation_id = body.variation
        else:
            variation_id = position.variation_id if item_id == position.item_id else None
        subevent_id = body.subevent if _given(body.subevent) else position.subevent_id
        product = None
        if (item_id, variation_id, subevent_id) != (position.item_id, position.variation_id, position.subevent_id):
            product = self._product(event, item_id, variation_id, subevent_id, at)  # type: ignore[arg-type]

        gross = Decimal(position.price)
        price_given = _given(body.price)
        if price_given:
            checked = self._money(body.price, (*at, "price"))  # type: ignore[arg-type]
            if checked is not None:
                gross = checked
        item_changed = product is not None and product.item.id != position.item_id
        rule: TaxRule | None = None
        rule_known = True
        if _given(body.tax_rule):
            if body.tax_rule is not None:
                rule = self._rule(event, body.tax_rule)  # type: ignore[arg-type]
                if rule is None:
                    self.problems.add((*at, "tax_rule"), NOT_FOUND.format(body.tax_rule))
        elif item_changed:
            assert product is not None
            rule = self._rule(event, product.item.tax_rule_id) if product.item.tax_rule_id else None
        elif position.tax_rule_id is not None:
            rule = self._rule(event, position.tax_rule_id)
        else:
            rule_known = False
        if rule is not None and decide(rule, address).blocked:
            self.problems.add((*at, "tax_rule"), "This product cannot be sold to the given invoice address.")

        taxed = None
        if price_given or _given(body.tax_rule) or item_changed:
            if rule is None and not rule_known and Decimal(position.tax_rate):
                # The position's tax rule is gone: keep taxing at the rate it was sold with.
                rate = Decimal(position.tax_rate)
                taxed = Taxed(round_money(gross), tax_from_gross(gross, rate), rate, position.tax_code, None)
            else:
                taxed = taxed_gross(gross, rule, address)

        validity: dict[str, datetime | None] = {}
        for name in ("valid_from", "valid_until"):
            value = getattr(body, name)
            if _given(value):
                validity[name] = self._utc(value, (*at, name)) if value is not None else None
        valid_from = validity.get("valid_from", position.valid_from)
        valid_until = validity.get("valid_until", position.valid_until)
        if validity and valid_from is not None and valid_until is not None and valid_from > valid_until:
            self.problems.add((*at, "valid_until"), "The end of validity must not be before its start.")

        details = _Details()
        if isinstance(body, PositionUpdate):
            details = self._check_details(event, position, item_id, body, at)  # type: ignore[arg-type]
        if self.problems.count != problems_before:
            return None
        return _Patch(position, product, taxed, validity, details, (*at, "item"))

    def _check_details(
        self, event: Event, position: OrderPosition, item_id: int, body: PositionUpdate, at: Path
    ) -> _Details:
        details = _Details()
        values = details.values
        if (
            _given(body.attendee_name)
            and _given(body.attendee_name_parts)
            and body.attendee_name
            and body.attendee_name_parts
        ):
            self.problems.add(
                (*at, "attendee_name"), "Do not specify attendee_name if you specified attendee_name_parts."
            )
        if _given(body.attendee_name_parts):
            values["attendee_name_parts"] = name_parts(None, body.attendee_name_parts or None)  # type: ignore[arg-type]
        elif _given(body.attendee_name):
            values["attendee_name_parts"] = name_parts(body.attendee_name, None)  # type: ignore[arg-type]
        for name in CONTACT_FIELDS:
            value = getattr(body, name)
            if _given(value):
                values[name] = value
        self._check_contact(values, at, position.country)
        if _given(body.secret):
            secret = body.secret
            assert isinstance(secret, str)
            if not secret or len(secret) > POSITION_WIDTHS["secret"]:
                self.problems.add(
                    (*at, "secret"), f"A secret has between 1 and {POSITION_WIDTHS['secret']} characters."
                )
            elif secret != position.secret and self._secret_taken(event, secret, position.id):
                self.problems.add((*at, "secret"), "This secret is already in use by another ticket.")
            else:
                values["secret"] = secret
        if _given(body.answers):
            details.answers = self._answers(event, item_id, body.answers, (*at, "answers"))  # type: ignore[arg-type]
        return details

    def _check_create(
        self,
        event: Event,
        address: InvoiceAddress | None,
        draft: NewPosition,
        at: Path,
        by_positionid: dict[int, OrderPosition],
        canceled: set[int],
        split_ids: set[int],
    ) -> _Create | None:
        problems_before = self.problems.count
        product = self._product(event, draft.item, draft.variation, draft.subevent, at)
        if draft.seat is not None:
            self.problems.add((*at, "seat"), NO_SEATING)
        if draft.attendee_name and draft.attendee_name_parts:
            self.problems.add(
                (*at, "attendee_name"), "Do not specify attendee_name if you specified attendee_name_parts."
            )
        contact = {name: getattr(draft, name) for name in CONTACT_FIELDS}
        self._check_contact(contact, at, None)
        parent = None
        if draft.addon_to is not None:
            parent = by_positionid.get(draft.addon_to)
            if parent is None:
                self.problems.add((*at, "addon_to"), f'No position with positionid "{draft.addon_to}" in this order.')
            elif parent.addon_to_id is not None:
                self.problems.add((*at, "addon_to"), "An add-on cannot belong to another add-on.")
            elif parent.id in canceled or parent.id in split_ids:
                self.problems.add((*at, "addon_to"), "The parent position is canceled or split off in this request.")
        valid_from = self._utc(draft.valid_from, (*at, "valid_from")) if draft.valid_from else None
        valid_until = self._utc(draft.valid_until, (*at, "valid_until")) if draft.valid_until else None
        if valid_from and valid_until and valid_from > valid_until:
            self.problems.add((*at, "valid_until"), "The end of validity must not be before its start.")
        if draft.valid_from is None and draft.valid_until is None and product is not None:
            valid_from, valid_until = self._product_validity(event, product.item, at)
        answers = self._answers(event, draft.item, draft.answers, (*at, "answers"))
        taxed = None
        if product is not None:
            rule = self._rule(event, product.item.tax_rule_id) if product.item.tax_rule_id else None
            if rule is not None and decide(rule, address).blocked:
                self.problems.add((*at, "item"), "This product cannot be sold to the given invoice address.")
            if draft.price is not None:
                price = self._money(draft.price, (*at, "price"))
                taxed = taxed_gross(price, rule, address) if price is not None else None
            else:
                taxed = taxed_catalog_price(self._catalog_price(product), rule, address)
        if self.problems.count != problems_before or product is None or taxed is None:
            return None
        return _Create(draft, product, taxed, parent, answers, (*at, "item"), contact, valid_from, valid_until)

    def _check_contact(self, values: dict[str, Any], at: Path, country_now: str | None) -> None:
        """Check the attendee's contact fields in ``values`` (those present) and normalise country and state."""
        for name in CONTACT_FIELDS:
            width = POSITION_WIDTHS.get(name)
            value = values.get(name)
            if width is not None and isinstance(value, str) and len(value) > width:
                self.problems.add((*at, name), f"Ensure this field has no more than {width} characters.")
        email = values.get("attendee_email")
        if email and not valid_email(email):
            self.problems.add((*at, "attendee_email"), "Enter a valid email address.")
        if values.get("country"):
            values["country"] = values["country"].upper()
            if values["country"] not in COUNTRIES:
                self.problems.add((*at, "country"), f'"{values["country"]}" is not a valid choice.')
                return
        state = values.get("state")
        if state:
            country = (values.get("country", country_now) or "").upper()
            code = state.upper().removeprefix(f"{country}-")
            if country not in STATE_COUNTRIES:
                self.problems.add(
                    (*at, "state"), "States are only used for addresses in AU, BR, CA, CN, MY, MX and US."
                )
            elif not STATE.match(code):
                self.problems.add((*at, "state"), f'"{state}" is not a valid choice.')
            else:
                values["state"] = code

    def _product_validity(self, event: Event, item: Item, at: Path) -> tuple[datetime | None, datetime | None]:
        """The validity a new ticket gets from its product when the request sets none."""
        if item.validity_mode == "fixed":
            return item.validity_fixed_from, item.validity_fixed_until
        if item.validity_mode != "dynamic":
            return None, None
        start = clock.now()
        try:
            return start, dynamic_validity(event, item, start)
        except (OverflowError, ValueError):
            self.problems.add((*at, "valid_until"), "The product's validity period cannot be computed.")
            return None, None

    def _utc(self, value: datetime, at: Path) -> datetime | None:
        try:
            return clock_utc(value)
        except (OverflowError, ValueError):
            self.problems.add(at, "Datetime is out of the supported range.")
            return None

    def _check_new_fee(self, event: Event, address: InvoiceAddress | None, fee: NewFee, at: Path) -> Taxed | None:
        problems_before = self.problems.count
        if fee.fee_type not in FEE_TYPES:
            self.problems.add((*at, "fee_type"), f'"{fee.fee_type}" is not a valid choice.')
        for name, width in FEE_WIDTHS.items():
            if len(getattr(fee, name)) > width:
                self.problems.add((*at, name), f"Ensure this field has no more than {width} characters.")
        value = self._money(fee.value, (*at, "value"), allow_negative=True)
        rule = None
        if fee.tax_rule is not None:
            rule = self._rule(event, fee.tax_rule)
            if rule is None:
                self.problems.add((*at, "tax_rule"), NOT_FOUND.format(fee.tax_rule))
        if self.problems.count != problems_before or value is None:
            return None
        return taxed_gross(value, rule, address)

    def _product(
        self, event: Event, item_id: int, variation_id: int | None, subevent_id: int | None, at: Path
    ) -> _Product | None:
        item = self._get(Item, item_id)
        if item is None or item.event_id != event.id:
            self.problems.add((*at, "item"), NOT_FOUND.format(item_id))
            return None
        variation = None
        if variation_id is not None:
            variation = self._get(ItemVariation, variation_id)
            if variation is None or variation.item_id != item.id:
                self.problems.add(
                    (*at, "variation"), "You cannot specify a variation that does not belong to the item."
                )
                return None
        elif item.has_variations:
            self.problems.add((*at, "variation"), "You should specify a variation for this item.")
            return None
        if event.has_subevents:
            if subevent_id is None:
                self.problems.add((*at, "subevent"), "You need to set a subevent.")
                return None
            subevent = self._get(SubEvent, subevent_id)
            if subevent is None or subevent.event_id != event.id:
                self.problems.add((*at, "subevent"), NOT_FOUND.format(subevent_id))
                return None
        elif subevent_id is not None:
            self.problems.add((*at, "subevent"), "You cannot set a subevent for this event.")
            return None
        return _Product(item, variation, subevent_id)

    def _catalog_price(self, product: _Product) -> Decimal:
        """The product's price on its date: a date's variation or product price overrides the catalog price."""
        if product.subevent_id is not None:
            if product.variation is not None:
                override = self.session.scalar(
                    select(SubEventItemVariation.price).where(
                        SubEventItemVariation.subevent_id == product.subevent_id,
                        SubEventItemVariation.variation_id == product.variation.id,
                    )
                )
                if override is not None:
                    return Decimal(override)
            override = self.session.scalar(
                select(SubEventItem.price).where(
                    SubEventItem.subevent_id == product.subevent_id, SubEventItem.item_id == product.item.id
                )
            )
            if override is not None:
                return Decimal(override)
        if product.variation is not None and product.variation.default_price is not None:
            return Decimal(product.variation.default_price)
        return Decimal(product.item.default_price)

    def _answers(
        self, event: Event, item_id: int, drafts: Sequence[AnswerDraft], at: Path
    ) -> list[tuple[int, str, list[int]]]:
        """Checked answers (questions of the event asked for this product, each at most once); empty answers are
        left out. Problems go to ``at + (index, field)``."""
        self.problems.sizes[at] = len(drafts)
        wanted = [draft.question for draft in drafts if _possible_id(draft.question)]
        questions = load_questions(self.session, event.id, wanted)
        asked = set(
            self.session.scalars(
                select(question_items.c.question_id).where(
                    question_items.c.question_id.in_(set(questions)), question_items.c.item_id == item_id
                )
            )
            if questions
            else []
        )
        checked: list[tuple[int, str, list[int]]] = []
        seen: set[int] = set()
        for number, draft in enumerate(drafts):
            question = questions.get(draft.question)
            if question is None:
                self.problems.add((*at, number, "question"), NOT_FOUND.format(draft.question))
                continue
            if question.id not in asked:
                self.problems.add((*at, number, "question"), "This question is not asked for this product.")
                continue
            if question.id in seen:
                self.problems.add((*at, number, "question"), "This question is answered more than once.")
                continue
            seen.add(question.id)
            if is_empty(draft):
                continue
            try:
                text, options = normalise_answer(question, draft, zone=event_zone(event))
            except AnswerProblem as problem:
                name = "options" if question.type in CHOICE_TYPES else "answer"
                self.problems.add((*at, number, name), str(problem))
                continue
            checked.append((question.id, text, options))
        return checked

    def _money(self, value: Decimal, at: Path, *, allow_negative: bool = False) -> Decimal | None:
        value = Decimal(value)
        if not value.is_finite():
            self.problems.add(at, "A valid number is required.")
            return None
        if value < 0 and not allow_negative:
            self.problems.add(at, "Ensure this value is greater than or equal to 0.")
            return None
        if abs(value) > MAX_MONEY:
            self.problems.add(at, "Ensure that there are no more than 11 digits before the decimal point.")
            return None
        return round_money(value)

    def _retax_fee(self, fee: OrderFee, value: Decimal, address: InvoiceAddress | None) -> Taxed:
        rule = self._rule(self.order.event, fee.tax_rule_id) if fee.tax_rule_id is not None else None
        if rule is not None:
            return taxed_gross(value, rule, address)
        rate = Decimal(fee.tax_rate)
        return Taxed(value, tax_from_gross(value, rate), rate, fee.tax_code, None)

    def _get(self, model: type[Any], object_id: int | None) -> Any:
        if object_id is None or not _possible_id(object_id):
            return None
        key = (model, object_id)
        if key not in self._cache:
            self._cache[key] = self.session.get(model, object_id)
        return self._cache[key]

    def _rule(self, event: Event, rule_id: int | None) -> TaxRule | None:
        rule = self._get(TaxRule, rule_id)
        return rule if rule is not None and rule.event_id == event.id else None

    def _secret_taken(self, event: Event, secret: str, position_id: int) -> bool:
        return (
            self.session.scalar(
                select(OrderPosition.id)
                .join(Order, Order.id == OrderPosition.order_id)
                .where(Order.event_id == event.id, OrderPosition.secret == secret, OrderPosition.id != position_id)
                .limit(1)
            )
            is not None
        )

    # --- quotas ----------------------------------------------------------------------------------------------

    def _precheck_quotas(self, order: Order, plan: _Plan) -> list[int]:
        """Pre-check (lock-free) the capacity the change takes net of what it releases; return the quota ids
        that :func:`quotas.verify` must re-count once everything is written."""
        released: list[quotas.ProductKey] = []
        taken: list[tuple[quotas.ProductKey, Path]] = []
        for patch in plan.patches:
            if patch.product is not None:
                released.append(_key(patch.position))
                taken.append((patch.product.key, patch.item_path))
        for position in [*plan.cancels, *plan.cascaded]:
            # A position both patched and canceled releases its old product; the patch's new one is never sold.
            patched = next((p for p in plan.patches if p.position is position and p.product is not None), None)
            if patched is not None:
                taken.remove((patched.product.key, patched.item_path))  # type: ignore[union-attr]
            else:
                released.append(_key(position))
        taken.extend((created.product.key, created.item_path) for created in plan.creates)
        if not taken:
            return []
        by_product = quotas.quotas_by_product(self.session, order.event_id, [k for k, _ in taken] + released)
        for key, path in taken:
            if not by_product.get(key):
                raise OrderError(
                    errors=_at(path, "The product is not assigned to a quota and can therefore not be sold.")
                )
        needed = quotas.demand([key for key, _ in taken], by_product)
        needed.subtract(quotas.demand(released, by_product))
        growing = {quota_id: count for quota_id, count in needed.items() if count > 0}
        if not growing:
            return []
        involved = {quota.id: quota for found in by_product.values() for quota in found if quota.id in growing}
        quotas.precheck(self.session, involved.values(), growing)
        return sorted(growing)

    # --- applying --------------------------------------------------------------------------------------------

    def _apply_patches(self, order: Order, plan: _Plan, log: list[tuple[Order, str, dict[str, Any]]]) -> None:
        for patch in plan.patches:
            position = patch.position
            base = {"position": position.id, "positionid": position.positionid}
            if patch.product is not None:
                product = patch.product
                old = {"item": position.item_id, "variation": position.variation_id, "subevent": position.subevent_id}
                position.item_id = product.item.id
                position.variation_id = product.variation.id if product.variation else None
                position.subevent_id = product.subevent_id
                new = {"item": position.item_id, "variation": position.variation_id, "subevent": position.subevent_id}
                log.append((order, "item", {**base, "old": old, "new": new}))
            if patch.taxed is not None:
                old_price = _price_facts(position)
                _set_taxed(position, patch.taxed)
                new_price = _price_facts(position)
                if old_price != new_price:
                    log.append((order, "price", {**base, "old": old_price, "new": new_price}))
            if patch.validity:
                for name, value in patch.validity.items():
                    setattr(position, name, value)
                log.append(
                    (
                        order,
                        "validity",
                        {**base, **{k: v.isoformat() if v else None for k, v in patch.validity.items()}},
                    )
                )
            details = patch.details
            if details.values or details.answers is not None:
                for name, value in details.values.items():
                    setattr(position, name, value)
                if "attendee_name_parts" in details.values:
                    position.attendee_name_cached = _cached_name(position.attendee_name_parts)
                if details.answers is not None:
                    for answer in list(position.answers):
                        self.session.delete(answer)
                    position.answers = [
                        QuestionAnswer(question_id=question_id, answer=text, option_ids=options)
                        for question_id, text, options in details.answers
                    ]
                changed = sorted(details.values) + (["answers"] if details.answers is not None else [])
                log.append((order, "position_details", {**base, "fields": changed}))

    def _apply_cancels(
        self, order: Order, plan: _Plan, log: list[tuple[Order, str, dict[str, Any]]], *, holds_quota: bool
    ) -> None:
        """Cancel positions (add-ons with their parent); in a quota-holding order their voucher uses go back."""
        canceled = [*plan.cancels, *plan.cascaded]
        if holds_quota:
            release_vouchers(self.session, canceled)
        for position in canceled:
            position.canceled = True
            data = {"position": position.id, "positionid": position.positionid, "price": str(position.price)}
            if position in plan.cascaded:
                data["addon_of"] = position.addon_to_id
            log.append((order, "cancel", data))

    def _apply_creates(
        self, order: Order, plan: _Plan, log: list[tuple[Order, str, dict[str, Any]]]
    ) -> list[OrderPosition]:
        if not plan.creates:
            return []
        next_positionid = _next_positionid(self.session, order)
        rows: list[OrderPosition] = []
        for number, created in enumerate(plan.creates, start=next_positionid):
            draft = created.draft
            parts = name_parts(draft.attendee_name, draft.attendee_name_parts)
            row = OrderPosition(
                positionid=number,
                item_id=created.product.item.id,
                variation_id=created.product.variation.id if created.product.variation else None,
                subevent_id=created.product.subevent_id,
                attendee_name_parts=parts,
                attendee_name_cached=_cached_name(parts),
                **created.contact,
                secret=codes.ticket_secret(self.kernel.config.ticket_secret_length),
                web_secret=codes.web_secret(),
                pseudonymization_id=codes.pseudonymization_id(),
                valid_from=created.valid_from,
                valid_until=created.valid_until,
                addon_to_id=created.parent.id if created.parent is not None else None,
                answers=[
                    QuestionAnswer(question_id=question_id, answer=text, option_ids=options)
                    for question_id, text, options in created.answers
                ],
            )
            _set_taxed(row, created.taxed)
            row.order = order
            self.session.add(row)
            rows.append(row)
        self.session.flush()
        for row in rows:
            log.append(
                (
                    order,
                    "add_position",
                    {
                        "position": row.id,
                        "positionid": row.positionid,
                        "item": row.item_id,
                        "variation": row.variation_id,
                        "subevent": row.subevent_id,
                        "price": str(row.price),
                        "addon_to": row.addon_to_id,
                    },
                )
            )
        return rows

    def _apply_fees(self, order: Order, plan: _Plan, log: list[tuple[Order, str, dict[str, Any]]]) -> None:
        for change in plan.fee_patches:
            old = str(change.fee.value)
            change.fee.value = change.taxed.gross
            change.fee.tax_value = change.taxed.tax
            change.fee.tax_rate = change.taxed.rate
            change.fee.tax_code = change.taxed.code
            log.append((order, "fee", {"fee": change.fee.id, "old_value": old, "new_value": str(change.fee.value)}))
        for fee in plan.fee_cancels:
            fee.canceled = True
            log.append((order, "cancel_fee", {"fee": fee.id, "fee_type": fee.fee_type, "value": str(fee.value)}))
        created: list[OrderFee] = []
        for new_fee, taxed in plan.fee_creates:
            fee = OrderFee(
                fee_type=new_fee.fee_type,
                value=taxed.gross,
                description=new_fee.description,
                internal_type=new_fee.internal_type,
                tax_rate=taxed.rate,
                tax_value=taxed.tax,
                tax_code=taxed.code,
                tax_rule_id=taxed.rule_id,
                canceled=False,
            )
            fee.order = order
            self.session.add(fee)
            created.append(fee)
        if created:
            self.session.flush()
        for fee in created:
            log.append((order, "add_fee", {"fee": fee.id, "fee_type": fee.fee_type, "value": str(fee.value)}))

    def _apply_tax_recalculation(self, order: Order) -> None:
        """Tax every live position and fee afresh from its tax rule and the invoice address."""
        address = order.invoice_address
        keep_gross = self._tax_mode == "keep_gross"
        lines: list[_TaxLine] = []
        targets: list[OrderPosition | OrderFee] = [*order.live_positions, *order.live_fees]
        for target in targets:
            gross = Decimal(target.price if isinstance(target, OrderPosition) else target.value)
            rule = self._rule(order.event, target.tax_rule_id)
            decision = decide(rule, address) if rule is not None else None
            rate = decision.rate if decision is not None else ZERO
            if not keep_gross:
                net = gross - Decimal(target.tax_value)
                gross = round_money(net * (HUNDRED + rate) / HUNDRED)
            taxed = Taxed(
                gross, tax_from_gross(gross, rate), rate, decision.code if decision else None, target.tax_rule_id
            )
            lines.append(_TaxLine(target, taxed.gross, taxed.tax, taxed.rate))
            _set_taxed(target, taxed)
        mode = order.tax_rounding_mode
        if mode != "line":
            apply_rounding_mode(lines, "sum_by_net_keep_gross" if keep_gross else mode)
            for line in lines:
                _set_taxed(
                    line.target,
                    Taxed(line.price, line.tax_value, line.tax_rate, line.target.tax_code, line.target.tax_rule_id),
                )

    def _split(self, order: Order, plan: _Plan, now: datetime, log: list[tuple[Order, str, dict[str, Any]]]) -> Order:
        """Move the positions to split off (with all their add-ons) into a new order for the same buyer.

        Fees stay with the original order. Money the original order has received beyond what it still costs is
        moved along (up to the value of the moved positions), as a refund on the original order and a confirmed
        payment on the new one, both with the internal ``offsetting`` method.
        """
        moving_ids = {position.id for position in plan.splits}
        moving = [p for p in order.positions if p.id in moving_ids or p.addon_to_id in moving_ids]
        moving_ids |= {p.id for p in moving}
        moved_total = sum((Decimal(p.price) for p in moving if not p.canceled), ZERO)
        remaining_total = sum((Decimal(p.price) for p in order.live_positions if p.id not in moving_ids), ZERO)
        remaining_total += sum((Decimal(fee.value) for fee in order.live_fees), ZERO)
        transfer = max(ZERO, min(moved_total, paid_amount(order) - remaining_total))
        if order.status == STATUS_PAID:
            status = STATUS_PAID if transfer >= moved_total else STATUS_PENDING
        elif order.status == STATUS_PENDING:
            covered = moved_total > 0 and transfer >= moved_total and not order.require_approval
            status = STATUS_PAID if covered else STATUS_PENDING
        else:
            status = order.status
        split = Order(
            event_id=order.event_id,
            code=_free_order_code(self.kernel, self.session, order.event),
            status=status,
            testmode=order.testmode,
            secret=codes.order_secret(),
            email=order.email,
            phone=order.phone,
            customer=order.customer,
            locale=order.locale,
            sales_channel=order.sales_channel,
            datetime=order.datetime,
            expires=order.expires,
            total=moved_total,
            tax_rounding_mode=order.tax_rounding_mode,
            comment=order.comment,
            api_meta=dict(order.api_meta or {}),
            custom_followup_at=order.custom_followup_at,
            checkin_attention=order.checkin_attention,
            checkin_text=order.checkin_text,
            require_approval=order.require_approval,
            valid_if_pending=order.valid_if_pending,
            last_modified=now,
            plugin_data={},
        )
        split.event = order.event
        self.session.add(split)
        self.session.flush()
        if order.invoice_address is not None:
            source = order.invoice_address
            split.invoice_address = InvoiceAddress(
                company=source.company,
                is_business=source.is_business,
                name_parts=dict(source.name_parts or {}),
                street=source.street,
                zipcode=source.zipcode,
                city=source.city,
                country=source.country,
                state=source.state,
                internal_reference=source.internal_reference,
                vat_id=source.vat_id,
                vat_id_validated=source.vat_id_validated,
                custom_field=source.custom_field,
                transmission_type=source.transmission_type,
                transmission_info=source.transmission_info,
            )
        for position in moving:
            position.order = split
        if transfer > 0:
            refund = OrderRefund(
                local_id=max((r.local_id for r in order.refunds), default=0) + 1,
                state="done",
                source="admin",
                amount=transfer,
                created=now,
                execution_date=now,
                provider=OFFSETTING_PROVIDER,
                comment=f"Moved to order {split.code}",
                info={"orders": [split.code]},
            )
            refund.order = order
            self.session.add(refund)
            payment = OrderPayment(
                local_id=1,
                state="confirmed",
                amount=transfer,
                created=now,
                payment_date=now,
                provider=OFFSETTING_PROVIDER,
                info={"orders": [order.code]},
            )
            payment.order = split
            self.session.add(payment)
        moved = [{"position": p.id, "positionid": p.positionid} for p in moving]
        log.append((order, "split", {"new_order": split.code, "positions": moved, "transferred": str(transfer)}))
        log.append((split, "split_from", {"original_order": order.code, "positions": moved}))
        return split

    def _settle_status(self, order: Order, now: datetime, log: list[tuple[Order, str, dict[str, Any]]]) -> None:
        """A paid order that now costs more than it received becomes pending again (with a payment deadline
        from now on); a pending order whose payments now cover it becomes paid — one that now costs nothing too,
        with a confirmed zero payment of the ``free`` provider, as a free order is placed."""
        paid = paid_amount(order)
        old = order.status
        if order.status == STATUS_PAID and paid < order.total:
            order.status = STATUS_PENDING
            deadline = payment_deadline(self.kernel, self.session, order.event, now)
            order.expires = max(order.expires, deadline)
        elif order.status == STATUS_PENDING and not order.require_approval and paid >= order.total:
            if paid == 0:
                create_payment(
                    self.session, order, provider=FREE_PROVIDER, amount=ZERO, state="confirmed", payment_date=now
                )
            order.status = STATUS_PAID
        if order.status != old:
            log.append(
                (order, "status", {"old": old, "new": order.status, "total": str(order.total), "paid": str(paid)})
            )


# --- the change endpoint's body, as one call -------------------------------------------------------------------


def change_order(
    kernel: Kernel,
    session: Session,
    order: Order,
    draft: OrderChangeDraft,
    *,
    actor: Actor,
    check_quotas: bool = True,
) -> ChangeOutcome:
    """Apply a whole ``change`` request (see :class:`OrderChangeDraft`) to ``order``, all or nothing.

    Raises :class:`OrderError` with problems placed like the request's fields, e.g.
    ``{"cancel_positions": [{}, {"position": ["…"]}]}``; or with a ``detail`` for refusals of the whole change.
    """
    change = OrderChange(kernel, session, order, actor=actor, check_quotas=check_quotas)
    lists: dict[str, Sequence[Any]] = {
        "patch_positions": draft.patch_positions,
        "cancel_positions": draft.cancel_positions,
        "split_positions": draft.split_positions,
        "create_positions": draft.create_positions,
        "patch_fees": draft.patch_fees,
        "cancel_fees": draft.cancel_fees,
        "create_fees": draft.create_fees,
    }
    for name, entries in lists.items():
        change.expect(name, len(entries))
    for index, patch in enumerate(draft.patch_positions):
        change.patch_position(patch.position, patch.body, where=("patch_positions", index))
    for index, ref in enumerate(draft.cancel_positions):
        change.cancel_position(ref.position, where=("cancel_positions", index))
    for index, ref in enumerate(draft.split_positions):
        change.split_position(ref.position, where=("split_positions", index))
    for index, new in enumerate(draft.create_positions):
        change.create_position(new, where=("create_positions", index))
    for index, fee_patch in enumerate(draft.patch_fees):
        change.patch_fee(fee_patch.fee, fee_patch.body, where=("patch_fees", index))
    for index, fee_ref in enumerate(draft.cancel_fees):
        change.cancel_fee(fee_ref.fee, where=("cancel_fees", index))
    for index, new_fee in enumerate(draft.create_fees):
        change.create_fee(new_fee, where=("create_fees", index))
    change.recalculate_taxes(draft.recalculate_taxes)
    if change.empty:
        raise OrderError("Please specify at least one change.")
    return change.commit(send_email=draft.send_email, reissue_invoice=draft.reissue_invoice)


# --- helpers ---------------------------------------------------------------------------------------------------


def _given(value: Any) -> bool:
    return value is not UNSET


def _possible_id(value: Any) -> bool:
    """Ids are 32-bit on PostgreSQL: anything outside names nothing (and must not reach SQL as an overflow)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def _at(path: Path, message: str) -> dict[str, Any]:
    problems = _Problems()
    problems.add(path, message)
    return problems.tree


def _cached_name(parts: dict[str, str]) -> str | None:
    """The display name kept for search and sorting (cut to its column's width)."""
    return (format_name(parts) or "")[:NAME_WIDTH] or None


def _key(position: OrderPosition) -> quotas.ProductKey:
    return (position.item_id, position.variation_id, position.subevent_id)


def _set_taxed(target: OrderPosition | OrderFee, taxed: Taxed) -> None:
    if isinstance(target, OrderPosition):
        target.price = taxed.gross
    else:
        target.value = taxed.gross
    target.tax_value = taxed.tax
    target.tax_rate = taxed.rate
    target.tax_code = taxed.code
    target.tax_rule_id = taxed.rule_id


def _price_facts(position: OrderPosition) -> dict[str, Any]:
    return {
        "price": str(round_money(Decimal(position.price))),
        "tax_rate": str(Decimal(position.tax_rate).quantize(Decimal("0.01"))),
        "tax_value": str(round_money(Decimal(position.tax_value))),
        "tax_rule": position.tax_rule_id,
    }


def _total(order: Order) -> Decimal:
    positions = sum((Decimal(p.price) for p in order.live_positions), ZERO)
    return positions + sum((Decimal(fee.value) for fee in order.live_fees), ZERO)


def _next_positionid(session: Session, order: Order) -> int:
    """One above every positionid the order ever used, including positions since split off (the ledger remembers
    those), so a number never names two different positions of one order."""
    in_ledger = session.scalar(select(func.max(Transaction.positionid)).where(Transaction.order_id == order.id)) or 0
    return max([in_ledger, *(p.positionid for p in order.positions)]) + 1


def _free_order_code(kernel: Kernel, session: Session, event: Event) -> str:
    """A new random order code, unique across the organizer's events."""
    while True:
        code = codes.order_code(kernel.config.order_code_length)
        taken = session.scalar(
            select(Order.id)
            .join(Event, Event.id == Order.event_id)
            .where(Event.organizer_id == event.organizer_id, Order.code == code)
            .limit(1)
        )
        if taken is None:
            return code


def _reverse_moved(session: Session, order: Order, position_ids: Iterable[int], when: datetime) -> None:
    """Take positions that moved to another order off this order's ledger (that order's ledger takes them on)."""
    ids = list(position_ids)
    if not ids:
        return
    rows = session.scalars(
        select(Transaction)
        .where(Transaction.order_id == order.id, Transaction.position_id.in_(ids))
        .order_by(Transaction.id)
    ).all()
    balance: dict[int, tuple[int, Transaction | None]] = defaultdict(lambda: (0, None))
    for row in rows:
        assert row.position_id is not None
        count, last = balance[row.position_id]
        balance[row.position_id] = (count + row.count, row if row.count > 0 else last)
    for count, last in balance.values():
        if count <= 0 or last is None:
            continue
        session.add(
            Transaction(
                order_id=order.id,
                created=when,
                datetime=when,
                position_id=last.position_id,
                fee_id=None,
                count=-count,
                positionid=last.positionid,
                item_id=last.item_id,
                variation_id=last.variation_id,
                subevent_id=last.subevent_id,
                price=last.price,
                tax_rate=last.tax_rate,
                tax_value=last.tax_value,
                tax_rule_id=last.tax_rule_id,
                tax_code=last.tax_code,
                fee_type=None,
                internal_type=None,
            )
        )
