"""Demo data for a first look: one organizer, one event, one product with a quota, and an API token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import exists, select

from boxoffice.kernel import clock
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.models import Event, Item, Organizer, Quota, Team, TeamAPIToken
from boxoffice.kernel.tokens import new_token, token_digest

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from boxoffice.kernel.core import Kernel


@dataclass(frozen=True)
class DemoData:
    organizer_slug: str
    event_slug: str
    token: str


def has_any_organizer(session: Session) -> bool:
    return bool(session.scalar(select(exists().where(Organizer.id.isnot(None)))))


def create_demo_data(kernel: Kernel, organizer_slug: str = "demo", event_slug: str = "democon") -> DemoData:
    """Create (or top up) the demo organizer and event; always issues a fresh API token."""
    actor = Actor("cli")
    with kernel.db.session() as session:
        organizer = session.scalar(select(Organizer).where(Organizer.slug == organizer_slug))
        if organizer is None:
            organizer = Organizer(slug=organizer_slug, name="Demo Organizer", plugins=[])
            session.add(organizer)
            session.flush()
            kernel.log_action(session, organizer, "boxoffice.organizer.created", actor=actor)
        event = session.scalar(select(Event).where(Event.organizer_id == organizer.id, Event.slug == event_slug))
        if event is None:
            starts = (clock.now() + timedelta(days=60)).replace(hour=10, minute=0, second=0, microsecond=0)
            event = Event(
                organizer=organizer,
                slug=event_slug,
                name={"en": "DemoCon", "de": "DemoCon"},
                currency="EUR",
                date_from=starts,
                date_to=starts + timedelta(hours=8),
                # Published, so the shop at /demo/democon/ sells it right away.
                live=True,
                plugins=[],
            )
            item = Item(
                event=event, name={"en": "Regular ticket", "de": "Normales Ticket"}, default_price=Decimal("35.00")
            )
            session.add_all([event, item])
            session.add(Quota(event=event, name="Regular tickets", size=100, items=[item]))
            session.flush()
            kernel.log_action(session, event, "boxoffice.event.created", actor=actor, data={"slug": event_slug})
        team = session.scalar(select(Team).where(Team.organizer_id == organizer.id, Team.name == "Demo API"))
        if team is None:
            team = Team(
                organizer=organizer,
                name="Demo API",
                all_events=True,
                all_organizer_permissions=True,
                all_event_permissions=True,
            )
            session.add(team)
        token = new_token()
        session.add(TeamAPIToken(team=team, name="demo", token_digest=token_digest(token)))
        session.flush()
        kernel.log_action(session, team, "boxoffice.team.token.created", actor=actor, data={"name": "demo"})
    return DemoData(organizer_slug, event_slug, token)
