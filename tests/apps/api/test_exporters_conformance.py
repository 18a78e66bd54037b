"""Conformance of the exporters, scheduled exports and shredders with the pretix API v1 digest: every documented
example is replayed (organizer ``bigevents``/event ``sampleconf`` rewritten to the seeded ``demo``/``democon``, the
bundled plugins switched on, the event moved into the past for the shredders), must answer a documented success
status and carry every field of the documented example with compatible JSON types. The polling endpoints, which
have no example, are fetched at the URLs the start calls return and must answer 200."""

from __future__ import annotations

from typing import Any

import pytest
from export_world import enable, past, path_of, place, poll
from test_conformance import SPEC_PATH, Example, body_problems, load_examples

RESOURCES = ("exporters", "scheduled_exports", "shredders")


def _examples() -> list[Any]:
    if not SPEC_PATH.exists():
        return [pytest.param(None, id="spec-missing", marks=pytest.mark.skip(reason=f"no digest at {SPEC_PATH}"))]
    return [pytest.param(example, id=example.name) for example in load_examples(RESOURCES)]


def concrete(path: str, ids: dict[str, Any]) -> str:
    path = path.replace("{organizer}", "demo").replace("{event}", "democon")
    for name, value in ids.items():
        path = path.replace("{" + name + "}", str(value))
    return path


def prepare(api: Any, example: Example) -> dict[str, Any]:
    """Plugins on, an order to export, a schedule or a finished shredder export where the path needs one."""
    enable(api, "reports", "shredders")
    place(api, email="ada@example.org", names=("Ada Lovelace",))
    ids: dict[str, Any] = {"identifier": "orderlist"}
    if example.resource == "scheduled_exports":
        base = concrete(example.path.split("scheduled_exports/")[0] + "scheduled_exports/", {})
        body = {
            "export_identifier": "orderlist",
            "export_form_data": {"_format": "xlsx", "date_range": "week_previous"},
            "mail_additional_recipients": "mary@example.org",
            "schedule_rrule": "DTSTART:20230118T000000\nRRULE:FREQ=WEEKLY;BYDAY=TU,WE,TH",
            "schedule_rrule_time": "04:00:00",
        }
        if "/events/" not in example.path:
            body["timezone"] = "Europe/Berlin"
        created = api.post(base, body)
        assert created.status_code == 201, created.text
        ids["id"] = created.json()["id"]
    if example.resource == "shredders":
        past(api)
        if "{id1}" in example.path:
            started = api.post(concrete("/api/v1/organizers/{organizer}/events/{event}/shredders/export/", {}),
                               {"shredders": ["question_answers"]})  # fmt: skip
            assert started.status_code == 202, started.text
            assert poll(api, started.json()["download"]).status_code == 200
            url = started.json()["shred"]
            if example.path.endswith("/status/{id1}/{id2}/"):
                url = api.post(path_of(url)).json()["status"]
            ids["id1"], ids["id2"] = path_of(url).rstrip("/").split("/")[-2:]
    if example.resource == "exporters" and "{id1}" in example.path:
        run = example.path.split("download/")[0] + "run/"
        started = api.post(concrete(run, ids), {"_format": "default"})
        assert started.status_code == 202, started.text
        ids["id1"], ids["id2"] = path_of(started.json()["download"]).rstrip("/").split("/")[-2:]
    return ids


@pytest.mark.parametrize("example", _examples())
def test_example_conforms(api: Any, example: Example) -> None:
    ids = prepare(api, example)
    path = concrete(example.path, ids)
    body = example.request_body
    if example.resource == "exporters" and example.method == "POST":
        body = {"_format": "xlsx"}
    response = api.client.request(example.method, path, json=body, headers=api.headers())
    if example.endpoint.get("polling_endpoint") and response.status_code == 409:
        response = poll(api, "http://x" + path)
    accepted = example.accepted_statuses()
    assert response.status_code in accepted, f"{example.method} {path} → {response.status_code}: {response.text[:300]}"
    is_json = "json" in response.headers.get("content-type", "")
    answer = response.json() if response.content and is_json else None
    assert body_problems(example, answer) == []
    if example.endpoint.get("async"):
        for key in example.endpoint.get("async_result", {}).get("url_keys", []):
            assert answer[key].startswith("http"), answer
