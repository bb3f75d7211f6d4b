"""Writing and verifying the audit chain.

Entries are queued on the ORM session (`record`, and automatically for every outbox event and
access-log entry a flush writes: every write of the service emits an outbox event, so the
trail of writes lives here, not in routers), staged in one row of `audit_pending` just before
the transaction commits, and chained by the database at COMMIT (a deferred trigger, migration
0033) under a transaction-level advisory lock held only for the commit itself: entries of a
transaction that rolls back are never written, and writers never wait on each other while
holding row locks of their own or on another writer's round trips."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import event, insert, select, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session
from sqlalchemy.util.concurrency import await_

from mediation.audit.context import actor_var, client_ip_var
from mediation.audit.models import AuditAnchor, AuditEvent, AuditPending
from mediation.db import driver_connection_in_greenlet
from mediation.gmcrypto import CryptoProfile, chain_hash, chain_hash_like
from mediation.logs import request_id_var
from mediation.outbox.events import take_notify

GENESIS = "0" * 64
_QUEUE = "audit_queue"
# Takes the chain's lock (one chain, one writer at a time; held to COMMIT), sends the outbox's
# NOTIFY if asked, and returns the newest entry's, else the newest anchor's (seq, hash). The
# commit's trigger calls it; the archive takes the lock with it.
HEAD_SQL = text("SELECT seq, hash FROM audit_chain_head(:notify)")
# The staging row's insert, built once (a statement is immutable; its compiled form is cached);
# inline: nothing to read back (the row is gone at COMMIT), so no RETURNING of its id.
_STAGE = insert(AuditPending.__table__).inline()
# The same on the driver connection (`_chain_on_commit`).
_STAGE_SQL = "INSERT INTO audit_pending (notify, profile, entries) VALUES ($1, $2, $3)"


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
            "detail": _as_stored(detail),
        }
    )


class _NotPlain(Exception):
    pass


def _plain_copy(value: Any) -> Any:
    """A copy of `value` if it is already what a JSON round trip gives back (dicts with str
    keys, lists, str, int, float, bool, None: exact types); else `_NotPlain`."""
    t = type(value)
    if t is str or t is int or t is float or t is bool or value is None:
        return value
    if t is dict:
        out = {}
        for k, v in value.items():
            if type(k) is not str:
                raise _NotPlain
            out[k] = _plain_copy(v)
        return out
    if t is list:
        return [_plain_copy(v) for v in value]
    raise _NotPlain


def _as_stored(detail: dict[str, Any]) -> Any:
    """The detail as stored and hashed: JSON's own types (ids, times and the like as `str`,
    tuples as lists). Most details already are, and copying them is cheaper than the round
    trip; anything else takes it, so the result is the same."""
    try:
        return _plain_copy(detail)
    except _NotPlain:
        return json.loads(json.dumps(detail, default=str))


# What `json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))` builds
# on every call (the hashes depend on its output byte for byte), made once.
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _content(row: dict[str, Any]) -> dict[str, Any]:
    """What the hash covers but `seq`, as JSON text values (also how the entry is staged)."""
    return {
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


def _canonical_to_seq(content: dict[str, Any]) -> str:
    """The entry's canonical JSON up to its `seq`, which sorts last: the whole is this, the
    number, and `}` (what the commit's trigger appends once it knows the number)."""
    return _CANONICAL.encode(content)[:-1] + ',"seq":'


def digest(prev_hash: str, row: dict[str, Any], stored: str | None = None) -> str:
    canonical = f"{_canonical_to_seq(_content(row))}{row['seq']}}}"
    data = (prev_hash + canonical).encode()
    # Verifying: the algorithm that made the stored hash; writing: the configured profile.
    return chain_hash_like(stored, data) if stored is not None else chain_hash(data, _PROFILE[0])


def staged(entry: dict[str, Any]) -> dict[str, Any]:
    """A queued entry as the commit's trigger takes it: its columns and `c`, the canonical
    JSON the trigger hashes after the previous hash, with the `seq` it gives."""
    content = _content(entry)
    content["c"] = _canonical_to_seq(content)
    return content


# The profile new entries are chained with (`use_profile`, from the settings at start-up).
_PROFILE: list[CryptoProfile] = [CryptoProfile.default]


def use_profile(profile: CryptoProfile) -> None:
    _PROFILE[0] = profile


# Configuration and accounts (issue 18 item 5): their changes are recorded field by field,
# old and new value. Secrets and hashes show only that they changed.
CONFIG_TABLES = frozenset(
    {
        "units",
        "people",
        "role_assignments",
        "users",
        "api_clients",
        "reference_items",
        "deadline_rules",
        "calendar_days",
        "notification_rules",
        "notification_templates",
        "webhook_subscriptions",
    }
)
_SECRET = re.compile(r"secret|hash|token|password|totp|recovery|otp")
HIDDEN = "***"
# Columns a sign-in or the service moves by itself: not someone's change of configuration.
NOT_CONFIGURATION = frozenset({"last_login_at"})


def _value(key: str, value: Any) -> Any:
    return HIDDEN if value is not None and _SECRET.search(key) else value


def changes(obj: Any, operation: str) -> dict[str, list[Any]]:
    """{column: [old, new]} of a flushed object: every column when created or deleted, the
    changed ones when updated."""
    state = sa_inspect(obj)
    out: dict[str, list[Any]] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in NOT_CONFIGURATION:
            continue
        if operation == "create":
            old, new = None, state.dict.get(key)  # never loads: no I/O inside a flush
        elif operation == "delete":
            old, new = state.dict.get(key), None
        else:
            hist = state.attrs[key].history
            if not hist.added and not hist.deleted:
                continue
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if old == new:
                continue
        out[key] = [_value(key, old), _value(key, new)]
    return {k: v for k, v in out.items() if not (v[0] is None and v[1] is None)}


def _record_config_changes(session: Session) -> None:
    for operation, objects in (
        ("create", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            table = getattr(obj, "__tablename__", None)
            if table not in CONFIG_TABLES:
                continue
            diff = changes(obj, operation)
            if not diff:
                continue
            record_id = getattr(obj, "id", None)
            record(
                session,
                action="config.changed",
                record_type=table,
                record_id=record_id if isinstance(record_id, uuid.UUID) else None,
                operation=operation,
                changes=diff,
            )


def audit_outbox(session: Any, event: Any) -> None:
    """The trail's entry of an outbox event (an `OutboxEvent`, or any object with its
    columns: a write that inserts its rows itself audits them with this)."""
    record(
        session,
        action=event.type,
        actor_id=event.actor_id,
        record_type=event.aggregate_type,
        record_id=event.aggregate_id,
        outbox_event_id=str(event.id),
    )


@event.listens_for(Session, "after_flush")
def _writes_are_audited(session: Session, _flush: Any) -> None:
    from mediation.auth.models import AccessLogEntry
    from mediation.outbox.models import OutboxEvent

    _record_config_changes(session)

    for obj in session.new:
        if isinstance(obj, OutboxEvent):
            audit_outbox(session, obj)
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


# Ahead of the outbox's own listener (insert=True): the chain's trigger also wakes the relay.
@event.listens_for(Session, "before_commit", insert=True)
def _chain_on_commit(session: Session) -> None:
    if session.in_nested_transaction():
        # A savepoint's release: the entries wait for the transaction's commit.
        return
    session.flush()
    queued = session.info.pop(_QUEUE, None)
    if not queued:
        return
    # Staged, not chained: the deferred trigger takes the lock, numbers, hashes and inserts them
    # at COMMIT (migration 0033), so no round trip of this service happens under the lock.
    notify, profile = take_notify(session), _PROFILE[0].value
    entries = [staged(entry) for entry in queued]
    driver = driver_connection_in_greenlet(session)
    if driver is None:
        session.execute(_STAGE, {"notify": notify, "profile": profile, "entries": entries})
        return
    # Every write commits through here: on the driver the row skips the session's execution
    # context and SQLAlchemy's cursor adapter (issue 22). The JSON as the JSONB type writes it.
    await_(driver.execute(_STAGE_SQL, notify, profile, json.dumps(entries)))


@event.listens_for(Session, "after_rollback")
def _drop_on_rollback(session: Session) -> None:
    session.info.pop(_QUEUE, None)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None  # altered | inserted | deleted


def verify(
    rows: Iterable[AuditEvent | dict[str, Any]], after_seq: int = 0, after_hash: str = GENESIS
) -> Verdict:
    """Walks the chain in `seq` order from the entry after (`after_seq`, `after_hash`) (the
    start, or an archive's anchor) and names the first entry that breaks it."""
    expected_seq, prev, checked = after_seq + 1, after_hash, 0
    for item in rows:
        row = (
            item
            if isinstance(item, dict)
            else {c: getattr(item, c) for c in AuditEvent.__table__.columns.keys()}
        )
        e = SimpleNamespace(**row)
        if e.seq != expected_seq:
            return Verdict(False, checked, expected_seq, "deleted")
        if e.prev_hash != prev:
            return Verdict(False, checked, e.seq, "inserted")
        if digest(prev, row, e.hash) != e.hash:
            return Verdict(False, checked, e.seq, "altered")
        prev, expected_seq, checked = e.hash, expected_seq + 1, checked + 1
    return Verdict(True, checked)


async def latest_anchor(session: Any) -> tuple[int, str]:
    """Where the table's chain starts: the newest archive anchor (seq, hash), else the start."""
    anchor = (
        await session.execute(
            select(AuditAnchor.seq, AuditAnchor.hash).order_by(AuditAnchor.seq.desc()).limit(1)
        )
    ).first()
    return (anchor[0], anchor[1]) if anchor else (0, GENESIS)


async def verify_database(session: Any) -> Verdict:
    """Verifies the table's chain in `seq` order, from the newest archive anchor if any."""
    after_seq, after_hash = await latest_anchor(session)
    rows = await session.stream_scalars(
        select(AuditEvent).where(AuditEvent.seq > after_seq).order_by(AuditEvent.seq)
    )
    return verify([e async for e in rows], after_seq, after_hash)


async def verify_with_settings(settings: Any) -> Verdict:
    from mediation.db import standalone

    async with standalone(settings) as sessions, sessions() as session:
        return await verify_database(session)
