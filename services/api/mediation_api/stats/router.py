"""Monthly statistics (月报): reports by node and channel, their versions, the 12-month trend,
the month-to-date view, CSV and XLSX exports, recomputation as a job, and the job resource."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.audit import chain as audit
from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.contracts.common import INT32_MAX
from mediation.stats.enums import StatsChannel
from mediation.stats.periods import FIRST_YEAR, LAST_YEAR, MONTH_PATTERN
from mediation_api.actions import ActionCall, action_route
from mediation_api.deps import ClockDep, ListSession, Session, require
from mediation_api.plain_routes import list_route
from mediation_api.problems import responses
from mediation_api.stats import exports
from mediation_api.stats.contracts import (
    JobOut,
    LiveStatsOut,
    MonthlyReportOut,
    ReportVersionOut,
    TrendOut,
)
from mediation_api.stats.service import ReportView, StatsService, job_out

router = APIRouter(tags=["statistics"])

Reader = Annotated[Principal, Depends(require(Permission.stats_read))]
Computer = Annotated[Principal, Depends(require(Permission.stats_compute))]

MonthQuery = Annotated[
    str | None,
    Query(
        pattern=MONTH_PATTERN,
        description="The month, YYYY-MM (Beijing time, 2000-01 to 2100-12); default: the "
        "month just ended. A month without a report is a 404 whose `remedy` says where to go "
        "instead (the month so far: `GET /stats/live`; an ended month: its recomputation).",
        examples=["2026-10"],
    ),
]
UnitQuery = Annotated[
    uuid.UUID | None,
    Query(description="The node (its whole subtree); default: the top of your jurisdiction."),
]
VersionQuery = Annotated[
    int | None,
    Query(ge=1, le=INT32_MAX, description="A version of the report; default: the latest."),
]
ChannelQuery = Annotated[
    StatsChannel, Query(description="The channel of the children's (or exported) figures.")
]
DepthQuery = Annotated[
    int,
    Query(ge=1, le=3, description="Levels below the node listed in the export (default 2)."),
]
Year = Annotated[int, Path(ge=FIRST_YEAR, le=LAST_YEAR, description="Year, e.g. 2026.")]
Month = Annotated[int, Path(ge=1, le=12, description="Month, 1 to 12.")]
JobId = Annotated[uuid.UUID, Path(description="The job's id.")]


async def _stats(session: ListSession, clock: ClockDep, principal: Reader) -> StatsService:
    """The reports as the caller may read them, from where lists are read (a replica)."""
    return StatsService(session, clock, principal)


Stats = Annotated[StatsService, Depends(_stats)]

_REPORT = (
    "Cases count at the node where they happened, rolled up the tree (a street's figures "
    "include its communities'); months are Asia/Shanghai calendar months. A node outside "
    "your jurisdiction is a 404; a node without any record in the month has zeros."
)


@router.get(
    "/stats/monthly",
    operation_id="stats-monthly-get",
    summary="A month's report for a node",
    description="Every indicator for the node, per mediation channel, and for its direct "
    f"children (for `channel`), from the latest version unless `version` is given. {_REPORT}",
    responses=responses(401, 403, 404, 422),
)
async def get_monthly(
    stats: Stats,
    month: MonthQuery = None,
    unit_id: UnitQuery = None,
    version: VersionQuery = None,
    channel: ChannelQuery = StatsChannel.all,
) -> MonthlyReportOut:
    return await stats.monthly(month, unit_id, version, channel)


list_route(
    router,
    "/stats/monthly/versions",
    params=[
        ("stats", Stats),
        ("month", Annotated[str, Query(pattern=MONTH_PATTERN, description="The month, YYYY-MM.")]),
    ],
    fetch=lambda a, limit, cursor: a["stats"].versions(a["month"], limit, cursor),
    out=ReportVersionOut,
    operation_id="stats-monthly-versions",
    summary="Versions of a month's report",
    description="Each computation of the month, newest first. Versions never change; the "
    "latest is the one served by default.",
    responses=responses(401, 403, 422),
)


@router.get(
    "/stats/monthly/trend",
    operation_id="stats-monthly-trend",
    summary="Twelve-month trend of a node",
    description="Cases received and resolved in each of the 12 months ending with `month`, "
    "from each month's latest report (counted from the cases for a month without one).",
    responses=responses(401, 403, 404, 422),
)
async def get_trend(
    stats: Stats,
    month: MonthQuery = None,
    unit_id: UnitQuery = None,
    channel: ChannelQuery = StatsChannel.all,
) -> TrendOut:
    return await stats.trend(month, unit_id, channel)


@router.get(
    "/stats/live",
    operation_id="stats-live",
    summary="Month to date, for dashboards",
    description="The current month so far, per channel for the node and for its children, "
    "compared with the same stretch of the previous month and of last year. Read from the "
    "snapshot the worker refreshes every few minutes (`as_of`), so it is cheap on every page "
    f"load. {_REPORT}",
    responses=responses(401, 403, 404, 422),
)
async def get_live(
    stats: Stats,
    response: Response,
    unit_id: UnitQuery = None,
    channel: ChannelQuery = StatsChannel.all,
) -> LiveStatsOut:
    response.headers["Cache-Control"] = "private, max-age=60"
    return await stats.live(unit_id, channel)


def _file_responses(media_type: str, what: str) -> dict[int | str, dict[str, object]]:
    return {
        200: {
            "description": what,
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        },
        **responses(401, 403, 404, 422),
    }


@dataclass(frozen=True)
class Export:
    """The report an export takes out (read where lists are read), and where its audit entry
    goes (the primary, with the request's transaction)."""

    service: StatsService
    view: ReportView
    primary: AsyncSession
    principal: Principal

    def file(self, body: bytes | str, media_type: str, fmt: str) -> Response:
        """The file, once its taking out is on the audit trail (who took which report out, in
        which form)."""
        view = self.view
        audit.record(
            self.primary,
            action="stats.exported",
            actor_id=self.principal.id,
            actor_name=self.principal.name,
            record_type="unit",
            record_id=view.node.id,
            format=fmt,
            month=f"{view.report.year}-{view.report.month:02d}",
            version=view.report.version,
        )
        disposition = exports.disposition(exports.naming(view), fmt)
        return Response(body, media_type=media_type, headers={"Content-Disposition": disposition})


async def _export(
    stats: Stats,
    primary: Session,
    month: MonthQuery = None,
    unit_id: UnitQuery = None,
    version: VersionQuery = None,
    channel: ChannelQuery = StatsChannel.all,
    depth: DepthQuery = 2,
) -> Export:
    view = await stats.view(month, unit_id, version, channel, depth)
    return Export(stats, view, primary, stats.principal)


ExportDep = Annotated[Export, Depends(_export)]


@router.get(
    "/stats/monthly/export.csv",
    operation_id="stats-monthly-export-csv",
    summary="Export a month's report as CSV",
    description="UTF-8 with a byte-order mark (Excel shows the Chinese), Chinese headers; the "
    "title line and the file name carry the district's name and the month (RFC 6266 "
    "`filename*`). One row for the node, then its subtree down to `depth` levels, for "
    f"`channel`; then the node's cases by category, intake mode and source. {_REPORT}",
    response_class=Response,
    responses=_file_responses("text/csv", "The report as CSV."),
)
async def export_csv(export: ExportDep) -> Response:
    return export.file(exports.to_csv(export.view), exports.CSV_TYPE, "csv")


@router.get(
    "/stats/monthly/export.xlsx",
    operation_id="stats-monthly-export-xlsx",
    summary="Export a month's report as XLSX",
    description="An Excel workbook with Chinese headers and the district's name and the month "
    "in the title and file name (RFC 6266 `filename*`): the node and its subtree, cases by "
    "category with a native column chart, the 12-month trend of received and resolved with a "
    f"native line chart, the node per channel, hotline and outreach. {_REPORT}",
    response_class=Response,
    responses=_file_responses(exports.XLSX_TYPE, "The report as an Excel workbook."),
)
async def export_xlsx(export: ExportDep) -> Response:
    view = export.view
    trend = await export.service.trend(None, view.node.id, StatsChannel.all, pinned=view.report)
    body = await run_in_threadpool(exports.to_xlsx, view, trend)  # CPU work off the loop
    return export.file(body, exports.XLSX_TYPE, "xlsx")


async def _recompute(call: ActionCall) -> Response:
    d = call.deps
    service = StatsService(d["session"], d["clock"], d["principal"])
    job, _ = await service.recompute(d["year"], d["month"])
    return await call.answer(job_out(job), 202, location=f"/api/v1/jobs/{job.id}")


action_route(
    router,
    "/stats/monthly/{year}/{month}/recompute",
    precondition=False,
    deps=[
        ("year", Year),
        ("month", Month),
        ("session", Session),
        ("clock", ClockDep),
        ("principal", Computer),
    ],
    handle=_recompute,
    operation_id="stats-monthly-recompute",
    summary="Recompute a month's report",
    description="Queues a computation of the month for the whole tree; the result is a new "
    "version (older ones stay readable). Answers 202 with the job to poll (`Location`); a job "
    "of the same month already queued or running is returned instead of a second one. The "
    "month must have ended. Supports `Idempotency-Key`.",
    status_code=202,
    response_model=JobOut,
    responses=responses(401, 403, 404, 409, 422),
)


@router.get(
    "/jobs/{job_id}",
    operation_id="jobs-get",
    summary="A background job",
    description="Status, progress (0 to 100), the current step and, once finished, the "
    "result (the report version made) or the error. Poll it after a 202.",
    responses=responses(401, 403, 404, 422),
)
async def get_job(job_id: JobId, session: Session, clock: ClockDep, principal: Reader) -> JobOut:
    return job_out(await StatsService(session, clock, principal).job(job_id))
