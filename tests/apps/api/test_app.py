from datetime import UTC, datetime

import msgspec
import pytest
from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.testing import TestClient

from boxoffice.apps.api import create_app
from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.kernel.models import Event, Organizer


class Greeting(msgspec.Struct):
    name: str
    times: int


class GreeterPlugin:
    """A plugin with two API routes under the event."""

    plugin_meta = PluginMeta(name="Greeter")

    @hookimpl
    def register_api_routes(self):
        @get("/greeting/")
        async def greeting(event: NamedDependency[Event]) -> dict[str, str]:
            return {"event": event.slug, "organizer": event.organizer.slug}

        @post("/greeting/", status_code=201)
        async def greet(data: JSONBody[Greeting]) -> dict[str, str]:
            return {"said": " ".join([f"hello {data.name}"] * data.times)}

        return [greeting, greet]


@pytest.fixture
def client(make_kernel):
    kernel = make_kernel(greeter=GreeterPlugin())
    with kernel.db.session() as session:
        organizer = Organizer(slug="org", name="Org", plugins=[])
        date = datetime(2031, 1, 1, tzinfo=UTC)
        session.add(Event(organizer=organizer, slug="on", name={"en": "On"}, date_from=date, plugins=["greeter"]))
        session.add(Event(organizer=organizer, slug="off", name={"en": "Off"}, date_from=date, plugins=[]))
    with TestClient(app=create_app(kernel)) as client:
        yield client


def test_root_health_and_openapi(client):
    assert client.get("/api/v1/").json()["api"] == "v1"
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}
    schema = client.get("/api/v1/docs/openapi.json").json()
    assert "/api/v1/organizers/{organizer_slug}/events/{event_slug}/greeting" in schema["paths"]


def test_plugin_route_answers_only_where_enabled(client):
    response = client.get("/api/v1/organizers/org/events/on/greeting/")
    assert response.status_code == 200
    assert response.json() == {"event": "on", "organizer": "org"}
    for path in ("/api/v1/organizers/org/events/off/greeting/", "/api/v1/organizers/org/events/nope/greeting/"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}


def test_bad_input_is_a_400_with_field_messages(client):
    url = "/api/v1/organizers/org/events/on/greeting/"
    ok = client.post(url, json={"name": "Ada", "times": 2})
    assert (ok.status_code, ok.json()) == (201, {"said": "hello Ada hello Ada"})
    bad = client.post(url, json={"name": "Ada", "times": "twice"})
    assert bad.status_code == 400
    body = bad.json()
    assert list(body) == ["times"]
    assert isinstance(body["times"], list) and body["times"]
    garbage = client.post(url, content=b"{not json", headers={"content-type": "application/json"})
    assert garbage.status_code == 400
    # Disabled event: the guard answers before the body is even looked at.
    assert client.post("/api/v1/organizers/org/events/off/greeting/", json={}).status_code == 404


def test_unknown_paths_and_methods_use_the_error_shape(client):
    response = client.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert set(response.json()) == {"detail"}
    response = client.delete("/api/v1/")
    assert response.status_code == 405
    assert set(response.json()) == {"detail"}


def test_language_is_negotiated(client):
    german = client.get("/api/v1/organizers/org/events/off/greeting/", headers={"Accept-Language": "de-DE,en;q=0.5"})
    assert german.status_code == 404
    assert german.json() == {"detail": "Nicht gefunden."}
    assert german.headers["content-language"] == "de"
    fallback = client.get("/api/v1/organizers/org/events/off/greeting/", headers={"Accept-Language": "xx, ;;garbage"})
    assert fallback.json() == {"detail": "Not found."}
    assert fallback.headers["content-language"] == "en"
    # Unrouted paths are answered before any middleware runs: default language.
    assert client.get("/api/v1/nothing/", headers={"Accept-Language": "de"}).json() == {"detail": "Not found."}


class RefusingPlugin:
    @hookimpl
    def register_api_routes(self):
        from boxoffice.hookspecs.providers import ValidationFailure

        @get("/refuse/")
        async def refuse() -> dict[str, str]:
            raise ValidationFailure("Sold out for today.", field="item")

        return [refuse]


def test_plugin_refusals_are_400s(make_kernel):
    kernel = make_kernel(refusing=RefusingPlugin())
    with kernel.db.session() as session:
        organizer = Organizer(slug="org", name="Org", plugins=[])
        date = datetime(2031, 1, 1, tzinfo=UTC)
        session.add(Event(organizer=organizer, slug="on", name={"en": "On"}, date_from=date, plugins=["refusing"]))
    with TestClient(app=create_app(kernel)) as client:
        response = client.get("/api/v1/organizers/org/events/on/refuse/")
    assert (response.status_code, response.json()) == (400, {"item": ["Sold out for today."]})
