"""What every outreach use case shares: the transaction, the clock, the caller, the places
and the outbox. Runs in the request's transaction (never commits); every change writes an
outbox event."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, Protocol, TypeVar

from mediation.cases.problems import UNIT_NOT_IN_JURISDICTION
from mediation.clock import center_date
from mediation.contracts.changes import next_version
from mediation.errors import NotFound, Unprocessable
from mediation.org.enums import Role
from mediation.org.models import Unit
from mediation.outbox.events import emit
from mediation.outbox.payloads import EventPayload
from mediation.outreach.enums import (
    PartnerRole,
)
from mediation_api.outreach.repository import OutreachRepository
from mediation_api.request_service import RequestService

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


class Record(Protocol):
    """An outreach record: placed in the tree, versioned."""

    id: uuid.UUID
    version: int
    unit_path: str


R = TypeVar("R", bound=Record)


def on_line(a: str, b: str) -> bool:
    """One node is an ancestor of (or the same as) the other: the community's police officer
    serves an activity in one of its grids; a building head collects in their building."""
    return a.startswith(b) or b.startswith(a)


CASE_FORWARD = "矛盾纠纷案件"  # where a converted opinion went (the case number follows)


class OutreachBase(RequestService[OutreachRepository]):
    repository = OutreachRepository

    async def _get(
        self, model: type[Any], record_id: uuid.UUID, detail: str, for_update: bool
    ) -> Any:
        """The record in the caller's jurisdiction; outside it, as for no record, a 404."""
        record = await self.repo.scoped(model, self.principal, record_id, for_update=for_update)
        if record is None:
            raise NotFound(detail)
        return record

    async def _tell(
        self, record: Any, payload: Callable[[], EventPayload], type_: str | None = None
    ) -> None:
        """The record's outbox event, in this transaction; the payload is built after the
        flush, which gives a new record its id."""
        await self.session.flush()
        await emit(
            self.session,
            payload(),
            type=type_,
            aggregate_id=record.id,
            occurred_at=self.clock.now(),
            unit_path=record.unit_path,
            actor_id=self.principal.id,
        )

    async def _add(
        self, record: R, payload: Callable[[], EventPayload], type_: str | None = None
    ) -> R:
        self.repo.add(record)
        await self._tell(record, payload, type_)
        return record

    async def _save(
        self,
        record: R,
        payload: Callable[[list[str]], EventPayload],
        type_: str | None = None,
    ) -> R:
        """A change that changes nothing changes nothing: no version, nobody is told.
        Otherwise the next version and the event (told what changed)."""
        if names := next_version(record):
            await self._tell(record, lambda: payload(names), type_)
        return record

    def today(self) -> date:
        return center_date(self.clock.now())

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

    async def subtree_path(self, unit_id: uuid.UUID | None) -> str | None:
        """What a list's `unit_id` filter keeps: that unit's subtree (None: the whole scope)."""
        root = await self.subtree(unit_id)
        return root.path if root else None
