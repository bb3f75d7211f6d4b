"""After a commit: the past months whose monthly report already exists and that the imported
records fall in are recomputed (a new version each), so reports count the history.
Months never reported need nothing: their first report will count it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.ids import uuid7
from mediation.imports.models import ImportFile
from mediation.outbox.events import emit
from mediation.stats import periods
from mediation.stats.enums import JobKind, JobStatus, ReportKind, ReportTrigger
from mediation.stats.events import RecomputeRequested
from mediation.stats.models import Job, StatsReport


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
        job_id: uuid.UUID = uuid7()
        session.add(
            Job(
                id=job_id,
                kind=JobKind.stats_monthly,
                status=JobStatus.queued,
                trigger=ReportTrigger.on_demand,
                unit_id=imp.unit_id,
                unit_path=imp.unit_path,
                year=year,
                month=month,
                progress=0,
                step="排队中",
                requested_by_kind="user",
                requested_by_id=imp.uploaded_by_id,
                requested_by_name=imp.uploaded_by_name,
                attempts=0,
                created_at=now,
                updated_at=now,
            )
        )
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
