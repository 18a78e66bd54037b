"""A Litestar :class:`~litestar.stores.base.Store` on the kernel's database, so every worker process (and every
machine behind a load balancer) sees the same web sessions without needing Redis."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.stores.base import Store
from litestar.types import Empty, Message, ScopeSession
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from boxoffice.kernel.clock import now
from boxoffice.kernel.models.web_sessions import WebSession

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel


def _lifetime(expires_in: int | timedelta | None) -> timedelta | None:
    if expires_in is None:
        return None
    return expires_in if isinstance(expires_in, timedelta) else timedelta(seconds=expires_in)


class DatabaseSessionStore(Store):
    """Session data keyed by session id in the ``web_session`` table; expired rows read as missing."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    def _set(self, key: str, value: bytes, expires_in: int | timedelta | None) -> None:
        lifetime = _lifetime(expires_in)
        expires = now() + lifetime if lifetime is not None else None
        for attempt in (1, 2):
            try:
                with self.kernel.db.session() as session:
                    row = session.get(WebSession, key)
                    if row is None:
                        session.add(WebSession(key=key, data=value, expires=expires))
                        # New sessions are rare next to page views: a good moment to drop the expired ones.
                        session.execute(delete(WebSession).where(WebSession.expires < now()))
                    else:
                        row.data, row.expires = value, expires
                return
            except IntegrityError:
                # Two requests of a brand-new session raced to insert it; the second one updates instead.
                if attempt == 2:
                    raise

    def _get(self, key: str, renew_for: int | timedelta | None) -> bytes | None:
        with self.kernel.db.session() as session:
            row = session.get(WebSession, key)
            if row is None:
                return None
            if row.expires is not None and row.expires <= now():
                session.delete(row)
                return None
            lifetime = _lifetime(renew_for)
            if lifetime is not None and row.expires is not None:
                row.expires = now() + lifetime
            return row.data

    def _delete(self, key: str) -> None:
        with self.kernel.db.session() as session:
            session.execute(delete(WebSession).where(WebSession.key == key))

    def _delete_all(self) -> None:
        with self.kernel.db.session() as session:
            session.execute(delete(WebSession))

    def _expires_in(self, key: str) -> int | None:
        with self.kernel.db.session() as session:
            expires = session.scalar(select(WebSession.expires).where(WebSession.key == key))
        if expires is None:
            return None
        return max(int((expires - now()).total_seconds()), 0)

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        data = value.encode() if isinstance(value, str) else value
        await sync_to_thread(self._set, key, data, expires_in)

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        return await sync_to_thread(self._get, key, renew_for)

    async def delete(self, key: str) -> None:
        await sync_to_thread(self._delete, key)

    async def delete_all(self) -> None:
        await sync_to_thread(self._delete_all)

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        return await sync_to_thread(self._expires_in, key)


LOADED_SESSION = "boxoffice_session_loaded"


class SparingSessionBackend(ServerSideSessionBackend):
    """Writes no empty sessions: anonymous visitors with nothing in their session cost no row and get no cookie
    (Litestar's backend stores every session, empty or not, on every response)."""

    async def load_from_connection(self, connection: ASGIConnection) -> dict[str, Any]:
        data = await super().load_from_connection(connection)
        connection.scope.setdefault("state", {})[LOADED_SESSION] = bool(data)
        return data

    async def store_in_message(self, scope_session: ScopeSession, message: Message, connection: ASGIConnection) -> None:
        loaded = connection.scope.get("state", {}).get(LOADED_SESSION)
        if scope_session is not Empty and not scope_session:
            if not loaded and self.config.key not in connection.cookies:
                return
            scope_session = Empty  # emptied: drop the row and the cookie
        await super().store_in_message(scope_session, message, connection)


@dataclass
class SparingSessionConfig(ServerSideSessionConfig):
    _backend_class = SparingSessionBackend
