"""Every query of the session domain. Scoping is written once, in `readable`: a session is
visible when its case's place lies in one of the caller's subtrees (sessions copy the case's
unit path), exactly like the case itself."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Select, delete, func, or_, select, tuple_
from sqlalchemy.dialects.postgresql import Range, insert
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.principal import Principal
from mediation.auth.scope import in_scope, under_any
from mediation.cases.models import Case, CaseParty
from mediation.org.enums import Role
from mediation.org.models import Person, RoleAssignment, Unit
from mediation.sessions.enums import SessionKind, SessionMode, SessionSort, SessionStatus
from mediation.sessions.models import (
    MediationSession,
    SessionBooking,
    SessionCalendarFeed,
    SessionEvent,
    SessionMediator,
)
from mediation.sessions.rules import LONGEST
from mediation_api.org.lookups import TreeLookups


@dataclass
class SessionFilters:
    case_id: uuid.UUID | None = None
    mediator: uuid.UUID | None = None
    place_key: str | None = None
    status: list[SessionStatus] = field(default_factory=list)
    kind: list[SessionKind] = field(default_factory=list)
    mode: list[SessionMode] = field(default_factory=list)
    starts_from: datetime | None = None
    starts_to: datetime | None = None
    subtree_path: str | None = None


@dataclass(frozen=True)
class BookingClash:
    session_id: uuid.UUID
    person_id: uuid.UUID | None
    place_key: str | None
    starts_at: datetime
    ends_at: datetime
    case_number: str
    unit_path: str


_PARTIES = "session_case_parties"
# A session this transaction wrote itself by one statement (`SessionService.create`): its
# mediators with their names and its history, as the answer shows them, without reading them.
_WRITTEN = "session_written"


def _prefix(path: str) -> str:
    return path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class SessionRepository(TreeLookups):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- sessions -----------------------------------------------------------------------
    @staticmethod
    def readable(principal: Principal) -> Select[tuple[MediationSession]]:
        return select(MediationSession).where(in_scope(MediationSession.unit_path, principal))

    async def get(
        self, session_id: uuid.UUID, principal: Principal, *, for_update: bool = False
    ) -> MediationSession | None:
        stmt = self.readable(principal).where(MediationSession.id == session_id)
        if for_update:
            stmt = stmt.with_for_update(key_share=True)
        return (await self.session.scalars(stmt)).one_or_none()

    async def page(
        self,
        principal: Principal,
        f: SessionFilters,
        sort: SessionSort,
        after: dict[str, object] | None,
        limit: int,
    ) -> list[MediationSession]:
        m = MediationSession
        conds = []
        if f.case_id is not None:
            conds.append(m.case_id == f.case_id)
        if f.mediator is not None:
            conds.append(m.mediator_person_ids.contains([f.mediator]))
        if f.place_key is not None:
            conds.append(m.place_key == f.place_key)
        if f.status:
            conds.append(m.status.in_(f.status))
        if f.kind:
            conds.append(m.kind.in_(f.kind))
        if f.mode:
            conds.append(m.mode.in_(f.mode))
        # A date range lists the sessions that overlap it (one running across the start
        # of the range is still in it).
        if f.starts_from is not None:  # bounded by the longest session, as `reads.page_query`
            conds.append(m.ends_at > f.starts_from)
            conds.append(m.starts_at > f.starts_from - LONGEST)
        if f.starts_to is not None:
            conds.append(m.starts_at < f.starts_to)
        if f.subtree_path is not None:
            conds.append(m.unit_path.like(_prefix(f.subtree_path), escape="\\"))
        stmt = self.readable(principal).where(*conds)
        soonest = sort is SessionSort.soonest
        if after is not None:
            key = (datetime.fromisoformat(str(after["t"])), uuid.UUID(str(after["i"])))
            cmp = tuple_(m.starts_at, m.id)
            stmt = stmt.where(cmp > key if soonest else cmp < key)
        order = (m.starts_at.asc(), m.id.asc()) if soonest else (m.starts_at.desc(), m.id.desc())
        return list((await self.session.scalars(stmt.order_by(*order).limit(limit + 1))).all())

    def written(
        self,
        session_id: uuid.UUID,
        mediators: list[tuple[SessionMediator, str]],
        events: list[SessionEvent],
    ) -> None:
        """What a new session's answer shows of it, as written by this transaction (no
        other writes it before the commit: nobody else sees it yet)."""
        self.session.info.setdefault(_WRITTEN, {})[session_id] = (mediators, events)

    async def mediators(self, session_id: uuid.UUID) -> list[tuple[SessionMediator, str]]:
        written = self.session.info.get(_WRITTEN, {}).get(session_id)
        if written is not None:
            return list(written[0])
        stmt = (
            select(SessionMediator, Person.name)
            .join(Person, Person.id == SessionMediator.person_id)
            .where(SessionMediator.session_id == session_id)
            .order_by(SessionMediator.position, SessionMediator.id)
        )
        return [(m, n) for m, n in (await self.session.execute(stmt)).all()]

    async def replace_mediators(self, session_id: uuid.UUID, rows: list[SessionMediator]) -> None:
        await self.session.execute(
            delete(SessionMediator).where(SessionMediator.session_id == session_id)
        )
        self.session.add_all(rows)

    async def events(
        self, session_id: uuid.UUID, after: int | None = None, limit: int | None = None
    ) -> list[SessionEvent]:
        """The history in its order; a page: up to limit+1 entries after number `after`."""
        written = self.session.info.get(_WRITTEN, {}).get(session_id)
        if written is not None and after is None and limit is None:
            return list(written[1])
        stmt = select(SessionEvent).where(SessionEvent.session_id == session_id)
        if after is not None:
            stmt = stmt.where(SessionEvent.seq > after)
        stmt = stmt.order_by(SessionEvent.seq)
        if limit is not None:
            stmt = stmt.limit(limit + 1)
        return list((await self.session.scalars(stmt)).all())

    # --- bookings -----------------------------------------------------------------------
    async def book(
        self,
        session_id: uuid.UUID,
        person_ids: list[uuid.UUID],
        place_key: str | None,
        starts_at: datetime,
        ends_at: datetime,
    ) -> None:
        """Replace the session's bookings (a new session's are written with it: `booking`).
        Raises IntegrityError (exclusion violation) when a mediator or the room is taken: the
        caller runs this in a savepoint."""
        await self.session.execute(
            delete(SessionBooking).where(SessionBooking.session_id == session_id)
        )
        during = Range(starts_at, ends_at, bounds="[)")
        # Every row names both columns (one of them null), so the mediators and the room go
        # in one statement (the ORM's bulk insert would split rows by the keys they set).
        rows: list[dict[str, object]] = [
            {"person_id": p, "place_key": None} for p in person_ids
        ] + ([{"person_id": None, "place_key": place_key}] if place_key is not None else [])
        await self.session.execute(
            insert(SessionBooking.__table__),
            [{**r, "session_id": session_id, "during": during, "active": True} for r in rows],
        )

    async def clash(
        self,
        session_id: uuid.UUID,
        person_ids: list[uuid.UUID],
        place_key: str | None,
        starts_at: datetime,
        ends_at: datetime,
    ) -> BookingClash | None:
        """The first active booking of another session that overlaps these resources."""
        b, m = SessionBooking, MediationSession
        resource = [b.person_id.in_(person_ids)] if person_ids else []
        if place_key is not None:
            resource.append(b.place_key == place_key)
        if not resource:
            return None
        stmt = (
            select(
                b.session_id,
                b.person_id,
                b.place_key,
                # What the booking holds: a held session's real time, not its plan.
                func.lower(b.during),
                func.upper(b.during),
                m.case_number,
                m.unit_path,
            )
            .join(m, m.id == b.session_id)
            .where(
                b.active.is_(True),
                b.session_id != session_id,
                b.during.overlaps(Range(starts_at, ends_at, bounds="[)")),
                or_(*resource),
            )
            .order_by(m.starts_at, b.person_id.is_(None))
            .limit(1)
        )
        row = (await self.session.execute(stmt)).first()
        return BookingClash(*row) if row else None

    # --- the case, its parties, the people ------------------------------------------------
    async def case(
        self, case_id: uuid.UUID, principal: Principal, *, lock: bool = False
    ) -> Case | None:
        """The case in the caller's scope; `lock` holds it (a concurrent close waits, and so
        does another writer to its timeline) until this transaction ends."""
        stmt = select(Case).where(Case.id == case_id, in_scope(Case.unit_path, principal))
        if lock:
            stmt = stmt.with_for_update(key_share=True)
        return (await self.session.scalars(stmt)).one_or_none()

    def parties_known(self, case_id: uuid.UUID, parties: list[CaseParty]) -> None:
        """The case's parties, read by another statement of this request."""
        self.session.info.setdefault(_PARTIES, {})[case_id] = parties

    async def parties(self, case_id: uuid.UUID) -> list[CaseParty]:
        # Read once a request: a session's checks and its answer need the same parties, and
        # no session request changes a case's parties.
        known: dict[uuid.UUID, list[CaseParty]] = self.session.info.setdefault(_PARTIES, {})
        if case_id not in known:
            stmt = (
                select(CaseParty)
                .where(CaseParty.case_id == case_id)
                .order_by(CaseParty.position, CaseParty.id)
            )
            known[case_id] = list((await self.session.scalars(stmt)).all())
        return known[case_id]

    async def person_in_scope(self, person_id: uuid.UUID, principal: Principal) -> Person | None:
        """A person holding a role somewhere in the caller's jurisdiction."""
        stmt = (
            select(Person)
            .join(RoleAssignment, RoleAssignment.person_id == Person.id)
            .join(Unit, Unit.id == RoleAssignment.unit_id)
            .where(Person.id == person_id, in_scope(Unit.path, principal))
            .limit(1)
        )
        return (await self.session.scalars(stmt)).first()

    async def mediates_outside(
        self, person_id: uuid.UUID, principal: Principal, roles: set[Role], since: date
    ) -> bool:
        """Whether the person holds one of the mediating `roles` (on `since` or later) at a unit
        outside the caller's jurisdiction: they may sit on sessions the caller cannot read."""
        stmt = (
            select(RoleAssignment.id)
            .join(Unit, Unit.id == RoleAssignment.unit_id)
            .where(
                RoleAssignment.person_id == person_id,
                RoleAssignment.role.in_(roles),
                or_(RoleAssignment.ends_on.is_(None), RoleAssignment.ends_on >= since),
                ~in_scope(Unit.path, principal),
            )
            .limit(1)
        )
        return (await self.session.scalars(stmt)).first() is not None

    # --- calendar feeds -------------------------------------------------------------------
    async def feed_by_hash(self, token_hash: str) -> SessionCalendarFeed | None:
        stmt = select(SessionCalendarFeed).where(SessionCalendarFeed.token_hash == token_hash)
        return (await self.session.scalars(stmt)).one_or_none()

    async def issue_feed(
        self,
        person_id: uuid.UUID,
        token_hash: str,
        now: datetime,
        by: str,
        scope_paths: list[str] | None,
    ) -> SessionCalendarFeed:
        """One feed per person: issuing again replaces the token (the old address stops) and
        the subtrees it lists (`None`: all the person's sessions)."""
        values = {
            "token_hash": token_hash,
            "created_at": now,
            "created_by_name": by,
            "scope_paths": scope_paths,
        }
        stmt = insert(SessionCalendarFeed).values(person_id=person_id, **values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[SessionCalendarFeed.person_id],
            set_={**values, "last_used_at": None},
        ).returning(SessionCalendarFeed)
        feed = (await self.session.scalars(stmt)).one()
        return feed

    async def revoke_feed(self, person_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            delete(SessionCalendarFeed)
            .where(SessionCalendarFeed.person_id == person_id)
            .returning(SessionCalendarFeed.id)
        )
        return result.first() is not None

    async def feed_sessions(
        self,
        person_id: uuid.UUID,
        since: datetime,
        until: datetime,
        scope_paths: list[str] | None = None,
    ) -> list[MediationSession]:
        """The person's sessions in the window, cancelled ones left out (a subscribed calendar
        then drops them: it shows exactly what is planned); only those under `scope_paths`
        when given (a feed a dispatcher issued)."""
        m = MediationSession
        where = [
            m.mediator_person_ids.contains([person_id]),
            m.status != SessionStatus.cancelled,
            m.ends_at > since,
            m.starts_at < until,
        ]
        if scope_paths is not None:
            where.append(under_any(m.unit_path, tuple(scope_paths)))
        stmt = select(m).where(*where).order_by(m.starts_at, m.id).limit(2000)
        return list((await self.session.scalars(stmt)).all())

    async def mediators_of(
        self, session_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, list[tuple[SessionMediator, str]]]:
        if not session_ids:
            return {}
        stmt = (
            select(SessionMediator, Person.name)
            .join(Person, Person.id == SessionMediator.person_id)
            .where(SessionMediator.session_id.in_(session_ids))
            .order_by(SessionMediator.position, SessionMediator.id)
        )
        out: dict[uuid.UUID, list[tuple[SessionMediator, str]]] = {}
        for m, n in (await self.session.execute(stmt)).all():
            out.setdefault(m.session_id, []).append((m, n))
        return out
