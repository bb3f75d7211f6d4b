"""Every query of outreach, opinions and the duty rota, each limited to the caller's subtree."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from mediation.auth.principal import Principal
from mediation.auth.scope import in_scope
from mediation.org.enums import Role, UnitLevel
from mediation.org.models import RoleAssignment, Unit
from mediation.outreach.enums import ActivityVenue, OpinionStatus
from mediation.outreach.models import (
    ClassSeries,
    DutySlot,
    MicroClass,
    OutreachActivity,
    ResidentOpinion,
)
from mediation.outreach.stats import local_bounds
from mediation.reference.data import ReferenceKind
from mediation.reference.models import ReferenceItem
from mediation_api.org.lookups import TreeLookups
from mediation_api.pagination import id_page, keyset_page
from mediation_api.queries import one_or_none

R = TypeVar("R", OutreachActivity, ClassSeries, MicroClass, ResidentOpinion, DutySlot)


def _subtree(column: InstrumentedAttribute[str], path: str | None) -> list[ColumnElement[bool]]:
    return [column.startswith(path, autoescape=True)] if path else []


def _listed(model: type[R], principal: Principal, subtree_path: str | None) -> Select[tuple[R]]:
    """A list's rows: in the caller's scope, and under `subtree_path` when a unit is asked."""
    return select(model).where(
        in_scope(model.unit_path, principal), *_subtree(model.unit_path, subtree_path)
    )


def _days(column: InstrumentedAttribute[date], first: date | None, last: date | None) -> list[Any]:
    """A range of days, both ends included, either one left open."""
    return [
        *([] if first is None else [column >= first]),
        *([] if last is None else [column <= last]),
    ]


@dataclass
class ActivityFilters:
    subtree_path: str | None = None
    venue: list[ActivityVenue] = field(default_factory=list)
    held_from: date | None = None
    held_to: date | None = None


@dataclass
class OpinionFilters:
    subtree_path: str | None = None
    status: list[OpinionStatus] = field(default_factory=list)
    category: list[str] = field(default_factory=list)
    collector_id: uuid.UUID | None = None
    collected_from: date | None = None
    collected_to: date | None = None
    converted: bool | None = None


class OutreachRepository(TreeLookups):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, record: object) -> None:
        self.session.add(record)

    async def scoped(
        self,
        model: type[R],
        principal: Principal,
        record_id: uuid.UUID,
        *,
        for_update: bool = False,
    ) -> R | None:
        """One record by id, only in the caller's jurisdiction; locked for a change."""
        stmt = select(model).where(model.id == record_id, in_scope(model.unit_path, principal))
        return await one_or_none(self.session, stmt, for_update=for_update)

    # --- the tree and people ------------------------------------------------------------
    async def roles_held(
        self, person_ids: set[uuid.UUID], roles: tuple[Role, ...], first: date, last: date
    ) -> list[tuple[uuid.UUID, Role, str, date, date | None]]:
        """(person, role, unit path, starts_on, ends_on) of assignments to `roles` overlapping
        the days `first`..`last`."""
        if not person_ids:
            return []
        stmt = (
            select(
                RoleAssignment.person_id,
                RoleAssignment.role,
                Unit.path,
                RoleAssignment.starts_on,
                RoleAssignment.ends_on,
            )
            .join(Unit, Unit.id == RoleAssignment.unit_id)
            .where(
                RoleAssignment.person_id.in_(person_ids),
                RoleAssignment.role.in_(roles),
                RoleAssignment.starts_on <= last,
                or_(RoleAssignment.ends_on.is_(None), RoleAssignment.ends_on >= first),
            )
        )
        return [tuple(r) for r in (await self.session.execute(stmt)).all()]  # type: ignore[misc]

    async def active_grids(self, principal: Principal, subtree_path: str | None) -> list[Unit]:
        stmt = (
            select(Unit)
            .where(
                in_scope(Unit.path, principal),
                Unit.level == UnitLevel.grid,
                Unit.active.is_(True),
                *_subtree(Unit.path, subtree_path),
            )
            .order_by(Unit.code)
        )
        return list((await self.session.scalars(stmt)).all())

    async def category_labels(self, kind: ReferenceKind) -> dict[str, str]:
        rows = await self.session.execute(
            select(ReferenceItem.code, ReferenceItem.label_zh).where(
                ReferenceItem.kind == kind.value
            )
        )
        return {code: label for code, label in rows.all()}

    # --- activities ---------------------------------------------------------------------
    async def activity_page(
        self,
        principal: Principal,
        filters: ActivityFilters,
        *,
        newest: bool,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[OutreachActivity], str | None]:
        a = OutreachActivity
        stmt = _listed(a, principal, filters.subtree_path)
        if filters.venue:
            stmt = stmt.where(a.venue.in_(filters.venue))
        stmt = stmt.where(*_days(a.held_on, filters.held_from, filters.held_to))
        return await keyset_page(
            self.session, stmt, (a.held_on, a.id), limit, cursor, newest=newest
        )

    # --- micro-class series and classes -------------------------------------------------
    async def series_page(
        self,
        principal: Principal,
        *,
        subtree_path: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[ClassSeries], str | None]:
        s = ClassSeries
        stmt = _listed(s, principal, subtree_path)
        return await id_page(self.session, stmt, s.id, limit, cursor)

    async def series_totals(
        self, series_ids: set[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[int, int, int, datetime | None]]:
        """Per series: (classes, participants, minutes, last class), from the classes."""
        if not series_ids:
            return {}
        c = MicroClass
        rows = await self.session.execute(
            select(
                c.series_id,
                func.count(),
                func.coalesce(func.sum(c.participants), 0),
                func.coalesce(func.sum(c.duration_minutes), 0),
                func.max(c.held_at),
            )
            .where(c.series_id.in_(series_ids))
            .group_by(c.series_id)
        )
        return {sid: (int(n), int(p), int(m), last) for sid, n, p, m, last in rows.all()}

    async def series_titles(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, ClassSeries]:
        if not ids:
            return {}
        rows = await self.session.scalars(select(ClassSeries).where(ClassSeries.id.in_(ids)))
        return {s.id: s for s in rows.all()}

    async def class_at(self, series_id: uuid.UUID, held_at: datetime) -> uuid.UUID | None:
        return await self.session.scalar(
            select(MicroClass.id).where(
                MicroClass.series_id == series_id, MicroClass.held_at == held_at
            )
        )

    async def class_page(
        self,
        principal: Principal,
        *,
        series_id: uuid.UUID | None,
        subtree_path: str | None,
        held_from: date | None,
        held_to: date | None,
        newest: bool,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[MicroClass], str | None]:
        c = MicroClass
        stmt = _listed(c, principal, subtree_path)
        if series_id is not None:
            stmt = stmt.where(c.series_id == series_id)
        if held_from is not None:
            stmt = stmt.where(c.held_at >= local_bounds(held_from, held_from)[0])
        if held_to is not None:
            stmt = stmt.where(c.held_at < local_bounds(held_to, held_to)[1])
        return await keyset_page(
            self.session, stmt, (c.held_at, c.id), limit, cursor, newest=newest
        )

    # --- opinions -----------------------------------------------------------------------
    async def opinion_page(
        self,
        principal: Principal,
        filters: OpinionFilters,
        *,
        newest: bool,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[ResidentOpinion], str | None]:
        o = ResidentOpinion
        stmt = _listed(o, principal, filters.subtree_path)
        if filters.status:
            stmt = stmt.where(o.status.in_(filters.status))
        if filters.category:
            stmt = stmt.where(o.category.in_(filters.category))
        if filters.collector_id is not None:
            stmt = stmt.where(o.collector_id == filters.collector_id)
        stmt = stmt.where(*_days(o.collected_on, filters.collected_from, filters.collected_to))
        if filters.converted is not None:
            stmt = stmt.where(o.case_id.is_not(None) if filters.converted else o.case_id.is_(None))
        return await keyset_page(
            self.session, stmt, (o.collected_on, o.id), limit, cursor, newest=newest
        )

    # --- duty rota ----------------------------------------------------------------------
    async def slot_taken(
        self, unit_id: uuid.UUID, day: date, person_id: uuid.UUID, exclude: uuid.UUID | None
    ) -> bool:
        stmt = select(DutySlot.id).where(
            DutySlot.unit_id == unit_id, DutySlot.duty_date == day, DutySlot.person_id == person_id
        )
        if exclude is not None:
            stmt = stmt.where(DutySlot.id != exclude)
        return (await self.session.scalar(stmt)) is not None

    async def slot_page(
        self,
        principal: Principal,
        *,
        subtree_path: str | None,
        person_id: uuid.UUID | None,
        date_from: date | None,
        date_to: date | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[DutySlot], str | None]:
        d = DutySlot
        stmt = _listed(d, principal, subtree_path)
        if person_id is not None:
            stmt = stmt.where(d.person_id == person_id)
        stmt = stmt.where(*_days(d.duty_date, date_from, date_to))
        return await keyset_page(self.session, stmt, (d.duty_date, d.id), limit, cursor)

    async def slots_of_grids(
        self, grid_ids: list[uuid.UUID], first: date, last: date
    ) -> list[DutySlot]:
        if not grid_ids:
            return []
        stmt = select(DutySlot).where(
            DutySlot.unit_id.in_(grid_ids), DutySlot.duty_date >= first, DutySlot.duty_date <= last
        )
        return list((await self.session.scalars(stmt.order_by(DutySlot.duty_date))).all())
