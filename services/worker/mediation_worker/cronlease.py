"""Cron jobs that must run once per slot however many workers share the databases: the first
worker to insert (job, slot) into `cron_runs` runs it, the others return "skipped".

The slot is the time arq scheduled the run for: from a unique cron's job id
(`cron:<name>:<ms>`), else the job's score (its deferred start) floored to the minute, which
every worker computes alike because cron runs are at most once a minute.

Sweeps that run every few seconds (outbox, deliveries, reminders, stats jobs) are not leased:
each claims its rows in PostgreSQL (a status change or SKIP LOCKED), so two at once share the
work instead of doubling it."""

from __future__ import annotations

import functools
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert

from mediation.cronruns import KEEP_DAYS, CronRun
from mediation_worker.context import wctx

log = logging.getLogger("mediation.worker.cron")

SKIPPED = "skipped: another worker ran this slot"
WORKER = f"{socket.gethostname()}:{os.getpid()}"[:200]


def slot_of(ctx: dict[str, Any]) -> datetime:
    job_id = str(ctx.get("job_id") or "")
    head, _, ms = job_id.rpartition(":")
    if head.startswith("cron:") and ms.isdigit():
        return datetime.fromtimestamp(int(ms) / 1000, UTC)
    score = ctx.get("score")
    when = (
        datetime.fromtimestamp(score / 1000, UTC)
        if isinstance(score, int | float)
        else ctx.get("enqueue_time") or datetime.now(UTC)
    )
    return when.replace(second=0, microsecond=0)


async def take_lease(ctx: dict[str, Any], job: str) -> bool:
    """True when this worker is the first for the job's slot (and so must run it)."""
    c = wctx(ctx)
    slot = slot_of(ctx)
    async with c.sessions() as session, session.begin():
        taken = await session.scalar(
            insert(CronRun)
            .values(job=job, slot=slot, worker=WORKER, started_at=c.clock.now())
            .on_conflict_do_nothing()
            .returning(CronRun.job)
        )
        if taken is not None:
            await session.execute(
                delete(CronRun).where(
                    CronRun.job == job, CronRun.slot < slot - timedelta(days=KEEP_DAYS)
                )
            )
    if taken is None:
        log.info("cron %s at %s: another worker has it", job, slot.isoformat())
    return taken is not None


def once_per_slot(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """For `cron(...)`: keeps the function's name, so arq names the cron job as before."""

    @functools.wraps(fn)
    async def leased(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if not await take_lease(ctx, fn.__name__):
            return SKIPPED
        return await fn(ctx, *args, **kwargs)

    return leased
