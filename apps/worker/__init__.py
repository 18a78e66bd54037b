"""The Celery app for ``celery -A boxoffice.apps.worker worker`` (``boxoffice worker`` does the same).

The kernel is built on first access, so importing this module costs nothing.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from celery import Celery

from boxoffice.kernel.core import Kernel


@cache
def celery_app() -> Celery:
    return Kernel().jobs.celery


def __getattr__(name: str) -> Any:
    if name in ("app", "celery"):
        return celery_app()
    raise AttributeError(name)
