"""Per-process objects of the notification worker: the HTTP client (kept-alive connections to
receivers), the bound on concurrent sends, the wake-up event of the delivery loop, outcome
counters. Built on worker start-up, closed on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from mediation.jobs import metrics_key
from mediation.notifications.webhooks import parse_quiet_hours
from mediation.settings import Settings
from mediation_worker.context import WorkerContext, wctx
from mediation_worker.notifications.http import Client

log = logging.getLogger("mediation.worker.notifications")

KEY = "notifications"


@dataclass
class Runtime:
    settings: Settings
    http: Client
    sends: asyncio.Semaphore
    tz: ZoneInfo
    quiet_hours: Any
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    counts: Counter[str] = field(default_factory=Counter)
    # Deliveries being sent by this process right now (shutdown waits for them).
    in_flight: set[asyncio.Task[Any]] = field(default_factory=set)

    def count(self, channel: str, outcome: str) -> None:
        self.counts[f"deliver:{channel}|{outcome}"] += 1

    async def flush_counts(self, c: WorkerContext) -> None:
        """Add the outcome counters to the job metrics hash the API's /metrics reads."""
        if not self.counts:
            return
        pending, self.counts = self.counts, Counter()
        try:
            pipe = c.redis.pipeline(transaction=False)
            for name, n in pending.items():
                pipe.hincrby(metrics_key(c.settings.arq_queue), name, n)
            await pipe.execute()
        except Exception:  # Redis away: keep the counts for the next flush
            self.counts.update(pending)


def build(settings: Settings) -> Runtime:
    http = Client(
        timeout=settings.notify_timeout_seconds, per_host=max(16, settings.delivery_concurrency * 2)
    )
    return Runtime(
        settings=settings,
        http=http,
        sends=asyncio.Semaphore(settings.delivery_concurrency),
        tz=ZoneInfo(settings.timezone),
        quiet_hours=parse_quiet_hours(settings.sms_quiet_hours),
    )


def runtime(ctx: dict[str, Any]) -> Runtime:
    """The process's runtime, built on first use if start-up did not (tests, tools)."""
    rt: Runtime | None = ctx.get(KEY)
    if rt is None:
        rt = build(wctx(ctx).settings)
        ctx[KEY] = rt
    return rt


async def close(ctx: dict[str, Any], grace: float = 15.0) -> None:
    """Let sends in flight finish (bounded by the send timeout), then close the client. A send
    cut short keeps its lease and is tried again by any worker when it ends: nothing is lost."""
    rt: Runtime | None = ctx.pop(KEY, None)
    if rt is None:
        return
    if rt.in_flight:
        _, late = await asyncio.wait(set(rt.in_flight), timeout=grace)
        for task in late:
            task.cancel()
        for task in late:
            with contextlib.suppress(BaseException):
                await task
    with contextlib.suppress(Exception):
        await rt.flush_counts(wctx(ctx))
    await rt.http.aclose()
