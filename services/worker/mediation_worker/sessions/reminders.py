"""Reminders a day and an hour before a session, through the notification sweeps' extension
point (`mediation_worker.notifications.sweeps`): every minute the cron job `sweep_reminders`
finds scheduled sessions whose reminder time has come and emits `session.reminder` once per
session, stage and start time (a `sweep_marks` row with a unique key, written with the
event). The rule `session.reminder.participants` then reaches the mediators; the session
handlers text the invited parties.

No stale reminder: a cancelled session, or one whose case is no longer being handled, is not a
candidate; a moved session has a new start time, so the marks of the old one do not match and
its reminders come at the new time only; and `handlers.py` drops a reminder whose session
changed between the sweep and the delivery. A session planned less than a day ahead gets only
the reminders still to come (the day-before one until an hour before, then the hour-before
one); the scheduling notice told everyone already."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Row, Table, and_, exists

from mediation.cases.models import Case
from mediation.sessions.enums import SessionStatus
from mediation.sessions.events import REMINDER_TYPE, SessionReminder, payload
from mediation.sessions.models import MediationSession
from mediation.sessions.rules import REMINDER_LEADS, SCHEDULABLE
from mediation_worker.notifications.sweeps import ZERO, DueSweep, Stage, register

SWEEP_NAME = "session.reminder"
EVENT_TYPE = REMINDER_TYPE
_DAY, _ = REMINDER_LEADS["day_before"]
_HOUR, _ = REMINDER_LEADS["hour_before"]


def reminder_payload(row: Row[Any], stage: Stage) -> SessionReminder:
    """The `session.*` payload (as the API writes it), plus the lead and stage."""
    return payload(row, SessionReminder, lead=REMINDER_LEADS[stage.name][1], stage=stage.name)


def _due(t: Table) -> ColumnElement[bool]:
    # Scheduled, and its case still being handled (a withdrawn or resolved case's leftover
    # session reminds nobody, even before the worker calls it off).
    return and_(
        t.c.status == SessionStatus.scheduled.value,
        exists().where(Case.id == t.c.case_id, Case.status.in_([s.value for s in SCHEDULABLE])),
    )


SWEEP = register(
    DueSweep(
        name=SWEEP_NAME,
        table=MediationSession.__table__,  # type: ignore[arg-type]
        due_column="starts_at",
        required=(
            "status",
            "case_id",
            "case_number",
            "unit_id",
            "mediator_person_ids",
            "party_ids",
            "version",
        ),
        where=_due,
        stages=(
            Stage("day_before", EVENT_TYPE, -_DAY, until=-_HOUR),
            Stage("hour_before", EVENT_TYPE, -_HOUR, until=ZERO),
        ),
        payload=reminder_payload,
    )
)
