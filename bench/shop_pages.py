"""Shop page speed: the buyer's pages rendered through the whole app (ASGI, sessions, CSRF, templates, kernel
services) in this process, with the queries each page costs. Prints figures.

Builds its own world in a temporary folder: a SQLite database with one live event of ``--products`` products (two
variations each, a quota each, a question each) and bank transfer switched on. Then a buyer, over and over: the event
page, adding two products to the cart, the cart, the checkout form, placing the order (bank transfer), the order
page::

    .venv/bin/python bench/shop_pages.py                      # 20 products, 200 rounds
    .venv/bin/python bench/shop_pages.py --products 100 --rounds 100

Per page: median milliseconds (wall clock), pages per CPU second (this process's own CPU time, closer to what one
free core does on a shared machine) and SQL statements per page.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import insert

from boxoffice.apps.api import create_app
from boxoffice.kernel import clock
from boxoffice.kernel.config import Config
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.migrations import upgrade
from boxoffice.kernel.models import Event, Item, Organizer, Quota
from boxoffice.kernel.models.items import ItemVariation
from boxoffice.kernel.models.questions import Question
from boxoffice.kernel.models.quotas import quota_variations

CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
SHOP = "/bench/benchcon/"


def build_world(kernel: Kernel, products: int) -> None:
    with kernel.db.session() as session:
        organizer = Organizer(slug="bench", name="Bench", plugins=[])
        event = Event(
            organizer=organizer,
            slug="benchcon",
            name={"en": "BenchCon"},
            currency="EUR",
            date_from=clock.now() + timedelta(days=30),
            live=True,
            plugins=["banktransfer", "ticketoutputpdf"],
        )
        session.add_all([organizer, event])
        for number in range(products):
            item = Item(event=event, name={"en": f"Product {number}"}, default_price=Decimal("10.00"))
            item.has_variations = True
            variations = [ItemVariation(item=item, value={"en": size}) for size in ("S", "L")]
            quota = Quota(event=event, name=f"Q{number}", size=1_000_000, items=[item])
            question = Question(event=event, question={"en": f"Q{number}?"}, type="S", identifier=f"Q{number}")
            question.items = [item]
            session.add_all([item, *variations, quota, question])
            session.flush()
            session.execute(
                insert(quota_variations), [{"quota_id": quota.id, "variation_id": v.id} for v in variations]
            )
        settings = kernel.settings_for(session, event=event)
        settings.set("payment_banktransfer_enabled", True)
        settings.set("payment_banktransfer_iban", "DE89370400440532013000")
        settings.set("max_items_per_order", 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=200)
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        kernel = Kernel(Config(database_url=url, data_dir=Path(folder) / "data"))
        upgrade(kernel)
        build_world(kernel, arguments.products)
        statements = 0

        def count(*_args: Any) -> None:
            nonlocal statements
            statements += 1

        sqlalchemy_event.listen(kernel.db.engine, "before_cursor_execute", count)
        wall: dict[str, list[float]] = defaultdict(list)
        cpu: dict[str, float] = defaultdict(float)
        queries: dict[str, list[int]] = defaultdict(list)

        def measure(name: str, call: Any, *args: Any, **kwargs: Any) -> Any:
            nonlocal statements
            statements = 0
            started, started_cpu = time.perf_counter(), time.process_time()
            response = call(*args, **kwargs)
            wall[name].append(time.perf_counter() - started)
            cpu[name] += time.process_time() - started_cpu
            queries[name].append(statements)
            assert response.status_code in (200, 303), (name, response.status_code)
            return response

        with TestClient(app=create_app(kernel)) as client:
            for _round in range(arguments.rounds):
                client.cookies.clear()
                page = measure("event page", client.get, SHOP).text
                fields = re.findall(r'name="(variation_[\d_]+)"', page)[:2]
                data = {**dict.fromkeys(fields, "1"), "_csrf_token": CSRF.search(page).group(1)}
                measure("add to cart", client.post, SHOP + "cart/add", data=data)
                measure("cart", client.get, SHOP + "cart/")
                form = measure("checkout form", client.get, SHOP + "checkout/").text
                token = CSRF.search(form).group(1)
                data = {"email": "bench@example.com", "payment": "banktransfer", "_csrf_token": token}
                placed = measure("place order", client.post, SHOP + "checkout/", data=data, follow_redirects=False)
                measure("order page", client.get, placed.headers["location"])
        kernel.close()

    print(f"shop pages, {arguments.products} products (2 variations each), {arguments.rounds} rounds, SQLite")
    print(f"{'page':<15} {'median ms':>10} {'pages/CPU s':>12} {'queries':>8}")
    for name, times in wall.items():
        per_cpu = len(times) / cpu[name] if cpu[name] else float("inf")
        print(
            f"{name:<15} {statistics.median(times) * 1000:>10.1f} {per_cpu:>12.0f} "
            f"{statistics.median(queries[name]):>8.0f}"
        )
    print("(the queries include the web session's own reads and writes; wall-clock figures are depressed on a shared")
    print(" machine, pages per CPU second count this process's CPU time only)")


if __name__ == "__main__":
    main()
