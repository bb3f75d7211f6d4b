"""Writing an outbox event: always in the caller's transaction, never committed here."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.outbox.models import OutboxEvent
from mediation.tracing import current_context

NOTIFY_CHANNEL = "outbox"


async def emit(
    session: AsyncSession,
    *,
    type: str,
    aggregate_type: str,
    aggregate_id: uuid.UUID | None,
    occurred_at: datetime,
    payload: dict[str, Any] | None = None,
    unit_path: str | None = None,
    actor_id: uuid.UUID | None = None,
    request_id: str | None = None,
) -> OutboxEvent:
    event = OutboxEvent(
        type=type,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        payload=payload or {},
        unit_path=unit_path,
        actor_id=actor_id,
        request_id=request_id,
        occurred_at=occurred_at,
        trace_context=current_context(),
    )
    session.add(event)
    # Delivered by PostgreSQL only if the transaction commits: wakes the relay at once.
    await session.execute(text("SELECT pg_notify(:c, '')"), {"c": NOTIFY_CHANNEL})
    return event
