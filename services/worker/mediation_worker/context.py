"""What every job gets: settings, the session factory, the clock, Redis, the tracer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mediation.clock import Clock
from mediation.settings import Settings
from mediation.tracing import Tracing
from mediation_worker.notifications.cache import ConfigCache


@dataclass
class WorkerContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    redis: ArqRedis
    tracing: Tracing = field(default_factory=Tracing)  # off: a no-op tracer
    # Rules, templates and subscriptions, read by the fan-out and the handlers on every event
    # and changed rarely: kept per process for a couple of seconds.
    config: ConfigCache = field(default_factory=ConfigCache)


def wctx(ctx: dict[str, Any]) -> WorkerContext:
    value: WorkerContext = ctx["mediation"]
    return value
