"""The life of a row in `jobs`, shared by the statistics and import jobs: claimed by moving it
from queued to running in one statement (two workers never run it twice), progress written
in its own short transaction (pollers of `/jobs/{id}` see it while the work's transaction is
still open), then succeeded with its result or failed with the error."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.stats.enums import JobStatus
from mediation.stats.models import Job
from mediation_worker.context import WorkerContext


async def claim(c: WorkerContext, job_id: uuid.UUID, progress: int, step: str) -> Job | None:
    """The job, now running, if it was queued (else None: another worker has it or it ended)."""
    now = c.clock.now()
    async with c.sessions() as session, session.begin():
        return (
            await session.scalars(
                update(Job)
                .where(Job.id == job_id, Job.status == JobStatus.queued)
                .values(
                    status=JobStatus.running,
                    started_at=now,
                    attempts=Job.attempts + 1,
                    progress=progress,
                    step=step,
                    error=None,
                )
                .returning(Job)
            )
        ).one_or_none()


async def set_progress(c: WorkerContext, job_id: uuid.UUID, percent: int, step: str) -> None:
    async with c.sessions() as session, session.begin():
        await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.running)
            .values(progress=percent, step=step)
        )


async def succeed(
    session: AsyncSession, job_id: uuid.UUID, now: datetime, result: dict[str, Any]
) -> None:
    """In the transaction that wrote the job's work: it has succeeded exactly when that exists."""
    await session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(
            status=JobStatus.succeeded, progress=100, step="已完成", finished_at=now, result=result
        )
    )


async def fail(
    session: AsyncSession, job_id: uuid.UUID, now: datetime, exc: BaseException, step: str
) -> None:
    await session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(
            status=JobStatus.failed,
            step=step,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=now,
        )
    )
