"""Door rush: scanners redeem tickets of a large check-in list as fast as they can.

Talks only the pretix REST API v1 (``POST …/checkinrpc/redeem/``, the check-in list and its ``status``, and with
``--setup`` item, quota, list and order creation), so it measures any server that speaks it. Prints redeems/s,
latency percentiles and the answers by status; exits non-zero when a ticket was admitted twice, a fresh ticket was
refused, the list's check-in count does not match the admissions, or the server failed (5xx, broken connections).

Against a local ``boxoffice serve`` (the first start prints the demo organizer, event and an API token)::

    cd "$(mktemp -d)" && /path/to/boxoffice/.venv/bin/boxoffice serve --port 8765
    .venv/bin/python bench/checkin.py --url http://127.0.0.1:8765 --token <TOKEN> --setup --tickets 50000 \\
        --concurrency 8 --redeems 5000

``--setup`` creates a product, an unlimited quota, a check-in list and ``--tickets`` paid tickets (orders of
``--per-order`` tickets each, placed by ``--setup-concurrency`` clients) and prints the list id; without it,
``--list`` names an existing list whose not yet checked-in tickets are read through the list's positions endpoint.
``--concurrency`` scanners then redeem distinct tickets back to back (each request with its own nonce) until
``--redeems`` were made; ``--rescan`` adds that many scans of tickets already admitted in the run (they must be
refused as ``already_redeemed``). Latency is measured per request, client side (the client shares the machine
with the server in a local run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

import httpx
from loadclient import Run, SetupError, expect, hammer, tree_cpu_seconds


@dataclass
class Outcome:
    """The run as the clients saw it, and which tickets were admitted how often."""

    run: Run
    reasons: Counter[str] = field(default_factory=Counter)
    admitted: Counter[str] = field(default_factory=Counter)


async def setup(client: httpx.AsyncClient, base: str, tickets: int, per_order: int, concurrency: int) -> int:
    """A product on an unlimited quota, a list for it and ``tickets`` paid tickets; returns the list id."""
    stamp = time.strftime("%H%M%S")
    item = await expect(
        await client.post(base + "items/", json={"name": {"en": f"Door {stamp}"}, "default_price": "0.00"}),
        201,
        "creating the item",
    )
    await expect(
        await client.post(base + "quotas/", json={"name": f"Door {stamp}", "size": None, "items": [item["id"]]}),
        201,
        "creating the quota",
    )
    checkin_list = await expect(
        await client.post(
            base + "checkinlists/",
            json={"name": f"Door rush {stamp}", "all_products": False, "limit_products": [item["id"]]},
        ),
        201,
        "creating the check-in list",
    )
    sizes = [per_order] * (tickets // per_order) + ([tickets % per_order] if tickets % per_order else [])
    pending = iter(sizes)
    placed = 0
    started = time.perf_counter()

    async def placer() -> None:
        nonlocal placed
        for size in pending:
            body = {
                "email": "door@example.org",
                "status": "p",
                "payment_provider": "manual",
                "send_email": False,
                "positions": [{"item": item["id"]} for _ in range(size)],
            }
            await expect(await client.post(base + "orders/", json=body), 201, "placing an order")
            placed += size
            if placed % (per_order * 50) == 0:
                print(f"  {placed} tickets placed ({time.perf_counter() - started:.0f} s)", file=sys.stderr)

    await asyncio.gather(*(placer() for _ in range(concurrency)))
    print(f"setup: list {checkin_list['id']} with {placed} tickets in {time.perf_counter() - started:.1f} s")
    return int(checkin_list["id"])


async def unredeemed_secrets(client: httpx.AsyncClient, base: str, list_id: int, wanted: int) -> list[str]:
    secrets: list[str] = []
    url: str | None = f"{base}checkinlists/{list_id}/positions/?has_checkin=false&ordering=positionid"
    while url and len(secrets) < wanted:
        page = await expect(await client.get(url), 200, "reading the list's tickets")
        secrets += [position["secret"] for position in page["results"]]
        url = page["next"]
    return secrets[:wanted]


async def list_status(client: httpx.AsyncClient, base: str, list_id: int) -> dict[str, Any]:
    return await expect(await client.get(f"{base}checkinlists/{list_id}/status/"), 200, "reading the list's status")


async def scan_all(
    client: httpx.AsyncClient, organizer: str, list_id: int, scans: list[tuple[str, bool]], concurrency: int
) -> Outcome:
    path = f"/api/v1/organizers/{organizer}/checkinrpc/redeem/"
    admitted: Counter[str] = Counter()
    reasons: Counter[str] = Counter()

    def scan(job: tuple[str, bool]) -> Awaitable[httpx.Response]:
        body = {"secret": job[0], "lists": [list_id], "nonce": uuid.uuid4().hex, "source_type": "barcode"}
        return client.post(path, json=body)

    def count(job: tuple[str, bool], response: httpx.Response) -> None:
        secret, rescan = job
        answer = response.json()
        if answer.get("status") == "ok":
            admitted[secret] += 1
        else:
            reasons[f"{'rescan' if rescan else 'fresh'}:{answer.get('reason')}"] += 1

    run = await hammer(scans, concurrency, scan, expected=(201, 400, 404), on_answer=count)
    return Outcome(run, reasons, admitted)


def report(outcome: Outcome, before: dict[str, Any], after: dict[str, Any], concurrency: int) -> dict[str, Any]:
    run = outcome.run
    return {
        "requests": run.requests,
        "concurrency": concurrency,
        "seconds": round(run.elapsed, 3),
        "redeems_per_s": round(run.requests / run.elapsed, 1) if run.elapsed else 0.0,
        **run.latency_figures(),
        "statuses": dict(sorted(run.statuses.items())),
        "refusals": dict(outcome.reasons),
        "admitted": sum(outcome.admitted.values()),
        "admitted_twice": sum(1 for count in outcome.admitted.values() if count > 1),
        "list_tickets": after["position_count"],
        "checked_in_before": before["checkin_count"],
        "checked_in_after": after["checkin_count"],
        "broken": dict(run.broken),
        "samples": run.samples,
    }


def verdict(figures: dict[str, Any], rescans: int) -> list[str]:
    problems = []
    if figures["admitted_twice"]:
        problems.append(f"ADMITTED TWICE: {figures['admitted_twice']} tickets")
    fresh_refused = sum(count for key, count in figures["refusals"].items() if key.startswith("fresh:"))
    if fresh_refused:
        problems.append(f"{fresh_refused} fresh tickets refused: {figures['refusals']}")
    if figures["refusals"].get("rescan:already_redeemed", 0) != rescans:
        problems.append(f"expected {rescans} rescans refused as already_redeemed: {figures['refusals']}")
    grew = figures["checked_in_after"] - figures["checked_in_before"]
    if grew != figures["admitted"]:
        problems.append(f"{figures['admitted']} admissions, but the list's check-in count grew by {grew}")
    unexpected = {status: count for status, count in figures["statuses"].items() if status not in (201, 400, 404)}
    if unexpected:
        problems.append(f"unexpected answers {unexpected}: {figures['samples']}")
    if any(status >= 500 for status in figures["statuses"]) or figures["broken"]:
        problems.append(f"server failures: {figures['statuses']}, broken {figures['broken']}")
    return problems


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="server root, e.g. http://127.0.0.1:8765")
    parser.add_argument("--token", required=True, help="API token (or device token with --device)")
    parser.add_argument("--device", action="store_true", help="authenticate as a device (Authorization: Device …)")
    parser.add_argument("--organizer", default="demo")
    parser.add_argument("--event", default="democon")
    parser.add_argument("--list", type=int, help="redeem tickets of this existing list (instead of --setup)")
    parser.add_argument("--setup", action="store_true", help="create product, quota, list and tickets first")
    parser.add_argument("--tickets", type=int, default=50_000, help="tickets --setup creates")
    parser.add_argument("--per-order", type=int, default=100, help="tickets per order --setup places")
    parser.add_argument("--setup-concurrency", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--redeems", type=int, default=5000, help="distinct tickets to redeem")
    parser.add_argument("--rescan", type=int, default=0, help="extra scans of tickets admitted in this run")
    parser.add_argument("--warmup", type=int, default=200, help="redeems before the measured run")
    parser.add_argument(
        "--cpu-of",
        type=int,
        action="append",
        default=[],
        metavar="PID",
        help="a local process (with its children) whose CPU time per redeem to report, e.g. the server's and "
        "PostgreSQL's main process; repeatable",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object as well")
    args = parser.parse_args(argv)
    if args.setup == (args.list is not None):
        parser.error("give either --setup or --list")

    base = f"/api/v1/organizers/{args.organizer}/events/{args.event}/"
    scheme = "Device" if args.device else "Token"
    limits = httpx.Limits(max_connections=args.concurrency + 4, max_keepalive_connections=args.concurrency + 4)
    async with httpx.AsyncClient(
        base_url=args.url.rstrip("/"), headers={"Authorization": f"{scheme} {args.token}"}, timeout=60, limits=limits
    ) as client:
        try:
            list_id = args.list
            if args.setup:
                list_id = await setup(client, base, args.tickets, args.per_order, args.setup_concurrency)
            secrets = await unredeemed_secrets(client, base, list_id, args.warmup + args.redeems)
            if len(secrets) < args.warmup + args.redeems:
                raise SetupError(f"the list has only {len(secrets)} tickets not yet checked in")
            warm, measured = secrets[: args.warmup], secrets[args.warmup :]
            if warm:
                await scan_all(client, args.organizer, list_id, [(s, False) for s in warm], args.concurrency)
            before = await list_status(client, base, list_id)
            cpu_before = {pid: tree_cpu_seconds([pid]) for pid in args.cpu_of}
            # Rescans come after the first half, so each refers to a ticket admitted earlier in the run.
            half = len(measured) // 2
            repeated = random.sample(measured[:half], min(args.rescan, half))
            scans = [(s, False) for s in measured[:half]] + [(s, True) for s in repeated]
            scans += [(s, False) for s in measured[half:]]
            rescans = len(repeated)
            outcome = await scan_all(client, args.organizer, list_id, scans, args.concurrency)
            cpu_used = {pid: tree_cpu_seconds([pid]) - cpu_before[pid] for pid in args.cpu_of}
            after = await list_status(client, base, list_id)
        except SetupError as problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        except httpx.HTTPError as problem:
            print(f"error: cannot reach {args.url}: {problem!r}", file=sys.stderr)
            return 2
    figures = report(outcome, before, after, args.concurrency)
    figures["cpu_ms_per_redeem"] = {
        str(pid): round(seconds * 1000 / max(1, figures["requests"]), 2) for pid, seconds in cpu_used.items()
    }
    print(
        f"{figures['requests']} redeems at concurrency {args.concurrency} on a list of {figures['list_tickets']} "
        f"tickets in {figures['seconds']:.2f} s: {figures['redeems_per_s']:.1f} redeems/s"
    )
    print(
        f"latency p50 {figures['p50_ms']:.1f} ms   p90 {figures['p90_ms']:.1f} ms   p99 {figures['p99_ms']:.1f} ms"
        f"   max {figures['max_ms']:.1f} ms"
    )
    print(
        f"answers by status {figures['statuses']}  refusals {figures['refusals'] or 0}  "
        f"admitted {figures['admitted']} (twice: {figures['admitted_twice']})  broken {figures['broken'] or 0}"
    )
    if figures["cpu_ms_per_redeem"]:
        print(f"CPU ms per redeem by process tree (pid: ms): {figures['cpu_ms_per_redeem']}")
    for status, text in figures["samples"].items():
        print(f"  sample {status}: {text}")
    if args.json:
        print(json.dumps(figures))
    problems = verdict(figures, rescans)
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
