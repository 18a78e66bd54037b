"""The invoices API: create_invoice, lists with filters, detail, PDF download (409 until rendered), reissue,
regenerate, transmit/retransmit against a real SMTP server, resend_link, permissions and bad input."""

from __future__ import annotations

from sqlalchemy import select

from boxoffice.kernel.models import LogEntry
from boxoffice.kernel.models.invoices import Invoice

EVENT = "/api/v1/organizers/demo/events/democon"
INVOICES = EVENT + "/invoices/"


def place(api, **fields) -> str:
    item = api.get(EVENT + "/items/").json()["results"][0]["id"]
    body = {
        "email": "buyer@example.org",
        "locale": "en",
        "payment_provider": "manual",
        "positions": [{"item": item, "price": "35.00", "attendee_name": "Ada Lovelace"}],
        "invoice_address": {
            "name": "Ada Lovelace",
            "street": "1 Main St",
            "zipcode": "12345",
            "city": "Town",
            "country": "GB",
        },
        **fields,
    }
    response = api.post(EVENT + "/orders/", body)
    assert response.status_code == 201, response.text
    return response.json()["code"]


def settings(api, **values) -> None:
    response = api.patch(EVENT + "/settings/", values)
    assert response.status_code == 200, response.text


def create_invoice(api, code: str):
    return api.post(f"{EVENT}/orders/{code}/create_invoice/")


def test_create_invoice_issues_one_invoice_per_order(api) -> None:
    code = place(api)
    refused = create_invoice(api, code)
    assert refused.status_code == 400 and "invoice_generate" in refused.json()["detail"]
    settings(api, invoice_generate="admin", invoice_address_from_name="Demo GmbH")
    created = create_invoice(api, code)
    assert created.status_code == 200, created.text
    invoice = created.json()
    assert (invoice["number"], invoice["order"], invoice["event"]) == ("DEMOCON-00001", code, "democon")
    assert invoice["is_cancellation"] is False and invoice["refers"] is None
    assert invoice["invoice_from_name"] == "Demo GmbH"
    assert invoice["invoice_to"] == "Ada Lovelace\n1 Main St\n12345 Town\nUnited Kingdom"
    (line,) = invoice["lines"]
    assert (line["position"], line["description"], line["gross_value"], line["attendee_name"]) == (
        1,
        "Ticket",
        "35.00",
        "Ada Lovelace",
    )
    assert line["period_start"] == line["event_date_from"] == "2031-05-01T09:00:00Z"
    assert (invoice["transmission_type"], invoice["transmission_status"]) == ("email", "pending")
    again = create_invoice(api, code)
    assert again.status_code == 400 and "already exists" in again.json()["detail"]
    with api.kernel.db.session() as session:
        actions = set(session.scalars(select(LogEntry.action_type)))
    assert "boxoffice.event.order.invoice.created" in actions


def test_lists_filter_and_order(api) -> None:
    settings(api, invoice_generate="admin")
    codes = [place(api) for _ in range(3)]
    for code in codes:
        assert create_invoice(api, code).status_code == 200
    assert api.post(INVOICES + "DEMOCON-00001/reissue/").status_code == 204
    listed = api.get(INVOICES).json()
    assert listed["count"] == 5
    assert [entry["number"] for entry in listed["results"]] == [f"DEMOCON-0000{n}" for n in range(1, 6)]
    assert api.get(INVOICES + "?is_cancellation=true").json()["results"][0]["refers"] == "DEMOCON-00001"
    by_order = api.get(f"{INVOICES}?order={codes[0]}&order={codes[2]}").json()["results"]
    assert sorted(entry["number"] for entry in by_order) == [
        "DEMOCON-00001",
        "DEMOCON-00003",
        "DEMOCON-00004",
        "DEMOCON-00005",
    ]
    by_number = api.get(INVOICES + "?number=DEMOCON-00002&number=00003").json()["results"]
    assert [entry["number"] for entry in by_number] == ["DEMOCON-00002", "DEMOCON-00003"]
    assert api.get(INVOICES + "?refers=DEMOCON-00001").json()["count"] == 1
    assert api.get(INVOICES + "?locale=de").json()["count"] == 0
    assert api.get(INVOICES + "?ordering=-nr").json()["results"][0]["number"] == "DEMOCON-00005"
    assert api.get(INVOICES + "?ordering=date").status_code == 200
    assert api.get(INVOICES + "?ordering=total").json() == {
        "ordering": ["Select a valid choice. total is not one of the choices."]
    }
    assert api.get(INVOICES + "?is_cancellation=maybe").status_code == 400
    organizer = api.get("/api/v1/organizers/demo/invoices/").json()
    assert organizer["count"] == 5 and organizer["results"][0]["event"] == "democon"
    assert api.get("/api/v1/organizers/demo/invoices/?event=other").json()["count"] == 0
    assert api.get(INVOICES + "DEMOCON-00002/").json()["order"] == codes[1]
    assert api.get(INVOICES + "00002/").json()["number"] == "DEMOCON-00002"
    assert api.get(INVOICES + "DEMOCON-99999/").status_code == 404


def test_permissions(api) -> None:
    settings(api, invoice_generate="admin")
    code = place(api)
    reader = api.make_token(event_permissions=("event.orders:read",))
    outsider = api.make_token(event_permissions=("event.vouchers:read",))
    assert api.post(f"{EVENT}/orders/{code}/create_invoice/", token=reader).status_code == 403
    assert create_invoice(api, code).status_code == 200
    assert api.get(INVOICES, token=reader).json()["count"] == 1
    assert api.get(INVOICES, token=outsider).status_code == 403
    assert api.get("/api/v1/organizers/demo/invoices/", token=outsider).json()["count"] == 0
    assert api.post(INVOICES + "DEMOCON-00001/reissue/", token=reader).status_code == 403
    assert api.get("/api/v1/organizers/rival/events/rivalcon/invoices/").status_code == 403


def test_download_answers_409_until_the_file_is_rendered(api) -> None:
    settings(api, invoice_generate="admin")
    create_invoice(api, place(api))
    with api.kernel.db.session() as session:
        # As if the render job had not run yet (the file columns are the only ones that may change).
        invoice = session.scalar(select(Invoice))
        invoice.file_content = invoice.file_name = invoice.file_content_type = None
    pending = api.get(INVOICES + "DEMOCON-00001/download/")
    assert pending.status_code == 409 and "not ready" in pending.json()["detail"]
    # The 409 queued a render job; without a broker it ran when that request's transaction committed.
    ready = api.get(INVOICES + "DEMOCON-00001/download/")
    assert ready.status_code == 200
    assert ready.headers["content-type"] == "application/pdf"
    assert ready.headers["content-disposition"] == 'attachment; filename="DEMOCON-00001.pdf"'
    assert ready.content.startswith(b"%PDF")
    assert api.post(INVOICES + "DEMOCON-00001/regenerate/").status_code == 204
    assert api.get(INVOICES + "DEMOCON-00001/download/").content.startswith(b"%PDF")


def test_reissue_cancels_and_replaces(api) -> None:
    settings(api, invoice_generate="admin")
    create_invoice(api, place(api))
    assert api.post(INVOICES + "DEMOCON-00001/reissue/").status_code == 204
    cancellation = api.get(INVOICES + "DEMOCON-00002/").json()
    assert cancellation["is_cancellation"] and cancellation["refers"] == "DEMOCON-00001"
    assert cancellation["lines"][0]["gross_value"] == "-35.00"
    assert api.get(INVOICES + "DEMOCON-00003/").json()["is_cancellation"] is False
    assert api.post(INVOICES + "DEMOCON-00001/reissue/").json() == {"detail": "This invoice has already been canceled."}
    assert api.post(INVOICES + "DEMOCON-00002/reissue/").status_code == 400


def test_transmit_and_retransmit_by_email(api, smtp_server) -> None:
    host, port, inbox = smtp_server
    settings(api, invoice_generate="admin", smtp_use_custom=True, smtp_host=host, smtp_port=port)
    create_invoice(api, place(api))
    # The e-mail plugin is off on this event: no provider, the invoice stays pending.
    refused = api.post(INVOICES + "DEMOCON-00001/transmit/")
    assert refused.status_code == 400 and "No transmission provider" in refused.json()["detail"]
    assert api.patch(EVENT + "/", {"plugins": ["invoiceemail"]}).status_code == 200
    assert api.post(INVOICES + "DEMOCON-00001/transmit/").status_code == 204
    invoice = api.get(INVOICES + "DEMOCON-00001/").json()
    assert (invoice["transmission_status"], invoice["transmission_provider"]) == ("completed", "email_pdf")
    assert invoice["transmission_date"] is not None
    assert len(inbox.messages) == 1 and inbox.parsed()["Subject"] == "Invoice DEMOCON-00001"
    assert api.post(INVOICES + "DEMOCON-00001/transmit/").status_code == 400
    inbox.refuse_with = "451 4.3.0 Try again later"
    assert api.post(INVOICES + "DEMOCON-00001/retransmit/").status_code == 204
    assert api.get(INVOICES + "DEMOCON-00001/").json()["transmission_status"] == "failed"
    with api.kernel.db.session() as session:
        session.scalar(select(Invoice)).transmission_status = "inflight"
    assert api.post(INVOICES + "DEMOCON-00001/transmit/").status_code == 409
    assert api.post(INVOICES + "DEMOCON-00001/retransmit/").status_code == 409


def test_invoices_are_issued_and_mailed_when_an_order_is_placed(api, smtp_server) -> None:
    host, port, inbox = smtp_server
    settings(api, invoice_generate="True", smtp_use_custom=True, smtp_host=host, smtp_port=port)
    assert api.patch(EVENT + "/", {"plugins": ["invoiceemail"]}).status_code == 200
    code = place(api)
    (invoice,) = api.get(f"{INVOICES}?order={code}").json()["results"]
    assert invoice["transmission_status"] == "completed"
    assert inbox.messages[0][1] == ["buyer@example.org"]


def test_resend_link_mails_the_buyer(api, smtp_server) -> None:
    code = place(api)
    unavailable = api.post(f"{EVENT}/orders/{code}/resend_link/")
    assert unavailable.status_code == 503
    host, port, inbox = smtp_server
    settings(api, smtp_use_custom=True, smtp_host=host, smtp_port=port)
    assert api.post(f"{EVENT}/orders/{code}/resend_link/").status_code == 204
    message = inbox.parsed()
    assert message["Subject"] == f"Your order: {code}"
    assert f"/demo/democon/order/{code}/" in message.get_body(("plain",)).get_content()


def test_changing_an_order_reissues_its_invoice(api) -> None:
    settings(api, invoice_generate="admin")
    code = place(api)
    create_invoice(api, code)
    position = api.get(f"{EVENT}/orders/{code}/").json()["positions"][0]["id"]
    body = {"patch_positions": [{"position": position, "body": {"price": "50.00"}}]}
    assert api.post(f"{EVENT}/orders/{code}/change/", body).status_code == 200
    numbers = [
        (entry["number"], entry["is_cancellation"]) for entry in api.get(f"{INVOICES}?order={code}").json()["results"]
    ]
    assert numbers == [("DEMOCON-00001", False), ("DEMOCON-00002", True), ("DEMOCON-00003", False)]
    assert api.get(INVOICES + "DEMOCON-00003/").json()["lines"][0]["gross_value"] == "50.00"
    # Without reissue_invoice the invoice stays as it is.
    body = {"patch_positions": [{"position": position, "body": {"price": "60.00"}}], "reissue_invoice": False}
    assert api.post(f"{EVENT}/orders/{code}/change/", body).status_code == 200
    assert api.get(f"{INVOICES}?order={code}").json()["count"] == 3
    # Changing only the contact data leaves the invoice alone, too.
    assert api.patch(f"{EVENT}/orders/{code}/", {"email": "new@example.org"}).status_code == 200
    assert api.get(f"{INVOICES}?order={code}").json()["count"] == 3
