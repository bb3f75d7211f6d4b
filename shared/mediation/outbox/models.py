"""The transactional outbox: events written with the change they report, relayed by the worker."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, false, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mediation.db import Base, IdMixin


class OutboxEvent(IdMixin, Base):
    __tablename__ = "outbox_events"
    __table_args__ = (
        # The relay only ever scans what is still waiting.
        Index("ix_outbox_events_pending", "id", postgresql_where=text("relayed_at IS NULL")),
        # The sweeper re-relays events whose job was lost (relayed long ago, never processed).
        Index(
            "ix_outbox_events_unprocessed",
            "relayed_at",
            postgresql_where=text("processed_at IS NULL"),
        ),
    )

    type: Mapped[str] = mapped_column(String(80))
    aggregate_type: Mapped[str] = mapped_column(String(40))
    aggregate_id: Mapped[uuid.UUID | None]
    unit_path: Mapped[str | None] = mapped_column(String(400))
    payload: Mapped[dict[str, object]] = mapped_column(JSONB, default=dict)
    actor_id: Mapped[uuid.UUID | None]
    request_id: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    relayed_at: Mapped[datetime | None]
    relay_attempts: Mapped[int] = mapped_column(default=0)
    processed_at: Mapped[datetime | None]
    # W3C trace context of the request that wrote the event (traceparent, tracestate): the
    # worker continues that trace. NULL when tracing is off.
    trace_context: Mapped[dict[str, str] | None] = mapped_column(JSONB(none_as_null=True))


class Delivery(IdMixin, Base):
    """One side effect of one event for one consumer/recipient/channel. The unique key makes a
    second run of the same job a no-op; retries and final failure are visible here."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        Index("ix_deliveries_subscription_id_id", "subscription_id", "id"),
    )

    key: Mapped[str] = mapped_column(String(200), unique=True)
    event_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    channel: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    delivered_at: Mapped[datetime | None]
    # Added by the notifications migration (0004): what to send, to which subscription, and
    # how many tries it gets (a manual redelivery adds one).
    event_type: Mapped[str | None] = mapped_column(String(80))
    rule_code: Mapped[str | None] = mapped_column(String(80))
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    urgent: Mapped[bool] = mapped_column(default=False, server_default=false())
    message: Mapped[dict[str, object]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    max_attempts: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    # The trace of the fan-out that made the row: every send (retries too) continues it.
    trace_context: Mapped[dict[str, str] | None] = mapped_column(JSONB(none_as_null=True))
