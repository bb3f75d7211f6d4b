"""Read replicas (issue 21, item 2) with a real streaming replica: a throwaway primary holding
a copy of the session's database and a hot standby made from it with pg_basebackup.

Pausing the standby's replay (pg_wal_replay_pause) makes it visibly stale, which shows where
each read went: a list that misses a case the primary has was read on the replica."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from mediation.settings import Settings
from mediation_api.replicas import parse_lsn, replica_urls
from tests.cases.conftest import CASES, case_body
from tests.ha.pgservers import (
    DevServices,
    admin,
    api_client,
    copy_database,
    free_port,
    port_of,
    session_db,
    streaming_replica,
    temporary_services,
    url_of,
)
from tests.support.world import World

WRITER, READER = "grid_head", "dispatcher"  # the reader's jurisdiction holds the writer's


def test_replica_urls_are_split_where_a_url_starts() -> None:
    raw = "postgresql://r@a:5432/m, postgresql://r@b:5432,c:5432/m?sslmode=disable"
    assert replica_urls(raw) == [
        "postgresql://r@a:5432/m",
        "postgresql://r@b:5432,c:5432/m?sslmode=disable&target_session_attrs=prefer-standby",
    ]
    assert replica_urls("  ") == []
    assert parse_lsn("16/B374D848") == (0x16 << 32) + 0xB374D848


@pytest.fixture
def primary() -> Iterator[DevServices]:
    with temporary_services(postgres=True, redis=False) as services:
        yield services


@pytest.fixture
async def cluster(
    settings: Settings, world: World, primary: DevServices
) -> AsyncIterator[dict[str, str]]:
    """The session's database (demo accounts included) on a throwaway primary, and its
    streaming replica."""
    _, database = session_db(settings)
    await admin(primary, f'CREATE DATABASE "{database}"')
    copy_database(settings, primary, database)
    assert primary.postgres is not None
    with streaming_replica(primary.postgres) as replica_port:
        yield {
            "primary": url_of([f"127.0.0.1:{port_of(primary)}"], database),
            "replica": url_of([f"127.0.0.1:{replica_port}"], database),
        }


async def _replay(url: str, run: bool) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"SELECT pg_wal_replay_{'resume' if run else 'pause'}()")
    finally:
        await conn.close()


def _gauge(text: str, name: str) -> float | None:
    found = re.search(rf"^{name}\{{replica=\"[^\"]+\"\}} (\S+)$", text, re.M)
    return float(found.group(1)) if found else None


async def _until(check: Any, seconds: float = 15) -> Any:
    for _ in range(int(seconds / 0.1)):
        if result := await check():
            return result
        await asyncio.sleep(0.1)
    raise AssertionError("never happened")


async def _listed(client: httpx.AsyncClient, headers: dict[str, str]) -> set[str]:
    r = await client.get(CASES, headers=headers, params={"limit": 100})
    assert r.status_code == 200, r.text
    return {c["id"] for c in r.json()["items"]}


async def _in_use(client: httpx.AsyncClient, value: float) -> bool:
    text = (await client.get("/metrics")).text
    return _gauge(text, "mediation_db_read_replica_in_use") == value


async def test_lists_read_the_replica_and_a_writer_reads_its_own_write(
    settings: Settings, clock: Any, world: World, cluster: dict[str, str]
) -> None:
    writer, reader = await world.headers(WRITER), await world.headers(READER)
    async with api_client(
        settings,
        clock,
        cluster["primary"],
        database_replica_urls=cluster["replica"],
        replica_max_lag_seconds=60,  # a paused replica stays in use: its staleness shows
        replica_check_seconds=0.1,
        replica_wait_ms=300,
    ) as client:
        await _until(lambda: _in_use(client, 1.0))
        await _replay(cluster["replica"], run=False)
        r = await client.post(CASES, headers=writer, json=case_body(world))
        assert r.status_code == 201, r.text
        case_id = r.json()["id"]
        assert parse_lsn(r.headers["x-commit-lsn"]) > 0

        # The writer's list waited for the replica, which is paused: it read the primary.
        assert case_id in await _listed(client, writer)
        # Another caller reads the replica, which has not replayed the write yet...
        assert case_id not in await _listed(client, reader)
        # ...but a read by id is on the primary.
        assert (await client.get(f"{CASES}/{case_id}", headers=reader)).status_code == 200
        live = await client.get("/api/v1/stats/live", headers=reader)
        assert live.status_code == 200, live.text  # statistics read on the (paused) replica

        await _replay(cluster["replica"], run=True)

        async def reader_sees_it() -> bool:
            return case_id in await _listed(client, reader)

        await _until(reader_sees_it)
        # Once the replica has replayed past the writer's position, the writer reads it too.
        assert case_id in await _listed(client, writer)


async def test_a_replica_lagging_past_the_setting_is_skipped(
    settings: Settings, clock: Any, world: World, cluster: dict[str, str]
) -> None:
    writer, reader = await world.headers(WRITER), await world.headers(READER)
    async with api_client(
        settings,
        clock,
        cluster["primary"],
        database_replica_urls=cluster["replica"],
        replica_max_lag_seconds=0.5,
        replica_check_seconds=0.1,
        replica_wait_ms=0,
    ) as client:
        await _until(lambda: _in_use(client, 1.0))
        await _replay(cluster["replica"], run=False)
        r = await client.post(CASES, headers=writer, json=case_body(world))
        assert r.status_code == 201, r.text

        await _until(lambda: _in_use(client, 0.0))  # lagging: skipped
        lag = _gauge((await client.get("/metrics")).text, "mediation_db_read_replica_lag_seconds")
        assert lag is not None and lag > 0.5
        assert r.json()["id"] in await _listed(client, reader)  # read on the primary

        await _replay(cluster["replica"], run=True)
        await _until(lambda: _in_use(client, 1.0))  # caught up: in use again
        lag = _gauge((await client.get("/metrics")).text, "mediation_db_read_replica_lag_seconds")
        assert lag is not None and lag <= 0.5  # within the setting (the primary keeps writing)


async def test_an_unreachable_replica_is_skipped(
    settings: Settings, clock: Any, world: World
) -> None:
    """A replica that cannot be reached: lists read the primary, /metrics says it is out."""
    _, database = session_db(settings)
    reader = await world.headers(READER)
    async with api_client(
        settings,
        clock,
        settings.database_url,
        database_replica_urls=url_of([f"127.0.0.1:{free_port()}"], database),
        replica_check_seconds=0.1,
    ) as client:
        await asyncio.sleep(0.5)
        assert await _in_use(client, 0.0)
        r = await client.post(CASES, headers=await world.headers(WRITER), json=case_body(world))
        assert r.status_code == 201, r.text
        assert r.json()["id"] in await _listed(client, reader)
