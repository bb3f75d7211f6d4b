"""Session event handlers (run in the event's processing transaction, before the notification
fan-out):

- a `session.reminder` whose session was cancelled or moved after the sweep emitted it is
  emptied (no recipients, `stale: true`): nobody gets a reminder for a time that no longer
  holds;
- invited parties are texted (SMS) for `session.scheduled`, `rescheduled`, `cancelled` and
  `reminder`. Parties are not people of the organisation (no account, no person id), so the
  notification rules cannot name them; they get the same SMS text as the mediators (the
  event's SMS template), when an enabled rule of that event sends SMS. One delivery row per
  event and party (unique key), sent by the delivery loop.

(The sessions of a case that ended are called off by `mediation_worker.cases.handlers`.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.cases.models import Case
from mediation.contracts.common import center_time
from mediation.db import driver_connection
from mediation.ids import uuid7
from mediation.notifications import catalog, defaults
from mediation.notifications.enums import Channel, DeliveryStatus
from mediation.notifications.templates import context_for, render
from mediation.notifications.webhooks import max_attempts
from mediation.outbox.models import OutboxEvent
from mediation.outbox.registry import read_payload
from mediation.sessions.enums import SessionStatus
from mediation.sessions.events import REMINDER_TYPE, SessionPayload
from mediation.sessions.models import MediationSession
from mediation.sessions.rules import SCHEDULABLE
from mediation_worker.context import WorkerContext
from mediation_worker.notifications.recipients import UNIT_NAME
from mediation_worker.notifications.rows import insert_deliveries
from mediation_worker.outbox.dispatch import on
from mediation_worker.outbox.relay import DELIVERIES_CHANNEL

PARTY_EVENTS = frozenset(
    {"session.scheduled", "session.rescheduled", "session.cancelled", "session.reminder"}
)
PARTY_RULE = "session.parties.sms"  # recorded on the delivery rows


async def _stale(db: AsyncSession, event: OutboxEvent, p: SessionPayload) -> bool:
    """Whether the reminder no longer describes the session as it is planned."""
    ms = await db.get(MediationSession, p.session_id)
    if ms is None or ms.status is not SessionStatus.scheduled:
        return True
    if p.starts_at != ms.starts_at or p.place != (ms.place or ""):
        return True
    status = await db.scalar(select(Case.status).where(Case.id == ms.case_id))
    return status not in SCHEDULABLE


# On the event transaction's driver connection, like the fan-out's reads (one statement text
# for any number of parties).
_PARTIES = (
    "SELECT id, position, name, phone, is_minor, guardian_name, guardian_phone"
    " FROM case_parties WHERE id = ANY($1::uuid[]) AND case_id = $2"
)


def _phone(p: Mapping[str, Any]) -> tuple[str | None, str]:
    """Where to text a party: a minor's guardian, else the party (or its guardian)."""
    if p["is_minor"] and p["guardian_phone"]:
        return p["guardian_phone"], p["guardian_name"] or p["name"]
    if p["phone"]:
        return p["phone"], p["name"]
    return p["guardian_phone"], p["guardian_name"] or p["name"]


async def _text_parties(
    db: AsyncSession, event: OutboxEvent, p: SessionPayload, c: WorkerContext
) -> None:
    party_ids = p.notify_party_ids
    if not party_ids or not catalog.known(event.type):
        return
    rules = await c.config.rules(db, event.type)
    if not any(Channel.sms in r.channels and r.matches(event.payload) for r in rules):
        return  # an administrator turned SMS off for this event: parties are not texted
    pg = await driver_connection(db)
    parties = await pg.fetch(_PARTIES, list(party_ids), p.case_id)
    if not parties:
        return
    stored = await c.config.templates(db, event.type)
    template = defaults.resolve(event.type, Channel.sms, stored)
    unit_name = (await pg.fetchval(UNIT_NAME, event.unit_path) if event.unit_path else None) or ""
    now = c.clock.now()
    configured = bool(c.settings.sms_gateway_url)
    rows = []
    for party in sorted(parties, key=lambda q: (q["position"], str(q["id"]))):
        phone, name = _phone(party)
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
                "key": f"{event.id}:sms:party:{party['id']}",
                "event_id": event.id,
                "event_type": event.type,
                "channel": Channel.sms.value,
                "recipient": f"party:{party['id']}",
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
    await insert_deliveries(pg, rows)
    if configured:  # wakes the delivery loops once this transaction commits
        await pg.execute("SELECT pg_notify($1, '')", DELIVERIES_CHANNEL)


@on("session.")
async def on_session_event(db: AsyncSession, event: OutboxEvent, c: WorkerContext) -> None:
    p = read_payload(event, SessionPayload)
    if event.type == REMINDER_TYPE and await _stale(db, event, p):
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
        await _text_parties(db, event, p, c)
