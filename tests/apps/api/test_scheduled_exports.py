"""Scheduled exports: CRUD at event and organizer level with validation, visibility by permission, and the periodic
job that runs due schedules and mails the file (real SMTP server), counting failures and stopping after five."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from export_world import EVENT, ORGANIZER, enable, place
from sqlalchemy import select

from boxoffice.kernel import clock, exports
from boxoffice.kernel.models import Event, Organizer
from boxoffice.kernel.models.exports import ScheduledExport

SCHEDULES = EVENT + "scheduled_exports/"
BODY = {
    "export_identifier": "orderlist",
    "export_form_data": {"_format": "default", "paid_only": True},
    "locale": "en",
    "mail_additional_recipients": "mary@example.org",
    "mail_additional_recipients_cc": "",
    "mail_additional_recipients_bcc": "boss@example.org",
    "mail_subject": "Order list",
    "mail_template": "Here is the order list.",
    "schedule_rrule": "DTSTART:20230118T000000\nRRULE:FREQ=WEEKLY;BYDAY=TU,WE,TH",
    "schedule_rrule_time": "04:00:00",
}


def mail_settings(api, smtp, organizer_level: bool = False) -> None:
    host, port, _inbox = smtp
    values = {"smtp_use_custom": True, "smtp_host": host, "smtp_port": port, "mail_from": "box@org.example"}
    with api.kernel.db.session() as session:
        if organizer_level:
            organizer = session.scalar(select(Organizer).where(Organizer.slug == "demo"))
            api.kernel.settings_for(session, organizer=organizer).update(values)
        else:
            event = session.scalar(select(Event).where(Event.slug == "democon"))
            api.kernel.settings_for(session, event=event).update(values)


def test_create_read_update_delete(api):
    enable(api, "reports")
    created = api.post(SCHEDULES, BODY)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["owner"] is None
    assert body["error_counter"] == 0
    assert body["schedule_rrule_time"] == "04:00:00"
    assert "timezone" not in body
    next_run = datetime.fromisoformat(body["schedule_next_run"].replace("Z", "+00:00"))
    assert next_run > clock.now()
    assert next_run.weekday() in (1, 2, 3) and next_run.hour == 4  # the event's time zone is UTC
    assert {k: body[k] for k in BODY} == BODY
    detail = SCHEDULES + f"{body['id']}/"
    assert api.get(detail).json() == body
    assert api.get(SCHEDULES).json()["count"] == 1
    changed = api.patch(detail, {"export_form_data": {"_format": "xlsx"}, "schedule_rrule_time": "23:30:00"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["export_form_data"] == {"_format": "xlsx"}
    assert changed.json()["mail_subject"] == "Order list"
    assert datetime.fromisoformat(changed.json()["schedule_next_run"].replace("Z", "+00:00")).hour == 23
    replaced = api.put(detail, {**BODY, "mail_subject": "Weekly"})
    assert replaced.json()["mail_subject"] == "Weekly"
    assert api.delete(detail).status_code == 204
    assert api.get(detail).status_code == 404
    assert api.get(SCHEDULES).json()["count"] == 0


def test_validation(api):
    enable(api, "reports")
    assert api.post(SCHEDULES, {}).json() == {
        "export_identifier": ["This field is required."],
        "schedule_rrule": ["This field is required."],
        "schedule_rrule_time": ["This field is required."],
        "mail_additional_recipients": ["A schedule without an owning user needs at least one recipient."],
    }
    problems = api.post(
        SCHEDULES,
        {
            **BODY,
            "export_identifier": "nope",
            "schedule_rrule": "DTSTART:20230118T000000\nRRULE:FREQ=MONTHLY;BYMONTHDAY=3",
            "mail_additional_recipients": "not an address",
        },
    ).json()
    assert problems == {
        "export_identifier": ['"nope" is not a valid choice.'],
        "schedule_rrule": ["BYMONTHDAY is not supported."],
        "mail_additional_recipients": ["'not an address' is not a valid e-mail address."],
    }
    assert api.post(SCHEDULES, {**BODY, "schedule_rrule": "RRULE:FREQ=HOURLY"}).json() == {
        "schedule_rrule": ["A schedule runs at most once per day."]
    }
    assert api.post(SCHEDULES, {**BODY, "export_form_data": {"_format": "doc"}}).json() == {
        "export_form_data": ["_format: 'doc' is not one of the available choices."]
    }
    assert "schedule_rrule_time" in api.post(SCHEDULES, {**BODY, "schedule_rrule_time": "25:00"}).json()
    assert api.post(SCHEDULES, {**BODY, "schedule_rrule": "garbage"}).status_code == 400


def test_visibility_follows_the_settings_permission(api):
    enable(api, "reports")
    exporter = api.make_token(event_permissions=("event.orders:read",), organizer_permissions=())
    other_exporter = api.make_token(event_permissions=("event.orders:read",), organizer_permissions=())
    own = api.post(SCHEDULES, BODY, token=exporter).json()
    admin = api.post(SCHEDULES, BODY).json()
    assert [s["id"] for s in api.get(SCHEDULES, token=exporter).json()["results"]] == [own["id"]]
    assert api.get(SCHEDULES, token=other_exporter).json()["count"] == 0
    assert api.get(SCHEDULES + f"{admin['id']}/", token=exporter).status_code == 404
    assert api.patch(SCHEDULES + f"{admin['id']}/", {"mail_subject": "x"}, token=exporter).status_code == 404
    assert {s["id"] for s in api.get(SCHEDULES).json()["results"]} == {own["id"], admin["id"]}
    reader = api.make_token(event_permissions=("event.vouchers:read",))
    assert api.post(SCHEDULES, BODY, token=reader).status_code == 403
    assert api.get("/api/v1/organizers/rival/events/rivalcon/scheduled_exports/").status_code == 403


def run_due(api, moment: datetime) -> None:
    with clock.time_machine(moment):
        api.kernel.jobs.enqueue(exports.SCHEDULE_JOB)


def test_due_schedule_is_mailed_and_planned_again(api, smtp_server):
    enable(api, "reports")
    mail_settings(api, smtp_server)
    paid = place(api, email="ada@example.org", names=("Ada Lovelace",))
    place(api, email="bob@example.org", names=("Bob Builder",), status="n")
    schedule = api.post(SCHEDULES, BODY).json()
    due = datetime.fromisoformat(schedule["schedule_next_run"].replace("Z", "+00:00"))
    run_due(api, due - timedelta(minutes=1))
    assert smtp_server[2].messages == []
    run_due(api, due + timedelta(seconds=30))
    _inbox = smtp_server[2]
    assert len(_inbox.messages) == 1
    sender, recipients, _raw = _inbox.messages[0]
    assert "box@org.example" in sender
    assert recipients == ["mary@example.org", "boss@example.org"]
    message = _inbox.parsed()
    assert message["Subject"] == "Order list"
    assert "boss@example.org" not in str(message)  # blind copy: envelope only
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == "democon_orderlist.csv"
    rows = list(csv.DictReader(io.StringIO(attachment.get_content() if isinstance(attachment.get_content(), str)
                                           else attachment.get_content().decode())))  # fmt: skip
    assert [row["Order code"] for row in rows] == [paid["code"]]
    after = api.get(SCHEDULES + f"{schedule['id']}/").json()
    assert after["error_counter"] == 0
    assert datetime.fromisoformat(after["schedule_next_run"].replace("Z", "+00:00")) > due
    # Running again at the same moment finds nothing due: the run was claimed.
    run_due(api, due + timedelta(seconds=40))
    assert len(_inbox.messages) == 1


def test_organizer_schedule_uses_its_time_zone(api, smtp_server):
    enable(api, "reports")
    mail_settings(api, smtp_server, organizer_level=True)
    place(api, email="ada@example.org", names=("Ada Lovelace",))
    body = {**BODY, "timezone": "Europe/Berlin", "schedule_rrule": "DTSTART:20230101T000000\nRRULE:FREQ=DAILY"}
    created = api.post(ORGANIZER + "scheduled_exports/", body)
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["timezone"] == "Europe/Berlin"
    due = datetime.fromisoformat(schedule["schedule_next_run"].replace("Z", "+00:00"))
    assert due.astimezone(exports.ZoneInfo("Europe/Berlin")).hour == 4
    assert api.post(ORGANIZER + "scheduled_exports/", {**body, "timezone": "Mars/Olympus"}).json() == {
        "timezone": ['"Mars/Olympus" is not a valid choice.']
    }
    run_due(api, due + timedelta(seconds=1))
    assert len(smtp_server[2].messages) == 1
    assert smtp_server[2].parsed().get_content_type() == "multipart/mixed"


def test_five_failures_in_a_row_stop_the_schedule_until_it_is_changed(api, smtp_server):
    enable(api, "reports")
    mail_settings(api, smtp_server)
    schedule = api.post(SCHEDULES, {**BODY, "schedule_rrule": "DTSTART:20230101T000000\nRRULE:FREQ=DAILY"}).json()
    # The owning team loses the right to read orders: every run fails from now on.
    with api.kernel.db.session() as session:
        row = session.get(ScheduledExport, schedule["id"])
        from boxoffice.kernel.models import Team

        team = session.get(Team, row.owner_team_id)
        team.all_event_permissions = False
        team.limit_event_permissions = ["event.vouchers:read"]
    moment = datetime.fromisoformat(schedule["schedule_next_run"].replace("Z", "+00:00"))
    for expected in range(1, 6):
        run_due(api, moment + timedelta(seconds=1))
        with api.kernel.db.session() as session:
            row = session.get(ScheduledExport, schedule["id"])
            assert row.error_counter == expected
            moment = row.schedule_next_run
    failure = smtp_server[2].parsed()
    assert failure["Subject"].startswith("Export failed")
    assert "may no longer export" in failure.get_content()
    sent = len(smtp_server[2].messages)
    run_due(api, moment + timedelta(seconds=1))
    with api.kernel.db.session() as session:
        assert session.get(ScheduledExport, schedule["id"]).error_counter == 5
    assert len(smtp_server[2].messages) == sent
    # Changing it starts afresh (the admin token still reads it).
    assert api.patch(SCHEDULES + f"{schedule['id']}/", {"mail_subject": "Again"}).json()["error_counter"] == 0


def test_next_run_follows_the_rule():
    rule = "DTSTART:20230118T000000\nRRULE:FREQ=WEEKLY;BYDAY=TU,WE,TH"
    after = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # a Tuesday
    at = exports.compute_next_run(rule, datetime(2000, 1, 1, 4).time(), "UTC", after)
    assert at == datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
    at = exports.compute_next_run(rule, datetime(2000, 1, 1, 4).time(), "UTC", at)
    assert at == datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
    at = exports.compute_next_run(rule, datetime(2000, 1, 1, 4).time(), "UTC", datetime(2026, 12, 3, 5, tzinfo=UTC))
    assert at == datetime(2026, 12, 8, 4, 0, tzinfo=UTC)
    berlin = exports.compute_next_run(rule, datetime(2000, 1, 1, 4).time(), "Europe/Berlin", after)
    assert berlin == datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
    ended = "DTSTART:20230101T000000\nRRULE:FREQ=DAILY;COUNT=3"
    assert exports.compute_next_run(ended, datetime(2000, 1, 1, 4).time(), "UTC", after) is None


def test_the_schedule_locale_names_the_products(api, smtp_server):
    from boxoffice.kernel.models import Item

    enable(api, "reports")
    mail_settings(api, smtp_server)
    with api.kernel.db.session() as session:
        item = session.scalar(select(Item))
        item.name = {"en": "Ticket", "de": "Eintrittskarte"}
    place(api, email="ada@example.org", names=("Ada Lovelace",))
    body = {**BODY, "export_identifier": "salesoverview", "export_form_data": {}, "locale": "de"}
    schedule = api.post(SCHEDULES, body).json()
    run_due(api, datetime.fromisoformat(schedule["schedule_next_run"].replace("Z", "+00:00")) + timedelta(seconds=1))
    attachment = next(smtp_server[2].parsed().iter_attachments())
    content = attachment.get_content()
    text = content if isinstance(content, str) else content.decode()
    assert "Eintrittskarte" in text and "Ticket," not in text
    # Run through the API, the export speaks the event's language.
    from export_world import poll

    url = api.post(EVENT + "exporters/salesoverview/run/", {}).json()["download"]
    assert b"Ticket" in poll(api, url).content
