"""After a commit: the past months whose monthly report already exists and that the imported
records fall in are recomputed (a new version each), so reports count the history.
Months never reported need nothing: their first report will count it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.imports.models import ImportFile
from mediation.outbox.events import emit
from mediation.stats import periods
from mediation.stats.enums import JobKind, JobStatus, ReportKind, ReportTrigger
from mediation.stats.events import RecomputeRequested
from mediation.stats.models import Job, StatsReport, queued_job


def months_of(
    records: list[tuple[int, dict[str, Any]]], dates: tuple[str, ...]
) -> set[tuple[int, int]]:
    """The months of the records' `dates` (dates or local date-times)."""
    out = set()
    for _, rec in records:
        for key in dates:
            d: date | None = rec.get(key)
            if d is not None:
                out.add((d.year, d.month))
    return out


async def queue_recomputes(
    session: AsyncSession,
    imp: ImportFile,
    months: set[tuple[int, int]],
    now: datetime,
) -> list[str]:
    if not months:
        return []
    reported = (
        await session.execute(
            select(StatsReport.year, StatsReport.month)
            .where(
                StatsReport.kind == ReportKind.monthly,
                tuple_(StatsReport.year, StatsReport.month).in_(sorted(months)),
            )
            .distinct()
        )
    ).all()
    queued = []
    for year, month in sorted(reported):
        if not periods.has_ended(year, month, now):
            continue
        busy = await session.scalar(
            select(Job.id).where(
                Job.year == year,
                Job.month == month,
                Job.status.in_([JobStatus.queued, JobStatus.running]),
            )
        )
        if busy is not None:
            continue  # a computation not yet started will see the imported rows
        job = Job(
            **queued_job(
                JobKind.stats_monthly,
                unit_id=imp.unit_id,
                unit_path=imp.unit_path,
                requested_by=("user", imp.uploaded_by_id, imp.uploaded_by_name),
                now=now,
                trigger=ReportTrigger.on_demand,
                year=year,
                month=month,
            )
        )
        job_id: uuid.UUID = job.id
        session.add(job)
        await session.flush()
        await emit(
            session,
            RecomputeRequested(
                job_id=job_id, year=year, month=periods.label(year, month), import_id=imp.id
            ),
            aggregate_id=job_id,
            occurred_at=now,
            unit_path=imp.unit_path,
            actor_id=imp.uploaded_by_id,
        )
        queued.append(periods.label(year, month))
    return queued
