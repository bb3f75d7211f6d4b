"""arq WorkerSettings and the `mediation-worker` entry point."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, ClassVar

from arq import cron
from arq.connections import RedisSettings
from arq.worker import run_worker

from mediation.clock import Clock, SystemClock
from mediation.db import create_engine, session_factory
from mediation.logs import configure_logging
from mediation.settings import Settings, get_settings
from mediation_worker.context import WorkerContext
from mediation_worker.heartbeat import beat_once, heartbeat_loop
from mediation_worker.outbox.dispatch import process_event
from mediation_worker.outbox.relay import listen_and_relay, sweep_outbox
from mediation_worker.reference import handlers as _reference_handlers  # noqa: F401


def build_settings(settings: Settings | None = None, clock: Clock | None = None,
                   background: bool = True) -> type:
    """WorkerSettings for arq. Tests pass their own settings and clock and turn the
    background loops off (burst mode runs only queued jobs)."""
    settings = settings or get_settings()
    clock = clock or SystemClock()

    async def startup(ctx: dict[str, Any]) -> None:
        engine = create_engine(settings)
        c = WorkerContext(settings=settings, engine=engine, sessions=session_factory(engine),
                          clock=clock, redis=ctx["redis"])
        ctx["mediation"] = c
        stop = asyncio.Event()
        ctx["stop"] = stop
        ctx["tasks"] = []
        await beat_once(c)
        if background:
            ctx["tasks"] = [
                asyncio.create_task(heartbeat_loop(c, stop)),
                asyncio.create_task(listen_and_relay(c, stop)),
            ]

    async def shutdown(ctx: dict[str, Any]) -> None:
        ctx["stop"].set()
        for task in ctx.get("tasks", []):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await ctx["mediation"].engine.dispose()

    class WorkerSettings:
        functions: ClassVar[list[Any]] = [process_event, sweep_outbox]
        cron_jobs: ClassVar[list[Any]] = [
            cron(sweep_outbox, second=30, unique=True, run_at_startup=False),
        ]
        on_startup = startup
        on_shutdown = shutdown
        redis_settings = RedisSettings.from_dsn(settings.redis_url)
        queue_name = settings.arq_queue
        max_jobs = 20
        job_timeout = 120
        max_tries = 5
        keep_result = 60
        health_check_interval = settings.worker_heartbeat_seconds
        # Redis may be down when the worker starts: keep retrying instead of dying.
        redis_settings.conn_retries = 1_000_000
        redis_settings.conn_retry_delay = 2

    return WorkerSettings


def run() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    run_worker(build_settings(settings))  # type: ignore[arg-type]


if __name__ == "__main__":
    run()
