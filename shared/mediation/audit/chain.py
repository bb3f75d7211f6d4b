"""Writing and verifying the audit chain.

Entries are queued on the ORM session (`record`, and automatically for every outbox event and
access-log entry a flush writes: every write of the service emits an outbox event, so the
trail of writes lives here, not in routers) and chained just before the transaction commits,
under a transaction-level advisory lock held only for those few inserts: entries of a
transaction that rolls back are never written, and writers never wait on each other while
holding row locks of their own."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, insert, select, text
from sqlalchemy.orm import Session

from mediation.audit.context import actor_var, client_ip_var
from mediation.audit.models import AuditEvent
from mediation.logs import request_id_var

GENESIS = "0" * 64
_QUEUE = "audit_queue"
_LOCK = 0x6175646974  # "audit": one chain, one writer at a time


def record(
    session: Any,
    *,
    action: str,
    result: str = "success",
    actor_id: uuid.UUID | None = None,
    actor_name: str | None = None,
    record_type: str | None = None,
    record_id: uuid.UUID | None = None,
    client_ip: str | None = None,
    **detail: Any,
) -> None:
    """Queue an entry on `session` (sync or async); written when it commits. Where the
    request came from and the caller's roles and client id come from the request's context
    (mediation.audit.context) unless given."""
    sync = getattr(session, "sync_session", session)
    actor = actor_var.get()
    if actor is not None:
        detail.setdefault("actor_roles", list(actor.roles))
        if actor.client_id:
            detail.setdefault("client_id", actor.client_id)
    sync.info.setdefault(_QUEUE, []).append(
        {
            "at": datetime.now(UTC),
            "actor_id": actor_id,
            "actor_name": actor_name,
            "action": action,
            "record_type": record_type,
            "record_id": record_id,
            "result": result,
            "client_ip": client_ip or client_ip_var.get(),
            "request_id": request_id_var.get(),
            "detail": json.loads(json.dumps(detail, default=str)),
        }
    )


def digest(prev_hash: str, row: dict[str, Any]) -> str:
    content = {
        "seq": row["seq"],
        "at": row["at"].astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": str(row["actor_id"]) if row["actor_id"] else None,
        "actor_name": row["actor_name"],
        "action": row["action"],
        "record_type": row["record_type"],
        "record_id": str(row["record_id"]) if row["record_id"] else None,
        "result": row["result"],
        "client_ip": row["client_ip"],
        "request_id": row["request_id"],
        "detail": row["detail"],
    }
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


@event.listens_for(Session, "after_flush")
def _writes_are_audited(session: Session, _flush: Any) -> None:
    from mediation.auth.models import AccessLogEntry
    from mediation.outbox.models import OutboxEvent

    for obj in session.new:
        if isinstance(obj, OutboxEvent):
            record(
                session,
                action=obj.type,
                actor_id=obj.actor_id,
                record_type=obj.aggregate_type,
                record_id=obj.aggregate_id,
                outbox_event_id=str(obj.id),
            )
        elif isinstance(obj, AccessLogEntry):
            # The access log stays as it is and is linked from the trail.
            record(
                session,
                action=f"read.{obj.record_type}",
                actor_id=obj.actor_id,
                actor_name=obj.actor_name,
                record_type=obj.record_type,
                record_id=obj.record_id,
                access_log_id=str(obj.id),
            )


@event.listens_for(Session, "before_commit")
def _chain_on_commit(session: Session) -> None:
    session.flush()
    queued = session.info.pop(_QUEUE, None)
    if not queued:
        return
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0], last[1]) if last else (0, GENESIS)
    rows = []
    for entry in queued:
        seq += 1
        row = {**entry, "seq": seq, "prev_hash": prev}
        row["hash"] = prev = digest(row["prev_hash"], row)
        rows.append(row)
    session.execute(insert(AuditEvent), rows)


@event.listens_for(Session, "after_rollback")
def _drop_on_rollback(session: Session) -> None:
    session.info.pop(_QUEUE, None)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None  # altered | inserted | deleted


def verify(rows: Iterable[AuditEvent]) -> Verdict:
    """Walks the chain in `seq` order and names the first entry that breaks it."""
    expected_seq, prev, checked = 1, GENESIS, 0
    for e in rows:
        row = {c: getattr(e, c) for c in AuditEvent.__table__.columns.keys()}
        if e.seq != expected_seq:
            return Verdict(False, checked, expected_seq, "deleted")
        if e.prev_hash != prev:
            return Verdict(False, checked, e.seq, "inserted")
        if digest(prev, row) != e.hash:
            return Verdict(False, checked, e.seq, "altered")
        prev, expected_seq, checked = e.hash, expected_seq + 1, checked + 1
    return Verdict(True, checked)


async def verify_database(session: Any) -> Verdict:
    """Verifies the whole chain, streaming it in `seq` order."""
    rows = await session.stream_scalars(select(AuditEvent).order_by(AuditEvent.seq))
    return verify([e async for e in rows])


async def verify_with_settings(settings: Any) -> Verdict:
    from mediation.db import create_engine, session_factory

    engine = create_engine(settings)
    try:
        async with session_factory(engine)() as session:
            return await verify_database(session)
    finally:
        await engine.dispose()
