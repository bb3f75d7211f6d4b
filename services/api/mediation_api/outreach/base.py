"""What every outreach use case shares: the transaction, the clock, the caller, the places
and the outbox. Runs in the request's transaction (never commits); every change writes an
outbox event."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.principal import Principal
from mediation.cases.problems import UNIT_NOT_IN_JURISDICTION
from mediation.clock import CENTER_TZ, Clock
from mediation.errors import VALIDATION, Unprocessable
from mediation.org.enums import Role
from mediation.org.models import Unit
from mediation.outreach.enums import (
    PartnerRole,
)
from mediation.settings import Settings
from mediation_api.outreach.repository import OutreachRepository

# One answer for "no such record" and "not in your jurisdiction" (API.md: outside, a record
# does not exist).
ACTIVITY_NOT_FOUND = "No outreach activity with this id in your jurisdiction."
SERIES_NOT_FOUND = "No micro-class series with this id in your jurisdiction."
CLASS_NOT_FOUND = "No micro-class with this id in your jurisdiction."
OPINION_NOT_FOUND = "No resident opinion with this id in your jurisdiction."
SLOT_NOT_FOUND = "No duty slot with this id in your jurisdiction."
MAX_GAP_WINDOW = timedelta(days=92)
PARTNER_ROLES = {PartnerRole.police: Role.police, PartnerRole.legal_advisor: Role.legal_advisor}
OPINION_RECORD = "resident_opinion"


def on_line(a: str, b: str) -> bool:
    """One node is an ancestor of (or the same as) the other: the community's police officer
    serves an activity in one of its grids; a building head collects in their building."""
    return a.startswith(b) or b.startswith(a)


CASE_FORWARD = "矛盾纠纷案件"  # where a converted opinion went (the case number follows)


def _null_fields(changes: dict[str, Any], fields: tuple[str, ...]) -> None:
    nulls = [
        {"field": f"body.{k}", "message": "Cannot be null."}
        for k in fields
        if k in changes and changes[k] is None
    ]
    if nulls:
        raise Unprocessable(
            "Some fields cannot be null; see errors.", errors=nulls, code=VALIDATION
        )


class OutreachBase:
    def __init__(
        self, session: AsyncSession, clock: Clock, settings: Settings, principal: Principal
    ) -> None:
        self.session = session
        self.clock = clock
        self.settings = settings
        self.principal = principal
        self.repo = OutreachRepository(session)

    def today(self) -> date:
        return self.clock.now().astimezone(CENTER_TZ).date()

    async def _place(self, unit_id: uuid.UUID, field: str) -> Unit:
        """A node of the caller's jurisdiction that takes new records."""
        unit = await self.repo.unit_in_scope(unit_id, self.principal)
        if unit is None or not unit.active:
            raise Unprocessable(
                "No active unit with this id in your jurisdiction.",
                field=field,
                code=UNIT_NOT_IN_JURISDICTION,
            )
        return unit

    async def _role_on_line(
        self, person_id: uuid.UUID, roles: tuple[Role, ...], path: str, day: date
    ) -> Role | None:
        """The first of `roles` the person holds on `day` at a node on `path`'s line."""
        held = {
            role
            for _, role, unit_path, _, _ in await self.repo.roles_held({person_id}, roles, day, day)
            if on_line(unit_path, path)
        }
        return next((r for r in roles if r in held), None)

    # --- legal-awareness activities -----------------------------------------------------
    async def _unit(self, unit_id: uuid.UUID) -> Unit:
        unit = (await self.repo.units({unit_id})).get(unit_id)
        assert unit is not None  # records point at existing units (foreign key)
        return unit

    async def subtree(self, unit_id: uuid.UUID | None) -> Unit | None:
        """The unit of a `unit_id` filter; 422 when it is not in the caller's jurisdiction."""
        if unit_id is None:
            return None
        unit = await self.repo.unit_in_scope(unit_id, self.principal)
        if unit is None:
            raise Unprocessable(
                "No unit with this id in your jurisdiction.",
                field="query.unit_id",
                code=UNIT_NOT_IN_JURISDICTION,
            )
        return unit
