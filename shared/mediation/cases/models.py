"""Dispute cases (矛盾纠纷) and everything hanging off them, plus the working-day calendar and
the deadline rules they are measured against."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Computed,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mediation.auth.scope import GRID_KEY_SQL
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
    PartyKind,
    PartySide,
    PerformanceStatus,
    ReferralTarget,
    RepeatReason,
    RiskColour,
    Satisfaction,
)
from mediation.db import ActorMixin, Base, IdMixin, TimestampMixin
from mediation.org.models import enum_type, unit_path_index

# Work still to do before an outcome: the statuses of the open-work lists, the predicate of
# ix_cases_open_unit_path (migration 0031 copies the text; a list's status filter within
# these lets the planner use it).
OPEN_STATUSES_SQL = "status IN ('received', 'accepted', 'assigned', 'in_mediation')"
# The list filters' columns, carried by the indexes the lists walk (checked on the entry).
LIST_FILTER_COLUMNS = ["status", "category_code", "source", "risk_colour"]


class Case(IdMixin, TimestampMixin, Base):
    """A dispute. `unit_*` is where it happened (and decides who may see it); `handling_unit_*`
    is the level handling it now, which escalation moves up the tree."""

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("district_id", "year", "seq"),
        # Partial (migration 0027): most cases have neither an integration client's reference
        # nor a file, and an intake then writes no entry into these two.
        Index(
            "uq_cases_external_client_id_external_ref",
            "external_client_id",
            "external_ref",
            unique=True,
            postgresql_where=text("external_ref IS NOT NULL"),
        ),
        # An imported case is its file's row: the same file imported again creates nothing.
        Index(
            "uq_cases_import_sha256_import_row",
            "import_sha256",
            "import_row",
            unique=True,
            postgresql_where=text("import_sha256 IS NOT NULL"),
        ),
        unit_path_index("cases"),
        # Covering the list filters (migration 0027): a list page walks it newest first and
        # filters by scope, status, category, source and colour without visiting the heap.
        # The path is a key column (migration 0034): a caller's subtree prefix is then checked
        # in the index, before any heap visit (an INCLUDE column is tested only after the
        # visit a text search or a page not yet all-visible needs).
        Index(
            "ix_cases_received_at_id",
            "received_at",
            "id",
            "unit_path",
            postgresql_ops={"unit_path": "text_pattern_ops"},
            postgresql_include=LIST_FILTER_COLUMNS,
        ),
        # A grid's lists and text search (migration 0035): a grid holds about 1% of the
        # cases, so the walk above passed a hundred other cases' entries for each of its own;
        # ordered by the grid first, the walk reads the grid's cases only, newest first, with
        # the same filter columns.
        Index(
            "ix_cases_grid_received",
            text(GRID_KEY_SQL),
            "received_at",
            "id",
            postgresql_include=LIST_FILTER_COLUMNS,
        ),
        # Only running deadlines carry a due time: the overdue filter and sweeps stay small.
        # (due_at, id): "soonest deadline first" pages walk it in order.
        Index("ix_cases_due_at", "due_at", "id", postgresql_where=text("due_at IS NOT NULL")),
        # Lists below the street (migration 0031): open work and overdue cases of a subtree, an
        # index-only scan of the few open cases there instead of a bitmap of the whole subtree.
        Index(
            "ix_cases_open_unit_path",
            "status",
            "unit_path",
            postgresql_ops={"unit_path": "text_pattern_ops"},
            postgresql_include=["received_at", "id"],
            postgresql_where=text(OPEN_STATUSES_SQL),
        ),
        Index(
            "ix_cases_due_unit_path",
            "unit_path",
            postgresql_ops={"unit_path": "text_pattern_ops"},
            postgresql_include=["due_at", "paused_at", "received_at", "id"],
            postgresql_where=text("due_at IS NOT NULL"),
        ),
        Index("ix_cases_closed_at", "closed_at", postgresql_where=text("closed_at IS NOT NULL")),
        # Monthly statistics (issue 8): the cases with a step in a month, found by index.
        *(
            Index(f"ix_cases_{col}", col, postgresql_where=text(f"{col} IS NOT NULL"))
            for col in ("accepted_at", "resolved_at", "failed_at", "withdrawn_at")
        ),
        Index(
            "ix_cases_building_received",
            "building_id",
            "received_at",
            postgresql_where=text("building_id IS NOT NULL"),
        ),
        Index("ix_cases_channels", "channels", postgresql_using="gin"),
        Index("ix_cases_handler_person_ids", "handler_person_ids", postgresql_using="gin"),
        # Chinese text search: trigrams (pg_trgm) work on CJK characters in a UTF-8 locale.
        # The grid key first (btree_gin, migration 0037): a grid's search for a term of three
        # characters or more finds the grid's matches in the index alone, where the trigrams'
        # matches in the whole table were ANDed with the grid's cases (5 ms in any grid). A
        # GIN index serves a condition on either column as well as on both.
        *(
            Index(
                f"ix_cases_grid_{column}_trgm",
                text(GRID_KEY_SQL),
                column,
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
            )
            for column in ("search_text", "party_names")
        ),
    )

    number: Mapped[str] = mapped_column(String(40), unique=True)
    # Not unique on its own (migration 0027): it is the district's code, year and sequence,
    # which (district_id, year, seq) keeps unique; `number` stays unique (imported files may
    # carry numbers in any district's form).
    number_ascii: Mapped[str] = mapped_column(String(40))
    district_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    year: Mapped[int]
    seq: Mapped[int]

    title: Mapped[str] = mapped_column(String(200))
    facts: Mapped[str] = mapped_column(Text)
    claims: Mapped[str | None] = mapped_column(Text)
    search_text: Mapped[str] = mapped_column(
        Text, Computed("title || ' ' || facts || ' ' || coalesce(claims, '')", persisted=True)
    )
    # Party names (and guardians'), space-separated: searched only by readers allowed PII.
    party_names: Mapped[str] = mapped_column(Text, default="")
    category_code: Mapped[str] = mapped_column(String(60), index=True)
    source: Mapped[CaseSource] = mapped_column(enum_type(CaseSource, "case_source"))
    complexity: Mapped[Complexity] = mapped_column(enum_type(Complexity, "complexity"))
    risk_colour: Mapped[RiskColour] = mapped_column(enum_type(RiskColour, "risk_colour"))
    status: Mapped[CaseStatus] = mapped_column(enum_type(CaseStatus, "case_status"), index=True)

    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    unit_path: Mapped[str] = mapped_column(String(400))
    building_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("units.id"))
    handling_unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    handling_unit_path: Mapped[str] = mapped_column(String(400))
    address: Mapped[str | None] = mapped_column(String(300))
    occurred_at: Mapped[datetime | None]
    amount_involved: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))

    # Prevention flags: the number of people concerned, null when the flag is not set.
    prevent_criminal: Mapped[int | None]
    prevent_group_petition: Mapped[int | None]
    prevent_suicide: Mapped[int | None]
    prevent_group_fight: Mapped[int | None]

    channels: Mapped[list[str]] = mapped_column(ARRAY(String(30)), default=list)
    handler_person_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list)

    external_client_id: Mapped[uuid.UUID | None]
    external_ref: Mapped[str | None] = mapped_column(String(100))
    reported_by_kind: Mapped[str] = mapped_column(String(10))
    reported_by_id: Mapped[uuid.UUID]
    reported_by_name: Mapped[str] = mapped_column(String(200))
    is_repeat: Mapped[bool] = mapped_column(default=False)

    # One timestamp per status (the latest time it was entered).
    received_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    rejected_at: Mapped[datetime | None]
    assigned_at: Mapped[datetime | None]
    mediation_started_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    followed_up_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    reopened_at: Mapped[datetime | None]

    reason: Mapped[str | None] = mapped_column(Text)  # of the last reject/withdraw/fail/reopen
    referral_target: Mapped[ReferralTarget | None] = mapped_column(
        enum_type(ReferralTarget, "referral_target")
    )
    paused_at: Mapped[datetime | None]
    pause_reason: Mapped[str | None] = mapped_column(String(500))
    # The running deadline, denormalised from case_deadlines for lists and sweeps.
    current_stage: Mapped[DeadlineStage | None] = mapped_column(
        enum_type(DeadlineStage, "deadline_stage")
    )
    due_at: Mapped[datetime | None]
    due_provisional: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column(default=1)
    # The number of the latest timeline entry (mediation.timeline).
    timeline_seq: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # Imported from a register (issue 20): no deadlines, no notifications; its source.
    historical: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    import_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("import_files.id"))
    import_sha256: Mapped[str | None] = mapped_column(String(64))
    import_row: Mapped[int | None]


class CaseParty(IdMixin, TimestampMixin, Base):
    """A party: a person (with an optional guardian, required for a minor) or an
    organisation. Phone and ID number are also kept as keyed hashes to find repeat disputes."""

    __tablename__ = "case_parties"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[PartyKind] = mapped_column(enum_type(PartyKind, "party_kind"))
    side: Mapped[PartySide] = mapped_column(enum_type(PartySide, "party_side"))
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(30))
    id_number: Mapped[str | None] = mapped_column(String(18))
    org_code: Mapped[str | None] = mapped_column(String(30))
    is_minor: Mapped[bool] = mapped_column(default=False)
    address: Mapped[str | None] = mapped_column(String(300))
    guardian_name: Mapped[str | None] = mapped_column(String(200))
    guardian_phone: Mapped[str | None] = mapped_column(String(30))
    guardian_id_number: Mapped[str | None] = mapped_column(String(18))
    guardian_relation: Mapped[str | None] = mapped_column(String(40))
    # HMAC-SHA256 hex, or `sm3:` + HMAC-SM3 hex in the national profile.
    phone_hash: Mapped[str | None] = mapped_column(String(80), index=True)
    id_hash: Mapped[str | None] = mapped_column(String(80), index=True)


class CaseHandler(IdMixin, Base):
    """A person handling the case through a channel, from `assumed_at` until `renounced_at`."""

    __tablename__ = "case_handlers"
    __table_args__ = (
        Index(
            "ix_case_handlers_person_active",
            "person_id",
            postgresql_where=text("renounced_at IS NULL"),
        ),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    channel: Mapped[MediationChannel] = mapped_column(
        enum_type(MediationChannel, "mediation_channel")
    )
    is_lead: Mapped[bool] = mapped_column(default=False)
    assumed_at: Mapped[datetime]
    renounced_at: Mapped[datetime | None]
    assigned_by_id: Mapped[uuid.UUID | None]


class CaseEvent(IdMixin, ActorMixin, Base):
    """One typed timeline entry: who, when, what, through which client; comments too. Listed
    by `seq`, its number within the case (mediation.timeline)."""

    __tablename__ = "case_events"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int]
    type: Mapped[CaseEventType] = mapped_column(enum_type(CaseEventType, "case_event_type"))
    at: Mapped[datetime]
    from_status: Mapped[CaseStatus | None] = mapped_column(enum_type(CaseStatus, "from_status"))
    to_status: Mapped[CaseStatus | None] = mapped_column(enum_type(CaseStatus, "to_status"))
    body: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, object]] = mapped_column(JSONB, default=dict)


class CaseDeadline(IdMixin, Base):
    """One stage's time limit. The due time is always recomputable from the start, the rule
    snapshot, extensions and paused time, so a calendar change can recompute it."""

    __tablename__ = "case_deadlines"
    __table_args__ = (
        # Monthly statistics: the deadlines that fell due in a month.
        Index("ix_case_deadlines_due_at", "due_at"),
        Index(
            "ix_case_deadlines_open",
            "case_id",
            postgresql_where=text("met_at IS NULL AND cancelled_at IS NULL"),
        ),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    stage: Mapped[DeadlineStage] = mapped_column(enum_type(DeadlineStage, "deadline_stage"))
    unit: Mapped[DeadlineUnit] = mapped_column(enum_type(DeadlineUnit, "deadline_unit"))
    amount: Mapped[int]
    extended_by: Mapped[int] = mapped_column(default=0)
    paused_by: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime]
    due_at: Mapped[datetime]
    provisional: Mapped[bool] = mapped_column(default=False)
    paused_since: Mapped[datetime | None]
    met_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]


class CaseAgreement(IdMixin, TimestampMixin, Base):
    """The mediation agreement (调解协议, People's Mediation Law Arts. 28–29)."""

    __tablename__ = "case_agreements"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), unique=True)
    form: Mapped[AgreementForm] = mapped_column(enum_type(AgreementForm, "agreement_form"))
    terms: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    performance_method: Mapped[str] = mapped_column(Text)
    performance_due_on: Mapped[date | None]
    effective_on: Mapped[date]
    signed_by_parties: Mapped[bool] = mapped_column(default=False)
    mediator_person_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list)
    judicial_confirmation_until: Mapped[date]
    judicial_confirmation_requested_on: Mapped[date | None]
    judicial_confirmation_court: Mapped[str | None] = mapped_column(String(200))
    performance_status: Mapped[PerformanceStatus] = mapped_column(
        enum_type(PerformanceStatus, "performance_status"), default=PerformanceStatus.pending
    )


class AgreementPerformance(IdMixin, Base):
    """A record of how an agreement was performed (履行情况)."""

    __tablename__ = "agreement_performances"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    performed_on: Mapped[date]
    status: Mapped[PerformanceStatus] = mapped_column(
        enum_type(PerformanceStatus, "performance_status")
    )
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime]
    recorded_by_name: Mapped[str] = mapped_column(String(200))


class CaseFollowUp(IdMixin, Base):
    """A follow-up visit (回访): performance, satisfaction, risk of flare-up."""

    __tablename__ = "case_follow_ups"
    # Monthly statistics: the visits of a month.
    __table_args__ = (Index("ix_case_follow_ups_visited_at", "visited_at"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    visited_at: Mapped[datetime]
    method: Mapped[FollowUpMethod] = mapped_column(enum_type(FollowUpMethod, "follow_up_method"))
    performance: Mapped[PerformanceStatus] = mapped_column(
        enum_type(PerformanceStatus, "performance_status")
    )
    satisfaction: Mapped[Satisfaction] = mapped_column(enum_type(Satisfaction, "satisfaction"))
    flare_up_risk: Mapped[FlareUpRisk] = mapped_column(enum_type(FlareUpRisk, "flare_up_risk"))
    notes: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime]
    recorded_by_id: Mapped[uuid.UUID | None]
    recorded_by_name: Mapped[str] = mapped_column(String(200))


class CaseLink(IdMixin, Base):
    """A later case linked to an earlier one as a repeat dispute."""

    __tablename__ = "case_links"
    __table_args__ = (UniqueConstraint("case_id", "related_case_id", "reason"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    related_case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    reason: Mapped[RepeatReason] = mapped_column(enum_type(RepeatReason, "repeat_reason"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class CaseNumberCounter(Base):
    """The last case number given per district and year."""

    __tablename__ = "case_number_counters"

    district_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last_value: Mapped[int] = mapped_column(default=0)


class CalendarDay(Base):
    """One day of China's official calendar: working or not, and how sure we are."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    is_working_day: Mapped[bool]
    name: Mapped[str | None] = mapped_column(String(100))
    provisional: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class DeadlineRule(Base):
    """How long a stage may take for a complexity; administrators change these."""

    __tablename__ = "deadline_rules"

    stage: Mapped[DeadlineStage] = mapped_column(
        enum_type(DeadlineStage, "deadline_stage"), primary_key=True
    )
    complexity: Mapped[Complexity] = mapped_column(
        enum_type(Complexity, "complexity"), primary_key=True
    )
    unit: Mapped[DeadlineUnit] = mapped_column(enum_type(DeadlineUnit, "deadline_unit"))
    amount: Mapped[int]
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    updated_by: Mapped[str | None] = mapped_column(String(200))
