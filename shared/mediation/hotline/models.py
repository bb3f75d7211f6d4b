"""Hotline call logs (心理热线), their timeline, and the duty roster.

These are mental-health records (PIPL Art. 28): the callback number is stored only
encrypted (with its key id), the caller is recognised only by a keyed hash, and the retention
job de-identifies calls after the retention period."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mediation.db import Base, IdMixin, TimestampMixin
from mediation.hotline.enums import (
    AgeBand,
    CallChannel,
    CallEventKind,
    CallType,
    DutyRole,
    Gender,
    ReviewOutcome,
    RiskLevel,
)
from mediation.imports.source import ImportSource
from mediation.org.models import enum_type, unit_path_index

# The call list's filters that pick a queue, written as the list writes them (an index's
# predicate serves a query only when the query's terms imply it).
QUEUES = {
    "awaiting_ack": "flagged_at IS NOT NULL AND acknowledged_at IS NULL",
    "follow_up_open": "follow_up_due IS NOT NULL AND follow_up_done_at IS NULL",
    "imminent": "imminent_risk",
}


class HotlineCall(IdMixin, TimestampMixin, ImportSource, Base):
    __tablename__ = "hotline_calls"
    __table_args__ = (
        UniqueConstraint("import_sha256", "import_row"),
        unit_path_index("hotline_calls"),
        Index("ix_hotline_calls_started_at_id", "started_at", "id"),
        Index(
            "ix_hotline_calls_caller_hash",
            "caller_hash",
            postgresql_where=text("caller_hash IS NOT NULL"),
        ),
        # Supervisors' queue: flagged and not yet acknowledged.
        Index(
            "ix_hotline_calls_awaiting_ack",
            "flagged_at",
            postgresql_where=text("flagged_at IS NOT NULL AND acknowledged_at IS NULL"),
        ),
        # The call list's queues in time order (flagged and not acknowledged, follow-up to
        # do, imminent risk): a queue is few calls among all, and without an ordered index
        # of its own the list walked every call newest first to find them (555 ms at full
        # scale for a street's empty queue).
        *(
            Index(
                f"ix_hotline_calls_{name}_started_at_id",
                "started_at",
                "id",
                postgresql_where=text(where),
            )
            for name, where in QUEUES.items()
        ),
        # Monthly statistics: the follow-ups done in a month.
        Index(
            "ix_hotline_calls_follow_up_done_at",
            "follow_up_done_at",
            postgresql_where=text("follow_up_done_at IS NOT NULL"),
        ),
        # The follow-up reminder sweep: calls whose follow-up is still to do, by due time.
        Index(
            "ix_hotline_calls_follow_up_pending",
            "follow_up_due",
            postgresql_where=text(
                "follow_up_due IS NOT NULL AND follow_up_done_at IS NULL "
                "AND deidentified_at IS NULL"
            ),
        ),
        # Retention: calls not yet de-identified, by age.
        Index(
            "ix_hotline_calls_retention",
            "started_at",
            postgresql_where=text("deidentified_at IS NULL"),
        ),
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ends_after_start"),
        CheckConstraint(
            "callback_number_enc IS NULL OR (callback_consent AND callback_key_id IS NOT NULL)",
            name="callback_needs_consent",
        ),
        CheckConstraint(
            "risk_level IS NULL OR risk_assessment IS NOT NULL", name="level_needs_assessment"
        ),
    )

    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    unit_path: Mapped[str] = mapped_column(String(400))
    counselor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), index=True)
    created_by: Mapped[uuid.UUID | None]  # user id of whoever logged it

    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    duration_seconds: Mapped[int | None]
    channel: Mapped[CallChannel] = mapped_column(enum_type(CallChannel, "hotline_channel"))
    call_type: Mapped[CallType] = mapped_column(enum_type(CallType, "hotline_call_type"))

    caller_anonymous: Mapped[bool] = mapped_column(default=True)
    caller_alias: Mapped[str | None] = mapped_column(String(50))
    caller_age_band: Mapped[AgeBand | None] = mapped_column(enum_type(AgeBand, "age_band"))
    caller_gender: Mapped[Gender | None] = mapped_column(enum_type(Gender, "gender"))
    caller_is_minor: Mapped[bool | None]
    # HMAC-SHA256 of the normalised number (mediation.privacy.keyed_hash): recognises a
    # repeat caller without keeping the number.
    caller_hash: Mapped[str | None] = mapped_column(String(80))  # `sm3:` + hex when gm
    callback_consent: Mapped[bool] = mapped_column(default=False)
    # AES-GCM nonce || ciphertext, and the id of the key that sealed it (rotation).
    callback_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    callback_key_id: Mapped[str | None] = mapped_column(String(48))  # `sm4:<kid>` when SM4

    topics: Mapped[list[str]] = mapped_column(ARRAY(String(60)), default=list)
    risk_level: Mapped[RiskLevel | None] = mapped_column(enum_type(RiskLevel, "risk_level"))
    imminent_risk: Mapped[bool] = mapped_column(default=False)
    risk_assessment: Mapped[dict[str, object] | None] = mapped_column(JSONB)
    actions: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    referral_to: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str | None] = mapped_column(Text)

    follow_up_due: Mapped[datetime | None]
    follow_up_done_at: Mapped[datetime | None]
    follow_up_note: Mapped[str | None] = mapped_column(Text)

    flagged_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id"))
    acknowledge_note: Mapped[str | None] = mapped_column(Text)

    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id"))
    review_outcome: Mapped[ReviewOutcome | None] = mapped_column(
        enum_type(ReviewOutcome, "review_outcome")
    )
    review_comment: Mapped[str | None] = mapped_column(Text)

    # The dispute case opened from (or linked to) this call.
    case_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    deidentified_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)
    # The number of the latest timeline entry (mediation.timeline).
    timeline_seq: Mapped[int] = mapped_column(default=0, server_default=text("0"))

    @property
    def flagged(self) -> bool:
        """Waiting for a supervisor's acknowledgement."""
        return self.flagged_at is not None and self.acknowledged_at is None


class HotlineCallEvent(IdMixin, Base):
    """A call's timeline: who did what and when (never the mental-health content itself)."""

    __tablename__ = "hotline_call_events"
    __table_args__ = (UniqueConstraint("call_id", "seq"),)

    call_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("hotline_calls.id"))
    seq: Mapped[int]  # its number within the call (mediation.timeline)
    at: Mapped[datetime]
    kind: Mapped[CallEventKind] = mapped_column(enum_type(CallEventKind, "hotline_event_kind"))
    actor_id: Mapped[uuid.UUID | None]  # user id; null for the worker
    actor_person_id: Mapped[uuid.UUID | None]
    actor_name: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, object]] = mapped_column(JSONB, default=dict)


class HotlineDutyShift(IdMixin, TimestampMixin, Base):
    """One person on duty for the hotline of a workstation (a unit) from `starts_at` until
    `ends_at` (exclusive)."""

    __tablename__ = "hotline_duty_shifts"
    __table_args__ = (
        unit_path_index("hotline_duty_shifts"),
        Index("ix_hotline_duty_shifts_unit_id_starts_at", "unit_id", "starts_at"),
        Index("ix_hotline_duty_shifts_person_id_starts_at", "person_id", "starts_at"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    unit_path: Mapped[str] = mapped_column(String(400))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    duty_role: Mapped[DutyRole] = mapped_column(enum_type(DutyRole, "duty_role"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[uuid.UUID | None]
    version: Mapped[int] = mapped_column(default=1)
