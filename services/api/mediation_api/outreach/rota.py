"""The duty rota of the grids' self-governance offices (三长之家) and its gaps."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from mediation.contracts.changes import patch_fields
from mediation.errors import Conflict, Unprocessable
from mediation.org.enums import Role, UnitLevel
from mediation.org.models import Unit
from mediation.outreach import rules
from mediation.outreach.enums import (
    COLLECTOR_ROLES,
    Weekday,
)
from mediation.outreach.events import DutySlotPayload
from mediation.outreach.models import (
    DutySlot,
)
from mediation.outreach.rules import (
    days_between,
    uncovered_days,
)
from mediation_api.outreach.base import (
    MAX_GAP_WINDOW,
    SLOT_NOT_FOUND,
    OutreachBase,
)
from mediation_api.outreach.contracts import (
    DutyGapReport,
    DutySlotCreate,
    DutySlotOut,
    DutySlotUpdate,
    GridDutyGaps,
    InvalidSlot,
)
from mediation_api.query import WINDOW_INVALID
from mediation_api.request_service import for_change
from mediation_api.shown import shown


def _slot_payload(slot: DutySlot, **extra: Any) -> DutySlotPayload:
    return shown(DutySlotPayload, slot, slot_id=slot.id, **extra)


class RotaService(OutreachBase):
    async def get_slot(self, slot_id: uuid.UUID, *, for_update: bool = False) -> DutySlot:
        return await self._get(DutySlot, slot_id, SLOT_NOT_FOUND, for_update)

    async def _grid(self, unit_id: uuid.UUID) -> Unit:
        grid = await self._place(unit_id, "body.unit_id")
        if grid.level is not UnitLevel.grid:
            raise Unprocessable(
                "The self-governance office's rota is kept per grid; give a grid.",
                field="body.unit_id",
                code=rules.ROTA_NEEDS_GRID,
            )
        return grid

    async def _duty_role(self, person_id: uuid.UUID, grid: Unit, day: date) -> Role:
        """The person's head or committee role in the grid (the grid or a building or unit of
        it) on `day`; 422 otherwise."""
        held = {
            role
            for _, role, path, _, _ in await self.repo.roles_held(
                {person_id}, COLLECTOR_ROLES, day, day
            )
            if path.startswith(grid.path)
        }
        role = next((r for r in COLLECTOR_ROLES if r in held), None)
        if role is None:
            raise Unprocessable(
                "Only the grid's three heads (grid, building, unit head) and owners' committee "
                f"members take turns on duty; this person holds none of those roles in this grid "
                f"on {day.isoformat()}.",
                field="body.person_id",
                code=rules.DUTY_WITHOUT_ROLE,
            )
        return role

    async def create_slot(self, body: DutySlotCreate) -> DutySlot:
        grid = await self._grid(body.unit_id)
        role = await self._duty_role(body.person_id, grid, body.duty_date)
        if await self.repo.slot_taken(grid.id, body.duty_date, body.person_id, None):
            raise Conflict(
                "This person is already on duty in this grid that day.", code=rules.ALREADY_ON_DUTY
            )
        slot = DutySlot(
            unit_id=grid.id,
            unit_path=grid.path,
            duty_date=body.duty_date,
            person_id=body.person_id,
            role=role,
            note=body.note,
            created_by=self.principal.id,
            version=1,
        )
        return await self._add(slot, lambda: _slot_payload(slot), "duty_rota.slot_added")

    async def update_slot(
        self, slot_id: uuid.UUID, body: DutySlotUpdate, if_match: str | None
    ) -> DutySlot:
        slot = await for_change(self.get_slot, slot_id, if_match)
        changes = patch_fields(body, "duty_date", "person_id")
        day = changes.get("duty_date", slot.duty_date)
        person_id = changes.get("person_id", slot.person_id)
        if "duty_date" in changes or "person_id" in changes:
            grid = await self._unit(slot.unit_id)
            slot.role = await self._duty_role(person_id, grid, day)
            if await self.repo.slot_taken(slot.unit_id, day, person_id, slot.id):
                raise Conflict(
                    "This person is already on duty in this grid that day.",
                    code=rules.ALREADY_ON_DUTY,
                )
        for key, value in changes.items():
            setattr(slot, key, value)
        return await self._save(
            slot, lambda names: _slot_payload(slot, changed=names), "duty_rota.slot_changed"
        )

    async def delete_slot(self, slot_id: uuid.UUID, if_match: str | None) -> None:
        slot = await for_change(self.get_slot, slot_id, if_match)
        await self._tell(slot, lambda: _slot_payload(slot), "duty_rota.slot_removed")
        await self.session.delete(slot)
        await self.session.flush()

    async def slots_out(self, slots: list[DutySlot]) -> list[DutySlotOut]:
        units = await self.repo.units({s.unit_id for s in slots})
        names = await self.repo.person_names({s.person_id for s in slots})
        return [
            shown(
                DutySlotOut,
                s,
                unit_name=units[s.unit_id].name if s.unit_id in units else None,
                weekday=Weekday.of(s.duty_date.isoweekday()),
                person_name=names.get(s.person_id),
            )
            for s in slots
        ]

    async def gap_report(
        self,
        unit_id: uuid.UUID | None,
        date_from: date | None,
        date_to: date | None,
        weekdays: list[Weekday] | None,
    ) -> DutyGapReport:
        root = await self.subtree(unit_id)
        first = date_from or self.today()
        last = date_to or first + timedelta(days=6)
        if last < first:
            raise Unprocessable(
                "date_to is before date_from.", field="query.date_to", code=WINDOW_INVALID
            )
        if last - first >= MAX_GAP_WINDOW:
            raise Unprocessable(
                f"Check at most {MAX_GAP_WINDOW.days} days at a time.",
                field="query.date_to",
                code=WINDOW_INVALID,
            )
        days_of_week = sorted(set(weekdays or list(Weekday)), key=lambda w: w.iso)
        days = days_between(first, last, days_of_week)
        grids = await self.repo.active_grids(self.principal, root.path if root else None)
        slots = await self.repo.slots_of_grids([g.id for g in grids], first, last)
        holdings = await self.repo.roles_held(
            {s.person_id for s in slots}, COLLECTOR_ROLES, first, last
        )
        names = await self.repo.person_names({s.person_id for s in slots})
        paths = {g.id: g.path for g in grids}

        def counts(slot: DutySlot) -> bool:
            # A slot counts while its person still holds a head or committee role in the grid
            # on that day (a head who stepped down leaves a gap).
            return any(
                pid == slot.person_id
                and path.startswith(paths[slot.unit_id])
                and starts <= slot.duty_date
                and (ends is None or ends >= slot.duty_date)
                for pid, _, path, starts, ends in holdings
            )

        covered: dict[uuid.UUID, set[date]] = {g.id: set() for g in grids}
        invalid: dict[uuid.UUID, list[InvalidSlot]] = {g.id: [] for g in grids}
        for slot in slots:
            if counts(slot):
                covered[slot.unit_id].add(slot.duty_date)
            else:
                invalid[slot.unit_id].append(
                    InvalidSlot(
                        slot_id=slot.id,
                        duty_date=slot.duty_date,
                        person_id=slot.person_id,
                        person_name=names.get(slot.person_id),
                    )
                )
        gaps = []
        for g in grids:
            missing = uncovered_days(days, covered[g.id])
            if missing or invalid[g.id]:
                gaps.append(
                    GridDutyGaps(
                        unit_id=g.id,
                        unit_code=g.code,
                        unit_name=g.name,
                        days=missing,
                        invalid_slots=invalid[g.id],
                    )
                )
        return DutyGapReport(
            date_from=first,
            date_to=last,
            weekdays=days_of_week,
            grids_checked=len(grids),
            gaps=gaps,
        )

    # --- summary ------------------------------------------------------------------------
