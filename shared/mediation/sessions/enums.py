"""Enumerations of the mediation-session domain, each value with its Chinese label."""

from __future__ import annotations

from mediation.enums import LabelledEnum, labelled
from mediation.org.enums import Role


@labelled
class SessionKind(LabelledEnum):
    """Which kind of mediation the session is."""

    people = "people", "人民调解", "People's mediation"
    police_joint = "police_joint", "警民联调", "Police-civilian joint mediation"
    judicial = "judicial", "司法调解", "Judicial (court-linked) mediation"
    pre_litigation = "pre_litigation", "诉前调解", "Pre-litigation mediation (court referral)"


@labelled
class SessionMode(LabelledEnum):
    """How the participants meet."""

    on_site = "on_site", "现场调解", "On site"
    video = "video", "视频调解", "Video"
    telephone = "telephone", "电话调解", "Telephone"


@labelled
class SessionStatus(LabelledEnum):
    """Where a session stands: planned, held (outcome recorded) or cancelled."""

    scheduled = "scheduled", "已安排", "Scheduled"
    held = "held", "已举行", "Held (outcome recorded)"
    cancelled = "cancelled", "已取消", "Cancelled"


@labelled
class SessionOutcome(LabelledEnum):
    """What the session achieved. `agreement` records the agreement on the case and resolves
    it in the same transaction."""

    agreement = "agreement", "达成协议", "Agreement reached"
    partial = "partial", "部分达成", "Partial agreement"
    none = "none", "未达成协议", "No agreement"
    postponed = "postponed", "延期再调", "Postponed to another session"


@labelled
class NextStep(LabelledEnum):
    """What happens after the session."""

    another_session = "another_session", "继续调解", "Another session"
    judicial_confirmation = "judicial_confirmation", "申请司法确认", "Judicial confirmation"
    performance = "performance", "督促履行", "Watch the performance of the agreement"
    follow_up = "follow_up", "回访", "Follow-up visit"
    litigation = "litigation", "引导诉讼", "Refer to litigation"
    arbitration = "arbitration", "引导仲裁", "Refer to arbitration"
    other_department = "other_department", "移交其他部门", "Refer to another department"
    none = "none", "无", "Nothing further"


@labelled
class PrivacyReason(LabelledEnum):
    """Why a session is not public (人民调解法第二十三条: 当事人可以要求调解公开或不公开)."""

    party_request = "party_request", "当事人要求不公开", "A party asked for a private session"
    personal_privacy = "personal_privacy", "涉及个人隐私", "Involves personal privacy"
    trade_secret = "trade_secret", "涉及商业秘密", "Involves trade secrets"
    minor = "minor", "涉及未成年人", "Involves a minor"
    other = "other", "其他", "Other (see the note)"


@labelled
class MediatorBody(LabelledEnum):
    """The body a mediator comes from, derived from the mediating role they hold."""

    mediation_committee = "mediation_committee", "人民调解委员会", "People's mediation committee"
    police = "police", "公安派出所", "Police station"
    court = "court", "人民法院", "Court"
    legal_service = "legal_service", "法律顾问", "Legal advisor (law firm, legal aid)"
    counseling = "counseling", "心理咨询工作站", "Psychological counseling workstation"


@labelled
class SessionEventType(LabelledEnum):
    """A session's history; the outbox event type is `session.<value>`."""

    scheduled = "scheduled", "安排调解会", "Scheduled"
    updated = "updated", "修改调解会", "Details changed"
    rescheduled = "rescheduled", "调解会改期", "Moved to another time or place"
    cancelled = "cancelled", "取消调解会", "Cancelled"
    outcome_recorded = "outcome_recorded", "登记调解结果", "Attendance, minutes, outcome recorded"
    imported = "imported", "历史数据导入", "Imported from a register"


@labelled
class SessionSort(LabelledEnum):
    """Order of session lists."""

    soonest = "soonest", "开始时间早的在前", "Earliest start first"
    latest = "latest", "开始时间晚的在前", "Latest start first"


# Roles that may mediate a session, and the body each comes from. Dispatchers and supervisors
# organise sessions but do not sit as mediators; grid and building heads help but do not
# mediate formally.
MEDIATING_ROLES: dict[Role, MediatorBody] = {
    Role.mediator: MediatorBody.mediation_committee,
    Role.judicial_mediator: MediatorBody.court,
    Role.police: MediatorBody.police,
    Role.legal_advisor: MediatorBody.legal_service,
    Role.counselor: MediatorBody.counseling,
}
