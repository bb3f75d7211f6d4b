"""Every query of the case domain. Scoping is written once, in `readable`: a case is visible
when the place it happened lies in one of the caller's subtrees. Handlers are only ever people
whose role covers that place (checked on assignment), so they see their cases through the
same rule and no second visibility path is needed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import (
    Select,
    func,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.principal import Principal
from mediation.auth.scope import in_scope, like_prefix
from mediation.cases.calendar import DayInfo
from mediation.cases.deadlines import Rule
from mediation.cases.enums import (
    CaseSource,
    CaseStatus,
    Complexity,
    DeadlineStage,
    MediationChannel,
    RepeatReason,
    RiskColour,
)
from mediation.cases.models import (
    AgreementPerformance,
    Case,
    CaseAgreement,
    CaseDeadline,
    CaseEvent,
    CaseFollowUp,
    CaseHandler,
    CaseLink,
    CaseParty,
)
from mediation.db import driver_connection
from mediation.org.enums import UnitLevel
from mediation.org.models import Person
from mediation.sessions.enums import SessionStatus
from mediation.sessions.models import MediationSession
from mediation_api.cases.calendar_repository import CalendarRepository, rule_and_days
from mediation_api.cases.intake import (
    PLACE_CALENDAR_SQL,
    REPEATS_NUMBER_SQL,
    REPEATS_SQL,
)
from mediation_api.org.lookups import TreeLookups
from mediation_api.queries import one_or_none

REPEAT_WINDOW = timedelta(days=180)


@dataclass(frozen=True)
class PlaceUnit:
    """A unit of an intake's place and its ancestors (a row of `PLACE_SQL`)."""

    id: uuid.UUID
    seq: int
    level: UnitLevel
    code: str
    name: str
    path: str
    active: bool

    @classmethod
    def of(cls, r: asyncpg.Record) -> PlaceUnit:
        return cls(
            r["id"], r["seq"], UnitLevel(r["level"]), r["code"], r["name"], r["path"], r["active"]
        )


@dataclass
class CaseFilters:
    status: list[CaseStatus] = field(default_factory=list)
    category: list[str] = field(default_factory=list)
    source: list[CaseSource] = field(default_factory=list)
    channel: list[MediationChannel] = field(default_factory=list)
    risk_colour: list[RiskColour] = field(default_factory=list)
    complexity: list[Complexity] = field(default_factory=list)
    subtree_path: str | None = None
    handler: uuid.UUID | None = None
    overdue: bool | None = None
    due_before: datetime | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    closed_from: datetime | None = None
    closed_to: datetime | None = None
    repeat: bool | None = None
    q: str | None = None
    search_party_names: bool = False
    external_ref: str | None = None
    # An integration client's references are its own: its filter is on its cases (and uses
    # the (external_client_id, external_ref) unique index).
    external_client: uuid.UUID | None = None


def _like(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class CaseRepository(TreeLookups, CalendarRepository):
    """The case queries; the tree's lookups and the calendar's queries are inherited."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- cases --------------------------------------------------------------------------
    @staticmethod
    def readable(principal: Principal) -> Select[tuple[Case]]:
        return select(Case).where(in_scope(Case.unit_path, principal))

    async def get(
        self, case_id: uuid.UUID, principal: Principal, *, for_update: bool = False
    ) -> Case | None:
        stmt = self.readable(principal).where(Case.id == case_id)
        return await one_or_none(self.session, stmt, for_update=for_update, key_share=True)

    async def by_external_ref(self, client_id: uuid.UUID, ref: str) -> Case | None:
        stmt = select(Case).where(Case.external_client_id == client_id, Case.external_ref == ref)
        return (await self.session.scalars(stmt)).one_or_none()

    async def lock_external_ref(self, client_id: uuid.UUID, ref: str) -> None:
        """Serialises concurrent intakes of the same external reference (transaction-scoped)."""
        await self.session.execute(
            select(
                func.pg_advisory_xact_lock(
                    func.hashtextextended(f"case-external-ref:{client_id}:{ref}", 0)
                )
            )
        )

    # --- things hanging off a case ------------------------------------------------------
    async def parties(self, case_id: uuid.UUID) -> list[CaseParty]:
        stmt = (
            select(CaseParty)
            .where(CaseParty.case_id == case_id)
            .order_by(CaseParty.position, CaseParty.id)
        )
        return list((await self.session.scalars(stmt)).all())

    async def active_handlers(self, case_id: uuid.UUID) -> list[tuple[CaseHandler, str]]:
        stmt = (
            select(CaseHandler, Person.name)
            .join(Person, Person.id == CaseHandler.person_id)
            .where(CaseHandler.case_id == case_id, CaseHandler.renounced_at.is_(None))
            .order_by(CaseHandler.is_lead.desc(), CaseHandler.assumed_at, CaseHandler.id)
        )
        return [(h, n) for h, n in (await self.session.execute(stmt)).all()]

    async def running_deadline(self, case_id: uuid.UUID) -> CaseDeadline | None:
        stmt = (
            select(CaseDeadline)
            .where(
                CaseDeadline.case_id == case_id,
                CaseDeadline.met_at.is_(None),
                CaseDeadline.cancelled_at.is_(None),
            )
            .order_by(CaseDeadline.started_at.desc())
        )
        return (await self.session.scalars(stmt.limit(1))).first()

    async def first_held_session(self, case_id: uuid.UUID) -> datetime | None:
        """When the earliest session held about the case started (None: none held)."""
        stmt = select(func.min(MediationSession.starts_at)).where(
            MediationSession.case_id == case_id, MediationSession.status == SessionStatus.held
        )
        return (await self.session.scalars(stmt)).one()

    async def agreement(self, case_id: uuid.UUID) -> CaseAgreement | None:
        stmt = select(CaseAgreement).where(CaseAgreement.case_id == case_id)
        return (await self.session.scalars(stmt)).one_or_none()

    async def performances(self, case_id: uuid.UUID) -> list[AgreementPerformance]:
        stmt = (
            select(AgreementPerformance)
            .where(AgreementPerformance.case_id == case_id)
            .order_by(AgreementPerformance.performed_on, AgreementPerformance.id)
        )
        return list((await self.session.scalars(stmt)).all())

    async def follow_ups(self, case_id: uuid.UUID) -> list[CaseFollowUp]:
        stmt = (
            select(CaseFollowUp)
            .where(CaseFollowUp.case_id == case_id)
            .order_by(CaseFollowUp.visited_at, CaseFollowUp.id)
        )
        return list((await self.session.scalars(stmt)).all())

    async def events(
        self, case_id: uuid.UUID, *, types: list[str] | None, after: int | None, limit: int
    ) -> list[CaseEvent]:
        """Up to limit+1 entries of the timeline in its order, after entry number `after`."""
        stmt = select(CaseEvent).where(CaseEvent.case_id == case_id)
        if types:
            stmt = stmt.where(CaseEvent.type.in_(types))
        if after is not None:
            stmt = stmt.where(CaseEvent.seq > after)
        stmt = stmt.order_by(CaseEvent.seq).limit(limit + 1)
        return list((await self.session.scalars(stmt)).all())

    async def links_from(self, case_id: uuid.UUID) -> list[CaseLink]:
        rows = await self.session.scalars(select(CaseLink).where(CaseLink.case_id == case_id))
        return list(rows.all())

    async def repeat_candidates(
        self, case: Case, phone_hashes: set[str], id_hashes: set[str]
    ) -> list[tuple[uuid.UUID, RepeatReason]]:
        """Earlier cases within 180 days sharing a party's phone or ID number, or the building."""
        if not (phone_hashes or id_hashes or case.building_id):
            return []
        conn = await driver_connection(self.session)
        rows = await conn.fetch(REPEATS_SQL, *_repeat_args(case, phone_hashes, id_hashes))
        return sorted({(r[0], RepeatReason(r[1])) for r in rows})

    # --- an intake's reads --------------------------------------------------------------
    async def intake_reads(
        self,
        unit_id: uuid.UUID,
        principal: Principal,
        category: str,
        stage: DeadlineStage,
        complexity: Complexity,
        days: tuple[date, date],
    ) -> tuple[bool, list[PlaceUnit], tuple[Rule | None, dict[date, DayInfo]]]:
        """For an intake, in one round trip (PLACE_CALENDAR_SQL): whether `category` is an
        enabled dispute category; the unit `unit_id` (when it lies in the caller's
        jurisdiction) with its ancestors, from the root down (empty when it is not in scope);
        and the first deadline's `rule_and_calendar` (`days`: from, to)."""
        conn = await driver_connection(self.session)
        patterns = [like_prefix(p) for p in principal.scope_paths]
        rows = await conn.fetch(
            PLACE_CALENDAR_SQL, category, unit_id, patterns, stage.value, complexity.value, *days
        )
        category_ok, lineage = _lineage([r for r in rows if r["part"] == "p"], unit_id)
        calendar = rule_and_days([r for r in rows if r["part"] == "c"], name="day_name")
        return category_ok, lineage, calendar

    async def repeats_and_number(
        self, case: Case, phone_hashes: set[str], id_hashes: set[str], district_id: uuid.UUID
    ) -> tuple[list[tuple[uuid.UUID, RepeatReason]], int]:
        """`repeat_candidates` and the case's number in its district's year, in one round trip
        (REPEATS_NUMBER_SQL), once nothing is left to reject. The number comes from the
        district year's own sequence (made on demand by `case_number_next`, migration 0012): no
        lock is held to commit, so concurrent intakes overlap and never get the same number; a
        number taken by an intake that fails is skipped (a gap), never given again."""
        conn = await driver_connection(self.session)
        rows = await conn.fetch(
            REPEATS_NUMBER_SQL, *_repeat_args(case, phone_hashes, id_hashes), district_id, case.year
        )
        found = sorted({(r[1], RepeatReason(r[2])) for r in rows if r[1] is not None})
        return found, int(rows[0][0])

    # --- deadlines to recompute (a changed calendar) --------------------------------------
    async def deadlines_to_recompute(self, since: datetime) -> list[tuple[CaseDeadline, Case]]:
        """Running deadlines that are provisional or end on or after `since` (a changed year)."""
        stmt = (
            select(CaseDeadline, Case)
            .join(Case, Case.id == CaseDeadline.case_id)
            .where(
                CaseDeadline.met_at.is_(None),
                CaseDeadline.cancelled_at.is_(None),
                or_(CaseDeadline.provisional.is_(True), CaseDeadline.due_at >= since),
            )
            .order_by(Case.id)
            .with_for_update(of=Case, key_share=True)
        )
        return [(d, c) for d, c in (await self.session.execute(stmt)).all()]


def _lineage(rows: list[asyncpg.Record], unit_id: uuid.UUID) -> tuple[bool, list[PlaceUnit]]:
    """PLACE_SQL's rows: whether the category is enabled, and the place's lineage from the root
    down (empty when the place is not in scope)."""
    units = [PlaceUnit.of(r) for r in rows if r["id"] is not None]
    place = next((u for u in units if u.id == unit_id), None)
    if place is None:
        return bool(rows[0]["category_ok"]), []
    order = {int(s): i for i, s in enumerate(s for s in place.path.split(".") if s)}
    lineage = sorted((u for u in units if u.seq in order), key=lambda u: order[u.seq])
    return bool(rows[0]["category_ok"]), lineage


def _repeat_args(case: Case, phone_hashes: set[str], id_hashes: set[str]) -> tuple[Any, ...]:
    """REPEATS_SQL's parameters: the case, its window, the parties' hashes, its building."""
    return (
        case.id,
        case.received_at - REPEAT_WINDOW,
        case.received_at,
        sorted(phone_hashes),
        sorted(id_hashes),
        case.building_id,
    )
