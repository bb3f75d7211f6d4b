"""process_event: runs every handler registered for an event's type, in one transaction, and
marks the event processed. Handlers write rows with unique keys, so a second run is a no-op."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.outbox.models import OutboxEvent
from mediation_worker.context import WorkerContext, wctx
from mediation_worker.instrument import instrumented

log = logging.getLogger("mediation.worker.events")

Handler = Callable[[AsyncSession, OutboxEvent, WorkerContext], Awaitable[None]]
_HANDLERS: list[tuple[str, Handler]] = []


def on(prefix: str) -> Callable[[Handler], Handler]:
    """Register a handler for event types starting with `prefix` ("" for every event)."""

    def register(handler: Handler) -> Handler:
        _HANDLERS.append((prefix, handler))
        return handler

    return register


def handlers_for(event_type: str) -> list[Handler]:
    return [h for prefix, h in _HANDLERS if event_type.startswith(prefix)]


@instrumented
async def process_event(ctx: dict[str, Any], event_id: str) -> str:
    c = wctx(ctx)
    async with c.sessions() as session, session.begin():
        event = (await session.scalars(
            select(OutboxEvent).where(OutboxEvent.id == uuid.UUID(event_id)).with_for_update()
        )).one_or_none()
        if event is None:
            log.warning("event %s not found", event_id)
            return "missing"
        if event.processed_at is not None:
            return "already processed"
        for handler in handlers_for(event.type):
            await handler(session, event, c)
        event.processed_at = c.clock.now()
    return "processed"
