"""The built-in rules and templates. They apply without any setup; an administrator overrides
one by changing it through the API (the stored copy, with the same code, then wins) and
reverts by deleting the stored copy. Hotline texts never carry the content of a call."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from mediation.auth.events import SignInLocked
from mediation.cases.events import (
    CaseAssigned,
    CaseDeadlineReminder,
    CaseEscalated,
    CaseTransferred,
)
from mediation.hotline.events import HighRiskPayload, HotlineReminder
from mediation.notifications.enums import Channel, RoleScope
from mediation.notifications.events import SubscriptionDisabled
from mediation.notifications.rules import PayloadPeople, RoleHolders, RuleSpec, validate_rule
from mediation.notifications.templates import TemplateText
from mediation.org.enums import Role
from mediation.outbox.payloads import EventPayload, field_of
from mediation.sessions.events import SessionPayload

IN, EM, SM, WC = Channel.inbox, Channel.email, Channel.sms, Channel.wecom


def _rule(
    event_type: str,
    whom: str,
    name: str,
    recipients: list[PayloadPeople | RoleHolders],
    channels: list[Channel],
    **kw: object,
) -> RuleSpec:
    """The rule `<event_type>.<whom>`. Checked like a rule an administrator writes, when this
    module loads: the payload model of `event_type` must carry each field named."""
    validate_rule(event_type, recipients, channels, {})
    return RuleSpec(
        code=f"{event_type}.{whom}",
        name=name,
        event_type=event_type,
        recipients=recipients,
        channels=channels,
        builtin=True,
        **kw,
    )  # type: ignore[arg-type]


M = TypeVar("M", bound=EventPayload)


def _people(model: type[M], pick: Callable[[M], object]) -> PayloadPeople:
    """The persons in the field `pick` reads of the payload `model` (a typed lookup)."""
    return PayloadPeople(field=field_of(model, pick))


def _role(
    role: Role,
    scope: RoleScope = RoleScope.nearest,
    unit_field: tuple[type[M], Callable[[M], object]] | None = None,
) -> RoleHolders:
    """Holders of `role` relative to the event's unit, or to the unit in `unit_field`."""
    named = field_of(*unit_field) if unit_field is not None else None
    return RoleHolders(role=role, scope=scope, unit_field=named)


BUILTIN_RULES: list[RuleSpec] = [
    _rule(
        "case.created",
        "red",
        "红色风险纠纷报督办",
        [_role(Role.supervisor), _role(Role.dispatcher)],
        [IN, SM, WC],
        payload_match={"risk_colour": ["red"]},
        urgent=True,
        description="红色风险纠纷登记后立即通知督办负责人和综治中心，并推送企业微信群。",
    ),
    _rule(
        "case.created",
        "dispatchers",
        "新纠纷通知综治中心",
        [_role(Role.dispatcher)],
        [IN],
    ),
    _rule(
        "case.assigned",
        "handlers",
        "分派通知承办人",
        [_people(CaseAssigned, lambda p: p.handler_person_ids)],
        [IN, SM],
    ),
    _rule(
        "case.transferred",
        "handlers",
        "移交通知新承办人",
        [_people(CaseTransferred, lambda p: p.handler_person_ids)],
        [IN, SM],
    ),
    _rule(
        "case.escalated",
        "dispatchers",
        "上报通知上级综治中心",
        # The dispatchers the cases service found at the target, else the nearest ones there.
        [
            _people(CaseEscalated, lambda p: p.target_dispatcher_person_ids),
            _role(Role.dispatcher, RoleScope.nearest, (CaseEscalated, lambda p: p.target_unit_id)),
        ],
        [IN, SM],
    ),
    _rule(
        "case.resolved",
        "dispatchers",
        "调解成功告知综治中心",
        [_role(Role.dispatcher)],
        [IN],
    ),
    _rule(
        "case.deadline_due_soon",
        "handlers",
        "期限将至提醒承办人",
        [_people(CaseDeadlineReminder, lambda p: p.handler_person_ids)],
        [IN, SM],
    ),
    _rule(
        "case.deadline_overdue",
        "handlers",
        "超期提醒承办人",
        [_people(CaseDeadlineReminder, lambda p: p.handler_person_ids)],
        [IN, SM],
    ),
    _rule(
        "case.deadline_escalated",
        "supervisors",
        "超期督办",
        [_role(Role.supervisor)],
        [IN, SM, EM],
    ),
    _rule(
        "case.follow_up_due",
        "handlers",
        "回访到期提醒",
        [_people(CaseDeadlineReminder, lambda p: p.handler_person_ids)],
        [IN],
    ),
    # Every change of a session reaches its participants alike.
    *(
        _rule(
            f"session.{change}",
            "participants",
            name,
            [_people(SessionPayload, lambda p: p.recipient_person_ids)],
            [IN, SM],
        )
        for change, name in (
            ("scheduled", "调解会安排通知"),
            ("rescheduled", "调解会改期通知"),
            ("cancelled", "调解会取消通知"),
            ("reminder", "调解会提醒"),
        )
    ),
    _rule(
        "hotline.high_risk",
        "duty",
        "高风险来电通知值班督导",
        [_people(HighRiskPayload, lambda p: p.recipient_person_ids)],
        [IN, SM],
        urgent=True,
    ),
    _rule(
        "hotline.high_risk_unacknowledged",
        "supervisors",
        "高风险来电未确认升级",
        [
            _people(HotlineReminder, lambda p: p.recipient_person_ids),
            _role(Role.hotline_supervisor, RoleScope.ancestors),
        ],
        [IN, SM],
        urgent=True,
    ),
    _rule(
        "hotline.follow_up_due",
        "counselor",
        "热线回访提醒",
        [_people(HotlineReminder, lambda p: p.counselor_person_id)],
        [IN],
    ),
    _rule(
        "hotline.follow_up_overdue",
        "supervisors",
        "热线回访超期",
        [_role(Role.hotline_supervisor)],
        [IN],
    ),
    _rule(
        "stats.monthly_ready",
        "supervisors",
        "月报生成通知",
        [_role(Role.supervisor, RoleScope.unit), _role(Role.dispatcher, RoleScope.unit)],
        [IN, EM],
        exclude_actor=False,
    ),
    _rule(
        "security.sign_in_locked",
        "security_admins",
        "登录锁定告警安全管理员",
        [_people(SignInLocked, lambda p: p.recipient_person_ids)],
        [IN],
        urgent=True,
        exclude_actor=False,
    ),
    _rule(
        "webhook.subscription_disabled",
        "owner",
        "推送订阅停用告知",
        [_people(SubscriptionDisabled, lambda p: p.recipient_person_ids)],
        [IN, EM],
        exclude_actor=False,
    ),
]

# The cases service's events carry the number, not the title (the worker's reminders add it).
_CASE_BODY = "纠纷{{ case_number }}{% if title %}「{{ title }}」{% endif %}（{{ unit_name }}）"

# (event type, channel) -> template. Email falls back to the inbox text, WeCom to the inbox text
# as markdown, and any event without a text to a generic one.
BUILTIN_TEMPLATES: dict[tuple[str, Channel], TemplateText] = {
    ("case.created", IN): TemplateText(
        "新登记纠纷：{{ case_number }}",
        _CASE_BODY + "已登记。{% if risk_colour == 'red' %}该纠纷为红色风险，请立即上报处置。"
        "{% endif %}",
    ),
    ("case.created", SM): TemplateText(
        None,
        "{% if risk_colour == 'red' %}【红色风险】{% endif %}{{ unit_name }}登记纠纷"
        "{{ case_number }}，请及时处置。",
    ),
    ("case.created", WC): TemplateText(
        None,
        "**{% if risk_colour == 'red' %}<font color=\"warning\">红色风险</font> {% endif %}"
        "新登记纠纷 {{ case_number }}**\n> 单位：{{ unit_name }}\n> 事由：{{ title }}\n"
        "> 时间：{{ occurred_at|local }}",
    ),
    ("case.accepted", IN): TemplateText("纠纷已受理：{{ case_number }}", _CASE_BODY + "已受理。"),
    ("case.assigned", IN): TemplateText(
        "新分派纠纷：{{ case_number }}",
        "{{ recipient_name }}，您好：" + _CASE_BODY + "已分派给您办理，请及时处理。"
        "{% if risk_colour == 'red' %}该纠纷为红色风险，请立即处置。{% endif %}",
    ),
    ("case.assigned", SM): TemplateText(
        None, "{{ recipient_name }}您好，纠纷{{ case_number }}已分派给您，请登录系统及时办理。"
    ),
    ("case.transferred", IN): TemplateText(
        "纠纷移交：{{ case_number }}",
        "{{ recipient_name }}，您好：" + _CASE_BODY + "已移交给您办理，请及时处理。",
    ),
    ("case.transferred", SM): TemplateText(
        None, "{{ recipient_name }}您好，纠纷{{ case_number }}已移交给您，请登录系统及时办理。"
    ),
    ("case.escalated", IN): TemplateText(
        "纠纷上报：{{ case_number }}",
        _CASE_BODY + "已上报至{{ target_unit_name or '上级' }}，请及时分派。",
    ),
    ("case.escalated", SM): TemplateText(
        None, "{{ unit_name }}上报纠纷{{ case_number }}，请登录系统及时分派。"
    ),
    ("case.resolved", IN): TemplateText("调解成功：{{ case_number }}", _CASE_BODY + "调解成功。"),
    ("case.failed", IN): TemplateText("调解不成：{{ case_number }}", _CASE_BODY + "调解不成。"),
    ("case.closed", IN): TemplateText("纠纷结案：{{ case_number }}", _CASE_BODY + "已结案。"),
    ("case.reopened", IN): TemplateText(
        "纠纷重新办理：{{ case_number }}", _CASE_BODY + "已重新办理。"
    ),
    ("case.withdrawn", IN): TemplateText("纠纷撤回：{{ case_number }}", _CASE_BODY + "已撤回。"),
    ("case.deadline_due_soon", IN): TemplateText(
        "期限将至：{{ case_number }}",
        _CASE_BODY + "的{{ deadline_label }}将于{{ due_at|local }}到期，请抓紧办理。",
    ),
    ("case.deadline_due_soon", SM): TemplateText(
        None, "纠纷{{ case_number }}的{{ deadline_label }}将于{{ due_at|local }}到期，请抓紧办理。"
    ),
    ("case.deadline_overdue", IN): TemplateText(
        "已超期：{{ case_number }}",
        _CASE_BODY + "的{{ deadline_label }}已于{{ due_at|local }}到期，请立即办理。",
    ),
    ("case.deadline_overdue", SM): TemplateText(
        None, "纠纷{{ case_number }}的{{ deadline_label }}已超期，请立即办理。"
    ),
    ("case.deadline_escalated", IN): TemplateText(
        "超期督办：{{ case_number }}",
        _CASE_BODY + "的{{ deadline_label }}已于{{ due_at|local }}到期，承办人仍未办结，请督办。",
    ),
    ("case.deadline_escalated", SM): TemplateText(
        None,
        "督办提醒：纠纷{{ case_number }}（{{ unit_name }}）{{ deadline_label }}已超期，请督办。",
    ),
    ("case.follow_up_due", IN): TemplateText(
        "回访到期：{{ case_number }}", _CASE_BODY + "应于{{ due_at|local }}前完成回访。"
    ),
    ("session.scheduled", IN): TemplateText(
        "调解会安排：{{ case_number }}",
        "纠纷{{ case_number }}的调解会定于{{ starts_at|local }}在"
        "{{ '线上' if online else place }}举行，请准时参加。",
    ),
    ("session.scheduled", SM): TemplateText(
        None,
        "调解会通知：纠纷{{ case_number }}的调解会定于{{ starts_at|local }}在"
        "{{ '线上' if online else place }}举行，请准时参加。",
    ),
    ("session.rescheduled", IN): TemplateText(
        "调解会改期：{{ case_number }}",
        "纠纷{{ case_number }}的调解会由{{ previous_starts_at|local }}改为"
        "{{ starts_at|local }}，地点{{ '线上' if online else place }}。",
    ),
    ("session.rescheduled", SM): TemplateText(
        None,
        "调解会改期：纠纷{{ case_number }}的调解会改为{{ starts_at|local }}在"
        "{{ '线上' if online else place }}举行。",
    ),
    ("session.cancelled", IN): TemplateText(
        "调解会取消：{{ case_number }}",
        "纠纷{{ case_number }}原定{{ starts_at|local }}的调解会已取消。"
        "{% if reason %}原因：{{ reason }}{% endif %}",
    ),
    ("session.cancelled", SM): TemplateText(
        None, "纠纷{{ case_number }}原定{{ starts_at|local }}的调解会已取消。"
    ),
    ("session.reminder", IN): TemplateText(
        "调解会提醒：{{ case_number }}",
        "纠纷{{ case_number }}的调解会将于{{ starts_at|local }}在"
        "{{ '线上' if online else place }}举行，请准时参加。",
    ),
    ("session.reminder", SM): TemplateText(
        None,
        "提醒：纠纷{{ case_number }}的调解会将于{{ starts_at|local }}在"
        "{{ '线上' if online else place }}举行。",
    ),
    ("hotline.high_risk", IN): TemplateText(
        "高风险来电，请立即处置",
        "{{ unit_name }}心理热线有一起来电被评估为高风险"
        "{% if imminent %}（存在紧迫风险）{% endif %}，请立即查看并确认。"
        "{% if coverage_gap %}当前无值班督导，已通知工作站全部督导。{% endif %}",
    ),
    ("hotline.high_risk", SM): TemplateText(
        None, "【紧急】{{ unit_name }}心理热线有一起高风险来电，请立即登录系统查看并确认。"
    ),
    ("hotline.high_risk_unacknowledged", IN): TemplateText(
        "高风险来电仍未确认",
        "{{ unit_name }}心理热线{{ flagged_at|local }}标记的高风险来电尚无人确认，请立即处置。",
    ),
    ("hotline.high_risk_unacknowledged", SM): TemplateText(
        None, "【紧急】{{ unit_name }}心理热线的高风险来电尚无人确认，请立即登录系统处置。"
    ),
    ("hotline.follow_up_due", IN): TemplateText(
        "热线回访到期", "您接听的一次来电应于{{ follow_up_due|local }}前完成回访。"
    ),
    ("hotline.follow_up_overdue", IN): TemplateText(
        "热线回访超期",
        "{{ unit_name }}有一次来电回访已超期（应于{{ follow_up_due|local }}前完成），请督促。",
    ),
    ("stats.monthly_ready", IN): TemplateText(
        "{{ month }}月报已生成",
        "{{ unit_name }}{{ month }}的矛盾纠纷排查化解月报已生成，可查看和导出。",
    ),
    ("security.sign_in_locked", IN): TemplateText(
        "登录锁定告警：{{ username }}",
        "来自 {{ source_ip }} 的登录连续失败 {{ failures }} 次，该地址对账号 {{ username }} 的登录"
        "已锁定至 {{ locked_until|local }}；其他地址的登录不受影响。请核查是否为攻击。",
    ),
    ("webhook.subscription_disabled", IN): TemplateText(
        "推送订阅已停用：{{ name }}",
        "推送订阅「{{ name }}」（{{ url }}）已停用，原因：{{ reason_label }}。"
        "请检查接收方后在系统中重新启用，并按需手动重发失败的推送。",
    ),
    ("reference.item_created", IN): TemplateText(
        "参考数据新增：{{ label_zh }}", "列表 {{ kind }} 新增条目 {{ code }}（{{ label_zh }}）。"
    ),
    ("reference.item_updated", IN): TemplateText(
        "参考数据已修改：{{ label_zh }}", "列表 {{ kind }} 的条目 {{ code }} 已修改。"
    ),
}

GENERIC = TemplateText("{{ event_label }}", "{{ event_label }}（{{ occurred_at|local }}）")


def builtin_rule(code: str) -> RuleSpec | None:
    return next((r for r in BUILTIN_RULES if r.code == code), None)


def resolve(
    event_type: str, channel: Channel, stored: dict[Channel, TemplateText] | None = None
) -> TemplateText:
    """The text a channel uses: a stored template for the channel, else the built-in one, else
    the inbox text (stored, then built-in) shaped for the channel, else a generic text."""
    stored = stored or {}
    own = stored.get(channel) or BUILTIN_TEMPLATES.get((event_type, channel))
    if own is not None:
        return own
    inbox = (
        stored.get(Channel.inbox) or BUILTIN_TEMPLATES.get((event_type, Channel.inbox)) or GENERIC
    )
    if channel is Channel.wecom:
        return TemplateText(None, f"**{inbox.subject or ''}**\n{inbox.body}")
    if channel is Channel.sms:
        return TemplateText(None, (inbox.subject or "") + "：" + inbox.body)
    return inbox
