"""The ORM session's own CPU per write transaction (issue 22, item 1): what a write pays for
running its statements inside SQLAlchemy's AsyncSession rather than on a pooled asyncpg
connection of its own.

    .venv/bin/python -m bench.session_cost [--transactions 3000] [--rounds 5]

Both sides open a transaction, send one statement on the asyncpg connection and commit, one
transaction after another, on the machine's PostgreSQL (BENCH_PG_SERVER, database
`postgres`): (a) as a write request holds it (`mediation.db.create_engine` and
`session_factory`, `session.begin()`, `driver_connection`, the statement, commit: the audit
hooks registered as in the services, with no entries to stage); (b) `asyncpg.create_pool`,
`acquire`, `transaction()`, the same statement. CPU time of the process
(`time.process_time()`) per transaction, rounds alternated, median; the difference is the
session's part (its begin and commit, the pool's checkout and return, the greenlet)."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import asyncpg

import mediation.audit.chain  # noqa: F401  (registers the session hooks, as the services do)
from bench.config import PG_SERVER, async_url, database_url
from mediation.db import create_engine, driver_connection, session_factory
from mediation.settings import Settings

STATEMENT = "SELECT $1::int"


async def _orm(n: int, settings: Settings) -> float:
    engine = create_engine(settings)
    sessions = session_factory(engine)
    try:
        for i in range(50):  # warm: connections, prepared statements
            async with sessions() as session, session.begin():
                await (await driver_connection(session)).fetchval(STATEMENT, i)
        t0 = time.process_time()
        for i in range(n):
            async with sessions() as session, session.begin():
                await (await driver_connection(session)).fetchval(STATEMENT, i)
        return (time.process_time() - t0) / n * 1e6
    finally:
        await engine.dispose()


async def _driver(n: int, url: str) -> float:
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        for i in range(50):
            async with pool.acquire() as conn, conn.transaction():
                await conn.fetchval(STATEMENT, i)
        t0 = time.process_time()
        for i in range(n):
            async with pool.acquire() as conn, conn.transaction():
                await conn.fetchval(STATEMENT, i)
        return (time.process_time() - t0) / n * 1e6
    finally:
        await pool.close()


async def main(n: int, rounds: int) -> None:
    url = database_url("postgres", PG_SERVER)
    settings = Settings(DATABASE_URL=async_url(url))
    orm, driver = [], []
    for _ in range(rounds):
        orm.append(await _orm(n, settings))
        driver.append(await _driver(n, url))
    print(f"CPU µs per transaction, {n} a round, {rounds} rounds alternated (median; all)")
    for name, values in (("ORM session", orm), ("asyncpg", driver)):
        rounds_ = " / ".join(f"{v:.0f}" for v in values)
        print(f"{name + ':':13}{statistics.median(values):.0f} ({rounds_})")
    print(f"difference:  {statistics.median(orm) - statistics.median(driver):.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.transactions, args.rounds))
