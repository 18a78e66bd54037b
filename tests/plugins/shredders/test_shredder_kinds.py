"""Each shredder on its own: the export it offers holds exactly the data it then removes, it removes only its own
kind of data, and amounts, states and the ledger stay as they were."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

from export_world import add_question, place
from sqlalchemy import select

from boxoffice.kernel import clock, shredding
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.api_state import UploadedFile
from boxoffice.kernel.models.orders import InvoiceAddress, Order, OrderPayment, OrderPosition, QuestionAnswer

MASKED = "█"


def run(api, identifier: str) -> dict[str, bytes]:
    """Export then shred with one shredder, in one unit of work like the jobs do; returns the exported files."""
    with api.kernel.db.session() as session:
        event = session.scalar(select(Event).where(Event.slug == "democon"))
        shredder = shredding.event_shredders(api.kernel, session, event)[identifier]
        files = {name: content for name, _type, content in shredder.generate_files()}
        shredder.shred_data(None)
    return files


def rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode())))


def snapshot(api, code: str) -> dict:
    with api.kernel.db.session() as session:
        order = session.scalar(select(Order).where(Order.code == code))
        address = session.scalar(select(InvoiceAddress).where(InvoiceAddress.order_id == order.id))
        positions = list(session.scalars(select(OrderPosition).where(OrderPosition.order_id == order.id)))
        answers = list(
            session.scalars(
                select(QuestionAnswer).where(QuestionAnswer.orderposition_id.in_([p.id for p in positions]))
            )
        )
        payment = session.scalar(select(OrderPayment).where(OrderPayment.order_id == order.id))
        return {
            "email": order.email,
            "phone": order.phone,
            "total": order.total,
            "status": order.status,
            "names": [p.attendee_name_cached for p in positions],
            "attendee_emails": [p.attendee_email for p in positions],
            "prices": [p.price for p in positions],
            "city": address.city if address else None,
            "answers": [a.answer for a in answers],
            "files": [a.file_id for a in answers],
            "payment": (payment.amount, payment.state, payment.info),
        }


def test_email_shredder(api):
    order = place(api, email="ada@example.org", names=("Ada Lovelace",), invoice_name="Ada Lovelace")
    before = snapshot(api, order["code"])
    files = run(api, "order_emails")
    exported = rows(files["emails.csv"])
    assert exported[0]["Order e-mail"] == "ada@example.org"
    assert exported[1]["Attendee e-mail"] == "ada@attendees.example"
    after = snapshot(api, order["code"])
    assert after["email"] == MASKED * len("ada@example.org")
    assert after["attendee_emails"] == [MASKED * len("ada@attendees.example")]
    assert after["names"] == before["names"] and after["city"] == before["city"]
    assert (after["total"], after["status"], after["prices"]) == (before["total"], before["status"], before["prices"])


def test_attendee_and_invoice_address_shredders(api):
    order = place(api, email="ada@example.org", names=("Ada Lovelace", "Alan Turing"), invoice_name="Augusta Byron")
    files = run(api, "attendee_info")
    assert [row["Name"] for row in rows(files["attendees.csv"])] == ["Ada Lovelace", "Alan Turing"]
    after = snapshot(api, order["code"])
    assert after["names"] == [MASKED * 12, MASKED * 11]
    assert after["email"] == "ada@example.org" and after["city"] == "Engineton"
    files = run(api, "invoice_address")
    assert rows(files["invoice_addresses.csv"])[0]["city"] == "Engineton"
    assert snapshot(api, order["code"])["city"] == MASKED * len("Engineton")


def test_answers_and_uploaded_files(api):
    question = add_question(api)
    order = place(api, email="ada@example.org", names=("Ada Lovelace",), answers={question: "No nuts"})
    file_id = str(uuid.uuid4())
    with api.kernel.db.session() as session:
        session.add(UploadedFile(id=file_id, credentials="x", filename="cv.pdf", content_type="application/pdf",
                                 content=b"%PDF-1.4 resume"))  # fmt: skip
        answer = session.scalar(select(QuestionAnswer))
        answer.file_id = file_id
    files = run(api, "question_answers")
    assert rows(files["answers.csv"])[0]["Answer"] == "No nuts"
    assert files[f"{order['code']}-1-cv.pdf"] == b"%PDF-1.4 resume"
    after = snapshot(api, order["code"])
    assert after["answers"] == [MASKED * len("No nuts")] and after["files"] == [None]
    with api.kernel.db.session() as session:
        assert session.get(UploadedFile, file_id) is None


def test_phone_and_payment_info(api):
    order = place(api, email="ada@example.org", names=("Ada Lovelace",), phone="+441234567")
    with api.kernel.db.session() as session:
        payment = session.scalar(select(OrderPayment))
        payment.info = {"payer": "Ada King", "reference": 42}
    before = snapshot(api, order["code"])
    assert rows(run(api, "phone_numbers")["phone_numbers.csv"])[0]["Phone"] == "+441234567"
    assert snapshot(api, order["code"])["phone"] == MASKED * 10
    exported = rows(run(api, "payment_info")["payment_info.csv"])
    assert "Ada King" in exported[0]["Details"]
    amount, state, info = snapshot(api, order["code"])["payment"]
    assert (amount, state) == before["payment"][:2]
    assert info == {"payer": MASKED * 8, "reference": 42}


def test_invoices_are_kept_for_the_retention_period(api):
    with api.kernel.db.session() as session:
        event = session.scalar(select(Event).where(Event.slug == "democon"))
        api.kernel.settings_for(session, event=event).update({"invoice_generate": "True"})
    place(api, email="ada@example.org", names=("Ada Lovelace",), invoice_name="Augusta Byron")
    assert rows(run(api, "invoices")["invoices.csv"]) == []
    with api.kernel.db.session() as session:
        event = session.scalar(select(Event).where(Event.slug == "democon"))
        api.kernel.settings_for(session, event=event).update({"shredders_invoice_retention_years": 1})
    with clock.time_machine(clock.now() + timedelta(days=400)):
        files = run(api, "invoices")
    assert rows(files["invoices.csv"])[0]["Name"] == "Augusta Byron"
    assert any(name.endswith(".pdf") for name in files)
    from boxoffice.kernel.models.invoices import Invoice

    with api.kernel.db.session() as session:
        invoice = session.scalar(select(Invoice))
        assert invoice.invoice_to_name == MASKED * len("Augusta Byron")
        assert invoice.file_content is None
        assert invoice.full_invoice_no  # the number and sums stay for the books


def test_disabled_plugin_offers_no_shredders(api):
    with api.kernel.db.session() as session:
        event = session.scalar(select(Event).where(Event.slug == "democon"))
        assert "order_emails" in shredding.event_shredders(api.kernel, session, event)
        event.plugins = []
        session.flush()
        assert shredding.event_shredders(api.kernel, session, event) == {}
