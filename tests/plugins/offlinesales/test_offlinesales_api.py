"""Offline sales batches through the REST API: validation, creation as a job (202 → check URL: 200, 409, 410, 404),
all-or-nothing quota handling, list and detail, rendering into one PDF with the batch's layout (202 → download URL:
200, 409, 410, 404), permissions, and the bulk placement service behind it."""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from export_world import load_test_module, path_of
from sqlalchemy import func, select

from boxoffice.kernel import clock
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.jobs import JobRunner
from boxoffice.kernel.models import Event, JobRecord, LogEntry, Quota
from boxoffice.kernel.models.orders import Order, OrderPayment, OrderPosition, Transaction
from boxoffice.kernel.orders import bulk
from boxoffice.kernel.orders.drafts import FeeDraft, OrderDraft, PositionDraft
from boxoffice.kernel.orders.errors import OrderError
from boxoffice.plugins.offlinesales.models import OfflineSalesBatch, OfflineSalesBatchOrder

EVENT = "/api/v1/organizers/demo/events/democon/"
BATCHES = EVENT + "offlinesalesbatches/"


PDF = load_test_module("plugins/ticketoutputpdf/pdftools.py")


def body(api: Any, **fields: Any) -> dict[str, Any]:
    return {"item": api.item, "layout": api.layout, "amount": 3, "sales_channel": "web", **fields}


def create(api: Any, **fields: Any) -> dict[str, Any]:
    started = api.post(BATCHES, body(api, **fields))
    assert started.status_code == 202, started.text
    checked = api.get(path_of(started.json()["check"]))
    assert checked.status_code == 200, checked.text
    return checked.json()


def counts(api: Any) -> tuple[int, int, int, int, int]:
    with api.kernel.db.session() as session:
        return (
            session.scalar(select(func.count()).select_from(Order)),
            session.scalar(select(func.count()).select_from(OrderPosition)),
            session.scalar(select(func.count()).select_from(Transaction)),
            session.scalar(select(func.count()).select_from(OfflineSalesBatch)),
            session.scalar(select(func.count()).select_from(OfflineSalesBatchOrder)),
        )


@pytest.fixture
def held_jobs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Jobs are recorded but not started, as when a worker has not picked them up yet; the test runs them."""
    held: list[str] = []
    monkeypatch.setattr(JobRunner, "_dispatch", lambda self, job_id, definition: held.append(job_id))
    return held


# --- creating ------------------------------------------------------------------------------------------------------


def test_creating_a_batch_places_paid_orders_and_the_check_url_answers_the_batch(api):
    started = api.post(BATCHES, body(api, amount=7, testmode=True, comment="Box office north"))
    assert started.status_code == 202, started.text
    check = started.json()["check"]
    assert "/offlinesalesbatches/check/" in check
    answer = api.get(path_of(check))
    assert answer.status_code == 200, answer.text
    batch = answer.json()
    assert {key: batch[key] for key in ("testmode", "sales_channel", "layout", "subevent", "item", "variation")} == {
        "testmode": True,
        "sales_channel": "web",
        "layout": api.layout,
        "subevent": None,
        "item": api.item,
        "variation": None,
    }
    assert (batch["amount"], batch["comment"]) == (7, "Box office north")
    assert len(batch["orders"]) == len(set(batch["orders"])) == 7
    assert api.get(BATCHES + f"{batch['id']}/").json() == batch
    order = api.get(EVENT + f"orders/{batch['orders'][0]}/").json()
    assert (order["status"], order["testmode"], order["sales_channel"], order["total"]) == ("p", True, "web", "35.00")
    assert order["payments"][0]["state"] == "confirmed"
    assert len(order["positions"]) == 1 and order["positions"][0]["item"] == api.item
    # The engine's bookkeeping, as for an order placed through the orders endpoint.
    with api.kernel.db.session() as session:
        order_id = session.scalar(select(Order.id).where(Order.code == batch["orders"][0]))
        assert session.scalar(select(func.count()).where(Transaction.order_id == order_id)) == 1
        placed = session.scalar(
            select(LogEntry).where(
                LogEntry.object_id == str(order_id), LogEntry.action_type == "boxoffice.event.order.placed"
            )
        )
        assert placed.data["offlinesales_batch"] == batch["id"]
        assert (
            session.scalar(select(func.count()).where(LogEntry.action_type == "boxoffice.offlinesales.batch.created"))
            == 1
        )
    availability = api.get(EVENT + "quotas/").json()["results"][0]
    quota = api.get(EVENT + f"quotas/{availability['id']}/availability/").json()
    assert quota["paid_orders"] == 7


def test_a_batch_that_would_oversell_fails_as_a_whole_with_410_and_leaves_nothing(api):
    api.post(EVENT + "orders/", {"positions": [{"item": api.item}], "status": "p", "payment_provider": "manual"})
    before = counts(api)
    started = api.post(BATCHES, body(api, amount=100))  # the quota has 100, one is sold
    assert started.status_code == 202
    failed = api.get(path_of(started.json()["check"]))
    assert failed.status_code == 410
    assert failed.json() == {
        "status": "failed",
        "message": 'There is not enough quota available on quota "Tickets" to perform the operation.',
    }
    assert counts(api) == before
    assert api.get(BATCHES).json()["count"] == 0
    # Exactly what is left still fits.
    assert len(create(api, amount=99)["orders"]) == 99


def test_a_product_without_quota_fails_the_job(api):
    with api.kernel.db.session() as session:
        session.execute(Quota.__table__.delete())
    started = api.post(BATCHES, body(api))
    failed = api.get(path_of(started.json()["check"]))
    assert failed.status_code == 410
    assert "not assigned to a quota" in failed.json()["message"]
    assert counts(api)[0] == 0


def test_the_check_url_answers_409_while_the_job_waits_or_runs(api, held_jobs):
    started = api.post(BATCHES, body(api, amount=2))
    assert started.status_code == 202
    path = path_of(started.json()["check"])
    assert (api.get(path).status_code, api.get(path).json()) == (409, {"status": "waiting"})
    with api.kernel.db.session() as session:
        session.get(JobRecord, held_jobs[0]).status = "running"
    assert (api.get(path).status_code, api.get(path).json()) == (409, {"status": "running"})
    with api.kernel.db.session() as session:
        session.get(JobRecord, held_jobs[0]).status = "waiting"
    api.kernel.jobs.run(held_jobs[0])  # what a worker does
    done = api.get(path)
    assert done.status_code == 200 and len(done.json()["orders"]) == 2


def test_the_check_url_answers_404_for_unknown_jobs_other_events_and_after_expiry(api):
    started = api.post(BATCHES, body(api, amount=1))
    path = path_of(started.json()["check"])
    assert api.get(path).status_code == 200
    assert api.get(BATCHES + "check/0123456789abcdef0123456789abcdef/").status_code == 404
    assert api.get(BATCHES + "check/" + "x" * 40 + "/").status_code == 404
    other = path.replace("/democon/", "/other/")
    assert api.patch("/api/v1/organizers/demo/events/other/", {"plugins": ["offlinesales"]}).status_code == 200
    assert api.get(other).status_code == 404
    # Finished jobs are forgotten after a while; the check URL then answers 404.
    with clock.time_machine(clock.now() + timedelta(days=3)):
        api.kernel.jobs.enqueue("core.delete_finished_jobs")
    assert api.get(path).status_code == 404
    assert api.get(BATCHES).json()["count"] == 1


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"amount": 10_001}, {"amount": ["Ensure this value is between 1 and 10000."]}),
        ({"amount": 0}, {"amount": ["Ensure this value is between 1 and 10000."]}),
        ({"item": 999999}, {"item": ['Invalid pk "999999" - object does not exist.']}),
        ({"layout": 999999}, {"layout": ['Invalid pk "999999" - object does not exist.']}),
        ({"variation": 999999}, {"variation": ['Invalid pk "999999" - object does not exist.']}),
        ({"subevent": 999999}, {"subevent": ['Invalid pk "999999" - object does not exist.']}),
        ({"sales_channel": "nowhere"}, {"sales_channel": ['Unknown sales channel "nowhere".']}),
        ({"amount": "many"}, None),
    ],
)
def test_invalid_input_is_400_with_field_messages(api, fields, errors):
    response = api.post(BATCHES, body(api, **fields))
    assert response.status_code == 400, response.text
    if errors is not None:
        assert response.json() == errors
    else:
        assert "amount" in response.json()
    assert counts(api)[3] == 0


def test_missing_fields_and_broken_json_are_400(api):
    assert api.post(BATCHES, {"layout": api.layout, "amount": 1}).json() == {"item": ["This field is required."]}
    broken = api.client.post(BATCHES, content=b"{nope", headers={**api.headers(), "Content-Type": "application/json"})
    assert broken.status_code == 400


def test_a_layout_of_another_event_is_refused(api):
    api.patch("/api/v1/organizers/demo/events/other/", {"plugins": ["ticketoutputpdf"]})
    foreign = api.post("/api/v1/organizers/demo/events/other/ticketlayouts/", {"name": "Other", "layout": []}).json()
    assert api.post(BATCHES, body(api, layout=foreign["id"])).json() == {
        "layout": [f'Invalid pk "{foreign["id"]}" - object does not exist.']
    }


def test_authentication_permissions_and_plugin_activation(api):
    assert api.client.get(BATCHES).status_code == 401
    rival = api.make_token("rival")
    assert api.get(BATCHES, token=rival).status_code == 403
    reader = api.make_token(event_permissions=("event.orders:read",))
    assert api.get(BATCHES, token=reader).status_code == 200
    assert api.post(BATCHES, body(api), token=reader).status_code == 403
    assert counts(api)[3] == 0
    assert api.get("/api/v1/organizers/demo/events/other/offlinesalesbatches/").status_code == 404
    api.patch(EVENT, {"plugins": ["ticketoutputpdf"]})
    assert api.get(BATCHES).status_code == 404


def test_list_leaves_out_orders_and_pages(api):
    first = create(api, amount=2)
    second = create(api, amount=1, sales_channel="web", comment="second")
    listed = api.get(BATCHES).json()
    assert listed["count"] == 2 and listed["next"] is None
    assert [entry["id"] for entry in listed["results"]] == [first["id"], second["id"]]
    assert "orders" not in listed["results"][0]
    assert set(listed["results"][0]) == {
        "id", "creation", "testmode", "sales_channel", "layout", "subevent", "item", "variation", "amount", "comment"
    }  # fmt: skip
    paged = api.get(BATCHES + "?page_size=1&page=2").json()
    assert [entry["id"] for entry in paged["results"]] == [second["id"]]
    assert api.get(BATCHES + "999999/").status_code == 404


# --- rendering -----------------------------------------------------------------------------------------------------


def test_rendering_a_batch_gives_one_pdf_with_its_layout_and_qr_codes(api):
    batch = create(api, amount=3)
    started = api.post(BATCHES + f"{batch['id']}/render/")
    assert started.status_code == 202, started.text
    url = started.json()["download"]
    assert f"/offlinesalesbatches/{batch['id']}/download/" in url
    done = api.get(path_of(url))
    assert done.status_code == 200, done.text
    assert done.headers["content-type"] == "application/pdf"
    texts = PDF.page_texts(done.content)
    assert len(texts) == 3
    for text, code in zip(texts, batch["orders"], strict=True):
        assert f"OFFLINE {code}-1 Ticket" in text
    first = api.get(EVENT + f"orders/{batch['orders'][0]}/").json()
    assert PDF.qr_codes(done.content, page=0) == [first["positions"][0]["secret"]]
    # Only with its token, and only for its batch.
    assert api.get(path_of(url).rstrip("/")[:-4] + "0000/").status_code == 404
    other = create(api, amount=1)
    assert api.get(path_of(url).replace(f"/{batch['id']}/download/", f"/{other['id']}/download/")).status_code == 404


def test_the_download_url_answers_409_while_rendering_and_410_when_it_failed(api, held_jobs):
    batch = create_held(api, held_jobs, amount=2)
    started = api.post(BATCHES + f"{batch['id']}/render/")
    path = path_of(started.json()["download"])
    waiting = api.get(path)
    assert (waiting.status_code, waiting.json()) == (409, {"status": "waiting", "percentage": 0})
    # The batch's test-mode orders are deleted before a worker gets to the job: rendering fails.
    for code in batch["orders"]:
        assert api.delete(EVENT + f"orders/{code}/").status_code == 204
    api.kernel.jobs.run(held_jobs[-1])
    failed = api.get(path)
    assert failed.status_code == 410
    assert failed.json() == {"status": "failed", "message": "This batch has no valid tickets left to print."}
    # And the batch cannot be rendered again.
    assert api.post(BATCHES + f"{batch['id']}/render/").status_code == 400


def create_held(api: Any, held: list[str], **fields: Any) -> dict[str, Any]:
    started = api.post(BATCHES, body(api, testmode=True, **fields))
    api.kernel.jobs.run(held[-1])
    return api.get(path_of(started.json()["check"])).json()


def test_render_answers_404_for_unknown_batches_and_400_without_pdf_output(api):
    assert api.post(BATCHES + "999999/render/").status_code == 404
    batch = create(api, amount=1)
    assert api.patch(EVENT, {"plugins": ["offlinesales"]}).status_code == 200
    refused = api.post(BATCHES + f"{batch['id']}/render/")
    assert (refused.status_code, refused.json()) == (400, {"detail": "PDF tickets are switched off for this event."})


def test_rendered_files_expire_with_their_job(api):
    batch = create(api, amount=1)
    path = path_of(api.post(BATCHES + f"{batch['id']}/render/").json()["download"])
    assert api.get(path).status_code == 200
    with clock.time_machine(clock.now() + timedelta(days=3)):
        api.kernel.jobs.enqueue("core.delete_finished_jobs")
    assert api.get(path).status_code == 404


# --- the bulk placement service ----------------------------------------------------------------------------------


def test_bulk_placement_refuses_what_cannot_be_copied_and_sizes_out_of_range(api):
    with api.kernel.db.session() as session:
        event = session.scalar(select(Event).where(Event.slug == "democon"))
        for draft, count in [
            (OrderDraft(positions=[PositionDraft(item=api.item, secret="abc")], status="p"), 2),
            (OrderDraft(positions=[PositionDraft(item=api.item, voucher="X")], status="p"), 2),
            (OrderDraft(positions=[PositionDraft(item=api.item)], code="ABCDE"), 2),
            (OrderDraft(positions=[PositionDraft(item=api.item)]), 0),
            (OrderDraft(positions=[PositionDraft(item=api.item)]), bulk.MAX_ORDERS + 1),
        ]:
            with pytest.raises(OrderError):
                bulk.place_orders(api.kernel, session, event, draft, count, actor=Actor.system())


def test_bulk_placement_copies_add_ons_fees_and_prices(api):
    with api.kernel.db.session() as session:
        event = session.scalar(select(Event).where(Event.slug == "democon"))
        draft = OrderDraft(
            positions=[
                PositionDraft(positionid=1, item=api.item, price=Decimal("20.00")),
                PositionDraft(positionid=2, item=api.item, addon_to=1, price=Decimal("5.00")),
            ],
            fees=[FeeDraft(fee_type="service", value=Decimal("1.50"))],
            status="n",
            payment_provider="manual",
        )
        placed = bulk.place_orders(api.kernel, session, event, draft, 4, actor=Actor.system())
    assert len(placed) == 4 and all(len(order.position_ids) == 2 for order in placed)
    with api.kernel.db.session() as session:
        orders = list(session.scalars(select(Order).order_by(Order.id)))
        assert [order.code for order in orders] == [order.code for order in placed]
        for order in orders:
            assert (order.status, str(order.total)) == ("n", "26.50")
            assert [str(fee.value) for fee in order.fees] == ["1.50"]
            assert session.scalar(select(func.count()).where(Transaction.order_id == order.id)) == 3
            parent, addon = sorted(order.positions, key=lambda p: p.positionid)
            assert addon.addon_to_id == parent.id and str(addon.price) == "5.00"
            assert session.scalar(select(func.count()).where(OrderPayment.order_id == order.id)) == 1
        secrets = session.scalars(select(OrderPosition.secret)).all()
        assert len(set(secrets)) == 8


# --- with a real broker ------------------------------------------------------------------------------------------

REDIS_URL = os.environ.get("BOXOFFICE_TEST_REDIS_URL", "")


@pytest.mark.redis
@pytest.mark.skipif(not REDIS_URL, reason="BOXOFFICE_TEST_REDIS_URL is not set")
def test_with_a_broker_the_jobs_wait_for_a_worker(api, make_kernel):
    from litestar.testing import TestClient

    from boxoffice.apps.api import create_app

    queued = make_kernel(config_overrides={"redis_url": REDIS_URL})
    assert not queued.jobs.in_process
    with TestClient(app=create_app(queued)) as client:
        started = client.post(BATCHES, json=body(api, amount=2), headers=api.headers())
        assert started.status_code == 202, started.text
        check = path_of(started.json()["check"])
        waiting = client.get(check, headers=api.headers())
        assert (waiting.status_code, waiting.json()) == (409, {"status": "waiting"})
        job_id = check.rstrip("/").rsplit("/", 1)[1]
        queued.jobs.run(job_id)  # what the worker does with the task
        batch = client.get(check, headers=api.headers()).json()
        assert len(batch["orders"]) == 2
        render = client.post(BATCHES + f"{batch['id']}/render/", headers=api.headers())
        download = path_of(render.json()["download"])
        assert client.get(download, headers=api.headers()).status_code == 409
        queued.jobs.run(download.split("/download/")[1].split("/")[0])
        done = client.get(download, headers=api.headers())
        assert done.status_code == 200 and len(PDF.page_texts(done.content)) == 2


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b"null",
        b'{"item": null, "amount": 1, "layout": 1}',
        b'{"item": 99999999999999999999, "amount": 1, "layout": -5}',
        b'{"item": 1, "amount": 1e9, "layout": 1}',
        b'{"item": 1, "amount": true, "layout": 1}',
        b'{"item": 1, "amount": 1, "layout": 1, "sales_channel": "' + b"x" * 100_000 + b'"}',
        b'{"item": 1, "amount": 1, "layout": 1, "comment": 5}',
    ],
)
def test_nasty_bodies_are_400_never_500(api, raw):
    response = api.client.post(BATCHES, content=raw, headers={**api.headers(), "Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert isinstance(response.json(), dict)
    assert counts(api)[3] == 0
