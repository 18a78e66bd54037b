"""Teams of an organizer with their permissions, members, pending invites and API tokens.

Everything here needs ``organizer.teams:write``, reading included: team data reveals who can do what. Like pretix,
the API does not stop callers from locking themselves out by changing or deleting their own team.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from boxoffice.apps.api.auth import EVENT_PERMISSIONS, ORGANIZER_PERMISSIONS
from boxoffice.apps.api.errors import FieldErrors, not_found
from boxoffice.apps.api.toolkit import Call, Page, in_call, possible_id, sent_fields
from boxoffice.kernel.models import Event, Organizer, Team, TeamAPIToken
from boxoffice.kernel.models.teams import TeamInvite, team_members
from boxoffice.kernel.models.users import User
from boxoffice.kernel.tokens import new_token, token_digest

PERMISSION = "organizer.teams:write"
TEAMS = "/api/v1/organizers/{organizer:str}/teams/"
TEAM = TEAMS + "{team_id:int}"
NAME_MAX = 190
EMAIL_MAX = 190
LIST_MAX = 1000
SLUG_MAX = 50
T = TypeVar("T")
EMAIL = re.compile(r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")

# The deprecated boolean flags, each standing for a group of today's permission names. Reading, a flag is true
# when the team holds every name of its group; writing true grants the group, writing false takes it away.
# Groups follow what the old flag used to allow (e.g. devices and seating plans were organizer settings).
LEGACY_FLAGS: dict[str, tuple[str, ...]] = {
    "can_create_events": ("organizer.events:create",),
    "can_change_teams": ("organizer.teams:write",),
    "can_change_organizer_settings": (
        "organizer.settings.general:write",
        "organizer.seatingplans:write",
        "organizer.devices:read",
        "organizer.devices:write",
    ),
    "can_manage_customers": ("organizer.customers:read", "organizer.customers:write"),
    "can_manage_reusable_media": ("organizer.reusablemedia:read", "organizer.reusablemedia:write"),
    "can_manage_gift_cards": ("organizer.giftcards:read", "organizer.giftcards:write"),
    "can_change_event_settings": (
        "event.settings.general:write",
        "event.settings.payment:write",
        "event.settings.tax:write",
        "event.settings.invoicing:write",
        "event.subevents:write",
    ),
    "can_change_items": ("event.items:write",),
    "can_view_orders": ("event.orders:read",),
    "can_change_orders": ("event.orders:write", "event:cancel"),
    "can_view_vouchers": ("event.vouchers:read",),
    "can_change_vouchers": ("event.vouchers:write",),
    "can_checkin_orders": ("event.orders:checkin",),
}


def text_problem(value: str, max_length: int) -> str | None:
    """Why a required single-line text is not acceptable (PostgreSQL cannot store NUL characters), or None."""
    if not value.strip():
        return "This field may not be blank."
    if len(value) > max_length:
        return f"Ensure this field has no more than {max_length} characters."
    if "\x00" in value:
        return "Null characters are not allowed."
    return None


def resolve_event_slugs(call: Call, organizer: Organizer, slugs: list[str]) -> tuple[list[Event], list[str]]:
    """The organizer's events named by ``slugs``, and the error messages for slugs that name none."""
    slugs = _dedupe(slugs)
    if len(slugs) > LIST_MAX:
        # Also keeps the IN list below the database's limit on bound parameters.
        return [], [f"Ensure this field has no more than {LIST_MAX} elements."]
    # Values no slug can have are not sent to the database (PostgreSQL refuses NUL characters outright).
    plausible = [slug for slug in slugs if len(slug) <= SLUG_MAX and "\x00" not in slug]
    if not plausible:
        events: list[Event] = []
    else:
        statement = select(Event).where(Event.organizer_id == organizer.id, Event.slug.in_(plausible))
        events = list(call.session.scalars(statement))
    found = {event.slug for event in events}
    shown = [slug if len(slug) <= SLUG_MAX else slug[:SLUG_MAX] + "…" for slug in slugs if slug not in found]
    return events, [f"Object with slug={slug} does not exist." for slug in shown]


def _scope_of(flag: str) -> str:
    return "organizer" if LEGACY_FLAGS[flag][0].startswith("organizer.") else "event"


# --- bodies -------------------------------------------------------------------------------------------------------


class TeamOut(msgspec.Struct):
    id: int
    name: str
    all_events: bool
    limit_events: list[str]
    require_2fa: bool
    all_event_permissions: bool
    limit_event_permissions: list[str]
    all_organizer_permissions: bool
    limit_organizer_permissions: list[str]
    can_create_events: bool
    can_change_teams: bool
    can_change_organizer_settings: bool
    can_manage_customers: bool
    can_manage_reusable_media: bool
    can_manage_gift_cards: bool
    can_change_event_settings: bool
    can_change_items: bool
    can_view_orders: bool
    can_change_orders: bool
    can_view_vouchers: bool
    can_change_vouchers: bool
    can_checkin_orders: bool


class TeamIn(msgspec.Struct):
    """Writable team fields. PATCH changes the fields sent; POST and PUT reset the others to their defaults."""

    name: str | msgspec.UnsetType = msgspec.UNSET
    all_events: bool | msgspec.UnsetType = msgspec.UNSET
    limit_events: list[str] | msgspec.UnsetType = msgspec.UNSET
    require_2fa: bool | msgspec.UnsetType = msgspec.UNSET
    all_event_permissions: bool | msgspec.UnsetType = msgspec.UNSET
    limit_event_permissions: list[str] | msgspec.UnsetType = msgspec.UNSET
    all_organizer_permissions: bool | msgspec.UnsetType = msgspec.UNSET
    limit_organizer_permissions: list[str] | msgspec.UnsetType = msgspec.UNSET
    can_create_events: bool | msgspec.UnsetType = msgspec.UNSET
    can_change_teams: bool | msgspec.UnsetType = msgspec.UNSET
    can_change_organizer_settings: bool | msgspec.UnsetType = msgspec.UNSET
    can_manage_customers: bool | msgspec.UnsetType = msgspec.UNSET
    can_manage_reusable_media: bool | msgspec.UnsetType = msgspec.UNSET
    can_manage_gift_cards: bool | msgspec.UnsetType = msgspec.UNSET
    can_change_event_settings: bool | msgspec.UnsetType = msgspec.UNSET
    can_change_items: bool | msgspec.UnsetType = msgspec.UNSET
    can_view_orders: bool | msgspec.UnsetType = msgspec.UNSET
    can_change_orders: bool | msgspec.UnsetType = msgspec.UNSET
    can_view_vouchers: bool | msgspec.UnsetType = msgspec.UNSET
    can_change_vouchers: bool | msgspec.UnsetType = msgspec.UNSET
    can_checkin_orders: bool | msgspec.UnsetType = msgspec.UNSET


class MemberOut(msgspec.Struct):
    id: int
    email: str
    fullname: str | None
    require_2fa: bool


class InviteOut(msgspec.Struct):
    """``id`` is left out when the address belonged to an existing user, who was added to the team directly."""

    email: str
    id: int | msgspec.UnsetType = msgspec.UNSET


class InviteIn(msgspec.Struct):
    email: str


class TokenOut(msgspec.Struct):
    id: int
    name: str
    active: bool


class TokenCreatedOut(msgspec.Struct):
    id: int
    name: str
    active: bool
    token: str


class TokenIn(msgspec.Struct):
    name: str


TEAM_DEFAULTS: dict[str, Any] = {
    "all_events": False,
    "limit_events": [],
    "require_2fa": False,
    "all_event_permissions": False,
    "limit_event_permissions": [],
    "all_organizer_permissions": False,
    "limit_organizer_permissions": [],
}


# --- teams --------------------------------------------------------------------------------------------------------


def _holds(team: Team, names: Iterable[str]) -> bool:
    for name in names:
        if name.startswith("organizer."):
            if not (team.all_organizer_permissions or name in (team.limit_organizer_permissions or ())):
                return False
        elif not (team.all_event_permissions or name in (team.limit_event_permissions or ())):
            return False
    return True


def serialize_team(team: Team) -> TeamOut:
    flags = {flag: _holds(team, names) for flag, names in LEGACY_FLAGS.items()}
    return TeamOut(
        id=team.id,
        name=team.name,
        all_events=team.all_events,
        limit_events=sorted(event.slug for event in team.limit_events),
        require_2fa=team.require_2fa,
        all_event_permissions=team.all_event_permissions,
        limit_event_permissions=list(team.limit_event_permissions or []),
        all_organizer_permissions=team.all_organizer_permissions,
        limit_organizer_permissions=list(team.limit_organizer_permissions or []),
        **flags,
    )


def _dedupe(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _check_permissions(values: list[str], known: tuple[str, ...], scope: str) -> list[str]:
    return [f"'{name}' is not a valid {scope} permission." for name in values if name not in known]


def _apply_legacy_flags(values: dict[str, Any], sent: dict[str, Any]) -> None:
    """Fold deprecated flags into the permission fields, for each scope whose new-style fields were not sent."""
    for scope, known in (("organizer", ORGANIZER_PERMISSIONS), ("event", EVENT_PERMISSIONS)):
        all_key, limit_key = f"all_{scope}_permissions", f"limit_{scope}_permissions"
        flags = {flag: sent[flag] for flag in LEGACY_FLAGS if flag in sent and _scope_of(flag) == scope}
        if not flags or all_key in sent or limit_key in sent:
            continue
        if values[all_key]:
            if all(flags.values()):
                continue
            # Taking one group away from "everything" leaves every other core name, listed explicitly.
            values[all_key] = False
            values[limit_key] = list(known)
        granted = list(values[limit_key])
        for flag, on in flags.items():
            names = LEGACY_FLAGS[flag]
            granted = _dedupe([*granted, *names]) if on else [name for name in granted if name not in names]
        values[limit_key] = granted


def _validated(call: Call, organizer: Organizer, base: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    """The team's new state from ``base`` (current values or defaults) and the fields sent; 400 on bad input."""
    errors: dict[str, list[str]] = {}
    values = {**base, **{key: value for key, value in sent.items() if key not in LEGACY_FLAGS}}
    name = values.get("name")
    if name is None:
        errors["name"] = ["This field is required."]
    elif problem := text_problem(name, NAME_MAX):
        errors["name"] = [problem]
    for scope, known in (("organizer", ORGANIZER_PERMISSIONS), ("event", EVENT_PERMISSIONS)):
        key = f"limit_{scope}_permissions"
        values[key] = _dedupe(values[key])
        problems = (
            [f"Ensure this field has no more than {LIST_MAX} elements."]
            if len(values[key]) > LIST_MAX
            else _check_permissions(values[key], known, scope)
        )
        if problems:
            errors[key] = problems
    events, problems = resolve_event_slugs(call, organizer, values["limit_events"])
    if problems:
        errors["limit_events"] = problems
    if errors:
        raise FieldErrors(errors)
    values["limit_events"] = events
    _apply_legacy_flags(values, sent)
    return values


def _get(call: Call, model: type[T], object_id: int, **scope: Any) -> T:
    if not possible_id(object_id):
        raise not_found()
    return call.get(model, object_id, **scope)


def _team(call: Call, organizer: str, team_id: int) -> Team:
    owner = call.organizer(organizer, PERMISSION)
    return _get(call, Team, team_id, organizer_id=owner.id)


def _state(team: Team) -> dict[str, Any]:
    return {
        "name": team.name,
        "all_events": team.all_events,
        "limit_events": [event.slug for event in team.limit_events],
        "require_2fa": team.require_2fa,
        "all_event_permissions": team.all_event_permissions,
        "limit_event_permissions": list(team.limit_event_permissions or []),
        "all_organizer_permissions": team.all_organizer_permissions,
        "limit_organizer_permissions": list(team.limit_organizer_permissions or []),
    }


def _write_team(call: Call, team: Team, values: dict[str, Any]) -> dict[str, Any]:
    """Apply validated values; returns the changed fields (JSON-able, events as slugs) for the audit log."""
    before = _state(team) if team.id is not None else {}
    for key, value in values.items():
        setattr(team, key, value)
    call.session.flush()
    after = _state(team)
    return {key: value for key, value in after.items() if before.get(key) != value}


def _load_limit_events(call: Call, teams: list[Team]) -> None:
    ids = [team.id for team in teams]
    if ids:
        list(call.session.scalars(select(Team).where(Team.id.in_(ids)).options(selectinload(Team.limit_events))))


@get(TEAMS, tags=["teams"])
async def list_teams(request: Request, organizer: FromPath[str]) -> Response[Page[TeamOut]]:
    """Teams of the organizer."""

    def work(call: Call) -> Page[TeamOut]:
        owner = call.organizer(organizer, PERMISSION)
        return call.paginate(
            select(Team).where(Team.organizer_id == owner.id),
            serialize_team,
            ordering={"id": Team.id, "name": Team.name},
            default_ordering=[Team.id],
            prepare=lambda rows: _load_limit_events(call, rows),
        )

    return await in_call(request, work)


@get(TEAM + "/", tags=["teams"])
async def get_team(request: Request, organizer: FromPath[str], team_id: FromPath[int]) -> Response[TeamOut]:
    """One team with its permissions (new-style lists and the deprecated boolean flags)."""
    return await in_call(request, lambda call: serialize_team(_team(call, organizer, team_id)))


@post(TEAMS, tags=["teams"], status_code=201)
async def create_team(request: Request, organizer: FromPath[str], data: JSONBody[TeamIn]) -> Response[TeamOut]:
    """Create a team. Permission names must be known ones; the deprecated flags are accepted as well."""

    def work(call: Call) -> TeamOut:
        owner = call.organizer(organizer, PERMISSION)
        values = _validated(call, owner, dict(TEAM_DEFAULTS), sent_fields(data))
        team = Team(organizer=owner, limit_events=[])
        call.session.add(team)
        changes = _write_team(call, team, values)
        call.log(team, "boxoffice.organizer.team.added", changes)
        return serialize_team(team)

    return await in_call(request, work, status_code=201)


def _update(call: Call, organizer: str, team_id: int, data: TeamIn, replace: bool) -> TeamOut:
    team = _team(call, organizer, team_id)
    base = {**_state(team), **TEAM_DEFAULTS} if replace else _state(team)
    if replace:
        base.pop("name")
    values = _validated(call, team.organizer, base, sent_fields(data))
    changes = _write_team(call, team, values)
    if changes:
        call.log(team, "boxoffice.organizer.team.changed", changes)
    return serialize_team(team)


@patch(TEAM + "/", tags=["teams"])
async def update_team(
    request: Request, organizer: FromPath[str], team_id: FromPath[int], data: JSONBody[TeamIn]
) -> Response[TeamOut]:
    """Change the fields sent."""
    return await in_call(request, lambda call: _update(call, organizer, team_id, data, replace=False))


@put(TEAM + "/", tags=["teams"])
async def replace_team(
    request: Request, organizer: FromPath[str], team_id: FromPath[int], data: JSONBody[TeamIn]
) -> Response[TeamOut]:
    """Replace the team: ``name`` is required, every other field left out is reset to its default."""
    return await in_call(request, lambda call: _update(call, organizer, team_id, data, replace=True))


@delete(TEAM + "/", tags=["teams"], status_code=204)
async def delete_team(request: Request, organizer: FromPath[str], team_id: FromPath[int]) -> Response[None]:
    """Delete a team together with its API tokens and pending invites."""

    def work(call: Call) -> None:
        team = _team(call, organizer, team_id)
        call.log(team, "boxoffice.organizer.team.deleted", {"name": team.name})
        call.session.delete(team)

    return await in_call(request, work, status_code=204)


# --- members ------------------------------------------------------------------------------------------------------


def _serialize_member(user: User) -> MemberOut:
    return MemberOut(id=user.id, email=user.email, fullname=user.fullname, require_2fa=user.require_2fa)


def _members(team: Team) -> Any:
    return select(User).join(team_members, team_members.c.user_id == User.id).where(team_members.c.team_id == team.id)


def _member(call: Call, team: Team, user_id: int) -> User:
    if not possible_id(user_id):
        raise not_found()
    user = call.session.scalar(_members(team).where(User.id == user_id))
    if user is None:
        raise not_found()
    return user


@get(TEAM + "/members/", tags=["teams"])
async def list_members(request: Request, organizer: FromPath[str], team_id: FromPath[int]) -> Response[Page[MemberOut]]:
    """Users who are members of the team."""

    def work(call: Call) -> Page[MemberOut]:
        team = _team(call, organizer, team_id)
        return call.paginate(_members(team), _serialize_member, default_ordering=[User.id])

    return await in_call(request, work)


@get(TEAM + "/members/{user_id:int}/", tags=["teams"])
async def get_member(
    request: Request, organizer: FromPath[str], team_id: FromPath[int], user_id: FromPath[int]
) -> Response[MemberOut]:
    """One member of the team (404 for users who are not members)."""
    return await in_call(
        request, lambda call: _serialize_member(_member(call, _team(call, organizer, team_id), user_id))
    )


@delete(TEAM + "/members/{user_id:int}/", tags=["teams"], status_code=204)
async def remove_member(
    request: Request, organizer: FromPath[str], team_id: FromPath[int], user_id: FromPath[int]
) -> Response[None]:
    """Remove a user from the team (the user account itself stays)."""

    def work(call: Call) -> None:
        team = _team(call, organizer, team_id)
        user = _member(call, team, user_id)
        team.members.remove(user)
        call.log(team, "boxoffice.organizer.team.member.deleted", {"id": user.id, "email": user.email})

    return await in_call(request, work, status_code=204)


# --- invites ------------------------------------------------------------------------------------------------------


def _serialize_invite(invite: TeamInvite) -> InviteOut:
    return InviteOut(id=invite.id, email=invite.email)


@get(TEAM + "/invites/", tags=["teams"])
async def list_invites(request: Request, organizer: FromPath[str], team_id: FromPath[int]) -> Response[Page[InviteOut]]:
    """Invitations of the team that have not been accepted yet."""

    def work(call: Call) -> Page[InviteOut]:
        team = _team(call, organizer, team_id)
        statement = select(TeamInvite).where(TeamInvite.team_id == team.id)
        return call.paginate(statement, _serialize_invite, default_ordering=[TeamInvite.id])

    return await in_call(request, work)


@get(TEAM + "/invites/{invite_id:int}/", tags=["teams"])
async def get_invite(
    request: Request, organizer: FromPath[str], team_id: FromPath[int], invite_id: FromPath[int]
) -> Response[InviteOut]:
    """One pending invitation."""

    def work(call: Call) -> InviteOut:
        team = _team(call, organizer, team_id)
        return _serialize_invite(_get(call, TeamInvite, invite_id, team_id=team.id))

    return await in_call(request, work)


@post(TEAM + "/invites/", tags=["teams"], status_code=201)
async def create_invite(
    request: Request, organizer: FromPath[str], team_id: FromPath[int], data: JSONBody[InviteIn]
) -> Response[InviteOut]:
    """Invite an e-mail address. An address that belongs to a user already adds that user to the team at once
    (the answer then has no ``id``, as there is no pending invitation)."""

    def work(call: Call) -> InviteOut:
        team = _team(call, organizer, team_id)
        email = data.email.strip()
        if len(email) > EMAIL_MAX or not EMAIL.match(email):
            raise FieldErrors.single("email", "Enter a valid email address.")
        user = call.session.scalar(select(User).where(func.lower(User.email) == email.lower()))
        if user is not None:
            if call.session.scalar(_members(team).where(User.id == user.id)) is not None:
                raise FieldErrors.single("email", "This user already is a member of this team.")
            team.members.append(user)
            call.log(team, "boxoffice.organizer.team.member.added", {"id": user.id, "email": user.email})
            return InviteOut(email=user.email)
        exists = call.session.scalar(
            select(TeamInvite.id).where(TeamInvite.team_id == team.id, func.lower(TeamInvite.email) == email.lower())
        )
        if exists is not None:
            raise FieldErrors.single("email", "This user already has been invited for this team.")
        # The secret is for the acceptance link of the web UI, which sends the invitation e-mail.
        invite = TeamInvite(team=team, email=email, token_digest=token_digest(new_token(32)))
        call.session.add(invite)
        call.session.flush()
        call.log(team, "boxoffice.organizer.team.invite.added", {"id": invite.id, "email": email})
        return _serialize_invite(invite)

    return await in_call(request, work, status_code=201)


@delete(TEAM + "/invites/{invite_id:int}/", tags=["teams"], status_code=204)
async def delete_invite(
    request: Request, organizer: FromPath[str], team_id: FromPath[int], invite_id: FromPath[int]
) -> Response[None]:
    """Withdraw a pending invitation."""

    def work(call: Call) -> None:
        team = _team(call, organizer, team_id)
        invite = _get(call, TeamInvite, invite_id, team_id=team.id)
        call.log(team, "boxoffice.organizer.team.invite.deleted", {"id": invite.id, "email": invite.email})
        call.session.delete(invite)

    return await in_call(request, work, status_code=204)


# --- API tokens ---------------------------------------------------------------------------------------------------


def _serialize_token(token: TeamAPIToken) -> TokenOut:
    return TokenOut(id=token.id, name=token.name, active=token.active)


@get(TEAM + "/tokens/", tags=["teams"])
async def list_tokens(request: Request, organizer: FromPath[str], team_id: FromPath[int]) -> Response[Page[TokenOut]]:
    """API tokens of the team, active and deactivated; secrets are never shown again."""

    def work(call: Call) -> Page[TokenOut]:
        team = _team(call, organizer, team_id)
        statement = select(TeamAPIToken).where(TeamAPIToken.team_id == team.id)
        return call.paginate(statement, _serialize_token, default_ordering=[TeamAPIToken.id])

    return await in_call(request, work)


@get(TEAM + "/tokens/{token_id:int}/", tags=["teams"])
async def get_token(
    request: Request, organizer: FromPath[str], team_id: FromPath[int], token_id: FromPath[int]
) -> Response[TokenOut]:
    """One API token (without its secret)."""

    def work(call: Call) -> TokenOut:
        team = _team(call, organizer, team_id)
        return _serialize_token(_get(call, TeamAPIToken, token_id, team_id=team.id))

    return await in_call(request, work)


@post(TEAM + "/tokens/", tags=["teams"], status_code=201)
async def create_token(
    request: Request, organizer: FromPath[str], team_id: FromPath[int], data: JSONBody[TokenIn]
) -> Response[TokenCreatedOut]:
    """Create an API token for the team. The answer holds the secret ``token``: the only time it is shown."""

    def work(call: Call) -> TokenCreatedOut:
        team = _team(call, organizer, team_id)
        name = data.name.strip()
        if problem := text_problem(name, NAME_MAX):
            raise FieldErrors.single("name", problem)
        secret = new_token()
        token = TeamAPIToken(team=team, name=name, token_digest=token_digest(secret))
        call.session.add(token)
        call.session.flush()
        call.log(team, "boxoffice.organizer.team.token.added", {"id": token.id, "name": name})
        return TokenCreatedOut(id=token.id, name=token.name, active=token.active, token=secret)

    return await in_call(request, work, status_code=201)


@delete(TEAM + "/tokens/{token_id:int}/", tags=["teams"], status_code=200)
async def deactivate_token(
    request: Request, organizer: FromPath[str], team_id: FromPath[int], token_id: FromPath[int]
) -> Response[TokenOut]:
    """Deactivate an API token for good (it cannot be activated again); answers with the token."""

    def work(call: Call) -> TokenOut:
        team = _team(call, organizer, team_id)
        token = _get(call, TeamAPIToken, token_id, team_id=team.id)
        if token.active:
            token.active = False
            call.log(team, "boxoffice.organizer.team.token.deleted", {"id": token.id, "name": token.name})
        return _serialize_token(token)

    return await in_call(request, work)


ROUTES = [
    list_teams,
    get_team,
    create_team,
    update_team,
    replace_team,
    delete_team,
    list_members,
    get_member,
    remove_member,
    list_invites,
    get_invite,
    create_invite,
    delete_invite,
    list_tokens,
    get_token,
    create_token,
    deactivate_token,
]
