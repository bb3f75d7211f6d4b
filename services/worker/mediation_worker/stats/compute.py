"""One computation of the statistics, inside the caller's transaction: a report row, then the
figures and breakdowns of every node written by two INSERT ... SELECT statements
(`mediation_worker.stats.sql`). Nothing is read into Python but a few counts."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.ids import uuid7
from mediation.stats.enums import ReportKind, ReportTrigger
from mediation.stats.models import StatsReport
from mediation.stats.periods import Periods
from mediation_worker.stats import sql

Progress = Callable[[int, str], Awaitable[None]]
WORK_MEM = "256MB"
RANDOM_PAGE_COST = 1.1  # what SSDs and a cached database cost; the stock 4 is for disks


async def _nothing(percent: int, step: str) -> None:
    return None


def parameters(periods: Periods, now: datetime, report_id: uuid.UUID) -> dict[str, Any]:
    out: dict[str, Any] = {"report_id": report_id, "now": now}
    for prefix, w in (
        ("cur", periods.current),
        ("pm", periods.previous_month),
        ("py", periods.previous_year),
    ):
        out |= {f"{prefix}_s": w.start, f"{prefix}_e": w.end}
        out |= {f"{prefix}_ds": w.first, f"{prefix}_de": w.stop}
    return out


async def lock(session: AsyncSession, key: str) -> None:
    """Serialise computations of the same month (version numbers) until the transaction
    ends; other months run in parallel."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})


async def compute(
    session: AsyncSession,
    *,
    kind: ReportKind,
    trigger: ReportTrigger,
    year: int,
    month: int,
    periods: Periods,
    now: datetime,
    job_id: uuid.UUID | None = None,
    progress: Progress = _nothing,
) -> StatsReport:
    """Computes and stores one report; the caller commits."""
    started = time.perf_counter()
    # The statements are large (dozens of aggregates) but fast: PostgreSQL's JIT would spend
    # seconds compiling them (measured: 15 s of LLVM for a 0.3 s query), so not here.
    await session.execute(text("SET LOCAL jit = off"))
    # Sorting the facts of a month (hundreds of thousands of rows at a million cases) in
    # memory instead of spilling to disk at the default 4 MB.
    await session.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    # Plans made for the actual period bounds (a cached generic plan would not know them).
    await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    # The month's deadlines, visits and sessions find their case by primary key (tens of
    # thousands of lookups) instead of hashing all the cases: the stock random_page_cost (4,
    # spinning disks) made a full scan of the cases look cheaper (1 s per join at a million).
    await session.execute(text(f"SET LOCAL random_page_cost = {RANDOM_PAGE_COST}"))
    await lock(session, f"stats:{kind.value}:{year}-{month}")
    version = (
        await session.scalar(
            select(func.coalesce(func.max(StatsReport.version), 0)).where(
                StatsReport.kind == kind, StatsReport.year == year, StatsReport.month == month
            )
        )
    ) + 1
    sources = sql.SOURCES
    report = StatsReport(
        id=uuid7(),
        kind=kind,
        year=year,
        month=month,
        version=version,
        trigger=trigger,
        period_start=periods.current.start,
        period_end=periods.current.end,
        computed_at=now,
        job_id=job_id,
        sources=["cases", *sorted(sources)],
    )
    session.add(report)
    await session.flush()
    params = parameters(periods, now, report.id)
    await progress(20, "汇总案件、热线和宣传数据")
    rows = await session.execute(text(sql.rows_statement(sources)), params)
    await progress(70, "按纠纷类型、来源和热线主题分类")
    await session.execute(
        text(sql.breakdowns_statement(sources)),
        {k: params[k] for k in ("report_id", "cur_s", "cur_e", "cur_ds", "cur_de")},
    )
    report.row_count = rows.rowcount  # type: ignore[attr-defined]
    report.elapsed_ms = round((time.perf_counter() - started) * 1000)
    await session.flush()
    return report


async def drop_older_live(session: AsyncSession, keep: uuid.UUID) -> None:
    """Only the newest month-to-date snapshot is kept (rows go with it: ON DELETE CASCADE)."""
    await session.execute(
        delete(StatsReport).where(StatsReport.kind == ReportKind.live, StatsReport.id != keep)
    )
