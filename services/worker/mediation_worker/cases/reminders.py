"""A case's deadline reminders, through the notification sweeps' extension point: a stage
deadline that comes near (`case.deadline_due_soon`, `case.follow_up_due` for the follow-up
visit), passes (`case.deadline_overdue`, to the handlers first) and is still missed a day later
(`case.deadline_escalated`, to the supervisors). A paused case (waiting for a party) has a
stopped clock and a closed one none: neither reminds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, Table, and_

from mediation.cases.events import CaseDeadlineReminder
from mediation_worker.notifications.sweeps import ZERO, DueSweep, Stage, register

_STAGE_LABELS = {"first_response": "首次响应期限", "mediation": "调解期限", "follow_up": "回访期限"}
_CASE_LEAD = {
    "first_response": timedelta(hours=4),
    "mediation": timedelta(days=1),
    "follow_up": timedelta(days=1),
}
CASE_ESCALATION_GRACE = timedelta(days=1)
_CASE_COLUMNS = (
    "number",
    "title",
    "handler_person_ids",
    "current_stage",
    "paused_at",
    "handling_unit_id",
    "handling_unit_path",
    "risk_colour",
    "closed_at",
)


def _kind(row: Row[Any]) -> str:
    return str(getattr(row.current_stage, "value", row.current_stage))


def deadline_payload(row: Row[Any], stage: Stage) -> CaseDeadlineReminder:
    return CaseDeadlineReminder(
        case_id=row.id,
        case_number=row.number,
        title=row.title,
        unit_id=row.handling_unit_id,
        handler_person_ids=list(row.handler_person_ids or []),
        risk_colour=row.risk_colour,
        deadline_kind=row.current_stage,
        deadline_label=_STAGE_LABELS.get(_kind(row), "办理期限"),
        due_at=row.due_at,
        stage=stage.name,
    )


def _case_lead(row: Row[Any]) -> timedelta:
    return -_CASE_LEAD.get(_kind(row), timedelta(days=1))


def _running(t: Table) -> ColumnElement[bool]:
    # A paused case (waiting for a party) has a stopped clock; a closed one none.
    return and_(t.c.paused_at.is_(None), t.c.closed_at.is_(None), t.c.current_stage.is_not(None))


register(
    DueSweep(
        name="case.deadline",
        table="cases",
        due_column="due_at",
        required=_CASE_COLUMNS,
        unit_path_column="handling_unit_path",
        where=lambda t: and_(_running(t), t.c.current_stage != "follow_up"),
        stages=(
            Stage("due_soon", "case.deadline_due_soon", _case_lead, until=ZERO),
            Stage("overdue", "case.deadline_overdue", ZERO),  # the handlers first
            Stage(
                "escalated", "case.deadline_escalated", CASE_ESCALATION_GRACE
            ),  # then the supervisor
        ),
        payload=deadline_payload,
        max_lead=max(_CASE_LEAD.values()),
    )
)

register(
    DueSweep(
        name="case.follow_up",
        table="cases",
        due_column="due_at",
        required=_CASE_COLUMNS,
        unit_path_column="handling_unit_path",
        where=lambda t: and_(_running(t), t.c.current_stage == "follow_up"),
        stages=(
            Stage("due_soon", "case.follow_up_due", _case_lead, until=ZERO),
            Stage("overdue", "case.deadline_overdue", ZERO),
            Stage("escalated", "case.deadline_escalated", CASE_ESCALATION_GRACE),
        ),
        payload=deadline_payload,
        max_lead=max(_CASE_LEAD.values()),
    )
)
