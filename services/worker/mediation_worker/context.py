"""What every job gets: settings, the session factory, the clock, Redis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mediation.clock import Clock
from mediation.settings import Settings


@dataclass
class WorkerContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    redis: ArqRedis


def wctx(ctx: dict[str, Any]) -> WorkerContext:
    value: WorkerContext = ctx["mediation"]
    return value
