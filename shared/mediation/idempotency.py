"""Stored responses for `Idempotency-Key` (API.md): per caller and key, the request's hash and,
once it completed, the response to replay. The mechanism lives in the API
(`mediation_api.idempotency`); the table is here so migrations and the worker (purging expired
keys) see it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, LargeBinary, String, delete
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from mediation.db import Base

KEEP_HOURS = 24


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_expires_at", "expires_at"),)

    owner: Mapped[str] = mapped_column(String(100), primary_key=True)  # "user:<id>", "client:<id>"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(400))
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12))  # in_progress | completed
    status_code: Mapped[int | None]
    headers: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    locked_at: Mapped[datetime]
    expires_at: Mapped[datetime]


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    """Deletes keys past their retention (for a periodic worker job)."""
    result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at < now))
    return int(getattr(result, "rowcount", 0) or 0)
