"""Sending one delivery exactly as the deliveries table says. A try claims the row first, in a
statement of its own: it moves `next_attempt_at` past the longest a send may take (a lease), so
two workers never send the same row at once, a second run finds it delivered or leased and does
nothing, and a worker killed mid-send leaves the row to the next one when the lease runs out (the
receiver then sees a repeat with the same webhook-id). No transaction is open while the receiver
answers: behind PgBouncer no server connection and in PostgreSQL no row lock is held by a send,
so a slow receiver cannot starve the API of connections. The result is recorded afterwards, only
if the row is still this try's.

Retries are ours, visible in the table: `next_attempt_at` with backoff and jitter, `failed`
after the last one. Every worker runs a loop that sends what is due; the cron job
`sweep_deliveries` does one pass of the same (tests, and workers started without the loop).

This is the hot path of the worker, so it speaks SQL to asyncpg directly (prepared statements,
one round trip for the claim with its subscription, one to record the try)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from opentelemetry import context
from opentelemetry.trace import SpanKind, StatusCode, set_span_in_context

from mediation.ids import uuid7
from mediation.notifications.enums import Channel, DeliveryStatus, DisabledReason
from mediation.notifications.events import SubscriptionDisabled
from mediation.notifications.webhooks import quiet_until, retry_delay
from mediation.outbox.events import NOTIFY_CHANNEL
from mediation.tracing import current_context, extract
from mediation_worker.backoff import Backoff
from mediation_worker.context import WorkerContext, wctx
from mediation_worker.instrument import instrumented
from mediation_worker.notifications.channels import SENDERS, Outcome, Pending
from mediation_worker.notifications.runtime import Runtime, runtime

log = logging.getLogger("mediation.worker.deliveries")

PUMP_BATCH = 200
HEALTH_EVERY = timedelta(seconds=10)

# Claims a due row for one try (the lease) and reads it with its subscription. A concurrent
# claim waits for this statement only, then finds the row leased and gets nothing.
CLAIM = """
WITH d AS (
  UPDATE deliveries SET next_attempt_at = $3
  WHERE id = $1 AND status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= $2)
  RETURNING id, channel, attempts, max_attempts, urgent, message, trace_context, subscription_id
)
SELECT d.*, s.url, s.secret, s.enabled, s.consecutive_failures, s.last_success_at,
       s.previous_secret, s.previous_secret_expires_at
FROM d LEFT JOIN webhook_subscriptions s ON s.id = d.subscription_id
"""

# The try and the delivery's new state in one statement, if the row is still this try's (no
# other try recorded since; a row cancelled meanwhile, its subscription disabled, takes the
# outcome: the message did or did not reach the receiver).
RECORD = """
WITH d AS (
  UPDATE deliveries SET attempts = $3, last_attempt_at = $4, last_status_code = $7,
    last_error = $8, status = $11, delivered_at = $12, next_attempt_at = $13,
    message = CASE WHEN $10 THEN message - 'manual' ELSE message END
  WHERE id = $2 AND attempts = $3 - 1 AND status IN ('pending', 'cancelled')
  RETURNING id
)
INSERT INTO delivery_attempts (id, delivery_id, attempt, started_at, duration_ms, outcome,
                               status_code, error, response_excerpt, manual)
SELECT $1::uuid, d.id, $3, $4, $5::int, $6::varchar, $7, $8, $9::varchar, $10 FROM d
"""

SUB_OK = (
    "UPDATE webhook_subscriptions SET consecutive_failures = 0, last_success_at = $2 WHERE id = $1"
)
SUB_FAILED = (
    "UPDATE webhook_subscriptions SET consecutive_failures = consecutive_failures "
    "+ 1, last_failure_at = $2 WHERE id = $1"
)
HOLD = "UPDATE deliveries SET next_attempt_at = $2 WHERE id = $1"
CANCEL = (
    "UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL, last_error = $2 "
    "WHERE id = $1"
)

DISABLE = """
UPDATE webhook_subscriptions
SET enabled = false, disabled_at = $2, disabled_reason = $3, version = version + 1
WHERE id = $1 AND enabled
RETURNING name, url, (SELECT person_id FROM users WHERE users.id = owner_id) AS owner_person
"""
# Rows being claimed right now are skipped (no lock wait, no deadlock); a row whose send is in
# flight is cancelled, and its try still records what became of the message (RECORD).
CANCEL_WAITING = """
UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL,
  last_error = 'The subscription was disabled.'
WHERE id IN (SELECT id FROM deliveries WHERE subscription_id = $1 AND status = 'pending'
             FOR UPDATE SKIP LOCKED)
"""
EMIT = """
INSERT INTO outbox_events (id, type, aggregate_type, aggregate_id, unit_path, payload,
                           occurred_at, relay_attempts, trace_context)
VALUES ($1, $2, $3, $4, NULL, $5, $6, 0, $7)
"""


def _json_or_none(value: dict[str, str] | None) -> str | None:
    return None if value is None else json.dumps(value)


def _json_value(value: Any) -> dict[str, Any]:
    """JSONB through SQLAlchemy's asyncpg codec arrives as text."""
    if isinstance(value, str):
        loaded: dict[str, Any] = json.loads(value)
        return loaded
    return dict(value or {})


async def disable_subscription(
    pg: asyncpg.Connection, sub_id: uuid.UUID, reason: DisabledReason, now: datetime, detail: str
) -> bool:
    """Disable a subscription once (whoever flips `enabled` tells the owner), cancel what is
    still waiting for it, and emit the event (the outbox, same transaction) that reaches the
    owner's inbox and email."""
    row = await pg.fetchrow(DISABLE, sub_id, now, reason.value)
    if row is None:
        return False
    await pg.execute(CANCEL_WAITING, sub_id)
    owner = row["owner_person"]
    payload = SubscriptionDisabled(
        subscription_id=sub_id,
        name=row["name"],
        url=row["url"],
        reason=reason.value,
        reason_label=reason.label_zh,
        detail=detail,
        recipient_person_ids=[owner] if owner else [],
    )
    # Written on the delivery loop's own connection (asyncpg), not through `emit`.
    await pg.execute(
        EMIT,
        uuid7(),
        payload.type_for(None),
        payload.aggregate_type,
        sub_id,
        json.dumps(payload.dump(), ensure_ascii=False),
        now,
        _json_or_none(current_context()),  # the send that failed last: its trace goes on
    )
    await pg.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)  # wakes the relay at commit
    log.warning("webhook subscription %s disabled: %s", sub_id, reason.value)
    return True


async def _record(
    pg: asyncpg.Connection,
    row: asyncpg.Record,
    outcome: Outcome,
    started: datetime,
    ms: int,
    manual: bool,
) -> str:
    """Write the try and the delivery's new state; update the subscription's health."""
    attempt = row["attempts"] + 1
    channel = Channel(row["channel"])
    error: str | None = None
    delivered_at: datetime | None = None
    next_at: datetime | None = None
    if outcome.ok:
        status, result, delivered_at = DeliveryStatus.delivered, "delivered", started
    else:
        error = (outcome.error or "failed")[:2000]
        delay = None if (outcome.permanent or outcome.gone) else retry_delay(channel, attempt)
        if delay is None or attempt >= row["max_attempts"]:
            status, result = DeliveryStatus.failed, "gone" if outcome.gone else "failed"
        else:
            status, result, next_at = DeliveryStatus.pending, "retry", started + delay
    sub_id = row["subscription_id"]
    failing = sub_id is not None and not outcome.ok
    # A failed try may disable the subscription (its event and NOTIFY with it): one transaction.
    async with pg.transaction() if failing else contextlib.nullcontext():
        recorded = await pg.execute(
            RECORD,
            uuid7(),
            row["id"],
            attempt,
            started,
            ms,
            result,
            outcome.status_code,
            error,
            outcome.excerpt,
            manual,
            status.value,
            delivered_at,
            next_at,
        )
        if recorded.endswith(" 0"):  # the lease ran out and another try recorded first
            log.warning("delivery %s: try %d outlived its lease; not recorded", row["id"], attempt)
            return "taken"
        if sub_id is None:
            return result
        if outcome.ok:
            # A busy subscription is not rewritten on every success (its row would become a
            # point every delivery to it waits on): only when it recovers or every 10 s.
            last = row["last_success_at"]
            if row["consecutive_failures"] or last is None or last < started - HEALTH_EVERY:
                await pg.execute(SUB_OK, sub_id, started)
            return result
        await pg.execute(SUB_FAILED, sub_id, started)
        if outcome.gone:
            await disable_subscription(pg, sub_id, DisabledReason.gone, started, error or "")
        elif result == "failed" and not manual:
            await disable_subscription(pg, sub_id, DisabledReason.failing, started, error or "")
        return result


async def deliver_one(
    c: WorkerContext, rt: Runtime, delivery_id: uuid.UUID, pg: asyncpg.Connection | None = None
) -> str:
    """Send one delivery; `pg`: a connection the caller holds (no second checkout)."""
    if pg is not None:
        return await _deliver_on(pg, c, rt, delivery_id)
    async with c.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        return await _deliver_on(raw.driver_connection, c, rt, delivery_id)  # type: ignore[arg-type]


def lease(c: WorkerContext) -> timedelta:
    """How long a claimed row is this try's: a send is cut at the send timeout (one per
    request, notifications/http.py), with room for recording it on a loaded database. Also
    how long the sends in flight of a worker that died wait before another worker tries
    them again. A try that outlives it is not recorded (RECORD's guard): at worst the
    receiver gets the message twice with the same id, which it drops."""
    return timedelta(seconds=c.settings.notify_timeout_seconds + 10)


async def _deliver_on(
    pg: asyncpg.Connection, c: WorkerContext, rt: Runtime, delivery_id: uuid.UUID
) -> str:
    now = c.clock.now()
    row = await pg.fetchrow(CLAIM, delivery_id, now, now + lease(c))
    if row is None:
        return "taken"  # sent already, not due, or another worker is sending it right now
    channel = row["channel"]
    if channel == Channel.sms.value and not row["urgent"]:
        held = quiet_until(now, rt.quiet_hours, rt.tz)
        if held is not None:  # 22:00-07:00: wait for the morning, no try counted
            await pg.execute(HOLD, delivery_id, held)
            rt.count(channel, "held")
            return "held"
    if channel == Channel.webhook.value and not row["enabled"]:
        await pg.execute(CANCEL, delivery_id, "The subscription is disabled or deleted.")
        rt.count(channel, "cancelled")
        return "cancelled"
    message = _json_value(row["message"])
    manual = bool(message.get("manual"))  # a redelivery by hand: one try
    pending = Pending(
        id=row["id"],
        channel=channel,
        message=message,
        urgent=row["urgent"],
        url=row["url"],
        secret=row["secret"],
        previous_secret=_still_signing(row, now),
    )
    with _SendSpan(c, row) as span:
        outcome = await _send(rt, pending)
        ms = int((time.perf_counter() - span.t0) * 1000)
        result = await _record(pg, row, outcome, now, ms, manual)
        span.done(outcome, result)
    rt.count(channel, result)
    return result


async def _send(rt: Runtime, pending: Pending) -> Outcome:
    send = SENDERS.get(pending.channel)
    if send is None:
        return Outcome(False, error=f"channel {pending.channel} cannot be sent", permanent=True)
    try:
        return await send(rt, pending)
    except Exception as exc:  # a bug or a surprise: a failed try with backoff, never a loop
        log.exception("sending delivery %s failed unexpectedly", pending.id)
        return Outcome(False, error=f"internal error: {type(exc).__name__}: {exc}")


class _SendSpan:
    """The span of one try (when tracing is on), child of the fan-out that made the row: a
    retry sent by the delivery loop joins the same trace. Times the try either way."""

    def __init__(self, c: WorkerContext, row: asyncpg.Record) -> None:
        self.span: Any = None
        if c.tracing.on:
            self.span = c.tracing.tracer.start_span(
                f"send {row['channel']}",
                context=extract(row["trace_context"]),
                kind=SpanKind.CLIENT,
                attributes={"delivery.id": str(row["id"]), "delivery.attempt": row["attempts"] + 1},
            )
            self._token = context.attach(set_span_in_context(self.span))
        self.t0 = time.perf_counter()

    def done(self, outcome: Outcome, result: str) -> None:
        if self.span is None:
            return
        self.span.set_attribute("delivery.result", result)
        if outcome.status_code is not None:
            self.span.set_attribute("http.response.status_code", outcome.status_code)
        if not outcome.ok:
            self.span.set_status(StatusCode.ERROR, outcome.error)

    def __enter__(self) -> _SendSpan:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.span is not None:
            context.detach(self._token)
            self.span.end()


async def _guarded(
    c: WorkerContext, rt: Runtime, delivery_id: uuid.UUID, pg: asyncpg.Connection | None = None
) -> str:
    async with rt.sends:
        try:
            return await deliver_one(c, rt, delivery_id, pg)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database went away mid-send: the row stays pending
            log.warning("delivery %s not recorded; it will be retried", delivery_id, exc_info=True)
            return "error"


async def deliver_many(
    c: WorkerContext, rt: Runtime, ids: list[uuid.UUID], pg: asyncpg.Connection | None = None
) -> dict[str, int]:
    """Send these deliveries concurrently (bounded per process); counts by outcome. With `pg`
    (a connection the caller holds) the one delivery is sent on that connection; several are
    never sent while the caller holds one (each send takes a connection of its own)."""
    if not ids:
        return {}
    if pg is not None:
        if len(ids) > 1:
            raise ValueError("several deliveries are sent on connections of their own")
        if rt.sends.locked():
            # Every send slot is taken, maybe by sends waiting for a connection: waiting for a
            # slot while holding `pg` deadlocks them until the pool's timeout (the HA drill's
            # 30 s stall: 20 jobs held the pool, 8 sends held the slots). The row stays due;
            # the delivery loop sends it.
            rt.wake.set()
            return {"left for the loop": 1}
        return {await _guarded(c, rt, ids[0], pg): 1}
    tasks = [asyncio.create_task(_guarded(c, rt, i)) for i in ids]
    rt.in_flight.update(tasks)
    try:
        results = await asyncio.gather(*tasks)
    finally:
        rt.in_flight.difference_update(tasks)
    out: dict[str, int] = {}
    for r in results:
        out[r] = out.get(r, 0) + 1
    return out


DUE = (
    "SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1 "
    "ORDER BY next_attempt_at LIMIT $2"
)


async def due_ids(c: WorkerContext, limit: int = PUMP_BATCH) -> list[uuid.UUID]:
    async with c.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        pg: asyncpg.Connection = raw.driver_connection  # type: ignore[assignment]
        return [r["id"] for r in await pg.fetch(DUE, c.clock.now(), limit)]


async def pump_once(c: WorkerContext, rt: Runtime) -> int:
    """Send everything due now; returns how many were tried."""
    total = 0
    seen: set[uuid.UUID] = set()
    while True:
        ids = [i for i in await due_ids(c) if i not in seen]
        if not ids:
            return total
        seen.update(ids)
        results = await deliver_many(c, rt, ids)
        total += sum(v for k, v in results.items() if k != "taken")
        if len(ids) < PUMP_BATCH // 2:
            return total


@instrumented
async def sweep_deliveries(ctx: dict[str, Any]) -> int:
    """One pass over due deliveries (retries, SMS held overnight, rows a crash left behind)."""
    c = wctx(ctx)
    rt = runtime(ctx)
    n = await pump_once(c, rt)
    await rt.flush_counts(c)
    return n


async def delivery_loop(c: WorkerContext, rt: Runtime, stop: asyncio.Event) -> None:
    """Background loop of each worker: send what is due, then sleep until woken (NOTIFY
    `deliveries`, e.g. a manual redelivery) or the poll interval passes. Survives database
    outages with a capped backoff."""
    backoff = Backoff(log, "delivery")
    last_flush = time.monotonic()
    while not stop.is_set():
        try:
            rt.wake.clear()
            await pump_once(c, rt)
            backoff.succeeded()
            if time.monotonic() - last_flush > 5:
                await rt.flush_counts(c)
                last_flush = time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_first(stop, rt.wake), c.settings.delivery_poll_seconds)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await backoff.pause(stop, exc)


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


def _still_signing(row: Any, now: datetime) -> str | None:
    """The secret before the last rotation while its overlap window lasts (on the app clock)."""
    expires = row["previous_secret_expires_at"]
    return row["previous_secret"] if expires is not None and expires > now else None
