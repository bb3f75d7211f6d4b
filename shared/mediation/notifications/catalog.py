"""The catalogue of outbox event types: what each means, which payload fields it carries (with a
sample value, used to check templates when they are configured), which fields hold person ids
and unit ids. Rules, templates and webhook subscriptions may only name types listed here, so a
typo is a 422 at configuration time instead of a silent nothing at delivery time.

Producers: add an entry when you emit a new type, and a sample value for a new payload field.
Which fields hold person and unit ids comes from the type's payload model
(`mediation.outbox.registry.EVENT_MODELS`); the catalogue and the models are checked against
each other when this module loads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mediation.auth.policy import Permission
from mediation.errors import Unprocessable
from mediation.notifications.problems import EVENT_TYPE_INTERNAL, EVENT_TYPE_UNKNOWN
from mediation.outbox import payloads
from mediation.outbox.payloads import EventPayload
from mediation.outbox.registry import EVENT_MODELS

_CASE = "0193a1b2-0000-7000-8000-00000000ca5e"
_UNIT = "0193a1b2-0000-7000-8000-0000000000a1"
_UNIT2 = "0193a1b2-0000-7000-8000-0000000000b2"
_PERSON = "0193a1b2-0000-7000-8000-00000000f001"
_PERSON2 = "0193a1b2-0000-7000-8000-00000000f002"
_CALL = "0193a1b2-0000-7000-8000-0000000ca11a"
_SESSION = "0193a1b2-0000-7000-8000-00000005e551"


@dataclass(frozen=True)
class EventSpec:
    type: str
    label_zh: str
    description: str
    # Payload fields and a sample value each: the names templates may use.
    variables: dict[str, Any] = field(default_factory=dict)
    # Where the in-app notification points, formatted with the payload.
    link: str | None = None
    # Only the worker emits it; sent to no webhook subscription (a filter of only such types is
    # refused).
    internal: bool = False
    # The event carries the unit path of what it reports (roles "at the event's unit" work).
    unit_scoped: bool = True

    @property
    def model(self) -> type[EventPayload]:
        return EVENT_MODELS[self.type]

    @property
    def read_permission(self) -> Permission | None:
        """What a person must be allowed to read to be told of it: the record it reports."""
        return READ_PERMISSIONS.get(self.type.split(".", 1)[0])

    @property
    def person_fields(self) -> tuple[str, ...]:
        """Payload fields holding a person id or a list of them (recipients by id)."""
        return payloads.person_fields(self.model)

    @property
    def unit_fields(self) -> tuple[str, ...]:
        """Payload fields holding a unit id (recipients by role at that unit)."""
        return payloads.unit_fields(self.model)


# The right to read each kind of record, as its routes require it. A notification names its
# record (number, title, time and place, a link): somebody whose roles do not give that right,
# wherever they hold them, is not told, whatever a rule chooses (a dispatcher of a hotline
# call, the system administrator of a case: 三员分立). The tree, reference data and the
# system's own events carry nothing beyond what every account reads.
READ_PERMISSIONS: dict[str, Permission] = {
    "case": Permission.cases_read,
    "session": Permission.sessions_read,
    "hotline": Permission.hotline_read,
    "outreach": Permission.outreach_read,
    "opinion": Permission.outreach_read,
    "duty_rota": Permission.outreach_read,
    "stats": Permission.stats_read,
}

# case.* as the cases service emits it (CaseService._payload plus per-type extras); `title`
# and `unit_name` come only with the worker's deadline reminders (templates test for them).
_CASE_VARS: dict[str, Any] = {
    "case_id": _CASE,
    "case_number": "铁西调〔2026〕0123号",
    "event_id": _CASE,
    "unit_id": _UNIT,
    "unit_path": "1.2.3.4.",
    "handling_unit_id": _UNIT,
    "status": "assigned",
    "risk_colour": "orange",
    "complexity": "simple",
    "category": "neighbourhood",
    "handler_person_ids": [_PERSON],
    "actor_id": _PERSON2,
    "actor_kind": "user",
    "actor_person_id": _PERSON2,
    "current_stage": "mediation",
    "due_at": "2026-11-27T10:00:00+08:00",
    "title": "邻里噪音纠纷",
}
_CASE_LINK = "/cases/{case_id}"
_HANDLERS = {
    "channels": ["people"],
    "handlers": [{"person_id": _PERSON, "channel": "people", "lead": True}],
}
_CASE_TYPES: list[tuple[str, str, str, dict[str, Any]]] = [
    (
        "created",
        "纠纷登记",
        "A dispute case was registered.",
        {"source": "walk_in", "is_repeat": False},
    ),
    ("accepted", "纠纷受理", "A case was accepted (受理).", {}),
    ("rejected", "不予受理", "A case was rejected (不予受理).", {}),
    ("assigned", "纠纷分派", "A case was assigned to handlers.", _HANDLERS),
    (
        "transferred",
        "纠纷移交",
        "A case moved to other handlers.",
        {**_HANDLERS, "previous_handler_person_ids": [_PERSON2]},
    ),
    (
        "escalated",
        "纠纷上报",
        "A case went up the tree (上报).",
        {
            "from_unit_id": _UNIT,
            "target_unit_id": _UNIT2,
            "target_unit_name": "北沟街道",
            "target_unit_path": "1.2.3.",
            "target_dispatcher_person_ids": [_PERSON2],
            "previous_handler_person_ids": [_PERSON],
        },
    ),
    ("mediation_started", "开始调解", "Mediation started.", {}),
    (
        "resolved",
        "调解成功",
        "A case was resolved with an agreement.",
        {
            "agreement": {
                "form": "written",
                "amount": "3000.00",
                "effective_on": "2026-11-26",
                "judicial_confirmation_until": "2026-12-26",
            }
        },
    ),
    (
        "failed",
        "调解不成",
        "Mediation failed; the case is referred on.",
        {"referral": "litigation"},
    ),
    ("withdrawn", "纠纷撤回", "The applicant withdrew the case.", {}),
    (
        "followed_up",
        "完成回访",
        "A follow-up visit was recorded.",
        {
            "method": "phone",
            "performance": "partial",
            "satisfaction": "satisfied",
            "flare_up_risk": "low",
        },
    ),
    ("closed", "纠纷结案", "A case was closed.", {}),
    ("reopened", "重新办理", "A closed case was reopened.", {}),
    ("paused", "暂停计时", "The deadline clock stopped (waiting for a party).", {}),
    ("resumed", "恢复计时", "The deadline clock runs again.", {}),
    (
        "deadline_extended",
        "延长期限",
        "A deadline was extended.",
        {"stage": "mediation", "by": 5, "unit": "working_days"},
    ),
    (
        "deadline_recomputed",
        "期限重算",
        "Deadlines were recomputed (calendar change).",
        {
            "stage": "mediation",
            "previous_due_at": "2026-11-26T10:00:00+08:00",
            "previous_provisional": True,
            "provisional": False,
        },
    ),
    ("updated", "纠纷修改", "Details of a case changed.", {"changed": ["facts"]}),
    ("party_added", "增加当事人", "A party was added.", {}),
    ("party_updated", "修改当事人", "A party changed.", {}),
    ("party_removed", "删除当事人", "A party was removed.", {}),
    ("commented", "备注", "A comment was added.", {}),
    (
        "performance_recorded",
        "履行登记",
        "Performance of an agreement was recorded.",
        {"status": "partial", "performed_on": "2026-11-30", "amount": "3000.00"},
    ),
    (
        "judicial_confirmation",
        "申请司法确认",
        "Judicial confirmation was requested.",
        {"requested_on": "2026-11-30", "court": "铁西区人民法院"},
    ),
]
_DEADLINE_VARS: dict[str, Any] = {
    **_CASE_VARS,
    "unit_name": "先锋社区",
    "stage": "due_soon",
    "deadline_kind": "mediation",
    "deadline_label": "调解期限",
    "due_at": "2026-11-27T10:00:00+08:00",
}
# session.* as mediation.sessions.events.payload writes it (reminders add lead and stage).
_SESSION_VARS: dict[str, Any] = {
    "session_id": _SESSION,
    "case_id": _CASE,
    "case_number": "铁西调〔2026〕0123号",
    "unit_id": _UNIT,
    "kind": "people",
    "mode": "on_site",
    "online": False,
    "status": "scheduled",
    "starts_at": "2026-11-28T09:30:00+08:00",
    "ends_at": "2026-11-28T11:00:00+08:00",
    "place": "先锋社区调解室",
    "meeting_info": "",
    "mediator_person_ids": [_PERSON],
    "party_ids": [_PERSON2],
    "recipient_person_ids": [_PERSON],
    "notify_party_ids": [_PERSON2],
    "version": 1,
    "event_id": _SESSION,
    "previous_starts_at": "2026-11-27T09:30:00+08:00",
    "previous_ends_at": "2026-11-27T11:00:00+08:00",
    "previous_place": "先锋社区调解室",
    "reason": "当事人请假",
    "lead": "1天",
    "stage": "day_before",
}

# hotline.high_risk as the hotline service emits it (mediation.hotline.contracts.HighRiskPayload),
# plus what the worker's follow-up and acknowledgement sweeps add. Never the call's content.
_HOTLINE_VARS: dict[str, Any] = {
    "call_id": _CALL,
    "unit_id": _UNIT,
    "risk_level": "high",
    "imminent": True,
    "urgent": True,
    "coverage_gap": False,
    "recipient_person_ids": [_PERSON2],
    "started_at": "2026-11-26T23:10:00+08:00",
    "flagged_at": "2026-11-26T23:40:00+08:00",
    "follow_up_due": "2026-11-27T10:00:00+08:00",
    "counselor_person_id": _PERSON,
    "stage": "due",
}

EVENTS: dict[str, EventSpec] = {
    spec.type: spec
    for spec in [
        EventSpec(
            "reference.item_created",
            "参考数据新增",
            "An administrator added an entry to a reference list.",
            {"kind": "dispute_category", "code": "education", "label_zh": "教育"},
            link="/reference/{kind}/{code}",
            unit_scoped=False,
        ),
        EventSpec(
            "reference.item_updated",
            "参考数据修改",
            "An entry of a reference list changed.",
            {
                "kind": "dispute_category",
                "code": "education",
                "label_zh": "教育",
                "changed": ["label_zh"],
            },
            link="/reference/{kind}/{code}",
            unit_scoped=False,
        ),
        EventSpec(
            "unit.created",
            "新增单位",
            "A node was added to the jurisdiction tree.",
            {"code": "220302001003", "name": "新华社区", "level": "community"},
        ),
        EventSpec(
            "unit.renamed", "单位更名", "A node of the tree was renamed.", {"name": "新华社区"}
        ),
        EventSpec("unit.deactivated", "单位停用", "A node of the tree was deactivated."),
        EventSpec(
            "unit.imported",
            "批量导入单位",
            "Nodes were imported in bulk.",
            {"count": 120},
            unit_scoped=False,
        ),
        EventSpec(
            "person.role_assigned",
            "人员任职",
            "A person was given a role at a unit.",
            {"role": "mediator", "unit_id": _UNIT},
        ),
        EventSpec(
            "case.deadline_due_soon",
            "期限即将到期",
            "A stage deadline of a case is near (sent to the handlers).",
            _DEADLINE_VARS,
            link=_CASE_LINK,
        ),
        EventSpec(
            "case.deadline_overdue",
            "期限已超期",
            "A stage deadline passed (sent to the handlers first).",
            _DEADLINE_VARS,
            link=_CASE_LINK,
        ),
        EventSpec(
            "case.deadline_escalated",
            "超期督办",
            "A deadline is still missed after the grace period: the supervisor is told.",
            _DEADLINE_VARS,
            link=_CASE_LINK,
        ),
        EventSpec(
            "case.follow_up_due",
            "回访到期",
            "A follow-up visit (回访) of a resolved case is due.",
            {**_DEADLINE_VARS, "deadline_kind": "follow_up", "deadline_label": "回访期限"},
            link=_CASE_LINK,
        ),
        EventSpec(
            "session.scheduled",
            "调解会安排",
            "A mediation session was scheduled.",
            _SESSION_VARS,
            link="/sessions/{session_id}",
        ),
        EventSpec(
            "session.rescheduled",
            "调解会改期",
            "A mediation session moved.",
            _SESSION_VARS,
            link="/sessions/{session_id}",
        ),
        EventSpec(
            "session.cancelled",
            "调解会取消",
            "A mediation session was cancelled.",
            _SESSION_VARS,
            link="/sessions/{session_id}",
        ),
        EventSpec(
            "session.reminder",
            "调解会提醒",
            "A session is about to start (reminder to mediators and parties).",
            _SESSION_VARS,
            link="/sessions/{session_id}",
        ),
        EventSpec(
            "hotline.high_risk",
            "高风险来电",
            "A hotline call was assessed high risk; the on-duty supervisors must act.",
            _HOTLINE_VARS,
            link="/hotline/calls/{call_id}",
            # Mental-health records never leave the system by webhook.
            internal=True,
        ),
        EventSpec(
            "hotline.high_risk_unacknowledged",
            "高风险来电未确认",
            "Nobody acknowledged a high-risk call in time.",
            _HOTLINE_VARS,
            link="/hotline/calls/{call_id}",
            # Mental-health records never leave the system by webhook.
            internal=True,
        ),
        EventSpec(
            "hotline.follow_up_due",
            "热线回访到期",
            "A hotline follow-up is due (to the counselor).",
            _HOTLINE_VARS,
            link="/hotline/calls/{call_id}",
            # Mental-health records never leave the system by webhook.
            internal=True,
        ),
        EventSpec(
            "hotline.follow_up_overdue",
            "热线回访超期",
            "A hotline follow-up is overdue (to the workstation supervisor).",
            _HOTLINE_VARS,
            link="/hotline/calls/{call_id}",
            # Mental-health records never leave the system by webhook.
            internal=True,
        ),
        EventSpec(
            "stats.monthly_ready",
            "月报已生成",
            "A month's report of a district (or the city) is stored.",
            {
                "unit_id": _UNIT,
                "unit_name": "铁西区",
                "year": 2026,
                "month": "2026-11",
                "version": 1,
                "report_id": _CASE,
                "trigger": "scheduled",
                "job_id": _CASE,
                "unit_ids": [_UNIT],
            },
            link="/stats/monthly?month={month}",
        ),
        EventSpec(
            "stats.recompute_requested",
            "月报重算请求",
            "Internal: the API asks the worker to run a queued statistics job.",
            {"job_id": _CASE, "year": 2026, "month": "2026-11"},
            internal=True,
            unit_scoped=False,
        ),
        EventSpec(
            "session.updated",
            "调解会修改",
            "Details of a session changed.",
            _SESSION_VARS,
            link="/sessions/{session_id}",
        ),
        EventSpec(
            "session.outcome_recorded",
            "调解会结果登记",
            "Attendance, minutes and outcome of a session were recorded.",
            {
                **_SESSION_VARS,
                "outcome": "agreement",
                "next_step": "performance",
                "recorded_afterwards": False,
                "attended_person_ids": [_PERSON],
                "attended_party_ids": [_PERSON2],
                "case_status": "resolved",
            },
            link="/sessions/{session_id}",
        ),
        EventSpec(
            "calendar.year_loaded",
            "工作日历更新",
            "A year's official working-day calendar was loaded; deadlines were recomputed.",
            {"year": 2027, "source": "国务院办公厅通知", "recomputed_cases": 12},
            unit_scoped=False,
        ),
        EventSpec(
            "deadline_rule.updated",
            "期限规则修改",
            "A deadline rule (stage, complexity) changed.",
            {"stage": "mediation", "complexity": "simple", "unit": "working_days", "amount": 5},
            unit_scoped=False,
        ),
        EventSpec(
            "webhook.subscription_disabled",
            "推送订阅已停用",
            "A webhook subscription "
            "was disabled after 410 Gone or persistent failure (to its owner).",
            {
                "subscription_id": _CASE,
                "name": "市综治平台",
                "url": "https://receiver.example.gov.cn/hooks",
                "reason": "gone",
                "reason_label": "对方返回410",
                "detail": "410 Gone",
                "recipient_person_ids": [_PERSON],
            },
            link="/webhooks/{subscription_id}",
            internal=True,
            unit_scoped=False,
        ),
        EventSpec(
            "security.sign_in_locked",
            "登录锁定告警",
            "Repeated failed sign-ins from one address locked that address out of an account "
            "(to the security administrators).",
            {
                "username": "duty-counselor",
                "source_ip": "203.0.113.7",
                "failures": 10,
                "locked_until": "2026-11-27T02:15:00+08:00",
                "recipient_person_ids": [_PERSON],
            },
            internal=True,
            unit_scoped=False,
        ),
        EventSpec(
            "webhook.ping",
            "推送测试",
            "A test message an administrator sent to one subscription.",
            {"subscription_id": _CASE, "message": "ping"},
            internal=True,
            unit_scoped=False,
        ),
    ]
}
# Every case.* type the cases service emits: the same payload, plus the type's extras.
EVENTS.update(
    {
        f"case.{name}": EventSpec(
            f"case.{name}",
            label,
            description,
            {**_CASE_VARS, **extra},
            link=_CASE_LINK,
        )
        for name, label, description, extra in _CASE_TYPES
    }
)

# Types other domains emit whose payload no built-in text uses: known (subscriptions and rules
# may name them; templates get the common variables). Add the fields here when a text needs
# them.
_PLAIN: list[tuple[str, str, str]] = [
    ("outreach.activity_recorded", "普法活动登记", "A legal-awareness activity was recorded."),
    ("outreach.activity_updated", "普法活动修改", "An outreach activity changed."),
    ("outreach.series_created", "公益微课系列新增", "A micro-class series was created."),
    ("outreach.series_updated", "公益微课系列修改", "A micro-class series changed."),
    ("outreach.class_held", "公益微课开讲", "A weekly micro-class was held."),
    ("outreach.class_updated", "公益微课修改", "A micro-class record changed."),
    ("opinion.received", "收到群众意见", "A resident's opinion was collected."),
    ("opinion.updated", "群众意见修改", "A resident's opinion changed."),
    ("opinion.forwarded", "群众意见转办", "A resident's opinion was forwarded."),
    ("opinion.answered", "群众意见答复", "A resident's opinion was answered."),
    ("opinion.closed", "群众意见办结", "A resident's opinion was closed."),
    ("opinion.converted_to_case", "意见转为纠纷", "A resident's opinion became a case."),
    ("duty_rota.slot_added", "值班安排新增", "A duty slot of the self-governance office."),
    ("duty_rota.slot_changed", "值班安排修改", "A duty slot changed."),
    ("duty_rota.slot_removed", "值班安排删除", "A duty slot was removed."),
]
EVENTS.update({t: EventSpec(t, label, description) for t, label, description in _PLAIN})

# Types with a payload model that rules, templates and subscriptions never name.
UNLISTED = frozenset({"import.job_requested", "stats.opening_balance_recorded"})


def _check() -> None:
    """Every listed type has a payload model and a sample of each field it always carries,
    which together make a valid payload; every model's type is listed (or knowingly not)."""
    missing = set(EVENT_MODELS) - set(EVENTS) - UNLISTED
    unmodelled = set(EVENTS) - set(EVENT_MODELS)
    if missing or unmodelled:
        raise TypeError(f"catalogue and payload models disagree: {missing or unmodelled}")
    for t, entry in EVENTS.items():
        always = {n for n, f in entry.model.model_fields.items() if f.is_required()}
        if entry.variables and (gaps := always - set(entry.variables)):
            raise TypeError(f"{t}: no sample value for {sorted(gaps)}")
        if entry.variables:  # the samples are a payload of the type (raises if not)
            entry.model.model_validate(
                {k: v for k, v in entry.variables.items() if k in entry.model.model_fields}
            )


_check()

# Variables every template may use besides the payload's.
COMMON_VARIABLES: dict[str, Any] = {
    "event_type": "case.assigned",
    "event_label": "纠纷分派",
    "occurred_at": "2026-11-26T10:00:00+08:00",
    "recipient_name": "孙网格",
    "unit_name": "先锋社区",
    "link": "/cases/" + _CASE,
    "urgent": False,
}


def spec(event_type: str) -> EventSpec:
    found = EVENTS.get(event_type)
    if found is None:
        raise KeyError(event_type)
    return found


def known(event_type: str) -> bool:
    return event_type in EVENTS


def template_variables(event_type: str) -> dict[str, Any]:
    """Every name a template for `event_type` may use, with a sample value (its own type and
    label: a sample naming another type misleads whoever writes a template)."""
    entry = spec(event_type)
    own = {"event_type": entry.type, "event_label": entry.label_zh}
    return {**entry.variables, **COMMON_VARIABLES, **own}


def require_known(event_type: str, field: str) -> EventSpec:
    found = EVENTS.get(event_type)
    if found is None:
        raise Unprocessable(
            f"`{event_type}` is not an event type this service emits; "
            "see GET /api/v1/notification-event-types.",
            field=field,
            code=EVENT_TYPE_UNKNOWN,
        )
    return found


def pattern_matches(pattern: str, event_type: str) -> bool:
    """Subscription filters: an exact type, `prefix.*`, or `*` for every type."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def require_pattern(pattern: str, field: str) -> None:
    """A webhook subscription's filter: it must match a type the service emits, and one it
    sends to webhooks (a filter of internal types only would never deliver anything)."""
    if pattern == "*":
        return
    matched = [spec for t, spec in EVENTS.items() if pattern_matches(pattern, t)]
    if not matched:
        raise Unprocessable(
            f"`{pattern}` matches no event type this service emits; use an exact type, "
            "`prefix.*` or `*` (see GET /api/v1/notification-event-types).",
            field=field,
            code=EVENT_TYPE_UNKNOWN,
        )
    if all(spec.internal for spec in matched):
        what = "matches only internal event types" if pattern.endswith(".*") else "is internal"
        raise Unprocessable(
            f"`{pattern}` {what}: the service sends those to no webhook subscription; "
            "subscribe to types whose `internal` is false (GET /api/v1/notification-event-types).",
            field=field,
            code=EVENT_TYPE_INTERNAL,
        )
