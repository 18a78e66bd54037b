from boxoffice.kernel.models import LogEntry

EVENTS = "/api/v1/organizers/demo/events/"


def test_authentication_is_required(api):
    response = api.client.get(EVENTS)
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    response = api.client.get(EVENTS, headers={"Authorization": "Token wrong"})
    assert (response.status_code, response.json()) == (401, {"detail": "Invalid token."})


def test_list_and_detail(api):
    body = api.get(EVENTS).json()
    assert body["count"] == 2 and body["next"] is None and body["previous"] is None
    assert [e["slug"] for e in body["results"]] == ["democon", "other"]
    detail = api.get(EVENTS + "democon/").json()
    assert detail["name"] == {"en": "DemoCon"}
    assert detail["date_from"] == "2031-05-01T09:00:00Z"
    assert detail["public_url"].endswith("/demo/democon/")


def test_other_organizers_are_forbidden(api):
    assert api.get("/api/v1/organizers/rival/events/").status_code == 403
    assert api.get("/api/v1/organizers/rival/events/rivalcon/").status_code == 403
    assert api.get("/api/v1/organizers/nobody/events/").status_code == 403
    assert api.get(EVENTS + "missing/").status_code == 403
    organizers = api.get("/api/v1/organizers/").json()
    assert [o["slug"] for o in organizers["results"]] == ["demo"]


def test_limited_team_sees_only_its_events(api):
    token = api.make_token(all_events=False, events=("other",))
    assert [e["slug"] for e in api.get(EVENTS, token).json()["results"]] == ["other"]
    assert api.get(EVENTS + "democon/", token).status_code == 403


def test_create_update_plugins_delete(api):
    created = api.post(
        EVENTS,
        {"name": {"en": "Summer"}, "slug": "summer", "currency": "EUR", "date_from": "2031-07-01T10:00:00+02:00"},
    )
    assert created.status_code == 201, created.json()
    assert created.json()["date_from"] == "2031-07-01T08:00:00Z"
    assert created.json()["live"] is False
    patched = api.patch(EVENTS + "summer/", {"plugins": ["nosuchplugin"]})
    assert patched.status_code == 400
    assert "nosuchplugin" in patched.json()["plugins"][0]
    patched = api.patch(EVENTS + "summer/", {"location": {"en": "Berlin"}, "is_public": False})
    assert patched.status_code == 200
    assert patched.json()["location"] == {"en": "Berlin"}
    assert api.delete(EVENTS + "summer/").status_code == 204
    assert api.get(EVENTS + "summer/").status_code == 403
    with api.kernel.db.session() as session:
        actions = [entry.action_type for entry in session.query(LogEntry).order_by(LogEntry.id)]
    assert actions[-3:] == ["boxoffice.event.added", "boxoffice.event.changed", "boxoffice.event.deleted"]


def test_create_validation(api):
    response = api.post(EVENTS, {"name": {"en": "X"}, "slug": "bad slug!", "currency": "XXXY", "live": True})
    assert response.status_code == 400
    body = response.json()
    assert set(body) >= {"slug", "currency", "date_from", "live"}
    duplicate = api.post(
        EVENTS, {"name": {"en": "X"}, "slug": "DEMOCON", "currency": "EUR", "date_from": "2031-01-01T00:00:00Z"}
    )
    assert "slug" in duplicate.json()
    wrong_type = api.post(EVENTS, {"name": "not-an-object", "slug": "x", "currency": "EUR", "date_from": "nope"})
    assert wrong_type.status_code == 400
    assert "name" in wrong_type.json()


def test_permissions_are_enforced(api):
    reader = api.make_token(event_permissions=(), organizer_permissions=())
    assert api.get(EVENTS, reader).status_code == 200
    body = {"name": {"en": "X"}, "slug": "x", "currency": "EUR", "date_from": "2031-01-01T00:00:00Z"}
    assert api.post(EVENTS, body, reader).status_code == 403
    assert api.patch(EVENTS + "democon/", {"is_public": False}, reader).status_code == 403
    assert api.patch(EVENTS + "democon/settings/", {"timezone": "Europe/Berlin"}, reader).status_code == 403


def test_settings(api):
    settings = api.get(EVENTS + "democon/settings/").json()
    assert settings["payment_term_days"] == 14
    changed = api.patch(EVENTS + "democon/settings/", {"payment_term_days": 7})
    assert changed.status_code == 200 and changed.json()["payment_term_days"] == 7
    bad = api.patch(EVENTS + "democon/settings/", {"payment_term_days": "soon", "nonsense": 1})
    assert bad.status_code == 400 and set(bad.json()) == {"payment_term_days", "nonsense"}
    reset = api.patch(EVENTS + "democon/settings/", {"payment_term_days": None})
    assert reset.json()["payment_term_days"] == 14
    explained = api.get(EVENTS + "democon/settings/?explain=true").json()
    assert explained["payment_term_days"]["value"] == 14


def test_clone_copies_fields_and_settings(api):
    api.patch(EVENTS + "democon/settings/", {"payment_term_days": 3})
    cloned = api.post(EVENTS + "democon/clone/", {"slug": "democon2", "date_from": "2032-05-01T09:00:00Z"})
    assert cloned.status_code == 201, cloned.json()
    assert cloned.json()["name"] == {"en": "DemoCon"}
    assert api.get(EVENTS + "democon2/settings/").json()["payment_term_days"] == 3


def test_pagination(api):
    for number in range(3):
        body = {"name": {"en": "E"}, "slug": f"e{number}", "currency": "EUR", "date_from": "2030-01-01T00:00:00Z"}
        assert api.post(EVENTS, body).status_code == 201
    first = api.get(EVENTS + "?page_size=2&ordering=-slug").json()
    assert first["count"] == 5 and len(first["results"]) == 2
    assert [e["slug"] for e in first["results"]] == ["other", "e2"]
    assert first["next"].endswith("page=2") and "page_size=2" in first["next"]
    second = api.client.get(first["next"], headers=api.headers()).json()
    assert second["previous"] is not None
    assert api.get(EVENTS + "?page=9").status_code == 404
    assert api.get(EVENTS + "?page_size=1000").json()["count"] == 5


def test_filters(api):
    assert api.get(EVENTS + "?live=true").json()["count"] == 0
    assert api.get(EVENTS + "?is_future=true").json()["count"] == 2
    assert api.get(EVENTS + "?search=other").json()["count"] == 1
    assert api.get(EVENTS + "?live=maybe").status_code == 400
    assert api.get(EVENTS + "?date_from_after=garbage").status_code == 400


def test_etag_and_idempotency(api):
    first = api.get(EVENTS + "democon/")
    etag = first.headers["etag"]
    assert api.get(EVENTS + "democon/", headers={"If-None-Match": etag}).status_code == 304
    body = {"name": {"en": "Idem"}, "slug": "idem", "currency": "EUR", "date_from": "2031-01-01T00:00:00Z"}
    key = {"X-Idempotency-Key": "abc-123"}
    one = api.post(EVENTS, body, headers=key)
    two = api.post(EVENTS, body, headers=key)
    assert one.status_code == two.status_code == 201
    assert one.json() == two.json()
    assert api.get(EVENTS + "?search=idem").json()["count"] == 1
    other_path = api.patch(EVENTS + "democon/", {"is_public": True}, headers=key)
    assert other_path.status_code == 400
    # Keys are scoped per credentials: another token's identical key runs anew.
    other_token = api.make_token()
    fresh = api.post(EVENTS, body, other_token, headers=key)
    assert fresh.status_code == 400 and "slug" in fresh.json()


def test_null_characters_are_refused_everywhere(api):
    body = {"name": {"en": "Nul\u0000"}, "slug": "nul", "currency": "EUR", "date_from": "2031-01-01T00:00:00Z"}
    response = api.post(EVENTS, body)
    assert (response.status_code, response.json()) == (400, {"name": {"en": ["Null characters are not allowed."]}})
    assert api.get(EVENTS + "?search=a%00b").status_code == 400
    assert api.get(EVENTS + "a%00b/").status_code == 400


def test_missing_credentials_win_over_a_malformed_body(api):
    response = api.client.post(EVENTS, content=b"{broken", headers={"content-type": "application/json"})
    assert (response.status_code, response.json()) == (401, {"detail": "Authentication credentials were not provided."})
    empty = api.post(EVENTS, None)
    assert empty.status_code == 400
    assert "'data'" not in empty.text


def test_out_of_range_datetimes_in_filters_are_400s(api):
    for value in ("0001-01-01T00:00:00%2B14:00", "9999-12-31T23:59:59-14:00"):
        response = api.get(EVENTS + f"?date_from_after={value}")
        assert response.status_code == 400
        assert "date_from_after" in response.json()
    series = api.get(EVENTS + "democon/subevents/?date_to_before=9999-12-31T23:59:59-14:00")
    assert series.status_code == 400


def test_payment_and_invoicing_settings_need_their_permissions(api):
    general_only = api.make_token(event_permissions=("event.settings.general:write",), organizer_permissions=())
    assert api.patch(EVENTS + "democon/settings/", {"timezone": "Europe/Berlin"}, general_only).status_code == 200
    assert api.patch(EVENTS + "democon/settings/", {"payment_term_days": 3}, general_only).status_code == 403
    assert api.patch(EVENTS + "democon/settings/", {"invoice_address_asked": False}, general_only).status_code == 403
    assert api.get(EVENTS + "democon/settings/").json()["payment_term_days"] == 14
    payment = api.make_token(
        event_permissions=("event.settings.general:write", "event.settings.payment:write"), organizer_permissions=()
    )
    assert api.patch(EVENTS + "democon/settings/", {"payment_term_days": 3}, payment).status_code == 200
