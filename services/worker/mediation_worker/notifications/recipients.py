"""Resolving a rule's recipient selectors to persons, generically: ids from the payload, role
holders relative to a unit of the tree, fixed persons."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from mediation.auth.policy import ROLE_PERMISSIONS, Permission
from mediation.notifications.enums import RoleScope
from mediation.notifications.rules import FixedPeople, PayloadPeople, RoleHolders, RuleSpec
from mediation.org.enums import Role
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


# Hand-written statements on the event transaction's own asyncpg connection: through the
# session each cost more CPU in SQLAlchemy's execution than in the driver (bench.worker_fanout
# profile, docs/performance.md). Arrays for the lists (`= ANY($n)`): one statement text, one
# prepared statement, for every count of recipients. A role holds on a day from `starts_on`
# to `ends_on`, both inclusive.
_ON_THE_DAY = "ra.starts_on <= $2 AND (ra.ends_on IS NULL OR ra.ends_on >= $2)"
_UNIT_PATH = "SELECT path FROM units WHERE id = $1"
UNIT_NAME = "SELECT name FROM units WHERE path = $1"
_HOLDERS_ANYWHERE = (
    f"SELECT ra.person_id FROM role_assignments ra WHERE ra.role = $1 AND {_ON_THE_DAY}"
)
_HOLDERS_AT = (
    "SELECT ra.person_id, u.path FROM role_assignments ra JOIN units u ON u.id = ra.unit_id"
    f" WHERE ra.role = $1 AND {_ON_THE_DAY} AND u.path = ANY($3::varchar[])"
)
_HELD = (
    "SELECT ra.person_id, ra.role, u.path"
    " FROM role_assignments ra JOIN units u ON u.id = ra.unit_id"
    f" WHERE ra.person_id = ANY($1::uuid[]) AND {_ON_THE_DAY}"
)
# Why a chosen person is not told (the delivery is kept as skipped, with this as its reason).
OUTSIDE = "The record lies outside the person's jurisdiction."
NOT_ALLOWED = "The person's roles do not allow reading the record."
_ACTOR_PERSON = "SELECT person_id FROM users WHERE id = $1"
_DETAILS = (
    "SELECT p.id, p.name, p.email, p.phone, u.id FROM people p"
    " LEFT JOIN users u ON u.person_id = p.id AND u.active"
    " WHERE p.id = ANY($1::uuid[])"
)


def ancestor_paths(path: str) -> list[str]:
    """ "1.17.342." -> ["1.", "1.17.", "1.17.342."] (root first)."""
    parts = [p for p in path.split(".") if p]
    return [".".join(parts[: i + 1]) + "." for i in range(len(parts))]


class Resolver:
    """Caches unit lookups for one event's fan-out."""

    def __init__(self, pg: asyncpg.Connection, event: OutboxEvent, today: date) -> None:
        self.pg = pg
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
            self._unit_paths[uid] = await self.pg.fetchval(_UNIT_PATH, uid)
        return self._unit_paths[uid]

    async def _role_holders(self, sel: RoleHolders) -> set[uuid.UUID]:
        role = sel.role.value
        if sel.scope is RoleScope.anywhere:
            rows = await self.pg.fetch(_HOLDERS_ANYWHERE, role, self.today)
            return {r[0] for r in rows}
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
        rows = await self.pg.fetch(_HOLDERS_AT, role, self.today, paths)
        if sel.scope is RoleScope.nearest:
            # The deepest unit of the chain where somebody holds the role.
            for candidate in reversed(paths):
                found = {pid for pid, p in rows if p == candidate}
                if found:
                    return found
            return set()
        return {pid for pid, _ in rows}

    async def barred(
        self, person_ids: set[uuid.UUID], read: Permission | None
    ) -> dict[uuid.UUID, str]:
        """Who among `person_ids` may not read the record the event reports, and why: they are
        not told of it (its title, number and link would name it). As the API decides a read:
        the roles they hold today, wherever held, give the right `read` (None: nothing more
        to check), and for an event placed in the tree one of them is held where its
        jurisdiction covers the record."""
        place = self.event.unit_path
        if not person_ids or (read is None and not place):
            return {}
        covering = set(ancestor_paths(place)) if place else None
        roles: dict[uuid.UUID, set[Role]] = {}
        placed: set[uuid.UUID] = set()
        for pid, role, path in await self.pg.fetch(_HELD, list(person_ids), self.today):
            roles.setdefault(pid, set()).add(Role(role))
            if covering is not None and path in covering:
                placed.add(pid)
        out: dict[uuid.UUID, str] = {}
        for pid in person_ids:
            if covering is not None and pid not in placed:
                out[pid] = OUTSIDE
            elif read is not None and not any(
                read in ROLE_PERMISSIONS[r] for r in roles.get(pid, ())
            ):
                out[pid] = NOT_ALLOWED
        return out

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
        person: uuid.UUID | None = await self.pg.fetchval(_ACTOR_PERSON, self.event.actor_id)
        return person

    async def details(self, person_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Recipient]:
        ids = list(set(person_ids))
        if not ids:
            return {}
        rows = await self.pg.fetch(_DETAILS, ids)
        return {
            pid: Recipient(pid, name, email, phone, uid) for pid, name, email, phone, uid in rows
        }

    async def unit_name(self) -> str:
        if self._unit_name is None:
            name = None
            if self.event.unit_path:
                name = await self.pg.fetchval(UNIT_NAME, self.event.unit_path)
            self._unit_name = name or ""
        return self._unit_name
