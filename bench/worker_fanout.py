"""The worker's CPU per event it fans out (issue 22 item 4: in the mixed run the worker spent
as much CPU as the API, on two cores the three share).

    .venv/bin/python -m bench.worker_fanout [--database mediation_bench_full] [--events 300]
        [--rounds 3] [--profile]

Copies events the load runs wrote (`case.created`: the district's dispatchers told in their
inbox, about eleven each; `session.scheduled`: the participants, and the parties' text
messages) as new, relayed, unprocessed events and runs the worker's own job,
`process_event`, on each, one after another, in this process (the worker's settings and
startup, background loops off, the bench's Redis). Prints the process's CPU time per event
(`time.process_time()`: the machine's load does not add to it, though contention inflates it
a little), per type and round; `--profile` runs one round under cProfile and prints the Python
function calls per event (a count the load does not move) and the top frames.

Needs a bench database the load runs have written to (`make bench`); each run adds its copies'
notifications and deliveries, which bench.runner's reset deletes with the rest of what runs
wrote."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import statistics
import time
import uuid
from typing import Any

import asyncpg

from bench.config import PG_SERVER, REDIS_URL, async_url, database_url
from mediation.ids import uuid7
from mediation.settings import Settings

TYPES = ("case.created", "session.scheduled")


async def _copies(url: str, kind: str, n: int) -> list[str]:
    """`n` new unprocessed copies of the newest events of `kind`; their ids."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT type, aggregate_type, aggregate_id, unit_path, payload, actor_id, occurred_at"
            " FROM outbox_events WHERE type = $1 ORDER BY id DESC LIMIT $2",
            kind,
            n,
        )
        if not rows:
            raise SystemExit(f"no {kind} events in the database: run `make bench` first")
        ids = [uuid7() for _ in range(n)]
        await conn.executemany(
            "INSERT INTO outbox_events (id, type, aggregate_type, aggregate_id, unit_path,"
            " payload, actor_id, occurred_at, relayed_at, relay_attempts)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), 1)",
            [(ids[i], *rows[i % len(rows)]) for i in range(n)],
        )
        return [str(i) for i in ids]
    finally:
        await conn.close()


async def main(args: argparse.Namespace) -> None:
    from arq import create_pool

    from mediation_worker.main import build_settings
    from mediation_worker.outbox.dispatch import process_event

    url = database_url(args.database, args.server)
    settings = Settings(
        DATABASE_URL=async_url(url),
        REDIS_URL=REDIS_URL,
        MEDIATION_ARQ_QUEUE=f"bench-fanout:{uuid.uuid4().hex[:8]}",
        _env_file=None,
    )
    ws = build_settings(settings, background=False)
    ctx: dict[str, Any] = {"redis": await create_pool(ws.redis_settings)}
    await ws.on_startup(ctx)
    try:
        for kind in TYPES:  # warm-up: caches, prepared statements
            for ident in await _copies(url, kind, 20):
                await process_event(ctx, ident)
        figures: dict[str, list[float]] = {kind: [] for kind in TYPES}
        for _ in range(args.rounds):
            for kind in TYPES:
                ids = await _copies(url, kind, args.events)
                start = time.process_time()
                for ident in ids:
                    assert await process_event(ctx, ident) == "processed"
                figures[kind].append((time.process_time() - start) / len(ids) * 1000)
        for kind, ms in figures.items():
            rounds = " / ".join(f"{m:.2f}" for m in ms)
            print(f"{kind}: {statistics.median(ms):.2f} ms CPU per event ({rounds})")
        if args.profile:
            for kind in TYPES:
                ids = await _copies(url, kind, args.events)
                prof = cProfile.Profile(time.process_time)
                prof.enable()
                for ident in ids:
                    await process_event(ctx, ident)
                prof.disable()
                out = io.StringIO()
                stats = pstats.Stats(prof, stream=out)
                calls = stats.total_calls  # type: ignore[attr-defined]
                print(f"{kind}: {calls / len(ids):.0f} Python calls per event (cProfile)")
                stats.sort_stats(args.sort).print_stats(args.top)
                print(out.getvalue())
    finally:
        await ws.on_shutdown(ctx)
        await ctx["redis"].aclose()


def cli() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database", default="mediation_bench_full")
    p.add_argument("--server", default=PG_SERVER)
    p.add_argument("--events", type=int, default=300)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--top", type=int, default=40)
    p.add_argument("--sort", default="cumulative", help="pstats order: cumulative, tottime, ...")
    asyncio.run(main(p.parse_args()))


if __name__ == "__main__":
    cli()
