"""Enumerations of the notification domain, with their Chinese labels."""

from __future__ import annotations

from mediation.enums import LabelledEnum, labelled


@labelled
class Channel(LabelledEnum):
    """How a notification reaches its recipient."""

    inbox = "inbox", "站内消息", "In-app inbox"
    email = "email", "电子邮件", "Email (SMTP)"
    sms = "sms", "短信", "SMS through the gateway"
    wecom = "wecom", "企业微信群机器人", "WeCom group robot"
    webhook = "webhook", "系统对接推送", "Integration webhook"


@labelled
class MessageChannel(LabelledEnum):
    """A channel that carries a written message, from a template; webhooks send the event
    itself as JSON and have none."""

    inbox = "inbox", "站内消息", "In-app inbox"
    email = "email", "电子邮件", "Email (SMTP)"
    sms = "sms", "短信", "SMS through the gateway"
    wecom = "wecom", "企业微信群机器人", "WeCom group robot"

    @property
    def channel(self) -> Channel:
        return Channel(self.value)


# Channels a notification rule may name (webhooks follow subscriptions, not rules).
RULE_CHANNELS = tuple(m.channel for m in MessageChannel)


@labelled
class DeliveryStatus(LabelledEnum):
    """Where one delivery stands. `failed`, `skipped` and `cancelled` are final."""

    pending = "pending", "待发送", "Waiting to be sent (or retried)"
    delivered = "delivered", "已送达", "Delivered"
    failed = "failed", "发送失败", "Failed after every retry"
    skipped = "skipped", "未发送", "Not sent (no address, channel not configured)"
    cancelled = "cancelled", "已取消", "Cancelled (subscription disabled or deleted)"


@labelled
class RoleScope(LabelledEnum):
    """Where to look for holders of a role, relative to the event's unit."""

    unit = "unit", "本级", "At the unit itself"
    parent = "parent", "上一级", "At the parent unit (the next level up)"
    nearest = "nearest", "本级或最近上级", "At the unit or the nearest ancestor that has one"
    ancestors = "ancestors", "本级及全部上级", "At the unit and every ancestor"
    anywhere = "anywhere", "全部", "Anywhere in the tree"


@labelled
class DisabledReason(LabelledEnum):
    """Why a webhook subscription stopped receiving events."""

    manual = "manual", "手动停用", "Disabled by an administrator"
    gone = "gone", "对方返回410", "The receiver answered 410 Gone"
    failing = "failing", "持续失败", "Deliveries failed after every retry"
