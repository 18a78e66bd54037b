"""ASGI middleware for the REST API: language negotiation, conditional GET (``ETag``/``If-None-Match``,
``Last-Modified``/``If-Modified-Since`` → 304) and ``X-Idempotency-Key`` replay for unsafe methods."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from litestar.concurrency import sync_to_thread
from litestar.datastructures import Headers
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy.exc import IntegrityError

from boxoffice.apps.api.auth import credentials_key
from boxoffice.apps.api.errors import NON_FIELD, insert_error
from boxoffice.kernel import clock
from boxoffice.kernel.i18n import use_locale
from boxoffice.kernel.models.api_state import IdempotencyKey

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Responses that mean "try again": not remembered, so a retry with the same key runs anew.
NOT_STORED = frozenset({409, 429, 500, 503})
KEY_LIFETIME = timedelta(hours=24)


def _kernel(scope: Scope) -> Kernel:
    return scope["litestar_app"].state.kernel


class _Captured:
    """Collects a downstream response so it can be inspected or stored before it is sent."""

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body.extend(message.get("body", b""))

    def header(self, name: bytes) -> str | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value.decode("latin-1")
        return None


async def _send_response(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _json_error(status: int, detail: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    return status, [(b"content-type", b"application/json")], json.dumps({"detail": detail}).encode()


def locale_middleware(app: ASGIApp) -> ASGIApp:
    """Negotiate the response language from ``Accept-Language`` for everything the request renders."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        i18n = _kernel(scope).i18n
        locale = i18n.negotiate(Headers.from_scope(scope).get("accept-language"))

        async def send_with_language(message: Message) -> None:
            # Web pages choose their own language (``?lang=`` and the cookie win over Accept-Language) and say so.
            headers = message.get("headers", []) if message["type"] == "http.response.start" else None
            if headers is not None and not any(name.lower() == b"content-language" for name, _ in headers):
                message["headers"] = [*headers, (b"content-language", locale.encode())]
            await send(message)

        with use_locale(locale, i18n):
            await app(scope, receive, send_with_language)

    return middleware


def _etag_matches(header: str, etag: str) -> bool:
    candidates = [part.strip() for part in header.split(",")]
    bare = etag.removeprefix("W/")
    return "*" in candidates or any(candidate.removeprefix("W/") == bare for candidate in candidates)


def _not_modified_since(header: str, last_modified: str) -> bool:
    try:
        return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return False


def conditional_get_middleware(app: ASGIApp) -> ASGIApp:
    """Tag successful GET responses with a weak ``ETag`` and answer revalidations with ``304 Not Modified``."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await app(scope, receive, send)
            return
        captured = _Captured()
        await app(scope, receive, captured)
        if captured.status != 200:
            await _send_response(send, captured.status, captured.headers, bytes(captured.body))
            return
        etag = f'W/"{hashlib.blake2b(bytes(captured.body), digest_size=16).hexdigest()}"'
        headers = [*captured.headers, (b"etag", etag.encode())]
        request_headers = Headers.from_scope(scope)
        if_none_match = request_headers.get("if-none-match")
        if_modified_since = request_headers.get("if-modified-since")
        last_modified = captured.header(b"last-modified")
        if if_none_match is not None:
            not_modified = _etag_matches(if_none_match, etag)
        else:
            not_modified = bool(if_modified_since and last_modified) and _not_modified_since(
                if_modified_since or "", last_modified or ""
            )
        if not_modified:
            kept = [(k, v) for k, v in headers if k.lower() in (b"etag", b"last-modified", b"content-language")]
            await _send_response(send, 304, kept, b"")
            return
        await _send_response(send, 200, headers, bytes(captured.body))

    return middleware


def idempotency_middleware(app: ASGIApp) -> ASGIApp:
    """Replay the stored response for a repeated ``X-Idempotency-Key`` from the same credentials."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE_METHODS:
            await app(scope, receive, send)
            return
        headers = Headers.from_scope(scope)
        key = headers.get("x-idempotency-key")
        if not key:
            await app(scope, receive, send)
            return
        kernel = _kernel(scope)
        credentials = credentials_key(headers.get("authorization"), headers.get("cookie"))
        method, path = scope["method"], scope["path"]
        if len(key) > 190:
            await _send_response(send, *_json_error(400, "The idempotency key is too long."))
            return
        stored = await sync_to_thread(_claim, kernel, credentials, key, method, path)
        if stored is not None:
            await _send_response(send, *stored)
            return
        captured = _Captured()
        try:
            await app(scope, receive, captured)
        except BaseException:
            await sync_to_thread(_forget, kernel, credentials, key)
            raise
        await sync_to_thread(_remember, kernel, credentials, key, captured)
        await _send_response(send, captured.status, captured.headers, bytes(captured.body))

    return middleware


def _claim(
    kernel: Kernel, credentials: str, key: str, method: str, path: str
) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
    """Reserve the key (None: go ahead) or return what to answer instead: the replay, 409 or a mismatch error."""
    with kernel.db.session() as session:
        existing = session.get(IdempotencyKey, (credentials, key))
        if existing is not None and existing.created < clock.now() - KEY_LIFETIME:
            session.delete(existing)
            session.flush()
            existing = None
        if existing is None:
            try:
                with session.begin_nested():
                    session.add(IdempotencyKey(credentials=credentials, key=key, method=method, path=path))
                return None
            except IntegrityError:
                existing = session.get(IdempotencyKey, (credentials, key))
                if existing is None:
                    return _json_error(409, "A request with this idempotency key is being processed.")
        if (existing.method, existing.path) != (method, path):
            return _json_error(400, "This idempotency key was already used for a different request.")
        if existing.status_code is None:
            return _json_error(409, "A request with this idempotency key is still being processed. Retry later.")
        stored_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in existing.headers or []]
        return existing.status_code, stored_headers, existing.body or b""


def _remember(kernel: Kernel, credentials: str, key: str, captured: _Captured) -> None:
    if captured.status in NOT_STORED:
        _forget(kernel, credentials, key)
        return
    with kernel.db.session() as session:
        row = session.get(IdempotencyKey, (credentials, key))
        if row is not None:
            row.status_code = captured.status
            row.headers = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in captured.headers]
            row.body = bytes(captured.body)


def _forget(kernel: Kernel, credentials: str, key: str) -> None:
    with kernel.db.session() as session:
        row = session.get(IdempotencyKey, (credentials, key))
        if row is not None:
            session.delete(row)


NUL_DETAIL = "Null characters are not allowed."


def null_character_middleware(app: ASGIApp) -> ASGIApp:
    """Refuse NUL characters in JSON bodies, paths and query strings up front: PostgreSQL cannot store them in
    text, and every resource would otherwise have to strip them itself. Raw uploads are left alone."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        raw_target = scope.get("raw_path", b"") + b"?" + scope.get("query_string", b"")
        if b"%00" in raw_target or b"\x00" in raw_target or "\x00" in scope["path"]:
            await _send_response(send, *_json_error(400, NUL_DETAIL))
            return
        content_type = Headers.from_scope(scope).get("content-type", "")
        if scope["method"] not in UNSAFE_METHODS or "json" not in content_type:
            await app(scope, receive, send)
            return
        chunks: list[Message] = []
        body = bytearray()
        while True:
            message = await receive()
            chunks.append(message)
            if message["type"] != "http.request":
                break
            body.extend(message.get("body", b""))
            if not message.get("more_body"):
                break
        if b"\\u0000" in body or b"\x00" in body:
            await _send_response(send, *_null_character_errors(bytes(body)))
            return

        async def replay() -> Message:
            return chunks.pop(0) if chunks else await receive()

        await app(scope, replay, send)

    return middleware


def _null_character_errors(body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """A 400 naming every field (nested like the input) whose text holds a NUL character."""
    try:
        document = json.loads(body)
    except ValueError:
        return _json_error(400, NUL_DETAIL)
    errors: dict[str, Any] = {}

    def walk(value: Any, path: list[str | int]) -> None:
        if isinstance(value, str):
            if "\x00" in value:
                insert_error(errors, path or [NON_FIELD], NUL_DETAIL)
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    insert_error(errors, [*path, key.replace("\x00", "")], NUL_DETAIL)
                else:
                    walk(item, [*path, key])
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, [*path, index] if path else [NON_FIELD])

    walk(document, [])
    return 400, [(b"content-type", b"application/json")], json.dumps(errors or {"detail": NUL_DETAIL}).encode()


# Outermost first: the language applies to replays too; replays skip the conditional-GET layer.
MIDDLEWARE: list[Callable[[ASGIApp], ASGIApp]] = [
    locale_middleware,
    null_character_middleware,
    idempotency_middleware,
    conditional_get_middleware,
]
