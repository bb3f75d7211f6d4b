"""Process-wide objects the API builds once at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import asyncpg
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mediation.auth.tokens import TokenService
from mediation.clock import Clock
from mediation.settings import Settings
from mediation_api.ratelimit import RateLimiter

if TYPE_CHECKING:
    from mediation_api.replicas import ReplicaSet


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    reads: asyncpg.Pool  # hot reads without the ORM (mediation_api/readdb.py)
    redis: Redis
    clock: Clock
    tokens: TokenService
    limiter: RateLimiter
    replicas: ReplicaSet | None = None  # DATABASE_REPLICA_URLS (mediation_api/replicas.py)
