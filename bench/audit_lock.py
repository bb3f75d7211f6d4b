"""The audit chain's global lock under concurrent writers (issue 22): transactions per second,
how long each holds the lock, and the statements it sends while holding it.

    .venv/bin/python -m bench.audit_lock [--writers 16] [--transactions 100] [--cpu-ms 1.0]

Makes `mediation_bench_audit_lock` afresh on the machine's server (migrations only), then
`--writers` tasks in this process, each on its own connection of one engine, commit
`--transactions` transactions each through the real code (`mediation.audit.chain`'s commit
listener): one outbox event (`emit`, audited at flush) and one more entry (`record`), like a
write of the service that shows the record it changed. Before committing, each spends
`--cpu-ms` of Python on the event loop, as a request's handling does: while one writer holds
the lock and waits on a round trip, the others' Python runs, and that is what a round trip
inside the lock costs in a service on one event loop.

The lock is held from the end of the lock's statement (`pg_advisory_xact_lock`, or
`audit_chain_head` since migration 0028) to the end of COMMIT, as seen by the client; the
statements counted are those sent in that window, COMMIT included. Since migration 0033 the
lock is taken inside COMMIT (the chain's trigger): the window is then COMMIT's own round trip,
from sending it to its answer (an upper bound). CPU is this process's.
Prints one JSON line; run it on the code before and after a change to compare."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from bench.config import PG_SERVER, database_url
from mediation.audit.chain import record, verify_database
from mediation.auth.events import SignInLocked
from mediation.db import create_engine, session_factory
from mediation.migrate import upgrade
from mediation.outbox.events import emit
from mediation.settings import Settings, to_async_url

DATABASE = "mediation_bench_audit_lock"
_LOCKING = ("pg_advisory_xact_lock", "audit_chain_head")


async def _fresh_database() -> str:
    conn = await asyncpg.connect(PG_SERVER)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await conn.close()
    url = database_url(DATABASE)
    await asyncio.to_thread(upgrade, to_async_url(url))
    return url


def _spin(ms: float) -> None:
    end = time.perf_counter() + ms / 1000
    while time.perf_counter() < end:
        pass


async def run(writers: int, transactions: int, cpu_ms: float) -> dict[str, Any]:
    url = await _fresh_database()
    settings = Settings(
        DATABASE_URL=url, MEDIATION_DB_POOL_SIZE=writers, MEDIATION_ENV="test", _env_file=None
    )
    engine = create_engine(settings)
    sessions = session_factory(engine)
    held: list[float] = []
    inside: list[int] = []
    # Per connection: when its transaction took the lock, and statements sent since.
    taken: dict[int, list[float]] = {}

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _after(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        key = id(conn.connection.dbapi_connection)
        if key in taken:
            taken[key][1] += 1
        elif any(word in statement for word in _LOCKING):
            taken[key] = [time.perf_counter(), 0]

    @event.listens_for(engine.sync_engine, "commit")
    def _commit_sent(conn: Any) -> None:
        # The lock's statement was not seen: the chain's trigger takes it inside COMMIT.
        taken.setdefault(id(conn.connection.dbapi_connection), [time.perf_counter(), 0])

    def _committed(session: Session) -> None:
        # Runs as COMMIT's answer is read, before the task's next statement.
        start = taken.pop(session.info.pop("bench_conn", 0), None)
        if start is not None:
            held.append(time.perf_counter() - start[0])
            inside.append(start[1] + 1)  # + COMMIT

    async def write(writer: int) -> None:
        async with sessions() as session:
            event.listen(session.sync_session, "after_commit", _committed)
            for n in range(transactions):
                async with session.begin():
                    await emit(
                        session,
                        SignInLocked(
                            username=f"w{writer}-{n}",
                            source_ip="192.0.2.1",
                            failures=5,
                            locked_until=datetime.now(UTC),
                            recipient_person_ids=[],
                        ),
                        aggregate_id=None,
                        occurred_at=datetime.now(UTC),
                    )
                    record(session, action="read.bench", writer=writer, n=n)
                    await session.flush()
                    _spin(cpu_ms)
                    raw = await (await session.connection()).get_raw_connection()
                    session.info["bench_conn"] = id(raw.dbapi_connection)

    async with engine.connect() as conn:  # warm the pool's connections and caches
        await conn.execute(text("SELECT 1"))
    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(write(i) for i in range(writers)))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    async with sessions() as session:
        verdict = await verify_database(session)
    await engine.dispose()
    total = writers * transactions
    held_ms = sorted(h * 1000 for h in held)
    return {
        "writers": writers,
        "transactions": total,
        "cpu_ms_per_transaction_outside_lock": cpu_ms,
        "chain_ok": verdict.ok and verdict.checked == 2 * total,
        "tx_per_s": round(total / wall, 1),
        "cpu_ms_per_tx": round(cpu * 1000 / total, 2),
        "lock_held_ms_mean": round(statistics.fmean(held_ms), 2),
        "lock_held_ms_p50": round(held_ms[len(held_ms) // 2], 2),
        "lock_held_ms_p95": round(held_ms[int(len(held_ms) * 0.95)], 2),
        "lock_held_share_of_wall": round(sum(held_ms) / 1000 / wall, 3),
        "statements_in_lock": statistics.mode(inside),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--transactions", type=int, default=100, help="per writer")
    parser.add_argument("--cpu-ms", type=float, default=1.0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.writers, args.transactions, args.cpu_ms))))


if __name__ == "__main__":
    main()
