"""Whatever a client sends, the shop answers with a page or a redirect, never a server error."""

from __future__ import annotations

import pytest

SHOP = "/demo/democon/"
GARBAGE = ["", "0", "-5", "abc", "1e9", "9" * 40, "\u00e4\u00f6\u00fc", "<script>", "1.0", " 2 ", "\x00"]


@pytest.mark.parametrize("value", GARBAGE)
def test_garbage_in_every_form(shop, value):
    shop.enable_bank_transfer()
    fields = {f"item_{shop.ids['ticket']}": value, "item_999999": value, "variation_1_99": value}
    assert shop.submit(SHOP + "cart/add", fields).status_code == 303
    assert shop.submit(SHOP + "cart/remove", {"position": value}, page=SHOP).status_code == 303
    shop.add(ticket=1)
    form = {
        "email": value,
        "payment": value,
        "attendee_name_1": value,
        "question_1_1": value,
        "question_x_y": value,
    }
    response = shop.checkout(**form)
    assert response.status_code in (303, 400)
    assert "<script>" not in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/demo/democon/order/ABC/def/",
        "/demo/democon/order/%00/x/",
        "/demo/democon/order/ABC/def/download/pdf/",
        "/nobody/nothing/",
        "/demo/democon/cart/",
        "/demo/democon/checkout/",
        "/demo/democon/?lang=xx",
    ],
)
def test_odd_addresses(shop, path):
    response = shop.client.get(path, follow_redirects=False)
    assert response.status_code in (200, 303, 400, 404)


def test_posting_without_a_session_or_form(shop):
    shop.page()
    token = shop.page().text.split('name="_csrf_token" value="')[1].split('"')[0]
    response = shop.client.post(
        SHOP + "checkout/", content=b"\xff\xfe", headers={"x-csrftoken": token}, follow_redirects=False
    )
    assert response.status_code in (303, 400)
