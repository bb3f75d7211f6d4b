"""How late the API process's event loop runs a timer: the time a request that arrived then
waited before the process read it. A read costs about a millisecond of CPU; a lag of tens of
milliseconds means the loop was busy (CPU starved, a long synchronous step) or blocked (a
garbage collection, a synchronous call), which no route's own latency shows (issue 22 item
4: the mixed run's p99 was spent before the app read the requests)."""

from __future__ import annotations

import asyncio

from prometheus_client import Histogram

INTERVAL = 0.25  # seconds between timers: four wake-ups a second, a few microseconds each

LOOP_LAG = Histogram(
    "mediation_event_loop_lag_seconds",
    "How late the API process's event loop ran a timer due every 0.25 s (all API processes).",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


async def watch_loop_lag() -> None:
    """Runs until cancelled (the app's lifespan)."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + INTERVAL
        await asyncio.sleep(INTERVAL)
        LOOP_LAG.observe(max(0.0, loop.time() - due))
