"""Every query on the tree, people and assignments, each limited to the caller's subtree."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.principal import Principal
from mediation.auth.scope import in_scope
from mediation.cases.problems import UNIT_NOT_IN_JURISDICTION
from mediation.errors import Unprocessable
from mediation.org.enums import Role, UnitLevel
from mediation.org.models import Person, RoleAssignment, Unit
from mediation_api.pagination import id_page
from mediation_api.queries import one_or_none


def active_on(day: date) -> object:
    return (RoleAssignment.starts_on <= day) & or_(
        RoleAssignment.ends_on.is_(None), RoleAssignment.ends_on >= day
    )


class OrgRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- units ---
    def readable_units(self, principal: Principal) -> Select[tuple[Unit]]:
        return select(Unit).where(in_scope(Unit.path, principal))

    async def unit(
        self, principal: Principal, unit_id: uuid.UUID, *, for_update: bool = False
    ) -> Unit | None:
        stmt = self.readable_units(principal).where(Unit.id == unit_id)
        return await one_or_none(self.session, stmt, for_update=for_update)

    async def units_page(
        self,
        principal: Principal,
        *,
        parent_id: uuid.UUID | None,
        level: UnitLevel | None,
        active: bool | None,
        q: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Unit], str | None]:
        stmt = self.readable_units(principal)
        if parent_id is not None:
            stmt = stmt.where(Unit.parent_id == parent_id)
        if level is not None:
            stmt = stmt.where(Unit.level == level)
        if active is not None:
            stmt = stmt.where(Unit.active.is_(active))
        if q:
            stmt = stmt.where(Unit.name.contains(q, autoescape=True))
        return await id_page(self.session, stmt, Unit.id, limit, cursor)

    async def units_by_code(self, codes: list[str]) -> dict[str, Unit]:
        if not codes:
            return {}
        rows = await self.session.scalars(select(Unit).where(Unit.code.in_(codes)))
        return {u.code: u for u in rows.all()}

    async def coverage_gaps(
        self, principal: Principal, day: date, roles: tuple[Role, ...]
    ) -> list[tuple[Unit, list[Role]]]:
        communities = (
            await self.session.scalars(
                self.readable_units(principal)
                .where(Unit.level == UnitLevel.community, Unit.active.is_(True))
                .order_by(Unit.code)
            )
        ).all()
        held = await self.session.execute(
            select(RoleAssignment.unit_id, RoleAssignment.role).where(
                RoleAssignment.unit_id.in_([c.id for c in communities]),
                RoleAssignment.role.in_(roles),
                active_on(day),
            )
        )
        have: dict[uuid.UUID, set[Role]] = {}
        for unit_id, role in held.all():
            have.setdefault(unit_id, set()).add(role)
        out = []
        for c in communities:
            missing = [r for r in roles if r not in have.get(c.id, set())]
            if missing:
                out.append((c, missing))
        return out

    # --- people ---
    @staticmethod
    def person_id_column() -> object:
        return Person.id

    def readable_people(self, principal: Principal) -> Select[tuple[Person]]:
        assigned_here = exists().where(
            RoleAssignment.person_id == Person.id,
            RoleAssignment.unit_id == Unit.id,
            in_scope(Unit.path, principal),
        )
        return select(Person).where(assigned_here)

    async def person(
        self, principal: Principal, person_id: uuid.UUID, *, for_update: bool = False
    ) -> Person | None:
        stmt = self.readable_people(principal).where(Person.id == person_id)
        return await one_or_none(self.session, stmt, for_update=for_update, of=Person)

    async def people_page(
        self,
        principal: Principal,
        *,
        role: Role | None,
        unit_id: uuid.UUID | None,
        q: str | None,
        limit: int,
        cursor: str | None,
        day: date,
    ) -> tuple[list[Person], str | None]:
        stmt = self.readable_people(principal)
        if unit_id is not None and await self.unit(principal, unit_id) is None:
            raise Unprocessable(
                "No unit with this id in your jurisdiction.",
                field="query.unit_id",
                code=UNIT_NOT_IN_JURISDICTION,
            )
        if role is not None or unit_id is not None:
            # Only roles held in the caller's jurisdiction count, as the person's assignments
            # list shows: one elsewhere is another jurisdiction's record.
            cond = [
                RoleAssignment.person_id == Person.id,
                RoleAssignment.unit_id == Unit.id,
                in_scope(Unit.path, principal),
                active_on(day),
            ]
            if role is not None:
                cond.append(RoleAssignment.role == role)
            if unit_id is not None:
                cond.append(RoleAssignment.unit_id == unit_id)
            stmt = stmt.where(exists().where(*cond))
        if q:
            stmt = stmt.where(Person.name.contains(q, autoescape=True))
        return await id_page(self.session, stmt, Person.id, limit, cursor)

    async def assignments(self, principal: Principal, person_id: uuid.UUID) -> list[RoleAssignment]:
        """The person's roles at units of the caller's subtree (a role elsewhere is another
        jurisdiction's record: not named, like the unit itself)."""
        return list(
            (
                await self.session.scalars(
                    select(RoleAssignment)
                    .join(Unit, Unit.id == RoleAssignment.unit_id)
                    .where(RoleAssignment.person_id == person_id, in_scope(Unit.path, principal))
                    .order_by(RoleAssignment.starts_on, RoleAssignment.id)
                )
            ).all()
        )

    async def assignment(
        self, principal: Principal, assignment_id: uuid.UUID
    ) -> RoleAssignment | None:
        stmt = (
            select(RoleAssignment)
            .join(Unit, Unit.id == RoleAssignment.unit_id)
            .where(RoleAssignment.id == assignment_id, in_scope(Unit.path, principal))
            .with_for_update(of=RoleAssignment)
        )
        return (await self.session.scalars(stmt)).one_or_none()
