"""The audit trail for the audit administrator (审计管理员): query it and verify its chain."""

from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from mediation.audit import chain as audit
from mediation.audit.chain import verify_database
from mediation.audit.models import AuditEvent
from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.clock import CENTER_TZ
from mediation.contracts.common import Instant
from mediation_api.audit.filters import AuditFiltersDep
from mediation_api.audit.repository import EXPORT_MAX, AuditRepository
from mediation_api.deps import Session, require
from mediation_api.plain_routes import list_route
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
    hash: str = Field(
        description="SHA-256 (hex) or, in the national profile, SM3 (`sm3:` + hex) over "
        "`prev_hash` and this entry."
    )

    model_config = {"from_attributes": True}


class AuditVerdictOut(BaseModel):
    """Whether the chain is intact and, if not, the first entry that breaks it."""

    ok: bool = Field(description="The whole chain verifies.")
    checked: int = Field(description="Entries verified before the first break (or all).")
    first_bad_seq: int | None = Field(description="The first altered, inserted or deleted entry.")
    problem: str | None = Field(description="`altered`, `inserted` or `deleted`.")


list_route(
    router,
    "/audit-events",
    params=[("session", Session), ("principal", Auditor), ("filters", AuditFiltersDep)],
    fetch=lambda a, limit, cursor: AuditRepository(a["session"]).page(a["filters"], limit, cursor),
    out=AuditEventOut,
    operation_id="audit-events-list",
    summary="Query the audit trail",
    description="Security events and writes, newest first, by action, actor, record and time.",
    responses=responses(401, 403, 422),
)


CSV_COLUMNS = (
    "seq",
    "at",
    "actor_id",
    "actor_name",
    "actor_roles",
    "client_id",
    "action",
    "record_type",
    "record_id",
    "result",
    "client_ip",
    "request_id",
    "detail",
    "prev_hash",
    "hash",
)


def _cell(value: object) -> str:
    """A spreadsheet must not run what an attacker typed as a user name (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(rows: list[AuditEvent]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    for e in rows:
        detail = dict(e.detail)
        roles = detail.get("actor_roles") or []
        w.writerow(
            _cell(v)
            for v in (
                e.seq,
                e.at.astimezone(CENTER_TZ).isoformat(),
                e.actor_id,
                e.actor_name,
                " ".join(roles) if isinstance(roles, list) else roles,
                detail.get("client_id"),
                e.action,
                e.record_type,
                e.record_id,
                e.result,
                e.client_ip,
                e.request_id,
                json.dumps(detail, ensure_ascii=False, sort_keys=True),
                e.prev_hash,
                e.hash,
            )
        )
    return out.getvalue().encode("utf-8-sig")  # BOM: Excel reads UTF-8 only when told


@router.get(
    "/audit-events/export.csv",
    operation_id="audit-events-export-csv",
    summary="Export the audit trail as CSV",
    description="The entries the filters select (as for the list), oldest first, as CSV (UTF-8 "
    "with a byte-order mark; roles and client id in their own columns). At most "
    f"{EXPORT_MAX} entries: narrow with `since`/`until` beyond that (422). The export is "
    "itself recorded in the trail (`audit.exported`).",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "The entries as CSV."},
        **responses(401, 403, 422),
    },
)
async def export_audit_events(
    session: Session,
    principal: Auditor,
    filters: AuditFiltersDep,
) -> Response:
    rows = await AuditRepository(session).export(filters)
    audit.record(
        session,
        action="audit.exported",
        actor_id=principal.id,
        actor_name=principal.name,
        filters=filters.given(),
        entries=len(rows),
    )
    return Response(
        _csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit-events.csv"'},
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
