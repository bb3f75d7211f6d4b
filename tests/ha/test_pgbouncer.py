"""PgBouncer in transaction mode in front of PostgreSQL (issue 21, item 3), for real: the API
and a worker run through a PgBouncer with two server connections, so concurrent requests'
transactions take turns on connections other clients prepared statements on."""

from __future__ import annotations

import asyncio
import subprocess
from typing import Any

from arq import create_pool

from mediation.redisconn import arq_settings
from mediation.settings import Settings
from mediation_dev.clock import MovableClock
from mediation_dev.pgbouncer import pgbouncer
from mediation_worker.main import build_settings
from tests.cases.conftest import CASES, case_body
from tests.ha.pgservers import BIN, api_client, session_db
from tests.ha.workers import run_workers
from tests.support.world import World


def test_pgbouncer_is_named_or_found_by_its_port() -> None:
    def behind(**env: str) -> bool:
        return Settings(**env).behind_pgbouncer  # type: ignore[arg-type]

    assert behind(DATABASE_URL="postgresql://app@db:6432/mediation")
    assert behind(DATABASE_URL="postgresql://app@db1:5432,pool:6432/mediation")
    assert not behind(DATABASE_URL="postgresql://app@db:6432/m", DATABASE_POOLER="none")
    assert behind(DATABASE_URL="postgresql://app@pool:5000/m", DATABASE_POOLER="pgbouncer")
    assert not behind(DATABASE_URL="postgresql://app@db:5432/mediation")
    direct = Settings(  # type: ignore[call-arg]
        DATABASE_URL="postgresql+asyncpg://app@pool:6432/m",
        DATABASE_DIRECT_URL="postgresql://app@db:5432/m",
    )
    assert direct.direct_database_url == "postgresql://app@db:5432/m"
    assert Settings(DATABASE_URL="postgresql+asyncpg://app@db:5432/m").direct_database_url == (  # type: ignore[call-arg]
        "postgresql://app@db:5432/m"
    )


def _transactions(port: int, database: str) -> int:
    """Transactions PgBouncer has passed to `database` (its admin console, SHOW STATS)."""
    out = subprocess.run(
        [
            str(BIN / "psql"),
            "-At",
            "-F",
            "|",
            "-c",
            "SHOW STATS",
            f"postgresql://postgres@127.0.0.1:{port}/pgbouncer",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    header_free = [line.split("|") for line in out.splitlines()]
    return sum(int(row[1]) for row in header_free if row[0] == database)


async def _queued(settings: Settings) -> int:
    pool = await create_pool(arq_settings(settings.redis_url))
    try:
        return int(await pool.zcard(settings.arq_queue))
    finally:
        await pool.aclose()


async def _worker(settings: Settings, clock: MovableClock) -> int:
    """A real arq worker (burst) on `settings`: the outbox sweep, what it queues, and a cron
    job that takes a lease and computes statistics (SET LOCAL, advisory transaction lock)."""
    ws = build_settings(settings, clock, background=False)
    pool = await create_pool(ws.redis_settings, default_queue_name=settings.arq_queue)
    try:
        await pool.enqueue_job("sweep_outbox")
        await pool.enqueue_job("cron:refresh_live_stats")
    finally:
        await pool.aclose()
    done = 0
    for _ in range(5):  # jobs queued by jobs (the relay's) wait for another round
        (worker,) = await run_workers(settings, clock, 1)
        done += worker.jobs_complete
        assert worker.jobs_failed == 0
        if not await _queued(settings):
            break
    return done


async def test_the_api_and_a_worker_through_pgbouncer(
    settings: Settings, clock: MovableClock, world: World, sql: Any
) -> None:
    main, database = session_db(settings)
    host, _, port = main.rpartition(":")
    grid, reader = await world.headers("grid_head"), await world.headers("dispatcher")
    with pgbouncer(int(port), upstream_host=host, pool_size=2) as bouncer:
        pooled = {
            "database_pooler": "pgbouncer",
            "database_direct_url": settings.database_url,  # LISTEN and migrations
        }
        before = _transactions(bouncer.port, database)
        async with api_client(settings, clock, bouncer.url(database), **pooled) as client:
            created = await asyncio.gather(
                *(
                    client.post(CASES, headers=grid, json=case_body(world, title=f"漏水纠纷{i}"))
                    for i in range(12)
                )
            )
            assert [r.status_code for r in created] == [201] * 12, [r.text for r in created]
            ids = {r.json()["id"] for r in created}
            reads = await asyncio.gather(
                *(client.get(f"{CASES}/{i}", headers=reader) for i in ids),
                *(client.get(CASES, headers=reader, params={"limit": 50}) for _ in range(6)),
            )
            assert [r.status_code for r in reads] == [200] * 18
            assert ids <= {c["id"] for c in reads[-1].json()["items"]}
            first = created[0]
            changed = await client.patch(
                f"{CASES}/{first.json()['id']}",
                headers={**reader, "If-Match": first.headers["etag"]},
                json={"title": "楼上漏水纠纷（已核实）"},
            )
            assert changed.status_code == 200, changed.text

        jobs = await _worker(
            settings.model_copy(update={**pooled, "database_url": bouncer.url(database)}), clock
        )
        assert jobs >= 2
        assert _transactions(bouncer.port, database) > before + 30  # it all went through
    unprocessed = await sql("select count(*) as n from outbox_events where processed_at is null")
    assert [r.n for r in unprocessed] == [0]
    live = await sql("select count(*) as n from stats_reports where kind = 'live'")
    assert [r.n for r in live] == [1]
    titles = await sql("select title from cases where id = :id", id=created[0].json()["id"])
    assert [r.title for r in titles] == ["楼上漏水纠纷（已核实）"]
