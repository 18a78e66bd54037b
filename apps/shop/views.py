"""The shop's pages. Handlers are thin: each runs one unit of work in a worker thread (the kernel's services are
synchronous) in the request's language, and renders a template or redirects (303 after every POST)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import File, Redirect, Template
from sqlalchemy import select
from sqlalchemy.orm import Session

from boxoffice.apps.shop import catalog as shop_catalog
from boxoffice.apps.shop.cart import (
    SESSION_KEY,
    ShopError,
    add_to_cart,
    load_cart,
    new_cart_id,
    remove_from_cart,
    wanted_quantities,
)
from boxoffice.apps.shop.checkout import build_checkout, place, position_label, read_form
from boxoffice.apps.shop.orderpage import PaymentFailed, build_order_view, find_order, switch_payment
from boxoffice.apps.web import redirect, request_kernel, request_locale
from boxoffice.kernel import clock
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.i18n import gettext as _
from boxoffice.kernel.i18n import use_locale
from boxoffice.kernel.models import Event, Organizer
from boxoffice.kernel.models.subevents import SubEvent
from boxoffice.kernel.models.vouchers import Voucher
from boxoffice.kernel.orders.placement import load_vouchers
from boxoffice.kernel.tickets import available_outputs, request_file

T = TypeVar("T")
FLASH_KEY = "shop_messages"
VOUCHER_CODE_LIMIT = 255
SHOP = "/{organizer_slug:str}/{event_slug:str}"


# --- plumbing ------------------------------------------------------------------------------------------------------


async def _in_db(request: Request, work: Callable[..., T], *args: Any) -> T:
    """``work(kernel, session, *args)`` in one unit of work (committed unless it raises), in the page's language."""
    kernel = request_kernel(request)
    locale = request_locale(request)

    def run() -> T:
        with use_locale(locale), kernel.db.session() as session:
            return work(kernel, session, *args)

    return await sync_to_thread(run)


def _flash(request: Request, level: str, *texts: str) -> None:
    request.session[FLASH_KEY] = [*request.session.get(FLASH_KEY, []), *([level, text] for text in texts)]


def _take_messages(request: Request) -> list[tuple[str, str]]:
    if not request.scope.get("session"):
        return []
    return [(level, text) for level, text in request.session.pop(FLASH_KEY, [])]


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> Template:
    messages = [*_take_messages(request), *context.pop("messages", [])]
    return Template(template_name=f"shop/{name}", context={**context, "messages": messages}, status_code=status_code)


def load_event(session: Session, organizer_slug: str, event_slug: str) -> Event:
    """The published event, or 404 (an event that is not live is not shown to buyers, as in pretix)."""
    found = session.scalar(
        select(Event)
        .join(Organizer, Organizer.id == Event.organizer_id)
        .where(Organizer.slug == organizer_slug, Event.slug == event_slug)
    )
    if found is None or not found.live:
        raise NotFoundException()
    _ = found.organizer
    return found


def _number(value: Any) -> int:
    """A positive database id from a form or query value, else 0."""
    try:
        number = int(str(value or "").strip())
    except ValueError:
        return 0
    return number if 0 < number < 2**31 else 0


def _cart_id(request: Request) -> str | None:
    value = request.session.get(SESSION_KEY) if request.scope.get("session") else None
    return value if isinstance(value, str) else None


def _urls(event: Event) -> dict[str, str]:
    base = f"/{event.organizer.slug}/{event.slug}"
    return {
        "event": f"{base}/",
        "cart": f"{base}/cart/",
        "add": f"{base}/cart/add",
        "remove": f"{base}/cart/remove",
        "checkout": f"{base}/checkout/",
        "redeem": f"{base}/redeem",
    }


def order_url(event: Event, code: str, secret: str) -> str:
    return f"/{event.organizer.slug}/{event.slug}/order/{code}/{secret}/"


# --- organizer, event page and cart -------------------------------------------------------------------------------


@get("/{organizer_slug:str}/")
async def organizer_page(request: Request, organizer_slug: FromPath[str]) -> Template:
    """The organizer's public, published events that have not ended, soonest first."""

    def work(kernel: Kernel, session: Session) -> dict[str, Any]:
        organizer = session.scalar(select(Organizer).where(Organizer.slug == organizer_slug))
        if organizer is None:
            raise NotFoundException()
        now = clock.now()
        events = [
            event
            for event in session.scalars(
                select(Event)
                .where(Event.organizer_id == organizer.id, Event.live.is_(True), Event.is_public.is_(True))
                .order_by(Event.date_from, Event.id)
            )
            if (event.date_to or event.date_from) >= now
        ]
        return {"organizer": organizer, "events": events}

    context = await _in_db(request, work)
    return _page(request, "organizer.html", **context)


@get(SHOP + "/")
async def event_page(request: Request, organizer_slug: FromPath[str], event_slug: FromPath[str]) -> Template:
    """The products with prices and availability, and the cart if there is one."""
    cart_id = _cart_id(request)

    def work(kernel: Kernel, session: Session) -> dict[str, Any]:
        return _storefront_context(kernel, session, load_event(session, organizer_slug, event_slug), cart_id)

    context = await _in_db(request, work)
    return _page(request, "event.html", **context)


@get(SHOP + "/{subevent_id:int}/")
async def date_page(
    request: Request, organizer_slug: FromPath[str], event_slug: FromPath[str], subevent_id: FromPath[int]
) -> Template:
    """The event page of one date of an event series."""
    cart_id = _cart_id(request)

    def work(kernel: Kernel, session: Session) -> dict[str, Any]:
        found = load_event(session, organizer_slug, event_slug)
        date = shop_catalog.find_date(session, found, subevent_id)
        if date is None:
            raise NotFoundException()
        return _storefront_context(kernel, session, found, cart_id, subevent=date)

    context = await _in_db(request, work)
    return _page(request, "event.html", **context)


def _storefront_context(
    kernel: Kernel,
    session: Session,
    event: Event,
    cart_id: str | None,
    *,
    voucher: Voucher | None = None,
    subevent: SubEvent | None = None,
) -> dict[str, Any]:
    now = clock.now()
    settings = kernel.settings_for(session, event=event)
    storefront = shop_catalog.load_storefront(session, settings, event, now, voucher, subevent)
    dates = shop_catalog.load_dates(session, event, now) if event.has_subevents and subevent is None else []
    return {
        "event": event,
        "storefront": storefront,
        "dates": dates,
        "cart": load_cart(session, event, cart_id, now),
        "urls": _urls(event),
        "shop": shop_catalog,
    }


def find_voucher(session: Session, event: Event, code: str) -> Voucher | None:
    code = code.strip()
    if not code or len(code) > VOUCHER_CODE_LIMIT:
        return None
    return load_vouchers(session, event, [code]).get(code.upper())


@get(SHOP + "/redeem")
async def redeem_page(request: Request, organizer_slug: FromPath[str], event_slug: FromPath[str]) -> Response[Any]:
    """The event page for a voucher (``?voucher=CODE``): the products it is valid for, at its price."""
    cart_id = _cart_id(request)
    code = request.query_params.get("voucher") or ""
    subevent_id = _number(request.query_params.get("subevent"))

    def work(kernel: Kernel, session: Session) -> dict[str, Any] | str:
        found = load_event(session, organizer_slug, event_slug)
        now = clock.now()
        voucher = find_voucher(session, found, code)
        if voucher is None:
            return _("This voucher code is not known.")
        if voucher.valid_until is not None and voucher.valid_until < now:
            return _("This voucher has expired.")
        if voucher.redeemed >= voucher.max_usages:
            return _("This voucher has already been used.")
        date = shop_catalog.find_date(session, found, subevent_id) if subevent_id else None
        if found.has_subevents and date is None:
            return _("Please choose a date first, then redeem the voucher there.")
        context = _storefront_context(kernel, session, found, cart_id, voucher=voucher, subevent=date)
        if not any(offer.voucher is not None for offer in context["storefront"].offers.values()):
            return _("This voucher is not valid for any product that is on sale.")
        return context

    result = await _in_db(request, work)
    if isinstance(result, str):
        _flash(request, "error", result)
        return redirect(f"/{organizer_slug}/{event_slug}/")
    return _page(request, "event.html", **result)


@post(SHOP + "/cart/add")
async def cart_add(request: Request, organizer_slug: FromPath[str], event_slug: FromPath[str]) -> Response[Any]:
    """Reserve the quantities chosen on the event page; back to the event page with the reason when impossible."""
    form = await request.form()
    cart_id = _cart_id(request) or new_cart_id()

    def work(kernel: Kernel, session: Session) -> tuple[str, list[str]]:
        found = load_event(session, organizer_slug, event_slug)
        urls = _urls(found)
        now = clock.now()
        settings = kernel.settings_for(session, event=found)
        code = str(form.get("voucher") or "")
        voucher = find_voucher(session, found, code) if code else None
        if code and voucher is None:
            return urls["event"], [_("This voucher code is not known.")]
        date = shop_catalog.find_date(session, found, _number(form.get("subevent")))
        if found.has_subevents and date is None:
            return urls["event"], [_("Please choose a date.")]
        storefront = shop_catalog.load_storefront(session, settings, found, now, voucher, date)
        cart = load_cart(session, found, cart_id, now)
        try:
            add_to_cart(kernel, session, settings, storefront, cart, wanted_quantities(form, storefront), now)
        except ShopError as problem:
            session.rollback()
            back = urls["event"] if date is None else f"{urls['event']}{date.id}/"
            if voucher is not None:
                query = {"voucher": voucher.code, **({"subevent": date.id} if date is not None else {})}
                back = f"{urls['redeem']}?{urlencode(query)}"
            return back, problem.messages
        return urls["cart"], []

    target, problems = await _in_db(request, work)
    if problems:
        _flash(request, "error", *problems)
    else:
        request.session[SESSION_KEY] = cart_id
        _flash(request, "success", _("The products have been added to your cart."))
    return redirect(target)


@get(SHOP + "/cart/")
async def cart_page(request: Request, organizer_slug: FromPath[str], event_slug: FromPath[str]) -> Template:
    """The cart with its reservation countdown."""
    cart_id = _cart_id(request)

    def work(kernel: Kernel, session: Session) -> dict[str, Any]:
        found = load_event(session, organizer_slug, event_slug)
        cart = load_cart(session, found, cart_id, clock.now())
        return {"event": found, "cart": cart, "urls": _urls(found), "label": position_label}

    context = await _in_db(request, work)
    return _page(request, "cart.html", **context)


@post(SHOP + "/cart/remove")
async def cart_remove(request: Request, organizer_slug: FromPath[str], event_slug: FromPath[str]) -> Response[Any]:
    form = await request.form()
    cart_id = _cart_id(request)
    try:
        position_id = int(form.get("position") or "")
    except ValueError:
        position_id = 0

    def work(kernel: Kernel, session: Session) -> tuple[str, bool]:
        found = load_event(session, organizer_slug, event_slug)
        removed = (
            bool(cart_id) and 0 < position_id < 2**31 and remove_from_cart(session, found, cart_id or "", position_id)
        )
        return _urls(found)["cart"], removed

    target, removed = await _in_db(request, work)
    if removed:
        _flash(request, "success", _("The product has been removed from your cart."))
    else:
        _flash(request, "error", _("This product is no longer in your cart."))
    return redirect(target)


# --- checkout ------------------------------------------------------------------------------------------------------


@dataclass
class Placement:
    """Where the buyer goes after submitting the checkout: the order page (or a processor's page), or back."""

    target: str
    placed: bool
    payment_problem: str | None = None


@get(SHOP + "/checkout/")
async def checkout_page(request: Request, organizer_slug: FromPath[str], event_slug: FromPath[str]) -> Response[Any]:
    """Contact data, attendee data, questions and the payment method on one page."""
    cart_id = _cart_id(request)

    def work(kernel: Kernel, session: Session) -> dict[str, Any] | str:
        found = load_event(session, organizer_slug, event_slug)
        cart = load_cart(session, found, cart_id, clock.now())
        if not cart.lines:
            return _urls(found)["event"]
        return {"event": found, "checkout": build_checkout(kernel, session, found, cart), "urls": _urls(found)}

    context = await _in_db(request, work)
    if isinstance(context, str):
        _flash(request, "info", _("Your cart is empty."))
        return redirect(context)
    return _page(request, "checkout.html", **context, label=position_label)


@post(SHOP + "/checkout/")
async def checkout_submit(request: Request, organizer_slug: FromPath[str], event_slug: FromPath[str]) -> Response[Any]:
    """Check the form and place the order; the form comes back with the problems marked (400) when it is not right."""
    form = await request.form()
    cart_id = _cart_id(request)
    locale = request_locale(request)

    def work(kernel: Kernel, session: Session) -> dict[str, Any] | Placement:
        found = load_event(session, organizer_slug, event_slug)
        cart = load_cart(session, found, cart_id, clock.now())
        if not cart.lines:
            return Placement(_urls(found)["event"], placed=False)
        checkout = build_checkout(kernel, session, found, cart)
        drafts = read_form(checkout, form)
        if not checkout.has_errors:
            # A savepoint, so that a refusal leaves the loaded cart usable for showing the form again.
            attempt = session.begin_nested()
            try:
                placed = place(kernel, session, checkout, drafts, locale=locale)
            except ShopError as problem:
                attempt.rollback()
                checkout.messages.extend(problem.messages)
            else:
                session.commit()
                target = placed.next_url or order_url(found, placed.order.code, placed.order.secret)
                return Placement(target, placed=True, payment_problem=placed.payment_problem)
        return {"event": found, "checkout": checkout, "urls": _urls(found)}

    result = await _in_db(request, work)
    if isinstance(result, Placement):
        if not result.placed:
            _flash(request, "info", _("Your cart is empty."))
            return redirect(result.target)
        request.session.pop(SESSION_KEY, None)
        _flash(request, "success", _("Thank you! Your order has been placed."))
        if result.payment_problem:
            _flash(
                request,
                "error",
                _("The payment could not be completed: %(reason)s") % {"reason": result.payment_problem},
            )
        # A processor's page is another site: a plain 303 to it, not the shop's own redirect helper.
        return Redirect(result.target, status_code=303)
    checkout = result["checkout"]
    problems = [("error", message) for message in checkout.messages]
    if not problems:
        problems = [("error", _("Please correct the marked fields."))]
    return _page(request, "checkout.html", status_code=400, **result, label=position_label, messages=problems)


# --- the order -----------------------------------------------------------------------------------------------------


@get(SHOP + "/order/{code:str}/{secret:str}/")
async def order_page(
    request: Request,
    organizer_slug: FromPath[str],
    event_slug: FromPath[str],
    code: FromPath[str],
    secret: FromPath[str],
) -> Template:
    """Status, positions, payment instructions and downloads of one order."""

    def work(kernel: Kernel, session: Session) -> dict[str, Any]:
        found = load_event(session, organizer_slug, event_slug)
        order = find_order(session, found, code, secret)
        if order is None:
            raise NotFoundException()
        view = build_order_view(kernel, session, found, order)
        return {
            "event": found,
            "view": view,
            "urls": _urls(found),
            "base": order_url(found, order.code, secret),
        }

    context = await _in_db(request, work)
    return _page(request, "order.html", **context)


@post(SHOP + "/order/{code:str}/{secret:str}/pay")
async def order_pay(
    request: Request,
    organizer_slug: FromPath[str],
    event_slug: FromPath[str],
    code: FromPath[str],
    secret: FromPath[str],
) -> Response[Any]:
    """Pay an open order with another method (the previous attempt failed, or may be given up)."""
    form = await request.form()
    chosen = str(form.get("payment") or "")

    def work(kernel: Kernel, session: Session) -> tuple[str, str, str]:
        found = load_event(session, organizer_slug, event_slug)
        order = find_order(session, found, code, secret)
        if order is None:
            raise NotFoundException()
        back = order_url(found, order.code, secret)
        attempt = session.begin_nested()
        try:
            next_url = switch_payment(kernel, session, found, order, chosen)
        except ShopError as problem:
            attempt.rollback()
            return back, "error", " ".join(problem.messages)
        except PaymentFailed as failed:
            attempt.commit()
            return back, "error", _("The payment could not be completed: %(reason)s") % {"reason": failed.message}
        attempt.commit()
        return next_url or back, "success", _("Your payment method has been changed.")

    target, level, message = await _in_db(request, work)
    _flash(request, level, message)
    return Redirect(target, status_code=303)


@get(SHOP + "/order/{code:str}/{secret:str}/download/{output:str}/")
async def order_download(
    request: Request,
    organizer_slug: FromPath[str],
    event_slug: FromPath[str],
    code: FromPath[str],
    secret: FromPath[str],
    output: FromPath[str],
) -> Response[Any]:
    """The order's tickets in ``output`` (one file), or a page that reloads itself while a worker renders them."""

    def work(kernel: Kernel, session: Session) -> Any:
        found = load_event(session, organizer_slug, event_slug)
        order = find_order(session, found, code, secret)
        if order is None or output not in available_outputs(kernel, session, found, order):
            raise NotFoundException()
        ticket = request_file(kernel, session, found, order, output, None)
        return ticket if ticket is not None else {"event": found, "back": order_url(found, order.code, secret)}

    result = await _in_db(request, work)
    if isinstance(result, dict):
        response = _page(request, "generating.html", status_code=202, **result)
        response.headers["Retry-After"] = "2"
        return response
    return File(path=result.path, filename=result.filename, media_type=result.content_type)


ROUTES: list[Any] = [
    organizer_page,
    event_page,
    date_page,
    redeem_page,
    cart_add,
    cart_page,
    cart_remove,
    checkout_page,
    checkout_submit,
    order_page,
    order_pay,
    order_download,
]
