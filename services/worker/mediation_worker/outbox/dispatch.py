"""process_event: runs every handler registered for an event's type and the notification fan-out
in one transaction, and marks the event processed. Handlers write rows with unique keys, so a
second run is a no-op. Right after the commit the job sends the deliveries it created (the fast
path); whatever it cannot send (a crash, a retry) is picked up by the delivery loop."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.notifications.enums import DeliveryStatus
from mediation.outbox.models import Delivery, OutboxEvent
from mediation_worker.context import WorkerContext, wctx
from mediation_worker.instrument import instrumented
from mediation_worker.notifications.deliver import deliver_many
from mediation_worker.notifications.fanout import fan_out
from mediation_worker.notifications.runtime import runtime

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
    ident = uuid.UUID(event_id)
    async with c.sessions() as session, session.begin():
        event = (
            await session.scalars(
                select(OutboxEvent).where(OutboxEvent.id == ident).with_for_update()
            )
        ).one_or_none()
        if event is None:
            log.warning("event %s not found", event_id)
            return "missing"
        if event.processed_at is not None:
            # A repeat (a lost job relayed again): send what the first run may have left.
            outcome = "already processed"
            to_send = list(
                (
                    await session.scalars(
                        select(Delivery.id).where(
                            Delivery.event_id == ident,
                            Delivery.status == DeliveryStatus.pending.value,
                            Delivery.attempts == 0,
                        )
                    )
                ).all()
            )
        else:
            outcome = "processed"
            for handler in handlers_for(event.type):
                await handler(session, event, c)
            to_send = await fan_out(session, event, c.settings, c.clock.now(), runtime(ctx).cache)
            event.processed_at = c.clock.now()
    if to_send:
        await deliver_many(c, runtime(ctx), to_send)
    return outcome
