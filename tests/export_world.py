"""The API test world for plugin tests (organizer ``demo``, events ``democon`` and ``other``, seeded by the API
tests' conftest): one app per plugin folder, a freshly seeded API client per test, switch the bundled plugins on,
place orders with personal data through the API and poll async URLs."""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import select

from boxoffice.apps.api import create_app
from boxoffice.kernel.config import Config
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.models import Event, Item, Organizer, Quota
from boxoffice.kernel.models.questions import Question

EVENT = "/api/v1/organizers/demo/events/democon/"
ORGANIZER = "/api/v1/organizers/demo/"


TESTS = Path(__file__).resolve().parent


@cache
def load_test_module(relative_path: str) -> ModuleType:
    """A file of the test tree (``apps/api/conftest.py``, ``plugins/ticketoutputpdf/pdftools.py``) as a plain module,
    loaded once; a conftest loaded this way keeps its fixtures unregistered."""
    path = TESTS / relative_path
    spec = importlib.util.spec_from_file_location("_tests_" + relative_path.removesuffix(".py").replace("/", "_"), path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def api_helpers() -> Any:
    """``Api`` and ``seed`` of the API tests' conftest."""
    return load_test_module("apps/api/conftest.py")


@contextmanager
def running_app(
    migrated_url: str, tmp_path_factory: pytest.TempPathFactory, name: str
) -> Iterator[tuple[Kernel, TestClient]]:
    """A kernel and a test client on the API app, for a session-scoped fixture (building the app costs a second)."""
    kernel = Kernel(Config(database_url=migrated_url, data_dir=tmp_path_factory.mktemp(f"{name}-data")))
    with TestClient(app=create_app(kernel)) as client:
        yield kernel, client
    kernel.close()


@contextmanager
def seeded_api(app: tuple[Kernel, TestClient], empty_tables: Callable[[Kernel], None]) -> Iterator[Any]:
    """The API tests' seeded data and an ``Api`` holder with a token on ``app``; emptied again afterwards."""
    kernel, client = app
    helpers = api_helpers()
    helpers.seed(kernel)
    holder = helpers.Api(kernel, client, "")
    holder.token = holder.make_token()
    try:
        yield holder
    finally:
        client.cookies.clear()
        empty_tables(kernel)


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def enable(api: Any, *plugins: str, events: tuple[str, ...] = ("democon",)) -> None:
    """Switch plugins on for the organizer and the given events (hybrid plugins need both)."""
    with api.kernel.db.session() as session:
        organizer = session.scalar(select(Organizer).where(Organizer.slug == "demo"))
        organizer.plugins = sorted({*(organizer.plugins or ()), *plugins})
        for event in session.scalars(select(Event).where(Event.organizer_id == organizer.id)):
            if event.slug in events:
                event.plugins = sorted({*(event.plugins or ()), *plugins})


def set_event(api: Any, slug: str = "democon", **values: Any) -> None:
    with api.kernel.db.session() as session:
        event = session.scalar(select(Event).where(Event.slug == slug))
        for key, value in values.items():
            setattr(event, key, value)


def add_question(api: Any, slug: str = "democon") -> int:
    with api.kernel.db.session() as session:
        event = session.scalar(select(Event).where(Event.slug == slug))
        items = list(session.scalars(select(Item).where(Item.event_id == event.id)))
        question = Question(
            event_id=event.id, question={"en": "Dietary wishes"}, type="T", identifier="DIET", items=items
        )
        session.add(question)
        session.flush()
        return question.id


def add_item(api: Any, slug: str, name: str = "Ticket", price: str = "20.00") -> int:
    from decimal import Decimal

    with api.kernel.db.session() as session:
        event = session.scalar(select(Event).where(Event.slug == slug))
        item = Item(event=event, name={"en": name}, default_price=Decimal(price))
        session.add_all([item, Quota(event=event, name=f"{name} quota", size=100, items=[item])])
        session.flush()
        return item.id


def place(
    api: Any,
    *,
    email: str,
    names: tuple[str, ...],
    status: str = "p",
    event: str = "democon",
    invoice_name: str | None = None,
    answers: dict[int, str] | None = None,
    phone: str | None = None,
    item: int | None = None,
) -> dict[str, Any]:
    base = f"/api/v1/organizers/demo/events/{event}/"
    item = item or api.get(base + "items/").json()["results"][0]["id"]
    body: dict[str, Any] = {
        "email": email,
        "locale": "en",
        "status": status,
        "payment_provider": "manual",
        "positions": [
            {
                "positionid": index,
                "item": item,
                "price": "35.00",
                "attendee_name_parts": {"given_name": name.split()[0], "family_name": name.split()[-1]},
                "attendee_email": f"{name.split()[0].lower()}@attendees.example",
                "answers": [{"question": q, "answer": text, "options": []} for q, text in (answers or {}).items()],
            }
            for index, name in enumerate(names, start=1)
        ],
    }
    if phone:
        body["phone"] = phone
    if invoice_name:
        body["invoice_address"] = {
            "name_parts": {"given_name": invoice_name.split()[0], "family_name": invoice_name.split()[-1]},
            "company": f"{invoice_name.split()[-1]} Ltd",
            "street": "12 Analytical Street",
            "zipcode": "10115",
            "city": "Engineton",
            "country": "DE",
        }
    response = api.post(base + "orders/", body)
    assert response.status_code == 201, response.text
    return response.json()


def poll(api: Any, url: str, method: str = "get", attempts: int = 50, token: str | None = None) -> Any:
    """GET an async URL until it stops answering 409."""
    response = None
    for _ in range(attempts):
        response = getattr(api, method)(path_of(url), token=token)
        if response.status_code != 409:
            return response
        time.sleep(0.1)
    return response


def past(api: Any, slug: str = "democon") -> None:
    """Move the event into the past and take its shop offline, so shredding is allowed."""
    start, end = datetime(2020, 5, 1, 9, tzinfo=UTC), datetime(2020, 5, 2, 18, tzinfo=UTC)
    set_event(api, slug, date_from=start, date_to=end, live=False)
