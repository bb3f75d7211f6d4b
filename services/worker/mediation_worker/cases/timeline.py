"""A case's timeline entry written by the worker (a job or an event handler), by the system:
the API writes its entries through the cases service; the worker has no such service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mediation.cases.enums import CaseEventType
from mediation.cases.models import Case, CaseEvent
from mediation.contracts.common import jsonable
from mediation.ids import uuid7
from mediation.sessions.events import SYSTEM
from mediation.timeline import next_seq


async def record_by_system(
    db: AsyncSession,
    case_id: uuid.UUID,
    type_: CaseEventType,
    *,
    at: datetime,
    body: str | None,
    data: dict[str, Any],
) -> CaseEvent:
    """The entry, numbered after the case's last one under its row lock (`next_seq`). No outbox
    event and no new case version: a caller that needs them writes them itself."""
    case = await db.get(Case, case_id)
    assert case is not None  # cases are never deleted
    entry = CaseEvent(
        id=uuid7(),
        case_id=case_id,
        seq=await next_seq(db, case),
        type=type_,
        at=at,
        actor_kind=SYSTEM.kind,
        actor_id=None,
        actor_name=SYSTEM.name,
        body=body,
        data=jsonable(data),
    )
    db.add(entry)
    return entry
