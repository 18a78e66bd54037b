"""Check-in through the API: lists, the redeem RPC with its result codes, nonces, questions, annulment, search,
history, the legacy per-list endpoints, devices and permissions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from boxoffice.kernel import clock
from boxoffice.kernel.models import Item, LogEntry
from boxoffice.kernel.models.checkin import Checkin
from boxoffice.kernel.models.devices import Device
from boxoffice.kernel.tokens import new_token, token_digest

EVENT = "/api/v1/organizers/demo/events/democon/"
LISTS = EVENT + "checkinlists/"
ORDERS = EVENT + "orders/"
RPC = "/api/v1/organizers/demo/checkinrpc/"


def ticket_id(api) -> int:
    with api.kernel.db.session() as session:
        return session.scalar(select(Item.id).where(Item.name["en"].as_string() == "Ticket"))


def make_list(api, **fields: Any) -> dict[str, Any]:
    response = api.post(LISTS, {"name": "Main entrance", **fields})
    assert response.status_code == 201, response.text
    return response.json()


def place(api, *, paid: bool = True, positions: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "email": "guest@example.org",
        "positions": positions or [{"item": ticket_id(api), "attendee_name": "Peter Guest"}],
        **extra,
    }
    if paid:
        body |= {"status": "p", "payment_provider": "manual"}
    response = api.post(ORDERS, body)
    assert response.status_code == 201, response.text
    return response.json()


def redeem(api, secret: str, lists: list[int], token: str | None = None, **fields: Any):
    return api.post(RPC + "redeem/", {"secret": secret, "lists": lists, **fields}, token=token)


def test_list_crud_and_counts(api) -> None:
    created = make_list(api, all_products=False, limit_products=[ticket_id(api)], allow_entry_after_exit=False)
    assert created["limit_products"] == [ticket_id(api)]
    assert created["checkin_count"] == 0 and created["position_count"] == 0
    assert created["allow_entry_after_exit"] is False and created["consider_tickets_used"] is True
    order = place(api)
    place(api, paid=False)
    one = api.get(f"{LISTS}{created['id']}/").json()
    assert one["position_count"] == 1
    redeem(api, order["positions"][0]["secret"], [created["id"]])
    assert api.get(f"{LISTS}{created['id']}/").json()["checkin_count"] == 1
    patched = api.patch(f"{LISTS}{created['id']}/", {"name": "Backstage", "include_pending": True})
    assert patched.status_code == 200 and patched.json()["name"] == "Backstage"
    assert patched.json()["position_count"] == 2
    replaced = api.put(f"{LISTS}{created['id']}/", {"name": "All"})
    assert replaced.json()["all_products"] is True and replaced.json()["include_pending"] is False
    listed = api.get(LISTS, params={"exclude": "checkin_count"}).json()
    assert listed["count"] == 1 and "checkin_count" not in listed["results"][0]
    assert api.delete(f"{LISTS}{created['id']}/").status_code == 204
    with api.kernel.db.session() as session:
        assert session.scalars(select(Checkin)).all() == []
    assert api.get(f"{LISTS}{created['id']}/").status_code == 404


def test_list_validation(api) -> None:
    response = api.post(LISTS, {"name": "", "limit_products": [999999], "rules": {"frobnicate": [1]}})
    assert response.status_code == 400
    assert set(response.json()) == {"name", "limit_products", "rules"}
    assert api.post(LISTS, {"name": "x", "subevent": 5}).status_code == 400
    assert api.post(LISTS, {"name": "x", "rules": "nope"}).status_code == 400


def test_redeem_entry_then_already_redeemed_then_exit_and_reentry(api) -> None:
    checkin_list = make_list(api)
    order = place(api)
    secret = order["positions"][0]["secret"]
    first = redeem(api, secret, [checkin_list["id"]])
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["status"] == "ok"
    assert body["list"] == {
        "id": checkin_list["id"],
        "name": "Main entrance",
        "event": "democon",
        "subevent": None,
        "include_pending": False,
    }
    assert body["position"]["order__status"] == "p" and body["position"]["require_attention"] is False
    assert [c["type"] for c in body["position"]["checkins"]] == ["entry"]
    again = redeem(api, secret, [checkin_list["id"]])
    assert again.status_code == 400 and again.json()["reason"] == "already_redeemed"
    assert redeem(api, secret, [checkin_list["id"]], type="exit").json()["status"] == "ok"
    assert redeem(api, secret, [checkin_list["id"]]).json()["status"] == "ok"
    # The order shows every successful scan on its positions.
    shown = api.get(f"{ORDERS}{order['code']}/").json()["positions"][0]["checkins"]
    assert [c["type"] for c in shown] == ["entry", "exit", "entry"]
    assert api.get(EVENT + "orderpositions/", params={"has_checkin": "true"}).json()["count"] == 1
    assert api.get(EVENT + "orderpositions/", params={"has_checkin": "false"}).json()["count"] == 0


def test_no_reentry_after_exit_when_the_list_forbids_it(api) -> None:
    checkin_list = make_list(api, allow_entry_after_exit=False)
    secret = place(api)["positions"][0]["secret"]
    redeem(api, secret, [checkin_list["id"]])
    redeem(api, secret, [checkin_list["id"]], type="exit")
    assert redeem(api, secret, [checkin_list["id"]]).json()["reason"] == "already_redeemed"


def test_multiple_entries(api) -> None:
    checkin_list = make_list(api, allow_multiple_entries=True)
    secret = place(api)["positions"][0]["secret"]
    assert all(redeem(api, secret, [checkin_list["id"]]).status_code == 201 for _ in range(3))


def test_unknown_secret_is_404_invalid_and_recorded(api) -> None:
    checkin_list = make_list(api)
    response = redeem(api, "nope", [checkin_list["id"]])
    assert response.status_code == 404
    body = response.json()
    assert body["status"] == "error" and body["reason"] == "invalid" and body["detail"] == "Not found."
    history = api.get(EVENT + "checkins/").json()["results"]
    assert [(c["successful"], c["error_reason"], c["position"]) for c in history] == [(False, "invalid", None)]


def test_reasons_unpaid_canceled_blocked_product_unapproved(api) -> None:
    checkin_list = make_list(api)
    pending = place(api, paid=False)
    assert redeem(api, pending["positions"][0]["secret"], [checkin_list["id"]]).json()["reason"] == "unpaid"
    # A list that includes pending orders admits them once the scanner confirms (ignore_unpaid).
    api.patch(f"{LISTS}{checkin_list['id']}/", {"include_pending": True})
    assert redeem(api, pending["positions"][0]["secret"], [checkin_list["id"]]).json()["reason"] == "unpaid"
    admitted = redeem(api, pending["positions"][0]["secret"], [checkin_list["id"]], ignore_unpaid=True)
    assert admitted.json()["status"] == "ok"

    canceled = place(api)
    assert api.post(f"{ORDERS}{canceled['code']}/mark_canceled/", {}).status_code == 200
    answer = redeem(api, canceled["positions"][0]["secret"], [checkin_list["id"]])
    assert answer.status_code == 400 and answer.json()["reason"] == "canceled"

    blocked = place(api)
    position_id = blocked["positions"][0]["id"]
    assert api.post(f"{EVENT}orderpositions/{position_id}/add_block/", {"name": "admin"}).status_code == 200
    assert redeem(api, blocked["positions"][0]["secret"], [checkin_list["id"]]).json()["reason"] == "blocked"

    shirt = api.post(EVENT + "items/", {"name": {"en": "Shirt"}, "default_price": "5.00", "admission": False}).json()
    api.post(EVENT + "quotas/", {"name": "Shirts", "size": 10, "items": [shirt["id"]], "variations": []})
    limited = make_list(api, name="Tickets only", all_products=False, limit_products=[ticket_id(api)])
    shirt_order = place(api, positions=[{"item": shirt["id"]}])
    assert redeem(api, shirt_order["positions"][0]["secret"], [limited["id"]]).json()["reason"] == "product"

    approval = place(api, paid=False, require_approval=True)
    assert redeem(api, approval["positions"][0]["secret"], [checkin_list["id"]]).json()["reason"] == "unapproved"


def test_invalid_time_window(api) -> None:
    checkin_list = make_list(api)
    order = place(api)
    position_id = order["positions"][0]["id"]
    later = datetime.now(UTC) + timedelta(days=2)
    with api.kernel.db.session() as session:
        from boxoffice.kernel.models.orders import OrderPosition

        session.get(OrderPosition, position_id).valid_from = later
    answer = redeem(api, order["positions"][0]["secret"], [checkin_list["id"]]).json()
    assert answer["reason"] == "invalid_time" and answer["reason_explanation"]
    # Exits are not bound to the validity window.
    assert redeem(api, order["positions"][0]["secret"], [checkin_list["id"]], type="exit").json()["status"] == "ok"


def test_revoked_secret_and_force(api) -> None:
    checkin_list = make_list(api)
    order = place(api)
    old_secret = order["positions"][0]["secret"]
    changed = api.post(f"{ORDERS}{order['code']}/regenerate_secrets/", {})
    assert changed.status_code == 200, changed.text
    assert redeem(api, old_secret, [checkin_list["id"]]).json()["reason"] == "revoked"
    forced = redeem(api, old_secret, [checkin_list["id"]], force=True)
    assert forced.json()["status"] == "ok"


def test_nonce_makes_a_retry_harmless(api) -> None:
    checkin_list = make_list(api)
    secret = place(api)["positions"][0]["secret"]
    first = redeem(api, secret, [checkin_list["id"]], nonce="abc")
    retry = redeem(api, secret, [checkin_list["id"]], nonce="abc")
    assert first.json()["status"] == retry.json()["status"] == "ok"
    with api.kernel.db.session() as session:
        assert len(session.scalars(select(Checkin)).all()) == 1
    assert redeem(api, secret, [checkin_list["id"]], nonce="other").json()["reason"] == "already_redeemed"


def test_questions_asked_at_checkin(api) -> None:
    checkin_list = make_list(api)
    question = api.post(
        EVENT + "questions/",
        {
            "question": {"en": "T-Shirt size"},
            "type": "C",
            "required": True,
            "items": [ticket_id(api)],
            "ask_during_checkin": True,
            "options": [{"answer": {"en": "S"}}, {"answer": {"en": "M"}}],
        },
    ).json()
    secret = place(api)["positions"][0]["secret"]
    incomplete = redeem(api, secret, [checkin_list["id"]])
    assert incomplete.status_code == 400
    assert incomplete.json()["status"] == "incomplete"
    assert [q["id"] for q in incomplete.json()["questions"]] == [question["id"]]
    # Clients that cannot ask questions are let through.
    assert redeem(api, secret, [checkin_list["id"]], questions_supported=False, nonce="n1").json()["status"] == "ok"
    api.post(RPC + "annul/", {"nonce": "n1", "lists": [checkin_list["id"]]})
    medium = question["options"][1]["id"]
    wrong = redeem(api, secret, [checkin_list["id"]], answers={str(question["id"]): "99999"})
    assert wrong.json()["status"] == "incomplete" and wrong.json()["reason_explanation"]
    done = redeem(api, secret, [checkin_list["id"]], answers={str(question["id"]): str(medium)})
    assert done.status_code == 201, done.text
    answers = done.json()["position"]["answers"]
    assert answers[0]["question"] == question["id"] and answers[0]["options"] == [medium]


def test_rules_refuse_with_an_explanation(api) -> None:
    rules = {
        "and": [
            {"<": [{"var": "entries_today"}, 1]},
            {"isAfter": [{"var": "now"}, {"buildTime": ["custom", "2020-01-01T10:00:00Z"]}]},
        ]
    }
    checkin_list = make_list(api, rules=rules, allow_multiple_entries=True)
    secret = place(api)["positions"][0]["secret"]
    assert redeem(api, secret, [checkin_list["id"]]).json()["status"] == "ok"
    refused = redeem(api, secret, [checkin_list["id"]]).json()
    assert refused["reason"] == "rules"
    assert "entries today" in refused["reason_explanation"]
    # A scan made before the window (reported offline with its time) fails the time rule.
    early = redeem(api, secret, [checkin_list["id"]], datetime="2019-12-31T12:00:00Z").json()
    assert early["reason"] == "rules" and "2020-01-01" in early["reason_explanation"]


def test_explanations_in_the_order_locale_or_the_request_locale(api) -> None:
    checkin_list = make_list(api, rules={"<": [{"var": "entries_today"}, 1]}, allow_multiple_entries=True)
    secret = place(api)["positions"][0]["secret"]
    with api.kernel.db.session() as session:
        from boxoffice.kernel.models.orders import Order, OrderPosition

        session.scalar(select(Order).join(OrderPosition).where(OrderPosition.secret == secret)).locale = "de"
    assert redeem(api, secret, [checkin_list["id"]]).json()["status"] == "ok"
    english = redeem(api, secret, [checkin_list["id"]]).json()
    assert english["reason_explanation"] == "Below 1 entries today"
    german = redeem(api, secret, [checkin_list["id"]], use_order_locale=True).json()
    assert german["reason"] == "rules" and german["reason_explanation"] == "Weniger als 1 Eintritte heute"
    asked_in_german = api.client.post(
        RPC + "redeem/",
        json={"secret": secret, "lists": [checkin_list["id"]]},
        headers={**api.headers(), "Accept-Language": "de"},
    ).json()
    assert asked_in_german["reason_explanation"] == "Weniger als 1 Eintritte heute"
    with api.kernel.db.session() as session:
        position = session.scalar(select(OrderPosition).where(OrderPosition.secret == secret))
        position.valid_from = datetime(2040, 1, 1, 12, tzinfo=UTC)
    early = redeem(api, secret, [checkin_list["id"]], use_order_locale=True).json()
    assert early["reason"] == "invalid_time"
    assert early["reason_explanation"] == "Dieses Ticket ist erst ab 2040-01-01 12:00 gültig."


def test_annul(api) -> None:
    checkin_list = make_list(api)
    secret = place(api)["positions"][0]["secret"]
    redeem(api, secret, [checkin_list["id"]], nonce="turnstile")
    assert api.post(RPC + "annul/", {"nonce": "unknown", "lists": [checkin_list["id"]]}).status_code == 404
    annulled = api.post(
        RPC + "annul/", {"nonce": "turnstile", "lists": [checkin_list["id"]], "error_explanation": "stuck"}
    )
    assert annulled.status_code == 200 and annulled.json() == {"status": "ok"}
    again = api.post(RPC + "annul/", {"nonce": "turnstile", "lists": [checkin_list["id"]]})
    assert again.status_code == 400
    history = api.get(EVENT + "checkins/", params={"error_reason": "annulled"}).json()["results"]
    assert len(history) == 1 and history[0]["error_explanation"] == "stuck"
    # The ticket can be used again.
    assert redeem(api, secret, [checkin_list["id"]]).json()["status"] == "ok"


def test_annul_only_within_the_window(api) -> None:
    checkin_list = make_list(api)
    secret = place(api)["positions"][0]["secret"]
    redeem(api, secret, [checkin_list["id"]], nonce="late")
    with clock.time_machine(datetime.now(UTC) + timedelta(minutes=16)):
        late = api.post(RPC + "annul/", {"nonce": "late", "lists": [checkin_list["id"]]})
    assert late.status_code == 400


def test_search_and_list_positions(api) -> None:
    checkin_list = make_list(api)
    peter = place(api)
    place(api, positions=[{"item": ticket_id(api), "attendee_name": "Anna Other"}])
    place(api, paid=False)
    found = api.get(RPC + "search/", params={"list": checkin_list["id"], "search": "Peter"}).json()
    assert found["count"] == 1 and found["results"][0]["id"] == peter["positions"][0]["id"]
    by_code = api.get(RPC + "search/", params={"list": checkin_list["id"], "search": peter["code"]}).json()
    assert by_code["count"] == 1
    positions = api.get(f"{LISTS}{checkin_list['id']}/positions/").json()
    assert positions["count"] == 2
    assert [p["attendee_name"] for p in positions["results"]] == ["Anna Other", "Peter Guest"]
    assert api.get(f"{LISTS}{checkin_list['id']}/positions/", params={"ignore_status": "true"}).json()["count"] == 3
    redeem(api, peter["positions"][0]["secret"], [checkin_list["id"]])
    checked = api.get(f"{LISTS}{checkin_list['id']}/positions/", params={"has_checkin": "true"}).json()
    assert [p["id"] for p in checked["results"]] == [peter["positions"][0]["id"]]
    ordered = api.get(f"{LISTS}{checkin_list['id']}/positions/", params={"ordering": "-last_checked_in"}).json()
    assert ordered["results"][0]["id"] == peter["positions"][0]["id"]
    one = api.get(f"{LISTS}{checkin_list['id']}/positions/{peter['positions'][0]['id']}/", params={"expand": "item"})
    assert one.status_code == 200 and one.json()["item"]["id"] == ticket_id(api)
    status = api.get(f"{LISTS}{checkin_list['id']}/status/").json()
    assert (status["checkin_count"], status["position_count"], status["inside_count"]) == (1, 2, 1)
    assert status["items"][0]["checkin_count"] == 1


def test_legacy_redeem_by_id_and_by_secret(api) -> None:
    checkin_list = make_list(api)
    order = place(api)
    position = order["positions"][0]
    base = f"{LISTS}{checkin_list['id']}/positions/"
    by_id = api.post(f"{base}{position['id']}/redeem/", {})
    assert by_id.status_code == 201 and by_id.json()["status"] == "ok"
    # Scanned input is always a secret: an id given as untrusted input is an unknown secret.
    untrusted = api.post(f"{base}{position['id']}/redeem/?untrusted_input=true", {})
    assert untrusted.status_code == 404
    by_secret = api.post(f"{base}{position['secret']}/redeem/", {"type": "exit"})
    assert by_secret.json()["status"] == "ok"
    canceled = place(api)
    api.post(f"{ORDERS}{canceled['code']}/mark_canceled/", {})
    legacy = api.post(f"{base}{canceled['positions'][0]['secret']}/redeem/", {})
    assert legacy.json()["reason"] == "unpaid"
    modern = api.post(f"{base}{canceled['positions'][0]['secret']}/redeem/", {"canceled_supported": True})
    assert modern.json()["reason"] == "canceled"


def test_failed_checkins_and_history_filters(api) -> None:
    checkin_list = make_list(api)
    order = place(api)
    response = api.post(
        f"{LISTS}{checkin_list['id']}/failed_checkins/",
        {"raw_barcode": "xyz", "error_reason": "unpaid", "position": order["positions"][0]["id"]},
    )
    assert response.status_code == 201, response.text
    assert response.json()["successful"] is False and response.json()["position"] == order["positions"][0]["id"]
    bad = api.post(f"{LISTS}{checkin_list['id']}/failed_checkins/", {"raw_barcode": "x", "error_reason": "nope"})
    assert bad.status_code == 400
    redeem(api, order["positions"][0]["secret"], [checkin_list["id"]])
    assert api.get(EVENT + "checkins/", params={"successful": "true"}).json()["count"] == 1
    assert api.get(EVENT + "checkins/", params={"successful": "false"}).json()["count"] == 1
    assert api.get(EVENT + "checkins/", params={"type": "exit"}).json()["count"] == 0
    assert api.get(EVENT + "checkins/", params={"type": "sideways"}).status_code == 400
    with api.kernel.db.session() as session:
        actions = set(session.scalars(select(LogEntry.action_type)))
    assert {"boxoffice.event.checkin", "boxoffice.event.checkin.denied"} <= actions


def test_lists_of_two_events_and_one_list_per_event(api) -> None:
    first = make_list(api)
    other = api.post("/api/v1/organizers/demo/events/other/checkinlists/", {"name": "Other"}).json()
    second = make_list(api, name="Second")
    secret = place(api)["positions"][0]["secret"]
    both = redeem(api, secret, [other["id"], first["id"]])
    assert both.status_code == 201 and both.json()["list"]["id"] == first["id"]
    same_event = redeem(api, secret, [first["id"], second["id"]])
    assert same_event.status_code == 400 and "lists" in same_event.json()
    assert redeem(api, secret, [123456]).status_code == 404


@pytest.fixture
def device_token(api) -> str:
    token = new_token()
    with api.kernel.db.session() as session:
        from boxoffice.kernel.models import Organizer

        organizer = session.scalar(select(Organizer).where(Organizer.slug == "demo"))
        session.add(
            Device(
                organizer=organizer,
                device_id=1,
                unique_serial="SCANNER1",
                name="Scanner",
                all_events=True,
                api_token_digest=token_digest(token),
                initialized=datetime.now(UTC),
            )
        )
    return token


def test_devices_redeem_and_annul_only_their_own(api, device_token: str) -> None:
    checkin_list = make_list(api)
    secret = place(api)["positions"][0]["secret"]
    headers = {"Authorization": f"Device {device_token}"}
    scanned = api.client.post(
        RPC + "redeem/", json={"secret": secret, "lists": [checkin_list["id"]], "nonce": "d1"}, headers=headers
    )
    assert scanned.status_code == 201, scanned.text
    checkins = scanned.json()["position"]["checkins"]
    assert checkins[0]["device_id"] == 1
    # A team token did not make this check-in, so it may not annul it.
    assert api.post(RPC + "annul/", {"nonce": "d1", "lists": [checkin_list["id"]]}).status_code == 400
    own = api.client.post(RPC + "annul/", json={"nonce": "d1", "lists": [checkin_list["id"]]}, headers=headers)
    assert own.status_code == 200
    search = api.client.get(RPC + "search/", params={"list": checkin_list["id"]}, headers=headers)
    assert search.status_code == 200 and search.json()["count"] == 1


def test_permissions(api) -> None:
    checkin_list = make_list(api)
    secret = place(api)["positions"][0]["secret"]
    reader = api.make_token(event_permissions=("event.orders:read",))
    scanner = api.make_token(event_permissions=("event.orders:checkin",))
    assert redeem(api, secret, [checkin_list["id"]], token=reader).status_code == 403
    assert api.get(RPC + "search/", params={"list": checkin_list["id"]}, token=reader).status_code == 200
    assert api.post(LISTS, {"name": "x"}, token=scanner).status_code == 403
    assert redeem(api, secret, [checkin_list["id"]], token=scanner).status_code == 201
    rival = api.make_token("rival")
    assert redeem(api, secret, [checkin_list["id"]], token=rival).status_code == 403
    # Another organizer's list is unknown at one's own organizer.
    foreign = api.post(
        "/api/v1/organizers/rival/checkinrpc/redeem/", {"secret": secret, "lists": [checkin_list["id"]]}, token=rival
    )
    assert foreign.status_code == 404


def test_bad_input_is_400(api) -> None:
    checkin_list = make_list(api)
    assert api.post(RPC + "redeem/", {"lists": [checkin_list["id"]]}).status_code == 400
    assert redeem(api, "x", [checkin_list["id"]], type="sideways").status_code == 400
    assert redeem(api, "x", [checkin_list["id"]], datetime="yesterday").status_code == 400
    assert redeem(api, "x", []).status_code == 400
    assert api.post(RPC + "redeem/", content=b"{", headers={"Content-Type": "application/json"}).status_code == 400


def test_the_answer_shows_answers_and_falls_back_to_the_invoice_name(api) -> None:
    checkin_list = make_list(api)
    question = api.post(
        EVENT + "questions/", {"question": {"en": "Diet"}, "type": "S", "items": [ticket_id(api)], "required": False}
    )
    assert question.status_code == 201, question.text
    answered = place(
        api,
        positions=[{"item": ticket_id(api), "answers": [{"question": question.json()["id"], "answer": "vegan"}]}],
        invoice_address={"name_parts": {"_scheme": "full", "full_name": "Iris Invoice"}, "country": "DE"},
    )
    scanned = redeem(api, answered["positions"][0]["secret"], [checkin_list["id"]]).json()
    assert scanned["status"] == "ok"
    assert [answer["answer"] for answer in scanned["position"]["answers"]] == ["vegan"]
    assert scanned["position"]["attendee_name"] == "Iris Invoice"
    plain = redeem(
        api, place(api, positions=[{"item": ticket_id(api)}])["positions"][0]["secret"], [checkin_list["id"]]
    )
    assert plain.json()["position"]["answers"] == [] and plain.json()["position"]["attendee_name"] is None


def test_the_answer_shows_print_logs_and_product_texts(api) -> None:
    checkin_list = make_list(api)
    assert api.patch(f"{EVENT}items/{ticket_id(api)}/", {"checkin_text": "Hand out a wristband"}).status_code == 200
    printed, plain = place(api)["positions"][0], place(api)["positions"][0]
    logged = api.post(
        f"{EVENT}orderpositions/{printed['id']}/printlog/",
        {"source": "pretixscan", "type": "badge", "datetime": "2026-12-01T10:00:00Z"},
    )
    assert logged.status_code == 201, logged.text
    scanned = redeem(api, printed["secret"], [checkin_list["id"]]).json()
    assert [log["type"] for log in scanned["position"]["print_logs"]] == ["badge"]
    assert scanned["checkin_texts"] == ["Hand out a wristband"]
    unprinted = redeem(api, plain["secret"], [checkin_list["id"]]).json()
    assert unprinted["position"]["print_logs"] == [] and unprinted["checkin_texts"] == ["Hand out a wristband"]
