"""Creating control panel users and setting their passwords (``boxoffice user set-password``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from boxoffice.apps.control.auth import find_user
from boxoffice.apps.control.passwords import MIN_LENGTH, hash_password
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.models import Organizer, Team

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel

ADMIN_TEAM = "Administrators"


class UserError(ValueError):
    """The password or the organizer is not acceptable."""


@dataclass(frozen=True)
class UserChange:
    user_id: int
    created: bool
    added_to_team: str | None


def set_password(kernel: Kernel, email: str, password: str, *, admin_of: str | None = None) -> UserChange:
    """Set the password of the user with ``email`` (creating the user if there is none); with ``admin_of`` also
    make them a member of that organizer's "Administrators" team (all permissions, all events)."""
    from boxoffice.kernel.models.users import User

    email = email.strip()
    if "@" not in email:
        raise UserError(f"not an e-mail address: {email!r}")
    if len(password) < MIN_LENGTH:
        raise UserError(f"the password needs at least {MIN_LENGTH} characters")
    actor = Actor("cli")
    with kernel.db.session() as session:
        organizer = None
        if admin_of is not None:
            organizer = session.scalar(select(Organizer).where(Organizer.slug == admin_of))
            if organizer is None:
                raise UserError(f"no organizer {admin_of!r}")
        user = find_user(session, email)
        created = user is None
        if user is None:
            user = User(email=email)
            session.add(user)
        user.password = hash_password(password)
        session.flush()
        action = "boxoffice.user.created" if created else "boxoffice.user.password.changed"
        kernel.log_action(session, user, action, actor=actor)
        team_name = None
        if organizer is not None:
            team = session.scalar(select(Team).where(Team.organizer_id == organizer.id, Team.name == ADMIN_TEAM))
            if team is None:
                team = Team(
                    organizer=organizer,
                    name=ADMIN_TEAM,
                    all_events=True,
                    all_event_permissions=True,
                    all_organizer_permissions=True,
                )
                session.add(team)
            if user not in team.members:
                team.members.append(user)
                team_name = team.name
                session.flush()
                kernel.log_action(session, team, "boxoffice.team.member.added", actor=actor, data={"user": user.email})
        return UserChange(user_id=user.id, created=created, added_to_team=team_name)
