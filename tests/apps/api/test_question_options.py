from sqlalchemy import select

from boxoffice.kernel.models import LogEntry

QUESTIONS = "/api/v1/organizers/demo/events/democon/questions/"


def choice_question(api, *identifiers):
    options = [{"answer": {"en": name}, "identifier": name} for name in identifiers]
    response = api.post(QUESTIONS, {"question": {"en": "Size"}, "type": "C", "options": options})
    assert response.status_code == 201, response.json()
    return response.json()


def test_list_detail_create_update_replace_delete(api):
    question = choice_question(api, "S", "M")
    options = QUESTIONS + f"{question['id']}/options/"
    listed = api.get(options).json()
    assert listed["count"] == 2 and listed["results"] == question["options"]
    assert set(listed["results"][0]) == {"id", "identifier", "position", "answer"}

    created = api.post(options, {"answer": {"en": "L", "de": "L"}})
    assert created.status_code == 201, created.json()
    large = created.json()
    # Without a position an option goes last; without an identifier one is generated.
    assert large["position"] == 3 and len(large["identifier"]) == 8
    url = options + f"{large['id']}/"
    assert api.get(url).json() == large

    patched = api.patch(url, {"position": 0, "identifier": "L"})
    assert patched.status_code == 200 and patched.json() == {**large, "position": 0, "identifier": "L"}
    assert [o["identifier"] for o in api.get(options).json()["results"]] == ["L", "S", "M"]
    api.patch(url, {"position": 7})
    # PUT resets an omitted position and keeps the identifier.
    replaced = api.put(url, {"answer": {"en": "Large"}})
    assert replaced.status_code == 200
    assert replaced.json() == {**large, "identifier": "L", "position": 0, "answer": {"en": "Large"}}
    assert "answer" in api.put(url, {"position": 1}).json()
    # The question carries its options.
    assert api.get(QUESTIONS + f"{question['id']}/").json()["options"][0]["answer"] == {"en": "Large"}

    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404
    assert api.get(options).json()["count"] == 2
    with api.kernel.db.session() as session:
        logged = [e.action_type for e in session.scalars(select(LogEntry).order_by(LogEntry.id))][-5:]
    assert logged == [
        "boxoffice.event.question.option.added",
        "boxoffice.event.question.option.changed",
        "boxoffice.event.question.option.changed",
        "boxoffice.event.question.option.changed",
        "boxoffice.event.question.option.deleted",
    ]


def test_validation(api):
    question = choice_question(api, "S")
    options = QUESTIONS + f"{question['id']}/options/"
    assert set(api.post(options, {}).json()) == {"answer"}
    assert set(api.post(options, {"answer": {"en": ""}}).json()) == {"answer"}
    assert set(api.post(options, {"answer": {"en": "x"}, "identifier": "S"}).json()) == {"identifier"}
    assert set(api.post(options, {"answer": {"en": "x"}, "identifier": "a b"}).json()) == {"identifier"}
    assert set(api.post(options, {"answer": {"en": "x"}, "position": -(2**40)}).json()) == {"position"}
    assert set(api.post(options, {"answer": "x"}).json()) == {"answer"}
    # The same identifier is fine on another question.
    other = choice_question(api)
    assert (
        api.post(QUESTIONS + f"{other['id']}/options/", {"answer": {"en": "x"}, "identifier": "S"}).status_code == 201
    )


def test_dependents_follow_renames_and_deletions(api):
    question = choice_question(api, "S", "M")
    small, medium = question["options"]
    options = QUESTIONS + f"{question['id']}/options/"
    body = {"question": {"en": "Q"}, "type": "S", "dependency_question": question["id"], "dependency_values": ["S"]}
    dependent = api.post(QUESTIONS, body).json()
    both = api.post(QUESTIONS, {**body, "dependency_values": ["S", "M"]}).json()
    api.patch(options + f"{small['id']}/", {"identifier": "SMALL"})
    assert api.get(QUESTIONS + f"{dependent['id']}/").json()["dependency_values"] == ["SMALL"]
    api.delete(options + f"{small['id']}/")
    assert api.get(QUESTIONS + f"{both['id']}/").json()["dependency_values"] == ["M"]
    # A question left without any value it depends on is shown unconditionally.
    orphan = api.get(QUESTIONS + f"{dependent['id']}/").json()
    assert (orphan["dependency_question"], orphan["dependency_values"]) == (None, [])
    assert medium["identifier"] == "M"


def test_changes_move_the_question_lists_last_modified(api):
    question = choice_question(api, "S")
    stamp = api.get(QUESTIONS).headers["last-modified"]
    assert api.get(QUESTIONS, headers={"If-Modified-Since": stamp}).status_code == 304
    api.post(QUESTIONS + f"{question['id']}/options/", {"answer": {"en": "M"}})
    later = api.get(QUESTIONS, headers={"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"})
    assert later.status_code == 200 and len(later.json()["results"][0]["options"]) == 2


def test_active_filter(api):
    question = choice_question(api, "S")
    options = QUESTIONS + f"{question['id']}/options/"
    assert api.get(options + "?active=true").json()["count"] == 1
    assert api.get(options + "?active=false").json()["count"] == 0
    assert api.get(options + "?active=1").status_code == 400


def test_permissions_and_scoping(api):
    question = choice_question(api, "S")
    options = QUESTIONS + f"{question['id']}/options/"
    url = options + f"{question['options'][0]['id']}/"
    reader = api.make_token(event_permissions=())
    assert api.get(options, reader).status_code == 200
    assert api.get(url, reader).status_code == 200
    assert api.post(options, {"answer": {"en": "x"}}, reader).status_code == 403
    assert api.patch(url, {"position": 2}, reader).status_code == 403
    assert api.put(url, {"answer": {"en": "x"}}, reader).status_code == 403
    assert api.delete(url, reader).status_code == 403
    assert api.get(options, api.make_token("rival")).status_code == 403
    other = choice_question(api, "M")
    # An option is only found under its own question.
    assert api.get(QUESTIONS + f"{other['id']}/options/{question['options'][0]['id']}/").status_code == 404
    assert api.get(QUESTIONS + "999999/options/").status_code == 404
    assert api.get(f"/api/v1/organizers/demo/events/other/questions/{question['id']}/options/").status_code == 404
