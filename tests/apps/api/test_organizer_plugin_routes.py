"""Organizer-level plugin routes (``register_organizer_api_routes``): mounted under the organizer, answering only
where the plugin is active by its level, with the organizer, kernel and authenticated caller as dependencies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from litestar import get
from litestar.di import NamedDependency
from litestar.testing import TestClient

from boxoffice.apps.api import create_app
from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.kernel.models import Event, Organizer, Team, TeamAPIToken
from boxoffice.kernel.tokens import new_token, token_digest


def make_plugin(level: str, resource: str) -> object:
    class Plugin:
        plugin_meta = PluginMeta(name=f"{level} plugin", level=level)

        @hookimpl
        def register_organizer_api_routes(self) -> list[Any]:
            @get(f"/{resource}/")
            async def whoami(
                organizer: NamedDependency[Organizer], principal: NamedDependency[Any], kernel: NamedDependency[Any]
            ) -> dict[str, Any]:
                return {
                    "organizer": organizer.slug,
                    "caller_organizer": principal.organizer_id == organizer.id,
                    "kernel": kernel.config is not None,
                }

            return [whoami]

    return Plugin()


@pytest.fixture
def setup(make_kernel) -> tuple[TestClient, str]:
    kernel = make_kernel(
        evplug=make_plugin("event", "evres"),
        orgplug=make_plugin("organizer", "orgres"),
        hybplug=make_plugin("hybrid", "hybres"),
    )
    date = datetime(2031, 1, 1, tzinfo=UTC)
    token = new_token()
    with kernel.db.session() as session:
        # "both": event plugin on one event, organizer and hybrid plugins on the organizer, hybrid also on an event.
        both = Organizer(slug="both", name="Both", plugins=["orgplug", "hybplug"])
        session.add(Event(organizer=both, slug="a", name={"en": "A"}, date_from=date, plugins=["evplug", "hybplug"]))
        session.add(Event(organizer=both, slug="b", name={"en": "B"}, date_from=date, plugins=[]))
        # "half": the hybrid plugin only on the organizer, the event plugin nowhere.
        half = Organizer(slug="half", name="Half", plugins=["hybplug"])
        session.add(Event(organizer=half, slug="c", name={"en": "C"}, date_from=date, plugins=[]))
        team = Team(organizer=both, name="t", all_events=True, all_event_permissions=True)
        session.add(TeamAPIToken(team=team, name="t", token_digest=token_digest(token)))
    with TestClient(app=create_app(kernel)) as client:
        yield client, token


@pytest.mark.parametrize(
    ("organizer", "resource", "status"),
    [
        ("both", "evres", 200),
        ("both", "orgres", 200),
        ("both", "hybres", 200),
        ("half", "evres", 404),
        ("half", "orgres", 404),
        ("half", "hybres", 404),
        ("nobody", "orgres", 404),
    ],
)
def test_routes_answer_where_the_plugin_is_active(setup, organizer, resource, status):
    client, token = setup
    response = client.get(f"/api/v1/organizers/{organizer}/{resource}/", headers={"Authorization": f"Token {token}"})
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json() == {"organizer": organizer, "caller_organizer": True, "kernel": True}
    else:
        assert response.json() == {"detail": "Not found."}


def test_the_caller_must_authenticate(setup):
    client, _ = setup
    assert client.get("/api/v1/organizers/both/orgres/").status_code == 401
    wrong = client.get("/api/v1/organizers/both/orgres/", headers={"Authorization": "Token nope"})
    assert wrong.status_code == 401 and wrong.json() == {"detail": "Invalid token."}
