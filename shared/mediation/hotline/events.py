"""A hotline call's timeline entry, written the same way by the API (requests, attachments)
and the worker (retention): numbered within the call (mediation.timeline), details JSON-safe
with times at the center's offset."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mediation.contracts.common import jsonable
from mediation.hotline.enums import CallEventKind
from mediation.hotline.models import HotlineCall, HotlineCallEvent
from mediation.ids import uuid7
from mediation.timeline import next_seq

SYSTEM = "system"


async def record(
    db: AsyncSession,
    call: HotlineCall,
    kind: CallEventKind,
    *,
    at: datetime,
    actor_id: uuid.UUID | None = None,
    actor_person_id: uuid.UUID | None = None,
    actor_name: str = SYSTEM,
    detail: dict[str, Any] | None = None,
) -> HotlineCallEvent:
    entry = HotlineCallEvent(
        id=uuid7(),
        call_id=call.id,
        seq=await next_seq(db, call),
        at=at,
        kind=kind,
        actor_id=actor_id,
        actor_person_id=actor_person_id,
        actor_name=actor_name[:100],
        detail=jsonable(detail or {}),
    )
    db.add(entry)
    return entry
