"""Shared helpers of the control panel's page handlers: rendering with flash messages, forms, running sync DB
work off the event loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from litestar import Request
from litestar.concurrency import sync_to_thread
from litestar.response import Template

from boxoffice.apps.web import request_kernel

T = TypeVar("T")
FLASH = "control_flash"


def flash(request: Request, level: str, text: str) -> None:
    """A message shown once on the next page (``success``, ``error``, ``info``)."""
    request.session.setdefault(FLASH, [])
    request.session[FLASH] = [*request.session[FLASH], [level, text]]


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> Template:
    messages = request.session.pop(FLASH, []) if request.scope.get("session") else []
    return Template(
        template_name=f"control/{template}", context={"messages": messages, **context}, status_code=status_code
    )


async def form_data(request: Request) -> dict[str, Any]:
    """The posted form: one value per field, lists for fields given several times (checkbox groups)."""
    form = await request.form()
    data: dict[str, Any] = {}
    for key in form:
        values = form.getall(key)
        data[key] = values if len(values) > 1 else values[0]
    return data


async def in_db(request: Request, work: Callable[..., T], *args: Any) -> T:
    """Run ``work(session, *args)`` in one unit of work, in a worker thread."""
    kernel = request_kernel(request)

    def run() -> T:
        with kernel.db.session() as session:
            return work(session, *args)

    return await sync_to_thread(run)


async def page_from_db(request: Request, template: str, build: Callable[..., dict[str, Any]], *args: Any) -> Template:
    """The page ``template`` with the context ``build(session, kernel, *args)`` reads in one unit of work."""
    context = await in_db(request, build, request_kernel(request), *args)
    return page(request, template, **context)
