"""The shredder API end to end: list (plugin off → none), export (ZIP with what will go), shred once with the
export's URL, status; refused for events that are not over; URLs bound to the credentials that started them.

The central check searches every text and JSON column of every table for the shredded e-mail addresses and names
and compares the event's totals, payments and ledger before and after."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

from export_world import EVENT, add_question, enable, past, path_of, place, poll
from sqlalchemy import JSON, String, Text, func, select, text
from sqlalchemy.types import TypeDecorator

from boxoffice.kernel import clock
from boxoffice.kernel.db import Base
from boxoffice.kernel.models import Event, LogEntry
from boxoffice.kernel.models.invoices import Invoice
from boxoffice.kernel.models.orders import Order, OrderPayment, Transaction

SHREDDERS = EVENT + "shredders/"
ALL = ["order_emails", "phone_numbers", "invoice_address", "attendee_info", "question_answers", "payment_info",
       "invoices"]  # fmt: skip


def text_columns() -> list[tuple[str, str]]:
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
            if isinstance(kind, String | Text | JSON):
                found.append((table.name, column.name))
    return found


def database_hits(kernel, needles: set[str]) -> list[tuple[str, str, str]]:
    """Every (table, column, needle) where a text or JSON value contains one of ``needles``."""
    hits = []
    with kernel.db.engine.connect() as connection:
        for table, column in text_columns():
            quoted = connection.dialect.identifier_preparer
            statement = text(f"SELECT {quoted.quote(column)} FROM {quoted.quote(table)}")
            for (value,) in connection.execute(statement):
                if value is None:
                    continue
                rendered = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                hits += [(table, column, needle) for needle in needles if needle in rendered]
    return hits


def ledger(api) -> tuple:
    with api.kernel.db.session() as session:
        event_id = session.scalar(select(Event.id).where(Event.slug == "democon"))
        totals = session.execute(
            select(func.count(Order.id), func.sum(Order.total)).where(Order.event_id == event_id)
        ).one()
        paid = session.scalar(select(func.sum(OrderPayment.amount)).join(Order).where(Order.event_id == event_id))
        transactions = session.execute(
            select(func.count(Transaction.id), func.sum(Transaction.price), func.sum(Transaction.tax_value))
            .join(Order)
            .where(Order.event_id == event_id)
        ).one()
        statuses = sorted(session.scalars(select(Order.status).where(Order.event_id == event_id)))
        return tuple(totals), paid, tuple(transactions), statuses


def test_shredders_are_listed_only_where_the_plugin_is_enabled(api):
    assert api.get(SHREDDERS).json()["count"] == 0
    assert api.post(SHREDDERS + "export/", {"shredders": ["order_emails"]}).json() == {
        "shredders": ['"order_emails" is not a valid choice.']
    }
    enable(api, "shredders")
    listed = api.get(SHREDDERS).json()
    assert [entry["identifier"] for entry in listed["results"]] == ALL
    assert listed["results"][0]["verbose_name"] == "E-mail addresses"


def test_shredding_needs_a_past_event_and_an_offline_shop(api):
    enable(api, "shredders")
    refused = api.post(SHREDDERS + "export/", {"shredders": ["order_emails"]})
    assert refused.status_code == 400
    assert refused.json() == {"detail": "Your event needs to be over to use this feature."}
    past(api)
    from export_world import set_event

    set_event(api, live=True)
    assert api.post(SHREDDERS + "export/", {"shredders": ["order_emails"]}).json() == {
        "detail": "Your ticket shop needs to be offline to use this feature."
    }
    set_event(api, live=False)
    assert api.post(SHREDDERS + "export/", {"shredders": []}).json() == {"shredders": ["This list may not be empty."]}
    assert api.post(SHREDDERS + "export/", {"shredders": "x"}).status_code == 400
    assert api.post(SHREDDERS + "export/", {"shredders": ["order_emails"]}).status_code == 202
    reader = api.make_token(event_permissions=("event.orders:read",))
    assert api.get(SHREDDERS, token=reader).status_code == 403
    assert api.post(SHREDDERS + "export/", {"shredders": ["order_emails"]}, token=reader).status_code == 403


def test_full_shred_leaves_no_personal_data_and_the_totals_unchanged(api):
    enable(api, "shredders")
    question = add_question(api)
    with api.kernel.db.session() as session:
        event = session.scalar(select(Event).where(Event.slug == "democon"))
        api.kernel.settings_for(session, event=event).update({"invoice_generate": "True"})
    first = place(
        api,
        email="ada.lovelace@analytical.example",
        names=("Ada Lovelace", "Charles Babbage"),
        invoice_name="Augusta Byron",
        answers={question: "Vegetarian Zanzibar"},
        phone="+4930123456789",
    )
    place(api, email="grace.hopper@navy.example", names=("Grace Hopper",), status="n", invoice_name="Grace Murray")
    with api.kernel.db.session() as session:
        # A payment provider recorded the payer, and the audit log has the address from a change.
        payment = session.scalar(select(OrderPayment).join(Order).where(Order.code == first["code"]))
        payment.info = {"payer": "Augusta Ada King", "iban": "DE02120300000000202051"}
        order = session.scalar(select(Order).where(Order.code == first["code"]))
        session.add(
            LogEntry(
                organizer_id=order.event.organizer_id,
                event_id=order.event_id,
                object_type="order",
                object_id=str(order.id),
                action_type="boxoffice.event.order.contact.changed",
                actor_type="token",
                data={"email": "ada.lovelace@analytical.example", "name": "Ada Lovelace", "code": order.code},
            )
        )
        assert session.scalar(select(func.count(Invoice.id))) == 2
    needles = {
        "ada.lovelace@analytical.example", "grace.hopper@navy.example", "ada@attendees.example",
        "charles@attendees.example", "Lovelace", "Babbage", "Hopper", "Augusta", "Byron", "Grace Murray",
        "Vegetarian Zanzibar", "+4930123456789", "DE02120300000000202051", "Analytical Street", "Engineton",
    }  # fmt: skip
    assert {needle for _t, _c, needle in database_hits(api.kernel, needles)} == needles
    before = ledger(api)
    past(api)

    # The invoices are recent: only after the legal retention period may they go, so shred eleven years on.
    with clock.time_machine(clock.now() + timedelta(days=11 * 366)):
        started = api.post(SHREDDERS + "export/", {"shredders": ALL})
        assert started.status_code == 202, started.text
        urls = started.json()
        download = poll(api, urls["download"])
        assert download.status_code == 200, download.text
        assert download.headers["content-type"] == "application/zip"
        archive = zipfile.ZipFile(io.BytesIO(download.content))
        names = archive.namelist()
        assert "CONFIRM_CODE.txt" in names
        emails = archive.read("order_emails/emails.csv").decode()
        assert "ada.lovelace@analytical.example" in emails and "charles@attendees.example" in emails
        assert "Vegetarian Zanzibar" in archive.read("question_answers/answers.csv").decode()
        assert "Augusta" in archive.read("invoice_address/invoice_addresses.csv").decode()
        assert any(name.startswith("invoices/") and name.endswith(".pdf") for name in names)
        # Another key can neither download nor shred.
        other = api.make_token()
        assert api.get(path_of(urls["download"]), token=other).status_code == 404
        assert api.post(path_of(urls["shred"]), token=other).status_code == 404

        shredding = api.post(path_of(urls["shred"]))
        assert shredding.status_code == 202, shredding.text
        status = poll(api, shredding.json()["status"])
        assert status.status_code == 200, status.text
        # One confirmation shreds once; the export is gone from the server.
        assert api.post(path_of(urls["shred"])).status_code == 410
        assert api.get(path_of(urls["download"])).status_code == 404

    assert database_hits(api.kernel, needles) == []
    assert ledger(api) == before
    with api.kernel.db.session() as session:
        entry = session.scalar(select(LogEntry).where(LogEntry.action_type == "boxoffice.event.shredder.shredded"))
        assert entry.data["shredders"] == ALL
        assert session.scalar(
            select(LogEntry.shredded).where(LogEntry.action_type == "boxoffice.event.order.contact.changed")
        )
    # The order API still answers, with the masked values.
    order = api.get(EVENT + f"orders/{first['code']}/").json()
    assert order["email"] == "█" * len("ada.lovelace@analytical.example")
    assert order["total"] == first["total"]


def test_retained_invoices_are_kept(api):
    enable(api, "shredders")
    with api.kernel.db.session() as session:
        event = session.scalar(select(Event).where(Event.slug == "democon"))
        api.kernel.settings_for(session, event=event).update({"invoice_generate": "True"})
    place(api, email="ada@example.org", names=("Ada Lovelace",), invoice_name="Augusta Byron")
    past(api)
    urls = api.post(SHREDDERS + "export/", {"shredders": ["invoices", "invoice_address"]}).json()
    assert poll(api, urls["download"]).status_code == 200
    assert poll(api, api.post(path_of(urls["shred"])).json()["status"]).status_code == 200
    hits = database_hits(api.kernel, {"Augusta Byron"})
    assert hits and {table for table, _c, _n in hits} == {"invoice"}


def test_shred_before_the_export_is_done_is_409_and_a_failed_export_410(api):
    enable(api, "shredders")
    past(api)
    from sqlalchemy import update

    from boxoffice.kernel.models import JobRecord

    urls = api.post(SHREDDERS + "export/", {"shredders": ["order_emails"]}).json()
    job_id = path_of(urls["shred"]).rstrip("/").split("/")[-2]
    with api.kernel.db.session() as session:
        session.execute(update(JobRecord).where(JobRecord.id == job_id).values(status="running"))
    assert api.post(path_of(urls["shred"])).status_code == 409
    assert api.get(path_of(urls["download"])).json() == {"status": "running"}
    with api.kernel.db.session() as session:
        session.execute(update(JobRecord).where(JobRecord.id == job_id).values(status="failed", error="Boom."))
    assert api.post(path_of(urls["shred"])).status_code == 410
    assert api.get(path_of(urls["download"])).status_code == 410
    assert api.get(SHREDDERS + f"status/{job_id}/0000/").status_code == 410
