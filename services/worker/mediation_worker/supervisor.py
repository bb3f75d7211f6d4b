"""Runs the arq worker and keeps it running: arq's main loop dies on the first Redis error, so
when Redis goes away the worker is closed (its jobs handed back) and started again once Redis
answers; PostgreSQL outages are absorbed by the loops and jobs themselves. SIGTERM/SIGINT stop
it gracefully: no new jobs, running jobs get `job_completion_wait` seconds to finish, the
background loops finish their sends, and what is cut short rolls back and is picked up by
another worker (the database, not Redis, says what is done)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

from arq.worker import Worker, create_worker
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger("mediation.worker.supervisor")

_REDIS_ERRORS = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)


async def _reap_jobs(worker: Worker, seconds: float) -> None:
    """Cancels the jobs in flight and waits for them: arq hands each back to the queue.

    arq's close() gathers the jobs it cancels without `return_exceptions`, so a job cancelled
    inside a Redis call (one just started when Redis went away: its first pipeline was still
    asking the Sentinels for the master) re-raised its CancelledError out of close() and out of
    the supervisor, and the process ended: the HA drill's failures with the surviving worker
    gone and events unprocessed. Reaped here, close() finds nothing to gather."""
    jobs = [t for t in worker.tasks.values() if not t.done()]
    for task in jobs:
        task.cancel()
    if jobs:
        await asyncio.wait(jobs, timeout=seconds)
    unreturned = 0
    for job_id, task in list(worker.tasks.items()):
        if task.done():
            if not task.cancelled() and task.exception() is not None:
                unreturned += 1
            del worker.tasks[job_id]
    if unreturned:
        log.warning(
            "%d jobs in flight could not be handed back (Redis away); the outbox sweep and "
            "the slot leases run them again",
            unreturned,
        )


async def _close(worker: Worker) -> None:
    """arq's close() skips on_shutdown when Redis is unreachable; run it ourselves then."""
    try:
        await _reap_jobs(worker, 30)
        await asyncio.wait_for(worker.close(), 30)
        return
    except asyncio.CancelledError:
        if _cancelling():
            raise  # the supervisor itself is being cancelled
        log.warning("worker close incomplete (a job's cancellation); running shutdown directly")
    except Exception as exc:
        log.warning("worker close incomplete (%s); running shutdown directly", exc)
    if worker.on_shutdown is not None and "mediation" in worker.ctx:
        with contextlib.suppress(Exception):
            await worker.on_shutdown(worker.ctx)
    worker.ctx.pop("mediation", None)


def _cancelling() -> bool:
    """Whether this task itself is being cancelled, rather than re-raising a CancelledError a
    task it awaited (arq's main loop, a job) ended with."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def supervise(settings_cls: type, *, restart_delay: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    current: list[Worker] = []

    def on_signal(sig: signal.Signals) -> None:
        log.info("received %s: finishing jobs in flight, then stopping", sig.name)
        stopping.set()
        if current:
            current[0].handle_sig_wait_for_completion(sig)

    signals = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal, sig)
            signals.append(sig)
    try:
        await _run(settings_cls, stopping, current, restart_delay)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
    log.info("worker stopped")


async def _run(
    settings_cls: type, stopping: asyncio.Event, current: list[Worker], restart_delay: float
) -> None:
    while not stopping.is_set():
        worker = create_worker(settings_cls, handle_signals=False)  # type: ignore[arg-type]
        # Wrapped so on_shutdown runs once even if close() is retried below.
        shutdown = worker.on_shutdown
        done: list[bool] = []

        async def once(ctx: dict[str, Any], _s: Any = shutdown, _d: list[bool] = done) -> None:
            if not _d and _s is not None:
                _d.append(True)
                await _s(ctx)

        worker.on_shutdown = once
        current[:] = [worker]
        failed = False
        try:
            await worker.async_run()
        except asyncio.CancelledError:
            if _cancelling():
                raise
            if not stopping.is_set():  # arq's main loop was cancelled, not the supervisor
                failed = True
                log.warning("worker loop cancelled; restarting in %.0fs", restart_delay)
        except _REDIS_ERRORS as exc:
            failed = True
            log.warning("lost Redis (%s); restarting the worker in %.0fs", exc, restart_delay)
        except Exception:
            failed = True
            log.exception("worker stopped unexpectedly; restarting in %.0fs", restart_delay)
        finally:
            current.clear()
            await _close(worker)
        if failed and not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), restart_delay)
