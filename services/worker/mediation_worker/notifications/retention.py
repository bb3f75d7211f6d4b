"""The retention job of the notification tables: processed outbox events, finished deliveries
(with their attempts), read inbox items and old reminder marks are deleted in batches, so the
tables the relay and the delivery loop scan stay small. (Hotline records have their own job.)"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from mediation_worker.context import wctx
from mediation_worker.instrument import instrumented

log = logging.getLogger("mediation.worker.retention")

CHUNK = 5000

_DELETES = {
    "outbox_events": "DELETE FROM outbox_events WHERE id IN (SELECT id FROM outbox_events "
    "WHERE processed_at < :before LIMIT :n)",
    "deliveries": "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE "
    "status <> 'pending' AND created_at < :before LIMIT :n)",
    "notifications": "DELETE FROM notifications WHERE id IN (SELECT id FROM notifications "
    "WHERE read_at < :before LIMIT :n)",
    "sweep_marks": "DELETE FROM sweep_marks WHERE id IN (SELECT id FROM sweep_marks WHERE "
    "due_at < :before LIMIT :n)",
}


@instrumented
async def notification_retention(ctx: dict[str, Any]) -> dict[str, int]:
    c = wctx(ctx)
    s = c.settings
    now = c.clock.now()
    ages = {
        "outbox_events": s.outbox_retention_days,
        "deliveries": s.delivery_retention_days,
        "notifications": s.notification_retention_days,
        "sweep_marks": 90,
    }
    removed: dict[str, int] = {}
    for table, statement in _DELETES.items():
        before = now - timedelta(days=ages[table])
        total = 0
        while True:  # short transactions: no long lock on a busy table
            async with c.sessions() as session, session.begin():
                result = await session.execute(text(statement), {"before": before, "n": CHUNK})
            n = result.rowcount or 0  # type: ignore[attr-defined]
            total += n
            if n < CHUNK:
                break
        removed[table] = total
    log.info("retention removed %s", removed)
    return removed
