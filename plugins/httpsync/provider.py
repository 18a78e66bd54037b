"""The HTTP JSON sync provider: an upsert per mapped object, reading the remote fields first so the update modes
(``if_new``, ``if_empty``, ``append``) see what is there and unchanged objects are not written again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy.orm import object_session

from boxoffice.hookspecs.providers import (
    OutboundSyncProvider,
    PropertyMapping,
    RecoverableSyncError,
    StaticMapping,
    SyncConfigError,
    UnrecoverableSyncError,
    assign_properties,
)
from boxoffice.kernel.core import kernel_of
from boxoffice.kernel.outbound.datasync import stored_mappings

IDENTIFIER = "httpsync"
TIMEOUT_SECONDS = 30

# Used until the organizer configures mappings: one object per order.
DEFAULT_MAPPINGS = [
    StaticMapping(
        id="order",
        source_model="Order",
        external_object_type="orders",
        source_id_field="event_order_code",
        external_id_field="code",
        property_mappings=[
            PropertyMapping("email", "email"),
            PropertyMapping("order_total", "total"),
            PropertyMapping(
                "order_status",
                "status",
                value_map={"n": "pending", "p": "paid", "e": "expired", "c": "canceled"},
            ),
            PropertyMapping("event_slug", "event"),
        ],
    )
]


class HttpJsonSync(OutboundSyncProvider):
    identifier = IDENTIFIER
    list_field_joiner = None  # JSON carries lists as lists

    def __init__(self, event: Any) -> None:
        super().__init__(event)
        session = object_session(event)
        if session is None:
            raise ValueError("HttpJsonSync needs an event loaded in a session")
        settings = kernel_of(session).settings_for(session, event=event)
        self.endpoint = str(settings.get("httpsync_endpoint") or "").rstrip("/")
        self.headers: dict[str, str] = {}
        header = str(settings.get("httpsync_auth_header") or "")
        if header:
            name, _, value = header.partition(":")
            self.headers[name.strip()] = value.strip()
        self._mappings: list[StaticMapping] = stored_mappings(session, event, IDENTIFIER) or DEFAULT_MAPPINGS
        self._client: httpx.Client | None = None

    @property
    def display_name(self) -> str:
        return "HTTP JSON API"

    @property
    def mappings(self) -> Sequence[StaticMapping]:
        return self._mappings

    @property
    def client(self) -> httpx.Client:
        if not self.endpoint:
            raise SyncConfigError("No endpoint is configured (setting httpsync_endpoint).")
        if self._client is None:
            self._client = httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False, headers=self.headers)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.client.request(method, url, **kwargs)
        except httpx.HTTPError as error:
            raise RecoverableSyncError(f"{method} {url} failed: {type(error).__name__}: {error}") from None
        if response.status_code in (401, 403):
            raise SyncConfigError(f"The API refused the credentials (HTTP {response.status_code}).", response.text)
        if response.status_code == 429 or response.status_code >= 500:
            raise RecoverableSyncError(f"{method} {url}: HTTP {response.status_code}", response.text[:2000])
        if response.status_code >= 400 and response.status_code != 404:
            raise UnrecoverableSyncError(f"{method} {url}: HTTP {response.status_code}", response.text[:2000])
        return response

    def sync_object_with_properties(
        self,
        external_id_field: str,
        id_value: Any,
        properties: list[tuple[str, Any, str]],
        inputs: dict[str, Any],
        mapping: Any,
        mapped_objects: dict[Any, list[Any]],
    ) -> dict[str, Any] | None:
        url = f"{self.endpoint}/{quote(mapping.external_object_type, safe='')}/{quote(str(id_value), safe='')}"
        current = self._request("GET", url)
        is_new = current.status_code == 404
        old = {} if is_new else current.json()
        changes = assign_properties(properties, old, is_new, self.list_field_joiner)
        related = {
            str(key): [result["id_value"] for result in results]
            for key, results in mapped_objects.items()
            if results and key != mapping.id
        }
        if related and old.get("related") != related:
            changes["related"] = related
        result = {
            "object_type": mapping.external_object_type,
            "external_id_field": external_id_field,
            "id_value": id_value,
            "external_link_href": url,
            "external_link_display_name": f"{mapping.external_object_type} {id_value}",
        }
        if not is_new and not changes:
            return {**result, "action": "nothing_to_do"}
        body = {**{k: v for k, v in old.items()}, **changes, external_id_field: id_value}
        self._request("PUT", url, json=body)
        return {**result, "action": "created" if is_new else "updated"}
