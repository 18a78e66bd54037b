"""Every bundled exporter run through the API, its file parsed back (CSV, Excel, JSON, PDF) and compared with the
orders it covers."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal

from export_world import EVENT, ORGANIZER, add_item, add_question, place, poll
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from boxoffice.kernel.models import Event
from boxoffice.kernel.models.checkin import Checkin, CheckinList
from boxoffice.kernel.models.orders import Order, OrderPosition


def export(api, identifier: str, params: dict | None = None, base: str = EVENT) -> bytes:
    started = api.post(base + f"exporters/{identifier}/run/", params or {})
    assert started.status_code == 202, started.text
    done = poll(api, started.json()["download"])
    assert done.status_code == 200, done.text
    return done.content


def table(content: bytes, delimiter: str = ",") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig")), delimiter=delimiter))


def test_position_list_with_answers_in_every_format(api):
    question = add_question(api)
    first = place(api, email="ada@example.org", names=("Ada Lovelace", "Alan Turing"), answers={question: "Vegan"})
    second = place(api, email="grace@example.org", names=("=Grace Hopper",), status="n")
    rows = table(export(api, "positionlist"))
    assert [(row["Order code"], row["Position"], row["Attendee name"]) for row in rows] == [
        (first["code"], "1", "Ada Lovelace"),
        (first["code"], "2", "Alan Turing"),
        (second["code"], "1", "=Grace Hopper"),
    ]
    assert rows[0]["Dietary wishes"] == "Vegan" and rows[2]["Dietary wishes"] == ""
    assert rows[0]["Product"] == "Ticket" and rows[0]["Price"] == "35.00"
    assert rows[2]["Order status"] == "pending"
    semicolon = table(export(api, "positionlist", {"_format": "semicolon"}), delimiter=";")
    assert semicolon == rows
    excel_csv = export(api, "positionlist", {"_format": "csv-excel"})
    assert excel_csv.startswith(b"\xef\xbb\xbf") and b"'=Grace Hopper" in excel_csv
    workbook = load_workbook(io.BytesIO(export(api, "positionlist", {"_format": "xlsx"})), read_only=True)
    sheet = list(workbook.worksheets[0].iter_rows(values_only=True))
    assert sheet[0][:3] == ("Order code", "Position", "Order status")
    assert [row[0] for row in sheet[1:]] == [first["code"], first["code"], second["code"]]
    assert sheet[3][9] == "'=Grace Hopper"  # text, never a formula
    assert Decimal(str(sheet[1][6])) == Decimal("35.00")
    data = json.loads(export(api, "positionlist", {"_format": "json"}))
    assert [entry["Attendee name"] for entry in data] == ["Ada Lovelace", "Alan Turing", "=Grace Hopper"]
    assert data[0]["Price"] == "35.00"


def test_payment_list(api):
    paid = place(api, email="ada@example.org", names=("Ada Lovelace",))
    pending = place(api, email="bob@example.org", names=("Bob Builder", "Wendy Builder"), status="n")
    rows = table(export(api, "paymentlist"))
    by_order = {row["Order code"]: row for row in rows}
    assert by_order[paid["code"]]["Type"] == "payment"
    assert by_order[paid["code"]]["State"] == "confirmed"
    assert by_order[paid["code"]]["Amount"] == paid["total"]
    assert by_order[paid["code"]]["ID"] == f"{paid['code']}-P-1"
    assert by_order[paid["code"]]["Payment method"] == "manual"
    only_confirmed = table(export(api, "paymentlist", {"states": ["confirmed"]}))
    assert [row["Order code"] for row in only_confirmed] == [paid["code"]]
    assert pending["code"] not in [row["Order code"] for row in only_confirmed]


def test_checkin_list_as_csv_and_pdf(api):
    first = place(api, email="ada@example.org", names=("Zoe Zed", "Ada Lovelace"))
    place(api, email="bob@example.org", names=("Bob Builder",), status="n")
    with api.kernel.db.session() as session:
        event = session.scalar(select(Event).where(Event.slug == "democon"))
        checkin_list = CheckinList(event_id=event.id, name="Main entrance")
        session.add(checkin_list)
        session.flush()
        zoe = session.scalar(
            select(OrderPosition).join(Order).where(Order.code == first["code"], OrderPosition.positionid == 1)
        )
        session.add(
            Checkin(list_id=checkin_list.id, position_id=zoe.id, datetime=datetime(2031, 5, 1, 9, 30, tzinfo=UTC))
        )
        list_id = checkin_list.id
    rows = table(export(api, "checkinlist", {"list": list_id}))
    # Sorted by name; the pending order is not on a list that leaves pending orders out.
    assert [(row["Attendee name"], row["Checked in"]) for row in rows] == [
        ("Ada Lovelace", ""),
        ("Zoe Zed", "2031-05-01T09:30:00+00:00"),
    ]
    assert "Secret" not in rows[0]
    assert [
        row["Attendee name"] for row in table(export(api, "checkinlist", {"list": list_id, "status": "checked_in"}))
    ] == ["Zoe Zed"]
    with_secrets = table(export(api, "checkinlist", {"list": list_id, "secrets": True}))
    assert with_secrets[1]["Secret"] == first["positions"][0]["secret"]
    pdf = PdfReader(io.BytesIO(export(api, "checkinlist", {"list": list_id, "_format": "pdf"})))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert "Check-in list" in text and "Zoe Zed" in text and "Ada Lovelace" in text and "Bob Builder" not in text


def test_invoice_data(api):
    with api.kernel.db.session() as session:
        event = session.scalar(select(Event).where(Event.slug == "democon"))
        api.kernel.settings_for(session, event=event).update({"invoice_generate": "True"})
    first = place(api, email="ada@example.org", names=("Ada Lovelace", "Alan Turing"), invoice_name="Ada Lovelace")
    second = place(api, email="bob@example.org", names=("Bob Builder",), invoice_name="Bob Builder")
    rows = table(export(api, "invoicedata"))
    assert [(row["Order code"], row["Type"]) for row in rows] == [
        (first["code"], "invoice"),
        (second["code"], "invoice"),
    ]
    assert rows[0]["Gross"] == first["total"] and rows[1]["Gross"] == second["total"]
    assert Decimal(rows[0]["Net"]) + Decimal(rows[0]["Tax"]) == Decimal(rows[0]["Gross"])
    assert rows[0]["Name"] == "Ada Lovelace" and rows[0]["City"] == "Engineton"
    assert rows[0]["Invoice number"] and rows[0]["Invoice number"] != rows[1]["Invoice number"]


def test_sales_and_quota_overview(api):
    place(api, email="ada@example.org", names=("Ada Lovelace", "Alan Turing"))
    place(api, email="bob@example.org", names=("Bob Builder",), status="n")
    sales = table(export(api, "salesoverview"))
    assert sales[0]["Product"] == "Ticket"
    assert (sales[0]["Paid tickets"], sales[0]["Paid revenue"]) == ("2", "70.00")
    assert (sales[0]["Pending tickets"], sales[0]["Pending revenue"]) == ("1", "35.00")
    assert sales[-1]["Product"] == "Total" and sales[-1]["Paid revenue"] == "70.00"
    quotas = table(export(api, "quotaoverview"))
    assert quotas == [
        {"Quota": "Tickets", "Size": "100", "Paid": "2", "Pending": "1", "In carts": "0",
         "Blocked by vouchers": "0", "Waiting list": "0", "Available": "97"}
    ]  # fmt: skip


def test_whole_event_as_json(api):
    question = add_question(api)
    first = place(api, email="ada@example.org", names=("Ada Lovelace", "Alan Turing"), answers={question: "Tea"},
                  invoice_name="Ada Lovelace")  # fmt: skip
    second = place(api, email="bob@example.org", names=("Bob Builder",), status="n")
    data = json.loads(export(api, "eventdata"))
    assert data["event"]["slug"] == "democon"
    assert [item["name"]["en"] for item in data["items"]] == ["Ticket"]
    assert data["quotas"][0]["name"] == "Tickets"
    assert data["questions"][0]["key"] == "DIET"
    orders = {order["code"]: order for order in data["orders"]}
    assert set(orders) == {first["code"], second["code"]}
    ada = orders[first["code"]]
    assert ada["total"] == first["total"] and ada["email"] == "ada@example.org"
    assert [p["attendee_name_cached"] for p in ada["positions"]] == ["Ada Lovelace", "Alan Turing"]
    assert ada["positions"][0]["answers"] == [{"question": question, "answer": "Tea", "options": []}]
    assert ada["payments"][0]["state"] == "confirmed"
    assert ada["invoice_address"]["city"] == "Engineton"
    paid_only = json.loads(export(api, "eventdata", {"paid_only": True}))
    assert [order["code"] for order in paid_only["orders"]] == [first["code"]]


def test_organizer_level_exports_cover_several_events(api):
    add_item(api, "other")
    mine = place(api, email="ada@example.org", names=("Ada Lovelace",))
    theirs = place(api, email="bob@example.org", names=("Bob Builder",), event="other")
    positions = table(export(api, "positionlist", base=ORGANIZER))
    assert {(row["Event"], row["Order code"]) for row in positions} == {
        ("democon", mine["code"]),
        ("other", theirs["code"]),
    }
    payments = table(export(api, "paymentlist", base=ORGANIZER))
    assert {(row["Event"], row["Order code"]) for row in payments} == {
        ("democon", mine["code"]),
        ("other", theirs["code"]),
    }
    sales = table(export(api, "salesoverview", {"events": ["other"]}, base=ORGANIZER))
    assert [(row["Event"], row["Paid tickets"]) for row in sales] == [("other", "1"), ("", "1")]


def test_relative_date_ranges(api):
    from datetime import date, timedelta

    from boxoffice.kernel import clock
    from boxoffice.plugins.reports.common import resolve_range

    assert resolve_range("week_previous", date(2026, 12, 2)) == (date(2026, 11, 23), date(2026, 11, 29))
    assert resolve_range("month_previous", date(2026, 3, 31)) == (date(2026, 2, 1), date(2026, 2, 28))
    assert resolve_range("month_this", date(2026, 12, 15)) == (date(2026, 12, 1), date(2026, 12, 31))
    order = place(api, email="ada@example.org", names=("Ada Lovelace",))
    assert [row["Order code"] for row in table(export(api, "orderlist", {"date_range": "today"}))] == [order["code"]]
    with clock.time_machine(clock.now() + timedelta(days=8)):
        assert table(export(api, "orderlist", {"date_range": "days_last7"})) == []
        assert [row["Order code"] for row in table(export(api, "orderlist", {"date_range": "days_last30"}))] == [
            order["code"]
        ]


def test_chosen_columns(api):
    question = add_question(api)
    order = place(api, email="ada@example.org", names=("Ada Lovelace",), answers={question: "Tea"})
    rows = table(export(api, "orderlist", {"columns": ["Order code", "Total"]}))
    assert rows == [{"Order code": order["code"], "Total": order["total"]}]
    positions = table(export(api, "positionlist", {"columns": ["Attendee name"]}))
    assert positions == [{"Attendee name": "Ada Lovelace", "Dietary wishes": "Tea"}]
    assert "columns" in api.post(EVENT + "exporters/orderlist/run/", {"columns": ["Shoe size"]}).json()
    organizer_rows = table(export(api, "orderlist", {"columns": ["Order code"]}, base=ORGANIZER))
    assert organizer_rows == [{"Event": "democon", "Order code": order["code"]}]
