"""Payloads of the notification service's own outbox events (`webhook.*`)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from mediation.outbox.payloads import EventPayload, PersonIds


class SubscriptionDisabled(EventPayload):
    """A subscription was disabled after 410 Gone or persistent failure (to its owner)."""

    aggregate_type: ClassVar[str] = "webhook_subscription"
    event_types: ClassVar[tuple[str, ...]] = ("webhook.subscription_disabled",)
    subscription_id: uuid.UUID
    name: str
    url: str
    reason: str
    reason_label: str
    detail: str
    recipient_person_ids: PersonIds


class WebhookPing(EventPayload):
    """A test message an administrator sent to one subscription."""

    aggregate_type: ClassVar[str] = "webhook_subscription"
    event_types: ClassVar[tuple[str, ...]] = ("webhook.ping",)
    subscription_id: uuid.UUID
    message: str
