"""Who is logged in to the control panel and what they may do: the union of the user's teams per organizer,
expressed as the same :class:`~boxoffice.apps.api.auth.Principal` the REST API checks for tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.concurrency import sync_to_thread
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException, PermissionDeniedException
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from boxoffice.apps.api.auth import Principal
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.models import Event, Organizer, Team
from boxoffice.kernel.models.teams import team_members
from boxoffice.kernel.models.users import User

SESSION_USER = "control_user_id"
# Bumped on a password change, so every other session of that user ends.
SESSION_PASSWORD_MARK = "control_password_mark"


class LoginRequired(NotAuthorizedException):
    """No valid log-in: the control panel answers with a redirect to the log-in page."""


@dataclass(frozen=True)
class Viewer:
    """The logged-in user and one :class:`Principal` per organizer they belong to (through teams)."""

    user_id: int
    email: str
    fullname: str
    is_staff: bool
    principals: dict[int, Principal]

    @property
    def actor(self) -> Actor:
        return Actor("user", str(self.user_id))

    def principal(self, organizer_id: int) -> Principal | None:
        return self.principals.get(organizer_id)


def _union(organizer_id: int, teams: list[Team], user_id: int) -> Principal:
    return Principal(
        organizer_id=organizer_id,
        actor=Actor("user", str(user_id)),
        all_events=any(team.all_events for team in teams),
        event_ids=frozenset(event.id for team in teams for event in team.limit_events),
        all_event_permissions=any(team.all_event_permissions for team in teams),
        event_permissions=frozenset(p for team in teams for p in (team.limit_event_permissions or ())),
        all_organizer_permissions=any(team.all_organizer_permissions for team in teams),
        organizer_permissions=frozenset(p for team in teams for p in (team.limit_organizer_permissions or ())),
    )


def password_mark(stored_hash: str | None) -> str:
    """A short fingerprint of the password hash (never the hash itself) kept in the session."""
    return (stored_hash or "")[-12:]


def load_viewer(session: Session, user_id: int, mark: str | None) -> Viewer | None:
    user = session.get(User, user_id)
    if user is None or not user.is_active or password_mark(user.password) != mark:
        return None
    teams = session.scalars(
        select(Team)
        .join(team_members, team_members.c.team_id == Team.id)
        .where(team_members.c.user_id == user.id)
        .options(selectinload(Team.limit_events))
    ).all()
    by_organizer: dict[int, list[Team]] = {}
    for team in teams:
        by_organizer.setdefault(team.organizer_id, []).append(team)
    return Viewer(
        user_id=user.id,
        email=user.email,
        fullname=user.fullname or "",
        is_staff=user.is_staff,
        principals={oid: _union(oid, grouped, user.id) for oid, grouped in by_organizer.items()},
    )


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


async def provide_viewer(request: Request) -> Viewer:
    """The logged-in user (a redirect to the log-in page otherwise)."""
    user_id = request.session.get(SESSION_USER) if request.scope.get("session") else None
    if not isinstance(user_id, int):
        raise LoginRequired()
    kernel = request.app.state.kernel

    def load() -> Viewer | None:
        with kernel.db.session() as session:
            return load_viewer(session, user_id, request.session.get(SESSION_PASSWORD_MARK))

    viewer = await sync_to_thread(load)
    if viewer is None:
        request.clear_session()
        raise LoginRequired()
    return viewer


def event_in_scope(
    session: Session, viewer: Viewer, organizer_slug: str, event_slug: str, permission: str | None = None
) -> tuple[Event, Principal]:
    """The event when the viewer may see it (404 otherwise, so foreign events stay invisible); 403 without
    ``permission``."""
    event = session.scalar(
        select(Event)
        .join(Organizer)
        .where(Organizer.slug == organizer_slug, Event.slug == event_slug)
        .options(selectinload(Event.organizer))
    )
    principal = viewer.principal(event.organizer_id) if event is not None else None
    if event is None or principal is None or not principal.can_see_event(event.id):
        raise NotFoundException()
    if permission is not None and not principal.has_event_permission(permission):
        raise PermissionDeniedException()
    return event, principal


def organizer_in_scope(
    session: Session, viewer: Viewer, organizer_slug: str, permission: str | None = None
) -> tuple[Organizer, Principal]:
    organizer = session.scalar(select(Organizer).where(Organizer.slug == organizer_slug))
    principal = viewer.principal(organizer.id) if organizer is not None else None
    if organizer is None or principal is None:
        raise NotFoundException()
    if permission is not None and not principal.has_organizer_permission(permission):
        raise PermissionDeniedException()
    return organizer, principal


def safe_next(target: Any) -> str:
    """Only paths inside the control panel are followed after log-in (no open redirect)."""
    if isinstance(target, str) and target.startswith("/control/") and not target.startswith("//"):
        return target
    return "/control/"


__all__ = ["HTTPException", "LoginRequired", "Viewer", "event_in_scope", "organizer_in_scope", "provide_viewer"]
