"""The worker's supervisor closes an arq worker that lost Redis and starts another: nothing
of the old worker may end the process. The HA drill caught the surviving worker exiting after
a Redis failover: a job cancelled inside its first Redis call made arq's close() re-raise the
job's CancelledError. Real arq worker, real Redis."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, ClassVar

from arq.worker import create_worker

from mediation.redisconn import arq_settings
from mediation.settings import Settings
from mediation_worker.supervisor import _close, supervise


async def _noop(ctx: dict[str, Any]) -> None:
    return None


def _settings(settings: Settings, **hooks: Any) -> type:
    """A worker of one job on the test Redis and a queue of its own, with these hooks."""

    class Settings_:
        functions: ClassVar[list[Any]] = [_noop]
        redis_settings = arq_settings(settings.redis_url)
        queue_name = f"supervisor-{uuid.uuid4().hex[:8]}"
        poll_delay = 0.02

    for name, hook in hooks.items():
        setattr(Settings_, name, staticmethod(hook))
    return Settings_


async def test_a_job_cancelled_inside_a_redis_call_does_not_end_the_supervisor(
    settings: Settings,
) -> None:
    shutdowns: list[bool] = []

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        shutdowns.append(True)

    worker = create_worker(_settings(settings, on_shutdown=on_shutdown), handle_signals=False)
    running = asyncio.create_task(worker.async_run())
    for _ in range(200):
        if "redis" in worker.ctx:
            break
        await asyncio.sleep(0.02)
    assert "redis" in worker.ctx, "the worker did not start"
    # A job as arq holds it while its first pipeline waits on Redis: cancelling it raises
    # CancelledError out of the Redis call, which arq's run_job does not catch there.
    key = f"supervisor-wait-{uuid.uuid4().hex}"
    stuck = asyncio.create_task(worker.pool.blpop([key], timeout=0))
    worker.tasks["event:stuck"] = stuck
    await asyncio.sleep(0.1)
    assert not stuck.done()
    running.cancel()  # the main loop ended (it raised on the Redis error)
    await asyncio.gather(running, return_exceptions=True)

    await _close(worker)  # raised CancelledError before: the supervisor, then the process, ended

    assert stuck.cancelled()
    assert shutdowns == [True]  # the worker's shutdown ran: its loops stopped, pools closed
    assert worker.tasks == {}
    current = asyncio.current_task()
    assert current is not None and current.cancelling() == 0


async def test_a_cancelled_worker_loop_is_restarted_not_the_end_of_the_supervisor(
    settings: Settings,
) -> None:
    """arq's main loop ending with CancelledError (here: re-raised from something it awaited
    while it starts, as close() did from a job) is the old worker's end, not the supervisor's:
    it starts a new worker. Cancelling the supervisor itself still ends it."""
    startups: list[int] = []

    async def on_startup(ctx: dict[str, Any]) -> None:
        startups.append(1)
        if len(startups) == 1:
            raise asyncio.CancelledError

    running = asyncio.create_task(
        supervise(_settings(settings, on_startup=on_startup), restart_delay=0.05)
    )
    for _ in range(250):
        if len(startups) >= 2 or running.done():
            break
        await asyncio.sleep(0.02)
    assert not running.done(), running  # ended with the first worker before
    assert len(startups) == 2
    running.cancel()
    results = await asyncio.gather(running, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)
