"""Case event handlers (run in the event's processing transaction, before the notification
fan-out): when a case ends (resolved, failed, withdrawn, closed, rejected), its sessions still
to come are called off (on the session's history and the case's timeline), and their
participants told."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.cases.enums import CaseEventType, CaseStatus
from mediation.cases.events import CasePayload, case_type
from mediation.outbox.models import OutboxEvent
from mediation.outbox.registry import read_payload
from mediation.sessions import events
from mediation.sessions.enums import SessionStatus
from mediation.sessions.models import MediationSession
from mediation.timeline import holds_lock
from mediation_worker.cases.timeline import record_by_system
from mediation_worker.context import WorkerContext
from mediation_worker.outbox.dispatch import on

# Case events after which no session of the case is still to be held.
ENDING = {
    case_type(CaseEventType.resolved): CaseStatus.resolved,
    case_type(CaseEventType.failed): CaseStatus.failed,
    case_type(CaseEventType.withdrawn): CaseStatus.withdrawn,
    case_type(CaseEventType.closed): CaseStatus.closed,
    case_type(CaseEventType.rejected): CaseStatus.rejected,
}


@on("case.")
async def on_case_ended(db: AsyncSession, event: OutboxEvent, c: WorkerContext) -> None:
    status = ENDING.get(event.type)
    if status is None:
        return
    case_id = read_payload(event, CasePayload).case_id
    coming = (
        await db.scalars(
            select(MediationSession)
            .where(
                MediationSession.case_id == case_id,
                MediationSession.status == SessionStatus.scheduled,
                MediationSession.starts_at > event.occurred_at,
            )
            .order_by(MediationSession.starts_at)
            .with_for_update(key_share=True)
        )
    ).all()
    now = c.clock.now()
    reason = f"纠纷{status.label_zh}，调解会不再举行"
    for ms in coming:
        holds_lock(db, ms)
        await events.cancel(db, ms, reason, actor=events.SYSTEM, now=now)
        # On the case's timeline too, like a cancellation by a person (the API writes those
        # through the cases service; the worker has no such service).
        await record_by_system(
            db,
            ms.case_id,
            CaseEventType.session_cancelled,
            at=now,
            body=reason,
            data=events.brief(ms),
        )
