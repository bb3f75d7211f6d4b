"""Several workers on the same databases (issue 21, item 5): a cron slot runs once, however
many workers' schedulers queue it. (Deliveries and relays: tests/notifications/
test_exactly_once.py.) Real arq workers, run at the same time."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from arq import ArqRedis, create_pool

from mediation.settings import Settings
from mediation_dev.clock import MovableClock
from mediation_worker.main import build_settings
from tests.ha.workers import run_workers
from tests.support.world import World

SLOT = datetime(2026, 11, 26, 2, 15, 15, tzinfo=UTC)


async def _queue(settings: Settings, clock: MovableClock) -> ArqRedis:
    """The service's queue, as a scheduler sees it."""
    return await create_pool(
        build_settings(settings, clock, background=False).redis_settings,
        default_queue_name=settings.arq_queue,
    )


async def _workers(settings: Settings, clock: MovableClock, count: int = 2) -> None:
    await run_workers(settings, clock, count)


async def test_a_cron_slot_queued_by_two_schedulers_runs_once(
    settings: Settings, clock: MovableClock, world: World, sql: Any, caplog: Any
) -> None:
    # What two workers' schedulers do for a cron without a Redis-unique id: each queues the
    # run for the same scheduled time under an id of its own.
    caplog.set_level(logging.INFO, logger="mediation.worker.cron")
    pool = await _queue(settings, clock)
    try:
        for scheduler in ("a", "b"):
            await pool.enqueue_job(
                "cron:refresh_live_stats",
                _job_id=f"live-{scheduler}",
                _defer_until=SLOT,
                _expires=timedelta(hours=1),
            )
        await _workers(settings, clock)
    finally:
        await pool.aclose()
    assert len(_skips(caplog, "refresh_live_stats")) == 1
    assert [
        r.n for r in await sql("select count(*) as n from stats_reports where kind = 'live'")
    ] == [1]
    rows = await sql("select job, slot from cron_runs")
    assert [(r.job, r.slot) for r in rows] == [("refresh_live_stats", SLOT.replace(second=0))]


def _skips(caplog: Any, job: str) -> list[str]:
    return [m for m in caplog.messages if m.startswith(f"cron {job} ") and "another worker" in m]


async def test_a_nightly_slot_runs_once_even_when_redis_forgot_it(
    settings: Settings, clock: MovableClock, world: World, sql: Any, caplog: Any
) -> None:
    # A unique cron id queued again after its first run is gone from Redis (a Redis failover
    # loses the last writes; the clocks of two machines a little apart).
    caplog.set_level(logging.INFO, logger="mediation.worker.cron")
    job_id = f"cron:hotline_retention:{int(SLOT.timestamp() * 1000)}"
    pool = await _queue(settings, clock)
    try:
        for _ in range(2):
            assert await pool.enqueue_job("cron:hotline_retention", _job_id=job_id) is not None
            await _workers(settings, clock, 1)  # another worker each time
            await pool.delete(f"arq:result:{job_id}")  # Redis forgets the run
    finally:
        await pool.aclose()
    assert len(_skips(caplog, "hotline_retention")) == 1
    rows = await sql("select job, slot from cron_runs")
    assert [(r.job, r.slot) for r in rows] == [("hotline_retention", SLOT)]


async def test_a_slot_that_found_the_database_away_is_tried_again_and_runs_once(
    settings: Settings,
    clock: MovableClock,
    world: World,
    sql: Any,
    caplog: Any,
    monkeypatch: Any,
) -> None:
    # arq runs a failed cron job never again, and a nightly slot comes once a day: a run that
    # found no connection (a failover, the pool exhausted: the HA drill's statistics slot)
    # gives its lease back and is tried again.
    import functools

    from sqlalchemy import exc as sa_exc

    from mediation_worker import cronlease
    from mediation_worker import main as worker_main

    real = worker_main.hotline_retention
    runs: list[str] = []

    @functools.wraps(real)
    async def flaky(ctx: dict[str, Any]) -> Any:
        runs.append(ctx["job_id"])
        if len(runs) == 1:
            raise sa_exc.TimeoutError("QueuePool limit of size 10 overflow 10 reached")
        return await real(ctx)

    monkeypatch.setattr(worker_main, "hotline_retention", flaky)
    monkeypatch.setattr(cronlease, "RETRY_SECONDS", 0.2)
    caplog.set_level(logging.INFO, logger="mediation.worker.cron")
    job_id = f"cron:hotline_retention:{int(SLOT.timestamp() * 1000)}"
    pool = await _queue(settings, clock)
    try:
        assert await pool.enqueue_job("cron:hotline_retention", _job_id=job_id) is not None
        await _workers(settings, clock)
    finally:
        await pool.aclose()
    assert runs == [job_id, job_id]  # the same slot, tried twice
    assert any("database is unavailable" in m for m in caplog.messages)
    rows = await sql("select job, slot from cron_runs")
    assert [(r.job, r.slot) for r in rows] == [("hotline_retention", SLOT)]
