"""The query parameters of the two logs (the audit trail and the access log): what record, and
when. Declared once so both lists (and the trail's export) ask for them alike."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query

from mediation.contracts.windows import QueryTime
from mediation_api.audit.repository import AuditFilters

RecordTypeQ = Annotated[str | None, Query(max_length=40, description="E.g. `case`.")]
RecordIdQ = Annotated[uuid.UUID | None, Query(description="The record.")]
SinceQ = Annotated[QueryTime | None, Query(description="At or after (RFC 3339).")]
UntilQ = Annotated[QueryTime | None, Query(description="Before (RFC 3339).")]


def _audit_filters(
    action: Annotated[str | None, Query(max_length=80, description="E.g. `auth.sign_in`.")] = None,
    result: Annotated[
        str | None, Query(pattern="^(success|failure)$", description="`success` or `failure`.")
    ] = None,
    actor_id: Annotated[uuid.UUID | None, Query(description="Who.")] = None,
    record_type: RecordTypeQ = None,
    record_id: RecordIdQ = None,
    since: SinceQ = None,
    until: UntilQ = None,
) -> AuditFilters:
    return AuditFilters(action, result, actor_id, record_type, record_id, since, until)


AuditFiltersDep = Annotated[AuditFilters, Depends(_audit_filters)]
