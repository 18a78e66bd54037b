"""Bank transfer in the control panel: its settings form (built from the provider's declared settings) and a page
listing the imported bank transactions with what matching made of them."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.response import Template
from sqlalchemy import or_, select

from boxoffice.hookspecs import hookimpl
from boxoffice.hookspecs.web import NavigationEntry, SettingsForm
from boxoffice.kernel.i18n import dgettext
from boxoffice.kernel.models.orders import Order
from boxoffice.plugins.banktransfer.models import BankTransaction
from boxoffice.plugins.banktransfer.provider import PREFIX, PROVIDER_SETTINGS

DOMAIN = "banktransfer"
ORDERS_READ = "event.orders:read"
SHOWN_TRANSACTIONS = 200


def _(message: str) -> str:
    return dgettext(DOMAIN, message)


@hookimpl
def control_settings_forms(event: Any) -> SettingsForm:
    return SettingsForm.from_schema(
        _("Bank transfer"),
        PREFIX,
        ["_enabled", *(entry.key for entry in PROVIDER_SETTINGS)],
        description=_("Buyers see these account details and a payment reference naming their order."),
        choices={f"{PREFIX}_bank_details_type": [("sepa", _("SEPA account")), ("other", _("Other (free text)"))]},
        multiline=frozenset({f"{PREFIX}_bank_details"}),
    )


@hookimpl
def control_event_navigation(event: Any) -> NavigationEntry:
    return NavigationEntry(_("Bank transactions"), "p/banktransfer/transactions", permission=ORDERS_READ)


@get("/transactions", sync_to_thread=True)
def transactions(
    request: Request, event: NamedDependency[Any], viewer: NamedDependency[Any], kernel: NamedDependency[Any]
) -> Template:
    """The organizer's imported transfers that belong to this event's orders or to no order yet, newest first."""
    principal = viewer.principal(event.organizer_id)
    if principal is None or not principal.has_event_permission(ORDERS_READ):
        raise PermissionDeniedException()
    with kernel.db.session() as session:
        event_orders = select(Order.id).where(Order.event_id == event.id)
        rows = session.scalars(
            select(BankTransaction)
            .where(
                BankTransaction.organizer_id == event.organizer_id,
                or_(BankTransaction.order_id.in_(event_orders), BankTransaction.order_id.is_(None)),
            )
            .order_by(BankTransaction.id.desc())
            .limit(SHOWN_TRANSACTIONS)
        ).all()
        shown = [
            {
                "date": row.date,
                "payer": row.payer,
                "reference": row.reference,
                "amount": row.amount,
                "currency": row.currency or event.currency,
                "state": row.state,
                "order_code": row.order_code,
                "message": row.message,
            }
            for row in rows
        ]
    base = f"/control/event/{event.organizer.slug}/{event.slug}/"
    return Template(
        template_name="banktransfer/transactions.html",
        context={
            "viewer": viewer,
            "transactions": shown,
            "limit": SHOWN_TRANSACTIONS,
            "event": {"url": base, "name": event.name, "organizer_name": event.organizer.name},
        },
    )


@hookimpl
def register_control_routes() -> list[Any]:
    return [transactions]
