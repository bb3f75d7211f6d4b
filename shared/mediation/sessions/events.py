"""A session's history entry and its outbox event, written together in the caller's
transaction. Shared by the API (requests) and the worker (sessions of a case that ended are
called off), so both write the same history and the same payload."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from sqlalchemy import Row, update
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.cases.enums import CaseStatus
from mediation.contracts.common import Instant, jsonable
from mediation.ids import uuid7
from mediation.outbox.events import emit
from mediation.outbox.payloads import EventPayload, PersonIds, UnitId
from mediation.sessions.enums import (
    NextStep,
    SessionEventType,
    SessionKind,
    SessionMode,
    SessionOutcome,
    SessionStatus,
)
from mediation.sessions.models import MediationSession, SessionBooking, SessionEvent
from mediation.timeline import next_seq

# Event types whose payload the notification rules send to `recipient_person_ids`.
EVENT_PREFIX = "session."
REMINDER_TYPE = "session.reminder"


@dataclass(frozen=True)
class Actor:
    kind: str  # "user" | "client" | "system"
    id: uuid.UUID | None
    name: str
    client_id: str | None = None
    request_id: str | None = None


SYSTEM = Actor("system", None, "系统")


def brief(ms: MediationSession) -> dict[str, Any]:
    """The session as its case's timeline names it (JSON-safe)."""
    return jsonable(
        {
            "session_id": ms.id,
            "kind": ms.kind,
            "mode": ms.mode,
            "starts_at": ms.starts_at,
            "ends_at": ms.ends_at,
            "place": ms.place,
        }
    )


class SessionPayload(EventPayload):
    """What every `session.*` event carries. `recipient_person_ids` are the people this event
    reaches (default: the mediators); `notify_party_ids` the invited parties told by SMS
    (default: every invited party; parties are a case's parties, not persons)."""

    aggregate_type: ClassVar[str] = "session"
    event_types: ClassVar[tuple[str, ...]] = (
        f"{EVENT_PREFIX}{SessionEventType.scheduled.value}",
        f"{EVENT_PREFIX}{SessionEventType.updated.value}",
    )

    session_id: uuid.UUID
    case_id: uuid.UUID
    case_number: str
    unit_id: UnitId
    kind: SessionKind
    mode: SessionMode
    online: bool
    status: SessionStatus
    starts_at: Instant
    ends_at: Instant
    place: str
    meeting_info: str
    mediator_person_ids: PersonIds
    party_ids: list[uuid.UUID]
    recipient_person_ids: PersonIds
    notify_party_ids: list[uuid.UUID]
    version: int
    # The session's history entry, when the event comes with one.
    event_id: uuid.UUID | None = None


class SessionRescheduled(SessionPayload):
    event_types = (f"{EVENT_PREFIX}{SessionEventType.rescheduled.value}",)
    previous_starts_at: Instant
    previous_ends_at: Instant
    previous_place: str
    reason: str | None


class SessionCancelled(SessionPayload):
    event_types = (f"{EVENT_PREFIX}{SessionEventType.cancelled.value}",)
    reason: str


class SessionOutcomeRecorded(SessionPayload):
    event_types = (f"{EVENT_PREFIX}{SessionEventType.outcome_recorded.value}",)
    outcome: SessionOutcome | None
    next_step: NextStep | None
    recorded_afterwards: bool
    attended_person_ids: list[uuid.UUID]
    attended_party_ids: list[uuid.UUID]
    # The case's status when the outcome resolved it, else null.
    case_status: CaseStatus | None


class SessionReminder(SessionPayload):
    """The worker's reminder: `lead` in words, `stage` day_before or hour_before. A reminder
    that no longer holds (the session moved or was called off) is emptied: `stale`."""

    event_types = (REMINDER_TYPE,)
    lead: str
    stage: str
    stale: bool | None = None


P = TypeVar("P", bound=SessionPayload)


def payload(
    ms: MediationSession | Row[Any],
    model: type[P] = SessionPayload,  # type: ignore[assignment]
    *,
    recipients: list[uuid.UUID] | None = None,
    notify_parties: list[uuid.UUID] | None = None,
    **extra: Any,
) -> P:
    """The session's `model` payload (see `SessionPayload`), with the type's own fields. `ms`
    is the record, or a row of its table (the worker's reminder sweep)."""
    return model(
        session_id=ms.id,
        case_id=ms.case_id,
        case_number=ms.case_number,
        unit_id=ms.unit_id,
        kind=ms.kind,
        mode=ms.mode,
        online=SessionMode(ms.mode) is not SessionMode.on_site,
        status=ms.status,
        starts_at=ms.starts_at,
        ends_at=ms.ends_at,
        place=ms.place or "",
        meeting_info=ms.meeting_info or "",
        mediator_person_ids=list(ms.mediator_person_ids),
        party_ids=list(ms.party_ids),
        recipient_person_ids=list(ms.mediator_person_ids if recipients is None else recipients),
        notify_party_ids=list(ms.party_ids if notify_parties is None else notify_parties),
        version=ms.version,
        **extra,
    )


def entry(
    ms: MediationSession,
    type_: SessionEventType,
    seq: int,
    *,
    actor: Actor,
    now: datetime,
    body: str | None = None,
    data: dict[str, Any] | None = None,
) -> SessionEvent:
    """The history entry numbered `seq`, in no database session: `record` adds it, the API's
    statements (`mediation_api.sessions.booking`) insert its columns themselves."""
    return SessionEvent(
        id=uuid7(),
        session_id=ms.id,
        seq=seq,
        type=type_,
        at=now,
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_name=actor.name,
        client_id=actor.client_id,
        request_id=actor.request_id,
        body=body,
        data=jsonable(data or {}),
    )


def event_of(
    ms: MediationSession,
    entry: SessionEvent,
    actor: Actor,
    event_payload: SessionPayload | None = None,
) -> dict[str, Any]:
    """The arguments of `emit` (or `outbox_fields`) for the entry's `session.<type>` event:
    `event_payload` (default: the session's `SessionPayload`) naming the entry."""
    return {
        "payload": (event_payload or payload(ms)).model_copy(update={"event_id": entry.id}),
        "type": f"{EVENT_PREFIX}{entry.type.value}",
        "aggregate_id": ms.id,
        "occurred_at": entry.at,
        "unit_path": ms.unit_path,
        "actor_id": actor.id if actor.kind == "user" else None,
        "request_id": actor.request_id,
    }


async def record(
    db: AsyncSession,
    ms: MediationSession,
    type_: SessionEventType,
    *,
    actor: Actor,
    now: datetime,
    body: str | None = None,
    data: dict[str, Any] | None = None,
    event_payload: SessionPayload | None = None,
    emit_event: bool = True,
) -> SessionEvent:
    """The history entry, and unless told otherwise the outbox event `session.<type>`."""
    written = entry(ms, type_, await next_seq(db, ms), actor=actor, now=now, body=body, data=data)
    db.add(written)
    if emit_event:
        await emit(db, **event_of(ms, written, actor, event_payload))
    return written


async def cancel(
    db: AsyncSession, ms: MediationSession, reason: str, *, actor: Actor, now: datetime
) -> None:
    """Call a scheduled session off: its mediators and room are free again (the bookings
    stay, inactive, as a record), participants are told, no reminder follows."""
    ms.status = SessionStatus.cancelled
    ms.cancelled_at, ms.cancel_reason = now, reason
    ms.version += 1
    await db.execute(
        update(SessionBooking).where(SessionBooking.session_id == ms.id).values(active=False)
    )
    await record(
        db,
        ms,
        SessionEventType.cancelled,
        actor=actor,
        now=now,
        body=reason,
        event_payload=payload(ms, SessionCancelled, reason=reason),
    )
