"""Every query of the hotline. Calls and shifts are always filtered by the hotline scope
(the subtrees where the caller holds a counselor or workstation-supervisor role)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy import Select, and_, func, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.db import driver_connection, loaded
from mediation.hotline.enums import CallEventKind, CallType, DutyRole, RiskLevel
from mediation.hotline.models import HotlineCall, HotlineCallEvent, HotlineDutyShift
from mediation.hotline.rules import ancestor_paths
from mediation.org.enums import Role
from mediation.org.models import Person, RoleAssignment, Unit
from mediation.reference.data import ReferenceKind
from mediation_api.pagination import keyset_page
from mediation_api.queries import one_or_none

# The two records a repository lookup finds by id within workstation paths.
H = TypeVar("H", HotlineCall, HotlineDutyShift)

HOTLINE_ROLES = (Role.counselor, Role.hotline_supervisor)


def _paths_filter(column: object, paths: Sequence[str]) -> object:
    if not paths:
        return False
    # Paths are digits and dots: no LIKE wildcard to escape. Uses the text_pattern_ops index.
    return or_(*(column.like(p + "%") for p in paths))  # type: ignore[attr-defined]


# The caller's workstations: the active units where they hold one of $2 (roles) today ($3),
# by path; $4 given: the enabled codes of that reference kind beside each (one round trip).
# On the driver connection: through the ORM's select, this first read of every hotline
# request was 9% of a logged call's samples under py-spy (issue 22).
def _workstations_sql(codes: bool) -> str:
    columns = ", ".join(f"u.{c.name}" for c in Unit.__table__.columns)
    beside = (
        ", (SELECT array_agg(code) FROM reference_items WHERE kind = $4 AND enabled) AS codes"
        if codes
        else ""
    )
    return (
        f"SELECT {columns}{beside} FROM units u WHERE u.active AND EXISTS (SELECT 1 FROM "
        "role_assignments ra WHERE ra.unit_id = u.id AND ra.person_id = $1 "
        "AND ra.role = ANY ($2::text[]) AND ra.starts_on <= $3 "
        "AND (ra.ends_on IS NULL OR ra.ends_on >= $3)) ORDER BY u.path"
    )


WORKSTATIONS_SQL = _workstations_sql(False)
WORKSTATIONS_AND_CODES_SQL = _workstations_sql(True)


def _active_on(today: date) -> object:
    return and_(
        RoleAssignment.starts_on <= today,
        or_(RoleAssignment.ends_on.is_(None), RoleAssignment.ends_on >= today),
    )


@dataclass(frozen=True)
class CallFilters:
    unit_id: uuid.UUID | None = None
    counselor_id: uuid.UUID | None = None
    started_from: datetime | None = None
    started_before: datetime | None = None
    call_type: CallType | None = None
    risk_level: RiskLevel | None = None
    imminent: bool | None = None
    flagged: bool | None = None
    follow_up_pending: bool | None = None
    topic: str | None = None
    caller_hash: str | None = None
    minor: bool | None = None


class HotlineRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- who may see what ---------------------------------------------------------------
    async def hotline_units(
        self, person_id: uuid.UUID | None, today: date, roles: Sequence[Role] = HOTLINE_ROLES
    ) -> list[Unit]:
        """Units where the person holds a hotline role today (their workstations)."""
        if person_id is None:
            return []
        conn = await driver_connection(self.session)
        rows = await conn.fetch(WORKSTATIONS_SQL, person_id, [r.value for r in roles], today)
        return [loaded(Unit, row) for row in rows]

    async def hotline_units_and_codes(
        self, person_id: uuid.UUID | None, today: date, kind: ReferenceKind
    ) -> tuple[list[Unit], set[str]]:
        """`hotline_units`, and the enabled codes of `kind` beside them in the same statement
        (a call's topics are checked with its workstation: one round trip). No workstation,
        no codes: the write is refused for the workstation first."""
        if person_id is None:
            return [], set()
        conn = await driver_connection(self.session)
        roles = [r.value for r in HOTLINE_ROLES]
        rows = await conn.fetch(WORKSTATIONS_AND_CODES_SQL, person_id, roles, today, kind.value)
        return [loaded(Unit, row) for row in rows], set(rows[0]["codes"] or ()) if rows else set()

    async def logged_at(self, call_id: uuid.UUID) -> datetime | None:
        """When the call was logged: its `created` entry, or its `imported` one (an imported
        call's `created` entry carries the register's time)."""
        stmt = select(func.max(HotlineCallEvent.at)).where(
            HotlineCallEvent.call_id == call_id,
            HotlineCallEvent.kind.in_([CallEventKind.created, CallEventKind.imported]),
        )
        return await self.session.scalar(stmt)

    async def readable_calls(
        self, person_id: uuid.UUID | None, today: date
    ) -> Select[tuple[uuid.UUID]]:
        """The ids of the calls of the person's workstations, as a subquery (the hotline's
        scope rule, for records that name calls by id, such as the access log)."""
        paths = [u.path for u in await self.hotline_units(person_id, today)]
        return select(HotlineCall.id).where(_paths_filter(HotlineCall.unit_path, paths))

    async def readable_call_ids(
        self, person_id: uuid.UUID | None, today: date, ids: set[uuid.UUID]
    ) -> set[uuid.UUID]:
        """Which of `ids` are calls of the person's workstations (the hotline's scope rule,
        for references to calls from other records)."""
        paths = [u.path for u in await self.hotline_units(person_id, today)]
        stmt = select(HotlineCall.id).where(
            HotlineCall.id.in_(ids), _paths_filter(HotlineCall.unit_path, paths)
        )
        return set((await self.session.scalars(stmt)).all())

    async def unit(self, unit_id: uuid.UUID) -> Unit | None:
        return await self.session.get(Unit, unit_id)

    async def holds_role_over(
        self, person_id: uuid.UUID, unit_path: str, roles: Sequence[Role], today: date
    ) -> bool:
        """The person holds one of `roles` today at the unit or above it."""
        stmt = (
            select(RoleAssignment.id)
            .join(Unit, Unit.id == RoleAssignment.unit_id)
            .where(
                RoleAssignment.person_id == person_id,
                RoleAssignment.role.in_(roles),
                _active_on(today),
                Unit.active.is_(True),
                Unit.path.in_(ancestor_paths(unit_path)),
            )
            .limit(1)
        )
        return (await self.session.scalar(stmt)) is not None

    async def role_holders_over(self, unit_path: str, role: Role, today: date) -> list[uuid.UUID]:
        """People holding `role` today at the unit or above it (the workstation's supervisors)."""
        stmt = (
            select(RoleAssignment.person_id)
            .join(Unit, Unit.id == RoleAssignment.unit_id)
            .where(
                RoleAssignment.role == role,
                _active_on(today),
                Unit.active.is_(True),
                Unit.path.in_(ancestor_paths(unit_path)),
            )
            .distinct()
        )
        return sorted((await self.session.scalars(stmt)).all(), key=str)

    async def names(self, person_ids: set[uuid.UUID | None]) -> dict[uuid.UUID, str]:
        ids = [p for p in person_ids if p is not None]
        if not ids:
            return {}
        rows = await self.session.execute(select(Person.id, Person.name).where(Person.id.in_(ids)))
        return {pid: name for pid, name in rows.all()}

    # --- calls ----------------------------------------------------------------------------
    @staticmethod
    def _within(model: type[H], paths: Sequence[str]) -> Select[tuple[H]]:
        return select(model).where(_paths_filter(model.unit_path, paths))

    async def _one(
        self, model: type[H], paths: Sequence[str], record_id: uuid.UUID, for_update: bool
    ) -> H | None:
        """A call or shift by id within `paths`; locked FOR NO KEY UPDATE for a change."""
        stmt = self._within(model, paths).where(model.id == record_id)
        return await one_or_none(self.session, stmt, for_update=for_update, key_share=True)

    async def call(
        self, paths: Sequence[str], call_id: uuid.UUID, *, for_update: bool = False
    ) -> HotlineCall | None:
        return await self._one(HotlineCall, paths, call_id, for_update)

    async def caller_history(
        self, paths: Sequence[str], call: HotlineCall, person_ids: set[uuid.UUID | None]
    ) -> tuple[int, int, dict[uuid.UUID, str]]:
        """(earlier calls, all other calls) from the same number, in scope, and the names of
        `person_ids`: one statement (the counts' one row, outer-joined to the people)."""
        if call.caller_hash:
            base = (
                _paths_filter(HotlineCall.unit_path, paths),
                HotlineCall.caller_hash == call.caller_hash,
                HotlineCall.id != call.id,
            )
            earlier = func.count().filter(
                tuple_(HotlineCall.started_at, HotlineCall.id) < (call.started_at, call.id)
            )
            counts = select(earlier.label("earlier"), func.count().label("others")).where(*base)
        else:
            counts = select(literal(0).label("earlier"), literal(0).label("others"))
        c = counts.subquery()
        ids = [p for p in person_ids if p is not None]
        stmt = select(c.c.earlier, c.c.others, Person.id, Person.name).select_from(
            c.outerjoin(Person, Person.id.in_(ids))
        )
        rows = (await self.session.execute(stmt)).all()
        names = {row[2]: row[3] for row in rows if row[2] is not None}
        return int(rows[0][0]), int(rows[0][1]), names

    async def timeline(
        self, call_id: uuid.UUID, after: int | None, limit: int
    ) -> list[HotlineCallEvent]:
        stmt = select(HotlineCallEvent).where(HotlineCallEvent.call_id == call_id)
        if after is not None:
            stmt = stmt.where(HotlineCallEvent.seq > after)
        stmt = stmt.order_by(HotlineCallEvent.seq).limit(limit + 1)
        return list((await self.session.scalars(stmt)).all())

    # --- duty roster ----------------------------------------------------------------------
    async def shift(
        self, paths: Sequence[str], shift_id: uuid.UUID, *, for_update: bool = False
    ) -> HotlineDutyShift | None:
        return await self._one(HotlineDutyShift, paths, shift_id, for_update)

    async def shift_page(
        self,
        paths: Sequence[str],
        *,
        unit_id: uuid.UUID | None,
        person_id: uuid.UUID | None,
        duty_role: DutyRole | None,
        ends_after: datetime | None,
        starts_before: datetime | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[HotlineDutyShift], str | None]:
        stmt = self._within(HotlineDutyShift, paths)
        if unit_id is not None:
            stmt = stmt.where(HotlineDutyShift.unit_id == unit_id)
        if person_id is not None:
            stmt = stmt.where(HotlineDutyShift.person_id == person_id)
        if duty_role is not None:
            stmt = stmt.where(HotlineDutyShift.duty_role == duty_role)
        if ends_after is not None:
            stmt = stmt.where(HotlineDutyShift.ends_at > ends_after)
        if starts_before is not None:
            stmt = stmt.where(HotlineDutyShift.starts_at < starts_before)
        columns = [HotlineDutyShift.starts_at, HotlineDutyShift.id]
        return await keyset_page(self.session, stmt, columns, limit, cursor)

    async def shifts_covering(
        self, unit_path: str, start: datetime, end: datetime, duty_role: DutyRole | None = None
    ) -> list[HotlineDutyShift]:
        """Shifts overlapping [start, end) held at the unit or at a unit above it (a roster
        kept at a higher level covers the workstations below)."""
        stmt = select(HotlineDutyShift).where(
            HotlineDutyShift.unit_path.in_(ancestor_paths(unit_path)),
            HotlineDutyShift.starts_at < end,
            HotlineDutyShift.ends_at > start,
        )
        if duty_role is not None:
            stmt = stmt.where(HotlineDutyShift.duty_role == duty_role)
        stmt = stmt.order_by(HotlineDutyShift.starts_at, HotlineDutyShift.id)
        return list((await self.session.scalars(stmt)).all())

    async def overlapping_shift(
        self, person_id: uuid.UUID, start: datetime, end: datetime, exclude: uuid.UUID | None = None
    ) -> HotlineDutyShift | None:
        stmt = select(HotlineDutyShift).where(
            HotlineDutyShift.person_id == person_id,
            HotlineDutyShift.starts_at < end,
            HotlineDutyShift.ends_at > start,
        )
        if exclude is not None:
            stmt = stmt.where(HotlineDutyShift.id != exclude)
        return (await self.session.scalars(stmt.limit(1))).first()

    def add(self, row: object) -> None:
        self.session.add(row)

    async def delete(self, row: object) -> None:
        await self.session.delete(row)
