"""API bodies of the monthly statistics and of background jobs."""

from __future__ import annotations

import uuid

from pydantic import Field

from mediation.cases.enums import PreventionKind
from mediation.contracts.common import Contract, DecimalText, Instant
from mediation.imports.contracts import ImportJobResult
from mediation.org.enums import UnitLevel
from mediation.stats.enums import (
    JobKind,
    JobStatus,
    ReportTrigger,
    StatsChannel,
    TrendIndicator,
)


class StatsUnit(Contract):
    """A node of the jurisdiction tree the figures are for (its whole subtree)."""

    id: uuid.UUID = Field(description="Unit id.")
    code: str = Field(description="Administrative code.")
    name: str = Field(description="Name, e.g. 北沟街道.")
    level: UnitLevel = Field(description="Level in the tree.")


class Share(Contract):
    """A count and its share of the whole (null share when the whole is zero)."""

    key: str = Field(description="The value counted (a code of an enum or reference list).")
    label_zh: str = Field(description="Its Chinese label.")
    count: int = Field(description="How many.")
    share: float | None = Field(description="count / total, 0 to 1, four decimals.")


class PreventionFigure(Contract):
    """Disputes resolved in the month that carried a prevention flag (预防), and the people
    the flag concerned."""

    kind: PreventionKind = Field(description="What was prevented.")
    label_zh: str = Field(description="Chinese label, e.g. 民转刑.")
    cases: int = Field(description="Cases.")
    people: int = Field(description="People concerned.")


class CaseFigures(Contract):
    """Dispute cases. Each count is of the step taken in the month (a case received in
    September and resolved in October is resolved in October). Cases count at the node where
    they happened, whoever handles them."""

    received: int = Field(description="Received (收案/登记) in the month.")
    accepted: int = Field(description="Accepted (受理) in the month.")
    resolved: int = Field(description="Resolved with an agreement (调解成功) in the month.")
    failed: int = Field(description="Mediation failed (调解不成) in the month.")
    withdrawn: int = Field(description="Withdrawn (撤回) in the month.")
    success_rate: float | None = Field(
        description="调解成功率: resolved / (resolved + failed) among mediations concluded in "
        "the month; null when none was concluded."
    )
    agreements: int = Field(description="Agreements of the cases resolved in the month.")
    agreement_amount: DecimalText = Field(
        description="协议涉及金额: amount covered by those agreements (yuan)."
    )
    agreements_performed: int = Field(
        description="Those agreements fully performed (已履行) when the report was computed."
    )
    resolution_days_median: DecimalText | None = Field(
        description="Median days from receipt to resolution of the cases resolved in the month."
    )
    resolution_days_mean: DecimalText | None = Field(description="Mean of the same.")
    overdue: int = Field(
        description="Cases with a deadline that fell due in the month and was missed."
    )
    follow_ups: int = Field(description="Follow-up visits (回访) made in the month.")
    sessions_held: int | None = Field(
        description="Mediation sessions held in the month; null where sessions are not counted."
    )
    intake: list[Share] = Field(
        description="Cases received by intake mode (主动调解, 申请调解, 委托移送), share of "
        "received."
    )
    sources: list[Share] = Field(description="Cases received by source, share of received.")
    categories: list[Share] = Field(
        description="Cases received by dispute category (纠纷类型), share of received."
    )
    prevention: list[PreventionFigure] = Field(description="Prevention by kind.")
    prevented_cases: int = Field(description="Cases with at least one prevention flag.")
    prevented_people: int = Field(description="People concerned, all flags added.")


class HotlineFigures(Contract):
    """Psychological hotline calls taken in the month at the workstations of the subtree.
    Counts only: nothing about any caller."""

    calls: int = Field(description="Calls taken.")
    valid_calls: int = Field(description="Valid calls (有效来电).")
    high_risk: int = Field(description="High-risk calls: level high or imminent risk.")
    follow_ups_done: int = Field(description="Follow-ups done in the month.")
    by_risk: list[Share] = Field(
        description="Calls by risk level (`unassessed`: no assessment), share of calls."
    )
    by_topic: list[Share] = Field(description="Calls by topic, share of calls.")


class OutreachFigures(Contract):
    """Legal-awareness activities and public micro-classes held in the month."""

    activities: int = Field(description="Activities (法治宣传).")
    participants: int = Field(description="Their participants.")
    micro_classes: int = Field(description="Micro-classes (公益微课).")
    micro_class_participants: int = Field(description="Their participants.")


class Change(Contract):
    """An indicator beside the previous month (环比) and the same month a year before (同比).
    For the success rate the changes are differences of rates (0.1 = ten percentage points)."""

    indicator: TrendIndicator = Field(description="Which indicator.")
    label_zh: str = Field(description="Its Chinese label.")
    current: float | None = Field(description="This period.")
    previous_month: float | None = Field(description="The month before.")
    previous_year: float | None = Field(description="The same month a year before.")
    month_on_month: float | None = Field(
        description="环比: (current - previous) / previous, four decimals; for the rate, the "
        "difference; null when the previous value is 0 or missing."
    )
    year_on_year: float | None = Field(description="同比, likewise.")


class Figures(Contract):
    """Every indicator of one node (its subtree) and channel."""

    unit: StatsUnit = Field(description="The node.")
    channel: StatsChannel = Field(description="All cases, or one mediation channel.")
    cases: CaseFigures = Field(description="Dispute cases.")
    hotline: HotlineFigures | None = Field(description="Hotline (channel `all` only).")
    outreach: OutreachFigures | None = Field(description="Outreach (channel `all` only).")
    changes: list[Change] = Field(description="Month-on-month and year-on-year changes.")
    opening_balances: int = Field(
        description="How many opening balances (a unit's month kept only as totals: "
        "`/stats/opening-balances`) the figures include; reports then say 含期初汇总数. 0: "
        "the figures count records only."
    )


class MonthlyReportOut(Contract):
    """One version of a month's report for a node: its figures per channel, and its
    children's figures for one channel."""

    month: str = Field(description="The month, YYYY-MM (Beijing time).")
    version: int = Field(description="This version (1 is the first computation).")
    latest_version: int = Field(description="The newest version of this month.")
    trigger: ReportTrigger = Field(description="Scheduled or recomputed on request.")
    computed_at: Instant = Field(description="When it was computed.")
    period_start: Instant = Field(description="Start of the month (inclusive).")
    period_end: Instant = Field(description="End of the month (exclusive).")
    counted: list[str] = Field(
        description="Record families counted: cases, hotline, outreach, sessions."
    )
    unit: StatsUnit = Field(description="The node.")
    figures: list[Figures] = Field(description="The node: channel `all`, then each channel.")
    children: list[Figures] = Field(description="Its direct children, for the channel asked.")


class LiveStatsOut(Contract):
    """Month to date, from the snapshot the worker refreshes every few minutes. Changes
    compare with the same stretch of the previous month and of the same month last year."""

    month: str = Field(description="The current month, YYYY-MM.")
    as_of: Instant | None = Field(
        description="When the snapshot was computed; null when none exists for this month yet "
        "(all figures are then zero)."
    )
    period_start: Instant = Field(description="Start of the month.")
    period_end: Instant | None = Field(description="The snapshot's end (its `as_of`).")
    unit: StatsUnit = Field(description="The node.")
    figures: list[Figures] = Field(description="The node: channel `all`, then each channel.")
    children: list[Figures] = Field(description="Its direct children, for the channel asked.")


class ReportVersionOut(Contract):
    """One computation of a month's report."""

    version: int = Field(description="Version number.")
    trigger: ReportTrigger = Field(description="Scheduled or recomputed on request.")
    computed_at: Instant = Field(description="When.")
    job_id: uuid.UUID | None = Field(description="The job that computed it.")
    row_count: int = Field(description="Rows stored (nodes × channels with any figure).")
    elapsed_ms: int = Field(description="Computation time in milliseconds.")


class TrendPoint(Contract):
    """One month of the 12-month trend."""

    month: str = Field(description="YYYY-MM.")
    received: int = Field(description="Cases received.")
    resolved: int = Field(description="Cases resolved.")
    version: int | None = Field(
        description="The report version the figures come from; null when no report exists "
        "for the month and they were counted from the cases directly."
    )


class TrendOut(Contract):
    """Cases received and resolved over the 12 months ending with a month."""

    unit: StatsUnit = Field(description="The node.")
    channel: StatsChannel = Field(description="The channel.")
    points: list[TrendPoint] = Field(description="Oldest first.")


class JobResult(Contract):
    """What a finished statistics job produced."""

    report_id: uuid.UUID = Field(description="The stored report.")
    month: str = Field(description="YYYY-MM.")
    version: int = Field(description="Its version.")
    rows: int = Field(description="Rows stored.")
    elapsed_ms: int = Field(description="Computation time in milliseconds.")
    href: str = Field(description="Where to read it.")


class JobOut(Contract):
    """A background job: poll it until `status` is `succeeded` or `failed`."""

    id: uuid.UUID = Field(description="Job id.")
    kind: JobKind = Field(description="What it does.")
    status: JobStatus = Field(description="Where it stands.")
    progress: int = Field(description="0 to 100.")
    step: str | None = Field(description="What it is doing now (Chinese).")
    month: str | None = Field(description="The month computed, YYYY-MM (statistics jobs).")
    trigger: ReportTrigger | None = Field(description="Scheduled or on request (statistics).")
    requested_by_name: str | None = Field(description="Who asked.")
    created_at: Instant = Field(description="When it was asked for.")
    started_at: Instant | None = Field(description="When it started.")
    finished_at: Instant | None = Field(description="When it finished.")
    result: JobResult | None = Field(description="The report made (when succeeded).")
    import_result: ImportJobResult | None = Field(
        None, description="What an import job did (import jobs, when finished)."
    )
    error: str | None = Field(description="Why it failed (when failed).")
