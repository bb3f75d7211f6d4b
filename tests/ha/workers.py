"""Real arq workers for the HA tests, as several machines would run them: the service's job
functions plus its cron jobs as plain functions under their cron names (what a scheduler
queues is run; these workers schedule nothing of their own), in burst mode."""

from __future__ import annotations

import asyncio

from arq.worker import Worker, func

from mediation.settings import Settings
from mediation_dev.clock import MovableClock
from mediation_worker.main import build_settings


async def run_workers(settings: Settings, clock: MovableClock, count: int = 2) -> list[Worker]:
    """`count` workers draining the queue side by side; returns them (closed) for their
    counts (jobs_complete, jobs_failed)."""
    ws = build_settings(settings, clock, background=False)

    def worker() -> Worker:
        return Worker(
            functions=[
                *ws.functions,
                *(func(c.coroutine, name=c.name, max_tries=c.max_tries) for c in ws.cron_jobs),
            ],
            on_startup=ws.on_startup,
            on_shutdown=ws.on_shutdown,
            redis_settings=ws.redis_settings,
            queue_name=ws.queue_name,
            burst=True,
            poll_delay=0.02,
            keep_result=60,
            handle_signals=False,
        )

    workers = [worker() for _ in range(count)]
    try:
        await asyncio.gather(*(w.main() for w in workers))
    finally:
        for w in workers:
            await w.close()
    return workers
