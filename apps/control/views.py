"""The control panel's pages behind the log-in: event list, dashboard, orders, products and quotas."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from boxoffice.apps.control.auth import Viewer
from boxoffice.apps.control.context import EventPage, event_page, event_url
from boxoffice.apps.control.pages import flash, form_data, in_db, page, page_from_db
from boxoffice.apps.web import redirect, request_kernel
from boxoffice.kernel.availability import quota_availabilities
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.i18n import gettext as _
from boxoffice.kernel.i18n import localize
from boxoffice.kernel.models import Event, Item, LogEntry, Organizer, Quota, quota_items
from boxoffice.kernel.models.orders import (
    STATUS_CANCELED,
    STATUS_EXPIRED,
    STATUS_PAID,
    STATUS_PENDING,
    Order,
    OrderPosition,
)
from boxoffice.kernel.orders.errors import OrderError
from boxoffice.kernel.orders.lifecycle import mark_canceled, mark_paid

EVENT = "/event/{organizer:str}/{event:str}"
PAGE_SIZE = 25
ITEMS_WRITE = "event.items:write"
ORDERS_READ = "event.orders:read"
ORDERS_WRITE = "event.orders:write"
NAME_MAX = 200


def status_labels() -> dict[str, str]:
    return {
        STATUS_PENDING: _("pending"),
        STATUS_PAID: _("paid"),
        STATUS_EXPIRED: _("expired"),
        STATUS_CANCELED: _("canceled"),
    }


# --- event list ------------------------------------------------------------------------------------------------


def _organizers_and_events(session: Session, viewer: Viewer) -> list[dict[str, Any]]:
    organizer_ids = list(viewer.principals)
    if not organizer_ids:
        return []
    organizers = session.scalars(select(Organizer).where(Organizer.id.in_(organizer_ids)).order_by(Organizer.name))
    events = session.scalars(
        select(Event).where(Event.organizer_id.in_(organizer_ids)).order_by(Event.date_from.desc(), Event.id)
    ).all()
    listing = []
    for organizer in organizers:
        principal = viewer.principals[organizer.id]
        listing.append(
            {
                "slug": organizer.slug,
                "name": organizer.name,
                "can_manage_teams": principal.has_organizer_permission("organizer.teams:write"),
                "events": [
                    {"slug": event.slug, "name": localize(event.name), "date_from": event.date_from}
                    for event in events
                    if event.organizer_id == organizer.id and principal.can_see_event(event.id)
                ],
            }
        )
    return listing


@get("/")
async def index(request: Request, viewer: NamedDependency[Viewer]) -> Template:
    """Pick an organizer and an event."""
    organizers = await in_db(request, _organizers_and_events, viewer)
    return page(request, "index.html", viewer=viewer, organizers=organizers)


# --- dashboard -------------------------------------------------------------------------------------------------


def quota_rows(session: Session, quotas: list[Quota]) -> list[dict[str, Any]]:
    """Quotas with their fill (sold and reserved against the size), for any number of quotas in fixed queries."""
    availability = quota_availabilities(session, quotas)
    rows = []
    for quota in quotas:
        state = availability[quota.id]
        taken = state.paid_orders + state.pending_orders
        percent = min(100, math.floor(taken * 100 / quota.size)) if quota.size else 0
        rows.append(
            {
                "id": quota.id,
                "name": quota.name,
                "size": quota.size,
                "paid": state.paid_orders,
                "pending": state.pending_orders,
                "carts": state.cart_positions,
                "available": state.available_number,
                "percent": percent,
            }
        )
    return rows


def _dashboard(session: Session, kernel: Kernel, viewer: Viewer, organizer: str, event: str) -> dict[str, Any]:
    found = event_page(kernel, session, viewer, organizer, event, active="dashboard")
    counts = {status: (0, Decimal("0.00")) for status in status_labels()}
    for status, number, total in session.execute(
        select(Order.status, func.count(Order.id), func.coalesce(func.sum(Order.total), 0))
        .where(Order.event_id == found.event.id, Order.testmode.is_(False))
        .group_by(Order.status)
    ):
        counts[status] = (number, Decimal(str(total)))
    quotas = session.scalars(select(Quota).where(Quota.event_id == found.event.id).order_by(Quota.id)).all()
    tickets = session.scalar(
        select(func.count(OrderPosition.id))
        .join(Order, Order.id == OrderPosition.order_id)
        .where(
            Order.event_id == found.event.id,
            Order.status == STATUS_PAID,
            Order.testmode.is_(False),
            OrderPosition.canceled.is_(False),
        )
    )
    return {
        **found.context,
        "counts": [(status, label, *counts[status]) for status, label in status_labels().items()],
        "revenue": counts[STATUS_PAID][1],
        "open_amount": counts[STATUS_PENDING][1],
        "orders_total": sum(number for number, _total in counts.values()),
        "tickets_sold": tickets or 0,
        "quotas": quota_rows(session, list(quotas)),
        "can_read_orders": found.can(ORDERS_READ),
    }


@get(EVENT + "/")
async def dashboard(
    request: Request, viewer: NamedDependency[Viewer], organizer: FromPath[str], event: FromPath[str]
) -> Template:
    """Sales at a glance: orders by status, revenue, quota fill."""
    return await page_from_db(request, "dashboard.html", _dashboard, viewer, organizer, event)


# --- orders ----------------------------------------------------------------------------------------------------


def _order_list(
    session: Session,
    kernel: Kernel,
    viewer: Viewer,
    organizer: str,
    event: str,
    query: str,
    status: str,
    number: int,
) -> dict[str, Any]:
    found = event_page(kernel, session, viewer, organizer, event, active="orders", permission=ORDERS_READ)
    conditions = [Order.event_id == found.event.id]
    if status in status_labels():
        conditions.append(Order.status == status)
    text = query.strip()
    if text:
        pattern = f"%{text.lower()}%"
        by_attendee = select(OrderPosition.order_id).where(
            func.lower(OrderPosition.attendee_name_cached).like(pattern)
            | func.lower(OrderPosition.attendee_email).like(pattern)
        )
        conditions.append(
            or_(
                func.upper(Order.code) == text.upper(),
                func.lower(Order.email).like(pattern),
                Order.id.in_(by_attendee),
            )
        )
    total = session.scalar(select(func.count(Order.id)).where(*conditions)) or 0
    pages = max(1, math.ceil(total / PAGE_SIZE))
    number = min(max(number, 1), pages)
    orders = session.scalars(
        select(Order)
        .where(*conditions)
        .order_by(Order.datetime.desc(), Order.id.desc())
        .offset((number - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    positions = dict(
        session.execute(
            select(OrderPosition.order_id, func.count(OrderPosition.id))
            .where(OrderPosition.order_id.in_([order.id for order in orders]), OrderPosition.canceled.is_(False))
            .group_by(OrderPosition.order_id)
        ).all()
    )
    return {
        **found.context,
        "orders": [
            {
                "code": order.code,
                "status": order.status,
                "email": order.email or "",
                "total": order.total,
                "datetime": order.datetime,
                "positions": positions.get(order.id, 0),
                "testmode": order.testmode,
            }
            for order in orders
        ],
        "statuses": status_labels(),
        "query": text,
        "status": status if status in status_labels() else "",
        "page_number": number,
        "pages": pages,
        "total": total,
    }


@get(EVENT + "/orders/")
async def order_list(
    request: Request,
    viewer: NamedDependency[Viewer],
    organizer: FromPath[str],
    event: FromPath[str],
    q: FromQuery[str] = "",
    status: FromQuery[str] = "",
    page_number: Annotated[int, QueryParameter(query="page", ge=1, le=1_000_000)] = 1,
) -> Template:
    """Orders, newest first; search by order code, e-mail address or attendee; filter by status; paged."""
    context = await in_db(
        request, _order_list, request_kernel(request), viewer, organizer, event, q[:200], status, page_number
    )
    return page(request, "orders.html", **context)


def _load_order(session: Session, found: EventPage, code: str) -> Order:
    order = session.scalar(
        select(Order)
        .where(Order.event_id == found.event.id, Order.code == code.upper())
        .options(selectinload(Order.positions), selectinload(Order.fees), selectinload(Order.payments))
    )
    if order is None:
        raise NotFoundException()
    return order


def _order_detail(
    session: Session, kernel: Kernel, viewer: Viewer, organizer: str, event: str, code: str
) -> dict[str, Any]:
    found = event_page(kernel, session, viewer, organizer, event, active="orders", permission=ORDERS_READ)
    order = _load_order(session, found, code)
    item_ids = {position.item_id for position in order.positions}
    items = {item.id: item for item in session.scalars(select(Item).where(Item.id.in_(item_ids)))} if item_ids else {}
    log = session.scalars(
        select(LogEntry)
        .where(LogEntry.object_type == "order", LogEntry.object_id == str(order.id))
        .order_by(LogEntry.datetime.desc(), LogEntry.id.desc())
        .limit(50)
    ).all()
    writable = found.can(ORDERS_WRITE)
    return {
        **found.context,
        "order": {
            "code": order.code,
            "status": order.status,
            "status_label": status_labels().get(order.status, order.status),
            "email": order.email or "",
            "total": order.total,
            "datetime": order.datetime,
            "expires": order.expires,
            "locale": order.locale,
            "testmode": order.testmode,
            "require_approval": order.require_approval,
            "positions": [
                {
                    "id": position.positionid,
                    "item": localize(items[position.item_id].name) if position.item_id in items else "",
                    "attendee": position.attendee_name_cached or "",
                    "attendee_email": position.attendee_email or "",
                    "price": position.price,
                    "canceled": position.canceled,
                }
                for position in order.positions
            ],
            "fees": [{"type": fee.fee_type, "value": fee.value, "canceled": fee.canceled} for fee in order.fees],
            "payments": [
                {
                    "id": payment.local_id,
                    "provider": payment.provider,
                    "state": payment.state,
                    "amount": payment.amount,
                    "date": payment.payment_date or payment.created,
                }
                for payment in order.payments
            ],
        },
        "log": [
            {
                "datetime": entry.datetime,
                "action": entry.action_type,
                "actor": f"{entry.actor_type}:{entry.actor_id}" if entry.actor_id else entry.actor_type,
            }
            for entry in log
        ],
        "can_mark_paid": writable and order.status in (STATUS_PENDING, STATUS_EXPIRED) and not order.require_approval,
        "can_cancel": writable and order.status in (STATUS_PENDING, STATUS_PAID, STATUS_EXPIRED),
        "statuses": status_labels(),
    }


@get(EVENT + "/orders/{code:str}/")
async def order_detail(
    request: Request,
    viewer: NamedDependency[Viewer],
    organizer: FromPath[str],
    event: FromPath[str],
    code: FromPath[str],
) -> Template:
    return await page_from_db(request, "order.html", _order_detail, viewer, organizer, event, code)


def _order_action(
    session: Session,
    kernel: Kernel,
    viewer: Viewer,
    organizer: str,
    event: str,
    code: str,
    action: str,
) -> str:
    found = event_page(kernel, session, viewer, organizer, event, active="orders", permission=ORDERS_WRITE)
    order = _load_order(session, found, code)
    if action == "paid":
        mark_paid(kernel, session, order, actor=viewer.actor)
    else:
        mark_canceled(kernel, session, order, actor=viewer.actor)
    return event_url(found.event, f"orders/{order.code}/")


async def _run_order_action(
    request: Request,
    viewer: Viewer,
    organizer: str,
    event: str,
    code: str,
    action: str,
) -> Redirect:
    kernel = request_kernel(request)
    try:
        target = await in_db(request, _order_action, kernel, viewer, organizer, event, code, action)
    except OrderError as error:
        flash(request, "error", str(error))
        return redirect(f"/control/event/{organizer}/{event}/orders/{code}/")
    done = _("The order has been marked as paid.") if action == "paid" else _("The order has been canceled.")
    flash(request, "success", done)
    return redirect(target)


@post(EVENT + "/orders/{code:str}/mark-paid")
async def order_mark_paid(
    request: Request,
    viewer: NamedDependency[Viewer],
    organizer: FromPath[str],
    event: FromPath[str],
    code: FromPath[str],
) -> Redirect:
    return await _run_order_action(request, viewer, organizer, event, code, "paid")


@post(EVENT + "/orders/{code:str}/cancel")
async def order_cancel(
    request: Request,
    viewer: NamedDependency[Viewer],
    organizer: FromPath[str],
    event: FromPath[str],
    code: FromPath[str],
) -> Redirect:
    return await _run_order_action(request, viewer, organizer, event, code, "cancel")


# --- products and quotas ---------------------------------------------------------------------------------------


def _parse_price(raw: Any, errors: dict[str, str]) -> Decimal | None:
    try:
        price = Decimal(str(raw or "").strip().replace(",", "."))
    except InvalidOperation:
        price = None
    if price is None or not price.is_finite() or price < 0 or price >= Decimal("1e11"):
        errors["price"] = _("Enter a price of 0 or more, e.g. 35.00.")
        return None
    return price.quantize(Decimal("0.01"))


def _parse_size(raw: Any, errors: dict[str, str]) -> int | None:
    text = str(raw or "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) > 2**31 - 1:
        errors["size"] = _("Enter a whole number of 0 or more, or leave it empty for an unlimited quota.")
        return None
    return int(text)


def _products(session: Session, kernel: Kernel, viewer: Viewer, organizer: str, event: str) -> dict[str, Any]:
    found = event_page(kernel, session, viewer, organizer, event, active="products")
    items = session.scalars(select(Item).where(Item.event_id == found.event.id).order_by(Item.id)).all()
    quotas = session.scalars(select(Quota).where(Quota.event_id == found.event.id).order_by(Quota.id)).all()
    quota_names = {quota.id: quota.name for quota in quotas}
    by_item: dict[int, list[str]] = {}
    for quota_id, item_id in session.execute(
        select(quota_items.c.quota_id, quota_items.c.item_id).where(quota_items.c.quota_id.in_(list(quota_names)))
    ):
        by_item.setdefault(item_id, []).append(quota_names[quota_id])
    return {
        **found.context,
        "items": [
            {
                "id": item.id,
                "name": localize(item.name),
                "name_en": (item.name or {}).get("en", ""),
                "name_de": (item.name or {}).get("de", ""),
                "price": item.default_price,
                "active": item.active,
                "quotas": by_item.get(item.id, []),
            }
            for item in items
        ],
        "quotas": [{"id": quota.id, "name": quota.name} for quota in quotas],
        "can_write": found.can(ITEMS_WRITE),
    }


@get(EVENT + "/products/")
async def products(
    request: Request, viewer: NamedDependency[Viewer], organizer: FromPath[str], event: FromPath[str]
) -> Template:
    return await page_from_db(request, "products.html", _products, viewer, organizer, event)


def _names(form: dict[str, Any], errors: dict[str, str]) -> dict[str, str]:
    names = {lang: str(form.get(f"name_{lang}") or "").strip() for lang in ("en", "de")}
    names = {lang: text for lang, text in names.items() if text}
    if not names:
        errors["name"] = _("Enter a name.")
    elif any(len(text) > NAME_MAX for text in names.values()):
        errors["name"] = _("The name is too long.")
    return names


def _save_product(
    session: Session,
    kernel: Kernel,
    viewer: Viewer,
    organizer: str,
    event: str,
    item_id: int | None,
    form: dict,
) -> dict[str, str]:
    found = event_page(kernel, session, viewer, organizer, event, active="products", permission=ITEMS_WRITE)
    errors: dict[str, str] = {}
    names = _names(form, errors)
    price = _parse_price(form.get("price"), errors)
    quota = None
    chosen = str(form.get("quota") or "")
    if chosen:
        if chosen.isdigit() and int(chosen) < 2**31:
            quota = session.scalar(select(Quota).where(Quota.event_id == found.event.id, Quota.id == int(chosen)))
        if quota is None:
            errors["quota"] = _("Choose one of the event's quotas.")
    if errors:
        return errors
    assert price is not None
    active = form.get("active") == "on"
    if item_id is None:
        item = Item(event=found.event, name=names, default_price=price, active=active)
        session.add(item)
        session.flush()
        if quota is not None:
            quota.items.append(item)
        kernel.log_action(
            session, item, "boxoffice.event.item.added", actor=viewer.actor, data={"id": item.id, "name": names}
        )
        return {}
    item = session.scalar(select(Item).where(Item.event_id == found.event.id, Item.id == item_id))
    if item is None:
        raise NotFoundException()
    changed = {}
    if item.name != names:
        item.name, changed["name"] = names, names
    if item.default_price != price:
        item.default_price, changed["default_price"] = price, str(price)
    if item.active != active:
        item.active, changed["active"] = active, active
    if changed:
        kernel.log_action(
            session, item, "boxoffice.event.item.changed", actor=viewer.actor, data={"id": item.id, **changed}
        )
    return {}


async def _save_from_form(
    request: Request,
    viewer: Viewer,
    organizer: str,
    event: str,
    edited: int | None,
    save: Callable[..., dict[str, str]],
    listing: Callable[..., dict[str, Any]],
    section: str,
    saved_message: str,
) -> Template | Redirect:
    """Saves the posted form with ``save`` (``edited`` is the row's id, ``None`` adds one); refused, the section's
    page comes back with the field errors and the posted values, else the user returns to the list."""
    form = await form_data(request)
    errors = await in_db(request, save, request_kernel(request), viewer, organizer, event, edited, form)
    if errors:
        context = await in_db(request, listing, request_kernel(request), viewer, organizer, event)
        return page(request, f"{section}.html", status_code=400, errors=errors, form=form, edited=edited, **context)
    flash(request, "success", saved_message)
    return redirect(f"/control/event/{organizer}/{event}/{section}/")


async def _product_post(
    request: Request, viewer: Viewer, organizer: str, event: str, item_id: int | None
) -> Template | Redirect:
    saved = _("The product has been saved.")
    return await _save_from_form(
        request, viewer, organizer, event, item_id, _save_product, _products, "products", saved
    )


@post(EVENT + "/products/")
async def product_create(
    request: Request, viewer: NamedDependency[Viewer], organizer: FromPath[str], event: FromPath[str]
) -> Template | Redirect:
    return await _product_post(request, viewer, organizer, event, None)


@post(EVENT + "/products/{item_id:int}")
async def product_update(
    request: Request,
    viewer: NamedDependency[Viewer],
    organizer: FromPath[str],
    event: FromPath[str],
    item_id: FromPath[int],
) -> Template | Redirect:
    return await _product_post(request, viewer, organizer, event, item_id)


def _quotas(session: Session, kernel: Kernel, viewer: Viewer, organizer: str, event: str) -> dict[str, Any]:
    found = event_page(kernel, session, viewer, organizer, event, active="quotas")
    quotas = session.scalars(
        select(Quota).where(Quota.event_id == found.event.id).order_by(Quota.id).options(selectinload(Quota.items))
    ).all()
    items = session.scalars(select(Item).where(Item.event_id == found.event.id).order_by(Item.id)).all()
    rows = quota_rows(session, list(quotas))
    for row, quota in zip(rows, quotas, strict=True):
        row["items"] = [localize(item.name) for item in quota.items]
        row["item_ids"] = [item.id for item in quota.items]
    return {
        **found.context,
        "quotas": rows,
        "items": [{"id": item.id, "name": localize(item.name)} for item in items],
        "can_write": found.can(ITEMS_WRITE),
    }


@get(EVENT + "/quotas/")
async def quotas(
    request: Request, viewer: NamedDependency[Viewer], organizer: FromPath[str], event: FromPath[str]
) -> Template:
    return await page_from_db(request, "quotas.html", _quotas, viewer, organizer, event)


def _save_quota(
    session: Session,
    kernel: Kernel,
    viewer: Viewer,
    organizer: str,
    event: str,
    quota_id: int | None,
    form: dict,
) -> dict[str, str]:
    found = event_page(kernel, session, viewer, organizer, event, active="quotas", permission=ITEMS_WRITE)
    errors: dict[str, str] = {}
    name = str(form.get("name") or "").strip()
    if not name or len(name) > NAME_MAX:
        errors["name"] = _("Enter a name of at most 200 characters.")
    size = _parse_size(form.get("size"), errors)
    raw_items = form.get("items") or []
    chosen = raw_items if isinstance(raw_items, list) else [raw_items]
    wanted = {int(value) for value in chosen if str(value).isdigit() and int(value) < 2**31}
    items = session.scalars(select(Item).where(Item.event_id == found.event.id, Item.id.in_(wanted))).all()
    if len(items) != len(wanted):
        errors["items"] = _("Choose products of this event.")
    if errors:
        return errors
    if quota_id is None:
        quota = Quota(event=found.event, name=name, size=size, items=list(items))
        session.add(quota)
        session.flush()
        kernel.log_action(
            session,
            quota,
            "boxoffice.event.quota.added",
            actor=viewer.actor,
            data={"id": quota.id, "name": name, "size": size, "items": sorted(wanted)},
        )
        return {}
    quota = session.scalar(
        select(Quota).where(Quota.event_id == found.event.id, Quota.id == quota_id).options(selectinload(Quota.items))
    )
    if quota is None:
        raise NotFoundException()
    quota.name, quota.size, quota.items = name, size, list(items)
    kernel.log_action(
        session,
        quota,
        "boxoffice.event.quota.changed",
        actor=viewer.actor,
        data={"id": quota.id, "name": name, "size": size, "items": sorted(wanted)},
    )
    return {}


async def _quota_post(
    request: Request, viewer: Viewer, organizer: str, event: str, quota_id: int | None
) -> Template | Redirect:
    saved = _("The quota has been saved.")
    return await _save_from_form(request, viewer, organizer, event, quota_id, _save_quota, _quotas, "quotas", saved)


@post(EVENT + "/quotas/")
async def quota_create(
    request: Request, viewer: NamedDependency[Viewer], organizer: FromPath[str], event: FromPath[str]
) -> Template | Redirect:
    return await _quota_post(request, viewer, organizer, event, None)


@post(EVENT + "/quotas/{quota_id:int}")
async def quota_update(
    request: Request,
    viewer: NamedDependency[Viewer],
    organizer: FromPath[str],
    event: FromPath[str],
    quota_id: FromPath[int],
) -> Template | Redirect:
    return await _quota_post(request, viewer, organizer, event, quota_id)


ROUTES: list[Any] = [
    index,
    dashboard,
    order_list,
    order_detail,
    order_mark_paid,
    order_cancel,
    products,
    product_create,
    product_update,
    quotas,
    quota_create,
    quota_update,
]
