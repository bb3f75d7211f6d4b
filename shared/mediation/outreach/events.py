"""Payloads of the outreach outbox events: legal-awareness activities and micro-classes
(`outreach.*`), residents' opinions (`opinion.*`) and the duty rota (`duty_rota.*`). No
resident's personal data: these travel to webhooks and inboxes."""

from __future__ import annotations

import uuid
from datetime import date
from typing import ClassVar

from mediation.contracts.common import Instant
from mediation.org.enums import Role
from mediation.outbox.payloads import EventPayload, UnitId
from mediation.outreach.enums import ActivityVenue, OpinionStatus, Weekday


class ActivityEventBase(EventPayload):
    aggregate_type: ClassVar[str] = "outreach_activity"
    activity_id: uuid.UUID
    unit_id: UnitId


class ActivityRecorded(ActivityEventBase):
    event_types = ("outreach.activity_recorded",)
    venue: ActivityVenue
    title: str
    held_on: date
    participants: int


class ActivityUpdated(ActivityEventBase):
    event_types = ("outreach.activity_updated",)
    changed: list[str]
    participants: int


class SeriesEventBase(EventPayload):
    aggregate_type: ClassVar[str] = "outreach_class_series"
    series_id: uuid.UUID
    unit_id: UnitId


class SeriesCreated(SeriesEventBase):
    event_types = ("outreach.series_created",)
    title: str
    weekday: Weekday
    start_time: str  # HH:MM, the center's time


class SeriesUpdated(SeriesEventBase):
    event_types = ("outreach.series_updated",)
    changed: list[str]


class ClassEventBase(EventPayload):
    aggregate_type: ClassVar[str] = "outreach_class"
    class_id: uuid.UUID
    series_id: uuid.UUID


class ClassHeld(ClassEventBase):
    """A class was held; `classes_held` and `participants_total` are the series' totals."""

    event_types = ("outreach.class_held",)
    series_title: str
    unit_id: UnitId
    held_at: Instant
    topic: str
    lecturer: str
    duration_minutes: int
    participants: int
    classes_held: int
    participants_total: int


class ClassUpdated(ClassEventBase):
    event_types = ("outreach.class_updated",)
    unit_id: UnitId
    changed: list[str]
    participants: int


class OpinionPayload(EventPayload):
    """A resident's opinion (`opinion.answered`, `opinion.closed`; the others say more)."""

    aggregate_type: ClassVar[str] = "resident_opinion"
    event_types: ClassVar[tuple[str, ...]] = ("opinion.answered", "opinion.closed")
    opinion_id: uuid.UUID
    unit_id: UnitId
    category: str
    status: OpinionStatus


class OpinionReceived(OpinionPayload):
    event_types = ("opinion.received",)
    collector_id: uuid.UUID


class OpinionUpdated(OpinionPayload):
    event_types = ("opinion.updated",)
    changed: list[str]


class OpinionForwarded(OpinionPayload):
    event_types = ("opinion.forwarded",)
    forwarded_to: str


class OpinionConverted(OpinionPayload):
    """The case is named only to those who may read it: when it lies under the opinion's
    unit (else both fields are absent)."""

    event_types = ("opinion.converted_to_case",)
    case_id: uuid.UUID | None = None
    case_number: str | None = None


class DutySlotPayload(EventPayload):
    """A duty slot of the self-governance office (`changed` with `duty_rota.slot_changed`)."""

    aggregate_type: ClassVar[str] = "duty_slot"
    event_types: ClassVar[tuple[str, ...]] = (
        "duty_rota.slot_added",
        "duty_rota.slot_changed",
        "duty_rota.slot_removed",
    )
    slot_id: uuid.UUID
    unit_id: UnitId
    duty_date: date
    person_id: uuid.UUID
    role: Role
    changed: list[str] | None = None


OUTREACH_PAYLOADS: tuple[type[EventPayload], ...] = (
    ActivityRecorded,
    ActivityUpdated,
    SeriesCreated,
    SeriesUpdated,
    ClassHeld,
    ClassUpdated,
    OpinionPayload,
    OpinionReceived,
    OpinionUpdated,
    OpinionForwarded,
    OpinionConverted,
    DutySlotPayload,
)
