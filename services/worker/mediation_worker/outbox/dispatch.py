"""process_event: runs every handler registered for an event's type and the notification fan-out
in one transaction, and marks the event processed. Handlers write rows with unique keys, so a
second run is a no-op. Right after the commit the job sends the deliveries it created (the fast
path); whatever it cannot send (a crash, a retry) is picked up by the delivery loop."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mediation.db import driver_connection
from mediation.outbox.models import OutboxEvent
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


# Claims the event and marks it processed in one statement: a concurrent run of the same
# event waits on the row and then finds it processed; a failed run rolls the mark back. On the
# transaction's driver connection (so are the fan-out's statements): through the ORM the claim
# cost more CPU than the statement. The columns are the model's, named: a column a later
# migration adds is not handed to a model that does not know it.
_COLUMNS = ", ".join(c.name for c in OutboxEvent.__table__.c)
_CLAIM = (
    "UPDATE outbox_events SET processed_at = $2 WHERE id = $1 AND processed_at IS NULL"
    f" RETURNING {_COLUMNS}"
)
_EXISTS = "SELECT true FROM outbox_events WHERE id = $1"
_LEFT_OVER = "SELECT id FROM deliveries WHERE event_id = $1 AND status = 'pending' AND attempts = 0"


@instrumented
async def process_event(ctx: dict[str, Any], event_id: str) -> str:
    c = wctx(ctx)
    ident = uuid.UUID(event_id)
    now = c.clock.now()
    # One connection for the event's transaction and, when it made one delivery, its send (one
    # checkout). Several are sent concurrently on connections of their own, after this one is
    # back in the pool: a job waiting for more connections while holding one deadlocks the
    # pool once every connection is held by such a job (found by the HA drill: 40 jobs, 20
    # connections, sends timing out on the pool for minutes).
    to_send: list[uuid.UUID] = []
    async with c.engine.connect() as conn:
        async with AsyncSession(bind=conn, expire_on_commit=False, autoflush=False) as session:
            async with session.begin():
                pg = await driver_connection(session)
                row = await pg.fetchrow(_CLAIM, ident, now)
                if row is None:
                    if not await pg.fetchval(_EXISTS, ident):
                        log.warning("event %s not found", event_id)
                        return "missing"
                    # A repeat (a lost job relayed again): send what the first run left.
                    outcome = "already processed"
                    to_send = [r[0] for r in await pg.fetch(_LEFT_OVER, ident)]
                else:
                    outcome = "processed"
                    # Handlers read the event: a detached copy (the row is updated already).
                    event = OutboxEvent(**row)
                    for handler in handlers_for(event.type):
                        await handler(session, event, c)
                    with c.tracing.tracer.start_as_current_span("fan-out"):
                        to_send = await fan_out(session, event, c.settings, now, c.config)
        if len(to_send) == 1:
            raw = await conn.get_raw_connection()
            await deliver_many(c, runtime(ctx), to_send, raw.driver_connection)  # type: ignore[arg-type]
    if len(to_send) > 1:
        await deliver_many(c, runtime(ctx), to_send)
    return outcome
