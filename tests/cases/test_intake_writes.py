"""What one intake writes (issue 4, bench of issue 11): the case row once, one INSERT per
table, and its number from the district-year sequence without touching a counter row."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import asyncpg
import httpx
from sqlalchemy import event, text

from tests.cases.conftest import CASES, at, case_body
from tests.support import databases
from tests.support.world import World


@contextmanager
def statements(app: Any) -> Iterator[list[str]]:
    """The SQL the API sends while the block runs: through its engine, and straight to the
    driver on the session's connection (`mediation_api.readdb.driver_connection`)."""
    seen: list[str] = []
    engine = app.state.mediation.engine.sync_engine

    def record(*args: Any) -> None:
        seen.append(" ".join(str(args[2]).split()))

    original = asyncpg.connection.Connection._execute

    async def driver(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(" ".join(query.split()))
        return await original(self, query, *args, **kwargs)

    event.listen(engine, "before_cursor_execute", record)
    asyncpg.connection.Connection._execute = driver  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
        asyncpg.connection.Connection._execute = original  # type: ignore[method-assign]


async def test_intake_writes_the_case_row_once(
    client: httpx.AsyncClient, world: World, app: Any
) -> None:
    grid = await world.headers("grid_head")
    first = await client.post(CASES, headers=grid, json=case_body(world))
    assert first.status_code == 201, first.text
    with statements(app) as seen:
        r = await client.post(CASES, headers=grid, json=case_body(world))
    assert r.status_code == 201, r.text
    case = r.json()
    # A repeat (same phone, ID number and building) with its first deadline running ...
    assert case["is_repeat"] is True
    assert case["current_stage"] == "first_response" and case["due_at"]
    assert {c["id"] for c in case["related_cases"]} == {first.json()["id"]}
    # ... yet the row was inserted once and never updated: one statement writes the case and
    # everything hanging off it.
    writes = [s for s in seen if re.search(r"\b(INSERT INTO|UPDATE|DELETE FROM) ", s)]
    tables = [t for s in writes for t in re.findall(r"INSERT INTO (\w+)", s)]
    assert not [s for s in writes if "UPDATE cases" in s], writes
    for table in ("cases", "case_parties", "case_deadlines", "case_links", "case_events"):
        assert tables.count(table) == 1, writes
    assert tables.count("outbox_events") == 1, writes
    assert len([s for s in writes if "INSERT INTO cases" in s]) == 1, writes
    assert not [s for s in seen if "case_number_counters" in s], seen


async def test_numbers_continue_a_loaded_counter(
    client: httpx.AsyncClient, world: World, db: Any, sql: Any
) -> None:
    """A year's sequence starts after its counter row (data loads and imports set it) and
    after the highest number already used."""
    at(world, datetime(2027, 1, 4, 9, 0))
    async with db() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO case_number_counters (district_id, year, last_value) "
                "VALUES (:d, 2027, 41)"
            ),
            {"d": world.unit("220302").id},
        )
    grid = await world.headers("grid_head")
    numbers = []
    for _ in range(2):
        r = await client.post(CASES, headers=grid, json=case_body(world))
        assert r.status_code == 201, r.text
        numbers.append(r.json()["number_ascii"])
    assert numbers == ["220302-2027-0042", "220302-2027-0043"]
    # The counter row is the seed, not a lock every intake takes.
    assert await sql("SELECT last_value FROM case_number_counters WHERE year = 2027") == [(41,)]


async def test_the_first_numbers_of_a_year_wait_only_for_the_sequence_being_made(
    client: httpx.AsyncClient, world: World, database_url: str
) -> None:
    """The first number of a district's year makes its sequence; intakes arriving meanwhile
    wait for that transaction (an import can hold it for minutes), then each takes its number
    without waiting for the others to commit (they did, one after another: a convoy)."""
    district = world.unit("220302").id
    maker, first, second = [await asyncpg.connect(databases.plain(database_url)) for _ in "abc"]
    try:
        async with maker.transaction():
            assert await maker.fetchval("SELECT case_number_next($1, 2029)", district) == 1
            waiting = [
                asyncio.create_task(_number_in_open_transaction(conn, district))
                for conn in (first, second)
            ]
            # Both wait for the maker's transaction (the sequence is not visible yet).
            pids = [conn.get_server_pid() for conn in (first, second)]
            for _ in range(100):
                await maker.execute("SELECT pg_stat_clear_snapshot()")  # fresh in a transaction
                blocked = await maker.fetchval(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE pid = ANY($1::int[]) AND wait_event_type = 'Lock'",
                    pids,
                )
                if blocked == 2:
                    break
                await asyncio.sleep(0.05)
            assert blocked == 2 and not any(t.done() for t in waiting)
        # Both return while both their transactions are still open.
        done, _ = await asyncio.wait(waiting, timeout=5)
        assert len(done) == 2
        assert sorted(t.result()[0] for t in waiting) == [2, 3]
        for t in waiting:
            await t.result()[1].commit()
    finally:
        for conn in (maker, first, second):
            await conn.close()
    at(world, datetime(2029, 3, 1, 9, 0))
    r = await client.post(CASES, headers=await world.headers("grid_head"), json=case_body(world))
    assert r.status_code == 201, r.text
    assert r.json()["number_ascii"] == "220302-2029-0004"


async def _number_in_open_transaction(conn: asyncpg.Connection, district: Any) -> tuple[int, Any]:
    """A number taken in a transaction left open (returned, for the caller to end)."""
    tx = conn.transaction()
    await tx.start()
    return await conn.fetchval("SELECT case_number_next($1, 2029)", district), tx
