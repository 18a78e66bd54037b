"""The ``webhooks`` resource (pretix's shape) under ``/api/v1/organizers/{organizer}/``: list (``?enabled=``),
fetch, create, change (PATCH/PUT), "delete" (which only disables), and ``webhooks/{id}/calls/`` — the call log.

Built on the API toolkit like core resources: ``in_call`` runs each request in one unit of work, the ``Call``
checks the organizer and the permission, paginates and audit-logs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import msgspec
from litestar import Request, Response, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody
from sqlalchemy import select

from boxoffice.apps.api.errors import Problems
from boxoffice.apps.api.toolkit import Call, Page, in_call, parse_bool, sent_fields
from boxoffice.kernel.models import Event, Organizer
from boxoffice.plugins.webhooks.delivery import ACTION_TYPES, forget_webhooks
from boxoffice.plugins.webhooks.models import Webhook, WebhookCall

PERMISSION = "organizer.settings.general:write"
URL_MAX = 255


class WebhookOut(msgspec.Struct):
    id: int
    enabled: bool
    target_url: str
    all_events: bool
    limit_events: list[str]
    action_types: list[str]
    comment: str | None


class WebhookIn(msgspec.Struct):
    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    target_url: str | msgspec.UnsetType = msgspec.UNSET
    all_events: bool | msgspec.UnsetType = msgspec.UNSET
    limit_events: list[str] | msgspec.UnsetType = msgspec.UNSET
    action_types: list[str] | msgspec.UnsetType = msgspec.UNSET
    comment: str | msgspec.UnsetType | None = msgspec.UNSET


class CallOut(msgspec.Struct):
    id: int
    datetime: datetime
    target_url: str
    action_type: str
    is_retry: bool
    execution_time: float | None
    return_code: int
    success: bool
    payload: dict[str, Any]
    response_body: str
    outbound_entry: int | None


def serialize(hook: Webhook) -> WebhookOut:
    return WebhookOut(
        id=hook.id,
        enabled=hook.enabled,
        target_url=hook.target_url,
        all_events=hook.all_events,
        limit_events=list(hook.limit_events or []),
        action_types=list(hook.action_types or []),
        comment=hook.comment,
    )


def _call_out(call: WebhookCall) -> CallOut:
    return CallOut(
        id=call.id,
        datetime=call.datetime,
        target_url=call.target_url,
        action_type=call.action_type,
        is_retry=call.is_retry,
        execution_time=call.execution_time,
        return_code=call.return_code,
        success=call.success,
        payload=call.payload,
        response_body=call.response_body,
        outbound_entry=call.entry_id,
    )


def _webhook(call: Call, organizer: Organizer, webhook_id: int) -> Webhook:
    return call.get(Webhook, webhook_id, organizer_id=organizer.id)


def _validate(call: Call, organizer: Organizer, values: dict[str, Any]) -> dict[str, Any]:
    problems = Problems()
    url = values.get("target_url")
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.add("target_url", "Enter a valid URL.")
        elif len(url) > URL_MAX:
            problems.add("target_url", f"Ensure this field has no more than {URL_MAX} characters.")
    for action in values.get("action_types") or []:
        if action not in ACTION_TYPES:
            problems.add("action_types", f'"{action}" is not a valid choice.')
    slugs = values.get("limit_events") or []
    if slugs:
        known = set(
            call.session.scalars(select(Event.slug).where(Event.organizer_id == organizer.id, Event.slug.in_(slugs)))
        )
        for slug in slugs:
            if slug not in known:
                problems.add("limit_events", f"Object with slug={slug} does not exist.")
    problems.raise_if_any()
    return values


@get("/webhooks/")
async def list_webhooks(request: Request, organizer_slug: FromPath[str]) -> Response[Page[WebhookOut]]:
    """The organizer's webhooks; ``?enabled=true|false`` filters."""

    def work(call: Call) -> Page[WebhookOut]:
        organizer = call.organizer(organizer_slug, PERMISSION)
        statement = select(Webhook).where(Webhook.organizer_id == organizer.id)
        enabled = parse_bool(call.query, "enabled")
        if enabled is not None:
            statement = statement.where(Webhook.enabled.is_(enabled))
        return call.paginate(statement, serialize, ordering={"id": Webhook.id}, default_ordering=[Webhook.id])

    return await in_call(request, work)


@get("/webhooks/{webhook_id:int}/")
async def get_webhook(
    request: Request, organizer_slug: FromPath[str], webhook_id: FromPath[int]
) -> Response[WebhookOut]:
    """One webhook."""
    return await in_call(
        request, lambda call: serialize(_webhook(call, call.organizer(organizer_slug, PERMISSION), webhook_id))
    )


@post("/webhooks/", status_code=201)
async def create_webhook(
    request: Request, organizer_slug: FromPath[str], data: JSONBody[WebhookIn]
) -> Response[WebhookOut]:
    """Create a webhook; ``target_url`` and ``action_types`` are required."""

    def work(call: Call) -> WebhookOut:
        organizer = call.organizer(organizer_slug, PERMISSION)
        sent = sent_fields(data)
        problems = Problems()
        for required in ("target_url", "action_types"):
            if required not in sent:
                problems.add(required, "This field is required.")
        problems.raise_if_any()
        values = _validate(call, organizer, {"enabled": True, "all_events": True, "limit_events": [], **sent})
        hook = Webhook(organizer_id=organizer.id, **values)
        call.session.add(hook)
        call.session.flush()
        forget_webhooks(call.session)
        call.log(organizer, "boxoffice.webhook.created", {"webhook": hook.id, **msgspec.to_builtins(values)})
        return serialize(hook)

    return await in_call(request, work, status_code=201)


def _update(call: Call, organizer_slug: str, webhook_id: int, data: WebhookIn, *, full: bool) -> WebhookOut:
    organizer = call.organizer(organizer_slug, PERMISSION)
    hook = _webhook(call, organizer, webhook_id)
    sent = sent_fields(data)
    if full:
        sent = {"enabled": True, "all_events": True, "limit_events": [], "comment": None, **sent}
        problems = Problems()
        for required in ("target_url", "action_types"):
            if required not in sent:
                problems.add(required, "This field is required.")
        problems.raise_if_any()
    values = _validate(call, organizer, sent)
    changed = {key: value for key, value in values.items() if getattr(hook, key) != value}
    for key, value in changed.items():
        setattr(hook, key, value)
    if changed:
        call.session.flush()
        forget_webhooks(call.session)
        call.log(organizer, "boxoffice.webhook.changed", {"webhook": hook.id, **msgspec.to_builtins(changed)})
    return serialize(hook)


@patch("/webhooks/{webhook_id:int}/")
async def patch_webhook(
    request: Request, organizer_slug: FromPath[str], webhook_id: FromPath[int], data: JSONBody[WebhookIn]
) -> Response[WebhookOut]:
    """Change the fields sent."""
    return await in_call(request, lambda call: _update(call, organizer_slug, webhook_id, data, full=False))


@put("/webhooks/{webhook_id:int}/")
async def put_webhook(
    request: Request, organizer_slug: FromPath[str], webhook_id: FromPath[int], data: JSONBody[WebhookIn]
) -> Response[WebhookOut]:
    """Replace the webhook's fields (those not sent get their defaults)."""
    return await in_call(request, lambda call: _update(call, organizer_slug, webhook_id, data, full=True))


@delete(["/webhooks/{webhook_id:int}/", "/webhook/{webhook_id:int}/"], status_code=204)
async def delete_webhook(request: Request, organizer_slug: FromPath[str], webhook_id: FromPath[int]) -> Response[None]:
    """Disable the webhook (it stays listed, with its call log, as pretix keeps it). pretix documents this call
    with the singular ``webhook/`` segment, so that path answers too."""

    def work(call: Call) -> None:
        organizer = call.organizer(organizer_slug, PERMISSION)
        hook = _webhook(call, organizer, webhook_id)
        if hook.enabled:
            hook.enabled = False
            forget_webhooks(call.session)
            call.log(organizer, "boxoffice.webhook.disabled", {"webhook": hook.id})

    return await in_call(request, work, status_code=204)


@get("/webhooks/{webhook_id:int}/calls/")
async def list_calls(
    request: Request, organizer_slug: FromPath[str], webhook_id: FromPath[int]
) -> Response[Page[CallOut]]:
    """The webhook's calls of the last 30 days, newest first (``?success=true|false`` filters)."""

    def work(call: Call) -> Page[CallOut]:
        hook = _webhook(call, call.organizer(organizer_slug, PERMISSION), webhook_id)
        statement = select(WebhookCall).where(WebhookCall.webhook_id == hook.id)
        success = parse_bool(call.query, "success")
        if success is not None:
            statement = statement.where(WebhookCall.success.is_(success))
        return call.paginate(statement, _call_out, default_ordering=[WebhookCall.id.desc()])

    return await in_call(request, work)


ORGANIZER_ROUTES = [
    list_webhooks,
    get_webhook,
    create_webhook,
    patch_webhook,
    put_webhook,
    delete_webhook,
    list_calls,
]
