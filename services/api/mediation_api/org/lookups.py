"""Lookups on the tree and its people that other domains' repositories need (units by id, a
node's lineage, who holds which role where, people's names): written once here, inherited by
their repositories. Unscoped: callers read records they already found in scope, or check the
scope themselves (`unit_in_scope`)."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.principal import Principal
from mediation.auth.scope import in_scope
from mediation.org.enums import Role
from mediation.org.models import Person, RoleAssignment, Unit
from mediation_api.org.repository import active_on


class TreeLookups:
    session: AsyncSession

    async def units(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, Unit]:
        if not ids:
            return {}
        rows = await self.session.scalars(select(Unit).where(Unit.id.in_(ids)))
        return {u.id: u for u in rows.all()}

    async def unit_in_scope(self, unit_id: uuid.UUID, principal: Principal) -> Unit | None:
        stmt = select(Unit).where(Unit.id == unit_id, in_scope(Unit.path, principal))
        return (await self.session.scalars(stmt)).one_or_none()

    async def lineage(self, path: str) -> list[Unit]:
        """The node of `path` and its ancestors, from the root down."""
        seqs = [int(p) for p in path.split(".") if p]
        rows = await self.session.scalars(select(Unit).where(Unit.seq.in_(seqs)))
        by_seq = {u.seq: u for u in rows.all()}
        return [by_seq[s] for s in seqs if s in by_seq]

    async def person_names(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not ids:
            return {}
        rows = await self.session.execute(select(Person.id, Person.name).where(Person.id.in_(ids)))
        return {i: n for i, n in rows.all()}

    async def role_units(
        self, person_ids: set[uuid.UUID], roles: set[Role], today: date
    ) -> dict[uuid.UUID, list[tuple[Role, str]]]:
        """(role, unit path) of every one of `roles` each person holds today at an active
        unit."""
        stmt = (
            select(RoleAssignment.person_id, RoleAssignment.role, Unit.path)
            .join(Unit, Unit.id == RoleAssignment.unit_id)
            .where(
                RoleAssignment.person_id.in_(person_ids),
                RoleAssignment.role.in_(roles),
                active_on(today),  # type: ignore[arg-type]
                Unit.active.is_(True),
            )
        )
        out: dict[uuid.UUID, list[tuple[Role, str]]] = {}
        for person_id, role, path in (await self.session.execute(stmt)).all():
            out.setdefault(person_id, []).append((Role(role), path))
        return out

    async def people_at(
        self, unit_ids: list[uuid.UUID], roles: set[Role], today: date
    ) -> dict[uuid.UUID, list[uuid.UUID]]:
        """Who holds one of `roles` exactly at each unit today."""
        stmt = (
            select(RoleAssignment.unit_id, RoleAssignment.person_id)
            .where(
                RoleAssignment.unit_id.in_(unit_ids),
                RoleAssignment.role.in_(roles),
                active_on(today),  # type: ignore[arg-type]
            )
            .order_by(RoleAssignment.person_id)
        )
        out: dict[uuid.UUID, list[uuid.UUID]] = {}
        for unit_id, person_id in (await self.session.execute(stmt)).all():
            if person_id not in out.setdefault(unit_id, []):
                out[unit_id].append(person_id)
        return out
