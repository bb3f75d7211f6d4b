"""Monthly statistics (月报): immutable computations and the background jobs that make them.

A computation (`StatsReport`) is written once, in one transaction, with its figures
(`StatsRow`, one per node of the jurisdiction tree and channel) and breakdowns
(`StatsBreakdown`); it is never changed afterwards. A monthly recomputation is a new version;
the latest is served and older ones stay readable. Rows are sparse: a node without any figure
in the month (nor in the months it is compared with) has no row, and reads show zeros for it.

Figures are rolled up: a node's row counts everything in its subtree, so a street's figures
are the sum of its communities' (plus what is placed at the street itself)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mediation.db import Base, IdMixin, TimestampMixin
from mediation.ids import uuid7
from mediation.org.models import enum_type, unit_path_index
from mediation.stats.enums import JobKind, JobStatus, ReportKind, ReportTrigger


class Job(IdMixin, TimestampMixin, Base):
    """A background job a person asked for (or the scheduler started), with its progress and
    result. Scoped like a record: it sits at the node it was asked for."""

    __tablename__ = "jobs"
    __table_args__ = (
        unit_path_index("jobs"),
        # The sweeper only looks at jobs that have not finished.
        Index(
            "ix_jobs_unfinished",
            "created_at",
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress_in_bounds"),
    )

    kind: Mapped[JobKind] = mapped_column(enum_type(JobKind, "job_kind"))
    status: Mapped[JobStatus] = mapped_column(enum_type(JobStatus, "job_status"))
    # The month and trigger of a statistics job; imports have none (`import_id` instead).
    trigger: Mapped[ReportTrigger | None] = mapped_column(
        enum_type(ReportTrigger, "report_trigger")
    )
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    unit_path: Mapped[str] = mapped_column(String(400))
    year: Mapped[int | None]
    month: Mapped[int | None]
    import_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("import_files.id"))
    progress: Mapped[int] = mapped_column(default=0)
    step: Mapped[str | None] = mapped_column(String(200))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    # "scheduled:2026-10": the scheduler's job for a month exists once, however often the
    # cron fires (several workers, a retry).
    dedupe_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    requested_by_kind: Mapped[str | None] = mapped_column(String(10))
    requested_by_id: Mapped[uuid.UUID | None]
    requested_by_name: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


def queued_job(
    kind: JobKind,
    *,
    unit_id: uuid.UUID,
    unit_path: str,
    requested_by: tuple[str | None, uuid.UUID | None, str | None],
    now: datetime,
    **fields: Any,
) -> dict[str, Any]:
    """The columns of a new job waiting for a worker, asked for at `unit_id` by
    `requested_by` (kind, id, name); `fields` are the kind's own (year, month, trigger,
    import_id, dedupe_key)."""
    by_kind, by_id, by_name = requested_by
    return {
        "id": uuid7(),
        "kind": kind,
        "status": JobStatus.queued,
        "unit_id": unit_id,
        "unit_path": unit_path,
        "progress": 0,
        "step": "排队中",
        "requested_by_kind": by_kind,
        "requested_by_id": by_id,
        "requested_by_name": by_name,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
        **fields,
    }


class StatsReport(IdMixin, Base):
    """One computation: a version of a month's report, or the month-to-date snapshot."""

    __tablename__ = "stats_reports"
    __table_args__ = (UniqueConstraint("kind", "year", "month", "version"),)

    kind: Mapped[ReportKind] = mapped_column(enum_type(ReportKind, "report_kind"))
    year: Mapped[int]
    month: Mapped[int]
    version: Mapped[int]
    trigger: Mapped[ReportTrigger] = mapped_column(enum_type(ReportTrigger, "report_trigger"))
    # [period_start, period_end): Asia/Shanghai calendar month (month to date for `live`).
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    computed_at: Mapped[datetime]
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id"))
    elapsed_ms: Mapped[int] = mapped_column(default=0)
    row_count: Mapped[int] = mapped_column(default=0)
    # Which record families were counted ("cases", "hotline", "outreach", "sessions").
    sources: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list)


def _count() -> Mapped[int]:
    return mapped_column(default=0, server_default=text("0"))


class StatsRow(Base):
    """The figures of one node (its whole subtree) and channel in one computation. Flows count
    what happened in the period: received/accepted/resolved/failed/withdrawn by the time of
    that step; agreements, amounts, days to resolution and prevention by the resolution time;
    overdue by the due time of the deadline missed. Cases count where they happened
    (`cases.unit_id`), whoever handles them."""

    __tablename__ = "stats_rows"

    # The report (stats_reports.id). Not a FOREIGN KEY: its per-row check cost seconds per
    # computation (380,000 rows at a million cases); statement-level triggers (migration 0011)
    # check each INSERT's reports at once and delete the rows with their report.
    report_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(30), primary_key=True)
    unit_path: Mapped[str] = mapped_column(String(400))

    received: Mapped[int] = _count()
    accepted: Mapped[int] = _count()
    resolved: Mapped[int] = _count()
    failed: Mapped[int] = _count()
    withdrawn: Mapped[int] = _count()
    intake_proactive: Mapped[int] = _count()
    intake_application: Mapped[int] = _count()
    intake_referral: Mapped[int] = _count()
    agreements: Mapped[int] = _count()
    agreement_amount: Mapped[Decimal] = mapped_column(
        Numeric(16, 2), default=0, server_default=text("0")
    )
    agreements_performed: Mapped[int] = _count()
    resolution_days_median: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    resolution_days_mean: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    overdue: Mapped[int] = _count()
    prevented_criminal_cases: Mapped[int] = _count()
    prevented_criminal_people: Mapped[int] = _count()
    prevented_group_petition_cases: Mapped[int] = _count()
    prevented_group_petition_people: Mapped[int] = _count()
    prevented_suicide_cases: Mapped[int] = _count()
    prevented_suicide_people: Mapped[int] = _count()
    prevented_group_fight_cases: Mapped[int] = _count()
    prevented_group_fight_people: Mapped[int] = _count()
    prevented_cases: Mapped[int] = _count()
    prevented_people: Mapped[int] = _count()
    follow_ups: Mapped[int] = _count()
    # Null when the database has no mediation sessions (their domain not migrated).
    sessions_held: Mapped[int | None]
    hotline_calls: Mapped[int] = _count()
    hotline_valid_calls: Mapped[int] = _count()
    hotline_risk_none: Mapped[int] = _count()
    hotline_risk_low: Mapped[int] = _count()
    hotline_risk_medium: Mapped[int] = _count()
    hotline_risk_high: Mapped[int] = _count()
    hotline_risk_unassessed: Mapped[int] = _count()
    hotline_high_risk: Mapped[int] = _count()
    hotline_follow_ups: Mapped[int] = _count()
    outreach_activities: Mapped[int] = _count()
    outreach_participants: Mapped[int] = _count()
    micro_classes: Mapped[int] = _count()
    micro_class_participants: Mapped[int] = _count()
    # Opening balances (totals of months without records) the figures include: 含期初汇总数.
    opening_balances: Mapped[int] = _count()
    # The trend indicators (TrendIndicator) of the previous month and of the same month a
    # year before, computed in the same run: {"received": 3, "agreement_amount": "500.00"}.
    previous_month: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    previous_year: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class StatsBreakdown(Base):
    """Counts per key of a breakdown (category, source, hotline topic) for a node and channel."""

    __tablename__ = "stats_breakdowns"

    # The report (stats_reports.id). Not a FOREIGN KEY: its per-row check cost seconds per
    # computation (380,000 rows at a million cases); statement-level triggers (migration 0011)
    # check each INSERT's reports at once and delete the rows with their report.
    report_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(30), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    count: Mapped[int]


# Figures of a row, in the order of the table (everything but keys and the comparisons).
FIGURES: tuple[str, ...] = tuple(
    c.name
    for c in StatsRow.__table__.columns
    if c.name
    not in {"report_id", "unit_id", "channel", "unit_path", "previous_month", "previous_year"}
)
