"""A ticket rush: many buyers at once try to order a product with a limited quota.

Talks only the pretix REST API v1 (``POST …/orders/``, the quota availability endpoint, and with ``--setup`` item
and quota creation), so it measures any server that speaks it — boxoffice or pretix. Prints attempts/s, orders/s,
latency percentiles, the answers by status class, and the number sold as the server's quota availability reports
it; exits non-zero when the quota was oversold or the server failed (5xx or broken connections).

Against a local ``boxoffice serve`` (the first start prints the demo organizer, event and an API token)::

    cd "$(mktemp -d)" && /path/to/boxoffice/.venv/bin/boxoffice serve --port 8765
    # → demo organizer: demo  event: democon
    # → API token: <TOKEN>
    .venv/bin/python bench/order_rush.py --url http://127.0.0.1:8765 --token <TOKEN> --setup \\
        --concurrency 16 --quota 2000 --attempts 3000

``--setup`` creates a fresh product on a quota of ``--quota`` (and, with ``--warmup N``, a second product and quota
of N that is rushed first, so the measured run starts with warm caches and connections); without it ``--item``
names an existing product, and the run reports how many more its quota sold. ``--concurrency`` buyers send
attempts back to back until ``--attempts`` were made. Latency is measured per attempt, client side: it includes
the client's own overhead (the client shares the machine with the server in a local run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import httpx
from loadclient import Run, SetupError, expect, hammer


@dataclass
class Target:
    """The product being rushed and the quota that limits it."""

    item: int
    quota: int
    size: int | None


def event_path(organizer: str, event: str) -> str:
    return f"/api/v1/organizers/{organizer}/events/{event}/"


async def create_target(client: httpx.AsyncClient, base: str, name: str, size: int) -> Target:
    """A new product (10.00) on a new quota of ``size``, through the API."""
    item = await expect(
        await client.post(base + "items/", json={"name": {"en": name}, "default_price": "10.00", "admission": True}),
        201,
        "creating the item",
    )
    quota = await expect(
        await client.post(base + "quotas/", json={"name": name, "size": size, "items": [item["id"]]}),
        201,
        "creating the quota",
    )
    return Target(item=item["id"], quota=quota["id"], size=size)


async def find_target(client: httpx.AsyncClient, base: str, item: int) -> Target:
    """The (first, smallest) quota the existing product ``item`` counts against."""
    found: list[dict[str, Any]] = []
    url: str | None = base + "quotas/"
    while url:
        page = await expect(await client.get(url), 200, "listing quotas")
        found += [quota for quota in page["results"] if item in quota["items"]]
        url = page["next"]
    if not found:
        raise SetupError(f"item {item} is on no quota of this event")
    limited = [quota for quota in found if quota["size"] is not None]
    chosen = min(limited, key=lambda quota: quota["size"]) if limited else found[0]
    return Target(item=item, quota=chosen["id"], size=chosen["size"])


async def sold(client: httpx.AsyncClient, base: str, target: Target) -> int:
    numbers = await expect(
        await client.get(f"{base}quotas/{target.quota}/availability/"), 200, "reading the quota's availability"
    )
    return int(numbers["paid_orders"]) + int(numbers["pending_orders"])


async def rush(client: httpx.AsyncClient, base: str, target: Target, attempts: int, concurrency: int) -> Run:
    """``concurrency`` buyers, each placing one-ticket orders back to back until ``attempts`` have been made."""

    def buy(number: int) -> Awaitable[httpx.Response]:
        body = {"email": f"buyer{number}@example.org", "positions": [{"item": target.item}]}
        return client.post(base + "orders/", json=body)

    return await hammer(range(attempts), concurrency, buy, expected=(201, 400))


def report(outcome: Run, attempts: int, target: Target, before: int, after: int, concurrency: int) -> dict[str, Any]:
    orders = outcome.statuses[201]
    expected = orders
    if target.size is not None:
        expected = min(target.size - before, attempts) if before <= target.size else 0
    return {
        "attempts": attempts,
        "concurrency": concurrency,
        "seconds": round(outcome.elapsed, 3),
        "attempts_per_s": round(attempts / outcome.elapsed, 1),
        "orders_per_s": round(orders / outcome.elapsed, 1),
        **outcome.latency_figures(),
        "orders": orders,
        "status_2xx": outcome.by_class(2),
        "status_4xx": outcome.by_class(4),
        "status_5xx": outcome.by_class(5),
        "statuses": dict(sorted(outcome.statuses.items())),
        "broken": dict(outcome.broken),
        "quota_size": target.size,
        "sold_before": before,
        "sold_after": after,
        "sold_in_run": after - before,
        "expected_sold_in_run": expected,
        "samples": outcome.samples,
    }


def print_report(figures: dict[str, Any]) -> None:
    print(
        f"{figures['attempts']} attempts at concurrency {figures['concurrency']} in {figures['seconds']:.2f} s: "
        f"{figures['attempts_per_s']:.1f} attempts/s, {figures['orders_per_s']:.1f} orders/s"
    )
    print(f"latency p50 {figures['p50_ms']:.1f} ms   p90 {figures['p90_ms']:.1f} ms   p99 {figures['p99_ms']:.1f} ms")
    print(
        f"answers: 2xx {figures['status_2xx']}  4xx {figures['status_4xx']}  5xx {figures['status_5xx']}  "
        f"by status {figures['statuses']}  broken connections {figures['broken'] or 0}"
    )
    print(
        f"sold (quota availability): {figures['sold_after']} of {figures['quota_size']} "
        f"({figures['sold_in_run']} in this run, expected {figures['expected_sold_in_run']}; "
        f"201 answers: {figures['orders']})"
    )
    for status, text in figures["samples"].items():
        print(f"  sample {status}: {text}")


def verdict(figures: dict[str, Any]) -> list[str]:
    problems = []
    if figures["quota_size"] is not None and figures["sold_after"] > figures["quota_size"]:
        problems.append(f"OVERSOLD: {figures['sold_after']} sold on a quota of {figures['quota_size']}")
    if figures["sold_in_run"] != figures["orders"]:
        problems.append(f"{figures['orders']} orders confirmed but the quota sold {figures['sold_in_run']}")
    if figures["sold_in_run"] != figures["expected_sold_in_run"]:
        problems.append(f"expected {figures['expected_sold_in_run']} sold, got {figures['sold_in_run']}")
    if figures["status_5xx"] or figures["broken"]:
        problems.append(f"server failures: {figures['status_5xx']} 5xx, broken {figures['broken']}")
    return problems


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="server root, e.g. http://127.0.0.1:8765")
    parser.add_argument("--token", required=True, help="API token with permission to create orders")
    parser.add_argument("--organizer", default="demo")
    parser.add_argument("--event", default="democon")
    parser.add_argument("--item", type=int, help="rush this existing product (instead of --setup)")
    parser.add_argument("--setup", action="store_true", help="create a fresh product and quota through the API")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--quota", type=int, default=2000, help="size of the quota --setup creates")
    parser.add_argument("--attempts", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=60, help="with --setup: attempts on a separate warm-up quota")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object as well")
    args = parser.parse_args(argv)
    if args.setup == (args.item is not None):
        parser.error("give either --setup or --item")

    base = event_path(args.organizer, args.event)
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(
        base_url=args.url.rstrip("/"), headers={"Authorization": f"Token {args.token}"}, timeout=60, limits=limits
    ) as client:
        try:
            stamp = time.strftime("%H%M%S")
            if args.setup:
                if args.warmup:
                    warm = await create_target(client, base, f"Warm-up {stamp}", max(1, args.warmup // 2))
                    await rush(client, base, warm, args.warmup, args.concurrency)
                target = await create_target(client, base, f"Rush {stamp}", args.quota)
            else:
                target = await find_target(client, base, args.item)
            before = await sold(client, base, target)
            outcome = await rush(client, base, target, args.attempts, args.concurrency)
            after = await sold(client, base, target)
        except SetupError as problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        except httpx.HTTPError as problem:
            print(f"error: cannot reach {args.url}: {problem!r}", file=sys.stderr)
            return 2
    figures = report(outcome, args.attempts, target, before, after, args.concurrency)
    print_report(figures)
    if args.json:
        print(json.dumps(figures))
    problems = verdict(figures)
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
