"""Mediation sessions (调解会) of a case, their mediators, bookings, history and the secret
calendar-feed tokens of the people who mediate them.

Double booking is prevented by the database, not only by Python: every non-cancelled session
holds one `session_bookings` row per mediator and one for its room, and two exclusion
constraints (btree_gist) refuse two active rows for the same person, or the same room, whose
time ranges overlap. Concurrent requests therefore cannot both win: the second insert waits for
the first transaction and then fails."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSTZRANGE, ExcludeConstraint, Range
from sqlalchemy.orm import Mapped, mapped_column

from mediation.db import ActorMixin, Base, IdMixin, TimestampMixin
from mediation.imports.source import ImportSource
from mediation.org.enums import Role
from mediation.org.models import enum_type, unit_path_index
from mediation.sessions.enums import (
    MediatorBody,
    NextStep,
    PrivacyReason,
    SessionEventType,
    SessionKind,
    SessionMode,
    SessionOutcome,
    SessionStatus,
)


class MediationSession(IdMixin, TimestampMixin, ImportSource, Base):
    """One planned meeting of a case. `unit_*` is copied from the case (scoping); the
    mediators' and invited parties' ids are denormalised into arrays for lists, reminders and
    the calendar feed (the rows of `session_mediators` hold their roles)."""

    __tablename__ = "mediation_sessions"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        # rules.LONGEST: a list of the sessions overlapping a range relies on it.
        CheckConstraint("ends_at <= starts_at + interval '1 day'", name="lasts_at_most_a_day"),
        UniqueConstraint("import_sha256", "import_row"),
        unit_path_index("mediation_sessions"),
        Index("ix_mediation_sessions_starts_at_id", "starts_at", "id"),
        # A list of one status in time order (the coming sessions: `status = 'scheduled'`).
        Index("ix_mediation_sessions_status_starts_at_id", "status", "starts_at", "id"),
        Index("ix_mediation_sessions_case_id_starts_at", "case_id", "starts_at"),
        Index(
            "ix_mediation_sessions_mediator_person_ids",
            "mediator_person_ids",
            postgresql_using="gin",
        ),
        Index("ix_mediation_sessions_place_key", "place_key"),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    case_number: Mapped[str] = mapped_column(String(40))
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    unit_path: Mapped[str] = mapped_column(String(400))
    kind: Mapped[SessionKind] = mapped_column(enum_type(SessionKind, "session_kind"))
    mode: Mapped[SessionMode] = mapped_column(enum_type(SessionMode, "session_mode"))
    status: Mapped[SessionStatus] = mapped_column(enum_type(SessionStatus, "session_status"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    place: Mapped[str | None] = mapped_column(String(200))
    # The room as the booking constraint sees it (see `mediation.sessions.rules.place_key`).
    place_key: Mapped[str | None] = mapped_column(String(200))
    meeting_info: Mapped[str | None] = mapped_column(String(500))

    mediator_person_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list)
    party_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list)

    is_public: Mapped[bool] = mapped_column(default=False)
    privacy_reason: Mapped[PrivacyReason | None] = mapped_column(
        enum_type(PrivacyReason, "privacy_reason")
    )
    privacy_note: Mapped[str | None] = mapped_column(String(500))
    recording_consent: Mapped[bool] = mapped_column(default=False)
    rights_notice_given: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str | None] = mapped_column(Text)

    # After the session: who came, the record's summary (调解笔录), outcome, next step.
    attended_person_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list)
    attended_party_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list)
    held_ended_at: Mapped[datetime | None]
    minutes: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[SessionOutcome | None] = mapped_column(
        enum_type(SessionOutcome, "session_outcome")
    )
    next_step: Mapped[NextStep | None] = mapped_column(enum_type(NextStep, "session_next_step"))
    next_step_note: Mapped[str | None] = mapped_column(String(2000))
    outcome_recorded_at: Mapped[datetime | None]

    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(2000))
    reschedule_count: Mapped[int] = mapped_column(default=0)
    created_by_name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(default=1)
    # The number of the latest history entry (mediation.timeline).
    timeline_seq: Mapped[int] = mapped_column(default=0, server_default=text("0"))


class SessionMediator(IdMixin, Base):
    """A mediator of a session, with the mediating role (and so the body) they sit for."""

    __tablename__ = "session_mediators"
    __table_args__ = (Index("ix_session_mediators_session_id", "session_id", "person_id"),)

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mediation_sessions.id", ondelete="CASCADE")
    )
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), index=True)
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"))
    body: Mapped[MediatorBody] = mapped_column(enum_type(MediatorBody, "mediator_body"))
    is_lead: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)


def _no_overlap(column: str, name: str) -> ExcludeConstraint:
    """Active bookings of one resource (a person, a place) never overlap in time."""
    return ExcludeConstraint(
        (column, "="),
        ("during", "&&"),
        name=f"ex_session_bookings_{name}_overlap",
        using="gist",
        where=text(f"active AND {column} IS NOT NULL"),
    )


class SessionBooking(IdMixin, Base):
    """One resource held by a session for its time: a mediator (`person_id`) or a room
    (`place_key`). Only active rows (sessions not cancelled) take part in the constraints.
    Ranges are half-open `[start, end)`, so back-to-back sessions do not collide."""

    __tablename__ = "session_bookings"
    __table_args__ = (
        CheckConstraint("(person_id IS NULL) <> (place_key IS NULL)", name="one_resource"),
        _no_overlap("person_id", "person"),
        _no_overlap("place_key", "place"),
        Index("ix_session_bookings_session_id", "session_id"),
    )

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mediation_sessions.id", ondelete="CASCADE")
    )
    person_id: Mapped[uuid.UUID | None]
    place_key: Mapped[str | None] = mapped_column(String(200))
    during: Mapped[Range[datetime]] = mapped_column(TSTZRANGE)
    active: Mapped[bool] = mapped_column(default=True)


class SessionEvent(IdMixin, ActorMixin, Base):
    """The session's history: who, when, what (reschedules and cancellations keep the old
    values in `data`)."""

    __tablename__ = "session_events"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mediation_sessions.id", ondelete="CASCADE")
    )
    seq: Mapped[int]  # its number within the session (mediation.timeline)
    type: Mapped[SessionEventType] = mapped_column(
        enum_type(SessionEventType, "session_event_type")
    )
    at: Mapped[datetime]
    body: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class SessionCalendarFeed(IdMixin, Base):
    """A person's secret iCalendar feed address. Only the SHA-256 of the token is stored: the
    token is shown once, when issued; issuing again replaces it (the old address stops)."""

    __tablename__ = "session_calendar_feeds"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    created_by_name: Mapped[str] = mapped_column(String(200))
    last_used_at: Mapped[datetime | None]
    # A feed a dispatcher issued lists only sessions in the subtrees they held then: it stays in
    # their hands when the mediator later takes a role elsewhere. NULL: the person's own feed
    # (all their sessions), and feeds issued before migration 0032.
    scope_paths: Mapped[list[str] | None] = mapped_column(ARRAY(String(400)))
