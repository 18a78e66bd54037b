"""Control panel page speed: the organizer's pages rendered through the whole app (ASGI, DB sessions, CSRF,
templates, kernel services) in this process, with the queries each page costs. Prints figures.

Builds its own world in a temporary folder: a SQLite database with the demo event, ``--orders`` orders placed
through the REST API (a third of them marked paid) and a logged-in organizer. Then every page ``--rounds`` times::

    .venv/bin/python bench/control_pages.py                    # 300 orders, 100 rounds
    .venv/bin/python bench/control_pages.py --orders 2000 --rounds 50

Per page: median milliseconds (wall clock), pages per CPU second (this process's own CPU time, closer to what one
free core does on a shared machine) and SQL statements per page (the same whatever the number of orders).
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import tempfile
import time
from pathlib import Path

from litestar.testing import TestClient
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import select

from boxoffice.apps.api import create_app
from boxoffice.apps.control.users import set_password
from boxoffice.kernel.config import Config
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.demo import create_demo_data
from boxoffice.kernel.migrations import upgrade
from boxoffice.kernel.models import Item, Quota

PASSWORD = "benchmark password"


def build(folder: Path, orders: int) -> tuple[Kernel, TestClient, str]:
    kernel = Kernel(Config(data_dir=folder))
    upgrade(kernel)
    demo = create_demo_data(kernel)
    set_password(kernel, "bench@example.org", PASSWORD, admin_of=demo.organizer_slug)
    with kernel.db.session() as session:
        item_id = session.scalar(select(Item.id))
        session.scalar(select(Quota)).size = orders * 3
    client = TestClient(app=create_app(kernel))
    client.__enter__()
    headers = {"Authorization": f"Token {demo.token}"}
    base = f"/api/v1/organizers/{demo.organizer_slug}/events/{demo.event_slug}/orders/"
    codes = []
    for number in range(orders):
        body = {"email": f"buyer{number}@example.org", "positions": [{"item": item_id}] * (1 + number % 3)}
        response = client.post(base, json={**body, "payment_provider": "manual"}, headers=headers)
        response.raise_for_status()
        codes.append(response.json()["code"])
        if number % 3 == 0:
            client.post(f"{base}{codes[-1]}/mark_paid/", json={"send_email": False}, headers=headers)
    login = client.get("/control/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', login.text).group(1)
    response = client.post(
        "/control/login", data={"email": "bench@example.org", "password": PASSWORD, "_csrf_token": token}
    )
    response.raise_for_status()
    return kernel, client, codes[len(codes) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        kernel, client, code = build(Path(folder), args.orders)
        print(f"world: {args.orders} orders in {time.perf_counter() - started:.1f} s (SQLite, in-process app)")
        event = "/control/event/demo/democon/"
        pages = {
            "dashboard": event,
            "order list": event + "orders/",
            "order list, page 5": event + "orders/?page=5",
            "order search (e-mail)": event + "orders/?q=buyer1",
            "order detail": event + f"orders/{code}/",
            "products": event + "products/",
            "quotas": event + "quotas/",
            "plugins": event + "plugins/",
        }
        statements: list[str] = []

        def count(*_args: object) -> None:
            statements.append("")

        sqlalchemy_event.listen(kernel.db.engine, "before_cursor_execute", count)
        print(f"{'page':<24}{'median ms':>10}{'pages/CPU-s':>13}{'SQL':>6}")
        for name, path in pages.items():
            client.get(path).raise_for_status()
            statements.clear()
            client.get(path)
            queries = len(statements)
            timings = []
            cpu = time.process_time()
            for _round in range(args.rounds):
                begin = time.perf_counter()
                client.get(path).raise_for_status()
                timings.append(time.perf_counter() - begin)
            cpu_seconds = time.process_time() - cpu
            per_cpu = args.rounds / cpu_seconds if cpu_seconds else float("inf")
            print(f"{name:<24}{statistics.median(timings) * 1000:>10.1f}{per_cpu:>13.0f}{queries:>6}")
        client.__exit__(None, None, None)
        kernel.close()


if __name__ == "__main__":
    main()
