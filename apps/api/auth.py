"""Who is calling: team API tokens (``Authorization: Token …``) and devices (``Authorization: Device …``).

A :class:`Principal` carries the organizer the credentials belong to and the permissions they grant; every
endpoint checks it through :mod:`boxoffice.apps.api.scope`.

Resolved credentials are cached per process for a few seconds (:data:`CACHE_SECONDS`): a rush of buyers must not
cost three lookups per request. Any change to teams, tokens or devices made through the ORM clears the cache of
the process that made it at once; other worker processes see it when their entry expires.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, selectinload

from boxoffice.apps.api.errors import ApiError
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.models import Team, TeamAPIToken
from boxoffice.kernel.models.devices import Device
from boxoffice.kernel.tokens import token_digest

ORGANIZER_PERMISSIONS = (
    "organizer.events:create",
    "organizer.settings.general:write",
    "organizer.teams:write",
    "organizer.seatingplans:write",
    "organizer.giftcards:read",
    "organizer.giftcards:write",
    "organizer.customers:read",
    "organizer.customers:write",
    "organizer.reusablemedia:read",
    "organizer.reusablemedia:write",
    "organizer.devices:read",
    "organizer.devices:write",
    "organizer.outgoingmails:read",
)
EVENT_PERMISSIONS = (
    "event.settings.general:write",
    "event.settings.payment:write",
    "event.settings.tax:write",
    "event.settings.invoicing:write",
    "event.subevents:write",
    "event.items:write",
    "event.orders:read",
    "event.orders:write",
    "event.orders:checkin",
    "event.vouchers:read",
    "event.vouchers:write",
    "event:cancel",
)
# Devices read event data and products and work with orders; they never change events or products.
DEVICE_EVENT_PERMISSIONS = frozenset(
    {"event.orders:read", "event.orders:write", "event.orders:checkin", "event.vouchers:read"}
)
DEVICE_ORGANIZER_PERMISSIONS = frozenset(
    {
        "organizer.giftcards:read",
        "organizer.giftcards:write",
        "organizer.reusablemedia:read",
        "organizer.reusablemedia:write",
    }
)

NOT_PROVIDED = "Authentication credentials were not provided."
INVALID = "Invalid token."


@dataclass(frozen=True)
class Principal:
    organizer_id: int
    actor: Actor
    all_events: bool
    event_ids: frozenset[int]
    all_event_permissions: bool
    event_permissions: frozenset[str]
    all_organizer_permissions: bool
    organizer_permissions: frozenset[str]
    team_id: int | None = None
    device_pk: int | None = None

    @property
    def is_device(self) -> bool:
        return self.device_pk is not None

    def can_see_event(self, event_id: int) -> bool:
        return self.all_events or event_id in self.event_ids

    def has_event_permission(self, permission: str) -> bool:
        return self.all_event_permissions or permission in self.event_permissions

    def has_organizer_permission(self, permission: str) -> bool:
        return self.all_organizer_permissions or permission in self.organizer_permissions


def credentials_key(authorization: str | None, cookie: str | None) -> str:
    """A stable, non-secret key for the credentials of a request (idempotency keys and uploads are scoped by it)."""
    return hashlib.sha256(f"{authorization or ''}\x00{cookie or ''}".encode()).hexdigest()


def _team_principal(team: Team, token: TeamAPIToken) -> Principal:
    return Principal(
        organizer_id=team.organizer_id,
        actor=Actor("token", str(token.id)),
        all_events=team.all_events,
        event_ids=frozenset(event.id for event in team.limit_events),
        all_event_permissions=team.all_event_permissions,
        event_permissions=frozenset(team.limit_event_permissions or ()),
        all_organizer_permissions=team.all_organizer_permissions,
        organizer_permissions=frozenset(team.limit_organizer_permissions or ()),
        team_id=team.id,
    )


def device_principal(device: Device) -> Principal:
    return Principal(
        organizer_id=device.organizer_id,
        actor=Actor("device", str(device.id)),
        all_events=device.all_events,
        event_ids=frozenset(event.id for event in device.limit_events),
        all_event_permissions=False,
        event_permissions=DEVICE_EVENT_PERMISSIONS,
        all_organizer_permissions=False,
        organizer_permissions=DEVICE_ORGANIZER_PERMISSIONS,
        device_pk=device.id,
    )


def parse_authorization(header: str | None) -> tuple[str, str]:
    if not header or not header.strip():
        raise ApiError(401, NOT_PROVIDED, {"WWW-Authenticate": "Token"})
    scheme, _, credential = header.strip().partition(" ")
    credential = credential.strip()
    if not credential or " " in credential:
        raise ApiError(401, INVALID, {"WWW-Authenticate": "Token"})
    return scheme.lower(), credential


CACHE_SECONDS = 5.0
CACHE_SIZE = 10_000


class PrincipalCache:
    """Credentials already resolved by this process, each for :data:`CACHE_SECONDS`."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> Principal | None:
        found = self._entries.get(key)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, key: tuple[str, str], principal: Principal) -> None:
        with self._lock:
            if len(self._entries) >= CACHE_SIZE:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + CACHE_SECONDS, principal)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


principals = PrincipalCache()
CREDENTIAL_MODELS = (Team, TeamAPIToken, Device)


@event.listens_for(Session, "after_flush")
def _forget_changed_credentials(session: Session, _context: Any) -> None:
    if any(isinstance(obj, CREDENTIAL_MODELS) for obj in (*session.new, *session.dirty, *session.deleted)):
        principals.clear()


def authenticate(session: Session, header: str | None) -> Principal:
    """Resolve the ``Authorization`` header; 401 with pretix's messages when it is missing or wrong."""
    scheme, credential = parse_authorization(header)
    digest = token_digest(credential)
    cached = principals.get((scheme, digest))
    if cached is not None:
        return cached
    principal = _lookup(session, scheme, digest)
    principals.put((scheme, digest), principal)
    return principal


def _lookup(session: Session, scheme: str, digest: str) -> Principal:
    if scheme == "token":
        token = session.scalar(
            select(TeamAPIToken)
            .where(TeamAPIToken.token_digest == digest, TeamAPIToken.active.is_(True))
            .options(selectinload(TeamAPIToken.team).selectinload(Team.limit_events))
        )
        if token is not None:
            return _team_principal(token.team, token)
    elif scheme == "device":
        device = session.scalar(
            select(Device)
            .where(Device.api_token_digest == digest, Device.revoked.is_(False))
            .options(selectinload(Device.limit_events))
        )
        if device is not None:
            return device_principal(device)
    raise ApiError(401, INVALID, {"WWW-Authenticate": "Token"})
