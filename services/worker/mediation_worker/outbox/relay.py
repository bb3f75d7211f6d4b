"""The outbox relay: claims unrelayed rows with FOR UPDATE SKIP LOCKED (several workers never
take the same row) and enqueues one arq job per event with a job id derived from the row.
If Redis is down the batch rolls back and the rows wait; nothing is lost."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg

from mediation.jobs import PROCESS_EVENT, event_job_id
from mediation.outbox.events import NOTIFY_CHANNEL
from mediation_worker.context import WorkerContext, wctx
from mediation_worker.instrument import instrumented

log = logging.getLogger("mediation.worker.relay")

BATCH = 500

CLAIM = """
SELECT id, request_id FROM outbox_events
WHERE relayed_at IS NULL
ORDER BY id
LIMIT $1
FOR UPDATE SKIP LOCKED
"""


async def relay_once(c: WorkerContext) -> int:
    """Relays everything pending; returns how many events were enqueued."""
    total = 0
    while True:
        async with c.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            pg: asyncpg.Connection = raw.driver_connection  # type: ignore[assignment]
            async with pg.transaction():
                rows = await pg.fetch(CLAIM, BATCH)
                if not rows:
                    return total
                for row in rows:
                    await c.redis.enqueue_job(
                        PROCESS_EVENT, str(row["id"]), request_id=row["request_id"],
                        _job_id=event_job_id(row["id"]),
                    )
                await pg.execute(
                    "UPDATE outbox_events SET relayed_at = now(), "
                    "relay_attempts = relay_attempts + 1 WHERE id = ANY($1::uuid[])",
                    [r["id"] for r in rows],
                )
            total += len(rows)
            if len(rows) < BATCH:
                return total


@instrumented
async def sweep_outbox(ctx: dict[str, Any]) -> int:
    """Cron safety net: relays whatever the listener missed."""
    return await relay_once(wctx(ctx))


async def listen_and_relay(c: WorkerContext, stop: asyncio.Event) -> None:
    """Background loop: wake on NOTIFY (or every poll interval), relay, repeat. Survives
    PostgreSQL and Redis outages by retrying with a capped backoff."""
    wake = asyncio.Event()
    backoff = 0.5
    while not stop.is_set():
        conn: asyncpg.Connection | None = None
        try:
            conn = await asyncpg.connect(c.settings.sync_database_url)
            await conn.add_listener(NOTIFY_CHANNEL, lambda *_: wake.set())
            backoff = 0.5
            while not stop.is_set():
                await relay_once(c)
                wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), c.settings.outbox_poll_seconds)
                if conn.is_closed():
                    raise ConnectionError("listener connection closed")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("relay loop error, retrying in %.1fs: %s", backoff, exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10)
        finally:
            if conn is not None and not conn.is_closed():
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)
