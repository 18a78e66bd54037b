"""The exporters API: listing (with inputs; plugin switched off → not listed), running (202 + download URL),
polling (409/200/410/404), input validation (400), permissions and organizer-level exports across events."""

from __future__ import annotations

import csv
import io

from export_world import EVENT, ORGANIZER, add_item, enable, path_of, place, poll
from sqlalchemy import update

from boxoffice.kernel.models import JobRecord


def rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def test_exporters_are_listed_only_where_the_plugin_is_enabled(api):
    assert api.get(EVENT + "exporters/").json()["count"] == 0
    assert api.get(ORGANIZER + "exporters/").json()["count"] == 0
    enable(api, "reports")
    listed = api.get(EVENT + "exporters/").json()
    identifiers = [entry["identifier"] for entry in listed["results"]]
    assert {"orderlist", "positionlist", "paymentlist", "checkinlist", "invoicedata", "salesoverview",
            "quotaoverview", "eventdata"} <= set(identifiers)  # fmt: skip
    orderlist = next(entry for entry in listed["results"] if entry["identifier"] == "orderlist")
    assert orderlist["verbose_name"] == "Order list"
    fmt = next(p for p in orderlist["input_parameters"] if p["name"] == "_format")
    assert {"default", "xlsx", "json", "pdf"} <= set(fmt["choices"]) and fmt["required"] is False
    assert {"name": "paid_only", "required": False} in orderlist["input_parameters"]
    organizer_level = api.get(ORGANIZER + "exporters/").json()["results"]
    assert "orderlist" in [entry["identifier"] for entry in organizer_level]
    assert organizer_level[0]["input_parameters"][0] == {"name": "events", "required": False}
    # Switched on for the organizer but not for this event: its event exports are gone, running them is a 404.
    enable(api, "reports", events=())
    assert api.get("/api/v1/organizers/demo/events/other/exporters/").json()["count"] == 0
    assert api.post("/api/v1/organizers/demo/events/other/exporters/orderlist/run/", {}).status_code == 404


def test_run_order_list_and_download_it(api):
    enable(api, "reports")
    first = place(api, email="ada@example.org", names=("Ada Lovelace", "Alan Turing"), invoice_name="Ada Lovelace")
    second = place(api, email="grace@example.org", names=("Grace Hopper",), status="n")
    started = api.post(EVENT + "exporters/orderlist/run/", {"_format": "default"})
    assert started.status_code == 202, started.text
    url = started.json()["download"]
    assert "/exporters/orderlist/download/" in url
    done = poll(api, url)
    assert done.status_code == 200, done.text
    assert done.headers["content-type"].startswith("text/csv")
    assert 'filename="democon_orderlist.csv"' in done.headers["content-disposition"]
    by_code = {row["Order code"]: row for row in rows(done.content)}
    assert set(by_code) == {first["code"], second["code"]}
    assert by_code[first["code"]]["Status"] == "paid"
    assert by_code[first["code"]]["Total"] == first["total"]
    assert by_code[first["code"]]["Tickets"] == "2"
    assert by_code[first["code"]]["Name"] == "Ada Lovelace"
    assert by_code[second["code"]]["Status"] == "pending"
    assert by_code[second["code"]]["E-mail"] == "grace@example.org"
    # Filters reach the exporter.
    paid = poll(api, api.post(EVENT + "exporters/orderlist/run/", {"paid_only": True}).json()["download"])
    assert [row["Order code"] for row in rows(paid.content)] == [first["code"]]
    # The URL only works with its token, in its event and for its exporter.
    assert api.get(path_of(url).replace("/orderlist/", "/positionlist/")).status_code == 404
    assert api.get(path_of(url)[:-5] + "0000/").status_code == 404
    assert api.get(path_of(url).replace("/democon/", "/other/")).status_code == 404


def test_download_answers_409_while_running_410_when_failed_404_when_expired(api):
    enable(api, "reports")
    place(api, email="ada@example.org", names=("Ada Lovelace",))
    url = api.post(EVENT + "exporters/orderlist/run/", {}).json()["download"]
    job_id = path_of(url).rstrip("/").split("/")[-2]
    with api.kernel.db.session() as session:
        session.execute(update(JobRecord).where(JobRecord.id == job_id).values(status="running", progress=42))
    busy = api.get(path_of(url))
    assert busy.status_code == 409
    assert busy.json() == {"status": "running", "percentage": 42}
    with api.kernel.db.session() as session:
        session.execute(update(JobRecord).where(JobRecord.id == job_id).values(status="failed", error="Disk full."))
    failed = api.get(path_of(url))
    assert failed.status_code == 410
    assert failed.json() == {"status": "failed", "message": "Disk full."}
    with api.kernel.db.session() as session:
        session.execute(update(JobRecord).where(JobRecord.id == job_id).values(status="done"))
    assert api.get(path_of(url)).status_code == 200
    from boxoffice.kernel import exports

    exports.export_path(api.kernel, job_id).unlink()
    assert api.get(path_of(url)).status_code == 404


def test_bad_input_is_a_400_with_the_field(api):
    enable(api, "reports")
    assert api.post(EVENT + "exporters/orderlist/run/", {"_format": "doc"}).json() == {
        "_format": ["'doc' is not one of the available choices."]
    }
    assert "status" in api.post(EVENT + "exporters/orderlist/run/", {"status": ["x"]}).json()
    assert "nonsense" in api.post(EVENT + "exporters/orderlist/run/", {"nonsense": 1}).json()
    assert "date_from" in api.post(EVENT + "exporters/orderlist/run/", {"date_from": "yesterday"}).json()
    assert "list" in api.post(EVENT + "exporters/checkinlist/run/", {}).json()
    assert api.post(EVENT + "exporters/orderlist/run/", [1]).status_code == 400
    headers = {**api.headers(), "Content-Type": "application/json"}
    broken = api.client.post(EVENT + "exporters/orderlist/run/", content=b"{nope", headers=headers)
    assert broken.status_code == 400
    assert api.post(EVENT + "exporters/unknown/run/", {}).status_code == 404


def test_a_failing_export_answers_410(api):
    enable(api, "reports")
    url = api.post(EVENT + "exporters/checkinlist/run/", {"list": 999999}).json()["download"]
    failed = poll(api, url)
    assert failed.status_code == 410
    assert failed.json() == {"status": "failed", "message": "This check-in list does not exist."}


def test_permissions(api):
    enable(api, "reports")
    without = api.make_token(event_permissions=("event.vouchers:read",))
    assert api.get(EVENT + "exporters/", token=without).status_code == 403
    assert api.post(EVENT + "exporters/orderlist/run/", {}, token=without).status_code == 403
    assert api.get(ORGANIZER + "exporters/", token=without).status_code == 403
    assert api.get("/api/v1/organizers/rival/exporters/").status_code == 403
    url = api.post(EVENT + "exporters/orderlist/run/", {}).json()["download"]
    assert api.get(path_of(url), token=without).status_code == 403


def test_organizer_export_covers_the_visible_events(api):
    enable(api, "reports", events=("democon", "other"))
    add_item(api, "other")
    mine = place(api, email="ada@example.org", names=("Ada Lovelace",))
    theirs = place(api, email="bob@example.org", names=("Bob Builder",), event="other")
    url = api.post(ORGANIZER + "exporters/orderlist/run/", {}).json()["download"]
    assert "/organizers/demo/exporters/orderlist/download/" in url
    both = {row["Order code"]: row["Event"] for row in rows(poll(api, url).content)}
    assert both == {mine["code"]: "democon", theirs["code"]: "other"}
    narrowed = api.post(ORGANIZER + "exporters/orderlist/run/", {"events": ["other"]}).json()["download"]
    assert [row["Order code"] for row in rows(poll(api, narrowed).content)] == [theirs["code"]]
    assert "events" in api.post(ORGANIZER + "exporters/orderlist/run/", {"events": ["nope"]}).json()
    # A token limited to one event exports only that one.
    limited = api.make_token(all_events=False, events=("other",))
    url = api.post(ORGANIZER + "exporters/orderlist/run/", {}, token=limited).json()["download"]
    assert [row["Order code"] for row in rows(poll(api, url, token=limited).content)] == [theirs["code"]]
