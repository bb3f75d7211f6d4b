"""The audit trail for the audit administrator (审计管理员): query it and verify its chain."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from mediation.audit.chain import verify_database
from mediation.audit.models import AuditEvent
from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.contracts.common import Instant, Page
from mediation.contracts.windows import QueryTime
from mediation_api.deps import Session, require
from mediation_api.pagination import DEFAULT, Cursor, Limit, build_page, cursor_values
from mediation_api.problems import responses

router = APIRouter(tags=["administration"])

Auditor = Annotated[Principal, Depends(require(Permission.audit_read))]


class AuditEventOut(BaseModel):
    """One entry of the audit trail."""

    seq: int = Field(description="Its number in the chain (no gaps).")
    at: Instant = Field(description="When.")
    actor_id: uuid.UUID | None = Field(description="The account (or client), if known.")
    actor_name: str | None = Field(description="The name given or held.")
    action: str = Field(description="E.g. `auth.sign_in`, `case.created`, `read.case`.")
    record_type: str | None = Field(description="The kind of record, e.g. `case`.")
    record_id: uuid.UUID | None = Field(description="The record.")
    result: str = Field(description="`success` or `failure`.")
    client_ip: str | None = Field(description="Where the request came from.")
    request_id: str | None = Field(description="The request (links the access log).")
    detail: dict[str, object] = Field(description="Reason, links (`access_log_id`...).")
    prev_hash: str = Field(description="The previous entry's hash.")
    hash: str = Field(description="SHA-256 over `prev_hash` and this entry.")

    model_config = {"from_attributes": True}


class AuditVerdictOut(BaseModel):
    """Whether the chain is intact and, if not, the first entry that breaks it."""

    ok: bool = Field(description="The whole chain verifies.")
    checked: int = Field(description="Entries verified before the first break (or all).")
    first_bad_seq: int | None = Field(description="The first altered, inserted or deleted entry.")
    problem: str | None = Field(description="`altered`, `inserted` or `deleted`.")


@router.get(
    "/audit-events",
    operation_id="audit-events-list",
    summary="Query the audit trail",
    description="Security events and writes, newest first, by action, actor, record and time.",
    responses=responses(401, 403, 422),
)
async def list_audit_events(
    session: Session,
    principal: Auditor,
    action: Annotated[str | None, Query(max_length=80, description="E.g. `auth.sign_in`.")] = None,
    result: Annotated[
        str | None, Query(pattern="^(success|failure)$", description="`success` or `failure`.")
    ] = None,
    actor_id: Annotated[uuid.UUID | None, Query(description="Who.")] = None,
    record_type: Annotated[str | None, Query(max_length=40, description="E.g. `case`.")] = None,
    record_id: Annotated[uuid.UUID | None, Query(description="The record.")] = None,
    since: Annotated[QueryTime | None, Query(description="At or after (RFC 3339).")] = None,
    until: Annotated[QueryTime | None, Query(description="Before (RFC 3339).")] = None,
    limit: Limit = DEFAULT,
    cursor: Cursor = None,
) -> Page[AuditEventOut]:
    stmt = select(AuditEvent)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if result:
        stmt = stmt.where(AuditEvent.result == result)
    if actor_id:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    if record_type:
        stmt = stmt.where(AuditEvent.record_type == record_type)
    if record_id:
        stmt = stmt.where(AuditEvent.record_id == record_id)
    if since:
        stmt = stmt.where(AuditEvent.at >= since)
    if until:
        stmt = stmt.where(AuditEvent.at < until)
    after = cursor_values(cursor, "seq")
    if after:
        stmt = stmt.where(AuditEvent.seq < int(after["seq"]))
    rows = list(
        (await session.scalars(stmt.order_by(AuditEvent.seq.desc()).limit(limit + 1))).all()
    )
    items, nxt = build_page(rows, limit, lambda e: {"seq": str(e.seq)})
    return Page[AuditEventOut](
        items=[AuditEventOut.model_validate(e) for e in items], next_cursor=nxt
    )


@router.get(
    "/audit-events/verify",
    operation_id="audit-events-verify",
    summary="Verify the audit chain",
    description="Recomputes every entry's hash; names the first altered, inserted or deleted one.",
    responses=responses(401, 403),
)
async def verify_audit_events(session: Session, principal: Auditor) -> AuditVerdictOut:
    v = await verify_database(session)
    return AuditVerdictOut(
        ok=v.ok, checked=v.checked, first_bad_seq=v.first_bad_seq, problem=v.problem
    )
