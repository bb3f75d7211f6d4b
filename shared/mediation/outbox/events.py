"""Writing an outbox event: always in the caller's transaction, never committed here.

`emit` is the one way to write one: it takes the event's typed payload
(`mediation.outbox.payloads.EventPayload`), whose model names the event type and the kind of
record it reports. `EVENT_MODELS` (event type -> payload model, `mediation.outbox.registry`)
is loaded on first use: the domains' payload modules import this one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, Required, TypedDict, Unpack

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from mediation.logs import request_id_var
from mediation.outbox.models import OutboxEvent
from mediation.outbox.payloads import EventPayload
from mediation.tracing import current_context

if TYPE_CHECKING:
    EVENT_MODELS: dict[str, type[EventPayload]]

NOTIFY_CHANNEL = "outbox"
NOTIFY_SQL = "pg_notify('outbox', '')"
_NOTIFY = "outbox_notify"
_FROM_CONTEXT = "from the request"


class Placement(TypedDict, total=False):
    """`emit`'s keyword arguments: `outbox_fields`' (which gives the defaults)."""

    aggregate_id: Required[uuid.UUID | None]
    occurred_at: Required[datetime]
    type: str | None
    unit_path: str | None
    actor_id: uuid.UUID | None
    request_id: str | None


async def emit(
    session: AsyncSession, payload: EventPayload, **placement: Unpack[Placement]
) -> OutboxEvent:
    """Write the event `type` (default: the payload model's only type). The request id is the
    current request's (or the job's) unless given."""
    event = OutboxEvent(**outbox_fields(payload, **placement))
    session.add(event)
    # The relay is woken once per transaction, as it commits (PostgreSQL delivers a NOTIFY
    # only then anyway): no statement of its own per event.
    getattr(session, "sync_session", session).info[_NOTIFY] = True
    return event


def outbox_fields(
    payload: EventPayload,
    *,
    aggregate_id: uuid.UUID | None,
    occurred_at: datetime,
    type: str | None = None,
    unit_path: str | None = None,
    actor_id: uuid.UUID | None = None,
    request_id: str | None = _FROM_CONTEXT,
) -> dict[str, Any]:
    """The columns of an outbox row (but its id): for `emit`, and for a write that inserts its
    rows itself (then it also audits the event: `mediation.audit.chain.audit_outbox`)."""
    return {
        "type": payload.type_for(type),
        "aggregate_type": payload.aggregate_type,
        "aggregate_id": aggregate_id,
        "payload": payload.dump(),
        "unit_path": unit_path,
        "actor_id": actor_id,
        "request_id": request_id_var.get() if request_id is _FROM_CONTEXT else request_id,
        "occurred_at": occurred_at,
        "trace_context": current_context(),
    }


def take_notify(session: Session) -> bool:
    """Whether this transaction emitted an event whose NOTIFY is still to be sent; the caller
    sends it (the audit chain's commit statement carries it: `NOTIFY_SQL`)."""
    return bool(session.info.pop(_NOTIFY, False))


@event.listens_for(Session, "before_commit")
def _notify_on_commit(session: Session) -> None:
    # Only when nobody took it first (the audit chain, registered ahead of this listener).
    if not session.in_nested_transaction() and take_notify(session):
        session.execute(text(f"SELECT {NOTIFY_SQL}"))


@event.listens_for(Session, "after_rollback")
def _no_notify_after_rollback(session: Session) -> None:
    if not session.in_transaction():
        session.info.pop(_NOTIFY, None)


def __getattr__(name: str) -> Any:
    if name == "EVENT_MODELS":
        from mediation.outbox.registry import EVENT_MODELS

        return EVENT_MODELS
    raise AttributeError(name)
