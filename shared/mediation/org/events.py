"""Payloads of the jurisdiction tree's outbox events (`unit.*`, `person.*`)."""

from __future__ import annotations

from typing import ClassVar

from mediation.org.enums import Role, UnitLevel
from mediation.outbox.payloads import EventPayload, UnitId


class UnitEventBase(EventPayload):
    aggregate_type: ClassVar[str] = "unit"


class UnitCreated(UnitEventBase):
    event_types = ("unit.created",)
    code: str
    name: str
    level: UnitLevel


class UnitRenamed(UnitEventBase):
    event_types = ("unit.renamed",)
    name: str


class UnitDeactivated(UnitEventBase):
    """The subtree goes with its root (the event names the root)."""

    event_types = ("unit.deactivated",)


class UnitsImported(UnitEventBase):
    event_types = ("unit.imported",)
    count: int


class RoleAssigned(EventPayload):
    aggregate_type: ClassVar[str] = "person"
    event_types: ClassVar[tuple[str, ...]] = ("person.role_assigned",)
    role: Role
    unit_id: UnitId


ORG_PAYLOADS: tuple[type[EventPayload], ...] = (
    UnitCreated,
    UnitRenamed,
    UnitDeactivated,
    UnitsImported,
    RoleAssigned,
)
