"""The audit trail (安全审计): append-only, each entry chained to the previous by a hash."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mediation.db import Base


class AuditEvent(Base):
    """One security event or write. `seq` has no gaps (given under a lock at commit), so a
    deleted entry shows as a gap; `hash` covers `prev_hash` and the entry's content, so an
    altered or inserted entry breaks the chain. A trigger refuses UPDATE and DELETE."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_actor_at", "actor_id", "at"),
        Index("ix_audit_events_record", "record_type", "record_id"),
        Index("ix_audit_events_action", "action"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor_id: Mapped[uuid.UUID | None]
    actor_name: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(80))
    record_type: Mapped[str | None] = mapped_column(String(40))
    record_id: Mapped[uuid.UUID | None]
    result: Mapped[str] = mapped_column(String(20))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, object]] = mapped_column(JSONB, default=dict)
    # Hex SHA-256, or `sm3:` + hex SM3 in the national profile (mediation.gmcrypto).
    prev_hash: Mapped[str] = mapped_column(String(80))
    hash: Mapped[str] = mapped_column(String(80))


class AuditAnchor(Base):
    """Where the table's chain starts after archiving: the last archived entry's `seq` and
    hash. Verifying the table starts from the newest anchor; the archive file verifies up to
    it. Append-only like the trail; the trigger lets an entry be deleted only at or below the
    newest anchor (once it is in an archive)."""

    __tablename__ = "audit_anchors"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(80))
    archived_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    file: Mapped[str] = mapped_column(String(500))
    entries: Mapped[int] = mapped_column(BigInteger)


class AuditPending(Base):
    """A transaction's entries on their way into the chain: one row staged just before COMMIT,
    chained into `audit_events` and deleted by a deferred trigger at COMMIT (migration 0033), so
    the chain's lock is held for the commit alone, not for round trips to the service. Empty
    outside a transaction, hence UNLOGGED (no WAL; nothing in it outlives its transaction)."""

    __tablename__ = "audit_pending"
    __table_args__ = {"prefixes": ["UNLOGGED"]}

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    notify: Mapped[bool]  # the outbox relay's NOTIFY, sent under the lock as before
    profile: Mapped[str] = mapped_column(String(10))  # CryptoProfile: SHA-256 or SM3
    # Each: the entry's columns as JSON text values, and `c`, its canonical JSON up to `seq`.
    entries: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
