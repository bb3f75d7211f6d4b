"""Resolving a rule's recipient selectors to persons, generically: ids from the payload, role
holders relative to a unit of the tree, fixed persons."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, any_, bindparam, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.models import User
from mediation.notifications.enums import RoleScope
from mediation.notifications.rules import FixedPeople, PayloadPeople, RoleHolders, RuleSpec
from mediation.org.models import Person, RoleAssignment, Unit
from mediation.outbox.models import OutboxEvent


@dataclass(frozen=True)
class Recipient:
    person_id: uuid.UUID
    name: str
    email: str | None
    phone: str | None
    user_id: uuid.UUID | None  # an active account: needed for the in-app inbox


def _uuids(value: Any) -> list[uuid.UUID]:
    """A payload field holding one id or a list of them; anything malformed is ignored (a bad
    payload must not stop the other recipients)."""
    items = value if isinstance(value, list | tuple) else [value]
    out: list[uuid.UUID] = []
    for item in items:
        try:
            out.append(item if isinstance(item, uuid.UUID) else uuid.UUID(str(item)))
        except (ValueError, TypeError, AttributeError):
            continue
    return out


# Built once, with arrays for the lists (`= ANY($n)`): a statement built per call cost more CPU
# than its round trip, and an IN list rendered per length is a new statement text (a new
# prepared statement) for every count of recipients.
_ON_THE_DAY = and_(
    RoleAssignment.starts_on <= bindparam("today"),
    or_(RoleAssignment.ends_on.is_(None), RoleAssignment.ends_on >= bindparam("today")),
)
_ACTIVE = and_(RoleAssignment.role == bindparam("role"), _ON_THE_DAY)
_PATHS = any_(bindparam("paths", type_=ARRAY(Unit.path.type)))
_PEOPLE = any_(bindparam("ids", type_=ARRAY(Person.id.type)))
_UNIT_PATH = select(Unit.path).where(Unit.id == bindparam("id"))
_UNIT_NAME = select(Unit.name).where(Unit.path == bindparam("path"))
_HOLDERS_ANYWHERE = select(RoleAssignment.person_id).where(_ACTIVE)
_HOLDERS_AT = (
    select(RoleAssignment.person_id, Unit.path)
    .join(Unit, Unit.id == RoleAssignment.unit_id)
    .where(_ACTIVE, Unit.path == _PATHS)
)
_IN_SCOPE = (
    select(RoleAssignment.person_id)
    .join(Unit, Unit.id == RoleAssignment.unit_id)
    .where(
        RoleAssignment.person_id == _PEOPLE,
        _ON_THE_DAY,
        Unit.path == _PATHS,
    )
)
_ACTOR_PERSON = select(User.person_id).where(User.id == bindparam("id"))
_DETAILS = (
    select(Person.id, Person.name, Person.email, Person.phone, User.id)
    .outerjoin(User, and_(User.person_id == Person.id, User.active.is_(True)))
    .where(Person.id == _PEOPLE)
)


def ancestor_paths(path: str) -> list[str]:
    """ "1.17.342." -> ["1.", "1.17.", "1.17.342."] (root first)."""
    parts = [p for p in path.split(".") if p]
    return [".".join(parts[: i + 1]) + "." for i in range(len(parts))]


class Resolver:
    """Caches unit lookups for one event's fan-out."""

    def __init__(self, session: AsyncSession, event: OutboxEvent, today: date) -> None:
        self.session = session
        self.event = event
        self.today = today
        self._unit_paths: dict[uuid.UUID, str | None] = {}
        self._unit_name: str | None = None

    async def _unit_path(self, sel: RoleHolders) -> str | None:
        if sel.unit_field is None:
            return self.event.unit_path
        ids = _uuids(self.event.payload.get(sel.unit_field))
        if not ids:
            return None
        uid = ids[0]
        if uid not in self._unit_paths:
            self._unit_paths[uid] = await self.session.scalar(_UNIT_PATH, {"id": uid})
        return self._unit_paths[uid]

    async def _role_holders(self, sel: RoleHolders) -> set[uuid.UUID]:
        active = {"role": sel.role, "today": self.today}
        if sel.scope is RoleScope.anywhere:
            return set((await self.session.scalars(_HOLDERS_ANYWHERE, active)).all())
        path = await self._unit_path(sel)
        if not path:
            return set()
        chain = ancestor_paths(path)
        if sel.scope is RoleScope.unit:
            paths = chain[-1:]
        elif sel.scope is RoleScope.parent:
            paths = chain[-2:-1]
        else:
            paths = chain
        if not paths:
            return set()
        rows = (await self.session.execute(_HOLDERS_AT, {**active, "paths": paths})).all()
        if sel.scope is RoleScope.nearest:
            # The deepest unit of the chain where somebody holds the role.
            for candidate in reversed(paths):
                found = {pid for pid, p in rows if p == candidate}
                if found:
                    return found
            return set()
        return {pid for pid, _ in rows}

    async def outside_scope(self, person_ids: set[uuid.UUID]) -> set[uuid.UUID]:
        """Who among `person_ids` holds no role today whose jurisdiction covers the record the
        event reports: they are not told of it (its title, number and link would name a
        record they cannot read). Events not placed in the tree reach everyone chosen."""
        if not person_ids or not self.event.unit_path:
            return set()
        rows = await self.session.scalars(
            _IN_SCOPE,
            {
                "ids": list(person_ids),
                "today": self.today,
                "paths": ancestor_paths(self.event.unit_path),
            },
        )
        return person_ids - set(rows.all())

    async def person_ids(self, rule: RuleSpec) -> set[uuid.UUID]:
        out: set[uuid.UUID] = set()
        for sel in rule.recipients:
            if isinstance(sel, PayloadPeople):
                out.update(_uuids(self.event.payload.get(sel.field)))
            elif isinstance(sel, FixedPeople):
                out.update(sel.person_ids)
            elif isinstance(sel, RoleHolders):
                out.update(await self._role_holders(sel))
        return out

    async def actor_person(self) -> uuid.UUID | None:
        """The person behind the event's actor (a user id), if any: rules may skip them."""
        if self.event.actor_id is None:
            return None
        return await self.session.scalar(_ACTOR_PERSON, {"id": self.event.actor_id})

    async def details(self, person_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Recipient]:
        ids = list(set(person_ids))
        if not ids:
            return {}
        rows = (await self.session.execute(_DETAILS, {"ids": ids})).all()
        return {
            pid: Recipient(pid, name, email, phone, uid) for pid, name, email, phone, uid in rows
        }

    async def unit_name(self) -> str:
        if self._unit_name is None:
            name = None
            if self.event.unit_path:
                name = await self.session.scalar(_UNIT_NAME, {"path": self.event.unit_path})
            self._unit_name = name or ""
        return self._unit_name
