"""API bodies of the notification domain: the inbox, webhook subscriptions and their deliveries,
notification rules and templates, the event catalogue."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from mediation.contracts.common import Contract, Input, Instant
from mediation.notifications.enums import Channel, DeliveryStatus, DisabledReason, MessageChannel
from mediation.notifications.rules import CODE_PATTERN, PayloadMatch, Scalar, Selector

# --------------------------------------------------------------------------- inbox

# An event type or pattern a subscription names (`case.assigned`, `case.*`, `*`).
EventTypeName = Annotated[str, Field(min_length=1, max_length=80)]


class NotificationOut(Contract):
    """One message in the caller's in-app inbox."""

    id: uuid.UUID = Field(description="Identifier (time-ordered).")
    type: str = Field(description="The event type it reports, e.g. `case.assigned`.")
    title: str = Field(description="Short title, in Chinese.")
    body: str = Field(description="The message.")
    link: str | None = Field(description="API path of what it is about, if any.")
    urgent: bool = Field(description="Urgent (red risk, high-risk hotline call...).")
    created_at: Instant = Field(description="When it arrived.")
    read_at: Instant | None = Field(description="When the caller marked it read; null if unread.")


class UnreadCount(Contract):
    """How many inbox messages the caller has not read."""

    unread: int = Field(description="Unread messages.")
    urgent_unread: int = Field(description="Of which urgent.")


class MarkAllRead(Input):
    """Mark every unread message read, optionally only up to a message (the newest one the
    client showed), so one that arrived meanwhile stays unread."""

    up_to: uuid.UUID | None = Field(None, description="Only messages up to this id (inclusive).")

    model_config = ConfigDict(json_schema_extra={"examples": [{"up_to": None}]})


class MarkedRead(Contract):
    """The result of marking messages read."""

    marked: int = Field(description="How many messages changed from unread to read.")


# --------------------------------------------------------------------------- webhooks


class WebhookCreate(Input):
    """A system to notify by Standard Webhooks. The answer carries the signing secret once."""

    name: str = Field(
        min_length=1,
        max_length=100,
        description="Who receives, e.g. 市综治平台.",
        examples=["市综治平台"],
    )
    description: str | None = Field(None, max_length=2000, description="Notes.")
    url: str = Field(
        min_length=8,
        max_length=2000,
        description="http(s) URL of the receiver; not a link-local or metadata address.",
        examples=["https://receiver.example.gov.cn/hooks/mediation"],
    )
    event_types: list[EventTypeName] = Field(
        min_length=1,
        max_length=50,
        description="Event types: exact (`case.assigned`), a prefix (`case.*`) or `*`. Internal "
        "types (`internal` in `GET /api/v1/notification-event-types`) go to no webhook: a type "
        "or prefix matching only those is refused (`event-type-internal`).",
        examples=[["case.*", "session.scheduled"]],
    )
    unit_id: uuid.UUID | None = Field(
        None,
        description="Only events of this unit's subtree "
        "(default: the top of the caller's jurisdiction).",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "市综治平台",
                    "url": "https://receiver.example.gov.cn/hooks/mediation",
                    "event_types": ["case.*"],
                }
            ]
        }
    )


class WebhookUpdate(Input):
    """Changes to a subscription; omitted fields stay. Enabling clears the reason it stopped."""

    name: str | None = Field(None, min_length=1, max_length=100, description="Name.")
    description: str | None = Field(None, max_length=2000, description="Notes.")
    url: str | None = Field(None, min_length=8, max_length=2000, description="Receiver URL.")
    event_types: list[EventTypeName] | None = Field(
        None,
        min_length=1,
        max_length=50,
        description="Event types or patterns, as on creation (internal ones refused).",
    )
    unit_id: uuid.UUID | None = Field(None, description="Subtree whose events it receives.")
    enabled: bool | None = Field(None, description="Stop or resume deliveries.")

    model_config = ConfigDict(json_schema_extra={"examples": [{"enabled": True}]})


class WebhookOut(Contract):
    """A webhook subscription (the secret is only shown on creation and rotation)."""

    id: uuid.UUID = Field(description="Identifier.")
    name: str = Field(description="Name.")
    description: str | None = Field(description="Notes.")
    url: str = Field(description="Receiver URL.")
    event_types: list[str] = Field(description="Event types or patterns it receives.")
    unit_id: uuid.UUID = Field(
        description="Only events of this unit's subtree reach it (and events that belong to no "
        "unit: reference data, the calendar)."
    )
    enabled: bool = Field(description="Whether deliveries are made.")
    disabled_at: Instant | None = Field(description="When it stopped, if it did.")
    disabled_reason: DisabledReason | None = Field(description="Why it stopped.")
    consecutive_failures: int = Field(description="Failed attempts since the last success.")
    last_success_at: Instant | None = Field(description="Last delivered attempt.")
    last_failure_at: Instant | None = Field(description="Last failed attempt.")
    previous_secret_expires_at: Instant | None = Field(
        description="After a rotation: until then deliveries carry a second signature made "
        "with the old secret (after the new one's). Null before any rotation and when the old "
        "secret stopped at once (overlap 0)."
    )
    owner_id: uuid.UUID | None = Field(description="User told when it is disabled.")
    version: int = Field(description="Increments on every change (ETag).")
    created_at: Instant = Field(description="Created.")
    updated_at: Instant = Field(description="Last changed.")


class WebhookWithSecret(WebhookOut):
    """A subscription with its signing secret: keep it; it is not shown again."""

    secret: str = Field(description="`whsec_...`: verify `webhook-signature` with it.")


class DeliveryAttemptOut(Contract):
    """One try of a delivery."""

    attempt: int = Field(description="1 for the first try.")
    started_at: Instant = Field(description="When it started.")
    duration_ms: int = Field(description="How long it took.")
    outcome: str = Field(
        description="`delivered`, `retry` (will be tried again), `failed`, "
        "`gone` (410: the subscription was disabled)."
    )
    status_code: int | None = Field(description="HTTP status the receiver answered, if any.")
    error: str | None = Field(description="What went wrong.")
    response_excerpt: str | None = Field(description="Start of the receiver's answer.")
    manual: bool = Field(description="A redelivery by hand.")


class DeliveryOut(Contract):
    """One message to one subscription, with its state and retry schedule."""

    id: uuid.UUID = Field(description="Identifier.")
    webhook_id: str | None = Field(description="The `webhook-id` header: the same on every try.")
    event_id: uuid.UUID | None = Field(description="The event it carries.")
    event_type: str | None = Field(description="Its type.")
    status: DeliveryStatus = Field(description="Where it stands.")
    attempts: int = Field(description="Tries so far.")
    max_attempts: int = Field(description="Tries it gets before it fails.")
    next_attempt_at: Instant | None = Field(description="Next try, while pending.")
    last_attempt_at: Instant | None = Field(description="Last try.")
    last_status_code: int | None = Field(description="HTTP status of the last try.")
    last_error: str | None = Field(description="What went wrong last.")
    created_at: Instant = Field(description="Created.")
    delivered_at: Instant | None = Field(description="When it was delivered.")


class DeliveryDetail(DeliveryOut):
    """A delivery with the body it sends and every attempt."""

    body: Any = Field(description="The JSON body sent: `{type, timestamp, data}`.")
    attempt_log: list[DeliveryAttemptOut] = Field(description="Every try, oldest first.")


class PingQueued(Contract):
    """A test message was queued for one subscription."""

    event_id: uuid.UUID = Field(
        description="The `webhook.ping` event; its delivery shows in the subscription's deliveries."
    )


class Redelivery(Contract):
    """A redelivery was scheduled; the worker makes one try at once."""

    delivery: DeliveryOut = Field(description="The delivery, pending again.")


# --------------------------------------------------------------------------- rules


class RuleCreate(Input):
    """A notification rule of an administrator's own."""

    code: str = Field(
        pattern=CODE_PATTERN,
        description="Stable code, unique.",
        examples=["case.escalated.supervisor-email"],
    )
    name: str = Field(min_length=1, max_length=100, description="Chinese name.")
    description: str | None = Field(None, max_length=2000, description="What it is for.")
    event_type: str = Field(max_length=80, description="The event type it reacts to.")
    recipients: list[Selector] = Field(
        default_factory=list, max_length=20, description="Who receives it."
    )
    channels: list[Channel] = Field(
        min_length=1, max_length=4, description="inbox, email, sms, wecom."
    )
    payload_match: PayloadMatch = Field(
        default_factory=dict,
        max_length=20,
        description=(
            "Only events whose payload field holds one of the values, e.g. "
            '`{"risk_colour": ["red"]}`.'
        ),
    )
    urgent: bool = Field(False, description="Send SMS even in quiet hours (22:00-07:00).")
    exclude_actor: bool = Field(True, description="Do not notify whoever caused the event.")
    enabled: bool = Field(True, description="Whether it applies.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "case.escalated.supervisor-email",
                    "name": "上报抄送督办（邮件）",
                    "event_type": "case.escalated",
                    "recipients": [
                        {
                            "kind": "role",
                            "role": "supervisor",
                            "scope": "nearest",
                            "unit_field": "target_unit_id",
                        }
                    ],
                    "channels": ["email"],
                }
            ]
        }
    )


class RuleUpdate(Input):
    """Changes to a rule (a built-in rule is copied and the copy changed); omitted fields stay.
    The code and the event type never change."""

    name: str | None = Field(None, min_length=1, max_length=100, description="Name.")
    description: str | None = Field(None, max_length=2000, description="Notes.")
    recipients: list[Selector] | None = Field(None, max_length=20, description="Recipients.")
    channels: list[Channel] | None = Field(
        None, min_length=1, max_length=4, description="Channels."
    )
    payload_match: PayloadMatch | None = Field(None, max_length=20, description="Payload filter.")
    urgent: bool | None = Field(None, description="Urgent.")
    exclude_actor: bool | None = Field(None, description="Skip whoever caused it.")
    enabled: bool | None = Field(None, description="Whether it applies.")

    model_config = ConfigDict(json_schema_extra={"examples": [{"enabled": False}]})


class RuleOut(Contract):
    """A rule in effect (built-in, built-in changed, or an administrator's own)."""

    code: str = Field(description="Stable code.")
    name: str = Field(description="Name.")
    description: str | None = Field(description="What it is for.")
    event_type: str = Field(description="Event type.")
    recipients: list[Selector] = Field(description="Recipient selectors.")
    channels: list[Channel] = Field(description="Channels.")
    payload_match: dict[str, list[Scalar]] = Field(description="Payload filter.")
    urgent: bool = Field(description="Urgent: SMS also in quiet hours.")
    exclude_actor: bool = Field(description="Skips whoever caused the event.")
    enabled: bool = Field(description="Applies.")
    builtin: bool = Field(description="Ships with the service.")
    customised: bool = Field(
        description="A stored version replaces the built-in one; DELETE reverts to it."
    )
    version: int = Field(description="0 for an unchanged built-in rule (ETag).")


# --------------------------------------------------------------------------- templates


class TemplatePut(Input):
    """The text of one event type on one channel: Jinja2 with the event's variables (see
    `GET /notification-event-types`) and the filter `local` for times."""

    subject: str | None = Field(
        None, max_length=400, description="Inbox title or email subject; unused by SMS and WeCom."
    )
    body: str = Field(min_length=1, max_length=20000, description="The message.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "subject": "新分派纠纷：{{ case_number }}",
                    "body": "{{ recipient_name }}，纠纷{{ case_number }}已分派给您，"
                    "请尽快受理（{{ occurred_at|local }}）。",
                }
            ]
        }
    )


class TemplateOut(Contract):
    """The text a channel uses for an event type."""

    event_type: str = Field(description="Event type.")
    channel: Channel = Field(description="Channel.")
    subject: str | None = Field(description="Title or subject.")
    body: str = Field(description="Body.")
    source: Literal["stored", "builtin"] = Field(
        description="`stored`: an administrator's text; `builtin`: the default."
    )
    version: int = Field(description="0 for the built-in text (ETag).")


class TemplatePreview(Input):
    """Render a template against the event type's sample payload (or your own)."""

    event_type: str = Field(max_length=80, description="Event type.")
    channel: MessageChannel = Field(description="Channel (webhooks have no template).")
    subject: str | None = Field(None, max_length=400, description="Title or subject.")
    body: str = Field(min_length=1, max_length=20000, description="Body.")
    payload: dict[str, Any] | None = Field(None, description="Values to use instead of the sample.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_type": "case.assigned",
                    "channel": "sms",
                    "body": "纠纷{{ case_number }}已分派给您。",
                }
            ]
        }
    )


class Rendered(Contract):
    """A rendered template."""

    subject: str = Field(description="Rendered subject (empty if none).")
    body: str = Field(description="Rendered body.")


# --------------------------------------------------------------------------- catalogue


class EventTypeOut(Contract):
    """An event type: what it means and what its templates may use."""

    type: str = Field(description="The type, e.g. `case.assigned`.")
    label_zh: str = Field(description="Chinese label.")
    description: str = Field(description="When it is emitted.")
    variables: dict[str, Any] = Field(description="Template variables with a sample value.")
    person_fields: list[str] = Field(
        description="Payload fields with person ids (`payload_people` selectors)."
    )
    unit_fields: list[str] = Field(
        description="Payload fields with unit ids (`role` selectors' `unit_field`)."
    )
    unit_scoped: bool = Field(description="The event belongs to a unit of the tree.")
    internal: bool = Field(
        description="For the center's own staff or the service itself: never sent to webhook "
        "subscriptions, even one that names it."
    )
