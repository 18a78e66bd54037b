"""Audit log writer: every change through the API, the CLI or a service is recorded with its actor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from boxoffice.kernel.models import Event, LogEntry, Organizer

if TYPE_CHECKING:
    import pluggy
    from sqlalchemy.orm import Session

    from boxoffice.kernel.plugins import HookRelay

ActorType = Literal["user", "token", "device", "system", "cli"]


@dataclass(frozen=True)
class Actor:
    type: ActorType
    id: str | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls("system")


def log_action(
    session: Session,
    hooks: pluggy.HookRelay | HookRelay | None,
    obj: Any,
    action_type: str,
    *,
    actor: Actor,
    data: dict[str, Any] | None = None,
) -> LogEntry:
    """Write one log entry for ``obj`` and tell plugins about it (``log_entry_created`` on ``hooks``).

    The owning organizer and event are derived from ``obj`` so entries can be listed per event.
    """
    event = obj if isinstance(obj, Event) else getattr(obj, "event", None)
    if isinstance(obj, Organizer):
        organizer_id: int | None = obj.id
    elif event is not None:
        organizer_id = event.organizer_id
    else:
        organizer_id = getattr(obj, "organizer_id", None)
    entry = LogEntry(
        organizer_id=organizer_id,
        event_id=event.id if event is not None else None,
        object_type=type(obj).__name__.lower(),
        object_id=str(getattr(obj, "id", "")),
        action_type=action_type,
        actor_type=actor.type,
        actor_id=actor.id,
        data=data or {},
    )
    session.add(entry)
    session.flush()
    if hooks is not None:
        hooks.log_entry_created(entry=entry, session=session)
    return entry
