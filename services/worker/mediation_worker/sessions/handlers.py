"""Session event handlers (run in the event's processing transaction, before the notification
fan-out):

- a `session.reminder` whose session was cancelled or moved after the sweep emitted it is
  emptied (no recipients, `stale: true`): nobody gets a reminder for a time that no longer
  holds;
- invited parties are texted (SMS) for `session.scheduled`, `rescheduled`, `cancelled` and
  `reminder`. Parties are not people of the organisation (no account, no person id), so the
  notification rules cannot name them; they get the same SMS text as the mediators (the
  event's SMS template), when an enabled rule of that event sends SMS. One delivery row per
  event and party (unique key), sent by the delivery loop;
- when a case ends (resolved, failed, withdrawn, closed, rejected), its sessions still to come
  are called off (on the session's history and the case's timeline), and their participants
  told.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.cases.enums import CaseEventType, CaseStatus
from mediation.cases.models import Case, CaseEvent, CaseParty
from mediation.contracts.common import center_time
from mediation.ids import uuid7
from mediation.notifications import catalog, defaults, store
from mediation.notifications.enums import Channel, DeliveryStatus
from mediation.notifications.templates import context_for, render
from mediation.notifications.webhooks import max_attempts
from mediation.org.models import Unit
from mediation.outbox.models import Delivery, OutboxEvent
from mediation.sessions import events
from mediation.sessions.enums import SessionStatus
from mediation.sessions.models import MediationSession
from mediation.sessions.rules import SCHEDULABLE
from mediation.timeline import holds_lock, next_seq
from mediation_worker.context import WorkerContext
from mediation_worker.outbox.dispatch import on
from mediation_worker.outbox.relay import DELIVERIES_CHANNEL

PARTY_EVENTS = frozenset(
    {"session.scheduled", "session.rescheduled", "session.cancelled", "session.reminder"}
)
PARTY_RULE = "session.parties.sms"  # recorded on the delivery rows
# Case events after which no session of the case is still to be held.
ENDING = {
    "case.resolved": CaseStatus.resolved,
    "case.failed": CaseStatus.failed,
    "case.withdrawn": CaseStatus.withdrawn,
    "case.closed": CaseStatus.closed,
    "case.rejected": CaseStatus.rejected,
}


def _uuids(value: Any) -> list[uuid.UUID]:
    out = []
    for item in value if isinstance(value, list) else []:
        try:
            out.append(uuid.UUID(str(item)))
        except ValueError:
            continue
    return out


def _same_instant(a: Any, b: datetime) -> bool:
    try:
        return datetime.fromisoformat(str(a)) == b
    except ValueError:
        return False


async def _stale(db: AsyncSession, event: OutboxEvent) -> bool:
    """Whether the reminder no longer describes the session as it is planned."""
    ms = await db.get(MediationSession, event.aggregate_id) if event.aggregate_id else None
    if ms is None or ms.status is not SessionStatus.scheduled:
        return True
    if not _same_instant(event.payload.get("starts_at"), ms.starts_at):
        return True
    if (event.payload.get("place") or "") != (ms.place or ""):
        return True
    status = await db.scalar(select(Case.status).where(Case.id == ms.case_id))
    return status not in SCHEDULABLE


def _phone(p: CaseParty) -> tuple[str | None, str]:
    """Where to text a party: a minor's guardian, else the party (or its guardian)."""
    if p.is_minor and p.guardian_phone:
        return p.guardian_phone, p.guardian_name or p.name
    if p.phone:
        return p.phone, p.name
    return p.guardian_phone, p.guardian_name or p.name


async def _text_parties(db: AsyncSession, event: OutboxEvent, c: WorkerContext) -> None:
    party_ids = _uuids(event.payload.get("notify_party_ids"))
    if not party_ids or not catalog.known(event.type):
        return
    rules = await store.rules_for(db, event.type)
    if not any(Channel.sms in r.channels and r.matches(event.payload) for r in rules):
        return  # an administrator turned SMS off for this event: parties are not texted
    case_id = event.payload.get("case_id")
    parties = (
        await db.scalars(
            select(CaseParty).where(
                CaseParty.id.in_(party_ids), CaseParty.case_id == uuid.UUID(str(case_id))
            )
        )
    ).all()
    if not parties:
        return
    stored = await store.stored_templates(db, event.type)
    template = defaults.resolve(event.type, Channel.sms, stored)
    unit_name = (
        await db.scalar(select(Unit.name).where(Unit.path == event.unit_path))
        if event.unit_path
        else None
    ) or ""
    now = c.clock.now()
    configured = bool(c.settings.sms_gateway_url)
    rows = []
    for p in sorted(parties, key=lambda q: (q.position, str(q.id))):
        phone, name = _phone(p)
        common = {
            "event_type": event.type,
            "event_label": catalog.spec(event.type).label_zh,
            "occurred_at": center_time(event.occurred_at),
            "recipient_name": name,
            "unit_name": unit_name,
            "link": "",
            "urgent": False,
        }
        _, body = render(template, context_for(event.type, event.payload, common))
        problem = None if configured else "SMS is not configured (MEDIATION_SMS_GATEWAY_URL)"
        problem = problem or (None if phone else "The party has no phone number.")
        rows.append(
            {
                "id": uuid7(),
                "key": f"{event.id}:sms:party:{p.id}",
                "event_id": event.id,
                "event_type": event.type,
                "channel": Channel.sms.value,
                "recipient": f"party:{p.id}",
                "status": (DeliveryStatus.skipped if problem else DeliveryStatus.pending).value,
                "attempts": 0,
                "next_attempt_at": None if problem else now,
                "last_error": problem,
                "rule_code": PARTY_RULE,
                "urgent": False,
                "message": {"to": phone, "body": body},
                "max_attempts": max_attempts(Channel.sms),
            }
        )
    await db.execute(insert(Delivery).values(rows).on_conflict_do_nothing(index_elements=["key"]))
    if configured:  # wakes the delivery loops once this transaction commits
        await db.execute(text("SELECT pg_notify(:c, '')"), {"c": DELIVERIES_CHANNEL})


@on("session.")
async def on_session_event(db: AsyncSession, event: OutboxEvent, c: WorkerContext) -> None:
    if event.type == "session.reminder" and await _stale(db, event):
        # It reaches nobody: the fan-out reads this payload next. The row keeps the mark
        # (written explicitly: the dispatcher may hand handlers a detached copy).
        event.payload = {
            **event.payload,
            "recipient_person_ids": [],
            "notify_party_ids": [],
            "stale": True,
        }
        await db.execute(
            update(OutboxEvent).where(OutboxEvent.id == event.id).values(payload=event.payload)
        )
        return
    if event.type in PARTY_EVENTS:
        await _text_parties(db, event, c)


@on("case.")
async def on_case_ended(db: AsyncSession, event: OutboxEvent, c: WorkerContext) -> None:
    status = ENDING.get(event.type)
    if status is None or event.aggregate_id is None:
        return
    coming = (
        await db.scalars(
            select(MediationSession)
            .where(
                MediationSession.case_id == event.aggregate_id,
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
        case = await db.get(Case, ms.case_id)
        assert case is not None  # a session's case is never deleted
        db.add(
            CaseEvent(
                id=uuid7(),
                case_id=ms.case_id,
                seq=await next_seq(db, case),
                type=CaseEventType.session_cancelled,
                at=now,
                actor_kind=events.SYSTEM.kind,
                actor_id=None,
                actor_name=events.SYSTEM.name,
                body=reason,
                data=events.brief(ms),
            )
        )
