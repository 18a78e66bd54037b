"""Fixtures for the bank transfer plugin: an organizer with events where the plugin is on and off, orders placed
through the orders engine, and import jobs run through the kernel's job runner."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import select

from boxoffice.apps.api import create_app
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.models import Event, Item, Organizer, Quota, Team, TeamAPIToken
from boxoffice.kernel.models.orders import Order
from boxoffice.kernel.orders.drafts import OrderDraft, PositionDraft
from boxoffice.kernel.orders.placement import place_order
from boxoffice.kernel.tokens import new_token, token_digest
from boxoffice.plugins.banktransfer.matching import JOB_NAME, checksum
from boxoffice.plugins.banktransfer.models import BankTransaction, ImportJob

ACTOR = Actor.system()
STARTS = datetime(2031, 5, 1, 9, 0, tzinfo=UTC)
ACCOUNT = {
    "payment_banktransfer_enabled": True,
    "payment_banktransfer_account_holder": "Demo Events GmbH",
    "payment_banktransfer_iban": "DE89370400440532013000",
    "payment_banktransfer_bic": "COBADEFFXXX",
}


@dataclass
class Shop:
    kernel: Kernel
    organizer_id: int
    events: dict[str, int]

    def order(
        self,
        event: str = "democon",
        *,
        provider: str | None = "banktransfer",
        testmode: bool = False,
        code: str | None = None,
        count: int = 1,
    ) -> str:
        """Place an order of ``count`` tickets at 35.00 (USD on ``usacon``); returns its code."""
        with self.kernel.db.session() as session:
            target = session.get(Event, self.events[event])
            item = session.scalar(select(Item).where(Item.event_id == target.id))
            draft = OrderDraft(
                positions=[PositionDraft(item=item.id) for _ in range(count)],
                payment_provider=provider,
                testmode=testmode,
                code=code,
                email="buyer@example.org",
            )
            return place_order(self.kernel, session, target, draft, actor=ACTOR).code

    def get(self, code: str, event: str = "democon") -> Order:
        session = self.kernel.db.sessionmaker()
        order = session.scalar(select(Order).where(Order.code == code, Order.event_id == self.events[event]))
        order.payments  # noqa: B018
        order.refunds  # noqa: B018
        session.close()
        return order

    def set_status(self, code: str, status: str, event: str = "democon") -> None:
        with self.kernel.db.session() as session:
            order = session.scalar(select(Order).where(Order.code == code, Order.event_id == self.events[event]))
            order.status = status

    def import_job(self, transactions: list[dict[str, Any]], event: str | None = None) -> ImportJob:
        """Store a job as the API does and run it through the kernel's job runner (in-process here)."""
        with self.kernel.db.session() as session:
            job = ImportJob(
                organizer_id=self.organizer_id,
                event_id=self.events[event] if event else None,
                state="pending",
                actor_type="system",
            )
            session.add(job)
            session.flush()
            for raw in transactions:
                values = {"payer": "", "reference": "", "date": "2031-04-01", "iban": "", "bic": "", **raw}
                values["amount"] = Decimal(values["amount"])
                session.add(
                    BankTransaction(
                        job_id=job.id,
                        organizer_id=self.organizer_id,
                        checksum=checksum(values["payer"], values["reference"], values["amount"], values["date"]),
                        **values,
                    )
                )
            job_id = job.id
        self.kernel.jobs.enqueue(JOB_NAME, import_job_id=job_id)
        session = self.kernel.db.sessionmaker()
        job = session.get(ImportJob, job_id)
        job.transactions  # noqa: B018
        session.close()
        return job


def seed(kernel: Kernel) -> Shop:
    with kernel.db.session() as session:
        demo = Organizer(slug="demo", name="Demo", plugins=[])
        events = {
            "democon": Event(organizer=demo, slug="democon", name={"en": "DemoCon"}, currency="EUR", date_from=STARTS),
            "usacon": Event(organizer=demo, slug="usacon", name={"en": "USACon"}, currency="USD", date_from=STARTS),
            "off": Event(organizer=demo, slug="off", name={"en": "Off"}, currency="EUR", date_from=STARTS),
        }
        events["democon"].plugins = ["banktransfer"]
        events["usacon"].plugins = ["banktransfer"]
        lonely = Organizer(slug="lonely", name="Lonely", plugins=[])
        session.add_all([demo, lonely, *events.values()])
        session.add(Event(organizer=lonely, slug="plain", name={"en": "Plain"}, currency="EUR", date_from=STARTS))
        for event in events.values():
            item = Item(event=event, name={"en": "Ticket"}, default_price=Decimal("35.00"))
            session.add_all([item, Quota(event=event, name="Tickets", size=10_000, items=[item])])
        session.flush()
        settings = kernel.settings_for(session, organizer=demo)
        settings.update(ACCOUNT)
        return Shop(kernel, demo.id, {slug: event.id for slug, event in events.items()})


@pytest.fixture
def shop(kernel: Kernel) -> Shop:
    return seed(kernel)


@dataclass
class Api:
    kernel: Kernel
    client: TestClient
    token: str
    shop: Shop

    def make_token(self, organizer: str = "demo", **team: Any) -> str:
        token = new_token()
        with self.kernel.db.session() as session:
            owner = session.scalar(select(Organizer).where(Organizer.slug == organizer))
            limit_events = [e for e in owner.events if e.slug in team.pop("events", ())] if "events" in team else []
            defaults = {
                "all_events": True,
                "all_event_permissions": True,
                "all_organizer_permissions": True,
                "limit_event_permissions": [],
            }
            session.add(
                TeamAPIToken(
                    team=Team(
                        organizer=owner, name=f"t-{token[:6]}", limit_events=limit_events, **{**defaults, **team}
                    ),
                    name="test",
                    token_digest=token_digest(token),
                )
            )
        return token

    def headers(self, token: str | None) -> dict[str, str]:
        return {"Authorization": f"Token {token or self.token}"}

    def get(self, path: str, token: str | None = None, **kwargs: Any) -> Any:
        return self.client.get(path, headers=self.headers(token), **kwargs)

    def post(self, path: str, json: Any = None, token: str | None = None, **kwargs: Any) -> Any:
        return self.client.post(path, json=json, headers=self.headers(token), **kwargs)


@pytest.fixture
def api(kernel: Kernel) -> Iterator[Api]:
    shop = seed(kernel)
    with TestClient(app=create_app(kernel)) as client:
        holder = Api(kernel, client, "", shop)
        holder.token = holder.make_token()
        yield holder
