"""API fixtures: a test client on a fresh database with two organizers, tokens with chosen permissions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from litestar.testing import TestClient

from boxoffice.apps.api import create_app
from boxoffice.kernel.config import Config
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.models import Event, Item, Organizer, Quota, Team, TeamAPIToken
from boxoffice.kernel.tokens import new_token, token_digest


@dataclass
class Api:
    kernel: Kernel
    client: TestClient
    token: str

    def make_token(
        self,
        organizer: str = "demo",
        *,
        all_events: bool = True,
        events: tuple[str, ...] = (),
        event_permissions: tuple[str, ...] | None = None,
        organizer_permissions: tuple[str, ...] | None = None,
    ) -> str:
        """A token for a new team; ``None`` permissions mean all of them."""
        token = new_token()
        with self.kernel.db.session() as session:
            owner = session.query(Organizer).filter_by(slug=organizer).one()
            team = Team(
                organizer=owner,
                name=f"team-{token[:6]}",
                all_events=all_events,
                limit_events=[e for e in owner.events if e.slug in events],
                all_event_permissions=event_permissions is None,
                limit_event_permissions=list(event_permissions or ()),
                all_organizer_permissions=organizer_permissions is None,
                limit_organizer_permissions=list(organizer_permissions or ()),
            )
            session.add(TeamAPIToken(team=team, name="test", token_digest=token_digest(token)))
        return token

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Token {token or self.token}"}

    def get(self, path: str, token: str | None = None, **kwargs):
        return self.client.get(path, headers={**self.headers(token), **kwargs.pop("headers", {})}, **kwargs)

    def post(self, path: str, json=None, token: str | None = None, **kwargs):
        return self.client.post(path, json=json, headers={**self.headers(token), **kwargs.pop("headers", {})}, **kwargs)

    def patch(self, path: str, json=None, token: str | None = None, **kwargs):
        return self.client.patch(
            path, json=json, headers={**self.headers(token), **kwargs.pop("headers", {})}, **kwargs
        )

    def put(self, path: str, json=None, token: str | None = None, **kwargs):
        return self.client.put(path, json=json, headers={**self.headers(token), **kwargs.pop("headers", {})}, **kwargs)

    def delete(self, path: str, token: str | None = None, **kwargs):
        return self.client.delete(path, headers={**self.headers(token), **kwargs.pop("headers", {})}, **kwargs)


def seed(kernel: Kernel) -> None:
    """Organizers ``demo`` (events ``democon`` and ``other``) and ``rival`` (event ``rivalcon``)."""
    starts = datetime(2031, 5, 1, 9, 0, tzinfo=UTC)
    with kernel.db.session() as session:
        demo = Organizer(slug="demo", name="Demo Organizer", plugins=[])
        rival = Organizer(slug="rival", name="Rival Organizer", plugins=[])
        democon = Event(organizer=demo, slug="democon", name={"en": "DemoCon"}, currency="EUR", date_from=starts)
        other = Event(organizer=demo, slug="other", name={"en": "Other"}, currency="EUR", date_from=starts)
        rivalcon = Event(organizer=rival, slug="rivalcon", name={"en": "RivalCon"}, currency="EUR", date_from=starts)
        item = Item(event=democon, name={"en": "Ticket"}, default_price=Decimal("35.00"))
        session.add_all([demo, rival, democon, other, rivalcon, item])
        session.add(Quota(event=democon, name="Tickets", size=100, items=[item]))


@pytest.fixture(scope="session")
def api_client(migrated_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kernel, TestClient]]:
    """One app for the whole run: building it (routes, signature models) costs about a second."""
    kernel = Kernel(Config(database_url=migrated_url, data_dir=tmp_path_factory.mktemp("api-data")))
    with TestClient(app=create_app(kernel)) as client:
        yield kernel, client


@pytest.fixture
def api(api_client: tuple[Kernel, TestClient], empty_tables: Callable[[Kernel], None]) -> Iterator[Api]:
    """The shared app on freshly seeded data; every table is emptied again afterwards."""
    kernel, client = api_client
    seed(kernel)
    holder = Api(kernel, client, "")
    holder.token = holder.make_token()
    try:
        yield holder
    finally:
        client.cookies.clear()
        empty_tables(kernel)
