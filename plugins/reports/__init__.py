"""Reports: the bundled exporters — order, ticket, payment and invoice lists, a printable check-in list, sales and
quota overviews and the whole event as JSON, per event and (where it makes sense) across an organizer's events.

A ``hybrid`` plugin: switched on for the organizer it offers the organizer-level exports, and each event that
enables it too offers the event exports; where it is off its exporters are neither listed nor runnable. All exports
run as background jobs through the exporters API (``…/exporters/<identifier>/run/``) or on a schedule.
"""

from __future__ import annotations

from typing import Any

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.plugins.reports.eventdata import EventDataExporter
from boxoffice.plugins.reports.lists import (
    CheckinListExporter,
    InvoiceDataExporter,
    OrderListExporter,
    OrganizerInvoiceDataExporter,
    OrganizerOrderListExporter,
    OrganizerPaymentListExporter,
    OrganizerPositionListExporter,
    OrganizerSalesOverviewExporter,
    PaymentListExporter,
    PositionListExporter,
    QuotaOverviewExporter,
    SalesOverviewExporter,
)

plugin_meta = PluginMeta(
    name="Reports",
    description="Order, ticket, payment, invoice and check-in lists, sales and quota overviews, event data as JSON.",
    category="FORMAT",
    level="hybrid",
)

EVENT_EXPORTERS = (
    OrderListExporter,
    PositionListExporter,
    PaymentListExporter,
    CheckinListExporter,
    InvoiceDataExporter,
    SalesOverviewExporter,
    QuotaOverviewExporter,
    EventDataExporter,
)
ORGANIZER_EXPORTERS = (
    OrganizerOrderListExporter,
    OrganizerPositionListExporter,
    OrganizerPaymentListExporter,
    OrganizerInvoiceDataExporter,
    OrganizerSalesOverviewExporter,
)


@hookimpl
def register_data_exporters(event: Any) -> list[type]:
    return list(EVENT_EXPORTERS)


@hookimpl
def register_multievent_data_exporters(organizer: Any) -> list[type]:
    return list(ORGANIZER_EXPORTERS)
