"""What the load scripts share: requests sent back to back by concurrent clients, each timed client side, and the
latency percentiles of a run. Imported by the scripts next to it (``python bench/<script>.py`` puts this folder
on the path)."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

Job = TypeVar("Job")


class SetupError(RuntimeError):
    """The server refused to set up the run; the message says what it answered."""


async def expect(response: httpx.Response, status: int, what: str) -> Any:
    if response.status_code != status:
        raise SetupError(f"{what}: HTTP {response.status_code}: {response.text[:300]}")
    return response.json()


@dataclass
class Run:
    """What the clients saw: one latency per answered request, answers by status, requests that broke off (by
    exception) and the first body of each unexpected status."""

    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    broken: Counter[str] = field(default_factory=Counter)
    samples: dict[int, str] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return len(self.latencies)

    def by_class(self, hundred: int) -> int:
        return sum(count for status, count in self.statuses.items() if status // 100 == hundred)

    def latency_figures(self) -> dict[str, float]:
        """p50/p90/p99/max in milliseconds."""
        return {
            "p50_ms": round(percentile(self.latencies, 0.50) * 1000, 1),
            "p90_ms": round(percentile(self.latencies, 0.90) * 1000, 1),
            "p99_ms": round(percentile(self.latencies, 0.99) * 1000, 1),
            "max_ms": round(max(self.latencies, default=0.0) * 1000, 1),
        }


async def hammer(
    jobs: Iterable[Job],
    concurrency: int,
    send: Callable[[Job], Awaitable[httpx.Response]],
    *,
    expected: tuple[int, ...],
    on_answer: Callable[[Job, httpx.Response], None] | None = None,
) -> Run:
    """``concurrency`` clients take ``jobs`` one after the other and send each as soon as the previous answer
    came; statuses outside ``expected`` keep a sample of their body."""
    run = Run()
    queue = iter(jobs)

    async def client() -> None:
        for job in queue:
            started = time.perf_counter()
            try:
                response = await send(job)
            except httpx.HTTPError as problem:
                run.broken[type(problem).__name__] += 1
                continue
            run.latencies.append(time.perf_counter() - started)
            run.statuses[response.status_code] += 1
            if response.status_code not in expected:
                run.samples.setdefault(response.status_code, response.text[:300])
                continue
            if on_answer is not None:
                on_answer(job, response)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    run.elapsed = time.perf_counter() - started
    return run


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[round(share * 1000) - 1]


def tree_cpu_seconds(root_pids: Iterable[int]) -> float:
    """CPU seconds (user + system) used so far by these processes and all their descendants that are still
    running (Linux ``/proc``); the difference over a run is the run's cost when the server runs on this machine.
    Children that ended during the run are counted in their parent's ``cutime`` only once they were waited for."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / ticks
    roots = set(root_pids)
    total = 0.0
    for pid, seconds in times.items():
        ancestor = pid
        while ancestor and ancestor not in roots:
            ancestor = parents.get(ancestor, 0)
        if ancestor:
            total += seconds
    return total
