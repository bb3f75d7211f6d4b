"""Every query of the statistics API. Reports are read by primary key (report, node, channel);
scoping is done on the node asked for (`in_scope`), and everything below a node in scope is in
scope too. Jobs are scoped by their own unit path."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.principal import Principal
from mediation.auth.scope import in_scope, like_prefix
from mediation.clock import center_date
from mediation.org.enums import LEVEL_ORDER
from mediation.org.models import Unit
from mediation.reference.models import ReferenceItem
from mediation.stats.enums import JobStatus, ReportKind
from mediation.stats.models import Job, StatsBreakdown, StatsReport, StatsRow
from mediation_api.pagination import keyset_page

Key = tuple[uuid.UUID, str]  # (unit id, channel)


class StatsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- the tree -------------------------------------------------------------------------
    async def unit(self, unit_id: uuid.UUID) -> Unit | None:
        return await self.session.get(Unit, unit_id)

    async def unit_by_path(self, path: str) -> Unit | None:
        return (await self.session.scalars(select(Unit).where(Unit.path == path))).first()

    async def children(self, unit: Unit) -> list[Unit]:
        rows = await self.session.scalars(
            select(Unit).where(Unit.parent_id == unit.id).order_by(Unit.code)
        )
        return list(rows.all())

    async def subtree(self, unit: Unit, depth: int) -> list[Unit]:
        """The node and its descendants down to `depth` levels below it, in tree order."""
        start = LEVEL_ORDER.index(unit.level)
        levels = LEVEL_ORDER[start : start + depth + 1]
        rows = await self.session.scalars(
            select(Unit)
            .where(Unit.path.like(like_prefix(unit.path), escape="\\"), Unit.level.in_(levels))
            .order_by(Unit.path)
        )
        return list(rows.all())

    async def lineage(self, unit: Unit) -> list[Unit]:
        parts = [p for p in unit.path.split(".") if p]
        paths = [".".join(parts[: i + 1]) + "." for i in range(len(parts))]
        rows = await self.session.scalars(select(Unit).where(Unit.path.in_(paths)))
        return sorted(rows.all(), key=lambda u: len(u.path))

    # --- reports --------------------------------------------------------------------------
    async def report(
        self, kind: ReportKind, year: int, month: int, version: int | None = None
    ) -> StatsReport | None:
        stmt = select(StatsReport).where(
            StatsReport.kind == kind, StatsReport.year == year, StatsReport.month == month
        )
        if version is not None:
            stmt = stmt.where(StatsReport.version == version)
        return (await self.session.scalars(stmt.order_by(StatsReport.version.desc()))).first()

    async def latest_version(self, kind: ReportKind, year: int, month: int) -> int | None:
        return await self.session.scalar(
            select(func.max(StatsReport.version)).where(
                StatsReport.kind == kind, StatsReport.year == year, StatsReport.month == month
            )
        )

    async def versions(
        self, year: int, month: int, limit: int, cursor: str | None
    ) -> tuple[list[StatsReport], str | None]:
        """Newest first."""
        stmt = select(StatsReport).where(
            StatsReport.kind == ReportKind.monthly,
            StatsReport.year == year,
            StatsReport.month == month,
        )
        return await keyset_page(
            self.session, stmt, (StatsReport.version,), limit, cursor, newest=True
        )

    async def latest_reports(
        self, months: list[tuple[int, int]]
    ) -> dict[tuple[int, int], StatsReport]:
        """The newest version of each month that has a report."""
        if not months:
            return {}
        stmt = (
            select(StatsReport)
            .where(
                StatsReport.kind == ReportKind.monthly,
                func.make_date(StatsReport.year, StatsReport.month, 1).in_(
                    [datetime(y, m, 1).date() for y, m in months]
                ),
            )
            .order_by(StatsReport.year, StatsReport.month, StatsReport.version.desc())
            .ext(distinct_on(StatsReport.year, StatsReport.month))
        )
        return {(r.year, r.month): r for r in (await self.session.scalars(stmt)).all()}

    async def rows(
        self, report_ids: list[uuid.UUID], unit_ids: list[uuid.UUID], channels: list[str]
    ) -> dict[tuple[uuid.UUID, uuid.UUID, str], StatsRow]:
        """(report, unit, channel) -> row, for the rows that exist (the others are zeros)."""
        if not report_ids or not unit_ids:
            return {}
        rows = await self.session.scalars(
            select(StatsRow).where(
                StatsRow.report_id.in_(report_ids),
                StatsRow.unit_id.in_(unit_ids),
                StatsRow.channel.in_(channels),
            )
        )
        return {(r.report_id, r.unit_id, r.channel): r for r in rows.all()}

    async def breakdowns(
        self, report_id: uuid.UUID, unit_ids: list[uuid.UUID], channels: list[str]
    ) -> dict[Key, dict[str, dict[str, int]]]:
        """(unit, channel) -> dimension -> key -> count."""
        out: dict[Key, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
        if not unit_ids:
            return out
        b = StatsBreakdown
        rows = await self.session.execute(
            select(b.unit_id, b.channel, b.dimension, b.key, b.count).where(
                b.report_id == report_id, b.unit_id.in_(unit_ids), b.channel.in_(channels)
            )
        )
        for unit_id, channel, dim, key, count in rows.all():
            out[(unit_id, channel)][dim][key] = count
        return out

    async def labels(self, kind: str) -> list[tuple[str, str, bool]]:
        """(code, 中文, enabled) of a reference list, in display order."""
        r = ReferenceItem
        rows = await self.session.execute(
            select(r.code, r.label_zh, r.enabled)
            .where(r.kind == kind)
            .order_by(r.view_order, r.code)
        )
        return [(c, label, bool(e)) for c, label, e in rows.all()]

    async def counted_trend(
        self, unit: Unit, channel: str, start: datetime, end: datetime
    ) -> dict[str, tuple[int, int]]:
        """Received and resolved per month ("YYYY-MM") in [start, end), counted from the cases
        of the subtree directly, plus their opening balances as a report would add them: for
        months that have no report."""
        stmt = text(
            """
            SELECT m, sum(r)::int, sum(s)::int FROM (
              SELECT to_char(c.received_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') AS m,
                     1 AS r, 0 AS s
              FROM cases c JOIN units u ON u.id = c.unit_id
              WHERE u.path LIKE :prefix ESCAPE '\\' AND c.received_at >= :s AND c.received_at < :e
                AND (:ch = 'all' OR :ch = ANY(c.channels))
              UNION ALL
              SELECT to_char(c.resolved_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM'), 0, 1
              FROM cases c JOIN units u ON u.id = c.unit_id
              WHERE u.path LIKE :prefix ESCAPE '\\' AND c.resolved_at >= :s AND c.resolved_at < :e
                AND (:ch = 'all' OR :ch = ANY(c.channels))
                -- resolved, reopened and failed in the same month: failed, as the report says
                AND NOT coalesce(c.failed_at > c.resolved_at
                  AND to_char(c.failed_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')
                    = to_char(c.resolved_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM'), false)
              UNION ALL
              -- Opening balances, as the report adds them (channel `all` only).
              SELECT to_char(ob.month_start, 'YYYY-MM'), ob.received, ob.resolved
              FROM opening_balances ob
              WHERE ob.unit_path LIKE :prefix ESCAPE '\\' AND :ch = 'all'
                AND ob.month_start >= :ds AND ob.month_start < :de
            ) x GROUP BY m
            """
        )
        rows = await self.session.execute(
            stmt,
            {
                "prefix": like_prefix(unit.path),
                "s": start,
                "e": end,
                "ds": center_date(start),
                "de": center_date(end),
                "ch": channel,
            },
        )
        return {m: (r, s) for m, r, s in rows.all()}

    # --- jobs -----------------------------------------------------------------------------
    async def job(self, job_id: uuid.UUID, principal: Principal) -> Job | None:
        return (
            await self.session.scalars(
                select(Job).where(Job.id == job_id, in_scope(Job.unit_path, principal))
            )
        ).one_or_none()

    async def unfinished_job(self, year: int, month: int, principal: Principal) -> Job | None:
        """A job of this month still queued or running that the caller can see: asking again
        joins it (each job computes the whole tree)."""
        return (
            await self.session.scalars(
                select(Job)
                .where(
                    Job.year == year,
                    Job.month == month,
                    Job.status.in_([JobStatus.queued, JobStatus.running]),
                    in_scope(Job.unit_path, principal),
                )
                .order_by(Job.created_at.desc())
            )
        ).first()
