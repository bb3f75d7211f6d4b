"""Retention of stored `Idempotency-Key` responses: the API keeps each key until its
`expires_at` (at least 24 hours, API.md); this hourly job deletes the keys past it."""

from __future__ import annotations

import logging
from typing import Any

from mediation.idempotency import purge_expired
from mediation_worker.context import wctx
from mediation_worker.instrument import instrumented

log = logging.getLogger("mediation.worker.idempotency")


@instrumented
async def purge_idempotency_keys(ctx: dict[str, Any]) -> int:
    c = wctx(ctx)
    async with c.sessions() as session, session.begin():
        removed = await purge_expired(session, c.clock.now())
    if removed:
        log.info("idempotency keys purged", extra={"ctx_removed": removed})
    return removed
