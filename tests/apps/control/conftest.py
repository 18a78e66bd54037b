"""Control panel fixtures: the whole app under a test client on seeded data, organizers with users in teams."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from litestar.testing import TestClient
from sqlalchemy import select

from boxoffice.apps.api import create_app
from boxoffice.apps.control.passwords import hash_password
from boxoffice.kernel.config import Config
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.models import Event, Item, Organizer, Quota, Team, TeamAPIToken
from boxoffice.kernel.models.users import User
from boxoffice.kernel.tokens import new_token, token_digest

PASSWORD = "a long enough password"
DEMO = "/control/event/demo/democon/"
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


@dataclass
class Control:
    kernel: Kernel
    client: TestClient
    api_token: str
    csrf_token: str = ""
    users: dict[str, int] = field(default_factory=dict)

    def add_user(self, email: str, organizer: str = "demo", **team_options) -> int:
        """A user with :data:`PASSWORD` in a new team of ``organizer`` (all permissions unless limited)."""
        options = {"all_events": True, "all_event_permissions": True, "all_organizer_permissions": True}
        options.update(team_options)
        events = options.pop("events", ())
        with self.kernel.db.session() as session:
            owner = session.scalar(select(Organizer).where(Organizer.slug == organizer))
            user = User(email=email, password=hash_password(PASSWORD))
            team = Team(
                organizer=owner,
                name=f"team of {email}",
                limit_events=[event for event in owner.events if event.slug in events],
                **options,
            )
            team.members.append(user)
            session.add(team)
            session.flush()
            self.users[email] = user.id
            return user.id

    def refresh_csrf(self, path: str = "/control/login") -> str:
        response = self.client.get(path)
        self.csrf_token = CSRF.search(response.text).group(1)
        return self.csrf_token

    def post(self, path: str, data: dict | None = None, **kwargs):
        if not self.csrf_token:
            self.refresh_csrf()
        return self.client.post(path, data={**(data or {}), "_csrf_token": self.csrf_token}, **kwargs)

    def log_in(self, email: str = "admin@example.org", password: str = PASSWORD):
        self.client.cookies.clear()
        self.refresh_csrf()
        response = self.post("/control/login", {"email": email, "password": password}, follow_redirects=False)
        return response

    def log_in_keeping_cookies(self, email: str = "admin@example.org", password: str = PASSWORD):
        return self.post("/control/login", {"email": email, "password": password}, follow_redirects=False)

    def api_post(self, path: str, body: dict):
        return self.client.post(path, json=body, headers={"Authorization": f"Token {self.api_token}"})

    def place_order(self, email: str = "buyer@example.org", count: int = 1, **extra) -> str:
        with self.kernel.db.session() as session:
            item_id = session.scalar(select(Item.id).where(Item.name["en"].as_string() == "Ticket"))
        body = {"email": email, "positions": [{"item": item_id}] * count, "payment_provider": "manual", **extra}
        response = self.api_post("/api/v1/organizers/demo/events/democon/orders/", body)
        assert response.status_code == 201, response.text
        return response.json()["code"]


def seed(kernel: Kernel) -> str:
    """Organizers ``demo`` (events ``democon``, ``other``) and ``rival`` (``rivalcon``); returns an API token."""
    starts = datetime(2031, 5, 1, 9, 0, tzinfo=UTC)
    token = new_token()
    with kernel.db.session() as session:
        demo = Organizer(slug="demo", name="Demo Organizer", plugins=[])
        rival = Organizer(slug="rival", name="Rival Organizer", plugins=[])
        democon = Event(
            organizer=demo, slug="democon", name={"en": "DemoCon", "de": "DemoKon"}, currency="EUR", date_from=starts
        )
        other = Event(organizer=demo, slug="other", name={"en": "Other"}, currency="EUR", date_from=starts)
        rivalcon = Event(organizer=rival, slug="rivalcon", name={"en": "RivalCon"}, currency="EUR", date_from=starts)
        item = Item(event=democon, name={"en": "Ticket", "de": "Eintritt"}, default_price=Decimal("35.00"))
        session.add_all([demo, rival, democon, other, rivalcon, item])
        session.add(Quota(event=democon, name="Tickets", size=100, items=[item]))
        team = Team(organizer=demo, name="API", all_events=True, all_event_permissions=True)
        session.add(TeamAPIToken(team=team, name="tests", token_digest=token_digest(token)))
    return token


@pytest.fixture(scope="session")
def control_client(migrated_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kernel, TestClient]]:
    kernel = Kernel(Config(database_url=migrated_url, data_dir=tmp_path_factory.mktemp("control-data")))
    with TestClient(app=create_app(kernel)) as client:
        yield kernel, client


@pytest.fixture
def control(control_client, empty_tables: Callable[[Kernel], None]) -> Iterator[Control]:
    """The app on freshly seeded data with ``admin@example.org`` (all permissions on ``demo``), not logged in."""
    kernel, client = control_client
    client.cookies.clear()
    holder = Control(kernel, client, seed(kernel))
    holder.add_user("admin@example.org")
    try:
        yield holder
    finally:
        client.cookies.clear()
        empty_tables(kernel)


@pytest.fixture
def admin(control: Control) -> Control:
    """Logged in as ``admin@example.org``."""
    assert control.log_in().status_code == 303
    return control
