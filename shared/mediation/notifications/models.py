"""The in-app inbox (one row per recipient and event), notification rules and templates,
webhook subscriptions, delivery attempts and the marks of scheduled reminders."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mediation.db import Base, IdMixin, TimestampMixin
from mediation.notifications.enums import Channel, DisabledReason
from mediation.org.models import enum_type, unit_path_index


class Notification(IdMixin, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        # A job that runs twice writes the same row once.
        UniqueConstraint("event_id", "user_id"),
        Index("ix_notifications_unread", "user_id", "id", postgresql_where=text("read_at IS NULL")),
        Index("ix_notifications_user_id_id", "user_id", "id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    event_id: Mapped[uuid.UUID | None]
    type: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(400))
    urgent: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    read_at: Mapped[datetime | None]


class NotificationRule(IdMixin, TimestampMixin, Base):
    """A stored rule: either an administrator's own, or a changed copy of a built-in rule (same
    `code`), which then replaces the built-in one."""

    __tablename__ = "notification_rules"

    code: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    event_type: Mapped[str] = mapped_column(String(80), index=True)
    # Selectors: [{"kind": "payload_people", "field": ...}, {"kind": "role", ...}] (see rules.py)
    recipients: Mapped[list[dict[str, object]]] = mapped_column(JSONB, default=list)
    channels: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    payload_match: Mapped[dict[str, object]] = mapped_column(JSONB, default=dict)
    urgent: Mapped[bool] = mapped_column(default=False)
    exclude_actor: Mapped[bool] = mapped_column(default=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)
    updated_by: Mapped[uuid.UUID | None]


class NotificationTemplate(IdMixin, TimestampMixin, Base):
    """A stored text for one event type and channel; without one the built-in text applies."""

    __tablename__ = "notification_templates"
    __table_args__ = (UniqueConstraint("event_type", "channel"),)

    event_type: Mapped[str] = mapped_column(String(80))
    channel: Mapped[Channel] = mapped_column(enum_type(Channel, "notification_channel"))
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)
    updated_by: Mapped[uuid.UUID | None]


class WebhookSubscription(IdMixin, TimestampMixin, Base):
    """Another system that receives events by Standard Webhooks. Only events of its unit's
    subtree (and events that belong to no unit) reach it."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (unit_path_index("webhook_subscriptions"),)

    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str] = mapped_column(String(2000))
    # whsec_...: the receiver verifies signatures with it; it must be readable to sign.
    secret: Mapped[str] = mapped_column(String(100))
    # The secret before the last rotation: deliveries carry its signature too until it expires.
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None]
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(80)))
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    unit_path: Mapped[str] = mapped_column(String(400))
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[DisabledReason | None] = mapped_column(
        enum_type(DisabledReason, "webhook_disabled_reason")
    )
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)


class DeliveryAttempt(IdMixin, Base):
    """One try of one delivery: when, how long, what came back."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (UniqueConstraint("delivery_id", "attempt"),)

    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    attempt: Mapped[int]
    started_at: Mapped[datetime]
    duration_ms: Mapped[int]
    outcome: Mapped[str] = mapped_column(String(20))
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(2000))
    response_excerpt: Mapped[str | None] = mapped_column(String(1000))
    manual: Mapped[bool] = mapped_column(default=False)


class SweepMark(IdMixin, Base):
    """A scheduled reminder already sent: sweep, record, stage and the due time it was about.
    Inserted with the event in one transaction, so several workers sweeping at once (or one
    sweeping twice) send it once; a moved due time is a new mark."""

    __tablename__ = "sweep_marks"
    __table_args__ = (UniqueConstraint("sweep", "record_id", "stage", "due_at"),)

    sweep: Mapped[str] = mapped_column(String(80))
    record_id: Mapped[uuid.UUID]
    stage: Mapped[str] = mapped_column(String(40))
    due_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
