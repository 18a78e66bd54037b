"""Changing orders without changing what was sold: PATCH of order details, ticket blocks with the blocked-secret
list, print logs, and the revoked-secret list."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.models import Item, LogEntry, Organizer
from boxoffice.kernel.models.devices import Device
from boxoffice.kernel.models.markers import ChangeMarker
from boxoffice.kernel.models.orders import (
    InvoiceAddress,
    Order,
    OrderPosition,
    RevokedSecret,
    Transaction,
)
from boxoffice.kernel.orders.details import OrderDetails, change_order_details, set_block
from boxoffice.kernel.orders.errors import OrderError
from boxoffice.kernel.tokens import new_token, token_digest

EVENT = "/api/v1/organizers/demo/events/democon/"
ORDERS = EVENT + "orders/"
POSITIONS = EVENT + "orderpositions/"


class Recorder:
    """A global plugin noting every ``order_changed`` it hears."""

    plugin_meta = PluginMeta(level="global", togglable=False)

    def __init__(self) -> None:
        self.changed: list[str] = []

    @hookimpl
    def order_changed(self, order: Any) -> None:
        self.changed.append(order.code)


@pytest.fixture
def recorder(api) -> Iterator[Recorder]:
    hooks = Recorder()
    assert api.kernel.plugins.register(hooks, "h1_order_recorder", meta=Recorder.plugin_meta)
    try:
        yield hooks
    finally:
        api.kernel.plugins.unregister("h1_order_recorder")


def place(api, **extra: Any) -> dict[str, Any]:
    with api.kernel.db.session() as session:
        item = session.scalar(select(Item.id).where(Item.name["en"].as_string() == "Ticket"))
    body = {"email": "alice@example.org", "positions": [{"item": item, "attendee_name": "Alice"}], **extra}
    response = api.post(ORDERS, body)
    assert response.status_code == 201, response.text
    return response.json()


def actions(api, code: str) -> list[str]:
    with api.kernel.db.session() as session:
        order_id = session.scalar(select(Order.id).where(Order.code == code))
        return list(
            session.scalars(
                select(LogEntry.action_type)
                .where(LogEntry.object_type == "order", LogEntry.object_id == str(order_id))
                .order_by(LogEntry.id)
            )
        )


def ledger_rows(api) -> int:
    with api.kernel.db.session() as session:
        return session.scalar(select(func.count()).select_from(Transaction)) or 0


def marker(api) -> datetime | None:
    with api.kernel.db.session() as session:
        return session.scalar(select(ChangeMarker.modified).where(ChangeMarker.resource == "orders"))


# --- PATCH ----------------------------------------------------------------------------------------------------------


def test_patch_changes_every_detail_field(api, recorder):
    assert api.patch(EVENT + "settings/", {"locales": ["en", "de"]}).status_code == 200
    order = place(api)
    code, rows, touched = order["code"], ledger_rows(api), marker(api)
    change = {
        "email": "other@example.org",
        "phone": "+49301234567",
        "checkin_attention": True,
        "checkin_text": "Check the ID",
        "locale": "de",
        "comment": "VIP",
        "api_meta": {"crm": 42},
        "custom_followup_at": "2031-01-15",
        "invoice_address": {"company": "ACME", "name_parts": {"given_name": "Carla"}, "country": "de"},
        "valid_if_pending": True,
        "expires": "2031-02-01T12:00:00+01:00",
    }
    response = api.patch(f"{ORDERS}{code}/", change)
    assert response.status_code == 200, response.text
    body = response.json()
    for name in ("email", "phone", "checkin_attention", "checkin_text", "locale", "comment", "api_meta"):
        assert body[name] == change[name], name
    assert body["custom_followup_at"] == "2031-01-15"
    assert body["valid_if_pending"] is True
    assert body["expires"] == "2031-02-01T11:00:00Z"
    address = body["invoice_address"]
    assert (address["company"], address["name"], address["country"]) == ("ACME", "Carla", "DE")
    assert address["street"] == "" and address["transmission_type"] == "email"
    assert body["last_modified"] > order["last_modified"]
    assert api.get(f"{ORDERS}{code}/").json() == body
    assert recorder.changed == [code]
    assert ledger_rows(api) == rows
    assert marker(api) > (touched or datetime.min.replace(tzinfo=UTC))
    assert actions(api, code)[1:] == [
        "boxoffice.event.order.contact.changed",
        "boxoffice.event.order.checkin.changed",
        "boxoffice.event.order.locale.changed",
        "boxoffice.event.order.comment.changed",
        "boxoffice.event.order.api_meta.changed",
        "boxoffice.event.order.followup.changed",
        "boxoffice.event.order.invoice_address.changed",
        "boxoffice.event.order.valid_if_pending.changed",
        "boxoffice.event.order.expires.changed",
    ]
    with api.kernel.db.session() as session:
        entry = session.scalar(select(LogEntry).where(LogEntry.action_type == "boxoffice.event.order.contact.changed"))
        assert entry.data == {
            "old": {"email": "alice@example.org", "phone": None},
            "new": {"email": "other@example.org", "phone": "+49301234567"},
        }


def test_patch_with_current_values_changes_nothing(api, recorder):
    order = place(api, comment="note")
    code = order["code"]
    response = api.patch(f"{ORDERS}{code}/", {"email": order["email"], "comment": "note", "checkin_attention": False})
    assert response.status_code == 200
    assert response.json()["last_modified"] == order["last_modified"]
    assert recorder.changed == []
    assert actions(api, code) == ["boxoffice.event.order.placed"]


def test_invoice_address_is_replaced_whole_or_removed(api):
    order = place(api, invoice_address={"company": "Old Corp", "street": "Main St 1", "city": "Berlin"})
    code = order["code"]
    replaced = api.patch(f"{ORDERS}{code}/", {"invoice_address": {"company": "New Corp"}}).json()["invoice_address"]
    assert (replaced["company"], replaced["street"], replaced["city"]) == ("New Corp", "", "")
    # What a GET returns can be sent back unchanged (name and name_parts agree; read-only keys are ignored).
    shown = api.patch(
        f"{ORDERS}{code}/", {"invoice_address": {"name_parts": {"given_name": "Ann", "family_name": "Lee"}}}
    )
    assert shown.json()["invoice_address"]["name"] == "Ann Lee"
    assert api.patch(f"{ORDERS}{code}/", {"invoice_address": shown.json()["invoice_address"]}).status_code == 200
    removed = api.patch(f"{ORDERS}{code}/", {"invoice_address": None})
    assert removed.status_code == 200 and removed.json()["invoice_address"] is None
    with api.kernel.db.session() as session:
        assert session.scalar(select(func.count()).select_from(InvoiceAddress)) == 0
    added = api.patch(f"{ORDERS}{code}/", {"invoice_address": {"company": "Again", "is_business": True}})
    assert added.json()["invoice_address"]["is_business"] is True


def test_empty_email_and_phone_become_null(api):
    code = place(api, phone="+491")["code"]
    body = api.patch(f"{ORDERS}{code}/", {"email": "", "phone": ""}).json()
    assert body["email"] is None and body["phone"] is None


def test_read_only_and_unknown_fields_are_refused(api):
    order = place(api)
    response = api.patch(f"{ORDERS}{order['code']}/", {"status": "p", "total": "1.00", "colour": "red", "comment": "x"})
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"status", "total", "colour"}
    assert "mark_paid" in body["status"][0] and body["colour"] == ["Unknown field."]
    assert api.get(f"{ORDERS}{order['code']}/").json() == order


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"email": 5}, "email"),
        ({"phone": "1" * 65}, "phone"),
        ({"locale": "xx"}, "locale"),
        ({"locale": None}, "locale"),
        ({"comment": None}, "comment"),
        ({"comment": 3}, "comment"),
        ({"checkin_attention": "yes"}, "checkin_attention"),
        ({"checkin_attention": None}, "checkin_attention"),
        ({"valid_if_pending": None}, "valid_if_pending"),
        ({"api_meta": [1, 2]}, "api_meta"),
        ({"api_meta": None}, "api_meta"),
        ({"custom_followup_at": "soon"}, "custom_followup_at"),
        ({"expires": "tomorrow"}, "expires"),
        ({"expires": None}, "expires"),
        ({"expires": "0001-01-01T00:00:00+05:00"}, "expires"),
        ({"invoice_address": {"country": "DEU"}}, "invoice_address"),
        ({"invoice_address": {"name": "A", "name_parts": {"given_name": "B"}}}, "invoice_address"),
        ({"invoice_address": {"company": "x" * 256}}, "invoice_address"),
        ({"invoice_address": {"zipcode": 12345}}, "invoice_address"),
        ({"invoice_address": "Main St"}, "invoice_address"),
    ],
)
def test_invalid_values_are_field_errors(api, change, field):
    order = place(api)
    response = api.patch(f"{ORDERS}{order['code']}/", change)
    assert response.status_code == 400, response.text
    assert list(response.json()) == [field]
    assert api.get(f"{ORDERS}{order['code']}/").json() == order


def test_patch_body_must_be_an_object(api):
    code = place(api)["code"]
    assert api.patch(f"{ORDERS}{code}/", [1, 2]).status_code == 400


def test_patch_needs_write_permission_and_an_existing_order(api):
    code = place(api)["code"]
    reader = api.make_token(event_permissions=("event.orders:read",))
    assert api.patch(f"{ORDERS}{code}/", {"comment": "x"}, token=reader).status_code == 403
    assert api.patch(f"{ORDERS}NOPE1/", {"comment": "x"}).status_code == 404
    assert api.patch(f"/api/v1/organizers/demo/events/other/orders/{code}/", {"comment": "x"}).status_code == 404


def test_patch_is_visible_to_incremental_sync(api):
    first, second = place(api)["code"], place(api)["code"]
    generated = api.get(ORDERS).headers["X-Page-Generated"]
    api.patch(f"{ORDERS}{second}/", {"checkin_text": "hello"})
    synced = api.get(ORDERS, params={"modified_since": generated}).json()["results"]
    assert [order["code"] for order in synced] == [second] != [first]


def test_service_refuses_without_writing(api):
    code = place(api)["code"]
    with api.kernel.db.session() as session:
        order = session.scalar(select(Order).where(Order.code == code))
        with pytest.raises(OrderError) as refused:
            change_order_details(
                api.kernel, session, order, OrderDetails(email="bad", locale="xx"), actor=Actor("token", "1")
            )
        assert set(refused.value.body()) == {"email", "locale"}
        assert order.email == "alice@example.org"


# --- blocks ----------------------------------------------------------------------------------------------------------


def blocked_secrets(api, **params: str) -> list[dict[str, Any]]:
    response = api.get(EVENT + "blockedsecrets/", params=params)
    assert response.status_code == 200 and "X-Page-Generated" in response.headers
    return response.json()["results"]


def test_blocks_follow_the_blocked_secret_list(api, recorder):
    order = place(api)
    position = order["positions"][0]
    url = f"{POSITIONS}{position['id']}/"
    admin = api.post(url + "add_block/", {"name": "admin"})
    assert admin.status_code == 200 and admin.json()["blocked"] == ["admin"]
    assert api.post(url + "add_block/", {"name": "api:door.1_x"}).json()["blocked"] == ["admin", "api:door.1_x"]
    assert api.post(url + "add_block/", {"name": "admin"}).json()["blocked"] == ["admin", "api:door.1_x"]
    assert [(row["secret"], row["blocked"]) for row in blocked_secrets(api)] == [(position["secret"], True)]
    assert api.get(f"{ORDERS}{order['code']}/").json()["positions"][0]["blocked"] == ["admin", "api:door.1_x"]
    assert api.post(url + "remove_block/", {"name": "admin"}).json()["blocked"] == ["api:door.1_x"]
    assert blocked_secrets(api)[0]["blocked"] is True
    generated = api.get(ORDERS).headers["X-Page-Generated"]
    lifted = api.post(url + "remove_block/", {"name": "api:door.1_x"})
    assert lifted.status_code == 200 and lifted.json()["blocked"] is None
    rows = blocked_secrets(api)
    assert [(row["secret"], row["blocked"]) for row in rows] == [(position["secret"], False)]
    assert rows[0]["updated"] >= generated
    assert blocked_secrets(api, blocked="true") == []
    assert len(blocked_secrets(api, updated_since=generated)) == 1
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert blocked_secrets(api, updated_since=later) == []
    assert api.post(url + "remove_block/", {"name": "admin"}).json()["blocked"] is None
    assert recorder.changed == [order["code"]] * 4
    assert actions(api, order["code"])[1:] == [
        "boxoffice.event.order.position.blocked",
        "boxoffice.event.order.position.blocked",
        "boxoffice.event.order.position.unblocked",
        "boxoffice.event.order.position.unblocked",
    ]
    synced = api.get(ORDERS, params={"modified_since": generated}).json()["results"]
    assert [entry["code"] for entry in synced] == [order["code"]]


@pytest.mark.parametrize(
    "name", ["plugin_block", "api:", "api:bad-name", "API:x", "admin2", "api:a b", "api:" + "x" * 190]
)
def test_block_names_are_checked(api, name):
    position = place(api)["positions"][0]
    for action in ("add_block", "remove_block"):
        response = api.post(f"{POSITIONS}{position['id']}/{action}/", {"name": name})
        assert response.status_code == 400, response.text
        assert list(response.json()) == ["name"]
    assert blocked_secrets(api) == []


def test_blocks_set_by_plugins_stay(api):
    position = place(api)["positions"][0]
    with api.kernel.db.session() as session:
        row = session.get(OrderPosition, position["id"])
        set_block(api.kernel, session, row, "api:sync", blocked=True, actor=Actor("token", "1"))
        row.blocked = ["vendor_plugin", *row.blocked]
    lifted = api.post(f"{POSITIONS}{position['id']}/remove_block/", {"name": "api:sync"})
    assert lifted.json()["blocked"] == ["vendor_plugin"]
    assert blocked_secrets(api)[0]["blocked"] is True


def test_concurrent_blocks_are_both_kept(api):
    position_id = place(api)["positions"][0]["id"]
    first_done, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def block(name: str, hold: bool) -> None:
        try:
            if not hold:
                first_done.wait(5)
            with api.kernel.db.session() as session:
                row = session.get(OrderPosition, position_id)
                set_block(api.kernel, session, row, name, blocked=True, actor=Actor("token", "1"))
                if hold:
                    first_done.set()
                    # Keep the first transaction open while the second one tries to change the same ticket.
                    release.wait(5)
        except BaseException as error:
            failures.append(error)

    threads = [
        threading.Thread(target=block, args=("api:first", True)),
        threading.Thread(target=block, args=("api:second", False)),
    ]
    for thread in threads:
        thread.start()
    first_done.wait(5)
    time.sleep(0.3)
    release.set()
    for thread in threads:
        thread.join(10)
    assert failures == []
    assert api.get(f"{POSITIONS}{position_id}/").json()["blocked"] == ["api:first", "api:second"]


def test_block_requests_need_a_name_write_permission_and_a_live_position(api):
    order = place(api)
    url = f"{POSITIONS}{order['positions'][0]['id']}/"
    assert api.post(url + "add_block/", {}).status_code == 400
    reader = api.make_token(event_permissions=("event.orders:read",))
    assert api.post(url + "add_block/", {"name": "admin"}, token=reader).status_code == 403
    assert api.post(f"{POSITIONS}99999999999/add_block/", {"name": "admin"}).status_code == 404
    with api.kernel.db.session() as session:
        session.get(OrderPosition, order["positions"][0]["id"]).canceled = True
    assert api.post(url + "add_block/", {"name": "admin"}).status_code == 404


# --- print logs ------------------------------------------------------------------------------------------------------


def test_print_logs_are_recorded_and_shown(api):
    order = place(api)
    position = order["positions"][0]
    generated = api.get(ORDERS).headers["X-Page-Generated"]
    body = {"datetime": "2024-09-19T13:37:00+02:00", "source": "pretixPOS", "type": "badge", "info": {"cashier": 1234}}
    response = api.post(f"{POSITIONS}{position['id']}/printlog/", body)
    assert response.status_code == 201, response.text
    log = response.json()
    assert log["datetime"] == "2024-09-19T11:37:00Z" and log["device_id"] is None
    assert (log["source"], log["type"], log["info"]) == ("pretixPOS", "badge", {"cashier": 1234})
    shown = api.get(f"{POSITIONS}{position['id']}/").json()["print_logs"]
    assert shown == [{**log, "successful": True}]
    assert api.get(f"{ORDERS}{order['code']}/").json()["positions"][0]["print_logs"] == shown
    synced = api.get(ORDERS, params={"modified_since": generated}).json()["results"]
    assert [entry["code"] for entry in synced] == [order["code"]]
    assert actions(api, order["code"])[-1] == "boxoffice.event.order.position.printed"


def test_print_logs_name_the_reporting_device(api):
    position = place(api)["positions"][0]
    token = new_token()
    with api.kernel.db.session() as session:
        demo = session.scalar(select(Organizer).where(Organizer.slug == "demo"))
        session.add(
            Device(
                organizer_id=demo.id,
                device_id=7,
                unique_serial="H1PRINTER",
                name="Printer",
                all_events=True,
                initialized=datetime.now(UTC),
                api_token_digest=token_digest(token),
            )
        )
    response = api.client.post(
        f"{POSITIONS}{position['id']}/printlog/",
        json={"datetime": "2024-09-19T13:37:00Z", "source": "pretixSCAN", "type": "ticket"},
        headers={"Authorization": f"Device {token}"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["device_id"] == 7 and response.json()["info"] == {}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"datetime": "2024-09-19T13:37:00Z", "source": "POS", "type": "flyer"}, "type"),
        ({"datetime": "2024-09-19T13:37:00Z", "source": " ", "type": "badge"}, "source"),
        ({"datetime": "2024-09-19T13:37:00Z", "source": "x" * 256, "type": "badge"}, "source"),
        ({"datetime": "later", "source": "POS", "type": "badge"}, "datetime"),
        ({"source": "POS", "type": "badge"}, "datetime"),
        ({"datetime": "2024-09-19T13:37:00Z", "source": "POS", "type": "badge", "info": [1]}, "info"),
    ],
)
def test_invalid_print_logs_are_field_errors(api, body, field):
    position = place(api)["positions"][0]
    response = api.post(f"{POSITIONS}{position['id']}/printlog/", body)
    assert response.status_code == 400, response.text
    assert list(response.json()) == [field]
    assert api.get(f"{POSITIONS}{position['id']}/").json()["print_logs"] == []


# --- revoked secrets -------------------------------------------------------------------------------------------------


def test_revoked_secrets_list(api):
    order = place(api)
    start = datetime(2031, 1, 1, tzinfo=UTC)
    with api.kernel.db.session() as session:
        event_id = session.scalar(select(Order.event_id).where(Order.code == order["code"]))
        for index, secret in enumerate(("bbb", "aaa", "ccc")):
            session.add(
                RevokedSecret(
                    event_id=event_id,
                    position_id=order["positions"][0]["id"],
                    secret=secret,
                    created=start + timedelta(hours=index),
                )
            )
    response = api.get(EVENT + "revokedsecrets/")
    assert response.status_code == 200 and "X-Page-Generated" in response.headers
    results = response.json()["results"]
    assert [row["secret"] for row in results] == ["ccc", "aaa", "bbb"]
    assert set(results[0]) == {"id", "secret", "created"}
    assert results[0]["created"] == "2031-01-01T02:00:00Z"
    by_secret = api.get(EVENT + "revokedsecrets/", params={"ordering": "secret"}).json()["results"]
    assert [row["secret"] for row in by_secret] == ["aaa", "bbb", "ccc"]
    since = api.get(EVENT + "revokedsecrets/", params={"created_since": "2031-01-01T01:00:00Z"}).json()["results"]
    assert [row["secret"] for row in since] == ["ccc", "aaa"]
    assert api.get(EVENT + "revokedsecrets/", params={"created_since": "x"}).status_code == 400
    assert api.get("/api/v1/organizers/demo/events/other/revokedsecrets/").json()["count"] == 0
