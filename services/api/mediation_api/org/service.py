"""Changing the tree and the people in it. Never commits; the request does."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.accounts import check_separation_of_duties
from mediation.auth.policy import ADMIN_ROLES, Permission
from mediation.auth.principal import Principal
from mediation.clock import Clock, center_date
from mediation.contracts.changes import next_version
from mediation.errors import VALIDATION, Conflict, Forbidden, NotFound, Unprocessable
from mediation.org import tree
from mediation.org.enums import LEVEL_ORDER, UnitLevel, child_level
from mediation.org.events import (
    RoleAssigned,
    UnitCreated,
    UnitDeactivated,
    UnitRenamed,
    UnitsImported,
)
from mediation.org.models import Person, RoleAssignment, Unit
from mediation.org.tree import add_unit, child_path
from mediation.outbox.events import emit
from mediation.outbox.payloads import EventPayload
from mediation_api.org.contracts import (
    AssignmentCreate,
    PersonCreate,
    PersonUpdate,
    UnitCreate,
    UnitImportRow,
)
from mediation_api.org.repository import OrgRepository
from mediation_api.request_service import for_change

CODE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class OrgService:
    def __init__(self, session: AsyncSession, clock: Clock, principal: Principal) -> None:
        self.session = session
        self.repo = OrgRepository(session)
        self.clock = clock
        self.principal = principal

    async def _emit(
        self, payload: EventPayload, aggregate_id: uuid.UUID, unit_path: str | None
    ) -> None:
        """The outbox event of a change to the tree or its people, by the caller, now."""
        await emit(
            self.session,
            payload,
            aggregate_id=aggregate_id,
            occurred_at=self.clock.now(),
            unit_path=unit_path,
            actor_id=self.principal.id,
        )

    # --- units ---
    async def get_unit(self, unit_id: uuid.UUID, *, for_update: bool = False) -> Unit:
        unit = await self.repo.unit(self.principal, unit_id, for_update=for_update)
        if unit is None:
            raise NotFound("No such unit.")
        return unit

    async def create_unit(self, body: UnitCreate) -> Unit:
        parent = None
        if body.parent_id is not None:
            parent = await self.repo.unit(self.principal, body.parent_id)
            if parent is None:
                raise Unprocessable(
                    "The parent unit does not exist.",
                    field="body.parent_id",
                    code=tree.UNIT_UNKNOWN,
                )
            if not parent.active:
                raise Unprocessable(
                    "The parent unit is deactivated.",
                    field="body.parent_id",
                    code=tree.UNIT_INACTIVE,
                )
        elif not any(p.count(".") == 1 for p in self.principal.scope_paths):
            raise Forbidden("Only an administrator at the top of the tree adds a root node.")
        if await self.repo.units_by_code([body.code]):
            raise Conflict(f"A unit with code `{body.code}` exists.", code=tree.UNIT_CODE_TAKEN)
        unit = await add_unit(
            self.session, parent=parent, level=body.level, code=body.code, name=body.name
        )
        await self._emit(
            UnitCreated(code=unit.code, name=unit.name, level=unit.level), unit.id, unit.path
        )
        return unit

    async def rename_unit(self, unit_id: uuid.UUID, name: str, if_match: str | None) -> Unit:
        unit = await for_change(self.get_unit, unit_id, if_match)
        unit.name = name
        if not next_version(unit):  # the name it has: nothing changes, nobody is told
            return unit
        await self.session.flush()
        await self._emit(UnitRenamed(name=name), unit.id, unit.path)
        return unit

    async def deactivate_unit(self, unit_id: uuid.UUID, if_match: str | None) -> Unit:
        """Nodes are never deleted (records point to them); deactivated ones take no new
        records. The subtree goes with its root."""
        unit = await for_change(self.get_unit, unit_id, if_match)
        if not unit.active:
            raise Conflict("The unit is already deactivated.", code=tree.UNIT_INACTIVE)
        # Units of the subtree deactivated earlier change nothing: their version stays.
        await self.session.execute(
            text(
                "UPDATE units SET active = false, version = version + 1 "
                "WHERE path LIKE :p || '%' AND active"
            ),
            {"p": unit.path},
        )
        await self.session.refresh(unit)
        await self._emit(UnitDeactivated(), unit.id, unit.path)
        return unit

    async def import_units(self, rows: list[UnitImportRow]) -> int:
        """All or nothing: every bad row is reported; nothing is written if any is bad."""
        errors: list[dict[str, str]] = []

        def bad(i: int, field: str, msg: str) -> None:
            errors.append({"field": f"units.{i + 1}.{field}", "message": msg})

        by_code: dict[str, tuple[int, UnitImportRow]] = {}
        for i, row in enumerate(rows):
            if not row.code or not set(row.code) <= CODE_CHARS or len(row.code) > 40:
                bad(i, "code", "code must be 1-40 letters, digits, - or _")
            elif row.code in by_code:
                bad(i, "code", f"code `{row.code}` appears twice in the file")
            else:
                by_code[row.code] = (i, row)
            if not row.name.strip() or len(row.name) > 100:
                bad(i, "name", "name must be 1-100 characters")
            if row.level not in UnitLevel._value2member_map_:
                bad(i, "level", f"unknown level `{row.level}`")
        existing = await self.repo.units_by_code(
            list({*by_code, *(r.parent_code for r in rows if r.parent_code)})
        )
        for code, (i, _) in by_code.items():
            if code in existing:
                bad(i, "code", f"a unit with code `{code}` exists already")
        for i, row in enumerate(rows):
            if row.level not in UnitLevel._value2member_map_:
                continue
            level = UnitLevel(row.level)
            if row.parent_code is None:
                bad(i, "parent_code", "every imported node needs a parent")
                continue
            if row.parent_code in by_code:
                parent_level = by_code[row.parent_code][1].level
                if parent_level not in UnitLevel._value2member_map_:
                    continue
                plevel = UnitLevel(parent_level)
            elif row.parent_code in existing:
                parent = existing[row.parent_code]
                if not self.principal.in_scope(parent.path):
                    bad(i, "parent_code", f"unknown parent `{row.parent_code}`")
                    continue
                if not parent.active:
                    bad(i, "parent_code", f"parent `{row.parent_code}` is deactivated")
                    continue
                plevel = parent.level
            else:
                bad(i, "parent_code", f"unknown parent `{row.parent_code}`")
                continue
            if child_level(plevel) != level:
                bad(i, "level", f"a {level.value} cannot be placed under a {plevel.value}")
        if errors:
            raise Unprocessable(
                f"{len(errors)} problem(s) in the import; nothing was added.",
                errors=errors,
                code=tree.UNIT_IMPORT_INVALID,
            )

        # Parents before children: levels strictly increase down the tree.
        ordered = sorted(rows, key=lambda r: LEVEL_ORDER.index(UnitLevel(r.level)))
        seqs = list(
            (
                await self.session.scalars(
                    select(text("nextval('units_seq')"))
                    .select_from(text("generate_series(1, :n)"))
                    .params(n=len(ordered))
                )
            ).all()
        )
        paths = {c: u.path for c, u in existing.items()}
        ids = {c: u.id for c, u in existing.items()}
        values = []
        for row, seq in zip(ordered, seqs, strict=True):
            assert row.parent_code is not None
            uid = uuid.uuid4()
            ids[row.code] = uid
            paths[row.code] = child_path(paths[row.parent_code], int(seq))
            values.append(
                {
                    "id": uid,
                    "seq": int(seq),
                    "parent_id": ids[row.parent_code],
                    "level": UnitLevel(row.level),
                    "code": row.code,
                    "name": row.name,
                    "path": paths[row.code],
                    "active": True,
                    "version": 1,
                }
            )
        for start in range(0, len(values), 5000):
            await self.session.execute(insert(Unit), values[start : start + 5000])
        await self._emit(UnitsImported(count=len(values)), ids[ordered[0].code], None)
        return len(values)

    # --- people ---
    async def get_person(self, person_id: uuid.UUID, *, for_update: bool = False) -> Person:
        person = await self.repo.person(self.principal, person_id, for_update=for_update)
        if person is None:
            raise NotFound("No such person.")
        return person

    async def create_person(self, body: PersonCreate) -> Person:
        unit = await self.repo.unit(self.principal, body.assignment.unit_id)
        if unit is None:
            raise Unprocessable(
                "The unit does not exist.", field="body.assignment.unit_id", code=tree.UNIT_UNKNOWN
            )
        if body.assignment.role in ADMIN_ROLES and not self.principal.can(Permission.roles_assign):
            # A new person's first role may be a working role; appointing an administrator
            # is the security administrator's (三员分立).
            raise Forbidden("Only the security administrator appoints administrators.")
        person = Person(**body.model_dump(exclude={"assignment"}))
        self.session.add(person)
        await self.session.flush()
        await self.add_assignment(person, body.assignment)
        return person

    async def update_person(
        self, person_id: uuid.UUID, body: PersonUpdate, if_match: str | None
    ) -> Person:
        person = await for_change(self.get_person, person_id, if_match)
        changes = body.model_dump(exclude_unset=True)
        if "name" in changes and changes["name"] is None:
            raise Unprocessable("`name` cannot be null.", field="body.name", code=VALIDATION)
        if changes.get("qualifications") is None:
            changes.pop("qualifications", None)
        for k, v in changes.items():
            setattr(person, k, v)
        if not next_version(person):
            return person
        await self.session.flush()
        return person

    async def add_assignment(self, person: Person, body: AssignmentCreate) -> RoleAssignment:
        unit = await self.repo.unit(self.principal, body.unit_id)
        if unit is None:
            raise Unprocessable(
                "The unit does not exist.", field="body.unit_id", code=tree.UNIT_UNKNOWN
            )
        if not unit.active:
            raise Unprocessable(
                "The unit is deactivated.", field="body.unit_id", code=tree.UNIT_INACTIVE
            )
        overlapping = (
            await self.session.scalars(
                select(RoleAssignment.id).where(
                    RoleAssignment.person_id == person.id,
                    RoleAssignment.unit_id == unit.id,
                    RoleAssignment.role == body.role,
                    (RoleAssignment.ends_on.is_(None)) | (RoleAssignment.ends_on >= body.starts_on),
                    *([RoleAssignment.starts_on <= body.ends_on] if body.ends_on else []),
                )
            )
        ).first()
        if overlapping:
            raise Conflict(
                "The person already holds this role there in that period.", code=tree.ROLE_OVERLAP
            )
        today = center_date(self.clock.now())
        await check_separation_of_duties(self.session, person.id, body.role, today)
        assignment = RoleAssignment(person_id=person.id, **body.model_dump())
        self.session.add(assignment)
        await self.session.flush()
        await self._emit(RoleAssigned(role=body.role, unit_id=unit.id), person.id, unit.path)
        return assignment

    async def end_assignment(self, assignment_id: uuid.UUID, ends_on: date) -> RoleAssignment:
        assignment = await self.repo.assignment(self.principal, assignment_id)
        if assignment is None:
            raise NotFound("No such assignment.")
        if ends_on < assignment.starts_on:
            raise Unprocessable(
                "ends_on is before the assignment starts.",
                field="body.ends_on",
                code=tree.ENDS_BEFORE_START,
            )
        assignment.ends_on = ends_on
        await self.session.flush()
        return assignment
