"""Enumerations of the monthly statistics (月报) and of background jobs, with Chinese labels."""

from __future__ import annotations

from mediation.enums import LabelledEnum, labelled


@labelled
class StatsChannel(LabelledEnum):
    """A row of figures: every case (`all`), or the cases of one mediation channel. A joint
    mediation (联合调解) counts in each of its channels, once in `all`; hotline and outreach
    figures exist only on `all`."""

    all = "all", "全部", "All cases"
    people = "people", "人民调解", "People's mediation"
    police_joint = "police_joint", "警民联调", "Police-civilian joint mediation"
    judicial = "judicial", "司法调解", "Judicial mediation"
    psychological = "psychological", "心理疏导", "Psychological counseling"


@labelled
class ReportKind(LabelledEnum):
    """A stored computation: a versioned monthly report, or the month-to-date snapshot."""

    monthly = "monthly", "月报", "Monthly report (versioned)"
    live = "live", "本月实时", "Month-to-date snapshot"


@labelled
class ReportTrigger(LabelledEnum):
    """Why a computation ran."""

    scheduled = "scheduled", "定时生成", "Scheduled (01:00 on the 1st, Beijing time)"
    on_demand = "on_demand", "手动重算", "Recomputed on request"
    live = "live", "实时刷新", "Month-to-date refresh"


@labelled
class JobKind(LabelledEnum):
    """What a background job does."""

    stats_monthly = "stats_monthly", "月报计算", "Compute a monthly report"
    import_validate = "import_validate", "导入校验", "Validate an import file (dry run)"
    import_commit = "import_commit", "导入提交", "Import a validated file"


@labelled
class JobStatus(LabelledEnum):
    """Where a background job stands."""

    queued = "queued", "排队中", "Queued"
    running = "running", "计算中", "Running"
    succeeded = "succeeded", "已完成", "Succeeded"
    failed = "failed", "失败", "Failed"


@labelled
class BreakdownDimension(LabelledEnum):
    """A breakdown stored beside the figures, as counts per key."""

    category = "category", "纠纷类型", "Dispute category (reference data)"
    source = "source", "来源", "Case source"
    hotline_topic = "hotline_topic", "热线主题", "Hotline topic (reference data)"


@labelled
class TrendIndicator(LabelledEnum):
    """Figures compared with the previous month (环比) and the same month a year before (同比)."""

    received = "received", "收案数", "Cases received"
    accepted = "accepted", "受理数", "Cases accepted"
    resolved = "resolved", "调解成功数", "Cases resolved"
    failed = "failed", "调解不成数", "Mediations failed"
    success_rate = "success_rate", "调解成功率", "Success rate (changes are differences of rates)"
    agreement_amount = "agreement_amount", "协议涉及金额", "Amount covered by agreements"
    overdue = "overdue", "超期数", "Cases with a missed deadline"
    prevented_cases = "prevented_cases", "预防案件数", "Prevention cases"
    sessions_held = "sessions_held", "召开调解会数", "Mediation sessions held"
    hotline_calls = "hotline_calls", "热线来电数", "Hotline calls"
    hotline_high_risk = "hotline_high_risk", "高风险来电数", "High-risk hotline calls"
    outreach_activities = "outreach_activities", "法治宣传活动数", "Outreach activities"
    outreach_participants = "outreach_participants", "宣传参与人数", "Outreach participants"
