"""Writing the access log: every read of unmasked personal data or of a hotline record."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.models import AccessLogEntry
from mediation.auth.principal import Principal
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
    session.add(
        AccessLogEntry(
            actor_id=principal.id,
            actor_kind=principal.kind,
            actor_name=principal.client_id or principal.name,
            action=action,
            record_type=record_type,
            record_id=record_id,
            subject_ids=list(subject_ids),
            detail=detail,
            request_id=request_id_var.get(),
        )
    )
