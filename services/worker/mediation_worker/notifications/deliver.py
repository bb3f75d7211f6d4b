"""Sending one delivery exactly as the deliveries table says, and recording the result in the
same transaction that holds the row (FOR UPDATE SKIP LOCKED): two workers never send the same
row at once, a second run finds it delivered and does nothing, and a worker killed mid-send
releases the row to the next one (the receiver then sees a repeat with the same webhook-id).

Retries are ours, visible in the table: `next_attempt_at` with backoff and jitter, `failed`
after the last one. Every worker runs a loop that sends what is due; the cron job
`sweep_deliveries` does one pass of the same (tests, and workers started without the loop)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.models import User
from mediation.ids import uuid7
from mediation.notifications.enums import Channel, DeliveryStatus, DisabledReason
from mediation.notifications.models import DeliveryAttempt, WebhookSubscription
from mediation.notifications.webhooks import quiet_until, retry_delay
from mediation.outbox.events import emit
from mediation.outbox.models import Delivery
from mediation_worker.context import WorkerContext, wctx
from mediation_worker.instrument import instrumented
from mediation_worker.notifications import channels
from mediation_worker.notifications.channels import Outcome
from mediation_worker.notifications.runtime import Runtime, runtime

log = logging.getLogger("mediation.worker.deliveries")

PUMP_BATCH = 200


async def disable_subscription(
    session: AsyncSession, sub_id: uuid.UUID, reason: DisabledReason, now: datetime, detail: str
) -> bool:
    """Disable a subscription once (whoever flips `enabled` tells the owner), cancel what is
    still waiting for it, and emit the event that reaches the owner's inbox and email."""
    await session.flush()  # the failing delivery's own state first: it is not "waiting"
    row = (
        await session.execute(
            update(WebhookSubscription)
            .where(WebhookSubscription.id == sub_id, WebhookSubscription.enabled.is_(True))
            .values(
                enabled=False,
                disabled_at=now,
                disabled_reason=reason,
                version=WebhookSubscription.version + 1,
            )
            .returning(
                WebhookSubscription.name,
                WebhookSubscription.url,
                WebhookSubscription.owner_id,
                WebhookSubscription.unit_path,
            )
        )
    ).one_or_none()
    if row is None:
        return False
    name, url, owner_id, _unit_path = row
    # Rows another worker is sending right now are skipped (no lock wait, no deadlock): they
    # are recorded by that worker and then cancelled when next tried.
    waiting = (
        select(Delivery.id)
        .where(Delivery.subscription_id == sub_id, Delivery.status == DeliveryStatus.pending.value)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(waiting))
        .values(
            status=DeliveryStatus.cancelled.value,
            next_attempt_at=None,
            last_error="The subscription was disabled.",
        )
    )
    owner_person = None
    if owner_id is not None:
        owner_person = await session.scalar(select(User.person_id).where(User.id == owner_id))
    await emit(
        session,
        type="webhook.subscription_disabled",
        aggregate_type="webhook_subscription",
        aggregate_id=sub_id,
        occurred_at=now,
        unit_path=None,
        payload={
            "subscription_id": str(sub_id),
            "name": name,
            "url": url,
            "reason": reason.value,
            "reason_label": reason.label_zh,
            "detail": detail,
            "recipient_person_ids": [str(owner_person)] if owner_person else [],
        },
    )
    log.warning("webhook subscription %s disabled: %s", sub_id, reason.value)
    return True


async def _record(
    session: AsyncSession,
    d: Delivery,
    outcome: Outcome,
    started: datetime,
    ms: int,
    sub: WebhookSubscription | None,
    manual: bool,
) -> str:
    """Write the attempt and the delivery's new state in one statement (an INSERT in a CTE of
    the UPDATE: the hot path is round trips). Returns the outcome's name."""
    attempt = d.attempts + 1
    channel = Channel(d.channel)
    error: str | None = None
    delivered_at: datetime | None = None
    next_at: datetime | None = None
    if outcome.ok:
        status, result, delivered_at = DeliveryStatus.delivered, "delivered", started
    else:
        error = (outcome.error or "failed")[:2000]
        delay = None if (outcome.permanent or outcome.gone) else retry_delay(channel, attempt)
        if delay is None or attempt >= d.max_attempts:
            status, result = DeliveryStatus.failed, "gone" if outcome.gone else "failed"
        else:
            status, result, next_at = DeliveryStatus.pending, "retry", started + delay
    values: dict[str, Any] = {
        "attempts": attempt,
        "last_attempt_at": started,
        "last_status_code": outcome.status_code,
        "status": status.value,
        "delivered_at": delivered_at,
        "next_attempt_at": next_at,
        "last_error": error,
    }
    if manual:  # the redelivery's one try is spent
        values["message"] = {k: v for k, v in d.message.items() if k != "manual"}
    attempt_row = (
        insert(DeliveryAttempt)
        .values(
            id=uuid7(),
            delivery_id=d.id,
            attempt=attempt,
            started_at=started,
            duration_ms=ms,
            outcome=result,
            status_code=outcome.status_code,
            error=error,
            response_excerpt=outcome.excerpt,
            manual=manual,
        )
        .cte("attempt_row")
    )
    await session.execute(
        update(Delivery).where(Delivery.id == d.id).values(**values).add_cte(attempt_row)
    )
    if sub is not None:
        healthy = (
            sub.consecutive_failures == 0
            and sub.last_success_at is not None
            and sub.last_success_at >= started - timedelta(seconds=10)
        )
        if outcome.ok and not healthy:
            # A busy subscription is not rewritten on every success (its row would become a
            # point every delivery to it waits on): only when it recovers or every 10 s.
            await session.execute(
                update(WebhookSubscription)
                .where(
                    WebhookSubscription.id == sub.id,
                    or_(
                        WebhookSubscription.consecutive_failures != 0,
                        WebhookSubscription.last_success_at.is_(None),
                        WebhookSubscription.last_success_at < started - timedelta(seconds=10),
                    ),
                )
                .values(consecutive_failures=0, last_success_at=started)
            )
        elif not outcome.ok:
            await session.execute(
                update(WebhookSubscription)
                .where(WebhookSubscription.id == sub.id)
                .values(
                    consecutive_failures=WebhookSubscription.consecutive_failures + 1,
                    last_failure_at=started,
                )
            )
            if outcome.gone:
                await disable_subscription(
                    session, sub.id, DisabledReason.gone, started, error or ""
                )
            elif result == "failed" and not manual:
                await disable_subscription(
                    session, sub.id, DisabledReason.failing, started, error or ""
                )
    return result


async def deliver_one(c: WorkerContext, rt: Runtime, delivery_id: uuid.UUID) -> str:
    async with c.sessions() as session, session.begin():
        # The row and its subscription in one round trip; only the delivery row is locked.
        found = (
            await session.execute(
                select(Delivery, WebhookSubscription)
                .outerjoin(WebhookSubscription, WebhookSubscription.id == Delivery.subscription_id)
                .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.pending.value)
                .with_for_update(of=Delivery, skip_locked=True)
            )
        ).one_or_none()
        if found is None:
            return "taken"  # sent already, or another worker is sending it right now
        d, sub = found.tuple()
        now = c.clock.now()
        if d.next_attempt_at is not None and d.next_attempt_at > now:
            return "not due"
        channel = Channel(d.channel)
        if channel is Channel.sms and not d.urgent:
            held = quiet_until(now, rt.quiet_hours, rt.tz)
            if held is not None:
                d.next_attempt_at = held  # 22:00-07:00: wait for the morning, no try counted
                rt.count(channel.value, "held")
                return "held"
        if channel is Channel.webhook:
            if sub is None or not sub.enabled:
                d.status = DeliveryStatus.cancelled.value
                d.next_attempt_at = None
                d.last_error = "The subscription is disabled or deleted."
                rt.count(channel.value, "cancelled")
                return "cancelled"
        manual = bool(d.message.get("manual"))  # set by a redelivery by hand: one try
        t0 = time.perf_counter()
        if channel is Channel.email:
            outcome = await channels.send_email(rt, d)
        elif channel is Channel.sms:
            outcome = await channels.send_sms(rt, d)
        elif channel is Channel.wecom:
            outcome = await channels.send_wecom(rt, d)
        elif channel is Channel.webhook and sub is not None:
            outcome = await channels.send_webhook(rt, d, sub)
        else:
            outcome = Outcome(False, error=f"channel {d.channel} cannot be sent", permanent=True)
        ms = int((time.perf_counter() - t0) * 1000)
        session.expunge(d)  # written by _record's statement, not by a flush
        result = await _record(session, d, outcome, now, ms, sub, manual)
    rt.count(channel.value, result)
    return result


async def _guarded(c: WorkerContext, rt: Runtime, delivery_id: uuid.UUID) -> str:
    async with rt.sends:
        try:
            return await deliver_one(c, rt, delivery_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database went away mid-send: the row stays pending
            log.warning("delivery %s not recorded; it will be retried", delivery_id, exc_info=True)
            return "error"


async def deliver_many(c: WorkerContext, rt: Runtime, ids: list[uuid.UUID]) -> dict[str, int]:
    """Send these deliveries concurrently (bounded per process); counts by outcome."""
    if not ids:
        return {}
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


async def due_ids(c: WorkerContext, limit: int = PUMP_BATCH) -> list[uuid.UUID]:
    async with c.sessions() as session:
        rows = await session.scalars(
            select(Delivery.id)
            .where(
                Delivery.status == DeliveryStatus.pending.value,
                Delivery.next_attempt_at <= c.clock.now(),
            )
            .order_by(Delivery.next_attempt_at)
            .limit(limit)
        )
        return list(rows.all())


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
        total += sum(v for k, v in results.items() if k not in ("taken", "not due"))
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
    backoff = 0.5
    last_flush = time.monotonic()
    while not stop.is_set():
        try:
            rt.wake.clear()
            await pump_once(c, rt)
            backoff = 0.5
            if time.monotonic() - last_flush > 5:
                await rt.flush_counts(c)
                last_flush = time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_first(stop, rt.wake), c.settings.delivery_poll_seconds)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("delivery loop error, retrying in %.1fs: %s", backoff, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), backoff)
            backoff = min(backoff * 2, 10)


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
