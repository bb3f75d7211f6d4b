"""API bodies of outreach: legal-awareness activities, the micro-class series and its classes,
residents' opinions, the self-governance office's duty rota, and the outreach summary."""

from __future__ import annotations

import re
import uuid
from datetime import date, time
from typing import Annotated, Any, Literal, Self

from pydantic import BeforeValidator, Field, WithJsonSchema, field_validator, model_validator

from mediation.cases.contracts import CaseCreate
from mediation.cases.enums import CaseSource
from mediation.contracts.common import Contract, Input, Instant
from mediation.contracts.windows import PastDay, PastTime, PlanDay
from mediation.imports.contracts import historical_field
from mediation.org.enums import Role
from mediation.outreach.enums import (
    ActivityVenue,
    OpinionStatus,
    PartnerRole,
    Weekday,
)
from mediation.outreach.models import CLASS_MAX_MINUTES, CLASS_MIN_MINUTES

CODE_PATTERN = r"^[a-z][a-z0-9_]{1,59}$"
PHONE_PATTERN = r"^\+?[0-9][0-9 -]{4,28}$"
MAX_PARTICIPANTS = 1_000_000
CENTER_ZONE = "Asia/Shanghai"

Text200 = Annotated[str, Field(min_length=1, max_length=200)]
Participants = Annotated[
    int,
    Field(ge=0, le=MAX_PARTICIPANTS, description="Number of people who took part (0 or more)."),
]
Duration = Annotated[
    int,
    Field(
        ge=CLASS_MIN_MINUTES,
        le=CLASS_MAX_MINUTES,
        description="Length in minutes: a micro-class lasts 30 to 60 minutes.",
    ),
]


def _naive_local(value: time | None) -> time | None:
    # The schedule is wall-clock time in Beijing; an offset would be ambiguous across DST-free
    # zones and is refused rather than silently converted.
    if value is not None and value.tzinfo is not None:
        raise ValueError("give the local time in Beijing without an offset, e.g. 19:30")
    return value.replace(second=0, microsecond=0) if value is not None else None


def _hh_mm(value: Any) -> Any:
    if isinstance(value, str) and not re.fullmatch(LOCAL_TIME_PATTERN, value):
        raise ValueError("give the local time in Beijing as HH:MM (or HH:MM:SS), e.g. 19:30")
    return value


# Wall-clock time in Beijing, "19:30" (seconds allowed, dropped). Not `format: time`: that is
# RFC 3339's full-time, with seconds and an offset, which this field refuses.
LOCAL_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
LocalTime = Annotated[
    time,
    BeforeValidator(_hh_mm),
    WithJsonSchema({"type": "string", "pattern": LOCAL_TIME_PATTERN, "examples": ["19:30"]}),
]


# --- legal-awareness activities ------------------------------------------------------------
class PartnerIn(Input):
    """Someone who ran the activity with the organiser: the community's police officer
    (一村(社区)一警), its legal advisor (一村(社区)一顾问), or another partner. Name a person of
    the system by `person_id` (they must hold that role on the activity's line of the tree),
    or anyone else by `name`."""

    role: PartnerRole = Field(description="What the partner is.")
    person_id: uuid.UUID | None = Field(None, description="The partner, if registered.")
    name: str | None = Field(
        None, min_length=1, max_length=100, description="Name, for partners not registered."
    )

    @model_validator(mode="after")
    def _someone(self) -> Self:
        if self.person_id is None and self.name is None:
            raise ValueError("give the partner's person_id or name")
        if self.role is PartnerRole.other and self.person_id is not None:
            raise ValueError("a partner of role `other` is named, not given by person_id")
        return self


class PartnerOut(Contract):
    """A partner of an activity."""

    role: PartnerRole = Field(description="What the partner is.")
    person_id: uuid.UUID | None = Field(description="The registered person, if any.")
    name: str | None = Field(description="Name (of the registered person, or as written).")


class ActivityCreate(Input):
    """A legal-awareness activity (法治宣传) that took place."""

    unit_id: uuid.UUID = Field(description="Where in the tree it took place (your jurisdiction).")
    venue: ActivityVenue = Field(description="Family, community, village, school or enterprise.")
    title: Text200 = Field(description="Theme, e.g. 《民法典》进社区.")
    held_on: PastDay = Field(description="Day it was held (Beijing time); not in the future.")
    address: str | None = Field(None, max_length=300, description="Detailed place.")
    organiser: Text200 = Field(description="Organising body, e.g. 北沟街道综治中心.")
    partners: list[PartnerIn] = Field(
        default_factory=list, max_length=20, description="Police officer, legal advisor, others."
    )
    participants: Participants
    notes: str | None = Field(None, max_length=5000, description="Notes.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "unit_id": "0195f7a2-8c1e-7000-8000-000000000001",
                    "venue": "community",
                    "title": "《民法典》进社区宣传",
                    "held_on": "2026-11-20",
                    "address": "先锋社区党群服务中心",
                    "organiser": "北沟街道综治中心",
                    "partners": [{"role": "other", "name": "铁西区司法局普法讲师"}],
                    "participants": 120,
                    "notes": "发放宣传册300份。",
                }
            ]
        }
    }


class ActivityUpdate(Input):
    """Corrections to an activity; omitted fields stay."""

    unit_id: uuid.UUID | None = Field(None, description="Place in the tree.")
    venue: ActivityVenue | None = Field(None, description="Venue type.")
    title: Text200 | None = Field(None, description="Theme.")
    held_on: PastDay | None = Field(None, description="Day it was held; not in the future.")
    address: str | None = Field(None, max_length=300, description="Detailed place.")
    organiser: Text200 | None = Field(None, description="Organising body.")
    partners: list[PartnerIn] | None = Field(None, max_length=20, description="All partners.")
    participants: Participants | None = Field(None, description="Number of participants.")
    notes: str | None = Field(None, max_length=5000, description="Notes.")

    model_config = {"json_schema_extra": {"examples": [{"participants": 135}]}}


class ActivityOut(Contract):
    """A legal-awareness activity."""

    id: uuid.UUID = Field(description="Identifier.")
    historical: bool = historical_field()
    unit_id: uuid.UUID = Field(description="Place in the tree.")
    unit_name: str | None = Field(description="Name of that node.")
    venue: ActivityVenue = Field(description="Venue type.")
    title: str = Field(description="Theme.")
    held_on: date = Field(description="Day it was held.")
    address: str | None = Field(description="Detailed place.")
    organiser: str = Field(description="Organising body.")
    partners: list[PartnerOut] = Field(description="Partners.")
    participants: int = Field(description="Number of participants.")
    notes: str | None = Field(description="Notes.")
    version: int = Field(description="Increments on every change; the ETag is derived from it.")
    created_at: Instant = Field(description="Recorded.")
    updated_at: Instant = Field(description="Last change.")


# --- micro-class series and classes --------------------------------------------------------
class SeriesCreate(Input):
    """A recurring online public micro-class (公益微课). The schedule is weekly, in Beijing time:
    Wednesdays at 19:30 unless you say otherwise."""

    unit_id: uuid.UUID = Field(description="The body running it (a node of your jurisdiction).")
    title: Text200 = Field(description="Name of the series, e.g. 心理健康公益微课.")
    description: str | None = Field(None, max_length=5000, description="What it is about.")
    platform: str | None = Field(
        None, max_length=100, description="Where it is streamed, e.g. 微信视频号."
    )
    weekday: Weekday = Field(Weekday.wednesday, description="Day of the week it is held.")
    start_time: LocalTime = Field(
        time(19, 30), description="Start time, local Beijing time without offset (HH:MM)."
    )
    default_duration_minutes: Duration = 45
    starts_on: PlanDay | None = Field(None, description="First day of the series; default today.")
    ends_on: PlanDay | None = Field(None, description="Last day, if it has ended or will end.")

    _local = field_validator("start_time")(_naive_local)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "unit_id": "0195f7a2-8c1e-7000-8000-000000000001",
                    "title": "心理健康公益微课",
                    "platform": "微信视频号",
                    "weekday": "wednesday",
                    "start_time": "19:30",
                    "default_duration_minutes": 45,
                }
            ]
        }
    }

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class SeriesUpdate(Input):
    """Changes to a series; omitted fields stay. Set `ends_on` to end it."""

    title: Text200 | None = Field(None, description="Name.")
    description: str | None = Field(None, max_length=5000, description="Description.")
    platform: str | None = Field(None, max_length=100, description="Platform.")
    weekday: Weekday | None = Field(None, description="Day of the week.")
    start_time: LocalTime | None = Field(None, description="Local start time (HH:MM).")
    default_duration_minutes: Duration | None = Field(
        None, description="Usual length of a class, 30 to 60 minutes."
    )
    ends_on: PlanDay | None = Field(None, description="Last day (null: open-ended).")

    _local = field_validator("start_time")(_naive_local)

    model_config = {"json_schema_extra": {"examples": [{"start_time": "20:00"}]}}


class SeriesTotals(Contract):
    """Running totals, counted from the classes recorded (never typed in)."""

    classes_held: int = Field(description="Classes held so far.")
    participants: int = Field(description="People reached so far (sum over classes).")
    minutes: int = Field(description="Total teaching time in minutes.")
    last_class_at: Instant | None = Field(description="Most recent class.")


class SeriesOut(Contract):
    """A micro-class series with its schedule and running totals."""

    id: uuid.UUID = Field(description="Identifier.")
    unit_id: uuid.UUID = Field(description="The body running it.")
    unit_name: str | None = Field(description="Name of that node.")
    title: str = Field(description="Name.")
    description: str | None = Field(description="Description.")
    platform: str | None = Field(description="Platform.")
    weekday: Weekday = Field(description="Day of the week.")
    start_time: str = Field(description="Local start time, HH:MM.")
    timezone: str = Field(CENTER_ZONE, description="Zone of the schedule (always Asia/Shanghai).")
    default_duration_minutes: int = Field(description="Usual length in minutes.")
    starts_on: date = Field(description="First day.")
    ends_on: date | None = Field(description="Last day, if set.")
    active: bool = Field(description="Not ended as of today.")
    next_class_at: Instant | None = Field(description="Next scheduled class (+08:00), if any.")
    totals: SeriesTotals = Field(description="Running totals from the recorded classes.")
    version: int = Field(description="Increments on every change; the ETag is derived from it.")
    created_at: Instant = Field(description="Created.")
    updated_at: Instant = Field(description="Last change.")


class ClassCreate(Input):
    """A class of a series that was held."""

    series_id: uuid.UUID = Field(description="The series.")
    held_at: PastTime = Field(description="When it started (RFC 3339 with offset).")
    topic: Text200 = Field(description="Topic, e.g. 青少年情绪管理.")
    lecturer: str = Field(min_length=1, max_length=100, description="Lecturer's name.")
    duration_minutes: Duration | None = Field(
        None, description="Length, 30 to 60 minutes; default the series' usual length."
    )
    participants: Participants
    notes: str | None = Field(None, max_length=5000, description="Notes.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "series_id": "0195f7a2-8c1e-7000-8000-000000000002",
                    "held_at": "2026-11-25T19:30:00+08:00",
                    "topic": "青少年情绪管理",
                    "lecturer": "褚咨询",
                    "duration_minutes": 45,
                    "participants": 360,
                }
            ]
        }
    }


class ClassUpdate(Input):
    """Corrections to a class; omitted fields stay."""

    held_at: PastTime | None = Field(None, description="When it started.")
    topic: Text200 | None = Field(None, description="Topic.")
    lecturer: str | None = Field(None, min_length=1, max_length=100, description="Lecturer.")
    duration_minutes: Duration | None = Field(None, description="Length, 30 to 60 minutes.")
    participants: Participants | None = Field(None, description="Number of participants.")
    notes: str | None = Field(None, max_length=5000, description="Notes.")

    model_config = {"json_schema_extra": {"examples": [{"participants": 410}]}}


class ClassOut(Contract):
    """A class that was held."""

    id: uuid.UUID = Field(description="Identifier.")
    historical: bool = historical_field()
    series_id: uuid.UUID = Field(description="The series.")
    series_title: str | None = Field(description="Name of the series.")
    unit_id: uuid.UUID = Field(description="The body running the series.")
    held_at: Instant = Field(description="When it started.")
    topic: str = Field(description="Topic.")
    lecturer: str = Field(description="Lecturer.")
    duration_minutes: int = Field(description="Length in minutes (30–60).")
    participants: int = Field(description="Participants.")
    on_schedule: bool = Field(description="Held on the series' weekday and time.")
    notes: str | None = Field(description="Notes.")
    version: int = Field(description="Increments on every change; the ETag is derived from it.")
    created_at: Instant = Field(description="Recorded.")
    updated_at: Instant = Field(description="Last change.")


# --- residents' opinions -------------------------------------------------------------------
class OpinionCreate(Input):
    """A resident's opinion or request (民意) as collected by a grid, building or unit head or a
    member of the owners' committee."""

    unit_id: uuid.UUID = Field(description="Where it comes from (grid, building, unit...).")
    category: str = Field(
        pattern=CODE_PATTERN, description="Code of an enabled `opinion_category` reference entry."
    )
    text: str = Field(min_length=1, max_length=5000, description="What the resident said.")
    collected_on: PastDay | None = Field(None, description="Day collected; default today.")
    collector_id: uuid.UUID | None = Field(
        None,
        description="The head or committee member who collected it; default you. They must "
        "hold that role on the place's line of the tree.",
    )
    address: str | None = Field(None, max_length=300, description="Detailed place.")
    resident_name: str | None = Field(None, max_length=100, description="Resident's name.")
    resident_phone: str | None = Field(
        None, pattern=PHONE_PATTERN, description="Resident's phone, to give the answer back."
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "unit_id": "0195f7a2-8c1e-7000-8000-000000000001",
                    "category": "public_facilities",
                    "text": "1号楼前路灯损坏两周，晚上出行不便，希望尽快维修。",
                    "address": "1号楼南侧",
                    "resident_name": "张大爷",
                    "resident_phone": "13900001111",
                }
            ]
        }
    }


class OpinionUpdate(Input):
    """Corrections while the opinion is still `received`; omitted fields stay."""

    category: str | None = Field(None, pattern=CODE_PATTERN, description="Category code.")
    text: str | None = Field(None, min_length=1, max_length=5000, description="Text.")
    address: str | None = Field(None, max_length=300, description="Detailed place.")
    resident_name: str | None = Field(None, max_length=100, description="Resident's name.")
    resident_phone: str | None = Field(None, pattern=PHONE_PATTERN, description="Phone.")

    model_config = {"json_schema_extra": {"examples": [{"category": "safety"}]}}


class OpinionForward(Input):
    """Forward the opinion to whoever can act on it."""

    forwarded_to: Text200 = Field(description="Department or body, e.g. 先锋社区居委会.")

    model_config = {"json_schema_extra": {"examples": [{"forwarded_to": "北沟街道城建办"}]}}


class OpinionAnswer(Input):
    """The answer given to the resident."""

    answer: str = Field(min_length=1, max_length=5000, description="The answer.")

    model_config = {
        "json_schema_extra": {"examples": [{"answer": "路灯已于11月25日修复，已电话告知居民。"}]}
    }


class OpinionClose(Input):
    """Close an answered opinion."""

    note: str | None = Field(None, max_length=2000, description="Closing note, e.g. 居民满意.")

    model_config = {"json_schema_extra": {"examples": [{"note": "居民表示满意。"}]}}


class OpinionOut(Contract):
    """A resident's opinion. The resident's name and phone are masked unless your role needs
    them."""

    id: uuid.UUID = Field(description="Identifier.")
    unit_id: uuid.UUID = Field(description="Where it comes from.")
    unit_name: str | None = Field(description="Name of that node.")
    collector_id: uuid.UUID = Field(description="Who collected it.")
    collector_name: str | None = Field(description="Their name.")
    collector_role: Role = Field(description="The role they collected it in.")
    collected_on: date = Field(description="Day collected.")
    category: str = Field(description="Category code (`opinion_category`).")
    category_label: str | None = Field(description="Chinese label of the category.")
    text: str = Field(description="What the resident said.")
    address: str | None = Field(description="Detailed place.")
    resident_name: str | None = Field(description="Resident's name (masked, e.g. 张**).")
    resident_phone: str | None = Field(description="Resident's phone (masked, 139****1111).")
    status: OpinionStatus = Field(description="Received, forwarded, answered or closed.")
    forwarded_to: str | None = Field(description="Where it was forwarded.")
    forwarded_at: Instant | None = Field(description="When.")
    answer: str | None = Field(description="The answer given.")
    answered_at: Instant | None = Field(description="When.")
    closed_at: Instant | None = Field(description="When closed.")
    close_note: str | None = Field(description="Closing note.")
    case_id: uuid.UUID | None = Field(description="The dispute case it was turned into.")
    version: int = Field(description="Increments on every change; the ETag is derived from it.")
    created_at: Instant = Field(description="Recorded.")
    updated_at: Instant = Field(description="Last change.")


class OpinionToCase(CaseCreate):
    """Turn the opinion into a dispute case: the body of `cases-create` with the source fixed
    to `grid_report`; `title`, `facts` and `unit_id` default to the opinion's. Name the dispute
    category and the parties (at least one applicant)."""

    title: Text200 | None = Field(None, description="Title; default the opinion's first words.")  # type: ignore[assignment]
    facts: str | None = Field(  # type: ignore[assignment]
        None, min_length=1, max_length=20_000, description="Facts; default the opinion's text."
    )
    unit_id: uuid.UUID | None = Field(None, description="Place; default the opinion's.")  # type: ignore[assignment]
    source: Literal[CaseSource.grid_report] = Field(  # type: ignore[assignment]
        CaseSource.grid_report, description="Always `grid_report` (网格上报)."
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "category": "neighbourhood",
                    "complexity": "simple",
                    "risk_colour": "yellow",
                    "parties": [
                        {"kind": "person", "side": "applicant", "name": "张大爷"},
                        {"kind": "person", "side": "respondent", "name": "李四"},
                    ],
                }
            ]
        }
    }


class OpinionToCaseOut(Contract):
    """The case opened from the opinion, and the opinion now linked to it."""

    case_id: uuid.UUID = Field(description="The new case.")
    case_number: str = Field(description="Its number, e.g. 铁西调〔2026〕0001号.")
    opinion: OpinionOut = Field(description="The opinion, forwarded to the case.")


# --- duty rota -----------------------------------------------------------------------------
class DutySlotCreate(Input):
    """Someone on duty in a grid's self-governance office (三长之家) on a day. Only the grid's
    three heads (grid, building, unit head) and owners' committee members take turns."""

    unit_id: uuid.UUID = Field(description="The grid.")
    duty_date: PlanDay = Field(description="The day.")
    person_id: uuid.UUID = Field(description="Who is on duty.")
    note: str | None = Field(None, max_length=500, description="Note, e.g. 上午.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "unit_id": "0195f7a2-8c1e-7000-8000-000000000001",
                    "duty_date": "2026-11-30",
                    "person_id": "0195f7a2-8c1e-7000-8000-000000000003",
                    "note": "全天",
                }
            ]
        }
    }


class DutySlotUpdate(Input):
    """Changes to a slot (a swap of days or people); omitted fields stay."""

    duty_date: PlanDay | None = Field(None, description="The day.")
    person_id: uuid.UUID | None = Field(None, description="Who is on duty.")
    note: str | None = Field(None, max_length=500, description="Note.")

    model_config = {"json_schema_extra": {"examples": [{"duty_date": "2026-12-01"}]}}


class DutySlotOut(Contract):
    """A day of duty."""

    id: uuid.UUID = Field(description="Identifier.")
    unit_id: uuid.UUID = Field(description="The grid.")
    unit_name: str | None = Field(description="Its name.")
    duty_date: date = Field(description="The day.")
    weekday: Weekday = Field(description="Day of the week.")
    person_id: uuid.UUID = Field(description="Who is on duty.")
    person_name: str | None = Field(description="Their name.")
    role: Role = Field(description="The role they hold in the grid.")
    note: str | None = Field(description="Note.")
    version: int = Field(description="Increments on every change; the ETag is derived from it.")
    created_at: Instant = Field(description="Created.")
    updated_at: Instant = Field(description="Last change.")


class InvalidSlot(Contract):
    """A slot that no longer counts: the person no longer holds a head or committee role in
    the grid on that day."""

    slot_id: uuid.UUID = Field(description="The slot.")
    duty_date: date = Field(description="The day.")
    person_id: uuid.UUID = Field(description="The person.")
    person_name: str | None = Field(description="Their name.")


class GridDutyGaps(Contract):
    """A grid with days nobody is on duty."""

    unit_id: uuid.UUID = Field(description="The grid.")
    unit_code: str = Field(description="Its code.")
    unit_name: str = Field(description="Its name.")
    days: list[date] = Field(description="Days without anyone valid on duty.")
    invalid_slots: list[InvalidSlot] = Field(description="Slots that no longer count.")


class DutyGapReport(Contract):
    """Gaps in the duty rota of the grids in a subtree over a range of days."""

    date_from: date = Field(description="First day checked.")
    date_to: date = Field(description="Last day checked.")
    weekdays: list[Weekday] = Field(description="Days of the week checked.")
    grids_checked: int = Field(description="Active grids looked at.")
    gaps: list[GridDutyGaps] = Field(description="Grids with at least one gap.")


# --- summary -------------------------------------------------------------------------------
class VenueTotals(Contract):
    """Activities of one venue type."""

    venue: ActivityVenue = Field(description="Venue type.")
    activities: int = Field(description="Activities.")
    participants: int = Field(description="Participants.")


class StatusCount(Contract):
    """Opinions in one status."""

    status: OpinionStatus = Field(description="Status now.")
    count: int = Field(description="How many.")


class OutreachSummary(Contract):
    """What the monthly statistics count, for any period and subtree: activities and their
    participants, micro-classes and theirs, opinions collected."""

    unit_id: uuid.UUID | None = Field(description="The subtree (null: your whole jurisdiction).")
    date_from: date = Field(description="First day (Beijing time).")
    date_to: date = Field(description="Last day, inclusive.")
    activities: int = Field(description="Legal-awareness activities held.")
    activity_participants: int = Field(description="Their participants.")
    activities_by_venue: list[VenueTotals] = Field(description="By venue type.")
    classes: int = Field(description="Micro-classes held.")
    class_participants: int = Field(description="Their participants.")
    opinions: int = Field(description="Residents' opinions collected.")
    opinions_by_status: list[StatusCount] = Field(description="By current status.")
