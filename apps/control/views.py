"""The control panel's pages behind the log-in."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.orm import Session

from boxoffice.apps.control.auth import Viewer
from boxoffice.apps.control.pages import in_db, page
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.i18n import localize
from boxoffice.kernel.models import Event, Organizer


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
                "events": [
                    {"slug": event.slug, "name": localize(event.name), "date_from": event.date_from}
                    for event in events
                    if event.organizer_id == organizer.id and principal.can_see_event(event.id)
                ],
            }
        )
    return listing


@get("/")
async def index(request: Request, viewer: Viewer) -> Template:
    """Pick an organizer and an event."""
    organizers = await in_db(request, _organizers_and_events, viewer)
    return page(request, "index.html", viewer=viewer, organizers=organizers)


ROUTES: list[Any] = [index]


def plugin_page_routes(kernel: Kernel) -> list[Any]:
    return []
