"""The outbox relay: claims unrelayed rows with FOR UPDATE SKIP LOCKED (several workers never
take the same row) and enqueues one arq job per event with a job id derived from the row.
If Redis is down the batch rolls back and the rows wait; nothing is lost.

An event relayed long ago and still unprocessed lost its job (a worker killed mid-job keeps
it "in progress" in arq until the longest job timeout passes; Redis may have lost it): the
sweeper relays it again under a new job id, unless that job merely waits in a backlog. Running
it twice is safe: process_event claims the row and finds it processed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import asyncpg
from arq.constants import expires_extra_ms
from arq.jobs import serialize_job
from opentelemetry import propagate
from opentelemetry.trace import Span, SpanKind, set_span_in_context

from mediation.jobs import PROCESS_EVENT, event_job_id
from mediation.outbox.events import NOTIFY_CHANNEL
from mediation.tracing import extract
from mediation_worker.backoff import Backoff
from mediation_worker.context import WorkerContext, wctx
from mediation_worker.instrument import instrumented

log = logging.getLogger("mediation.worker.relay")

BATCH = 500
# Woken by the API when a delivery should go now (a redelivery by hand).
DELIVERIES_CHANNEL = "deliveries"

CLAIM = """
SELECT id, request_id, relay_attempts, trace_context FROM outbox_events
WHERE relayed_at IS NULL
ORDER BY id
LIMIT $1
FOR UPDATE SKIP LOCKED
"""

CLAIM_STALE = """
SELECT id, request_id, relay_attempts, trace_context FROM outbox_events
WHERE processed_at IS NULL AND relayed_at < now() - make_interval(secs => $2)
ORDER BY relayed_at
LIMIT $1
FOR UPDATE SKIP LOCKED
"""

TOUCH = "UPDATE outbox_events SET relayed_at = now() WHERE id = ANY($1::uuid[])"
MARK = (
    "UPDATE outbox_events SET relayed_at = now(), relay_attempts = relay_attempts + 1 "
    "WHERE id = ANY($1::uuid[])"
)


# Enqueues a batch of arq jobs in one round trip, with arq's own semantics: a job whose key or
# result already exists (the same event queued, running or just done) is not queued again.
_ENQUEUE_MANY = """
local queue, score, ttl = KEYS[1], ARGV[1], ARGV[2]
local queued = {}
for i = 3, #ARGV, 3 do
  local id, job, previous = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  -- A stale row whose previous job still waits in the queue (a backlog, not a loss) and
  -- is not marked in progress (a killed worker's) is left alone.
  local waiting = previous ~= '' and redis.call('ZSCORE', queue, previous)
    and redis.call('EXISTS', 'arq:in-progress:' .. previous) == 0
  if not waiting and redis.call('EXISTS', 'arq:job:' .. id, 'arq:result:' .. id) == 0 then
    redis.call('SET', 'arq:job:' .. id, job, 'PX', ttl)
    redis.call('ZADD', queue, score, id)
    queued[#queued + 1] = id
  elseif not waiting then
    queued[#queued + 1] = id  -- queued already under this id: as good as done
  end
end
return queued
"""


def _job_id(row: Any, relays: int) -> str:
    """The job id of the row's `relays`-th relay: `event:<id>`, then `event:<id>:againN`."""
    base = event_job_id(row["id"])
    return base if relays <= 1 else f"{base}:again{relays - 1}"


async def enqueue_events(c: WorkerContext, rows: list[Any], *, stale: bool = False) -> set[str]:
    """One `process_event` job per row, job id derived from the row (a relay of a lost job
    gets a new id). Same job layout as `ArqRedis.enqueue_job`. Returns the ids of the rows
    now queued (a stale row whose job merely waits in a backlog is not queued twice)."""
    now = int(time.time() * 1000)
    args: list[Any] = [now, expires_extra_ms]
    ids: dict[str, str] = {}
    spans: list[Span] = []
    for row in rows:
        relays = row["relay_attempts"] + 1 if stale else 1
        job_id = _job_id(row, relays)
        ids[job_id] = str(row["id"])
        kwargs: dict[str, Any] = {"request_id": row["request_id"]}
        if c.tracing.on and row["trace_context"]:
            # The request's trace goes on: a span for the relay, whose context the job gets.
            span = c.tracing.tracer.start_span(
                "outbox relay",
                context=extract(row["trace_context"]),
                kind=SpanKind.PRODUCER,
                attributes={"messaging.system": "arq", "messaging.message.id": job_id},
            )
            spans.append(span)
            carrier: dict[str, str] = {}
            propagate.inject(carrier, context=set_span_in_context(span))
            kwargs["trace_context"] = carrier
        job = serialize_job(PROCESS_EVENT, (str(row["id"]),), kwargs, None, now)
        args += [job_id, job, _job_id(row, relays - 1) if stale else ""]
    script = c.redis.register_script(_ENQUEUE_MANY)
    try:
        queued = await script(keys=[c.settings.arq_queue], args=args)
    finally:
        for span in spans:
            span.end()
    return {ids[q.decode() if isinstance(q, bytes) else q] for q in queued}


async def _relay(c: WorkerContext, claim: str, *args: Any, stale: bool = False) -> int:
    total = 0
    while True:
        async with c.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            pg: asyncpg.Connection = raw.driver_connection  # type: ignore[assignment]
            async with pg.transaction():
                rows = await pg.fetch(claim, BATCH, *args)
                if not rows:
                    return total
                # Redis down: this raises, the transaction rolls back, the rows wait.
                queued = await enqueue_events(c, rows, stale=stale)
                await pg.execute(MARK, [r["id"] for r in rows if str(r["id"]) in queued])
                waiting = [r["id"] for r in rows if str(r["id"]) not in queued]
                if waiting:  # checked again one stale period later
                    await pg.execute(TOUCH, waiting)
            total += len(queued)
            if len(rows) < BATCH:
                return total


async def relay_once(c: WorkerContext) -> int:
    """Relays everything pending; returns how many events were enqueued."""
    return await _relay(c, CLAIM)


async def relay_stale(c: WorkerContext) -> int:
    n = await _relay(c, CLAIM_STALE, float(c.settings.outbox_stale_seconds), stale=True)
    if n:
        log.warning("relayed %d events again whose jobs were lost", n)
    return n


@instrumented
async def sweep_outbox(ctx: dict[str, Any]) -> int:
    """Cron safety net: relays whatever the listener missed, and events whose job was lost."""
    c = wctx(ctx)
    return await relay_once(c) + await relay_stale(c)


async def listen_and_relay(
    c: WorkerContext, stop: asyncio.Event, on_deliveries: Callable[[], None] | None = None
) -> None:
    """Background loop: wake on NOTIFY (or every poll interval), relay, repeat. Survives
    PostgreSQL and Redis outages by retrying with a capped backoff. The same connection
    listens for `deliveries` and calls `on_deliveries`."""
    wake = asyncio.Event()
    backoff = Backoff(log, "relay")
    while not stop.is_set():
        conn: asyncpg.Connection | None = None
        try:
            # LISTEN needs a session of its own: never through a transaction-mode pooler.
            conn = await asyncpg.connect(c.settings.direct_database_url, timeout=10)
            await conn.add_listener(NOTIFY_CHANNEL, lambda *_: wake.set())
            if on_deliveries is not None:
                await conn.add_listener(DELIVERIES_CHANNEL, lambda *_: on_deliveries())
            backoff.succeeded()
            stale_every = max(2.0, c.settings.outbox_stale_seconds / 4)
            next_stale = time.monotonic() + stale_every
            while not stop.is_set():
                wake.clear()
                await relay_once(c)
                if time.monotonic() >= next_stale:
                    await relay_stale(c)
                    next_stale = time.monotonic() + stale_every
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), c.settings.outbox_poll_seconds)
                if conn.is_closed():
                    raise ConnectionError("listener connection closed")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await backoff.pause(stop, exc)
        finally:
            if conn is not None and not conn.is_closed():
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)
