"""Enumerations of the dispute-case domain, each value with its Chinese label."""

from __future__ import annotations

from mediation.enums import LabelledEnum, labelled


@labelled
class CaseStatus(LabelledEnum):
    """Where a case stands in its life cycle."""

    received = "received", "已接收", "Received"
    accepted = "accepted", "已受理", "Accepted"
    rejected = "rejected", "不予受理", "Rejected"
    assigned = "assigned", "已分派", "Assigned"
    in_mediation = "in_mediation", "调解中", "In mediation"
    resolved = "resolved", "调解成功", "Resolved"
    failed = "failed", "调解不成", "Failed (referred on)"
    followed_up = "followed_up", "已回访", "Followed up"
    closed = "closed", "已结案", "Closed"
    withdrawn = "withdrawn", "已撤回", "Withdrawn"


@labelled
class IntakeMode(LabelledEnum):
    """How a case came in, as the monthly report counts it."""

    proactive = "proactive", "主动调解", "Proactive mediation"
    application = "application", "申请调解", "On application"
    referral = "referral", "委托移送", "Referred by another body"


@labelled
class CaseSource(LabelledEnum):
    """Where the dispute was reported (来源)."""

    grid_report = "grid_report", "网格上报", "Grid report"
    hotline = "hotline", "热线", "Hotline"
    walk_in = "walk_in", "来访", "Walk-in visit"
    police_referral = "police_referral", "110联动", "Police referral (110)"
    court_referral = "court_referral", "诉调对接", "Court referral"
    petition_office = "petition_office", "信访", "Petition office"
    other_system = "other_system", "其他系统", "Another government system"
    online = "online", "网上申请", "Online"

    @property
    def intake_mode(self) -> IntakeMode:
        return _INTAKE_MODE[self]


_INTAKE_MODE: dict[CaseSource, IntakeMode] = {
    CaseSource.grid_report: IntakeMode.proactive,
    CaseSource.hotline: IntakeMode.application,
    CaseSource.walk_in: IntakeMode.application,
    CaseSource.online: IntakeMode.application,
    CaseSource.police_referral: IntakeMode.referral,
    CaseSource.court_referral: IntakeMode.referral,
    CaseSource.petition_office: IntakeMode.referral,
    CaseSource.other_system: IntakeMode.referral,
}


@labelled
class Complexity(LabelledEnum):
    """Complexity decides the level that handles the case and its deadlines."""

    simple = "simple", "简单", "Simple (grid or village)"
    complex = "complex", "复杂", "Complex (street or township)"
    difficult = "difficult", "疑难", "Difficult (district)"


@labelled
class RiskColour(LabelledEnum):
    """Risk colour: red is reported at once, orange handled the same day, yellow on the spot."""

    red = "red", "红色", "Red (report at once)"
    orange = "orange", "橙色", "Orange (handle the same day)"
    yellow = "yellow", "黄色", "Yellow (grid worker handles on the spot)"


@labelled
class MediationChannel(LabelledEnum):
    """Mediation channel (调解方式); several may join one case (联合调解)."""

    people = "people", "人民调解", "People's mediation"
    police_joint = "police_joint", "警民联调", "Police-civilian joint mediation"
    judicial = "judicial", "司法调解", "Judicial mediation"
    psychological = "psychological", "心理疏导", "Psychological counseling"


@labelled
class PartyKind(LabelledEnum):
    """A party is a natural person or an organisation."""

    person = "person", "自然人", "Person"
    organisation = "organisation", "单位/组织", "Organisation"


@labelled
class PartySide(LabelledEnum):
    """The side a party is on."""

    applicant = "applicant", "申请人", "Applicant"
    respondent = "respondent", "被申请人", "Respondent"
    third_party = "third_party", "第三人", "Third party"


@labelled
class PreventionKind(LabelledEnum):
    """What handling this dispute prevents; each flag carries a number of people."""

    criminal = "criminal", "民转刑", "Turning into crime"
    group_petition = "group_petition", "群体性上访", "Group petition"
    suicide = "suicide", "民间纠纷引起自杀", "Suicide caused by the dispute"
    group_fight = "group_fight", "群体性械斗", "Group fight"


@labelled
class CaseAction(LabelledEnum):
    """An action on a case; each has its own endpoint."""

    accept = "accept", "受理", "Accept"
    reject = "reject", "不予受理", "Reject"
    assign = "assign", "分派", "Assign"
    transfer = "transfer", "移交", "Transfer"
    escalate = "escalate", "上报", "Escalate"
    start_mediation = "start_mediation", "开始调解", "Start mediation"
    resolve = "resolve", "调解成功", "Resolve with an agreement"
    fail = "fail", "调解不成并移送", "Fail and refer on"
    withdraw = "withdraw", "撤回", "Withdraw"
    follow_up = "follow_up", "回访", "Record a follow-up visit"
    close = "close", "结案", "Close"
    reopen = "reopen", "重新开启", "Reopen"
    pause = "pause", "暂停计时", "Pause (waiting on a party)"
    resume = "resume", "恢复计时", "Resume"
    extend_deadline = "extend_deadline", "延长期限", "Extend the deadline"


@labelled
class ReferralTarget(LabelledEnum):
    """Where a failed mediation is referred on."""

    litigation = "litigation", "诉讼", "Litigation"
    arbitration = "arbitration", "仲裁", "Arbitration"
    administrative = "administrative", "行政处理", "Administrative handling"
    other_department = "other_department", "其他部门", "Another department"
    none = "none", "不再处理", "No further handling"


@labelled
class DeadlineStage(LabelledEnum):
    """The stage a deadline belongs to."""

    first_response = "first_response", "首次响应", "First response (accept or reject)"
    mediation = "mediation", "调解办结", "Mediation concluded"
    follow_up = "follow_up", "回访", "Follow-up visit"


@labelled
class DeadlineUnit(LabelledEnum):
    """How a deadline's amount is counted."""

    working_days = "working_days", "工作日", "Working days on the official calendar"
    calendar_days = "calendar_days", "自然日", "Calendar days (moved to the next working day)"
    hours = "hours", "小时", "Elapsed hours"


@labelled
class AgreementForm(LabelledEnum):
    """An agreement is oral or written (People's Mediation Law Art. 28)."""

    oral = "oral", "口头协议", "Oral"
    written = "written", "书面协议", "Written"


@labelled
class PerformanceStatus(LabelledEnum):
    """How far an agreement has been performed (履行情况)."""

    pending = "pending", "待履行", "Not yet due or not yet recorded"
    partial = "partial", "部分履行", "Partly performed"
    full = "full", "已履行", "Fully performed"
    none = "none", "未履行", "Not performed"


@labelled
class FollowUpMethod(LabelledEnum):
    """How a follow-up visit was made."""

    visit = "visit", "上门回访", "Home visit"
    phone = "phone", "电话回访", "Phone"
    online = "online", "线上回访", "Online"


@labelled
class Satisfaction(LabelledEnum):
    """The parties' satisfaction at a follow-up visit."""

    very_satisfied = "very_satisfied", "非常满意", "Very satisfied"
    satisfied = "satisfied", "满意", "Satisfied"
    neutral = "neutral", "一般", "Neutral"
    dissatisfied = "dissatisfied", "不满意", "Dissatisfied"


@labelled
class FlareUpRisk(LabelledEnum):
    """Risk that the dispute flares up again."""

    low = "low", "低", "Low"
    medium = "medium", "中", "Medium"
    high = "high", "高", "High"


@labelled
class RepeatReason(LabelledEnum):
    """Why a case was linked to an earlier one as a repeat dispute."""

    same_phone = "same_phone", "当事人电话相同", "A party with the same phone number"
    same_id_number = "same_id_number", "当事人身份证号相同", "A party with the same ID number"
    same_building = "same_building", "同一楼栋", "The same building"


@labelled
class CaseEventType(LabelledEnum):
    """Typed timeline entries; the outbox event type is `case.<value>`."""

    created = "created", "登记", "Registered"
    accepted = "accepted", "受理", "Accepted"
    rejected = "rejected", "不予受理", "Rejected"
    assigned = "assigned", "分派", "Assigned"
    transferred = "transferred", "移交", "Transferred"
    escalated = "escalated", "上报", "Escalated"
    mediation_started = "mediation_started", "开始调解", "Mediation started"
    resolved = "resolved", "调解成功", "Resolved"
    failed = "failed", "调解不成", "Failed and referred on"
    withdrawn = "withdrawn", "撤回", "Withdrawn"
    followed_up = "followed_up", "回访", "Follow-up visit recorded"
    closed = "closed", "结案", "Closed"
    reopened = "reopened", "重新开启", "Reopened"
    paused = "paused", "暂停计时", "Clock paused"
    resumed = "resumed", "恢复计时", "Clock resumed"
    deadline_extended = "deadline_extended", "延长期限", "Deadline extended"
    deadline_recomputed = "deadline_recomputed", "期限重算", "Deadline recomputed"
    updated = "updated", "修改", "Details changed"
    party_added = "party_added", "增加当事人", "Party added"
    party_updated = "party_updated", "修改当事人", "Party changed"
    party_removed = "party_removed", "删除当事人", "Party removed"
    commented = "commented", "备注", "Comment"
    performance_recorded = "performance_recorded", "履行登记", "Performance recorded"
    judicial_confirmation = "judicial_confirmation", "申请司法确认", "Judicial confirmation"
    repeat_detected = "repeat_detected", "重复纠纷", "Repeat dispute detected"
    session_scheduled = "session_scheduled", "安排调解会", "Mediation session scheduled"
    session_updated = "session_updated", "修改调解会", "Mediation session details changed"
    session_rescheduled = "session_rescheduled", "调解会改期", "Mediation session moved"
    session_held = "session_held", "召开调解会", "Mediation session held (outcome recorded)"
    session_cancelled = "session_cancelled", "取消调解会", "Mediation session cancelled"
    imported = "imported", "历史导入", "Imported from a register (historical record)"
    hotline_call_changed = (
        "hotline_call_changed",
        "关联来电变更",
        "The hotline call the case was opened from changed (nothing of the call is shown)",
    )
    opinion_changed = (
        "opinion_changed",
        "关联民意办理",
        "The resident's opinion the case was turned from moved on (answered, closed)",
    )


# Timeline entries about the case's sessions: shown to readers who may read sessions.
SESSION_EVENTS: frozenset[CaseEventType] = frozenset(
    {
        CaseEventType.session_scheduled,
        CaseEventType.session_updated,
        CaseEventType.session_rescheduled,
        CaseEventType.session_held,
        CaseEventType.session_cancelled,
    }
)


@labelled
class CaseSort(LabelledEnum):
    """Sort order of case lists."""

    newest = "newest", "最新登记在前", "Newest first"
    oldest = "oldest", "最早登记在前", "Oldest first"
    due_soonest = "due_soonest", "期限最近在前", "Soonest deadline first"
