import json
from pathlib import Path

from sqlalchemy import select

from boxoffice.kernel.models import Event, Item, LogEntry

EVENT = "/api/v1/organizers/demo/events/democon/"
QUESTIONS = EVENT + "questions/"
SPEC = Path("/work/shared/spec/pretix-api.json")


def spec_create():
    resources = json.loads(SPEC.read_text())["resources"]
    (questions,) = [r for r in resources if r["resource"] == "questions"]
    (create,) = [e for e in questions["endpoints"] if e["method"] == "POST"]
    return create["example_request"], create["example_response"]["body"]


def ticket(api, event="democon"):
    with api.kernel.db.session() as session:
        return session.scalar(select(Item.id).join(Event).where(Event.slug == event))


def question(api, **fields):
    body = {"question": {"en": "Q"}, "type": "S", **fields}
    response = api.post(QUESTIONS, body)
    assert response.status_code == 201, response.json()
    return response.json()


def test_create_from_the_spec_example(api):
    item = ticket(api)
    request, expected = spec_create()
    created = api.post(QUESTIONS, {**request, "items": [item]})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert set(body) == set(expected)
    assert body["items"] == [item] and body["type"] == "C" and body["help_text"] == request["help_text"]
    assert [option["answer"] for option in body["options"]] == [{"en": "S"}, {"en": "M"}, {"en": "L"}]
    assert [option["position"] for option in body["options"]] == [1, 2, 3]
    assert all(len(option["identifier"]) == 8 for option in body["options"])
    assert len(body["identifier"]) == 8 and body["dependency_value"] is None and body["dependency_values"] == []
    assert set(body["options"][0]) == set(expected["options"][0])
    assert api.get(QUESTIONS + f"{body['id']}/").json() == body
    assert api.get(QUESTIONS).json()["results"] == [body]


def test_all_fields_round_trip(api):
    body = question(
        api,
        type="N",
        required=True,
        identifier="age.v2",
        valid_number_min="0",
        valid_number_max=120.5,
        help_text=None,
        hidden=True,
        print_on_invoice=True,
    )
    assert (body["valid_number_min"], body["valid_number_max"]) == ("0.000000", "120.500000")
    assert body["help_text"] == {} and body["identifier"] == "age.v2" and body["required"] is True
    dated = question(
        api,
        type="W",
        valid_datetime_min="2031-01-01T10:00:00+02:00",
        valid_datetime_max="2031-02-01T00:00:00Z",
        valid_date_min="2031-01-01",
        show_during_checkin=True,
        ask_during_checkin=True,
    )
    assert dated["valid_datetime_min"] == "2031-01-01T08:00:00Z" and dated["valid_date_min"] == "2031-01-01"
    text = question(api, type="T", valid_string_length_max=200, valid_file_portrait=True)
    assert text["valid_string_length_max"] == 200 and text["valid_file_portrait"] is True


def test_update_replace_delete(api):
    item = ticket(api)
    created = question(api, identifier="SHIRT", items=[item], required=True, position=4)
    url = QUESTIONS + f"{created['id']}/"
    patched = api.patch(url, {"position": 2})
    assert patched.status_code == 200 and patched.json() == {**created, "position": 2}
    refused = api.patch(url, {"options": [{"answer": {"en": "X"}}]})
    assert refused.status_code == 400 and "options" in refused.json()
    replaced = api.put(url, {"question": {"en": "New"}, "type": "B"})
    assert replaced.status_code == 200, replaced.json()
    body = replaced.json()
    assert body["identifier"] == "SHIRT"
    assert (body["items"], body["required"], body["position"], body["type"]) == ([], False, 0, "B")
    assert "type" in api.put(url, {"question": {"en": "New"}}).json()
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404
    with api.kernel.db.session() as session:
        logged = [e.action_type for e in session.scalars(select(LogEntry).order_by(LogEntry.id))][-4:]
    assert logged == [
        "boxoffice.event.question.added",
        "boxoffice.event.question.changed",
        "boxoffice.event.question.changed",
        "boxoffice.event.question.deleted",
    ]


def test_validation(api):
    question(api, identifier="TAKEN")
    other_item = ticket(api, "democon")
    with api.kernel.db.session() as session:
        rival_item = Item(event=session.scalar(select(Event).where(Event.slug == "rivalcon")), name={"en": "R"})
        session.add(rival_item)
        session.flush()
        rival_item = rival_item.id

    def errors(**fields):
        response = api.post(QUESTIONS, fields)
        assert response.status_code == 400, response.json()
        return set(response.json())

    assert errors() == {"question", "type"}
    assert errors(question={"en": " "}, type="S") == {"question"}
    assert errors(question={"en": "Q"}, type="X") == {"type"}
    assert errors(question={"en": "Q"}, type="S", identifier="TAKEN") == {"identifier"}
    assert errors(question={"en": "Q"}, type="S", identifier="has space") == {"identifier"}
    assert errors(question={"en": "Q"}, type="S", identifier="x" * 191) == {"identifier"}
    assert errors(question={"en": "Q"}, type="S", items=[other_item, rival_item]) == {"items"}
    assert errors(question={"en": "Q"}, type="N", valid_number_min="5", valid_number_max="1") == {"valid_number_max"}
    assert errors(question={"en": "Q"}, type="N", valid_number_min="NaN") == {"valid_number_min"}
    assert errors(question={"en": "Q"}, type="N", valid_number_max="1e12") == {"valid_number_max"}
    assert errors(question={"en": "Q"}, type="D", valid_date_min="2031-02-01", valid_date_max="2031-01-01") == {
        "valid_date_max"
    }
    assert errors(question={"en": "Q"}, type="T", valid_string_length_max=0) == {"valid_string_length_max"}
    assert errors(question={"en": "Q"}, type="F", show_during_checkin=True) == {"show_during_checkin"}
    assert errors(question={"en": "Q"}, type="S", position=2**31) == {"position"}
    nested = api.post(QUESTIONS, {"question": {"en": "Q"}, "type": "C", "options": [{"answer": {"en": "A"}}, {}]})
    assert nested.status_code == 400 and nested.json() == {"options": [{}, {"answer": ["This field is required."]}]}
    duplicated = [{"answer": {"en": "A"}, "identifier": "A"}, {"answer": {"en": "B"}, "identifier": "A"}]
    assert errors(question={"en": "Q"}, type="C", options=duplicated) == {"options"}
    assert api.get(QUESTIONS).json()["count"] == 1


def test_dependencies(api):
    shirt = question(api, type="C", options=[{"answer": {"en": "S"}, "identifier": "S"}, {"answer": {"en": "M"}}])
    vegan = question(api, type="B")
    free_text = question(api, type="S")
    size_note = question(api, dependency_question=shirt["id"], dependency_values=["S"])
    assert (size_note["dependency_question"], size_note["dependency_value"]) == (shirt["id"], "S")
    legacy = question(api, dependency_question=vegan["id"], dependency_value="True")
    assert legacy["dependency_values"] == ["True"]

    def problems(**fields):
        response = api.post(QUESTIONS, {"question": {"en": "Q"}, "type": "S", **fields})
        assert response.status_code == 400, response.json()
        return set(response.json())

    assert problems(dependency_question=free_text["id"], dependency_values=["x"]) == {"dependency_question"}
    assert problems(dependency_question=vegan["id"], dependency_values=["yes"]) == {"dependency_values"}
    assert problems(dependency_question=shirt["id"], dependency_values=["XL"]) == {"dependency_values"}
    assert problems(dependency_question=shirt["id"], dependency_values=[]) == {"dependency_values"}
    assert problems(dependency_question=999999, dependency_values=["S"]) == {"dependency_question"}
    checkin = {"dependency_question": vegan["id"], "dependency_values": ["True"], "ask_during_checkin": True}
    assert problems(**checkin) == {"dependency_question"}
    # A chain that would lead back to the question itself.
    cycle = api.patch(QUESTIONS + f"{vegan['id']}/", {"dependency_question": legacy["id"], "dependency_values": ["x"]})
    assert cycle.status_code == 400 and "dependency_question" in cycle.json()
    assert "type" in api.patch(QUESTIONS + f"{vegan['id']}/", {"type": "S"}).json()
    # Clearing the dependency clears its values.
    cleared = api.patch(QUESTIONS + f"{legacy['id']}/", {"dependency_question": None})
    assert cleared.json()["dependency_values"] == [] and cleared.json()["dependency_value"] is None
    # Deleting the question others depend on makes them unconditional.
    assert api.delete(QUESTIONS + f"{shirt['id']}/").status_code == 204
    orphan = api.get(QUESTIONS + f"{size_note['id']}/").json()
    assert (orphan["dependency_question"], orphan["dependency_values"]) == (None, [])


def test_filters_ordering_and_last_modified(api):
    first = question(api, identifier="ONE", position=5, required=True)
    second = question(api, identifier="TWO", position=1, ask_during_checkin=True)
    listed = api.get(QUESTIONS)
    assert [q["id"] for q in listed.json()["results"]] == [second["id"], first["id"]]
    assert [q["id"] for q in api.get(QUESTIONS + "?ordering=id").json()["results"]] == [first["id"], second["id"]]
    assert [q["id"] for q in api.get(QUESTIONS + "?identifier=TWO").json()["results"]] == [second["id"]]
    assert [q["id"] for q in api.get(QUESTIONS + "?required=true").json()["results"]] == [first["id"]]
    assert [q["id"] for q in api.get(QUESTIONS + "?ask_during_checkin=true").json()["results"]] == [second["id"]]
    assert api.get(QUESTIONS + "?required=maybe").status_code == 400
    stamp = listed.headers["last-modified"]
    assert api.get(QUESTIONS, headers={"If-Modified-Since": stamp}).status_code == 304
    api.patch(QUESTIONS + f"{first['id']}/", {"required": False})
    assert api.get(QUESTIONS, headers={"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}).status_code == 200


def test_permissions_and_scoping(api):
    created = question(api)
    url = QUESTIONS + f"{created['id']}/"
    reader = api.make_token(event_permissions=("event.orders:read",))
    assert api.get(QUESTIONS, reader).status_code == 200
    assert api.get(url, reader).status_code == 200
    assert api.post(QUESTIONS, {"question": {"en": "Q"}, "type": "S"}, reader).status_code == 403
    assert api.patch(url, {"position": 1}, reader).status_code == 403
    assert api.put(url, {"question": {"en": "Q"}, "type": "S"}, reader).status_code == 403
    assert api.delete(url, reader).status_code == 403
    assert api.get(QUESTIONS, api.make_token("rival")).status_code == 403
    assert api.get(f"/api/v1/organizers/demo/events/other/questions/{created['id']}/").status_code == 404
    assert api.get(QUESTIONS + "999999/").status_code == 404
    assert api.get(QUESTIONS + f"{2**70}/").status_code == 404


def test_clone_copies_questions_options_and_dependencies(api):
    item = ticket(api)
    shirt = question(
        api, type="C", items=[item], identifier="SHIRT", options=[{"answer": {"en": "S"}, "identifier": "S"}]
    )
    question(api, identifier="NOTE", dependency_question=shirt["id"], dependency_values=["S"])
    cloned = api.post(EVENT + "clone/", {"slug": "democlone", "date_from": "2032-05-01T09:00:00Z"})
    assert cloned.status_code == 201, cloned.json()
    copies = {
        q["identifier"]: q for q in api.get("/api/v1/organizers/demo/events/democlone/questions/").json()["results"]
    }
    assert set(copies) == {"SHIRT", "NOTE"}
    new_shirt, note = copies["SHIRT"], copies["NOTE"]
    assert new_shirt["id"] != shirt["id"] and note["dependency_question"] == new_shirt["id"]
    assert note["dependency_values"] == ["S"]
    assert [(o["identifier"], o["answer"]) for o in new_shirt["options"]] == [("S", {"en": "S"})]
    assert new_shirt["options"][0]["id"] != shirt["options"][0]["id"]
    assert len(new_shirt["items"]) == 1 and new_shirt["items"] != [item]
