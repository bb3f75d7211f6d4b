"""The catalogue of outbox event types: what each means, which payload fields it carries (with a
sample value, used to check templates when they are configured), which fields hold person ids
and unit ids. Rules, templates and webhook subscriptions may only name types listed here, so a
typo is a 422 at configuration time instead of a silent nothing at delivery time.

Producers: add an entry when you emit a new type or a new payload field."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mediation.errors import Unprocessable

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
    # Payload fields holding a person id or a list of them (recipients by id).
    person_fields: tuple[str, ...] = ()
    # Payload fields holding a unit id (recipients by role at that unit).
    unit_fields: tuple[str, ...] = ()
    # Where the in-app notification points, formatted with the payload.
    link: str | None = None
    # Only the worker emits it; never sent to webhook subscriptions by a wildcard.
    internal: bool = False
    # The event carries the unit path of what it reports (roles "at the event's unit" work).
    unit_scoped: bool = True

    def sample_payload(self) -> dict[str, Any]:
        return dict(self.variables)


_CASE_VARS: dict[str, Any] = {
    "case_id": _CASE,
    "case_number": "铁西调〔2026〕0123号",
    "title": "邻里噪音纠纷",
    "category": "neighbourhood",
    "category_label": "邻里",
    "unit_id": _UNIT,
    "unit_name": "先锋社区",
    "risk_colour": "orange",
    "actor_id": _PERSON2,
    "handler_person_ids": [_PERSON],
}
_CASE_LINK = "/cases/{case_id}"
_DEADLINE_VARS: dict[str, Any] = {
    **_CASE_VARS,
    "deadline_kind": "mediation",
    "deadline_label": "调解期限",
    "due_at": "2026-11-27T10:00:00+08:00",
    "supervisor_person_ids": [_PERSON2],
}
_SESSION_VARS: dict[str, Any] = {
    "session_id": _SESSION,
    "case_id": _CASE,
    "case_number": "铁西调〔2026〕0123号",
    "unit_id": _UNIT,
    "starts_at": "2026-11-28T09:30:00+08:00",
    "previous_starts_at": "2026-11-27T09:30:00+08:00",
    "place": "先锋社区调解室",
    "online": False,
    "reason": "当事人请假",
    "recipient_person_ids": [_PERSON, _PERSON2],
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
            (),
            ("unit_id",),
        ),
        EventSpec(
            "case.created",
            "纠纷登记",
            "A dispute case was registered.",
            _CASE_VARS,
            ("handler_person_ids", "actor_id"),
            ("unit_id",),
            _CASE_LINK,
        ),
        EventSpec(
            "case.accepted",
            "纠纷受理",
            "A case was accepted (受理).",
            _CASE_VARS,
            ("handler_person_ids", "actor_id"),
            ("unit_id",),
            _CASE_LINK,
        ),
        EventSpec(
            "case.assigned",
            "纠纷分派",
            "A case was assigned to handlers.",
            _CASE_VARS,
            ("handler_person_ids", "actor_id"),
            ("unit_id",),
            _CASE_LINK,
        ),
        EventSpec(
            "case.transferred",
            "纠纷移交",
            "A case moved to other handlers or another unit at the same level.",
            {**_CASE_VARS, "from_unit_id": _UNIT2},
            ("handler_person_ids", "actor_id"),
            ("unit_id", "from_unit_id"),
            _CASE_LINK,
        ),
        EventSpec(
            "case.escalated",
            "纠纷上报",
            "A case went up the tree (上报).",
            {
                **_CASE_VARS,
                "target_unit_id": _UNIT2,
                "target_unit_name": "北沟街道",
                "reason": "涉及多个社区",
            },
            ("handler_person_ids", "actor_id"),
            ("unit_id", "target_unit_id"),
            _CASE_LINK,
        ),
        EventSpec(
            "case.resolved",
            "调解成功",
            "A case was resolved with an agreement.",
            _CASE_VARS,
            ("handler_person_ids", "actor_id"),
            ("unit_id",),
            _CASE_LINK,
        ),
        EventSpec(
            "case.failed",
            "调解不成",
            "Mediation failed; the case is referred on.",
            _CASE_VARS,
            ("handler_person_ids", "actor_id"),
            ("unit_id",),
            _CASE_LINK,
        ),
        EventSpec(
            "case.closed",
            "纠纷结案",
            "A case was closed.",
            _CASE_VARS,
            ("handler_person_ids", "actor_id"),
            ("unit_id",),
            _CASE_LINK,
        ),
        EventSpec(
            "case.reopened",
            "纠纷重新办理",
            "A closed case was reopened.",
            _CASE_VARS,
            ("handler_person_ids", "actor_id"),
            ("unit_id",),
            _CASE_LINK,
        ),
        EventSpec(
            "case.withdrawn",
            "纠纷撤回",
            "The applicant withdrew the case.",
            _CASE_VARS,
            ("handler_person_ids", "actor_id"),
            ("unit_id",),
            _CASE_LINK,
        ),
        EventSpec(
            "case.deadline_due_soon",
            "期限即将到期",
            "A stage deadline of a case is near (sent to the handlers).",
            _DEADLINE_VARS,
            ("handler_person_ids", "supervisor_person_ids"),
            ("unit_id",),
            _CASE_LINK,
        ),
        EventSpec(
            "case.deadline_overdue",
            "期限已超期",
            "A stage deadline passed (sent to the handlers first).",
            _DEADLINE_VARS,
            ("handler_person_ids", "supervisor_person_ids"),
            ("unit_id",),
            _CASE_LINK,
        ),
        EventSpec(
            "case.deadline_escalated",
            "超期督办",
            "A deadline is still missed after the grace period: the supervisor is told.",
            _DEADLINE_VARS,
            ("handler_person_ids", "supervisor_person_ids"),
            ("unit_id",),
            _CASE_LINK,
        ),
        EventSpec(
            "case.follow_up_due",
            "回访到期",
            "A follow-up visit (回访) of a resolved case is due.",
            {**_CASE_VARS, "due_at": "2026-12-03T10:00:00+08:00"},
            ("handler_person_ids",),
            ("unit_id",),
            _CASE_LINK,
        ),
        EventSpec(
            "session.scheduled",
            "调解会安排",
            "A mediation session was scheduled.",
            _SESSION_VARS,
            ("recipient_person_ids",),
            ("unit_id",),
            "/sessions/{session_id}",
        ),
        EventSpec(
            "session.rescheduled",
            "调解会改期",
            "A mediation session moved.",
            _SESSION_VARS,
            ("recipient_person_ids",),
            ("unit_id",),
            "/sessions/{session_id}",
        ),
        EventSpec(
            "session.cancelled",
            "调解会取消",
            "A mediation session was cancelled.",
            _SESSION_VARS,
            ("recipient_person_ids",),
            ("unit_id",),
            "/sessions/{session_id}",
        ),
        EventSpec(
            "session.reminder",
            "调解会提醒",
            "A session is about to start (reminder to mediators and parties).",
            {**_SESSION_VARS, "lead": "1天"},
            ("recipient_person_ids",),
            ("unit_id",),
            "/sessions/{session_id}",
        ),
        EventSpec(
            "hotline.high_risk",
            "高风险来电",
            "A hotline call was assessed high risk; the on-duty supervisors must act.",
            _HOTLINE_VARS,
            ("recipient_person_ids", "counselor_person_id"),
            ("unit_id",),
            "/hotline/calls/{call_id}",
        ),
        EventSpec(
            "hotline.high_risk_unacknowledged",
            "高风险来电未确认",
            "Nobody acknowledged a high-risk call in time.",
            _HOTLINE_VARS,
            ("recipient_person_ids", "counselor_person_id"),
            ("unit_id",),
            "/hotline/calls/{call_id}",
        ),
        EventSpec(
            "hotline.follow_up_due",
            "热线回访到期",
            "A hotline follow-up is due (to the counselor).",
            _HOTLINE_VARS,
            ("recipient_person_ids", "counselor_person_id"),
            ("unit_id",),
            "/hotline/calls/{call_id}",
        ),
        EventSpec(
            "hotline.follow_up_overdue",
            "热线回访超期",
            "A hotline follow-up is overdue (to the workstation supervisor).",
            _HOTLINE_VARS,
            ("recipient_person_ids", "counselor_person_id"),
            ("unit_id",),
            "/hotline/calls/{call_id}",
        ),
        EventSpec(
            "stats.monthly_ready",
            "月报已生成",
            "The monthly statistics of a unit are ready.",
            {"unit_id": _UNIT, "unit_name": "铁西区", "month": "2026-11"},
            (),
            ("unit_id",),
            "/stats/monthly?month={month}",
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
                "recipient_person_ids": [_PERSON],
            },
            ("recipient_person_ids",),
            (),
            "/webhooks/{subscription_id}",
            internal=True,
            unit_scoped=False,
        ),
        EventSpec(
            "webhook.ping",
            "推送测试",
            "A test message an administrator sent to one subscription.",
            {"subscription_id": _CASE, "message": "ping"},
            (),
            (),
            None,
            internal=True,
            unit_scoped=False,
        ),
    ]
}

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
    """Every name a template for `event_type` may use, with a sample value."""
    return {**spec(event_type).variables, **COMMON_VARIABLES}


def require_known(event_type: str, field: str) -> EventSpec:
    found = EVENTS.get(event_type)
    if found is None:
        raise Unprocessable(
            f"`{event_type}` is not an event type this service emits; "
            "see GET /api/v1/notification-event-types.",
            field=field,
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
    if pattern == "*" or (
        pattern.endswith(".*") and any(pattern_matches(pattern, t) for t in EVENTS)
    ):
        return
    if pattern not in EVENTS:
        raise Unprocessable(
            f"`{pattern}` matches no event type this service emits; use an exact type, "
            "`prefix.*` or `*` (see GET /api/v1/notification-event-types).",
            field=field,
        )
