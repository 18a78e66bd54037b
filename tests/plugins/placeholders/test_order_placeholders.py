"""The order, ticket, invoice-address and answer placeholders, rendered with the kernel's one template renderer
(the function e-mails, ticket layouts and invoice texts use)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from export_world import api_helpers
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from boxoffice.apps.api import create_app
from boxoffice.hookspecs.providers import PLACEHOLDER_ERROR, SimpleTextPlaceholder
from boxoffice.kernel.config import Config
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.i18n import use_locale
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.orders import Order, OrderPosition
from boxoffice.kernel.placeholders import TextRenderer, render_template, text_renderer

HELPERS = api_helpers()
EVENT = "/api/v1/organizers/demo/events/democon/"


@pytest.fixture
def shop(migrated_url: str, tmp_path: Path, empty_tables):
    """An order of two tickets (one with an add-on), an invoice address and answers to two questions."""
    kernel = Kernel(Config(database_url=migrated_url, data_dir=tmp_path, site_url="https://tickets.example.org"))
    HELPERS.seed(kernel)
    with TestClient(app=create_app(kernel)) as client:
        api = HELPERS.Api(kernel, client, "")
        api.token = api.make_token()
        ticket = api.get(EVENT + "items/").json()["results"][0]["id"]
        extras = api.post(EVENT + "categories/", {"name": {"en": "Extras"}, "is_addon": True}).json()["id"]
        workshop = api.post(
            EVENT + "items/", {"name": {"en": "Workshop"}, "default_price": "10.00", "category": extras}
        ).json()["id"]
        api.post(EVENT + f"items/{ticket}/addons/", {"addon_category": extras, "min_count": 0, "max_count": 1})
        api.post(EVENT + "quotas/", {"name": "W", "size": 9, "items": [workshop], "variations": []})
        shirt = api.post(
            EVENT + "questions/",
            {"question": {"en": "Shirt size"}, "identifier": "shirt", "type": "C", "items": [ticket],
             "options": [{"answer": {"en": "Small"}}, {"answer": {"en": "Large"}}]},
        ).json()  # fmt: skip
        diet = api.post(
            EVENT + "questions/", {"question": {"en": "Diet"}, "identifier": "diet", "type": "T", "items": [ticket]}
        ).json()["id"]
        body = {
            "email": "buyer@example.org",
            "locale": "en",
            "status": "p",
            "payment_provider": "manual",
            "invoice_address": {"company": "ACME Ltd", "name_parts": {"full_name": "Wile E. Coyote"},
                                "street": "1 Desert Road", "zipcode": "85001", "city": "Phoenix", "country": "US"},
            "positions": [
                {"positionid": 1, "item": ticket, "price": "35.00", "attendee_name_parts": {"full_name": "Ada"},
                 "answers": [{"question": shirt["id"], "answer": "Large", "options": [shirt["options"][1]["id"]]},
                             {"question": diet, "answer": "vegan"}]},
                {"positionid": 2, "item": workshop, "price": "10.00", "addon_to": 1},
            ],
        }  # fmt: skip
        order = api.post(EVENT + "orders/", body)
        assert order.status_code == 201, order.text
        yield kernel, order.json()
    empty_tables(kernel)
    kernel.close()


def load(kernel: Kernel, code: str, session: Any) -> tuple[Event, Order]:
    order = session.scalar(
        select(Order)
        .where(Order.code == code)
        .options(selectinload(Order.positions).selectinload(OrderPosition.answers), selectinload(Order.invoice_address))
    )
    event = session.get(Event, order.event_id)
    return event, order


def test_ticket_placeholders_render_for_a_position(shop):
    kernel, placed = shop
    with kernel.db.session() as session:
        event, order = load(kernel, placed["code"], session)
        ticket = order.positions[0]
        renderer = text_renderer(kernel, event)
        template = (
            "{attendee_name}|{item}|{price}|{price_with_addons}|{addons}|{order}-{positionid}|{secret}|"
            "{question_shirt}|{question_diet}|{event_name}|{event_begin}|{invoice_company}|{name}"
        )
        with use_locale("en"):
            rendered = renderer.render(template, {"position": ticket})
        assert rendered.split("|") == [
            "Ada",
            "Ticket",
            "€35.00",
            "€45.00",
            "Workshop",
            f"{order.code}-1",
            ticket.secret,
            "Large",
            "vegan",
            "DemoCon",
            "May 1, 2031, 9:00:00\u202fAM",
            "ACME Ltd",
            "Ada",
        ]
        with use_locale("de"):
            assert renderer.render("{price}", {"position": ticket}) == "35,00\u00a0€"


def test_order_and_address_placeholders_and_links(shop):
    kernel, placed = shop
    with kernel.db.session() as session:
        event, order = load(kernel, placed["code"], session)
        with use_locale("en"):
            text = render_template(
                kernel, event, "{code} {total} {email} {invoice_name}\n{invoice_address}\n{url}", {"order": order}
            )
    lines = text.split("\n")
    assert lines[0] == f"{order.code} €45.00 buyer@example.org Wile E. Coyote"
    assert lines[1:6] == ["ACME Ltd", "Wile E. Coyote", "1 Desert Road", "85001 Phoenix", "US"]
    assert lines[6] == f"https://tickets.example.org/demo/democon/order/{order.code}/{order.secret}/"


def test_placeholders_without_their_context_stay_literal(shop):
    kernel, placed = shop
    with kernel.db.session() as session:
        event, _order = load(kernel, placed["code"], session)
        renderer = text_renderer(kernel, event)
        assert renderer.render("{event} {attendee_name} {code} {nothing}") == "DemoCon {attendee_name} {code} {nothing}"
        available = {p.identifier for p in renderer.available(["order"])}
        assert {"code", "total", "event"} <= available
        assert "attendee_name" not in available
        assert (
            renderer.sample("{attendee_name} {code} {question_shirt} {unknown}")
            == "John Doe F8VVL <Shirt size> {unknown}"
        )


def test_a_failing_placeholder_shows_error_and_the_first_identifier_wins():
    event = Event(slug="x", name={"en": "X"})

    def broken(event: Any) -> str:
        raise RuntimeError("boom")

    renderer = TextRenderer(
        event,
        [
            SimpleTextPlaceholder("first", ("event",), lambda e: "one", "s"),
            SimpleTextPlaceholder("first", ("event",), lambda e: "two", "s"),
            SimpleTextPlaceholder("broken", ("event",), broken, "s"),
        ],
    )
    assert renderer.render("{first} {broken}") == f"one {PLACEHOLDER_ERROR}"
