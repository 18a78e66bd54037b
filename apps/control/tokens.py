"""API tokens for an organizer's teams (what the REST API authenticates with); the secret is shown once."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from boxoffice.apps.control.auth import Viewer, organizer_in_scope
from boxoffice.apps.control.pages import form_data, in_db, page, page_from_db
from boxoffice.apps.web import request_kernel
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.i18n import gettext as _
from boxoffice.kernel.models import Team, TeamAPIToken
from boxoffice.kernel.tokens import new_token, token_digest

TEAMS_PERMISSION = "organizer.teams:write"
NAME_MAX = 190


def _teams(
    session: Session, kernel: Kernel, viewer: Viewer, organizer: str, created: tuple[int, str] | None = None
) -> dict[str, Any]:
    found, _principal = organizer_in_scope(session, viewer, organizer, TEAMS_PERMISSION)
    teams = session.scalars(
        select(Team).where(Team.organizer_id == found.id).order_by(Team.name).options(selectinload(Team.tokens))
    ).all()
    return {
        "viewer": viewer,
        "organizer": {"slug": found.slug, "name": found.name},
        "teams": [
            {
                "id": team.id,
                "name": team.name,
                "tokens": [
                    {"name": token.name, "active": token.active, "created": token.created} for token in team.tokens
                ],
            }
            for team in teams
        ],
        "created": created,
    }


def _create(
    session: Session, kernel: Kernel, viewer: Viewer, organizer: str, team_id: str, name: str
) -> tuple[dict[str, Any], dict[str, str]]:
    found, _principal = organizer_in_scope(session, viewer, organizer, TEAMS_PERMISSION)
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        return _teams(session, kernel, viewer, organizer), {"name": _("Enter a name of at most 190 characters.")}
    team = (
        session.scalar(select(Team).where(Team.organizer_id == found.id, Team.id == int(team_id)))
        if team_id.isdigit() and int(team_id) < 2**31
        else None
    )
    if team is None:
        raise NotFoundException()
    secret = new_token()
    token = TeamAPIToken(team=team, name=name, token_digest=token_digest(secret))
    session.add(token)
    session.flush()
    kernel.log_action(
        session, team, "boxoffice.organizer.team.token.added", actor=viewer.actor, data={"id": token.id, "name": name}
    )
    return _teams(session, kernel, viewer, organizer, created=(team.id, secret)), {}


@get("/organizer/{organizer:str}/tokens")
async def token_list(request: Request, viewer: NamedDependency[Viewer], organizer: FromPath[str]) -> Template:
    return await page_from_db(request, "tokens.html", _teams, viewer, organizer)


@post("/organizer/{organizer:str}/tokens")
async def token_create(request: Request, viewer: NamedDependency[Viewer], organizer: FromPath[str]) -> Template:
    """Create a token; the answer is the page itself (not a redirect) because the secret is shown only now."""
    form = await form_data(request)
    context, errors = await in_db(
        request,
        _create,
        request_kernel(request),
        viewer,
        organizer,
        str(form.get("team") or ""),
        str(form.get("name") or ""),
    )
    return page(request, "tokens.html", status_code=400 if errors else 201, errors=errors, **context)


ROUTES: list[Any] = [token_list, token_create]
