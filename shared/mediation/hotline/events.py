"""A hotline call's timeline entry, written the same way by the API (requests, attachments)
and the worker (retention): numbered within the call (mediation.timeline), details JSON-safe
with times at the center's offset. And the payloads of the `hotline.*` outbox events: they
name the call and who must be told, never anything of its content."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar, TypedDict, Unpack

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.contracts.common import Instant, jsonable
from mediation.hotline.enums import CallEventKind, RiskLevel
from mediation.hotline.models import HotlineCall, HotlineCallEvent
from mediation.ids import uuid7
from mediation.outbox.payloads import EventPayload, PersonId, PersonIds, UnitId
from mediation.timeline import next_seq

SYSTEM = "system"
HIGH_RISK = "hotline.high_risk"
# The entry a change of a call that opened a case leaves on the case's timeline (the API's
# changes and the worker's de-identification alike): that it changed, never what.
CALL_CHANGED_NOTE = "转立本案的心理热线来电记录有更新；来电记录仅心理工作站可查阅。"


class _CallEvent(EventPayload):
    aggregate_type: ClassVar[str] = "hotline_call"

    call_id: uuid.UUID = Field(description="The call.")
    unit_id: UnitId = Field(description="Its workstation.")
    risk_level: RiskLevel | None = Field(description="Level at the time of flagging.")
    imminent: bool = Field(description="Imminent risk.")
    urgent: bool = Field(description="Deliver at once.")


class HighRiskPayload(_CallEvent):
    """`hotline.high_risk` (urgent notification; `urgent` always true)."""

    event_types = (HIGH_RISK,)

    recipient_person_ids: PersonIds = Field(
        description="Supervisors on duty now; if none, every hotline supervisor of the workstation."
    )
    coverage_gap: bool = Field(description="Nobody was on supervisor duty.")


class HotlineReminder(_CallEvent):
    """The worker's sweeps: a follow-up due (to the counselor) or overdue, a high-risk call
    nobody acknowledged (`stage`: due, overdue, unacknowledged)."""

    event_types = (
        "hotline.high_risk_unacknowledged",
        "hotline.follow_up_due",
        "hotline.follow_up_overdue",
    )

    flagged_at: Instant | None
    follow_up_due: Instant | None
    counselor_person_id: PersonId
    recipient_person_ids: PersonIds
    stage: str


class By(TypedDict, total=False):
    """Who made a timeline entry, and its detail (`entry_fields`' keywords after `at`)."""

    actor_id: uuid.UUID | None
    actor_person_id: uuid.UUID | None
    actor_name: str  # SYSTEM when not given
    detail: dict[str, Any] | None


def entry_fields(
    call_id: uuid.UUID, seq: int, kind: CallEventKind, *, at: datetime, **by: Unpack[By]
) -> dict[str, Any]:
    """The columns of a timeline entry numbered `seq`: for `record`, for a write that inserts
    its rows itself (a new call: `mediation_api.hotline.write`) and for the history import."""
    return {
        "id": uuid7(),
        "call_id": call_id,
        "seq": seq,
        "at": at,
        "kind": kind,
        "actor_id": by.get("actor_id"),
        "actor_person_id": by.get("actor_person_id"),
        "actor_name": by.get("actor_name", SYSTEM)[:100],
        "detail": jsonable(by.get("detail") or {}),
    }


async def record(
    db: AsyncSession, call: HotlineCall, kind: CallEventKind, *, at: datetime, **by: Unpack[By]
) -> HotlineCallEvent:
    entry = HotlineCallEvent(**entry_fields(call.id, await next_seq(db, call), kind, at=at, **by))
    db.add(entry)
    return entry
