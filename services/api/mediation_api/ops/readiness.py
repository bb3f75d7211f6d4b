"""What readiness checks: PostgreSQL answers, Redis answers, a worker's heartbeat is fresh."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from mediation.health import heartbeat_key
from mediation_api.state import AppState


async def _database(state: AppState) -> None:
    async with state.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def readiness_checks(state: AppState) -> dict[str, str]:
    """Each dependency's state: `ok` or what is wrong (each waited on at most 3 s)."""
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(_database(state), 3)
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready; say which
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        beat = await asyncio.wait_for(state.redis.get(heartbeat_key(state.settings.arq_queue)), 3)
        checks["redis"] = "ok"
        checks["worker"] = "ok" if beat else "no recent heartbeat"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
        checks["worker"] = "unknown (redis unavailable)"
    return checks
