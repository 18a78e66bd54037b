"""Why an order operation was refused, in a form the API turns into pretix's 400 bodies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class OrderError(Exception):
    """Refused: ``errors`` is a field-error tree like the input (``{"positions": [{"item": ["…"]}]}``), or
    ``detail`` a message about the operation as a whole (``{"detail": "…"}``)."""

    def __init__(self, detail: str = "", *, errors: dict[str, Any] | None = None) -> None:
        super().__init__(detail or str(errors))
        self.detail = detail
        self.errors = errors

    @classmethod
    def field(cls, name: str, message: str) -> OrderError:
        return cls(errors={name: [message]})

    @classmethod
    def position(cls, index: int, count: int, name: str, message: str) -> OrderError:
        """An error about field ``name`` of the ``index``-th of ``count`` positions."""
        entries: list[dict[str, Any]] = [{} for _ in range(count)]
        entries[index] = {name: [message]}
        return cls(errors={"positions": entries})

    def body(self) -> dict[str, Any]:
        return self.errors if self.errors is not None else {"detail": self.detail}


class LockTimeout(OrderError):
    """The rows an operation needs stayed locked too long; the client may retry (409)."""


def insert_error(tree: dict[str, Any], path: Sequence[str | int], message: str) -> None:
    """Put ``message`` into a nested error tree at ``path`` (field names and list indexes)."""
    node: Any = tree
    for position, part in enumerate(path):
        last = position == len(path) - 1
        if isinstance(node, list):
            assert isinstance(part, int)
            while len(node) <= part:
                node.append({})
            if last:
                node[part] = [message]
                return
            node = node[part]
            continue
        if last:
            node.setdefault(str(part), []).append(message)
            return
        following = path[position + 1]
        node = node.setdefault(str(part), [] if isinstance(following, int) else {})
