"""Cart positions through the API: create (single and bulk, with add-ons, answers, vouchers), list, fetch, delete,
quota reservation, and orders consuming carts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, update

from boxoffice.kernel.models import Event, Item, Quota
from boxoffice.kernel.models.orders import CartPosition, Order, QuestionAnswer
from boxoffice.kernel.models.questions import Question
from boxoffice.kernel.models.vouchers import Voucher

EVENT = "/api/v1/organizers/demo/events/democon/"
CARTS = EVENT + "cartpositions/"
BULK = CARTS + "bulk_create/"
ORDERS = EVENT + "orders/"
QUOTA_MESSAGE = 'There is not enough quota available on quota "Tickets" to perform the operation.'


def ticket(api) -> int:
    with api.kernel.db.session() as session:
        return session.scalar(select(Item.id).join(Event).where(Event.slug == "democon"))


def quota_id(api) -> int:
    with api.kernel.db.session() as session:
        return session.scalar(select(Quota.id).join(Event).where(Event.slug == "democon"))


def set_quota_size(api, size: int) -> None:
    with api.kernel.db.session() as session:
        session.execute(update(Quota).values(size=size))


def add_item(api, name: str, quota_size: int | None = 100) -> int:
    """Another product of democon with its own quota."""
    with api.kernel.db.session() as session:
        event = session.scalar(select(Event).where(Event.slug == "democon"))
        item = Item(event=event, name={"en": name}, default_price=Decimal("5.00"))
        session.add(item)
        session.add(Quota(event=event, name=name, size=quota_size, items=[item]))
        session.flush()
        return item.id


def add_voucher(api, code: str, **values) -> int:
    with api.kernel.db.session() as session:
        event_id = session.scalar(select(Event.id).where(Event.slug == "democon"))
        voucher = Voucher(event_id=event_id, code=code, **values)
        session.add(voucher)
        session.flush()
        return voucher.id


def availability(api) -> dict:
    response = api.get(f"{EVENT}quotas/{quota_id(api)}/availability/")
    assert response.status_code == 200, response.text
    return response.json()


def test_create_fetch_list_delete(api):
    item = ticket(api)
    before = datetime.now(UTC)
    response = api.post(CARTS, {"item": item, "price": "23", "attendee_name_parts": {"given_name": "Peter"}})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["cart_id"].endswith("@api") and len(body["cart_id"]) > 20
    assert body["price"] == "23.00" and body["item"] == item and body["variation"] is None
    assert body["attendee_name"] == "Peter" and body["attendee_name_parts"] == {"given_name": "Peter"}
    assert body["includes_tax"] is True and body["seat"] is None and body["answers"] == []
    assert body["addons"] == [] and body["bundled"] == []
    expires = datetime.fromisoformat(body["expires"].replace("Z", "+00:00"))
    # The event's reservation_time (30 minutes by default).
    assert timedelta(minutes=29) < expires - before < timedelta(minutes=31)

    fetched = api.get(f"{CARTS}{body['id']}/")
    assert fetched.status_code == 200
    assert fetched.json() == {key: value for key, value in body.items() if key not in ("addons", "bundled")}
    listed = api.get(CARTS).json()
    assert listed["count"] == 1 and listed["results"][0] == fetched.json()
    assert availability(api)["cart_positions"] == 1

    assert api.delete(f"{CARTS}{body['id']}/").status_code == 204
    assert api.get(f"{CARTS}{body['id']}/").status_code == 404
    assert api.delete(f"{CARTS}{body['id']}/").status_code == 404
    assert availability(api)["cart_positions"] == 0


def test_only_api_carts_are_visible(api):
    item = ticket(api)
    with api.kernel.db.session() as session:
        event_id = session.scalar(select(Event.id).where(Event.slug == "democon"))
        shop = CartPosition(
            event_id=event_id,
            cart_id="shop-session-1",
            item_id=item,
            price=Decimal("35.00"),
            expires=datetime.now(UTC) + timedelta(minutes=5),
        )
        session.add(shop)
        session.flush()
        shop_id = shop.id
    mine = api.post(CARTS, {"item": item, "price": "35.00", "cart_id": "mine@api"}).json()
    listed = api.get(CARTS).json()
    assert [entry["id"] for entry in listed["results"]] == [mine["id"]]
    assert mine["cart_id"] == "mine@api"
    assert api.get(f"{CARTS}{shop_id}/").status_code == 404
    assert api.delete(f"{CARTS}{shop_id}/").status_code == 404
    # The shop's cart still holds its quota.
    assert availability(api)["cart_positions"] == 2


def test_invalid_input_is_a_field_error(api):
    item = ticket(api)
    missing = api.post(CARTS, {"item": item})
    assert missing.status_code == 400 and missing.json() == {"price": ["This field is required."]}
    wrong_cart = api.post(CARTS, {"item": item, "price": "1.00", "cart_id": "abc"})
    assert wrong_cart.status_code == 400 and list(wrong_cart.json()) == ["cart_id"]
    negative = api.post(CARTS, {"item": item, "price": "-1"})
    assert negative.status_code == 400 and list(negative.json()) == ["price"]
    unknown = api.post(CARTS, {"item": 999999, "price": "1.00"})
    assert unknown.status_code == 400 and unknown.json()["item"] == ['Invalid pk "999999" - object does not exist.']
    seat = api.post(CARTS, {"item": item, "price": "1.00", "seat": "a1b2"})
    assert seat.status_code == 400 and seat.json() == {"seat": ["The event has no seating plan."]}
    subevent = api.post(CARTS, {"item": item, "price": "1.00", "subevent": 5})
    assert subevent.status_code == 400 and list(subevent.json()) == ["subevent"]
    channel = api.post(CARTS, {"item": item, "price": "1.00", "sales_channel": "nowhere"})
    assert channel.status_code == 400 and list(channel.json()) == ["sales_channel"]
    both = api.post(CARTS, {"item": item, "price": "1.00", "attendee_name": "A", "attendee_name_parts": {"a": "b"}})
    assert both.status_code == 400 and list(both.json()) == ["attendee_name"]
    addon = api.post(CARTS, {"item": item, "price": "1.00", "addons": [{"item": 999999, "price": "1.00"}]})
    assert addon.status_code == 400
    assert addon.json() == {"addons": [{"item": ['Invalid pk "999999" - object does not exist.']}]}
    with api.kernel.db.session() as session:
        assert session.scalar(select(func.count()).select_from(CartPosition)) == 0


def test_carts_take_quota_and_release_it(api):
    item = ticket(api)
    set_quota_size(api, 2)
    first = api.post(CARTS, {"item": item, "price": "35.00"})
    second = api.post(CARTS, {"item": item, "price": "35.00"})
    assert first.status_code == second.status_code == 201
    refused = api.post(CARTS, {"item": item, "price": "35.00"})
    assert refused.status_code == 400
    assert refused.json() == {"non_field_errors": [QUOTA_MESSAGE]}
    # Orders see the reservation too.
    order = api.post(ORDERS, {"positions": [{"item": item}]})
    assert order.status_code == 400 and QUOTA_MESSAGE in order.json()["positions"][0]["item"]
    assert api.delete(f"{CARTS}{first.json()['id']}/").status_code == 204
    assert api.post(CARTS, {"item": item, "price": "35.00"}).status_code == 201


def test_expired_carts_hold_nothing(api):
    item = ticket(api)
    set_quota_size(api, 1)
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    old = api.post(CARTS, {"item": item, "price": "35.00", "expires": past})
    assert old.status_code == 201
    assert availability(api)["cart_positions"] == 0
    assert api.post(CARTS, {"item": item, "price": "35.00"}).status_code == 201


def test_addons_and_bundled_positions(api):
    item = ticket(api)
    shirt = add_item(api, "Shirt", quota_size=1)
    body = {
        "item": item,
        "price": "35.00",
        "cart_id": "family@api",
        "addons": [{"item": shirt, "price": "5.00", "attendee_email": "kid@example.org"}],
        "bundled": [{"item": item, "price": "0.00"}],
    }
    response = api.post(CARTS, body)
    assert response.status_code == 201, response.text
    created = response.json()
    [addon] = created["addons"]
    [bundled] = created["bundled"]
    assert addon["addon_to"] == created["id"] and addon["is_bundled"] is False and addon["item"] == shirt
    assert addon["attendee_email"] == "kid@example.org" and addon["cart_id"] == "family@api"
    assert bundled["addon_to"] == created["id"] and bundled["is_bundled"] is True
    assert addon["expires"] == created["expires"] == bundled["expires"]
    assert api.get(CARTS).json()["count"] == 3
    # Main and bundled ticket count against "Tickets"; the only shirt is gone.
    assert availability(api)["cart_positions"] == 2
    again = api.post(CARTS, {**body, "cart_id": None})
    assert again.status_code == 400 and "Shirt" in again.json()["non_field_errors"][0]
    # Deleting the main position takes its nested positions along.
    assert api.delete(f"{CARTS}{created['id']}/").status_code == 204
    assert api.get(CARTS).json()["count"] == 0
    assert api.post(CARTS, {**body, "cart_id": None}).status_code == 201


def test_nested_positions_share_the_parents_cart(api):
    item = ticket(api)
    response = api.post(
        CARTS,
        {"item": item, "price": "1.00", "addons": [{"item": item, "price": "1.00", "cart_id": "other@api"}]},
    )
    assert response.status_code == 400 and list(response.json()["addons"][0]) == ["cart_id"]


def test_answers_are_stored_and_shown(api):
    item = ticket(api)
    with api.kernel.db.session() as session:
        event_id = session.scalar(select(Event.id).where(Event.slug == "democon"))
        question = Question(event_id=event_id, question={"en": "Age"}, type="N", identifier="AGE", items=[])
        session.add(question)
        session.flush()
        question_id = question.id
    response = api.post(CARTS, {"item": item, "price": "1.00", "answers": [{"question": question_id, "answer": "23"}]})
    assert response.status_code == 201, response.text
    expected = [
        {"question": question_id, "answer": "23", "question_identifier": "AGE", "options": [], "option_identifiers": []}
    ]
    assert response.json()["answers"] == expected
    assert api.get(f"{CARTS}{response.json()['id']}/").json()["answers"] == expected
    bad = api.post(CARTS, {"item": item, "price": "1.00", "answers": [{"question": question_id, "answer": "old"}]})
    assert bad.status_code == 400 and bad.json() == {"answers": ["A valid number is required."]}
    assert api.delete(f"{CARTS}{response.json()['id']}/").status_code == 204
    with api.kernel.db.session() as session:
        assert session.scalar(select(func.count()).select_from(QuestionAnswer)) == 0


def test_voucher_is_held_not_redeemed(api):
    item = ticket(api)
    voucher_id = add_voucher(api, "HOLDME", max_usages=1)
    held = api.post(CARTS, {"item": item, "price": "10.00", "voucher": "holdme"})
    assert held.status_code == 201, held.text
    assert held.json()["voucher"] == voucher_id
    refused = api.post(CARTS, {"item": item, "price": "10.00", "voucher": "HOLDME"})
    assert refused.status_code == 400 and refused.json() == {
        "voucher": ["This voucher has already been redeemed the maximum number of times."]
    }
    with api.kernel.db.session() as session:
        assert session.get(Voucher, voucher_id).redeemed == 0
    # Someone else's order cannot take the use the cart holds.
    stranger = api.post(ORDERS, {"positions": [{"item": item, "price": "10.00", "voucher": "HOLDME"}]})
    assert stranger.status_code == 400
    assert stranger.json()["positions"][0]["voucher"] == [
        "This voucher has already been redeemed the maximum number of times."
    ]
    # The cart's owner orders: the use moves from the cart to the order.
    order = api.post(
        ORDERS,
        {
            "consume_carts": [held.json()["cart_id"]],
            "positions": [{"item": item, "price": "10.00", "voucher": "HOLDME"}],
        },
    )
    assert order.status_code == 201, order.text
    with api.kernel.db.session() as session:
        assert session.get(Voucher, voucher_id).redeemed == 1
        assert session.scalar(select(func.count()).select_from(CartPosition)) == 0


def test_expired_cart_releases_its_voucher(api):
    item = ticket(api)
    add_voucher(api, "ONCE", max_usages=1)
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    assert api.post(CARTS, {"item": item, "price": "1.00", "voucher": "ONCE", "expires": past}).status_code == 201
    assert api.post(CARTS, {"item": item, "price": "1.00", "voucher": "ONCE"}).status_code == 201


def test_blocking_voucher_cart_fits_a_full_quota(api):
    item = ticket(api)
    set_quota_size(api, 1)
    add_voucher(api, "VIP", max_usages=1, block_quota=True, item_id=item)
    # The voucher blocks the only ticket: nobody else gets it…
    assert api.post(CARTS, {"item": item, "price": "35.00"}).status_code == 400
    # …but the voucher's holder does, without taking a second unit.
    assert api.post(CARTS, {"item": item, "price": "35.00", "voucher": "VIP"}).status_code == 201
    numbers = availability(api)
    assert numbers["blocking_vouchers"] == 1 and numbers["cart_positions"] == 0 and numbers["available_number"] == 0
    assert api.post(CARTS, {"item": item, "price": "35.00", "voucher": "VIP"}).status_code == 400


def test_bulk_create_is_not_atomic(api):
    item = ticket(api)
    set_quota_size(api, 2)
    entries = [
        {"item": item, "price": "23.00", "cart_id": "bulk@api"},
        {"item": item},
        {"item": item, "price": "23.00", "cart_id": "bulk@api"},
        {"item": item, "price": "23.00", "cart_id": "bulk@api"},
        {"item": "x", "price": "1.00"},
    ]
    response = api.post(BULK, entries)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [result["success"] for result in results] == [True, False, True, False, False]
    assert results[0]["errors"] is None and results[0]["data"]["cart_id"] == "bulk@api"
    assert results[0]["data"]["addons"] == []
    assert results[1] == {"success": False, "errors": {"price": ["This field is required."]}, "data": None}
    assert results[3] == {"success": False, "errors": {"non_field_errors": [QUOTA_MESSAGE]}, "data": None}
    assert results[4]["errors"] == {"item": ["A valid integer is required."]}
    assert [entry["id"] for entry in api.get(CARTS).json()["results"]] == [
        results[0]["data"]["id"],
        results[2]["data"]["id"],
    ]


def test_bulk_create_needs_a_list(api):
    response = api.post(BULK, {"item": 1})
    assert response.status_code == 400 and response.json() == {"non_field_errors": ["Expected a list of items."]}
    broken = api.post(BULK, content=b"[{", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and "JSON parse error" in broken.json()["detail"]
    too_many = api.post(BULK, [{"item": 1, "price": "1.00"}] * 1001)
    assert too_many.status_code == 400 and list(too_many.json()) == ["non_field_errors"]


def test_permissions(api):
    item = ticket(api)
    reader = api.make_token(event_permissions=("event.orders:read",))
    nobody = api.make_token(event_permissions=("event.vouchers:read",))
    assert api.get(CARTS, reader).status_code == 200
    assert api.get(CARTS, nobody).status_code == 403
    assert api.post(CARTS, {"item": item, "price": "1.00"}, reader).status_code == 403
    assert api.post(BULK, [{"item": item, "price": "1.00"}], reader).status_code == 403
    created = api.post(CARTS, {"item": item, "price": "1.00"}).json()
    assert api.delete(f"{CARTS}{created['id']}/", reader).status_code == 403
    rival = api.make_token("rival")
    assert api.get(CARTS, rival).status_code == 403


def test_order_consuming_the_cart_that_fills_the_quota(api):
    item = ticket(api)
    set_quota_size(api, 1)
    cart = api.post(CARTS, {"item": item, "price": "35.00"}).json()
    assert availability(api)["available_number"] == 0
    # Someone else cannot order…
    assert api.post(ORDERS, {"positions": [{"item": item}]}).status_code == 400
    # …the cart's owner can: the cart's rows go in the same transaction that places the order.
    response = api.post(ORDERS, {"consume_carts": [cart["cart_id"]], "positions": [{"item": item}]})
    assert response.status_code == 201, response.text
    with api.kernel.db.session() as session:
        assert session.scalar(select(func.count()).select_from(CartPosition)) == 0
        assert session.scalar(select(func.count()).select_from(Order)) == 1
    numbers = availability(api)
    assert numbers["pending_orders"] == 1 and numbers["cart_positions"] == 0 and numbers["available_number"] == 0


def test_voucher_allowed_to_ignore_quota(api):
    item = ticket(api)
    set_quota_size(api, 1)
    assert api.post(CARTS, {"item": item, "price": "35.00"}).status_code == 201
    add_voucher(api, "CREW", max_usages=2, allow_ignore_quota=True)
    assert api.post(CARTS, {"item": item, "price": "0.00"}).status_code == 400
    assert api.post(CARTS, {"item": item, "price": "0.00", "voucher": "CREW"}).status_code == 201


def test_reactivation_cannot_take_a_voucher_use_a_cart_holds(api):
    item = ticket(api)
    add_voucher(api, "LASTONE", max_usages=1)
    order = api.post(ORDERS, {"positions": [{"item": item, "price": "10.00", "voucher": "LASTONE"}]})
    assert order.status_code == 201, order.text
    code = order.json()["code"]
    assert api.post(f"{ORDERS}{code}/mark_canceled/", {}).status_code == 200
    assert api.post(CARTS, {"item": item, "price": "10.00", "voucher": "LASTONE"}).status_code == 201
    refused = api.post(f"{ORDERS}{code}/reactivate/", {})
    assert refused.status_code == 400, refused.text
    with api.kernel.db.session() as session:
        assert session.scalar(select(Voucher.redeemed).where(Voucher.code == "LASTONE")) == 0
