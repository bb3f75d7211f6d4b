"""Reading reports for a node, and asking for a recomputation. A stored row holds counts; this
turns them into the contract (shares, rates, changes) for the few rows a page shows. Nodes
without a row in a report have zeros."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.cases.enums import CaseSource, IntakeMode, PreventionKind
from mediation.clock import CENTER_TZ, Clock
from mediation.contracts.common import Remedy
from mediation.errors import DomainError, NotFound, Unprocessable
from mediation.hotline.enums import RiskLevel
from mediation.imports.contracts import ImportJobResult
from mediation.imports.enums import ImportStatus
from mediation.org.enums import UnitLevel
from mediation.org.models import Unit
from mediation.outbox.events import emit
from mediation.reference.data import ReferenceKind
from mediation.stats import periods
from mediation.stats.enums import (
    BreakdownDimension,
    JobKind,
    JobStatus,
    ReportKind,
    ReportTrigger,
    StatsChannel,
    TrendIndicator,
)
from mediation.stats.events import RecomputeRequested
from mediation.stats.models import Job, StatsReport, StatsRow, queued_job
from mediation.stats.problems import MONTH_NOT_BEGUN, MONTH_NOT_ENDED
from mediation_api.shown import shown
from mediation_api.stats.contracts import (
    CaseFigures,
    Change,
    Figures,
    HotlineFigures,
    JobOut,
    JobResult,
    LiveStatsOut,
    MonthlyReportOut,
    OutreachFigures,
    PreventionFigure,
    Share,
    StatsUnit,
    TrendOut,
    TrendPoint,
)
from mediation_api.stats.repository import StatsRepository

NOT_FOUND_UNIT = "No unit with this id in your jurisdiction."
API = "/api/v1"
CHANNELS = [c.value for c in StatsChannel]
UNASSESSED = "unassessed"
# Indicators that exist only on channel `all`, or only when their records are counted.
_ALL_ONLY = {
    TrendIndicator.hotline_calls,
    TrendIndicator.hotline_high_risk,
    TrendIndicator.outreach_activities,
    TrendIndicator.outreach_participants,
}
_NEEDS = {
    TrendIndicator.hotline_calls: "hotline",
    TrendIndicator.hotline_high_risk: "hotline",
    TrendIndicator.outreach_activities: "outreach",
    TrendIndicator.outreach_participants: "outreach",
    TrendIndicator.sessions_held: "sessions",
}


@dataclass
class Labels:
    """Reference lists with labels, in display order (extensible by administrators)."""

    categories: list[tuple[str, str, bool]] = field(default_factory=list)
    topics: list[tuple[str, str, bool]] = field(default_factory=list)


def _remedy(method: str, path: str, query: dict[str, str]) -> Remedy:
    return Remedy(method=method, href=API + path + (f"?{urlencode(query)}" if query else ""))


COVERED = "reports cover months up to the current one"


def not_begun(year: int, month: int, now: datetime, instead: str) -> Unprocessable | None:
    """The refusal of a month still to come (its figures would read as zeros), saying what
    the endpoint covers `instead`; None for the current month or an earlier one."""
    if (year, month) <= periods.current_month(now):
        return None
    return Unprocessable(
        f"{periods.label(year, month)} has not begun; {instead}.",
        field="query.month",
        code=MONTH_NOT_BEGUN,
    )


def unit_out(unit: Unit) -> StatsUnit:
    return StatsUnit(id=unit.id, code=unit.code, name=unit.name, level=unit.level)


def _share(count: int, total: int) -> float | None:
    return round(count / total, 4) if total else None


def _shares(counts: dict[str, int], total: int, listed: list[tuple[str, str, bool]]) -> list[Share]:
    """Every enabled entry (zeros too), then any other key the data holds (a disabled or
    removed entry), so the counts always add up."""
    out = []
    known = set()
    for code, label, enabled in listed:
        known.add(code)
        if enabled or counts.get(code):
            n = counts.get(code, 0)
            out.append(Share(key=code, label_zh=label, count=n, share=_share(n, total)))
    for code in sorted(set(counts) - known):
        n = counts[code]
        out.append(Share(key=code, label_zh=code, count=n, share=_share(n, total)))
    return out


def _rate(resolved: float, failed: float) -> float | None:
    concluded = resolved + failed
    return round(resolved / concluded, 4) if concluded else None


class _Zero:
    """Stands in for a node without a row: every figure zero."""

    def __getattr__(self, name: str) -> Any:
        if name in ("resolution_days_median", "resolution_days_mean", "sessions_held"):
            return None
        if name in ("previous_month", "previous_year"):
            return {}
        return 0


def _changes(row: Any, channel: StatsChannel, counted: set[str]) -> list[Change]:
    out = []
    for ind in TrendIndicator:
        if channel is not StatsChannel.all and ind in _ALL_ONLY:
            continue
        if ind in _NEEDS and _NEEDS[ind] not in counted:
            continue
        prev_m: dict[str, Any] = row.previous_month or {}
        prev_y: dict[str, Any] = row.previous_year or {}
        if ind is TrendIndicator.success_rate:
            cur = _rate(row.resolved, row.failed)
            pm = _rate(float(prev_m.get("resolved", 0)), float(prev_m.get("failed", 0)))
            py = _rate(float(prev_y.get("resolved", 0)), float(prev_y.get("failed", 0)))

            def diff(a: float | None, b: float | None) -> float | None:
                return None if a is None or b is None else round(a - b, 4)

            mom, yoy = diff(cur, pm), diff(cur, py)
        else:
            cur = float(getattr(row, ind.value) or 0)
            pm = float(prev_m.get(ind.value, 0))
            py = float(prev_y.get(ind.value, 0))

            def ratio(a: float | None, b: float | None) -> float | None:
                return None if a is None or not b else round((a - b) / b, 4)

            mom, yoy = ratio(cur, pm), ratio(cur, py)
        out.append(
            Change(
                indicator=ind,
                label_zh=ind.label_zh,
                current=cur,
                previous_month=pm,
                previous_year=py,
                month_on_month=mom,
                year_on_year=yoy,
            )
        )
    return out


def build_figures(
    unit: Unit,
    channel: StatsChannel,
    row: StatsRow | None,
    breakdown: dict[str, dict[str, int]],
    labels: Labels,
    counted: set[str],
) -> Figures:
    r: Any = row if row is not None else _Zero()
    received = r.received
    categories = breakdown.get(BreakdownDimension.category.value, {})
    sources = breakdown.get(BreakdownDimension.source.value, {})
    cases = CaseFigures(
        received=received,
        accepted=r.accepted,
        resolved=r.resolved,
        failed=r.failed,
        withdrawn=r.withdrawn,
        success_rate=_rate(r.resolved, r.failed),
        agreements=r.agreements,
        agreement_amount=Decimal(r.agreement_amount).quantize(Decimal("0.01")),
        agreements_performed=r.agreements_performed,
        resolution_days_median=r.resolution_days_median,
        resolution_days_mean=r.resolution_days_mean,
        overdue=r.overdue,
        follow_ups=r.follow_ups,
        sessions_held=(r.sessions_held or 0) if "sessions" in counted else None,
        intake=[
            Share(
                key=m.value,
                label_zh=m.label_zh,
                count=getattr(r, f"intake_{m.value}"),
                share=_share(getattr(r, f"intake_{m.value}"), received),
            )
            for m in IntakeMode
        ],
        sources=_shares(sources, received, [(s.value, s.label_zh, True) for s in CaseSource]),
        categories=_shares(categories, received, labels.categories),
        prevention=[
            PreventionFigure(
                kind=k,
                label_zh=k.label_zh,
                cases=getattr(r, f"prevented_{k.value}_cases"),
                people=getattr(r, f"prevented_{k.value}_people"),
            )
            for k in PreventionKind
        ],
        prevented_cases=r.prevented_cases,
        prevented_people=r.prevented_people,
    )
    hotline = outreach = None
    if channel is StatsChannel.all and "hotline" in counted:
        calls = r.hotline_calls
        risks = [(lv.value, lv.label_zh, True) for lv in RiskLevel] + [(UNASSESSED, "未评估", True)]
        hotline = HotlineFigures(
            calls=calls,
            valid_calls=r.hotline_valid_calls,
            high_risk=r.hotline_high_risk,
            follow_ups_done=r.hotline_follow_ups,
            by_risk=_shares(
                {code: getattr(r, f"hotline_risk_{code}") for code, _, _ in risks}, calls, risks
            ),
            by_topic=_shares(
                breakdown.get(BreakdownDimension.hotline_topic.value, {}), calls, labels.topics
            ),
        )
    if channel is StatsChannel.all and "outreach" in counted:
        outreach = OutreachFigures(
            activities=r.outreach_activities,
            participants=r.outreach_participants,
            micro_classes=r.micro_classes,
            micro_class_participants=r.micro_class_participants,
        )
    return Figures(
        unit=unit_out(unit),
        channel=channel,
        cases=cases,
        hotline=hotline,
        outreach=outreach,
        changes=_changes(r, channel, counted),
        opening_balances=r.opening_balances,
    )


@dataclass
class ReportView:
    """What a page or an export shows: one report, a node, and figures of some nodes."""

    report: StatsReport
    latest_version: int
    node: Unit
    lineage: list[Unit]
    figures: list[Figures]  # the node, per channel
    others: list[Figures]  # children (or the subtree for exports), for one channel


def job_out(job: Job) -> JobOut:
    result = None
    imported = None
    if job.import_id is not None and job.result:
        r = job.result
        imported = ImportJobResult(
            import_id=job.import_id,
            status=ImportStatus(str(r["status"])),
            rows=int(r["rows"]),
            problem_count=int(r["problem_count"]),
            created=r.get("created"),
            recomputed_months=list(r.get("recomputed_months") or []),
            href=f"/api/v1/imports/{job.import_id}",
        )
    elif job.status is JobStatus.succeeded and job.result:
        r = job.result
        result = JobResult(
            report_id=uuid.UUID(str(r["report_id"])),
            month=str(r["month"]),
            version=int(r["version"]),
            rows=int(r["rows"]),
            elapsed_ms=int(r["elapsed_ms"]),
            href=f"/api/v1/stats/monthly?month={r['month']}&version={r['version']}",
        )
    return shown(
        JobOut,
        job,
        month=periods.label(job.year, job.month) if job.year and job.month else None,
        result=result,
        import_result=imported,
    )


class StatsService:
    def __init__(self, session: AsyncSession, clock: Clock, principal: Principal) -> None:
        self.session = session
        self.clock = clock
        self.principal = principal
        self.repo = StatsRepository(session)

    # --- which node, which month ----------------------------------------------------------
    async def node(self, unit_id: uuid.UUID | None) -> Unit:
        """The node asked for, or the top of the caller's jurisdiction; outside it: 404."""
        if unit_id is None:
            if not self.principal.scope_paths:
                raise NotFound(NOT_FOUND_UNIT)
            unit = await self.repo.unit_by_path(self.principal.scope_paths[0])
        else:
            unit = await self.repo.unit(unit_id)
        if unit is None or not self.principal.in_scope(unit.path):
            raise NotFound(NOT_FOUND_UNIT)
        return unit

    def month(self, value: str | None) -> tuple[int, int]:
        if value is None:
            return periods.month_just_ended(self.clock.now())
        return periods.parse(value)

    async def labels(self) -> Labels:
        return Labels(
            categories=await self.repo.labels(ReferenceKind.dispute_category.value),
            topics=await self.repo.labels(ReferenceKind.hotline_topic.value),
        )

    async def _figures(
        self,
        report: StatsReport | None,
        units: list[Unit],
        channels: list[StatsChannel],
        labels: Labels,
    ) -> list[Figures]:
        """Figures of each unit × channel (units outer), zeros where nothing is stored."""
        counted = set(report.sources) if report else set()
        ids = [u.id for u in units]
        names = [c.value for c in channels]
        rows = await self.repo.rows([report.id], ids, names) if report else {}
        bds = await self.repo.breakdowns(report.id, ids, names) if report else {}
        return [
            build_figures(
                u,
                ch,
                rows.get((report.id, u.id, ch.value)) if report else None,
                bds.get((u.id, ch.value), {}),
                labels,
                counted,
            )
            for u in units
            for ch in channels
        ]

    # --- reading --------------------------------------------------------------------------
    async def view(
        self,
        month: str | None,
        unit_id: uuid.UUID | None,
        version: int | None,
        channel: StatsChannel,
        depth: int | None = None,
    ) -> ReportView:
        """A stored monthly report for a node: per channel for the node, and for `channel`
        its children (or its subtree down to `depth` levels, for exports)."""
        node = await self.node(unit_id)
        year, mon = self.month(month)
        report = await self.repo.report(ReportKind.monthly, year, mon, version)
        if report is None:
            raise await self._no_report(year, mon, version, unit_id)
        latest = await self.repo.latest_version(ReportKind.monthly, year, mon) or report.version
        labels = await self.labels()
        others = await self.repo.subtree(node, depth) if depth else await self.repo.children(node)
        return ReportView(
            report=report,
            latest_version=latest,
            node=node,
            lineage=await self.repo.lineage(node),
            figures=await self._figures(report, [node], list(StatsChannel), labels),
            others=await self._figures(report, others, [channel], labels),
        )

    async def _no_report(
        self, year: int, mon: int, version: int | None, unit_id: uuid.UUID | None
    ) -> DomainError:
        """Why a month has no report, with a request that works instead (`remedy`)."""
        month = periods.label(year, mon)
        now = self.clock.now()
        node = {"unit_id": str(unit_id)} if unit_id else {}
        latest = await self.repo.latest_version(ReportKind.monthly, year, mon)
        if version is not None and latest is not None:
            return NotFound(
                f"There is no version {version} of the report for {month}; the latest is "
                f"version {latest}. Its versions: GET /api/v1/stats/monthly/versions.",
                remedy=_remedy("GET", "/stats/monthly/versions", {"month": month}),
            )
        refusal = not_begun(year, mon, now, COVERED)
        if refusal is not None:
            return refusal
        if not periods.has_ended(year, mon, now):
            return NotFound(
                f"{month} has not ended: its report is made at 01:00 on the 1st of the next "
                "month. Its figures so far are at GET /api/v1/stats/live.",
                remedy=_remedy("GET", "/stats/live", node),
            )
        if self.principal.can(Permission.stats_compute):
            return NotFound(
                f"There is no report for {month} yet (the scheduled one is made at 01:00 on the "
                f"1st for the month just ended). Ask for one with POST "
                f"{API}/stats/monthly/{year}/{mon}/recompute and poll the job it answers.",
                remedy=_remedy("POST", f"/stats/monthly/{year}/{mon}/recompute", {}),
            )
        return NotFound(
            f"There is no report for {month} yet (the scheduled one is made at 01:00 on the 1st "
            "for the month just ended); someone holding stats:compute (a supervisor) can make "
            "one now. Cases received and resolved that month, counted from the cases: "
            "GET /api/v1/stats/monthly/trend.",
            remedy=_remedy("GET", "/stats/monthly/trend", {"month": month, **node}),
        )

    async def monthly(
        self,
        month: str | None,
        unit_id: uuid.UUID | None,
        version: int | None,
        channel: StatsChannel,
    ) -> MonthlyReportOut:
        v = await self.view(month, unit_id, version, channel)
        r = v.report
        return shown(
            MonthlyReportOut,
            r,
            month=periods.label(r.year, r.month),
            latest_version=v.latest_version,
            counted=list(r.sources),
            unit=unit_out(v.node),
            figures=v.figures,
            children=v.others,
        )

    async def live(self, unit_id: uuid.UUID | None, channel: StatsChannel) -> LiveStatsOut:
        node = await self.node(unit_id)
        now = self.clock.now()
        year, mon = periods.current_month(now)
        report = await self.repo.report(ReportKind.live, year, mon)
        labels = await self.labels()
        children = await self.repo.children(node)
        return LiveStatsOut(
            month=periods.label(year, mon),
            as_of=report.computed_at if report else None,
            period_start=periods.month_start(year, mon),
            period_end=report.period_end if report else None,
            unit=unit_out(node),
            figures=await self._figures(report, [node], list(StatsChannel), labels),
            children=await self._figures(report, children, [channel], labels),
        )

    async def versions(
        self, month: str, limit: int, cursor: str | None
    ) -> tuple[list[StatsReport], str | None]:
        year, mon = periods.parse(month)
        refusal = not_begun(year, mon, self.clock.now(), COVERED)
        if refusal is not None:
            raise refusal
        return await self.repo.versions(year, mon, limit, cursor)

    async def trend(
        self,
        month: str | None,
        unit_id: uuid.UUID | None,
        channel: StatsChannel,
        pinned: StatsReport | None = None,
    ) -> TrendOut:
        """The 12 months ending with `month`: each from its newest report (the month itself
        from `pinned` when given), or counted from the cases when the month has none."""
        node = await self.node(unit_id)
        year, mon = (pinned.year, pinned.month) if pinned else self.month(month)
        refusal = not_begun(
            year, mon, self.clock.now(), "the trend ends with the current month at the latest"
        )
        if refusal is not None:
            raise refusal
        months = periods.last_months(year, mon, 12)
        reports = await self.repo.latest_reports(months)
        if pinned is not None:
            reports[(pinned.year, pinned.month)] = pinned
        rows = await self.repo.rows([r.id for r in reports.values()], [node.id], [channel.value])
        missing = [m for m in months if m not in reports]
        counted: dict[str, tuple[int, int]] = {}
        if missing:
            counted = await self.repo.counted_trend(
                node,
                channel.value,
                periods.month_window(*missing[0]).start,
                periods.month_window(*missing[-1]).end,
            )
        points = []
        for y, m in months:
            key = periods.label(y, m)
            report = reports.get((y, m))
            if report is not None:
                row = rows.get((report.id, node.id, channel.value))
                points.append(
                    TrendPoint(
                        month=key,
                        received=row.received if row else 0,
                        resolved=row.resolved if row else 0,
                        version=report.version,
                    )
                )
            else:
                received, resolved = counted.get(key, (0, 0))
                points.append(
                    TrendPoint(month=key, received=received, resolved=resolved, version=None)
                )
        return TrendOut(unit=unit_out(node), channel=channel, points=points)

    # --- jobs -----------------------------------------------------------------------------
    async def job(self, job_id: uuid.UUID) -> Job:
        job = await self.repo.job(job_id, self.principal)
        if job is None:
            raise NotFound("No job with this id in your jurisdiction.")
        return job

    async def recompute(self, year: int, month: int) -> tuple[Job, bool]:
        """(job, created). A job of the month already queued or running is joined."""
        now = self.clock.now()
        if not periods.has_ended(year, month, now):
            raise Unprocessable(
                f"{periods.label(year, month)} has not ended yet; its figures so far are at "
                "GET /api/v1/stats/live.",
                field="path.month",
                code=MONTH_NOT_ENDED,
            )
        existing = await self.repo.unfinished_job(year, month, self.principal)
        if existing is not None:
            return existing, False
        home = await self.node(None)
        p = self.principal
        job = Job(
            **queued_job(
                JobKind.stats_monthly,
                unit_id=home.id,
                unit_path=home.path,
                requested_by=p.requester,
                now=now,
                trigger=ReportTrigger.on_demand,
                year=year,
                month=month,
            )
        )
        self.session.add(job)
        await self.session.flush()
        await emit(
            self.session,
            RecomputeRequested(job_id=job.id, year=year, month=periods.label(year, month)),
            aggregate_id=job.id,
            occurred_at=now,
            unit_path=job.unit_path,
            actor_id=p.id,
        )
        return job, True


def month_title(year: int, month: int) -> str:
    return f"{year}年{month}月"


def place_name(lineage: list[Unit]) -> str:
    """The district's name and the node's below it ("铁西区北沟街道"); a city is itself."""
    start = next(
        (i for i, u in enumerate(lineage) if u.level is UnitLevel.district), len(lineage) - 1
    )
    return "".join(u.name for u in lineage[start:])


def as_of(when: datetime) -> str:
    return when.astimezone(CENTER_TZ).strftime("%Y-%m-%d %H:%M")
