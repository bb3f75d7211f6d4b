"""The statistics jobs: a requested recomputation, the monthly run at 01:00 Beijing time on the
1st, the month-to-date refresh, and a sweeper for jobs whose arq job was lost.

PostgreSQL is the source of truth: a job is a row in `jobs`; arq only carries its id. A job is
claimed by moving it from queued to running in one statement, so two workers never run it
twice; the report, the `stats.monthly_ready` events and the job's success are written in one
transaction, so a job has succeeded exactly when its report exists."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from arq import cron
from arq.cron import CronJob
from arq.worker import Function, func
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.jobs import RUN_IMPORT_JOB
from mediation.org.enums import UnitLevel
from mediation.org.models import Unit
from mediation.outbox.events import emit
from mediation.settings import Settings
from mediation.stats.enums import JobKind, JobStatus, ReportKind, ReportTrigger
from mediation.stats.events import MonthlyReady
from mediation.stats.models import Job, StatsReport, queued_job
from mediation.stats.periods import (
    current_month,
    label,
    live_periods,
    month_just_ended,
    monthly_periods,
)
from mediation_worker import jobstate
from mediation_worker.context import WorkerContext, wctx
from mediation_worker.cronlease import slot_cron
from mediation_worker.instrument import instrumented
from mediation_worker.stats.compute import compute, drop_older_live, lock

log = logging.getLogger("mediation.worker.stats")

COMPUTE_MONTHLY_STATS = "compute_monthly_stats"
# A running job not finished after this long lost its worker: the sweeper queues it again.
STALE_RUNNING = timedelta(minutes=15)
# A queued job not picked up after this long lost its arq job (Redis was down...).
STALE_QUEUED = timedelta(seconds=30)
JOB_TIMEOUT = 600  # seconds; one month of every node takes seconds at a million cases


def arq_job_id(job_id: uuid.UUID | str, attempt: int = 0) -> str:
    return f"stats-job:{job_id}" + (f":{attempt}" if attempt else "")


# --------------------------------------------------------------------------- running a job
async def announce(session: AsyncSession, report: StatsReport, job: Job, now: datetime) -> int:
    """`stats.monthly_ready`, once per district (and city) node: the rule for supervisors and
    dispatchers looks for them at the event's unit, and webhook subscriptions of a district
    get their district's event."""
    tops = (
        await session.execute(
            select(Unit.id, Unit.name, Unit.path)
            .where(
                (Unit.parent_id.is_(None)) | Unit.level.in_([UnitLevel.city, UnitLevel.district])
            )
            .order_by(Unit.path)
        )
    ).all()
    ids = [str(u.id) for u in tops]
    for unit_id, name, path in tops:
        await emit(
            session,
            MonthlyReady(
                year=report.year,
                month=label(report.year, report.month),
                version=report.version,
                report_id=report.id,
                trigger=report.trigger,
                job_id=job.id,
                unit_id=unit_id,
                unit_name=name,
                unit_ids=ids,
            ),
            aggregate_id=report.id,
            occurred_at=now,
            unit_path=path,
            actor_id=job.requested_by_id if job.requested_by_kind == "user" else None,
        )
    return len(tops)


async def run_job(c: WorkerContext, job_id: uuid.UUID) -> str:
    job = await jobstate.claim(c, job_id, 5, "开始计算")
    if job is None:
        return "not queued"
    assert job.year is not None and job.month is not None and job.trigger is not None

    async def progress(percent: int, step: str) -> None:
        await jobstate.set_progress(c, job_id, percent, step)

    try:
        async with c.sessions() as session, session.begin():
            now = c.clock.now()
            report = await compute(
                session,
                kind=ReportKind.monthly,
                trigger=job.trigger,
                year=job.year,
                month=job.month,
                periods=monthly_periods(job.year, job.month),
                now=now,
                job_id=job.id,
                progress=progress,
            )
            await progress(90, "保存并通知")
            notified = await announce(session, report, job, now)
            result = {
                "report_id": str(report.id),
                "year": report.year,
                "month": label(report.year, report.month),
                "version": report.version,
                "rows": report.row_count,
                "elapsed_ms": report.elapsed_ms,
                "notified_units": notified,
            }
            await jobstate.succeed(session, job.id, c.clock.now(), result)
    except Exception as exc:  # the job is failed in the database; asking again is a new job
        log.exception("statistics job %s failed", job_id)
        async with c.sessions() as session, session.begin():
            await jobstate.fail(session, job_id, c.clock.now(), exc, "计算失败")
        return "failed"
    return "succeeded"


@instrumented
async def compute_monthly_stats(ctx: dict[str, Any], job_id: str) -> str:
    """Runs a queued job (a recomputation someone asked for)."""
    return await run_job(wctx(ctx), uuid.UUID(job_id))


# --------------------------------------------------------------------------- the schedule
async def _scheduled_job(c: WorkerContext, year: int, month: int) -> uuid.UUID | None:
    """The scheduler's job of a month: created once (dedupe key); a failed or lost one is
    queued again; a finished or running one means there is nothing to do."""
    now = c.clock.now()
    async with c.sessions() as session, session.begin():
        root = (
            await session.execute(
                select(Unit.id, Unit.path).where(Unit.parent_id.is_(None)).order_by(Unit.path)
            )
        ).first()
        if root is None:
            return None  # an empty tree: nothing to count
        key = f"scheduled:{label(year, month)}"
        created = await session.scalar(
            insert(Job)
            .values(
                **queued_job(
                    JobKind.stats_monthly,
                    unit_id=root.id,
                    unit_path=root.path,
                    requested_by=(None, None, "定时任务"),
                    now=now,
                    trigger=ReportTrigger.scheduled,
                    year=year,
                    month=month,
                    dedupe_key=key,
                )
            )
            .on_conflict_do_nothing(index_elements=[Job.dedupe_key])
            .returning(Job.id)
        )
        if created is not None:
            return created
        return await session.scalar(
            update(Job)
            .where(Job.dedupe_key == key, Job.status.in_([JobStatus.failed, JobStatus.queued]))
            .values(status=JobStatus.queued, step="排队中", progress=0)
            .returning(Job.id)
        )


@instrumented
async def scheduled_monthly_stats(ctx: dict[str, Any]) -> str:
    """The cron job: at 01:00 Beijing time on the 1st, the month just ended."""
    c = wctx(ctx)
    year, month = month_just_ended(c.clock.now())
    job_id = await _scheduled_job(c, year, month)
    if job_id is None:
        return "nothing to do"
    return await run_job(c, job_id)


@instrumented
async def refresh_live_stats(ctx: dict[str, Any]) -> str:
    """The month-to-date snapshot the dashboards read (every few minutes)."""
    c = wctx(ctx)
    now = c.clock.now()
    year, month = current_month(now)
    async with c.sessions() as session, session.begin():
        await lock(session, "stats:live")
        report = await compute(
            session,
            kind=ReportKind.live,
            trigger=ReportTrigger.live,
            year=year,
            month=month,
            periods=live_periods(now),
            now=now,
        )
        await drop_older_live(session, report.id)
    return f"{report.row_count} rows"


@instrumented
async def sweep_stats_jobs(ctx: dict[str, Any]) -> int:
    """Queues again what lost its arq job: queued for a while, or running far too long (its
    worker died). Running a job twice is safe: only a queued job can be claimed."""
    c = wctx(ctx)
    now = c.clock.now()
    async with c.sessions() as session, session.begin():
        await session.execute(
            update(Job)
            .where(Job.status == JobStatus.running, Job.started_at < now - STALE_RUNNING)
            .values(status=JobStatus.queued, step="重新排队")
        )
        rows = (
            await session.execute(
                select(Job.id, Job.attempts, Job.kind).where(
                    Job.status == JobStatus.queued, Job.created_at < now - STALE_QUEUED
                )
            )
        ).all()
    for job_id, attempts, kind in rows:
        # Import jobs run under their own function (mediation_worker.imports.jobs).
        name = COMPUTE_MONTHLY_STATS if kind is JobKind.stats_monthly else RUN_IMPORT_JOB
        await c.redis.enqueue_job(name, str(job_id), _job_id=arq_job_id(job_id, attempts + 1))
    return len(rows)


# --------------------------------------------------------------------------- registration
def stats_functions() -> list[Function]:
    """For `WorkerSettings.functions` (the scheduled job too, so it can be run by hand)."""
    return [
        func(compute_monthly_stats, name=COMPUTE_MONTHLY_STATS, timeout=JOB_TIMEOUT),
        func(scheduled_monthly_stats, timeout=JOB_TIMEOUT),
        func(refresh_live_stats, timeout=JOB_TIMEOUT),
        func(sweep_stats_jobs),
    ]


def stats_cron(settings: Settings) -> list[CronJob]:
    """For `WorkerSettings.cron_jobs`; hours are the center's (WorkerSettings.timezone)."""
    every = max(1, min(settings.stats_live_minutes, 60))
    return [
        slot_cron(
            scheduled_monthly_stats,
            day={1},
            hour={1},
            minute={0},
            timeout=JOB_TIMEOUT,
        ),
        slot_cron(
            refresh_live_stats,
            minute=set(range(0, 60, every)),
            second={15},
            timeout=JOB_TIMEOUT,
        ),
        cron(sweep_stats_jobs, second={45}, run_at_startup=False),
    ]
