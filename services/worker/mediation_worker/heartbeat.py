"""A heartbeat in Redis every few seconds, read by the API's /readyz."""

from __future__ import annotations

import asyncio
import logging

from mediation.health import heartbeat_key
from mediation_worker.context import WorkerContext

log = logging.getLogger("mediation.worker.heartbeat")


async def beat_once(c: WorkerContext) -> None:
    await c.redis.set(
        heartbeat_key(c.settings.arq_queue),
        c.clock.now().isoformat(),
        ex=c.settings.worker_heartbeat_max_age_seconds,
    )


async def heartbeat_loop(c: WorkerContext, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await beat_once(c)
        except Exception as exc:  # Redis away: keep beating once it returns
            log.warning("heartbeat failed: %s", exc)
        try:
            await asyncio.wait_for(stop.wait(), c.settings.worker_heartbeat_seconds)
        except TimeoutError:
            pass
