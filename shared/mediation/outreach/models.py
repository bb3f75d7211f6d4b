"""Outreach records, residents' opinions and the self-governance office's duty rota.

Every record sits at a node of the jurisdiction tree (`unit_id` and a copy of its `path`), so
scoping is a prefix match. The tables the monthly statistics count (activities, classes) have
an index on (date, unit_path) besides the scoping index: "this month, in this subtree" is a
range scan."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mediation.db import Base, IdMixin, TimestampMixin
from mediation.imports.source import ImportSource
from mediation.org.enums import Role
from mediation.org.models import enum_type, unit_path_index, unit_path_range_index
from mediation.outreach.enums import ActivityVenue, OpinionStatus, Weekday

# Bounds of a micro-class (公益微课: 30 to 60 minutes), enforced by the contract and the table.
CLASS_MIN_MINUTES = 30
CLASS_MAX_MINUTES = 60


class OutreachActivity(IdMixin, TimestampMixin, ImportSource, Base):
    """A legal-awareness activity (法治宣传) held on a day at a place of the tree."""

    __tablename__ = "outreach_activities"
    __table_args__ = (
        unit_path_index("outreach_activities"),
        unit_path_range_index("outreach_activities", "held_on"),
        UniqueConstraint("import_sha256", "import_row"),
        CheckConstraint("participants >= 0", name="participants_not_negative"),
    )

    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    unit_path: Mapped[str] = mapped_column(String(400))
    venue: Mapped[ActivityVenue] = mapped_column(enum_type(ActivityVenue, "activity_venue"))
    title: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date]
    address: Mapped[str | None] = mapped_column(String(300))
    organiser: Mapped[str] = mapped_column(String(200))
    # [{"role": "police", "person_id": "...", "name": "..."}]: names are resolved when read.
    partners: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    participants: Mapped[int]
    notes: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None]  # user or client id
    version: Mapped[int] = mapped_column(default=1)


class ClassSeries(IdMixin, TimestampMixin, Base):
    """A recurring online public micro-class (公益微课) with its weekly schedule, in the
    center's zone (Asia/Shanghai)."""

    __tablename__ = "outreach_class_series"
    __table_args__ = (
        unit_path_index("outreach_class_series"),
        CheckConstraint(
            f"default_duration_minutes BETWEEN {CLASS_MIN_MINUTES} AND {CLASS_MAX_MINUTES}",
            name="duration_in_bounds",
        ),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="dates_ordered"),
    )

    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    unit_path: Mapped[str] = mapped_column(String(400))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    platform: Mapped[str | None] = mapped_column(String(100))
    weekday: Mapped[Weekday] = mapped_column(enum_type(Weekday, "weekday"))
    start_time: Mapped[time]
    default_duration_minutes: Mapped[int]
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    created_by: Mapped[uuid.UUID | None]
    version: Mapped[int] = mapped_column(default=1)


class MicroClass(IdMixin, TimestampMixin, ImportSource, Base):
    """One class of a series that was held. It sits where its series sits."""

    __tablename__ = "outreach_classes"
    __table_args__ = (
        unit_path_index("outreach_classes"),
        unit_path_range_index("outreach_classes", "held_at"),
        # The same class recorded twice would inflate the running totals.
        UniqueConstraint("series_id", "held_at"),
        UniqueConstraint("import_sha256", "import_row"),
        CheckConstraint(
            f"duration_minutes BETWEEN {CLASS_MIN_MINUTES} AND {CLASS_MAX_MINUTES}",
            name="duration_in_bounds",
        ),
        CheckConstraint("participants >= 0", name="participants_not_negative"),
    )

    series_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("outreach_class_series.id"))
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    unit_path: Mapped[str] = mapped_column(String(400))
    held_at: Mapped[datetime]
    topic: Mapped[str] = mapped_column(String(200))
    lecturer: Mapped[str] = mapped_column(String(100))
    duration_minutes: Mapped[int]
    participants: Mapped[int]
    notes: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None]
    version: Mapped[int] = mapped_column(default=1)


class ResidentOpinion(IdMixin, TimestampMixin, Base):
    """A resident's opinion or request (民意), collected by a head or the owners' committee."""

    __tablename__ = "resident_opinions"
    __table_args__ = (
        unit_path_index("resident_opinions"),
        unit_path_range_index("resident_opinions", "collected_on"),
        Index("ix_resident_opinions_status", "status"),
        CheckConstraint(
            "status NOT IN ('answered', 'closed') OR answer IS NOT NULL", name="answered_has_answer"
        ),
    )

    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    unit_path: Mapped[str] = mapped_column(String(400))
    collector_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), index=True)
    collector_role: Mapped[Role] = mapped_column(enum_type(Role, "role"))
    collected_on: Mapped[date]
    category: Mapped[str] = mapped_column(String(60))  # reference kind `opinion_category`
    text: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(300))
    # Personal information: masked unless the reader's role needs it.
    resident_name: Mapped[str | None] = mapped_column(String(100))
    resident_phone: Mapped[str | None] = mapped_column(String(30))
    status: Mapped[OpinionStatus] = mapped_column(enum_type(OpinionStatus, "opinion_status"))
    forwarded_to: Mapped[str | None] = mapped_column(String(200))
    forwarded_at: Mapped[datetime | None]
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    close_note: Mapped[str | None] = mapped_column(Text)
    # The dispute case it was turned into.
    case_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    created_by: Mapped[uuid.UUID | None]
    version: Mapped[int] = mapped_column(default=1)


class DutySlot(IdMixin, TimestampMixin, Base):
    """A person on duty in a grid's self-governance office (三长之家 / 自治办公室) on a day."""

    __tablename__ = "duty_slots"
    __table_args__ = (
        unit_path_index("duty_slots"),
        # Also serves the rota and gap report of a grid over a range of days.
        UniqueConstraint("unit_id", "duty_date", "person_id"),
    )

    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))  # the grid
    unit_path: Mapped[str] = mapped_column(String(400))
    duty_date: Mapped[date]
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), index=True)
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"))  # held on that day
    note: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[uuid.UUID | None]
    version: Mapped[int] = mapped_column(default=1)
