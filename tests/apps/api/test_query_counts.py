"""List endpoints load related rows in a fixed number of queries, whatever the page holds (no N+1)."""

import pytest
from statements import counted

BASE = "/api/v1/organizers/demo/events/democon/"


def make_rich_item(api, number: int) -> int:
    item = api.post(
        BASE + "items/",
        {
            "name": {"en": f"Item {number}"},
            "default_price": "10.00",
            "variations": [{"value": {"en": "S"}}, {"value": {"en": "L"}}],
        },
    )
    assert item.status_code == 201, item.json()
    item_id = item.json()["id"]
    quota = api.post(BASE + "quotas/", {"name": f"Q{number}", "size": 10, "items": [item_id], "variations": []})
    if quota.status_code != 201:
        variations = [v["id"] for v in item.json()["variations"]]
        quota = api.post(
            BASE + "quotas/", {"name": f"Q{number}", "size": 10, "items": [item_id], "variations": variations}
        )
    assert quota.status_code == 201, quota.json()
    question = api.post(
        BASE + "questions/",
        {"question": {"en": f"Q{number}?"}, "type": "C", "items": [item_id], "options": [{"answer": {"en": "a"}}]},
    )
    assert question.status_code == 201, question.json()
    return item_id


@pytest.mark.parametrize(
    "path",
    [BASE + "items/", BASE + "quotas/", BASE + "questions/", BASE + "vouchers/", "/api/v1/organizers/demo/events/"],
)
def test_list_queries_do_not_grow_with_the_page(api, path):

    def queries() -> int:
        with counted(api.kernel.db.engine) as statements:
            assert api.get(path).status_code == 200
        return len(statements)

    make_rich_item(api, 0)
    api.post(BASE + "vouchers/", {"code": "V0", "max_usages": 1})
    few = queries()
    for number in range(1, 12):
        make_rich_item(api, number)
        api.post(BASE + "vouchers/", {"code": f"V{number}", "max_usages": 1})
    assert queries() == few
