"""How much the plugin layer costs: discovery at start-up, and a scoped hook call per request.

Run: .venv/bin/python bench/plugin_dispatch.py   (prints figures; no assertions)
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.kernel.models import Event, Organizer
from boxoffice.kernel.plugins import PluginManager


def timed(function: Callable[[], object], repeat: int) -> float:
    """Median seconds per call over 5 rounds of ``repeat`` calls."""
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(repeat):
            function()
        rounds.append((time.perf_counter() - started) / repeat)
    return statistics.median(rounds)


def make_plugin(index: int) -> object:
    class Plugin:
        plugin_meta = PluginMeta(name=f"p{index}")

        @hookimpl
        def register_text_placeholders(self, event: Event) -> list[str]:
            return [f"p{index}"]

    return Plugin()


def main() -> None:
    started = time.perf_counter()
    manager = PluginManager()
    manager.load_entry_points()
    discovery = time.perf_counter() - started
    for index in range(40):
        manager.register(make_plugin(index), f"p{index}")
    organizer = Organizer(slug="o", name="O", plugins=[])
    events = [
        Event(slug=f"e{n}", name={"en": "E"}, organizer=organizer, plugins=[f"p{i}" for i in range(n, 40, 4)])
        for n in range(4)
    ]
    event = events[0]

    def scoped_call() -> object:
        return manager.for_event(event).register_text_placeholders(event=event)

    def global_call() -> object:
        return manager.hook.register_text_placeholders(event=event)

    def rotating_call() -> object:
        target = events[time.perf_counter_ns() % 4]
        return manager.for_event(target).register_text_placeholders(event=target)

    scoped_call()
    print(f"entry-point discovery + registration ({len(manager.plugins) - 40} installed): {discovery * 1e3:.1f} ms")
    print(f"scoped hook call, 10 of 40 plugins enabled (relay cached): {timed(scoped_call, 20000) * 1e6:.2f} µs")
    print(f"same hook through pm.hook, all 42 plugins:                {timed(global_call, 20000) * 1e6:.2f} µs")
    print(f"scoped call rotating over 4 enabled sets:                 {timed(rotating_call, 20000) * 1e6:.2f} µs")
    print(f"cached relays: {len(manager._relays)}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
