"""Revoked and blocked ticket secrets: what offline scanners sync to refuse replaced or blocked tickets. Both lists
send ``X-Page-Generated`` to pass back as ``created_since`` / ``updated_since`` on the next poll."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Request, Response, get
from litestar.params import FromPath
from sqlalchemy import select

from boxoffice.apps.api.resources.orders import event_ids, list_last_modified, page_generated, require_read
from boxoffice.apps.api.toolkit import Call, Page, in_call, parse_bool, parse_datetime_param
from boxoffice.kernel.models.orders import BlockedSecret, RevokedSecret

EVENT_BASE = "/api/v1/organizers/{organizer:str}/events/{event:str}/"


class RevokedSecretOut(msgspec.Struct):
    id: int
    secret: str
    created: datetime


class BlockedSecretOut(msgspec.Struct):
    id: int
    secret: str
    blocked: bool
    updated: datetime


@get(EVENT_BASE + "revokedsecrets/", tags=["orders"])
async def list_revoked_secrets(
    request: Request, organizer: FromPath[str], event: FromPath[str]
) -> Response[Page[RevokedSecretOut]]:
    """Ticket secrets that were replaced, newest first (``ordering``: ``secret``, ``created``); ``created_since``
    returns only revocations from that moment on."""

    def work(call: Call) -> Page[RevokedSecretOut]:
        page_generated(call)
        target = call.event(organizer, event)
        require_read(call)
        list_last_modified(
            call,
            event_ids(call, target.organizer_id, target.id),
            stamp=RevokedSecret.created,
            event_column=RevokedSecret.event_id,
        )
        statement = select(RevokedSecret).where(RevokedSecret.event_id == target.id)
        if (since := parse_datetime_param(call.query, "created_since")) is not None:
            statement = statement.where(RevokedSecret.created >= since)
        return call.paginate(
            statement,
            lambda row: RevokedSecretOut(id=row.id, secret=row.secret, created=row.created),
            ordering={"secret": RevokedSecret.secret, "created": RevokedSecret.created},
            default_ordering=[RevokedSecret.created.desc(), RevokedSecret.id.desc()],
        )

    return await in_call(request, work)


@get(EVENT_BASE + "blockedsecrets/", tags=["orders"])
async def list_blocked_secrets(
    request: Request, organizer: FromPath[str], event: FromPath[str]
) -> Response[Page[BlockedSecretOut]]:
    """Ticket secrets that are or were blocked, most recently updated first; ``blocked`` tells the current state,
    ``updated_since`` returns only records changed from that moment on."""

    def work(call: Call) -> Page[BlockedSecretOut]:
        page_generated(call)
        target = call.event(organizer, event)
        require_read(call)
        list_last_modified(
            call,
            event_ids(call, target.organizer_id, target.id),
            stamp=BlockedSecret.updated,
            event_column=BlockedSecret.event_id,
        )
        statement = select(BlockedSecret).where(BlockedSecret.event_id == target.id)
        if (since := parse_datetime_param(call.query, "updated_since")) is not None:
            statement = statement.where(BlockedSecret.updated >= since)
        if (blocked := parse_bool(call.query, "blocked")) is not None:
            statement = statement.where(BlockedSecret.blocked.is_(blocked))
        return call.paginate(
            statement,
            lambda row: BlockedSecretOut(id=row.id, secret=row.secret, blocked=row.blocked, updated=row.updated),
            default_ordering=[BlockedSecret.updated.desc(), BlockedSecret.id.desc()],
        )

    return await in_call(request, work)


ROUTES = [list_revoked_secrets, list_blocked_secrets]
