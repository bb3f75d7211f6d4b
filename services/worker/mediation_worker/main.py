"""arq WorkerSettings and the `mediation-worker` entry point."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from arq import cron

import mediation.audit.chain  # audits every write: hooks on every session
from mediation.clock import Clock, SystemClock
from mediation.db import create_engine, session_factory
from mediation.logs import configure_logging
from mediation.redisconn import arq_settings
from mediation.settings import Settings, get_settings
from mediation.tracing import start as start_tracing
from mediation_worker import cases as _cases  # noqa: F401  (case handlers and reminders)
from mediation_worker.context import WorkerContext
from mediation_worker.cronlease import slot_cron
from mediation_worker.heartbeat import beat_once, heartbeat_loop
from mediation_worker.hotline import reminders as _hotline_reminders  # noqa: F401
from mediation_worker.hotline.retention import hotline_retention
from mediation_worker.idempotency import purge_idempotency_keys
from mediation_worker.imports import handlers as _import_handlers  # noqa: F401
from mediation_worker.imports.jobs import import_functions
from mediation_worker.notifications import runtime as notifications
from mediation_worker.notifications.deliver import delivery_loop, sweep_deliveries
from mediation_worker.notifications.retention import notification_retention
from mediation_worker.notifications.sweeps import sweep_reminders
from mediation_worker.outbox.dispatch import process_event
from mediation_worker.outbox.relay import listen_and_relay, sweep_outbox
from mediation_worker.reference import handlers as _reference_handlers  # noqa: F401
from mediation_worker.sessions import reminders as _session_reminders  # noqa: F401
from mediation_worker.stats import handlers as _stats_handlers  # noqa: F401
from mediation_worker.stats.jobs import stats_cron, stats_functions
from mediation_worker.supervisor import supervise

POOL_WAIT_SECONDS = 30.0


def build_settings(
    settings: Settings | None = None, clock: Clock | None = None, background: bool = True
) -> type:
    """WorkerSettings for arq. Tests pass their own settings and clock and turn the
    background loops off (burst mode runs only queued jobs)."""
    settings = settings or get_settings()
    clock = clock or SystemClock()
    mediation.audit.chain.use_profile(settings.crypto_profile)  # SM3 chain when `gm`

    async def startup(ctx: dict[str, Any]) -> None:
        # A job waits for a pooled connection rather than failing after the API's few seconds:
        # up to `max_jobs` jobs share the pool, and a job failed that way waits for the outbox
        # sweep's stale relay (a minute) before it runs again. Connecting to a database that
        # is down still fails at once (the connect timeout).
        engine = create_engine(settings, pool_timeout=POOL_WAIT_SECONDS)
        tracing = start_tracing(settings, "mediation-worker")
        # arq's own Redis connection is not instrumented: its polling (every 20 ms) would
        # bury the spans that matter.
        tracing.instrument_engine(engine)
        tracing.instrument_httpx()
        c = WorkerContext(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            clock=clock,
            redis=ctx["redis"],
            tracing=tracing,
        )
        ctx["mediation"] = c
        stop = asyncio.Event()
        ctx["stop"] = stop
        ctx["tasks"] = []
        await beat_once(c)
        # Built here, not by the first job: arq gives each job a copy of ctx, so a runtime made
        # inside a job (and its delivery counts) would never reach the shutdown's flush.
        rt = notifications.runtime(ctx)
        if background:
            ctx["tasks"] = [
                asyncio.create_task(heartbeat_loop(c, stop)),
                asyncio.create_task(listen_and_relay(c, stop, rt.wake.set)),
                asyncio.create_task(delivery_loop(c, rt, stop)),
            ]

    async def shutdown(ctx: dict[str, Any]) -> None:
        ctx["stop"].set()
        tasks = ctx.get("tasks", [])
        if tasks:  # loops finish the send in hand (graceful), then stop
            await asyncio.wait(tasks, timeout=settings.notify_timeout_seconds + 5)
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await notifications.close(ctx)
        await ctx["mediation"].engine.dispose()
        ctx["mediation"].tracing.shutdown()

    class WorkerSettings:
        functions: ClassVar[list[Any]] = [
            process_event,
            sweep_outbox,
            sweep_deliveries,
            sweep_reminders,
            notification_retention,
            purge_idempotency_keys,
            *stats_functions(),
            *import_functions(),
        ]
        cron_jobs: ClassVar[list[Any]] = [
            cron(sweep_outbox, second=30, unique=True, run_at_startup=False),
            slot_cron(hotline_retention, hour={3}, minute={17}),  # nightly
            cron(sweep_deliveries, second={0, 20, 40}, unique=True, run_at_startup=False),
            cron(sweep_reminders, second=5, unique=True, run_at_startup=False),  # every minute
            slot_cron(notification_retention, hour={3}, minute={41}),  # nightly
            slot_cron(purge_idempotency_keys, minute={23}, run_at_startup=False),  # hourly
            *stats_cron(settings),  # monthly report 01:00 on the 1st, live refresh
        ]
        on_startup = startup
        on_shutdown = shutdown
        redis_settings = arq_settings(settings.redis_url)  # redis:// or redis+sentinel://
        queue_name = settings.arq_queue
        max_jobs = 40
        # arq starts new jobs only when it polls: at its default 0.5 s a worker tops out near
        # max_jobs / 0.5 jobs a second, and every event waits up to half a second.
        poll_delay = 0.02
        job_timeout = 120
        max_tries = 5
        keep_result = 60
        health_check_interval = settings.worker_heartbeat_seconds
        timezone = ZoneInfo(settings.timezone)  # cron hours are the center's (Asia/Shanghai)
        job_completion_wait = 20  # SIGTERM: running jobs get this long before being handed back
        # Redis may be down when the worker starts: keep retrying instead of dying.
        redis_settings.conn_retries = 1_000_000
        redis_settings.conn_retry_delay = 2

    return WorkerSettings


def run() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    with contextlib.suppress(ImportError):  # uvloop (with uvicorn[standard]): faster I/O
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(supervise(build_settings(settings)))  # restarts the worker when Redis returns


if __name__ == "__main__":
    run()
