"""Ticket downloads through the REST API: the ``downloads`` lists, order and position downloads as real PDFs (pages,
page size, text layer, QR code = secret), caching until the order changes, 409 while a worker generates the file,
and no output at all where the PDF plugin is off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from export_world import load_test_module
from litestar.testing import TestClient
from sqlalchemy import select

from boxoffice.apps.api import create_app
from boxoffice.kernel.config import Config
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.models import Event, JobRecord
from boxoffice.kernel.models.orders import Order
from boxoffice.plugins.ticketoutputpdf.output import PdfTicketOutput

pdftools = load_test_module("plugins/ticketoutputpdf/pdftools.py")

EVENT = "/api/v1/organizers/demo/events/democon/"
ORDERS = EVENT + "orders/"
POSITIONS = EVENT + "orderpositions/"


def enable_pdf(api, slug: str = "democon") -> None:
    response = api.patch(f"/api/v1/organizers/demo/events/{slug}/", {"plugins": ["ticketoutputpdf"]})
    assert response.status_code == 200, response.text


def item_id(api) -> int:
    return api.get(EVENT + "items/").json()["results"][0]["id"]


def place(api, names: tuple[str, ...] = ("Łukasz Żółć",), status: str = "p") -> dict[str, Any]:
    body: dict[str, Any] = {
        "email": "buyer@example.org",
        "locale": "en",
        "status": status,
        "payment_provider": "manual",
        "positions": [
            {"positionid": index, "item": item_id(api), "price": "35.00", "attendee_name_parts": {"full_name": name}}
            for index, name in enumerate(names, start=1)
        ],
    }
    response = api.post(ORDERS, body)
    assert response.status_code == 201, response.text
    return response.json()


def test_paid_order_lists_and_serves_pdf_tickets(api):
    enable_pdf(api)
    order = place(api, ("Łukasz Żółć", "Дмитрий Σωκράτης"))
    shown = api.get(f"{ORDERS}{order['code']}/").json()
    assert [d["output"] for d in shown["downloads"]] == ["pdf"]
    assert shown["downloads"][0]["url"].endswith(f"/orders/{order['code']}/download/pdf/")
    first = shown["positions"][0]
    assert first["downloads"][0]["url"].endswith(f"/orderpositions/{first['id']}/download/pdf/")

    response = api.get(f"{POSITIONS}{first['id']}/download/pdf/")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/pdf")
    assert pdftools.page_sizes_mm(response.content) == [(210, 297)]
    (text,) = pdftools.page_texts(response.content)
    assert "Łukasz Żółć" in text
    assert "DemoCon" in text
    assert order["code"] in text
    assert pdftools.qr_codes(response.content) == [first["secret"]]

    merged = api.get(f"{ORDERS}{order['code']}/download/pdf/")
    assert merged.status_code == 200
    assert 'filename="democon-' in merged.headers["content-disposition"]
    texts = pdftools.page_texts(merged.content)
    assert len(texts) == 2
    assert "Дмитрий Σωκράτης" in texts[1]
    assert pdftools.qr_codes(merged.content, page=1) == [shown["positions"][1]["secret"]]


def test_files_are_cached_until_the_order_changes(api, monkeypatch: pytest.MonkeyPatch):
    rendered: list[int] = []
    original = PdfTicketOutput.generate

    def counting(self, position):
        rendered.append(position.id)
        return original(self, position)

    monkeypatch.setattr(PdfTicketOutput, "generate", counting)
    enable_pdf(api)
    order = place(api, ("Ada Lovelace",))
    position = order["positions"][0]
    url = f"{POSITIONS}{position['id']}/download/pdf/"
    first = api.get(url).content
    assert api.get(url).content == first
    assert rendered == [position["id"]], "the second download comes from the cache"

    changed = api.patch(f"{POSITIONS}{position['id']}/", {"attendee_name": "Grace Hopper"})
    assert changed.status_code == 200, changed.text
    renewed = api.get(url).content
    assert rendered == [position["id"]] * 2
    assert "Grace Hopper" in pdftools.page_texts(renewed)[0]
    assert "Ada Lovelace" not in pdftools.page_texts(renewed)[0]
    with api.kernel.db.session() as session:
        found = session.scalar(select(Order).where(Order.code == order["code"]))
        folder = api.kernel.config.data_dir / "tickets" / "cache" / str(found.event_id) / str(found.id)
    files = [path.name for path in folder.iterdir() if path.suffix == "" and path.name.startswith("pdf-p")]
    assert len(files) == 1 and files[0].startswith(f"pdf-p{position['id']}-"), "the outdated file was removed"


def test_pending_orders_offer_tickets_only_when_the_event_allows_it(api):
    enable_pdf(api)
    order = place(api, status="n")
    assert api.get(f"{ORDERS}{order['code']}/").json()["downloads"] == []
    assert api.get(f"{ORDERS}{order['code']}/download/pdf/").status_code == 404
    assert api.patch(EVENT + "settings/", {"ticket_download_pending": True}).status_code == 200
    assert [d["output"] for d in api.get(f"{ORDERS}{order['code']}/").json()["downloads"]] == ["pdf"]
    assert api.get(f"{ORDERS}{order['code']}/download/pdf/").status_code == 200


def test_canceled_orders_and_unknown_outputs_have_no_download(api):
    enable_pdf(api)
    order = place(api)
    assert api.get(f"{ORDERS}{order['code']}/download/passbook/").status_code == 404
    assert api.post(f"{ORDERS}{order['code']}/mark_canceled/", {}).status_code == 200
    assert api.get(f"{ORDERS}{order['code']}/").json()["downloads"] == []
    assert api.get(f"{ORDERS}{order['code']}/download/pdf/").status_code == 404


def test_disabled_plugin_offers_no_output(api):
    order = place(api)
    shown = api.get(f"{ORDERS}{order['code']}/").json()
    assert shown["downloads"] == []
    assert shown["positions"][0]["downloads"] == []
    assert api.get(f"{ORDERS}{order['code']}/download/pdf/").status_code == 404
    assert api.get(f"{POSITIONS}{order['positions'][0]['id']}/download/pdf/").status_code == 404
    assert api.get(EVENT + "ticketlayouts/").status_code == 404


def test_downloads_need_order_read_permission(api):
    enable_pdf(api)
    order = place(api)
    token = api.make_token(event_permissions=("event.vouchers:read",))
    assert api.get(f"{ORDERS}{order['code']}/download/pdf/", token=token).status_code == 403
    assert api.client.get(f"{ORDERS}{order['code']}/download/pdf/").status_code == 401


@pytest.fixture
def worker_api(api, migrated_url: str, tmp_path: Path):
    """The same database behind an app whose jobs go to a broker (in memory, no worker): files wait for a worker."""
    kernel = Kernel(Config(database_url=migrated_url, data_dir=tmp_path / "worker", broker_url="memory://"))
    with TestClient(app=create_app(kernel)) as client:
        yield kernel, client
    kernel.close()


def test_download_answers_409_until_a_worker_generated_the_file(api, worker_api):
    kernel, client = worker_api
    enable_pdf(api)
    order = place(api)
    url = f"{ORDERS}{order['code']}/download/pdf/"
    waiting = client.get(url, headers=api.headers())
    assert waiting.status_code == 409, waiting.text
    assert waiting.headers.get("retry-after") == "1"
    # Asking again does not queue the same file twice.
    assert client.get(url, headers=api.headers()).status_code == 409
    with kernel.db.session() as session:
        jobs = list(session.scalars(select(JobRecord).where(JobRecord.name == "tickets.generate")))
    assert [job.status for job in jobs] == ["waiting"]
    kernel.jobs.run(jobs[0].id)  # what a Celery worker does with the task
    done = client.get(url, headers=api.headers())
    assert done.status_code == 200
    assert pdftools.qr_codes(done.content) == [order["positions"][0]["secret"]]


def test_plugin_disabled_again_hides_the_downloads(api):
    enable_pdf(api)
    order = place(api)
    assert api.get(f"{ORDERS}{order['code']}/download/pdf/").status_code == 200
    assert api.patch(EVENT, {"plugins": []}).status_code == 200
    assert api.get(f"{ORDERS}{order['code']}/download/pdf/").status_code == 404
    with api.kernel.db.session() as session:
        assert session.scalar(select(Event.plugins).where(Event.slug == "democon")) == []


def test_download_lists_cost_no_query_per_order(api):
    from sqlalchemy import event as sqlalchemy_event

    enable_pdf(api)
    assert api.patch(EVENT + "settings/", {"ticket_download_pending": True}).status_code == 200

    def queries(path: str) -> int:
        statements: list[str] = []

        def count(*args) -> None:
            statements.append(args[2])

        sqlalchemy_event.listen(api.kernel.db.engine, "before_cursor_execute", count)
        try:
            response = api.get(path)
        finally:
            sqlalchemy_event.remove(api.kernel.db.engine, "before_cursor_execute", count)
        assert response.status_code == 200
        assert all(result["downloads"] for result in response.json()["results"])
        return len(statements)

    place(api)
    place(api, status="n")
    few = {path: queries(path) for path in (ORDERS, POSITIONS)}
    for _ in range(3):
        place(api, ("One", "Two"))
        place(api, status="n")
    assert {path: queries(path) for path in (ORDERS, POSITIONS)} == few
