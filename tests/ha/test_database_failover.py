"""DATABASE_URL with several hosts (issue 21, item 1), against real PostgreSQL servers: the
session's server plus a second, throwaway one that plays a standby (read-only) or a primary
that goes down and comes back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from mediation.settings import Settings
from tests.cases.conftest import CASES, case_body
from tests.ha.pgservers import DevServices, free_port, temporary_services
from tests.ha.pgservers import admin as _admin
from tests.ha.pgservers import api_client as _client
from tests.ha.pgservers import copy_database as _copy
from tests.ha.pgservers import port_of as _port
from tests.ha.pgservers import session_db as _session_db
from tests.ha.pgservers import url_of as _url
from tests.support.world import World


@pytest.fixture
def second() -> Iterator[DevServices]:
    with temporary_services(postgres=True, redis=False) as services:
        yield services


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


async def test_a_key_held_when_the_primary_went_away_is_free_once_it_is_back(
    settings: Settings, clock: Any, world: World, second: DevServices
) -> None:
    """A request that claimed an Idempotency-Key and then lost the database cannot release
    the key at once; it does so as soon as the database answers again, so the client's retry
    with the same key goes through instead of a 409 until the claim is stale (2 minutes)."""
    from starlette.requests import Request

    from mediation_api.idempotency import IdempotencyGuard
    from mediation_api.main import create_app

    _, database = _session_db(settings)
    grid = await world.headers("grid_head")
    await _admin(second, f'CREATE DATABASE "{database}"')
    _copy(settings, second, database)
    assert second.postgres is not None
    url = _url([f"127.0.0.1:{_port(second)}"], database)
    app = create_app(settings.model_copy(update={"database_url": url}), clock)
    body = case_body(world)
    raw = json.dumps(body).encode()
    async with app.router.lifespan_context(app):
        state = app.state.mediation
        principal = state.tokens.verify(grid["Authorization"].removeprefix("Bearer "), clock.now())

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": raw, "more_body": False}

        scope = {
            "type": "http",
            "method": "POST",
            "path": CASES,
            "headers": [],
            "query_string": b"",
        }
        guard = IdempotencyGuard(Request(scope, receive), state, principal, "retry-me")
        assert await guard.replay() is None  # claimed, as the request's first step
        second.postgres.stop()  # ...then the primary goes away and the request fails
        await guard.release()
        second.postgres.start()

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = {**grid, "Idempotency-Key": "retry-me"}
            statuses = []
            for _ in range(40):
                r = await client.post(CASES, headers=headers, json=body)
                statuses.append(r.status_code)
                if r.status_code != 409:
                    break
                await asyncio.sleep(0.25)
    assert statuses[-1] == 201, statuses
    assert len(statuses) < 40  # seconds, not the two minutes of a stale claim
