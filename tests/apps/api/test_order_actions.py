"""Order actions through the API: pretix's paths and bodies, the full order in the answer, error shapes and
permissions; the services' own rules are tested in tests/kernel/orders/test_lifecycle.py."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from boxoffice.kernel.models import Item, LogEntry, Quota
from boxoffice.kernel.models.markers import ChangeMarker
from boxoffice.kernel.models.orders import Order, OrderPosition, RevokedSecret, Transaction

ORDERS = "/api/v1/organizers/demo/events/democon/orders/"
POSITIONS = "/api/v1/organizers/demo/events/democon/orderpositions/"


def item_id(api) -> int:
    with api.kernel.db.session() as session:
        return session.scalar(select(Item.id).where(Item.name["en"].as_string() == "Ticket"))


def place(api, **extra) -> str:
    body = {"email": "buyer@example.org", "positions": [{"item": item_id(api)}], **extra}
    response = api.post(ORDERS, body)
    assert response.status_code == 201, response.text
    return response.json()["code"]


def action(api, code: str, name: str, body=None, **kwargs):
    return api.post(f"{ORDERS}{code}/{name}/", body, **kwargs)


def ledger(api, code: str) -> list[tuple[int, str, str | None]]:
    with api.kernel.db.session() as session:
        order = session.scalar(select(Order).where(Order.code == code))
        rows = session.scalars(select(Transaction).where(Transaction.order_id == order.id).order_by(Transaction.id))
        return [(row.count, str(row.price), row.fee_type) for row in rows]


def last_action(api) -> LogEntry:
    with api.kernel.db.session() as session:
        return session.scalars(select(LogEntry).order_by(LogEntry.id.desc())).first()


def test_mark_paid_answers_the_full_order(api) -> None:
    code = place(api, payment_provider="manual")
    response = action(api, code, "mark_paid", {"send_email": False})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "p"
    assert body["payment_provider"] == "manual"
    assert body["payment_date"] is not None
    assert [(p["local_id"], p["state"], p["amount"]) for p in body["payments"]] == [
        (1, "canceled", "35.00"),
        (2, "confirmed", "35.00"),
    ]
    assert body == api.get(f"{ORDERS}{code}/").json()
    assert last_action(api).action_type == "boxoffice.event.order.paid"
    again = action(api, code, "mark_paid")
    assert again.status_code == 400
    assert again.json() == {"detail": "Only pending or expired orders can be marked as paid."}


def test_mark_paid_of_expired_order_refuses_when_sold_out_unless_forced(api) -> None:
    with api.kernel.db.session() as session:
        session.execute(Quota.__table__.update().values(size=1))
    late = place(api)
    assert action(api, late, "mark_expired").json()["status"] == "e"
    place(api)
    refused = action(api, late, "mark_paid")
    assert refused.status_code == 400
    assert "quota" in refused.json()["detail"]
    forced = action(api, late, "mark_paid", {"force": True})
    assert forced.status_code == 200 and forced.json()["status"] == "p"


def test_mark_pending_and_mark_expired(api) -> None:
    code = place(api, status="p", payment_provider="manual")
    assert action(api, code, "mark_expired").status_code == 400
    pending = action(api, code, "mark_pending")
    assert pending.status_code == 200 and pending.json()["status"] == "n"
    assert action(api, code, "mark_pending").json() == {"detail": "Only paid orders can be marked as pending."}
    expired = action(api, code, "mark_expired")
    assert expired.status_code == 200 and expired.json()["status"] == "e"
    assert ledger(api, code) == [(1, "35.00", None), (-1, "35.00", None)]


def test_mark_canceled_and_reactivate(api) -> None:
    code = place(api)
    canceled = action(api, code, "mark_canceled", {"send_email": False, "comment": "Event moved"})
    assert canceled.status_code == 200, canceled.text
    body = canceled.json()
    assert body["status"] == "c" and body["cancellation_date"] is not None
    assert len(body["positions"]) == 1
    entry = last_action(api)
    assert entry.action_type == "boxoffice.event.order.canceled"
    assert (entry.data["comment"], entry.data["send_email"]) == ("Event moved", False)
    assert ledger(api, code) == [(1, "35.00", None), (-1, "35.00", None)]
    assert action(api, code, "mark_canceled").status_code == 400
    reactivated = action(api, code, "reactivate")
    assert reactivated.status_code == 200
    assert (reactivated.json()["status"], reactivated.json()["cancellation_date"]) == ("n", None)
    assert ledger(api, code)[-1] == (1, "35.00", None)


def test_reactivate_when_sold_out_is_a_400(api) -> None:
    with api.kernel.db.session() as session:
        session.execute(Quota.__table__.update().values(size=1))
    code = place(api)
    action(api, code, "mark_canceled")
    place(api)
    response = action(api, code, "reactivate")
    assert response.status_code == 400
    assert response.json() == {
        "detail": 'There is not enough quota available on quota "Tickets" to perform the operation.'
    }
    assert api.get(f"{ORDERS}{code}/").json()["status"] == "c"


def test_cancel_with_fee_keeps_only_the_fee(api) -> None:
    code = place(api, status="p", payment_provider="manual")
    response = action(api, code, "mark_canceled", {"cancellation_fee": "10.00"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["total"], body["positions"]) == ("p", "10.00", [])
    assert [(fee["fee_type"], fee["value"]) for fee in body["fees"]] == [("cancellation", "10.00")]
    full = api.get(f"{ORDERS}{code}/?include_canceled_positions=true").json()
    assert [p["canceled"] for p in full["positions"]] == [True]
    assert ledger(api, code) == [(1, "35.00", None), (-1, "35.00", None), (1, "10.00", "cancellation")]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"cancellation_fee": "abc"}, {"cancellation_fee": ["A valid number is required."]}),
        ({"cancellation_fee": "-1"}, {"cancellation_fee": ["Ensure this value is greater than or equal to 0."]}),
        ({"send_email": "yes"}, {"send_email": ["Must be a valid boolean."]}),
        (
            {"cancellation_fee": "50.00"},
            {"detail": "The cancellation fee cannot be higher than the amount paid for this order."},
        ),
    ],
)
def test_mark_canceled_input_errors(api, body, expected) -> None:
    code = place(api, status="p", payment_provider="manual")
    response = action(api, code, "mark_canceled", body)
    assert response.status_code == 400
    assert response.json() == expected
    assert api.get(f"{ORDERS}{code}/").json()["status"] == "p"


def test_extend_moves_the_deadline_to_the_end_of_the_day(api) -> None:
    code = place(api)
    response = action(api, code, "extend", {"expires": "2031-04-28", "force": False})
    assert response.status_code == 200, response.text
    assert response.json()["expires"] == "2031-04-28T23:59:59Z"
    assert action(api, code, "extend").json() == {"expires": ["This field is required."]}
    assert action(api, code, "extend", {"expires": "soon"}).json() == {
        "expires": ["Date has wrong format. Use YYYY-MM-DD."]
    }
    assert action(api, code, "extend", {"expires": "2001-01-01"}).json() == {
        "expires": ["The new payment deadline must not be in the past."]
    }
    expired = action(api, code, "mark_expired").json()
    assert expired["status"] == "e"
    revived = action(api, code, "extend", {"expires": "2031-04-29"}).json()
    assert (revived["status"], revived["expires"]) == ("n", "2031-04-29T23:59:59Z")


def test_approve_and_deny(api) -> None:
    first, second = place(api, require_approval=True), place(api, require_approval=True)
    assert action(api, first, "approve", {"send_email": False}).json()["require_approval"] is False
    assert action(api, first, "approve").json() == {"detail": "Only orders that are awaiting approval can be approved."}
    denied = action(api, second, "deny", {"comment": "Members only"}).json()
    assert (denied["status"], denied["require_approval"]) == ("c", True)
    assert last_action(api).data["comment"] == "Members only"


def test_resend_link_needs_a_mail_transport(api) -> None:
    code = place(api)
    response = action(api, code, "resend_link")
    assert response.status_code == 503
    assert "mail" in response.json()["detail"]
    without = place(api, email=None)
    assert action(api, without, "resend_link").json() == {
        "detail": "There is no email address associated with this order."
    }


def test_regenerate_secrets_of_order_and_position(api) -> None:
    code = place(api)
    before = api.get(f"{ORDERS}{code}/").json()
    response = action(api, code, "regenerate_secrets")
    assert response.status_code == 200
    after = response.json()
    assert after["secret"] != before["secret"]
    assert after["positions"][0]["secret"] != before["positions"][0]["secret"]
    position_id = after["positions"][0]["id"]
    one = api.post(f"{POSITIONS}{position_id}/regenerate_secrets/")
    assert one.status_code == 200, one.text
    assert one.json()["id"] == position_id and one.json()["order"] == code
    assert one.json()["secret"] != after["positions"][0]["secret"]
    with api.kernel.db.session() as session:
        revoked = session.scalars(select(RevokedSecret.secret).order_by(RevokedSecret.id)).all()
    assert revoked == [before["positions"][0]["secret"], after["positions"][0]["secret"]]
    assert api.post(f"{POSITIONS}{position_id + 1000}/regenerate_secrets/").status_code == 404


def test_only_test_mode_orders_can_be_deleted(api) -> None:
    real = place(api)
    refused = api.delete(f"{ORDERS}{real}/")
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Only test mode orders can be deleted."}
    test = place(api, testmode=True)
    deleted = api.delete(f"{ORDERS}{test}/")
    assert deleted.status_code == 204 and deleted.content == b""
    assert api.get(f"{ORDERS}{test}/").status_code == 404
    assert api.delete(f"{ORDERS}{test}/").status_code == 404
    with api.kernel.db.session() as session:
        assert session.scalar(select(func.count()).select_from(OrderPosition)) == 1


def test_actions_need_write_permission_and_an_existing_order(api) -> None:
    code = place(api)
    reader = api.make_token(event_permissions=("event.orders:read",))
    assert action(api, code, "mark_canceled", token=reader).status_code == 403
    assert api.delete(f"{ORDERS}{code}/", token=reader).status_code == 403
    assert action(api, "NOPE1", "mark_paid").status_code == 404
    assert api.get(f"{ORDERS}{code}/").json()["status"] == "n"


def test_bodies_are_optional_but_must_be_json(api) -> None:
    code = place(api)
    broken = api.client.post(
        f"{ORDERS}{code}/mark_canceled/",
        content=b"{nope",
        headers={**api.headers(), "Content-Type": "application/json"},
    )
    assert broken.status_code == 400
    anonymous = api.client.post(f"{ORDERS}{code}/mark_canceled/", content=b"{nope")
    assert anonymous.status_code == 401
    assert action(api, code, "mark_canceled", None).json()["status"] == "c"


def test_actions_mark_the_order_list_changed(api) -> None:
    code = place(api)
    with api.kernel.db.session() as session:
        session.execute(delete(ChangeMarker))
    action(api, code, "mark_canceled")
    with api.kernel.db.session() as session:
        assert session.scalars(select(ChangeMarker.resource)).all() == ["orders"]
