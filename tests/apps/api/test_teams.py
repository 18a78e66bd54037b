from boxoffice.kernel.models import LogEntry, Team, TeamAPIToken
from boxoffice.kernel.models.teams import TeamInvite
from boxoffice.kernel.models.users import User
from boxoffice.kernel.tokens import token_digest

TEAMS = "/api/v1/organizers/demo/teams/"
EVENTS = "/api/v1/organizers/demo/events/"


def _actions(api, prefix="boxoffice.organizer.team"):
    with api.kernel.db.session() as session:
        return [
            (entry.action_type, entry.actor_type, entry.data)
            for entry in session.query(LogEntry).order_by(LogEntry.id)
            if entry.action_type.startswith(prefix)
        ]


def _create(api, **fields):
    body = {"name": "Scanner staff", **fields}
    response = api.post(TEAMS, body)
    assert response.status_code == 201, response.json()
    return response.json()


def test_create_with_spec_example_and_read_back(api):
    body = {
        "name": "Admin team",
        "all_events": True,
        "limit_events": [],
        "require_2fa": True,
        "all_event_permissions": True,
        "limit_event_permissions": [],
        "all_organizer_permissions": True,
        "limit_organizer_permissions": [],
    }
    created = api.post(TEAMS, body)
    assert created.status_code == 201
    team = created.json()
    assert {key: team[key] for key in body} == body
    assert isinstance(team["id"], int)
    # Full permissions mean every deprecated flag reads as set.
    assert team["can_create_events"] is True and team["can_checkin_orders"] is True
    assert api.get(f"{TEAMS}{team['id']}/").json() == team
    listed = api.get(TEAMS).json()
    # The fixture's own team comes first.
    assert listed["count"] == 2 and listed["results"][1] == team


def test_limit_events_and_permission_lists(api):
    team = _create(
        api,
        limit_events=["other", "democon"],
        limit_event_permissions=["event.orders:read", "event.orders:checkin"],
        limit_organizer_permissions=["organizer.events:create"],
    )
    assert team["all_events"] is False
    assert team["limit_events"] == ["democon", "other"]
    assert team["limit_event_permissions"] == ["event.orders:read", "event.orders:checkin"]
    assert team["can_view_orders"] is True and team["can_checkin_orders"] is True
    assert team["can_change_orders"] is False and team["can_change_items"] is False
    assert team["can_create_events"] is True and team["can_change_teams"] is False


def test_patch_spec_example(api):
    team = _create(api, all_organizer_permissions=True, all_event_permissions=True, all_events=True)
    patched = api.patch(
        f"{TEAMS}{team['id']}/",
        {"all_organizer_permissions": False, "limit_organizer_permissions": ["organizer.events:create"]},
    )
    assert patched.status_code == 200
    body = patched.json()
    assert body["all_organizer_permissions"] is False
    assert body["limit_organizer_permissions"] == ["organizer.events:create"]
    assert body["can_create_events"] is True and body["can_change_teams"] is False
    assert body["all_event_permissions"] is True and body["name"] == "Scanner staff"


def test_put_replaces_and_resets_omitted_fields(api):
    team = _create(api, all_events=True, require_2fa=True, limit_event_permissions=["event.orders:read"])
    missing_name = api.put(f"{TEAMS}{team['id']}/", {"all_events": True})
    assert missing_name.status_code == 400 and "name" in missing_name.json()
    replaced = api.put(f"{TEAMS}{team['id']}/", {"name": "Renamed"})
    assert replaced.status_code == 200
    body = replaced.json()
    assert body["name"] == "Renamed"
    assert body["all_events"] is False and body["require_2fa"] is False and body["limit_event_permissions"] == []


def test_legacy_flags_map_onto_permission_lists(api):
    team = _create(api, can_view_orders=True, can_checkin_orders=True, can_create_events=True)
    assert team["limit_event_permissions"] == ["event.orders:read", "event.orders:checkin"]
    assert team["limit_organizer_permissions"] == ["organizer.events:create"]
    assert team["can_view_orders"] is True and team["can_change_orders"] is False
    url = f"{TEAMS}{team['id']}/"
    body = api.patch(url, {"can_view_orders": False, "can_change_orders": True}).json()
    assert body["limit_event_permissions"] == ["event.orders:checkin", "event.orders:write", "event:cancel"]
    assert body["can_change_orders"] is True and body["can_view_orders"] is False
    # Taking one flag away from "all permissions" leaves an explicit list of every other core name.
    everything = _create(api, name="All", all_event_permissions=True)
    body = api.patch(f"{TEAMS}{everything['id']}/", {"can_change_items": False}).json()
    assert body["all_event_permissions"] is False
    assert "event.items:write" not in body["limit_event_permissions"]
    assert "event.orders:write" in body["limit_event_permissions"]
    assert body["can_change_items"] is False and body["can_change_orders"] is True
    # New-style fields win over flags for the same scope.
    body = api.patch(url, {"limit_event_permissions": ["event.vouchers:read"], "can_change_orders": True}).json()
    assert body["limit_event_permissions"] == ["event.vouchers:read"]


def test_legacy_team_permissions_are_enforced(api):
    team = _create(api, all_events=True, can_change_event_settings=False, can_view_orders=True)
    with api.kernel.db.session() as session:
        session.add(TeamAPIToken(team_id=team["id"], name="t", token_digest=token_digest("legacy-token")))
    assert api.get(EVENTS, "legacy-token").status_code == 200
    assert api.patch(EVENTS + "democon/", {"is_public": False}, "legacy-token").status_code == 403
    api.patch(f"{TEAMS}{team['id']}/", {"can_change_event_settings": True})
    assert api.patch(EVENTS + "democon/", {"is_public": False}, "legacy-token").status_code == 200


def test_validation(api):
    response = api.post(
        TEAMS,
        {
            "name": "",
            "limit_events": ["democon", "nope", "rivalcon"],
            "limit_event_permissions": ["event.orders:read", "event.bogus:write", "organizer.events:create"],
            "limit_organizer_permissions": ["can_do_anything"],
        },
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"name", "limit_events", "limit_event_permissions", "limit_organizer_permissions"}
    # Another organizer's event counts as unknown.
    assert len(body["limit_events"]) == 2 and "rivalcon" in body["limit_events"][1]
    assert len(body["limit_event_permissions"]) == 2
    assert api.post(TEAMS, {"all_events": True}).json() == {"name": ["This field is required."]}
    assert "name" in api.post(TEAMS, {"name": "x" * 191}).json()
    assert "name" in api.post(TEAMS, {"name": "a\x00b"}).json()
    wrong_types = api.post(TEAMS, {"name": "x", "all_events": "yes", "limit_events": "democon"})
    assert wrong_types.status_code == 400
    assert wrong_types.json() == {"all_events": ["Must be a valid boolean."]}
    too_many = api.post(TEAMS, {"name": "x", "limit_events": [f"e{i}" for i in range(40000)]})
    assert too_many.status_code == 400 and "limit_events" in too_many.json()
    odd_slugs = api.post(TEAMS, {"name": "x", "limit_events": ["democon", "d" * 100_000]})
    assert odd_slugs.status_code == 400 and len(odd_slugs.json()["limit_events"]) == 1
    assert len(odd_slugs.json()["limit_events"][0]) < 200
    nul = api.post(TEAMS, {"name": "x", "limit_events": ["demo\x00con"]})
    assert nul.json() == {"limit_events": [["Null characters are not allowed."]]}


def test_ids_out_of_database_range_are_not_found(api):
    team = _create(api)
    for path in (
        f"{TEAMS}{2**63}/",
        f"{TEAMS}{team['id']}/members/{10**30}/",
        f"{TEAMS}{team['id']}/invites/{2**31}/",
        f"{TEAMS}{team['id']}/tokens/-1/",
        f"/api/v1/organizers/demo/devices/{10**25}/",
    ):
        assert api.get(path).status_code == 404, path
    assert api.delete(f"{TEAMS}{team['id']}/tokens/{10**30}/").status_code == 404


def test_permissions(api):
    reader = api.make_token(organizer_permissions=("organizer.events:create",))
    assert api.get(TEAMS, reader).status_code == 403
    assert api.post(TEAMS, {"name": "x"}, reader).status_code == 403
    team = _create(api)
    assert api.get(f"{TEAMS}{team['id']}/", reader).status_code == 403
    assert api.delete(f"{TEAMS}{team['id']}/", reader).status_code == 403
    rival = api.make_token("rival")
    assert api.get(TEAMS, rival).status_code == 403
    assert api.get(f"{TEAMS}{team['id']}/", rival).status_code == 403
    assert api.get("/api/v1/organizers/rival/teams/").status_code == 403
    assert api.get(f"{TEAMS}999999/").status_code == 404
    # A rival team is not found inside our organizer.
    rival_team = api.post("/api/v1/organizers/rival/teams/", {"name": "r"}, rival).json()
    assert api.get(f"{TEAMS}{rival_team['id']}/").status_code == 404
    assert api.patch(f"{TEAMS}{rival_team['id']}/", {"name": "mine"}).status_code == 404


def test_delete_team_and_audit_log(api):
    team = _create(api, limit_events=["democon"])
    url = f"{TEAMS}{team['id']}/"
    api.post(url + "tokens/", {"name": "t"})
    api.post(url + "invites/", {"email": "x@example.org"})
    api.patch(url, {"name": "Renamed"})
    api.patch(url, {"name": "Renamed"})  # no change, no entry
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404
    with api.kernel.db.session() as session:
        assert session.get(Team, team["id"]) is None
        assert session.query(TeamAPIToken).filter_by(team_id=team["id"]).count() == 0
        assert session.query(TeamInvite).filter_by(team_id=team["id"]).count() == 0
    actions = _actions(api)
    assert [action for action, _, _ in actions] == [
        "boxoffice.organizer.team.added",
        "boxoffice.organizer.team.token.added",
        "boxoffice.organizer.team.invite.added",
        "boxoffice.organizer.team.changed",
        "boxoffice.organizer.team.deleted",
    ]
    assert all(actor == "token" for _, actor, _ in actions)
    assert actions[0][2]["limit_events"] == ["democon"]
    assert actions[3][2] == {"name": "Renamed"}


def test_caller_may_lock_itself_out(api):
    own_team = api.get(TEAMS).json()["results"][0]
    assert api.patch(f"{TEAMS}{own_team['id']}/", {"all_organizer_permissions": False}).status_code == 200
    assert api.get(TEAMS).status_code == 403


# --- members ------------------------------------------------------------------------------------------------------


def _add_users(api, team_id, *emails):
    with api.kernel.db.session() as session:
        team = session.get(Team, team_id)
        users = [User(email=email, fullname=f"User {email[0]}") for email in emails]
        team.members.extend(users)
        session.flush()
        return [user.id for user in users]


def test_members_list_detail_remove(api):
    team = _create(api)
    url = f"{TEAMS}{team['id']}/members/"
    alice, bob = _add_users(api, team["id"], "alice@example.org", "bob@example.org")
    listed = api.get(url).json()
    assert listed["count"] == 2
    assert listed["results"][0] == {
        "id": alice,
        "email": "alice@example.org",
        "fullname": "User a",
        "require_2fa": False,
    }
    assert api.get(f"{url}{bob}/").json()["email"] == "bob@example.org"
    assert api.delete(f"{url}{bob}/").status_code == 204
    assert api.get(f"{url}{bob}/").status_code == 404
    assert api.delete(f"{url}{bob}/").status_code == 404
    assert [m["id"] for m in api.get(url).json()["results"]] == [alice]
    with api.kernel.db.session() as session:
        assert session.get(User, bob) is not None  # removed from the team, not deleted
    assert _actions(api)[-1][0] == "boxoffice.organizer.team.member.deleted"
    assert api.get(f"{TEAMS}999999/members/").status_code == 404
    reader = api.make_token(organizer_permissions=())
    assert api.get(url, reader).status_code == 403


# --- invites ------------------------------------------------------------------------------------------------------


def test_invites(api):
    team = _create(api)
    url = f"{TEAMS}{team['id']}/invites/"
    created = api.post(url, {"email": "mark@example.org"})
    assert created.status_code == 201
    invite = created.json()
    assert invite["email"] == "mark@example.org" and isinstance(invite["id"], int)
    assert api.get(url).json()["results"] == [invite]
    assert api.get(f"{url}{invite['id']}/").json() == invite
    duplicate = api.post(url, {"email": "MARK@example.org"})
    assert duplicate.status_code == 400 and "email" in duplicate.json()
    assert api.post(url, {"email": "not-an-address"}).json() == {"email": ["Enter a valid email address."]}
    assert api.post(url, {}).status_code == 400
    assert api.delete(f"{url}{invite['id']}/").status_code == 204
    assert api.get(f"{url}{invite['id']}/").status_code == 404
    assert api.get(url).json()["count"] == 0
    assert [a for a, _, _ in _actions(api)][-2:] == [
        "boxoffice.organizer.team.invite.added",
        "boxoffice.organizer.team.invite.deleted",
    ]


def test_inviting_an_existing_user_adds_them(api):
    team = _create(api)
    other = _create(api, name="Other")
    (user_id,) = _add_users(api, other["id"], "jane@example.org")
    url = f"{TEAMS}{team['id']}/invites/"
    response = api.post(url, {"email": "Jane@Example.org"})
    assert response.status_code == 201
    assert response.json() == {"email": "jane@example.org"}  # no id: there is no pending invite
    assert api.get(url).json()["count"] == 0
    members = api.get(f"{TEAMS}{team['id']}/members/").json()["results"]
    assert [m["id"] for m in members] == [user_id]
    again = api.post(url, {"email": "jane@example.org"})
    assert again.status_code == 400 and "email" in again.json()


# --- tokens -------------------------------------------------------------------------------------------------------


def test_tokens_secret_once_and_deactivation(api):
    team = _create(api, all_events=True, all_event_permissions=True)
    url = f"{TEAMS}{team['id']}/tokens/"
    created = api.post(url, {"name": "New token"})
    assert created.status_code == 201
    body = created.json()
    secret = body.pop("token")
    assert body == {"id": body["id"], "name": "New token", "active": True} and len(secret) >= 32
    # The secret works and is never shown again.
    assert api.get(EVENTS, secret).status_code == 200
    assert "token" not in api.get(f"{url}{body['id']}/").json()
    assert api.get(url).json()["results"] == [body]
    with api.kernel.db.session() as session:
        assert session.get(TeamAPIToken, body["id"]).token_digest == token_digest(secret)
    deleted = api.delete(f"{url}{body['id']}/")
    assert deleted.status_code == 200
    assert deleted.json() == {"id": body["id"], "name": "New token", "active": False}
    assert api.get(EVENTS, secret).status_code == 401
    assert api.get(f"{url}{body['id']}/").json()["active"] is False
    assert api.delete(f"{url}{body['id']}/").json()["active"] is False
    assert [a for a, _, _ in _actions(api)][-2:] == [
        "boxoffice.organizer.team.token.added",
        "boxoffice.organizer.team.token.deleted",
    ]


def test_token_validation_and_scope(api):
    team = _create(api)
    url = f"{TEAMS}{team['id']}/tokens/"
    assert api.post(url, {"name": " "}).json() == {"name": ["This field may not be blank."]}
    assert api.post(url, {}).json() == {"name": ["This field is required."]}
    assert api.post(url, {"name": 5}).status_code == 400
    other = _create(api, name="Other")
    token = api.post(url, {"name": "t"}).json()
    assert api.get(f"{TEAMS}{other['id']}/tokens/{token['id']}/").status_code == 404
    assert api.delete(f"{TEAMS}{other['id']}/tokens/{token['id']}/").status_code == 404
    assert api.get(f"{url}999999/").status_code == 404
