"""Writing the access log: every read of unmasked personal data or of a hotline record."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.audit import chain
from mediation.auth.models import AccessLogEntry
from mediation.auth.principal import Principal
from mediation.db import driver_connection
from mediation.ids import uuid7
from mediation.logs import request_id_var


def record_access(
    session: AsyncSession,
    principal: Principal,
    *,
    action: str,
    record_type: str,
    record_id: uuid.UUID | None,
    subject_ids: Iterable[uuid.UUID] = (),
    **detail: Any,
) -> None:
    """Adds the entry to the request's transaction (committed with it)."""
    row = access_row(
        principal, action=action, record_type=record_type, record_id=record_id, **detail
    )
    session.add(AccessLogEntry(**{**row, "subject_ids": list(subject_ids)}))


# One row of `record_access`'s, with its subjects and detail; `at` is the column's default.
ACCESS_ROW_SQL = """
INSERT INTO access_log (id, actor_id, actor_kind, actor_name, action, record_type, record_id,
                        subject_ids, detail, request_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10)
"""


async def log_access(
    session: AsyncSession,
    principal: Principal,
    *,
    action: str,
    record_type: str,
    record_id: uuid.UUID | None,
    subject_ids: Iterable[uuid.UUID] = (),
    **detail: Any,
) -> None:
    """`record_access`, written now on the transaction's own connection rather than by the
    ORM's flush at commit (the unit of work's flush of that one row was a tenth of a session
    booking's or outcome's CPU). What is pending is flushed first, so the trail's entries keep
    the order the flush gave them; a rollback drops the row and its entry alike."""
    await session.flush()
    row = access_row(
        principal, action=action, record_type=record_type, record_id=record_id, **detail
    )
    row["subject_ids"] = list(subject_ids)
    conn = await driver_connection(session)
    await conn.execute(
        ACCESS_ROW_SQL,
        row["id"],
        row["actor_id"],
        row["actor_kind"],
        row["actor_name"],
        action,
        record_type,
        record_id,
        row["subject_ids"],
        json.dumps(detail),  # as the ORM's JSONB type writes it
        row["request_id"],
    )
    audit_access(session, row)


def access_row(
    principal: Principal,
    *,
    action: str,
    record_type: str,
    record_id: uuid.UUID | None,
    **detail: Any,
) -> dict[str, Any]:
    """The access-log row of a read (no subjects): what `record_access` adds, and what a
    statement that inserts it itself writes (`at`: the column's default), after which
    `audit_access` queues its audit entry."""
    return {
        "id": uuid7(),
        "actor_id": principal.id,
        "actor_kind": principal.kind,
        "actor_name": principal.client_id or principal.name,
        "action": action,
        "record_type": record_type,
        "record_id": record_id,
        "subject_ids": [],
        "detail": detail,
        "request_id": request_id_var.get(),
    }


def audit_access(session: AsyncSession, row: dict[str, Any]) -> None:
    """The audit entry of an access-log row written without the ORM: the fields the chain's
    flush hook gives an `AccessLogEntry`."""
    chain.record(
        session,
        action=f"read.{row['record_type']}",
        actor_id=row["actor_id"],
        actor_name=row["actor_name"],
        record_type=row["record_type"],
        record_id=row["record_id"],
        access_log_id=str(row["id"]),
    )


# The rows `record_access` would add for each record, in one statement: `at` is the column's
# default (the transaction's start), as the ORM's INSERT leaves it.
ACCESS_ROWS_SQL = """
INSERT INTO access_log (id, actor_id, actor_kind, actor_name, action, record_type, record_id,
                        subject_ids, detail, request_id)
SELECT r.id, $3, $4, $5, $6, $7, r.record_id, '{}'::uuid[], '{}'::jsonb, $8
  FROM unnest($1::uuid[], $2::uuid[]) AS r (id, record_id)
"""


async def record_accesses(
    conn: asyncpg.Connection,
    session: AsyncSession,
    principal: Principal,
    *,
    action: str,
    record_type: str,
    record_ids: Sequence[uuid.UUID],
) -> None:
    """`record_access` for each of `record_ids` (no subjects, no detail), in that order, without
    an ORM object per row: the rows in one INSERT on `conn` (the session's connection, inside
    its transaction) and their audit entries queued on the session as the chain's flush hook
    makes them for an `AccessLogEntry` (same fields, same order): they are chained at commit
    with the rest, and a rollback drops both. A list page logged 20 entries through the ORM,
    two thirds of its CPU."""
    if not record_ids:
        return
    ids = [uuid7() for _ in record_ids]
    actor_name = principal.client_id or principal.name
    await conn.execute(
        ACCESS_ROWS_SQL,
        ids,
        record_ids,
        principal.id,
        principal.kind,
        actor_name,
        action,
        record_type,
        request_id_var.get(),
    )
    for log_id, record_id in zip(ids, record_ids, strict=True):
        chain.record(
            session,
            action=f"read.{record_type}",
            actor_id=principal.id,
            actor_name=actor_name,
            record_type=record_type,
            record_id=record_id,
            access_log_id=str(log_id),
        )
