"""Orchestrating session requests: scheduling (with the database refusing double bookings),
changes, reschedules, cancellations and outcomes. An `agreement` outcome resolves the case
through the cases service in the same transaction. Services never commit."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any, NoReturn

import asyncpg
from sqlalchemy.exc import IntegrityError

from mediation.audit.chain import audit_outbox
from mediation.auth.policy import Permission
from mediation.cases.contracts import NoteIn, ResolveIn
from mediation.cases.enums import CaseEventType, CaseStatus, PartyKind, PartySide
from mediation.cases.models import Case, CaseParty
from mediation.clock import CENTER_TZ, center_date
from mediation.contracts.changes import changed, modified
from mediation.contracts.common import jsonable
from mediation.contracts.etag import check_if_match, etag_of
from mediation.db import built, driver_connection, loaded
from mediation.errors import VALIDATION, Conflict, Forbidden, NotFound, Unprocessable
from mediation.ids import uuid7
from mediation.logs import request_id_var
from mediation.org.enums import Role
from mediation.outbox.events import emit, outbox_fields
from mediation.sessions import events, rules
from mediation.sessions.enums import (
    MEDIATING_ROLES,
    MediatorBody,
    NextStep,
    SessionEventType,
    SessionKind,
    SessionMode,
    SessionOutcome,
    SessionStatus,
)
from mediation.sessions.events import SessionCancelled, SessionPayload
from mediation.sessions.models import MediationSession, SessionEvent, SessionMediator
from mediation.sessions.rules import MAX_DURATION, SCHEDULABLE, DoubleBooking, place_key
from mediation.timeline import holds_lock
from mediation_api.cases.intake import as_json, fields_of
from mediation_api.cases.reads import scope_patterns
from mediation_api.cases.service import CaseService
from mediation_api.request_service import RequestService
from mediation_api.sessions import booking, outcome
from mediation_api.sessions.contracts import (
    CancelIn,
    HeldSessionIn,
    MediatorIn,
    OutcomeIn,
    RescheduleIn,
    SessionCreate,
    SessionUpdate,
)
from mediation_api.sessions.repository import SessionRepository

E = SessionEventType
NOT_FOUND = "No session with this id in your jurisdiction."
EXCLUSION_VIOLATION = "23P01"

# Which mediating role a person sits for when they hold several, by kind of session.
_ROLE_PREFERENCE: dict[SessionKind, tuple[Role, ...]] = {
    SessionKind.people: (Role.mediator, Role.legal_advisor, Role.police, Role.counselor),
    SessionKind.police_joint: (Role.police, Role.mediator, Role.legal_advisor, Role.counselor),
    SessionKind.judicial: (Role.judicial_mediator, Role.mediator, Role.legal_advisor),
    SessionKind.pre_litigation: (Role.judicial_mediator, Role.mediator, Role.legal_advisor),
}
# A kind of mediation needs a mediator of its body: 警民联调 has a police officer at the table,
# judicial and pre-litigation mediation a judicial mediator.
_KIND_NEEDS: dict[SessionKind, Role] = {
    SessionKind.police_joint: Role.police,
    SessionKind.judicial: Role.judicial_mediator,
    SessionKind.pre_litigation: Role.judicial_mediator,
}


_OFF_FOR_YOU = "调解员调整，您不再参加本次调解会"


def _local(value: datetime) -> str:
    return value.astimezone(CENTER_TZ).strftime("%Y-%m-%d %H:%M")


def _seat(m: SessionMediator) -> tuple[Any, ...]:
    """What a mediator's seat on a session is, for comparing before and after a change."""
    return (m.person_id, m.role, m.body, m.is_lead, m.position)


class SessionService(RequestService[SessionRepository]):
    repository = SessionRepository

    @property
    def actor(self) -> events.Actor:
        p = self.principal
        return events.Actor(p.kind, p.id, p.name, p.client_id, request_id_var.get())

    # --- reading ------------------------------------------------------------------------
    async def get(self, session_id: uuid.UUID) -> MediationSession:
        ms = await self.repo.get(session_id, self.principal)
        if ms is None:
            raise NotFound(NOT_FOUND)
        return ms

    async def case(self, case_id: uuid.UUID) -> Case:
        case = await self.repo.case(case_id, self.principal)
        if case is None:
            raise NotFound("No case with this id in your jurisdiction.")
        return case

    # --- checks -------------------------------------------------------------------------
    def _may_organise(self, case: Case, ms: MediationSession | None = None) -> None:
        """Dispatchers organise any session in their jurisdiction; otherwise the case's
        handlers and the session's own mediators."""
        p = self.principal
        if p.can(Permission.cases_dispatch):
            return
        pid = p.person_id
        if pid is not None and (
            pid in case.handler_person_ids or (ms is not None and pid in ms.mediator_person_ids)
        ):
            return
        raise Forbidden(
            "Sessions are organised by dispatchers, the case's handlers and the session's "
            "mediators."
        )

    @staticmethod
    def _schedulable(case: Case) -> None:
        if case.status not in SCHEDULABLE:
            raise Conflict(
                f"The case is {case.status.value} ({case.status.label_zh}): sessions are "
                "planned only for accepted, assigned or in-mediation cases.",
                case_status=case.status.value,
                code=rules.CASE_NOT_SCHEDULABLE,
            )

    async def _mediator_rows(
        self,
        case: Case,
        kind: SessionKind,
        mediators: list[MediatorIn],
        field: str,
        day: date | None = None,
    ) -> list[SessionMediator]:
        """Each mediator must hold a mediating role whose jurisdiction covers the case's
        place (today, or on `day` for a session held already); the role they sit for (and
        so their body) is recorded."""
        on = day or center_date(self.clock.now())
        held = await self.repo.role_units(
            {m.person_id for m in mediators}, set(MEDIATING_ROLES), on
        )
        return self._seats(case, kind, mediators, field, held)

    @staticmethod
    def _seats(
        case: Any,
        kind: SessionKind,
        mediators: list[MediatorIn],
        field: str,
        held: dict[uuid.UUID, list[tuple[Role, str]]],
    ) -> list[SessionMediator]:
        """`_mediator_rows` on the roles each person holds (`held`: role, unit path)."""
        lead_given = any(m.lead for m in mediators)
        rows = []
        for i, m in enumerate(mediators):
            roles = held.get(m.person_id, [])
            covering = [r for r, path in roles if case.unit_path.startswith(path)]
            if not covering:
                detail = (
                    "This person's mediating role does not cover the case's place."
                    if roles
                    else "This person holds no mediating role (people's mediator, judicial "
                    "mediator, community police officer, legal advisor or counselor)."
                )
                raise Unprocessable(
                    detail, field=f"{field}.{i}.person_id", code=rules.MEDIATOR_WITHOUT_ROLE
                )
            role = next((r for r in _ROLE_PREFERENCE[kind] if r in covering), covering[0])
            rows.append(
                SessionMediator(
                    id=uuid7(),
                    person_id=m.person_id,
                    role=role,
                    body=MEDIATING_ROLES[role],
                    is_lead=m.lead or (not lead_given and i == 0),
                    position=i,
                )
            )
        needed = _KIND_NEEDS.get(kind)
        if needed is not None and not any(r.role is needed for r in rows):
            raise Unprocessable(
                f"{kind.label_zh} needs a {needed.label_en.lower()} ({needed.label_zh}) among "
                "the mediators.",
                field=field,
                code=rules.KIND_NEEDS_ROLE,
            )
        return rows

    async def _party_ids(
        self, case: Case, party_ids: list[uuid.UUID] | None, field: str
    ) -> list[uuid.UUID]:
        known = [p.id for p in await self.repo.parties(case.id)]
        if party_ids is None:
            return known
        for i, pid in enumerate(party_ids):
            if pid not in known:
                raise Unprocessable(
                    "No party with this id on the case.",
                    field=f"{field}.{i}",
                    code=rules.PARTY_NOT_ON_CASE,
                )
        return list(party_ids)

    @staticmethod
    def _resources(
        ms: MediationSession,
    ) -> tuple[uuid.UUID, list[uuid.UUID], str | None, datetime, datetime]:
        """What a session holds, as the repository books it and finds a clash with it."""
        return (ms.id, list(ms.mediator_person_ids), ms.place_key, ms.starts_at, ms.ends_at)

    async def _book(self, ms: MediationSession) -> None:
        """Hold the mediators and the room anew (a changed or rescheduled session). The
        exclusion constraints decide; this runs in a savepoint so that after a refusal the
        other session can still be looked up and named in the problem."""
        try:
            async with self.session.begin_nested():
                await self.repo.book(*self._resources(ms))
        except IntegrityError as exc:
            if getattr(exc.orig, "sqlstate", None) != EXCLUSION_VIOLATION:
                raise
            await self._refuse_booking(ms, exc)

    async def _refuse_booking(self, ms: MediationSession, exc: Exception) -> NoReturn:
        """The 409 of a booking the exclusion constraints refused, naming what is taken."""
        clash = await self.repo.clash(*self._resources(ms))
        if clash is None:  # the other session let go in the meantime
            raise Conflict(
                "A mediator or the room was booked at the same moment; try again.",
                code=rules.BOOKING_RACE,
            ) from exc
        visible = self.principal.in_scope(clash.unit_path)
        if clash.person_id is not None:
            names = await self.repo.person_names({clash.person_id})
            what = f"Mediator {names.get(clash.person_id, clash.person_id)}"
            resource = {"resource": "mediator", "person_id": str(clash.person_id)}
        else:
            what = f"The room {ms.place}"
            resource = {"resource": "place", "place": ms.place}
        # When the mediator or room is busy is what the organiser needs; which session
        # holds them is named only to a reader of that session.
        raise DoubleBooking(
            f"{what} is already booked from {_local(clash.starts_at)} to "
            f"{_local(clash.ends_at)}"
            + (f" by session {clash.session_id} (case {clash.case_number})" if visible else "")
            + ".",
            conflicting_session_id=str(clash.session_id) if visible else None,
            conflicting_starts_at=clash.starts_at.astimezone(CENTER_TZ).isoformat(),
            conflicting_ends_at=clash.ends_at.astimezone(CENTER_TZ).isoformat(),
            conflicting_case_number=clash.case_number if visible else None,
            **resource,
        ) from exc

    async def _for_change(self, session_id: uuid.UUID, if_match: str | None) -> MediationSession:
        ms = await self.repo.get(session_id, self.principal, for_update=True)
        if ms is None:
            raise NotFound(NOT_FOUND)
        holds_lock(self.session, ms)
        check_if_match(if_match, ms.id, ms.version)
        return ms

    async def _to_change(
        self, session_id: uuid.UUID, if_match: str | None
    ) -> tuple[MediationSession, Case]:
        """A scheduled session to change and its case, in this order: in scope and locked,
        If-Match, the case, who may act (403), still scheduled (409)."""
        ms = await self._for_change(session_id, if_match)
        case = await self.case(ms.case_id)
        self._may_organise(case, ms)
        self._still_scheduled(ms)
        return ms, case

    def _still_scheduled(self, ms: MediationSession) -> None:
        if ms.status is not SessionStatus.scheduled:
            raise Conflict(
                f"The session is {ms.status.value} ({ms.status.label_zh}); only a scheduled "
                "session changes.",
                session_status=ms.status.value,
                code=rules.NOT_SCHEDULED,
            )

    # --- scheduling ---------------------------------------------------------------------
    async def create(self, case_id: uuid.UUID, body: SessionCreate) -> MediationSession:
        """One statement loads and locks the case with what the checks need, one (in a
        savepoint) writes the session and everything hanging off it (`booking`); the answer
        is made of what was written, without reading it back."""
        now = self.clock.now()
        conn = await driver_connection(self.session)
        case, ms, mediators = await self._plan(
            conn, booking.FOR_BOOKING_SQL, case_id, body, now, body.ends_at
        )
        entry = self._history_entry(
            ms,
            E.scheduled,
            now,
            None,
            {"starts_at": ms.starts_at, "ends_at": ms.ends_at, "place": ms.place},
        )
        outbox = self._outbox(ms, entry, events.payload(ms))
        case_entry = self._cases()._entry(
            case,
            CaseEventType.session_scheduled,
            seq=case.timeline_seq + 1,
            at=now,
            data=events.brief(ms),
        )
        args = self._booking_args(ms, booking.SESSION_FIELDS, mediators, entry, case, case_entry)
        written = await self._write_booking(conn, booking.BOOK_SQL, [*args, as_json(outbox)], ms)
        audit_outbox(self.session, SimpleNamespace(**outbox))
        self._booked(ms, written, entry, case, mediators)
        return ms

    def _cases(self) -> CaseService:
        """The cases service in this request (its transaction, clock and caller)."""
        return CaseService(self.session, self.clock, self.settings, self.principal)

    @staticmethod
    def _booking_args(
        ms: MediationSession,
        fields: list[str],
        mediators: list[SessionMediator],
        entry: SessionEvent,
        case: Any,
        case_entry: dict[str, Any],
    ) -> list[Any]:
        """$1 to $7 of `booking.book_sql(fields)`: a new session (planned or held), its
        mediators, bookings and history entry, the case's counter and timeline entry."""
        return [
            as_json(fields_of(ms, fields)),
            as_json([fields_of(m, booking.MEDIATOR_FIELDS) for m in mediators]),
            as_json(SessionService._bookings(ms)),
            as_json(fields_of(entry, booking.SESSION_EVENT_FIELDS)),
            case.id,
            case.timeline_seq + 1,
            as_json(case_entry),
        ]

    async def _write_booking(
        self, conn: asyncpg.Connection, sql: str, args: list[Any], ms: MediationSession
    ) -> asyncpg.Record:
        """Run a booking's write in a savepoint, so that after a refusal the other session can
        still be looked up and named (`_refuse_booking`); the savepoint ends with the
        transaction."""
        await conn.execute(booking.SAVEPOINT)
        try:
            return await conn.fetchrow(sql, *args)
        except asyncpg.ExclusionViolationError as exc:
            await conn.execute(booking.ROLLBACK_TO_SAVEPOINT)
            await self._refuse_booking(ms, exc)

    def _booked(
        self,
        ms: MediationSession,
        written: asyncpg.Record,
        entry: SessionEvent,
        case: Any,
        mediators: list[SessionMediator],
    ) -> None:
        """The answer made of what a booking wrote, without reading it back."""
        ms.created_at, ms.updated_at = written["created_at"], written["updated_at"]
        entry.data = booking.jsonb_ordered(entry.data)  # as the stored entry reads back
        names = {uuid.UUID(i): name for i, name in case.names}
        self.repo.written(ms.id, [(m, names[m.person_id]) for m in mediators], [entry])

    def _new(
        self,
        case: Case,
        body: SessionCreate | HeldSessionIn,
        mediators: list[SessionMediator],
        party_ids: list[uuid.UUID],
        starts_at: datetime,
        ends_at: datetime,
    ) -> MediationSession:
        # Written by the booking's statement, never by the ORM: built without its events.
        return built(
            MediationSession,
            id=uuid7(),
            case_id=case.id,
            case_number=case.number,
            unit_id=case.unit_id,
            unit_path=case.unit_path,
            kind=body.kind,
            mode=body.mode,
            status=SessionStatus.scheduled,
            starts_at=starts_at,
            ends_at=ends_at,
            place=body.place,
            place_key=place_key(body.place) if body.mode is SessionMode.on_site else None,
            meeting_info=body.meeting_info,
            mediator_person_ids=[m.person_id for m in mediators],
            party_ids=party_ids,
            is_public=body.is_public,
            privacy_reason=body.privacy_reason,
            privacy_note=body.privacy_note,
            recording_consent=body.recording_consent,
            rights_notice_given=body.rights_notice_given,
            notes=body.notes,
            attended_person_ids=[],
            attended_party_ids=[],
            reschedule_count=0,
            created_by_name=self.principal.client_id or self.principal.name,
            version=1,
        )

    async def _on_timeline(
        self,
        case: Case,
        ms: MediationSession,
        type_: CaseEventType,
        body: str | None = None,
        **data: Any,
    ) -> None:
        """The session's change on its case's timeline, in the same transaction (the
        session's own `session.*` event already tells the worker: none for the case)."""
        await self._cases().record(
            case,
            type_,
            body=body,
            data={**events.brief(ms), **jsonable(data)},
            emit_event=False,
        )

    async def update(
        self, session_id: uuid.UUID, body: SessionUpdate, if_match: str | None
    ) -> MediationSession:
        ms, case = await self._to_change(session_id, if_match)
        changes = body.model_dump(exclude_unset=True)
        for name in ("kind", "mediators", "party_ids", "is_public", "recording_consent"):
            if name in changes and changes[name] is None:
                raise Unprocessable(
                    f"`{name}` cannot be null.", field=f"body.{name}", code=VALIDATION
                )
        for name in ("rights_notice_given",):
            if name in changes and changes[name] is None:
                raise Unprocessable(
                    f"`{name}` cannot be null.", field=f"body.{name}", code=VALIDATION
                )
        # Mediators are rows of their own: compared once they are worked out, below.
        if not changed(ms, changes, {"mediators": lambda: None}):
            return ms  # the session as it is: nothing to check, nothing changes
        is_public = changes.get("is_public", ms.is_public)
        reason = changes.get("privacy_reason", ms.privacy_reason)
        if "is_public" in changes and is_public and "privacy_reason" not in changes:
            reason = None  # going public drops the reason for privacy
        if not is_public and reason is None:
            raise Unprocessable(
                "A private session needs `privacy_reason`.",
                field="body.privacy_reason",
                code=rules.PRIVACY_REASON,
            )
        if is_public and reason is not None:
            raise Unprocessable(
                "A public session has no `privacy_reason`.",
                field="body.privacy_reason",
                code=rules.PRIVACY_REASON,
            )
        ms.is_public, ms.privacy_reason = is_public, reason
        for name in ("meeting_info", "privacy_note", "recording_consent", "notes"):
            if name in changes:
                setattr(ms, name, changes[name])
        if "rights_notice_given" in changes:
            ms.rights_notice_given = changes["rights_notice_given"]
        kind = changes.get("kind") or ms.kind
        before_mediators = list(ms.mediator_person_ids)
        before_parties = list(ms.party_ids)
        mediators_changed = False
        if body.mediators is not None or kind is not ms.kind:
            current = [m for m, _ in await self.repo.mediators(ms.id)]
            if body.mediators is None:  # a new kind is checked against the current mediators
                given = [MediatorIn(person_id=m.person_id, lead=m.is_lead) for m in current]
            else:
                given = body.mediators
            self._schedulable(case)
            rows = await self._mediator_rows(case, kind, given, "body.mediators")
            for r in rows:
                r.session_id = ms.id
            mediators_changed = [_seat(r) for r in rows] != [_seat(m) for m in current]
            if mediators_changed:
                await self.repo.replace_mediators(ms.id, rows)
                ms.mediator_person_ids = [r.person_id for r in rows]
        ms.kind = kind
        if body.party_ids is not None:
            party_ids = await self._party_ids(case, body.party_ids, "body.party_ids")
            if set(party_ids) != set(ms.party_ids):  # the same parties in another order: as is
                ms.party_ids = party_ids
        if not mediators_changed and not modified(ms):  # nothing differs: nothing changes
            return ms
        ms.version += 1
        if ms.mediator_person_ids != before_mediators:
            await self._book(ms)
        now = self.clock.now()
        added = [p for p in ms.mediator_person_ids if p not in before_mediators]
        removed = [p for p in before_mediators if p not in ms.mediator_person_ids]
        new_parties = [p for p in ms.party_ids if p not in before_parties]
        what = {
            "changed": sorted(
                {*modified(ms), *(["mediators"] if mediators_changed else [])}
                - {"mediator_person_ids", "version"}
            ),
            "mediators_added": added,
            "mediators_removed": removed,
            "parties_invited": new_parties,
        }
        await events.record(
            self.session, ms, E.updated, actor=self.actor, now=now, data=what, emit_event=False
        )
        await self._on_timeline(case, ms, CaseEventType.session_updated, **what)
        # Newly named mediators and newly invited parties learn of the session; mediators
        # taken off it learn it is off for them. Nobody else is told twice.
        told: list[tuple[str, SessionPayload]] = []
        if added or new_parties:
            told.append(
                (
                    "session.scheduled",
                    events.payload(ms, recipients=added, notify_parties=new_parties),
                )
            )
        if removed:
            off = events.payload(
                ms, SessionCancelled, recipients=removed, notify_parties=[], reason=_OFF_FOR_YOU
            )
            told.append(("session.cancelled", off))
        for type_, payload in told:  # no history entry of their own: the history says updated
            await emit(
                self.session,
                payload,
                type=type_,
                aggregate_id=ms.id,
                occurred_at=now,
                unit_path=ms.unit_path,
                actor_id=self.principal.id if self.principal.kind == "user" else None,
            )
        return ms

    async def reschedule(
        self, session_id: uuid.UUID, body: RescheduleIn, if_match: str | None
    ) -> MediationSession:
        ms, case = await self._to_change(session_id, if_match)
        self._schedulable(case)
        mode = body.mode or ms.mode
        place = body.place if body.place is not None else ms.place
        if mode is SessionMode.on_site and not place:
            raise Unprocessable(
                "An on-site session needs a `place`.", field="body.place", code=rules.PLACE_REQUIRED
            )
        before = {
            "starts_at": ms.starts_at,
            "ends_at": ms.ends_at,
            "place": ms.place,
            "mode": ms.mode,
        }
        if (body.starts_at, body.ends_at, place, mode) == (
            ms.starts_at,
            ms.ends_at,
            ms.place,
            ms.mode,
        ):
            raise Unprocessable(
                "The session is already planned for this time and place.",
                field="body",
                code=rules.RESCHEDULE_UNCHANGED,
            )
        ms.starts_at, ms.ends_at, ms.mode, ms.place = body.starts_at, body.ends_at, mode, place
        ms.place_key = place_key(place) if mode is SessionMode.on_site else None
        if body.meeting_info is not None:
            ms.meeting_info = body.meeting_info
        ms.reschedule_count += 1
        ms.version += 1
        await self._book(ms)
        await self._on_timeline(
            case, ms, CaseEventType.session_rescheduled, body.reason, before=before
        )
        await events.record(
            self.session,
            ms,
            E.rescheduled,
            actor=self.actor,
            now=self.clock.now(),
            body=body.reason,
            data={
                "before": before,
                "after": {
                    "starts_at": ms.starts_at,
                    "ends_at": ms.ends_at,
                    "place": ms.place,
                    "mode": ms.mode,
                },
            },
            event_payload=events.payload(
                ms,
                events.SessionRescheduled,
                previous_starts_at=before["starts_at"],
                previous_ends_at=before["ends_at"],
                previous_place=before["place"] or "",
                reason=body.reason,
            ),
        )
        return ms

    async def cancel(
        self, session_id: uuid.UUID, body: CancelIn, if_match: str | None
    ) -> MediationSession:
        ms, case = await self._to_change(session_id, if_match)
        await events.cancel(self.session, ms, body.reason, actor=self.actor, now=self.clock.now())
        await self._on_timeline(case, ms, CaseEventType.session_cancelled, body.reason)
        return ms

    # --- after the session --------------------------------------------------------------
    async def record_outcome(
        self, session_id: uuid.UUID, body: OutcomeIn, if_match: str | None
    ) -> MediationSession:
        """One statement loads and locks the session with its case's fields, parties,
        mediators and history; one writes the outcome (`outcome`). An agreement resolves the
        case through the cases service between the case's timeline entry and the rest."""
        conn = await driver_connection(self.session)
        row = await conn.fetchrow(
            outcome.FOR_OUTCOME_SQL, session_id, scope_patterns(self.principal)
        )
        if row is None:
            raise NotFound(NOT_FOUND)
        ms = loaded(MediationSession, row)
        check_if_match(if_match, ms.id, ms.version)
        if row["case_found"] is None:
            raise NotFound("No case with this id in your jurisdiction.")
        # The case is locked before what is checked against it is read: a concurrent
        # correction of the dispute's time (which locks the case, then reads the held
        # sessions) cannot pass its check while this one passes ours (`outcome`).
        locked = await conn.fetchrow(outcome.CASE_LOCK_SQL, ms.case_id)
        case = SimpleNamespace(
            id=ms.case_id,
            status=CaseStatus(locked["status"]),
            version=locked["version"],
            handler_person_ids=locked["handler_person_ids"],
        )
        self._may_organise(case, ms)
        self._still_scheduled(ms)
        now = self.clock.now()
        if now < ms.starts_at:
            raise Conflict(
                f"The session starts at {_local(ms.starts_at)}; record its outcome afterwards.",
                starts_at=ms.starts_at.astimezone(CENTER_TZ).isoformat(),
                code=rules.OUTCOME_TOO_EARLY,
            )
        self._not_before_dispute(ms.starts_at, locked["occurred_at"])
        attended = self._attended(ms, body)
        self._held(ms, body, attended, body.ended_at, now)
        self.repo.parties_known(ms.case_id, _parties_of(row["case_parties"]))
        held = self._held_info(ms, afterwards=False)
        # Numbered by the case's counter in the statement.
        case_entry = self._held_case_entry(case, ms, body.ended_at, held, 0, now)
        case_status: CaseStatus | None = None
        if body.outcome is SessionOutcome.agreement:
            assert body.agreement is not None  # the contract pairs them
            await conn.execute(outcome.CASE_ENTRY_SQL, case.id, as_json(case_entry))
            case_status = await self._resolve_case(case, ms, body)
            await self.session.flush()  # the case's events are audited before the session's
        info = self._outcome_info(ms, held, attended, case_status)
        ms.timeline_seq += 1
        entry = self._history_entry(ms, E.outcome_recorded, now, ms.next_step_note, info)
        outbox = self._outcome_event(ms, entry, info)
        absent = [p for p in ms.mediator_person_ids if p not in ms.attended_person_ids]
        args: list[Any] = [
            ms.id,
            as_json(fields_of(ms, outcome.HELD_FIELDS)),
            as_json(fields_of(entry, booking.SESSION_EVENT_FIELDS)),
            as_json(outbox),
            absent,
            ms.held_ended_at or ms.ends_at,
        ]
        if case_status is None:
            args += [case.id, as_json(case_entry)]
        try:
            written = await conn.fetchrow(outcome.held_sql(case_status is None), *args)
        except asyncpg.ExclusionViolationError as exc:
            raise Conflict(
                "A mediator or the room was booked at the same moment; try again.",
                code=rules.BOOKING_RACE,
            ) from exc
        audit_outbox(self.session, SimpleNamespace(**outbox))
        ms.updated_at = written["updated_at"]
        entry.data = booking.jsonb_ordered(entry.data)  # as the stored entry reads back
        self.repo.written(
            ms.id,
            _mediators_of(row["session_mediators"]),
            [*_events_of(row["session_events"]), entry],
        )
        return ms

    def _attended(self, ms: MediationSession, body: OutcomeIn) -> list[uuid.UUID]:
        """The mediators who held the session (all by default), checked; and `ended_at`."""
        attended = (
            list(ms.mediator_person_ids)
            if body.attended_person_ids is None
            else list(body.attended_person_ids)
        )
        for i, pid in enumerate(attended):
            if pid not in ms.mediator_person_ids:
                raise Unprocessable(
                    "Not a mediator of this session.",
                    field=f"body.attended_person_ids.{i}",
                    code=rules.ATTENDEE_NOT_INVITED,
                )
        if not attended:
            raise Unprocessable(
                "A session is held by at least one of its mediators.",
                field="body.attended_person_ids",
                code=rules.HELD_WITHOUT_MEDIATOR,
            )
        if body.ended_at is not None and not (
            ms.starts_at < body.ended_at <= ms.starts_at + MAX_DURATION
        ):
            raise Unprocessable(
                f"`ended_at` lies after the start ({_local(ms.starts_at)}) and within 12 hours "
                "of it.",
                field="body.ended_at",
                code=rules.END_OUT_OF_WINDOW,
            )
        return attended

    def _history_entry(
        self,
        ms: MediationSession,
        type_: SessionEventType,
        now: datetime,
        body: str | None,
        data: dict[str, Any],
    ) -> SessionEvent:
        """The session's history entry numbered `ms.timeline_seq` (`events.record`'s)."""
        return events.entry(
            ms, type_, ms.timeline_seq, actor=self.actor, now=now, body=body, data=data
        )

    def _outbox(
        self, ms: MediationSession, entry: SessionEvent, payload: SessionPayload
    ) -> dict[str, Any]:
        """The outbox row of the entry's `session.*` event (`events.record`'s)."""
        return {
            "id": uuid7(),
            "relay_attempts": 0,
            **outbox_fields(**events.event_of(ms, entry, self.actor, payload)),
        }

    async def _plan(
        self,
        conn: asyncpg.Connection,
        sql: str,
        case_id: uuid.UUID,
        body: SessionCreate | HeldSessionIn,
        day_of: datetime,
        ends_at: datetime,
        *,
        held: bool = False,
    ) -> tuple[SimpleNamespace, MediationSession, list[SessionMediator]]:
        """The booking's load (`sql`: a planned or a held session's; the mediators' roles on
        the day of `day_of`) and its checks in their order: 404 outside the jurisdiction,
        403, 409 not schedulable, a held session not before the dispute (422), the mediators'
        seats, the parties. Then the new session in memory, its mediators seated in it."""
        people = list(dict.fromkeys(m.person_id for m in body.mediators))
        row = await conn.fetchrow(
            sql,
            case_id,
            scope_patterns(self.principal),
            people,
            [r.value for r in MEDIATING_ROLES],
            center_date(day_of),
        )
        if row is None:
            raise NotFound("No case with this id in your jurisdiction.")
        case = SimpleNamespace(**row)
        case.status = CaseStatus(case.status)
        self._may_organise(case)
        self._schedulable(case)
        if held:
            self._not_before_dispute(body.starts_at, case.occurred_at, "body.starts_at")
        roles: dict[uuid.UUID, list[tuple[Role, str]]] = {}
        for person, role, path in row["roles"]:
            roles.setdefault(uuid.UUID(person), []).append((Role(role), path))
        mediators = self._seats(case, body.kind, body.mediators, "body.mediators", roles)
        self.repo.parties_known(case.id, _parties_of(row["parties"]))
        party_ids = await self._party_ids(case, body.party_ids, "body.party_ids")
        ms = self._new(case, body, mediators, party_ids, body.starts_at, ends_at)
        ms.historical, ms.timeline_seq = False, 1
        for m in mediators:
            m.session_id = ms.id
        return case, ms, mediators

    @staticmethod
    def _not_before_dispute(
        starts_at: datetime, occurred_at: datetime | None, field: str | None = None
    ) -> None:
        """A session held (recorded held, or its outcome recorded) is not before the dispute
        it is about; `occurred_at` read under the case's lock."""
        if occurred_at is not None and starts_at < occurred_at:
            raise Unprocessable(
                f"The dispute happened at {_local(occurred_at)}: a session about it is "
                "not held before.",
                field=field,
                code=rules.BEFORE_DISPUTE,
            )

    async def record_held(self, case_id: uuid.UUID, body: HeldSessionIn) -> MediationSession:
        """A session held already (on the spot), recorded in one action: planned, booked and
        held at once, with the same effects on the case as recording an outcome. The booking's
        load (`booking.FOR_HELD_SQL`) locks the case with what the checks need; the booking's
        write (`outcome.RECORD_HELD_SQL`) writes the session held, its history entry and the
        case's `session_held` entry. An agreement then resolves the case through the cases
        service and the session's outbox event follows its case's (`outcome.OUTBOX_SQL`)."""
        now = self.clock.now()
        conn = await driver_connection(self.session)
        # Roles as they were on the day it was held.
        case, ms, mediators = await self._plan(
            conn, booking.FOR_HELD_SQL, case_id, body, body.starts_at, body.ended_at, held=True
        )
        attended = [m.person_id for m in mediators]
        # The attending parties are checked after the booking, as they always were: a clash
        # is answered first (the write below is then rolled back with the request).
        refused: Unprocessable | None = None
        try:
            self._held(ms, body, attended, body.ended_at, now, afterwards=True)
        except Unprocessable as exc:
            refused = exc
        held = self._held_info(ms, afterwards=True)
        case_entry = self._held_case_entry(
            case, ms, body.ended_at, held, case.timeline_seq + 1, now
        )
        agreement = body.outcome is SessionOutcome.agreement
        # Where a resolve moves a case (or it refuses, and nothing is written).
        info = self._outcome_info(ms, held, attended, CaseStatus.resolved if agreement else None)
        entry = self._history_entry(ms, E.outcome_recorded, now, body.next_step_note, info)
        args = self._booking_args(
            ms, outcome.SESSION_HELD_FIELDS, mediators, entry, case, case_entry
        )
        outbox: dict[str, Any] | None = None
        if not agreement:
            outbox = self._outcome_event(ms, entry, info)
            args.append(as_json(outbox))
        written = await self._write_booking(  # as the booking's: the clash is named
            conn,
            outcome.RECORD_HELD_SQL if outbox else outcome.RECORD_HELD_BEFORE_RESOLVE_SQL,
            args,
            ms,
        )
        if refused is not None:
            raise refused
        if agreement:
            assert body.agreement is not None  # the contract pairs them
            await self._resolve_case(case, ms, body)
            outbox = self._outcome_event(ms, entry, info)
            await conn.execute(outcome.OUTBOX_SQL, as_json(outbox))
        assert outbox is not None
        audit_outbox(self.session, SimpleNamespace(**outbox))  # after the case's events
        self._booked(ms, written, entry, case, mediators)
        return ms

    def _held_case_entry(
        self,
        case: Any,
        ms: MediationSession,
        ended_at: datetime | None,
        held: dict[str, Any],
        seq: int,
        now: datetime,
    ) -> dict[str, Any]:
        """The case's `session_held` timeline entry (an outcome's, a held session's)."""
        return self._cases()._entry(
            case,
            CaseEventType.session_held,
            seq=seq,
            at=now,
            body=ms.next_step_note,
            data={**events.brief(ms), **jsonable({"ended_at": ended_at, **held})},
        )

    @staticmethod
    def _outcome_info(
        ms: MediationSession,
        held: dict[str, Any],
        attended: list[uuid.UUID],
        case_status: CaseStatus | None,
    ) -> dict[str, Any]:
        """What the `outcome_recorded` history entry and its event say."""
        return {
            **held,
            "attended_person_ids": attended,
            "attended_party_ids": ms.attended_party_ids,
            "case_status": case_status,
        }

    def _outcome_event(
        self, ms: MediationSession, entry: SessionEvent, info: dict[str, Any]
    ) -> dict[str, Any]:
        """The outbox row of `session.outcome_recorded` (the parties are not told)."""
        return self._outbox(
            ms,
            entry,
            events.payload(ms, events.SessionOutcomeRecorded, notify_parties=[], **info),
        )

    @staticmethod
    def _bookings(ms: MediationSession) -> list[dict[str, Any]]:
        """A new session's bookings: each mediator and the room, for its time."""
        during = f'["{ms.starts_at.isoformat()}","{ms.ends_at.isoformat()}")'
        bookings: list[dict[str, Any]] = [
            {"id": uuid7(), "session_id": ms.id, "person_id": m, "during": during, "active": True}
            for m in ms.mediator_person_ids
        ]
        if ms.place_key is not None:
            bookings.append(
                {
                    "id": uuid7(),
                    "session_id": ms.id,
                    "place_key": ms.place_key,
                    "during": during,
                    "active": True,
                }
            )
        return bookings

    @staticmethod
    def _held_info(ms: MediationSession, afterwards: bool) -> dict[str, Any]:
        return {"outcome": ms.outcome, "next_step": ms.next_step, "recorded_afterwards": afterwards}

    @staticmethod
    def _held(
        ms: MediationSession,
        body: OutcomeIn | HeldSessionIn,
        attended: list[uuid.UUID],
        ended_at: datetime | None,
        now: datetime,
        *,
        afterwards: bool = False,
    ) -> None:
        """The session held, in memory: attendance (the parties checked), record, outcome."""
        for i, pid in enumerate(body.attended_party_ids):
            if pid not in ms.party_ids:
                raise Unprocessable(
                    "Not a party invited to this session.",
                    field=f"body.attended_party_ids.{i}",
                    code=rules.ATTENDEE_NOT_INVITED,
                )
        ms.status = SessionStatus.held
        ms.attended_person_ids = attended
        ms.attended_party_ids = list(body.attended_party_ids)
        ms.held_ended_at = ended_at
        ms.minutes = body.minutes
        ms.outcome = body.outcome
        ms.next_step = body.next_step or (
            NextStep.another_session if body.outcome is SessionOutcome.postponed else None
        )
        ms.next_step_note = body.next_step_note
        ms.outcome_recorded_at = now
        if not afterwards:
            ms.version += 1

    async def _resolve_case(
        self, case: Any, ms: MediationSession, body: OutcomeIn | HeldSessionIn
    ) -> CaseStatus:
        """The agreement goes on the case and the case is resolved, through the cases service
        (its rules, timeline, deadlines and events), in this same transaction: if the case
        cannot be resolved, nothing of the outcome is written either. A case still `assigned`
        starts mediation first: the session was its mediation."""
        assert body.agreement is not None
        # Reached at this session, it takes effect that day at the earliest (a resolution
        # without a session may predate the registration; this one has its date).
        held_on = center_date(ms.starts_at)
        effective = body.agreement.effective_on
        if effective is not None and effective < held_on:
            raise Unprocessable(
                f"The agreement was reached at the session of {_local(ms.starts_at)}: it "
                f"takes effect on {held_on} at the earliest.",
                field="body.agreement.effective_on",
                code=VALIDATION,
            )
        cases = self._cases()
        when = _local(ms.starts_at)
        version = case.version
        if case.status is CaseStatus.assigned:
            started = await cases.start_mediation(
                case.id, NoteIn(note=f"{when}调解会"), etag_of(case.id, version)
            )
            version = started.version
        # The agreement is signed by the mediators who held the session, then the case's
        # handlers.
        await cases.resolve(
            case.id,
            ResolveIn(agreement=body.agreement, note=f"{when}调解会达成协议（调解会 {ms.id}）"),
            etag_of(case.id, version),
            signers=ms.attended_person_ids,
        )
        return CaseStatus.resolved  # where a resolve moves a case (or it refuses)


def _parties_of(rows: list[list[Any]]) -> list[CaseParty]:
    """The case's parties as the answer shows them: [id, side, kind, name] each."""
    return [
        built(CaseParty, id=uuid.UUID(i), side=PartySide(side), kind=PartyKind(kind), name=name)
        for i, side, kind, name in rows
    ]


def _mediators_of(rows: list[list[Any]]) -> list[tuple[SessionMediator, str]]:
    return [
        (
            built(
                SessionMediator,
                id=uuid.UUID(i),
                person_id=uuid.UUID(person),
                role=Role(role),
                body=MediatorBody(body),
                is_lead=lead,
                position=position,
            ),
            name,
        )
        for i, person, role, body, lead, position, name in rows
    ]


def _events_of(rows: list[list[Any]]) -> list[SessionEvent]:
    """The history as read in JSON: [id, seq, type, at, actor_kind, actor_id, actor_name,
    client_id, request_id, body, data] each (`data` in its stored key order)."""
    out = []
    for i, seq, type_, at, kind, actor, name, client, request, body, data in rows:
        out.append(
            built(
                SessionEvent,
                id=uuid.UUID(i),
                seq=seq,
                type=SessionEventType(type_),
                at=datetime.fromisoformat(at),
                actor_kind=kind,
                actor_id=uuid.UUID(actor) if actor else None,
                actor_name=name,
                client_id=client,
                request_id=request,
                body=body,
                data=data,
            )
        )
    return out
