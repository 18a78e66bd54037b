"""Copying an event's data into another event (``clone_from`` / ``…/clone/``).

Each area of the domain registers a copier; they run in ``order`` (tax rules before items, items before quotas …)
and share an id map so later copiers can translate foreign keys: ``ids["item"][old_id] -> new_id``.
Plugins copy their own data through the ``event_copied`` hook, which runs after all copiers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from boxoffice.kernel.models import Event


@dataclass
class CopyContext:
    session: Session
    source: Event
    target: Event
    ids: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))


Copier = Callable[[CopyContext], None]
_copiers: list[tuple[int, str, Copier]] = []


def register_copier(order: int, name: str) -> Callable[[Copier], Copier]:
    def register(function: Copier) -> Copier:
        if all(existing != name for _, existing, _ in _copiers):
            _copiers.append((order, name, function))
            _copiers.sort(key=lambda entry: entry[0])
        return function

    return register


def copy_event_data(session: Session, source: Event, target: Event) -> CopyContext:
    context = CopyContext(session, source, target)
    for _, _, copier in _copiers:
        copier(context)
        session.flush()
    return context
