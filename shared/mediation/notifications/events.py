"""Payloads of the notification service's own outbox events (`webhook.*`)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from mediation.outbox.payloads import EventPayload, PersonIds


class _SubscriptionEvent(EventPayload):
    aggregate_type: ClassVar[str] = "webhook_subscription"
    subscription_id: uuid.UUID


class SubscriptionDisabled(_SubscriptionEvent):
    """A subscription was disabled after 410 Gone or persistent failure (to its owner)."""

    event_types = ("webhook.subscription_disabled",)
    name: str
    url: str
    reason: str
    reason_label: str
    detail: str
    recipient_person_ids: PersonIds


class WebhookPing(_SubscriptionEvent):
    """A test message an administrator sent to one subscription."""

    event_types = ("webhook.ping",)
    message: str
