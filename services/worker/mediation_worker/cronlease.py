"""Cron jobs that must run once per slot however many workers share the databases: the first
worker to insert (job, slot) into `cron_runs` runs it, the others return "skipped".

The slot is the time arq scheduled the run for: from a unique cron's job id
(`cron:<name>:<ms>`), else the job's score (its deferred start) floored to the minute, which
every worker computes alike because cron runs are at most once a minute.

Sweeps that run every few seconds (outbox, deliveries, reminders, stats jobs) are not leased:
each claims its rows in PostgreSQL (a status change or SKIP LOCKED), so two at once share the
work instead of doubling it."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from arq import Retry, cron
from arq.cron import CronJob
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert

from mediation.cronruns import KEEP_DAYS, CronRun
from mediation.unavailable import database_unavailable
from mediation_worker.context import wctx

log = logging.getLogger("mediation.worker.cron")

SKIPPED = "skipped: another worker ran this slot"
WORKER = f"{socket.gethostname()}:{os.getpid()}"[:200]
RETRY_SECONDS = 10  # times the try: 10 s, 20 s, ...
SLOT_TRIES = 5  # arq's default for a cron job is one try: a Retry would end it


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


async def give_back(ctx: dict[str, Any], job: str) -> None:
    """Drop this worker's lease on the job's slot (its run failed), so a retry can take it."""
    c = wctx(ctx)
    async with c.sessions() as session, session.begin():
        await session.execute(
            delete(CronRun).where(
                CronRun.job == job, CronRun.slot == slot_of(ctx), CronRun.worker == WORKER
            )
        )


def once_per_slot(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """For `cron(...)`: keeps the function's name, so arq names the cron job as before.

    arq runs a failed cron job never again; a slot is once a day or a month. So when the
    database is away (a failover, the pool exhausted) the job gives its lease back and asks
    arq to retry the same slot (`max_tries`); a bug still fails at once."""

    @functools.wraps(fn)
    async def leased(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        job = fn.__name__
        try:
            if not await take_lease(ctx, job):
                return SKIPPED
        except Exception as error:
            if not database_unavailable(error):
                raise
            raise _retry(ctx, job, error) from error
        try:
            return await fn(ctx, *args, **kwargs)
        except Exception as error:
            if not database_unavailable(error):
                raise
            with contextlib.suppress(Exception):  # still away: the slot stays taken (logged)
                await give_back(ctx, job)
            raise _retry(ctx, job, error) from error

    return leased


def slot_cron(fn: Callable[..., Awaitable[Any]], **when: Any) -> CronJob:
    """`cron(once_per_slot(fn), ...)` with the tries a retried slot needs, and unique: the job
    id (`cron:<name>:<ms>`) names the slot, so a retry, deferred, still leases the same one."""
    return cron(once_per_slot(fn), max_tries=SLOT_TRIES, unique=True, **when)


def _retry(ctx: dict[str, Any], job: str, error: BaseException) -> Retry:
    tries = int(ctx.get("job_try") or 1)
    log.warning(
        "cron %s at %s: the database is unavailable (%s); try %d again in %d s",
        job,
        slot_of(ctx).isoformat(),
        type(error).__name__,
        tries + 1,
        RETRY_SECONDS * tries,
    )
    return Retry(defer=RETRY_SECONDS * tries)
