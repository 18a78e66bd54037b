"""Read throughput of the REST API: requests/s and latency percentiles of the event, item and quota lists.

Talks only the pretix API v1 dialect over HTTP, so it measures any server that speaks it (boxoffice or pretix).
Prints figures; no assertions.

Against a local ``boxoffice serve`` (the first start prints the demo organizer, event and an API token)::

    cd "$(mktemp -d)" && /path/to/boxoffice/.venv/bin/boxoffice serve --port 8765
    # → demo organizer: demo  event: democon
    # → API token: <TOKEN>
    .venv/bin/python bench/api_reads.py --url http://127.0.0.1:8765 --token <TOKEN>

Options: ``--organizer demo --event democon --seconds 10 --concurrency 8``. Every endpoint gets a short warm-up, then
``--concurrency`` clients send requests back to back for ``--seconds``; latency is measured per request, client side
(it includes the client's own overhead, so keep the client on an otherwise idle machine, or read the figures as
upper bounds).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass, field

import httpx


@dataclass
class Result:
    name: str
    path: str
    latencies: list[float] = field(default_factory=list)
    errors: dict[int | str, int] = field(default_factory=dict)
    elapsed: float = 0.0
    body_bytes: int = 0
    rows: int | None = None

    def line(self) -> str:
        done = len(self.latencies)
        if not done:
            return f"{self.name:<12} no successful request ({self._errors()})"
        cuts = statistics.quantiles(self.latencies, n=100, method="inclusive") if done > 1 else [self.latencies[0]] * 99
        return (
            f"{self.name:<12} {done / self.elapsed:>9.1f} req/s   p50 {cuts[49] * 1000:>7.2f} ms   "
            f"p90 {cuts[89] * 1000:>7.2f} ms   p99 {cuts[98] * 1000:>7.2f} ms   "
            f"n={done}  rows/page={self.rows}  {self.body_bytes / done / 1024:.1f} KiB/resp  errors: {self._errors()}"
        )

    def _errors(self) -> str:
        return ", ".join(f"{code} x{count}" for code, count in self.errors.items()) or "none"


async def probe(client: httpx.AsyncClient, path: str) -> str | None:
    """One request first: a clear message instead of thousands of identical failures."""
    try:
        response = await client.get(path)
    except httpx.HTTPError as error:
        return f"{type(error).__name__}: {error}"
    if response.status_code != 200:
        return f"{response.status_code} {response.text[:200]}"
    return None


async def hammer(client: httpx.AsyncClient, result: Result, seconds: float, concurrency: int, warmup: int) -> None:
    for _ in range(warmup):
        await client.get(result.path)
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                response = await client.get(result.path)
            except httpx.HTTPError as error:
                key: int | str = type(error).__name__
                result.errors[key] = result.errors.get(key, 0) + 1
                continue
            took = time.perf_counter() - started
            if response.status_code != 200:
                result.errors[response.status_code] = result.errors.get(response.status_code, 0) + 1
                continue
            result.latencies.append(took)
            result.body_bytes += len(response.content)
            if result.rows is None:
                result.rows = len(response.json().get("results", []))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed = time.perf_counter() - started


async def run(args: argparse.Namespace) -> int:
    base = args.url.rstrip("/").removesuffix("/api/v1")
    organizer = f"/api/v1/organizers/{args.organizer}"
    event = f"{organizer}/events/{args.event}"
    results = [
        Result("events", f"{organizer}/events/"),
        Result("items", f"{event}/items/"),
        Result("quotas", f"{event}/quotas/"),
    ]
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    headers = {"Authorization": f"Token {args.token}", "Accept": "application/json"}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30.0) as client:
        try:
            root = (await client.get("/api/v1/")).json()
        except (httpx.HTTPError, ValueError):
            root = {}
        server = f"{root.get('name', '?')} {root.get('version', '')}".strip()
        print(f"server {base} ({server}), {args.concurrency} concurrent clients, {args.seconds:g} s per endpoint")
        failed = 0
        for result in results:
            problem = await probe(client, result.path)
            if problem is not None:
                print(f"{result.name:<12} skipped: GET {result.path} → {problem}")
                failed += 1
                continue
            await hammer(client, result, args.seconds, args.concurrency, warmup=args.concurrency * 4)
            print(result.line())
    return 1 if failed == len(results) else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="server base URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--token", required=True, help="team API token with read access to the event")
    parser.add_argument("--organizer", default="demo")
    parser.add_argument("--event", default="democon")
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring time per endpoint")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight at once")
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
