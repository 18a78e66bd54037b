"""Changes to an order that leave what was sold untouched: contact data, notes, invoice address, payment deadline,
scanner hints, ticket blocks and print records.

These are the services behind ``PATCH …/orders/{code}/`` and the position ``add_block``/``remove_block``/``printlog``
actions; plugins and jobs call them the same way. Each one validates first (raising :class:`OrderError` with
pretix-shaped field errors), then writes, audit-logs, tells plugins (``order_changed``) and keeps the order's
``last_modified`` current so incremental syncs (``modified_since``) see the change.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import NO_VALUE

from boxoffice.kernel import clock
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.models.orders import BlockedSecret, InvoiceAddress, Order, OrderPosition, PrintLog
from boxoffice.kernel.orders.answers import COUNTRIES
from boxoffice.kernel.orders.drafts import InvoiceAddressDraft
from boxoffice.kernel.orders.errors import OrderError
from boxoffice.kernel.orders.ledger import record_transactions
from boxoffice.kernel.orders.lifecycle import lock_wait
from boxoffice.kernel.orders.payments import lock_order
from boxoffice.kernel.orders.placement import clock_utc, format_name, name_parts

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel

# The order fields an existing order may change through :func:`change_order_details`.
DETAIL_FIELDS = (
    "email",
    "phone",
    "checkin_attention",
    "checkin_text",
    "locale",
    "comment",
    "api_meta",
    "custom_followup_at",
    "invoice_address",
    "valid_if_pending",
    "expires",
)
# Fields changed together are logged together: ``boxoffice.event.order.<group>.changed``.
LOG_GROUPS = {
    "email": "contact",
    "phone": "contact",
    "checkin_attention": "checkin",
    "checkin_text": "checkin",
    "locale": "locale",
    "comment": "comment",
    "api_meta": "api_meta",
    "custom_followup_at": "followup",
    "invoice_address": "invoice_address",
    "valid_if_pending": "valid_if_pending",
    "expires": "expires",
}
NOT_NULL = ("checkin_attention", "locale", "comment", "api_meta", "valid_if_pending", "expires")
# Column widths of the invoice address (PostgreSQL refuses longer text instead of cutting it).
ADDRESS_LIMITS = {
    "company": 255,
    "zipcode": 30,
    "city": 255,
    "state": 255,
    "vat_id": 255,
    "custom_field": 255,
    "transmission_type": 100,
}
ADDRESS_COLUMNS = (
    "company",
    "is_business",
    "name_parts",
    "street",
    "zipcode",
    "city",
    "country",
    "state",
    "internal_reference",
    "vat_id",
    "vat_id_validated",
    "custom_field",
    "transmission_type",
    "transmission_info",
)
EMAIL_MAX, PHONE_MAX = 254, 64
# Only blocks set through the API can be set or lifted through it; plugins own theirs.
BLOCK_NAME = re.compile(r"^(admin|api:[A-Za-z0-9._]+)$")
BLOCK_NAME_MAX = 190
PRINT_TYPES = ("badge", "ticket", "certificate", "other")
PRINT_SOURCE_MAX = 255


class OrderDetails(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The detail fields to change; fields left ``UNSET`` stay as they are. ``invoice_address`` replaces the whole
    address (``None`` removes it)."""

    email: str | msgspec.UnsetType | None = msgspec.UNSET
    phone: str | msgspec.UnsetType | None = msgspec.UNSET
    checkin_attention: bool | msgspec.UnsetType | None = msgspec.UNSET
    checkin_text: str | msgspec.UnsetType | None = msgspec.UNSET
    locale: str | msgspec.UnsetType | None = msgspec.UNSET
    comment: str | msgspec.UnsetType | None = msgspec.UNSET
    api_meta: dict[str, Any] | msgspec.UnsetType | None = msgspec.UNSET
    custom_followup_at: date | msgspec.UnsetType | None = msgspec.UNSET
    invoice_address: InvoiceAddressDraft | msgspec.UnsetType | None = msgspec.UNSET
    valid_if_pending: bool | msgspec.UnsetType | None = msgspec.UNSET
    expires: datetime | msgspec.UnsetType | None = msgspec.UNSET

    def sent(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in DETAIL_FIELDS if getattr(self, name) is not msgspec.UNSET}


def _in_utc(name: str, value: datetime) -> datetime:
    try:
        return clock_utc(value)
    except (OverflowError, ValueError):
        raise OrderError.field(name, "Datetime is out of the supported range.") from None


def _problems(kernel: Kernel, session: Session, order: Order, sent: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    for name in NOT_NULL:
        if name in sent and sent[name] is None:
            errors[name] = ["This field may not be null."]
    email = sent.get("email")
    if email and ("@" not in email or len(email) > EMAIL_MAX or any(char.isspace() for char in email)):
        errors["email"] = ["Enter a valid email address."]
    phone = sent.get("phone")
    if phone and len(phone) > PHONE_MAX:
        errors["phone"] = [f"Ensure this field has no more than {PHONE_MAX} characters."]
    locale = sent.get("locale")
    if locale is not None:
        locales = kernel.settings_for(session, event=order.event).get("locales") or []
        if locale not in locales:
            errors["locale"] = [f'"{locale}" is not a valid choice.']
    address = sent.get("invoice_address")
    if address is not None:
        problems = _address_problems(address)
        if problems:
            errors["invoice_address"] = problems
    return errors


def _address_problems(address: InvoiceAddressDraft) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    # A representation read from the API carries both; that is fine as long as they agree.
    if address.name is not None and address.name_parts and address.name != format_name(address.name_parts):
        problems["name"] = ["Do not specify name if you specified name_parts."]
    if address.country and address.country.upper() not in COUNTRIES:
        problems["country"] = [f'"{address.country}" is not a valid choice.']
    for name, limit in ADDRESS_LIMITS.items():
        value = getattr(address, name)
        if isinstance(value, str) and len(value) > limit:
            problems[name] = [f"Ensure this field has no more than {limit} characters."]
    return problems


def _loggable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, msgspec.Struct):
        return msgspec.to_builtins(value)
    return value


def _address_values(address: InvoiceAddressDraft) -> dict[str, Any]:
    return {
        "company": address.company or "",
        "is_business": address.is_business,
        "name_parts": name_parts(address.name, address.name_parts),
        "street": address.street or "",
        "zipcode": address.zipcode or "",
        "city": address.city or "",
        "country": (address.country or "").upper(),
        "state": address.state or "",
        "internal_reference": address.internal_reference or "",
        "vat_id": address.vat_id or "",
        "vat_id_validated": address.vat_id_validated,
        "custom_field": address.custom_field,
        "transmission_type": address.transmission_type or "email",
        "transmission_info": address.transmission_info,
    }


def _current_address(order: Order) -> dict[str, Any] | None:
    address = order.invoice_address
    if address is None:
        return None
    return {name: getattr(address, name) for name in ADDRESS_COLUMNS}


def change_order_details(
    kernel: Kernel, session: Session, order: Order, details: OrderDetails, *, actor: Actor
) -> list[str]:
    """Apply ``details`` to ``order``; return the names of the fields whose value really changed.

    Raises :class:`OrderError` (nothing written) when a value is not acceptable. Each group of changed fields gets
    one audit-log entry ``boxoffice.event.order.<group>.changed`` with the old and new values; plugins hear
    ``order_changed`` once when anything changed.
    """
    sent = details.sent()
    errors = _problems(kernel, session, order, sent)
    if errors:
        raise OrderError(errors=errors)
    _lock(session, order)
    address = inspect(order).attrs.invoice_address.loaded_value
    if address is not None and address is not NO_VALUE:
        session.expire(address)
    session.refresh(order, [*DETAIL_FIELDS])
    if "email" in sent and not sent["email"]:
        sent["email"] = None
    if "phone" in sent and not sent["phone"]:
        sent["phone"] = None
    if sent.get("expires") is not None:
        sent["expires"] = _in_utc("expires", sent["expires"])

    changed: dict[str, tuple[Any, Any]] = {}
    for name, value in sent.items():
        if name == "invoice_address":
            before = _current_address(order)
            after = _address_values(value) if value is not None else None
            if before != after:
                _replace_address(session, order, after)
                changed[name] = (before, after)
            continue
        before = getattr(order, name)
        if before != value:
            setattr(order, name, value)
            changed[name] = (before, value)
    if not changed:
        return []

    order.last_modified = clock.now()
    groups: dict[str, dict[str, dict[str, Any]]] = {}
    for name, (before, after) in changed.items():
        entry = groups.setdefault(LOG_GROUPS[name], {"old": {}, "new": {}})
        entry["old"][name] = _loggable(before)
        entry["new"][name] = _loggable(after)
    for group, data in groups.items():
        kernel.log_action(session, order, f"boxoffice.event.order.{group}.changed", actor=actor, data=data)
    record_transactions(session, order)
    kernel.plugins.for_event(order.event).order_changed(event=order.event, order=order, session=session)
    return list(changed)


def _replace_address(session: Session, order: Order, values: dict[str, Any] | None) -> None:
    current = order.invoice_address
    if values is None:
        if current is not None:
            session.delete(current)
            session.flush()
        session.expire(order, ["invoice_address"])
        return
    if current is None:
        session.add(InvoiceAddress(order_id=order.id, **values))
        session.flush()
        session.expire(order, ["invoice_address"])
        return
    for name, value in values.items():
        setattr(current, name, value)
    current.last_modified = clock.now()


# --- ticket blocks -------------------------------------------------------------------------------------------------


def block_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be set or lifted through the API, if it cannot."""
    if len(name) > BLOCK_NAME_MAX:
        return f"Ensure this field has no more than {BLOCK_NAME_MAX} characters."
    if not BLOCK_NAME.match(name):
        return 'A block name must be "admin" or start with "api:" followed by letters, digits, dots or underscores.'
    return None


def _lock(session: Session, order: Order) -> None:
    """Take the order's row lock like every other change of an order (order first, then its rows), so changes of
    one order take turns and never wait for each other in opposite order."""
    with lock_wait(session):
        lock_order(session, order)


def _locked(session: Session, position: OrderPosition) -> OrderPosition:
    """The position re-read under a row lock, so concurrent block changes do not overwrite each other's list."""
    locked = session.scalars(
        select(OrderPosition)
        .where(OrderPosition.id == position.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return locked


def _sync_blocked_secret(session: Session, event_id: int, secret: str, blocked: bool) -> None:
    row = session.scalar(
        select(BlockedSecret).where(BlockedSecret.event_id == event_id, BlockedSecret.secret == secret)
    )
    if row is None:
        if blocked:
            session.add(BlockedSecret(event_id=event_id, secret=secret, blocked=True, updated=clock.now()))
        return
    if row.blocked != blocked:
        row.blocked = blocked
        row.updated = clock.now()


def set_block(
    kernel: Kernel, session: Session, position: OrderPosition, name: str, *, blocked: bool, actor: Actor
) -> bool:
    """Add (``blocked=True``) or lift a named block on a ticket; return whether anything changed.

    The event's blocked-secret list follows: the secret is listed as blocked while any block remains, and as
    unblocked once the last one is lifted (offline scanners sync that list).
    """
    problem = block_name_problem(name)
    if problem is not None:
        raise OrderError.field("name", problem)
    _lock(session, position.order)
    position = _locked(session, position)
    current = list(position.blocked or [])
    if blocked == (name in current):
        return False
    names = [*current, name] if blocked else [entry for entry in current if entry != name]
    position.blocked = names or None
    order = position.order
    order.last_modified = clock.now()
    _sync_blocked_secret(session, order.event_id, position.secret, bool(names))
    kernel.log_action(
        session,
        order,
        "boxoffice.event.order.position.blocked" if blocked else "boxoffice.event.order.position.unblocked",
        actor=actor,
        data={"position": position.id, "positionid": position.positionid, "name": name},
    )
    record_transactions(session, order)
    kernel.plugins.for_event(order.event).order_changed(event=order.event, order=order, session=session)
    return True


# --- print logs ----------------------------------------------------------------------------------------------------


def record_print(
    kernel: Kernel,
    session: Session,
    position: OrderPosition,
    *,
    moment: datetime,
    source: str,
    print_type: str,
    info: dict[str, Any] | None,
    device_id: int | None,
    actor: Actor,
) -> PrintLog:
    """Note that a ticket, badge or certificate of ``position`` was printed (reported by an app or device)."""
    errors: dict[str, list[str]] = {}
    if print_type not in PRINT_TYPES:
        errors["type"] = [f'"{print_type}" is not a valid choice.']
    if not source.strip():
        errors["source"] = ["This field may not be blank."]
    elif len(source) > PRINT_SOURCE_MAX:
        errors["source"] = [f"Ensure this field has no more than {PRINT_SOURCE_MAX} characters."]
    if errors:
        raise OrderError(errors=errors)
    _lock(session, position.order)
    log = PrintLog(
        position_id=position.id,
        created=clock.now(),
        datetime=_in_utc("datetime", moment),
        device_id=device_id,
        source=source,
        type=print_type,
        info=info or {},
    )
    session.add(log)
    order = position.order
    # Print logs are part of the position's representation: clients syncing by modified_since must see them.
    order.last_modified = clock.now()
    session.flush()
    kernel.log_action(
        session,
        order,
        "boxoffice.event.order.position.printed",
        actor=actor,
        data={"position": position.id, "positionid": position.positionid, "type": print_type, "source": source},
    )
    return log
