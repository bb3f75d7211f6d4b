"""Payloads of the `case.*` outbox events. Every event a change of a case writes carries
`CasePayload` (the case as it is after the change, and who changed it); a type that says more
adds its own fields. The worker's deadline reminders carry `CaseDeadlineReminder`."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from mediation.cases.enums import (
    AgreementForm,
    CaseEventType,
    CaseSource,
    CaseStatus,
    Complexity,
    DeadlineStage,
    DeadlineUnit,
    FlareUpRisk,
    FollowUpMethod,
    MediationChannel,
    PerformanceStatus,
    ReferralTarget,
    RiskColour,
    Satisfaction,
)
from mediation.contracts.common import Instant
from mediation.outbox.payloads import EventPayload, PersonId, PersonIds, UnitId

PREFIX = "case."


def case_type(t: CaseEventType) -> str:
    return f"{PREFIX}{t.value}"


class CasePayload(EventPayload):
    """The case after the change (`case.<type>` of a change with nothing more to say)."""

    aggregate_type: ClassVar[str] = "case"
    event_types: ClassVar[tuple[str, ...]] = tuple(
        case_type(t)
        for t in (
            CaseEventType.accepted,
            CaseEventType.rejected,
            CaseEventType.mediation_started,
            CaseEventType.withdrawn,
            CaseEventType.closed,
            CaseEventType.reopened,
            CaseEventType.paused,
            CaseEventType.resumed,
            CaseEventType.party_added,
            CaseEventType.party_updated,
            CaseEventType.party_removed,
            CaseEventType.commented,
        )
    )

    case_id: uuid.UUID
    case_number: str
    unit_id: UnitId
    unit_path: str
    handling_unit_id: UnitId
    status: CaseStatus
    risk_colour: RiskColour
    complexity: Complexity
    category: str
    handler_person_ids: PersonIds
    actor_id: uuid.UUID | None
    actor_kind: str
    actor_person_id: PersonId | None
    current_stage: DeadlineStage | None
    due_at: Instant | None
    # The case's timeline entry of the change.
    event_id: uuid.UUID


def _one(t: CaseEventType) -> tuple[str, ...]:
    return (case_type(t),)


class CaseCreated(CasePayload):
    event_types = _one(CaseEventType.created)
    source: CaseSource
    title: str
    is_repeat: bool


class HandlerBrief(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person_id: uuid.UUID
    channel: MediationChannel
    lead: bool


class CaseAssigned(CasePayload):
    event_types = _one(CaseEventType.assigned)
    channels: list[MediationChannel]
    handlers: list[HandlerBrief]


class CaseTransferred(CaseAssigned):
    event_types = _one(CaseEventType.transferred)
    previous_handler_person_ids: PersonIds


class CaseEscalated(CasePayload):
    event_types = _one(CaseEventType.escalated)
    from_unit_id: UnitId
    target_unit_id: UnitId
    target_unit_name: str
    target_unit_path: str
    # Who may dispatch it at the target (none found: the rule asks the nearest ones there).
    target_dispatcher_person_ids: PersonIds
    previous_handler_person_ids: PersonIds


class AgreementBrief(BaseModel):
    model_config = ConfigDict(extra="forbid")
    form: AgreementForm
    amount: Decimal | None
    effective_on: date
    judicial_confirmation_until: date


class CaseResolved(CasePayload):
    event_types = _one(CaseEventType.resolved)
    agreement: AgreementBrief


class CaseFailed(CasePayload):
    event_types = _one(CaseEventType.failed)
    referral: ReferralTarget


class CaseFollowedUp(CasePayload):
    event_types = _one(CaseEventType.followed_up)
    method: FollowUpMethod
    performance: PerformanceStatus
    satisfaction: Satisfaction
    flare_up_risk: FlareUpRisk


class CaseDeadlineExtended(CasePayload):
    """`due_at` is the extended deadline; `stage` and `unit` null when no clock runs."""

    event_types = _one(CaseEventType.deadline_extended)
    stage: DeadlineStage | None
    by: int
    unit: DeadlineUnit | None


class CaseDeadlineRecomputed(CasePayload):
    """A change of the working-day calendar moved the deadline."""

    event_types = _one(CaseEventType.deadline_recomputed)
    stage: DeadlineStage
    previous_due_at: Instant
    previous_provisional: bool
    provisional: bool


class CaseUpdated(CasePayload):
    event_types = _one(CaseEventType.updated)
    changed: list[str]


class CasePerformanceRecorded(CasePayload):
    event_types = _one(CaseEventType.performance_recorded)
    # The agreement's performance (履行), not the case's status.
    status: PerformanceStatus  # type: ignore[assignment]
    performed_on: date
    amount: Decimal | None


class CaseJudicialConfirmation(CasePayload):
    event_types = _one(CaseEventType.judicial_confirmation)
    requested_on: date
    court: str


class CaseDeadlineReminder(EventPayload):
    """A stage deadline of a running case is near, passed, or still missed after the grace
    (the worker's sweep; `stage` is the reminder's: due_soon, overdue, escalated)."""

    aggregate_type: ClassVar[str] = "case"
    event_types: ClassVar[tuple[str, ...]] = (
        "case.deadline_due_soon",
        "case.deadline_overdue",
        "case.deadline_escalated",
        "case.follow_up_due",
    )

    case_id: uuid.UUID
    case_number: str
    title: str
    unit_id: UnitId
    handler_person_ids: PersonIds
    risk_colour: RiskColour
    deadline_kind: DeadlineStage | None
    deadline_label: str
    due_at: Instant | None
    stage: str


CASE_PAYLOADS: tuple[type[EventPayload], ...] = (
    CasePayload,
    CaseCreated,
    CaseAssigned,
    CaseTransferred,
    CaseEscalated,
    CaseResolved,
    CaseFailed,
    CaseFollowedUp,
    CaseDeadlineExtended,
    CaseDeadlineRecomputed,
    CaseUpdated,
    CasePerformanceRecorded,
    CaseJudicialConfirmation,
    CaseDeadlineReminder,
)


class CalendarYearLoaded(EventPayload):
    """A year's official working-day calendar was loaded; running deadlines recomputed."""

    aggregate_type: ClassVar[str] = "calendar"
    event_types: ClassVar[tuple[str, ...]] = ("calendar.year_loaded",)
    year: int
    source: str
    recomputed_cases: int


class DeadlineRuleUpdated(EventPayload):
    aggregate_type: ClassVar[str] = "deadline_rule"
    event_types: ClassVar[tuple[str, ...]] = ("deadline_rule.updated",)
    stage: DeadlineStage
    complexity: Complexity
    unit: DeadlineUnit
    amount: int
