"""Check-in stays cheap: a redeem is a fixed handful of statements, and lists that show check-ins (orders,
positions, the positions of a check-in list, search) do not spend a query per row."""

from __future__ import annotations

from sqlalchemy import select
from statements import counted

from boxoffice.kernel.models import Item

EVENT = "/api/v1/organizers/demo/events/democon/"
RPC = "/api/v1/organizers/demo/checkinrpc/"
# Lists (with event and organizer), ticket (+ lock on SQLite), earlier scans, questions, the check-in and its log
# entry; then the answer: answers, print logs, product flags, and the invoice address for a ticket without a name.
REDEEM_STATEMENTS = 12


def setup(api, tickets: int) -> tuple[int, list[str]]:
    with api.kernel.db.session() as session:
        item_id = session.scalar(select(Item.id).where(Item.name["en"].as_string() == "Ticket"))
    checkin_list = api.post(EVENT + "checkinlists/", {"name": "Door"}).json()
    order = api.post(
        EVENT + "orders/",
        {
            "status": "p",
            "payment_provider": "manual",
            "positions": [{"item": item_id, "attendee_name": f"Guest {n}"} for n in range(tickets)],
        },
    ).json()
    return checkin_list["id"], [position["secret"] for position in order["positions"]]


def test_a_redeem_is_a_handful_of_statements(api) -> None:
    list_id, secrets = setup(api, 3)
    api.post(RPC + "redeem/", {"secret": secrets[0], "lists": [list_id]})
    with counted(api.kernel.db.engine) as statements:
        answer = api.post(RPC + "redeem/", {"secret": secrets[1], "lists": [list_id], "nonce": "n"})
    assert answer.status_code == 201
    assert len(statements) <= REDEEM_STATEMENTS, "\n".join(s[:100] for s in statements)
    with counted(api.kernel.db.engine) as statements:
        refused = api.post(RPC + "redeem/", {"secret": secrets[1], "lists": [list_id]})
    assert refused.json()["reason"] == "already_redeemed"
    assert len(statements) <= REDEEM_STATEMENTS


def test_lists_showing_checkins_do_not_grow_with_the_page(api) -> None:
    list_id, secrets = setup(api, 30)
    paths = [
        EVENT + "orders/",
        EVENT + "orderpositions/",
        f"{EVENT}checkinlists/{list_id}/positions/",
        f"{RPC}search/?list={list_id}",
        EVENT + "checkins/",
    ]

    def queries(path: str) -> int:
        with counted(api.kernel.db.engine) as statements:
            assert api.get(path).status_code == 200
        return len(statements)

    api.post(RPC + "redeem/", {"secret": secrets[0], "lists": [list_id]})
    few = {path: queries(path) for path in paths}
    for secret in secrets[1:]:
        api.post(RPC + "redeem/", {"secret": secret, "lists": [list_id]})
        api.post(RPC + "redeem/", {"secret": secret, "lists": [list_id], "type": "exit"})
    assert {path: queries(path) for path in paths} == few
