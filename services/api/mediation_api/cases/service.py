"""Orchestrating case requests: intake, the life-cycle actions, parties, agreement, follow-ups
and comments. Every change bumps the case's version, writes a typed timeline entry and an
outbox event, all in the request's transaction (services never commit)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from enum import Enum
from functools import cached_property
from types import SimpleNamespace
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import make_transient_to_detached

from mediation.audit.chain import audit_outbox
from mediation.auth.policy import Permission
from mediation.cases import lifecycle, problems
from mediation.cases.contracts import (
    AcceptIn,
    AssignIn,
    CaseCreate,
    CaseUpdate,
    CommentIn,
    EscalateIn,
    ExtendIn,
    FailIn,
    FollowUpIn,
    HandlerIn,
    JudicialConfirmationIn,
    NoteIn,
    PartyIn,
    PartyUpdate,
    PerformanceIn,
    PreventionFlag,
    ReasonIn,
    ResolveIn,
    TransferIn,
)
from mediation.cases.deadlines import JUDICIAL_CONFIRMATION_DAYS
from mediation.cases.enums import (
    AgreementForm,
    CaseAction,
    CaseEventType,
    CaseStatus,
    Complexity,
    DeadlineStage,
    DeadlineUnit,
    MediationChannel,
    PartyKind,
    PartySide,
    PerformanceStatus,
    RiskColour,
)
from mediation.cases.events import case_type
from mediation.cases.models import (
    AgreementPerformance,
    Case,
    CaseAgreement,
    CaseDeadline,
    CaseEvent,
    CaseFollowUp,
    CaseLink,
    CaseParty,
)
from mediation.cases.numbers import case_number, case_number_ascii
from mediation.clock import CENTER_TZ, center_date
from mediation.contracts.changes import changed, modified
from mediation.contracts.common import jsonable
from mediation.contracts.etag import check_if_match
from mediation.contracts.windows import DISPUTE
from mediation.db import driver_connection
from mediation.errors import VALIDATION, Conflict, Forbidden, NotFound, Unprocessable
from mediation.ids import uuid7
from mediation.logs import request_id_var
from mediation.org.enums import Role, UnitLevel
from mediation.outbox.events import emit, outbox_fields
from mediation.outbox.payloads import EventPayload
from mediation.outbox.registry import EVENT_MODELS
from mediation.privacy import birth_date, keyed_hash
from mediation.reference.data import ReferenceKind
from mediation.sessions.rules import BEFORE_DISPUTE
from mediation.timeline import holds_lock, next_seq
from mediation_api.cases import change, intake, resolution
from mediation_api.cases.change import Changed
from mediation_api.cases.deadlines import DeadlineKeeper
from mediation_api.cases.intake import as_json, fields_of
from mediation_api.cases.reads import scope_patterns
from mediation_api.cases.repository import CaseRepository
from mediation_api.cases.views import PREVENTION_COLUMNS, prevention
from mediation_api.reference.service import ReferenceService
from mediation_api.request_service import RequestService

A = CaseAction
S = CaseStatus
E = CaseEventType

# Who may be named a handler: the roles that work cases (counselors for psychological help).
HANDLER_ROLES = {
    Role.supervisor,
    Role.dispatcher,
    Role.police,
    Role.legal_advisor,
    Role.mediator,
    Role.judicial_mediator,
    Role.counselor,
}
# As the role column stores them (the pipeline's statements take them as text).
HANDLER_ROLE_NAMES = sorted(r.value for r in HANDLER_ROLES)
DISPATCHER_ROLES = {Role.dispatcher, Role.supervisor}
DISPATCHER_ROLE_NAMES = sorted(r.value for r in DISPATCHER_ROLES)
# The level that handles a case of each complexity (DOMAIN.md).
HANDLING_LEVEL = {
    Complexity.simple: UnitLevel.grid,
    Complexity.complex: UnitLevel.street,
    Complexity.difficult: UnitLevel.district,
}
NOT_FOUND = "No case with this id in your jurisdiction."


def _day(value: datetime) -> str:
    """The day of an instant in the center's zone, as people read it."""
    return center_date(value).isoformat()


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


class _Leveled(Protocol):
    @property
    def level(self) -> UnitLevel: ...


U = TypeVar("U", bound=_Leveled)


def handling_unit(lineage: Sequence[U], complexity: Complexity) -> U:
    """The node at the complexity's level above (or at) the place; the place itself when it
    sits higher than that level."""
    level = HANDLING_LEVEL[complexity]
    return next((u for u in lineage if u.level is level), lineage[-1])


class CaseService(RequestService[CaseRepository]):
    repository = CaseRepository

    @cached_property
    def deadlines(self) -> DeadlineKeeper:
        return DeadlineKeeper(self.repo)

    # --- reading ------------------------------------------------------------------------
    async def get(self, case_id: uuid.UUID) -> Case:
        case = await self.repo.get(case_id, self.principal)
        if case is None:
            raise NotFound(NOT_FOUND)
        return case

    # --- intake -------------------------------------------------------------------------
    async def create(self, body: CaseCreate) -> tuple[Case, bool]:
        """(case, created). An integration client's repeated `external_ref` gives the case
        it created before."""
        p = self.principal
        now = self.clock.now()
        if body.external_ref is not None:
            if p.kind != "client":
                raise Unprocessable(
                    "`external_ref` is the reference of an integration "
                    "client's own system; people do not send it.",
                    field="body.external_ref",
                    code=problems.EXTERNAL_REF_NOT_FOR_PEOPLE,
                )
            await self.repo.lock_external_ref(p.id, body.external_ref)
            existing = await self.repo.by_external_ref(p.id, body.external_ref)
            if existing is not None:
                if not p.in_scope(existing.unit_path):
                    raise Conflict(
                        "This external_ref belongs to a case outside your jurisdiction.",
                        code=problems.EXTERNAL_REF_OUT_OF_SCOPE,
                    )
                return existing, False
        # The category, the place (with its ancestors) and the first deadline's rule and
        # calendar days in one read.
        first = DeadlineStage.first_response
        category_ok, lineage, calendar = await self.repo.intake_reads(
            body.unit_id,
            p,
            body.category,
            first,
            body.complexity,
            self.deadlines.window(first, body.complexity, now),
        )
        if not category_ok:  # the reference domain words the problem
            await ReferenceService(self.session, self.clock).require_enabled(
                ReferenceKind.dispute_category, body.category, "body.category"
            )
        place = lineage[-1] if lineage else None
        if place is None or not place.active:
            raise Unprocessable(
                "No active unit with this id in your jurisdiction.",
                field="body.unit_id",
                code=problems.UNIT_NOT_IN_JURISDICTION,
            )
        district = next((u for u in lineage if u.level is UnitLevel.district), None)
        if district is None:
            raise Unprocessable(
                "A case is placed at district level or below.",
                field="body.unit_id",
                code=problems.CASE_ABOVE_DISTRICT,
            )
        local = now.astimezone(CENTER_TZ)
        parties = [
            self._new_party(pi, local.date(), f"body.parties.{i}", i)
            for i, pi in enumerate(body.parties)
        ]

        handling = handling_unit(lineage, body.complexity)
        building = next((u for u in reversed(lineage) if u.level is UnitLevel.building), None)
        case = Case(
            id=uuid7(),
            district_id=district.id,
            year=local.year,
            title=body.title,
            facts=body.facts,
            claims=body.claims,
            category_code=body.category,
            source=body.source,
            complexity=body.complexity,
            risk_colour=body.risk_colour,
            status=S.received,
            unit_id=place.id,
            unit_path=place.path,
            building_id=building.id if building else None,
            handling_unit_id=handling.id,
            handling_unit_path=handling.path,
            address=body.address,
            occurred_at=body.occurred_at,
            amount_involved=body.amount_involved,
            channels=[],
            handler_person_ids=[],
            external_client_id=p.id if body.external_ref else None,
            external_ref=body.external_ref,
            reported_by_kind=p.kind,
            reported_by_id=p.id,
            reported_by_name=p.client_id or p.name,
            is_repeat=False,
            received_at=now,
            party_names=_names(parties),
            due_provisional=False,
            version=1,
        )
        self._set_prevention(case, body.prevention)
        # Everything the rows hold is worked out first, then written by one statement
        # (`mediation_api.cases.intake`): the first deadline, the repeat links and flag ...
        for party in parties:
            party.case_id = case.id
        deadline = await self.deadlines.worked_out(case, first, now, calendar)
        # ... the number last, once nothing is left to reject (a number taken is never
        # reused), read with the repeat search.
        found, seq = await self.repo.repeats_and_number(
            case,
            {q.phone_hash for q in parties if q.phone_hash},
            {q.id_hash for q in parties if q.id_hash},
            district.id,
        )
        case.is_repeat = bool(found)
        case.seq = seq
        case.number = case_number(district.name, local.year, seq)
        case.number_ascii = case_number_ascii(district.code, local.year, seq)
        # `created` is the first entry of every timeline; what intake found comes after it,
        # at the same time.
        created = self._entry(
            case,
            E.created,
            seq=1,
            transition=(None, S.received),
            data={"source": body.source.value, "parties": len(parties)},
            at=now,
        )
        entries = [created]
        if found:
            links = [{"case_id": str(o), "reason": r.value} for o, r in found]
            entries.append(
                self._entry(case, E.repeat_detected, seq=2, data={"links": links}, at=now)
            )
        case.timeline_seq = len(entries)
        extra = {"source": body.source.value, "title": case.title, "is_repeat": case.is_repeat}
        outbox = self._outbox_row(case, E.created, created["id"], extra, now)
        conn = await driver_connection(self.session)
        await conn.execute(
            intake.WRITE_SQL,
            *intake.write_args(
                fields_of(case, intake.CASE_FIELDS),
                [fields_of(q, intake.PARTY_FIELDS) for q in parties],
                fields_of(deadline, intake.DEADLINE_FIELDS),
                [
                    {"id": uuid7(), "case_id": case.id, "related_case_id": o, "reason": r}
                    for o, r in found
                ],
                entries,
                outbox,
            ),
        )
        audit_outbox(self.session, SimpleNamespace(**outbox))
        # The case joins the session as the row now stands, without a statement: a later
        # change in this transaction (a hotline call's note) goes on from its entries.
        make_transient_to_detached(case)
        self.session.add(case)
        holds_lock(self.session, case)  # new in this transaction: nobody else writes it yet
        return case, True

    def _new_party(self, pi: PartyIn, today: date, field: str, position: int) -> CaseParty:
        party = CaseParty(id=uuid7(), position=position, kind=pi.kind, side=pi.side)
        self._apply_party(party, pi.model_dump(), today, field)
        return party

    def _apply_party(
        self, party: CaseParty, values: dict[str, Any], today: date, field: str
    ) -> None:
        for key in ("side", "name", "phone", "id_number", "org_code", "address"):
            if key in values:
                setattr(party, key, values[key])
        minor = bool(values.get("is_minor", party.is_minor))
        if party.kind is PartyKind.person and party.id_number:
            minor = minor or _age(birth_date(party.id_number), today) < 18
        party.is_minor = minor
        if "guardian" in values:
            g = values["guardian"] or {}
            party.guardian_name, party.guardian_phone = g.get("name"), g.get("phone")
            party.guardian_id_number, party.guardian_relation = (
                g.get("id_number"),
                g.get("relation"),
            )
        if party.kind is PartyKind.organisation and (party.id_number or party.guardian_name):
            raise Unprocessable(
                "An organisation has no resident ID number or guardian.",
                field=field,
                code=problems.PARTY_KIND_MISMATCH,
            )
        if party.kind is PartyKind.person and party.org_code:
            raise Unprocessable(
                "A person has no unified social credit code.",
                field=f"{field}.org_code",
                code=problems.PARTY_KIND_MISMATCH,
            )
        if minor and not party.guardian_name:
            raise Unprocessable(
                "A minor party needs a guardian (监护人).",
                field=f"{field}.guardian",
                code=problems.MINOR_WITHOUT_GUARDIAN,
            )
        key = self.settings.pii_hash_key.get_secret_value()
        gm = self.settings.crypto_profile
        party.phone_hash = keyed_hash(key, "phone", party.phone, gm) if party.phone else None
        party.id_hash = keyed_hash(key, "id", party.id_number, gm) if party.id_number else None

    async def _detect_repeats(self, case: Case, parties: list[CaseParty]) -> list[uuid.UUID]:
        phones = {p.phone_hash for p in parties if p.phone_hash}
        ids = {p.id_hash for p in parties if p.id_hash}
        found = await self.repo.repeat_candidates(case, phones, ids)
        existing = {(r.related_case_id, r.reason) for r in await self.repo.links_from(case.id)}
        new = [(other, reason) for other, reason in found if (other, reason) not in existing]
        for other, reason in new:
            self.session.add(CaseLink(case_id=case.id, related_case_id=other, reason=reason))
        if new:
            case.is_repeat = True
            await self.record(
                case,
                E.repeat_detected,
                data={"links": [{"case_id": str(o), "reason": r.value} for o, r in new]},
                emit_event=False,
            )
        return [o for o, _ in new]

    @staticmethod
    def _set_prevention(case: Case, flags: list[PreventionFlag]) -> None:
        given = {f.kind: f.people for f in flags}
        for kind, column in PREVENTION_COLUMNS.items():
            setattr(case, column, given.get(kind))

    # --- timeline and outbox ------------------------------------------------------------
    def _payload(self, case: Case) -> dict[str, Any]:
        """The fields of `CasePayload` every `case.*` event of a change carries."""
        return {
            "case_id": case.id,
            "case_number": case.number,
            "unit_id": case.unit_id,
            "unit_path": case.unit_path,
            "handling_unit_id": case.handling_unit_id,
            "status": case.status,
            "risk_colour": case.risk_colour,
            "complexity": case.complexity,
            "category": case.category_code,
            "handler_person_ids": list(case.handler_person_ids),
            "actor_id": self.principal.id,
            "actor_kind": self.principal.kind,
            "actor_person_id": self.principal.person_id,
            "current_stage": case.current_stage,
            "due_at": case.due_at,
        }

    async def record(
        self,
        case: Case,
        type_: CaseEventType,
        *,
        transition: tuple[CaseStatus | None, CaseStatus] | None = None,
        body: str | None = None,
        data: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        emit_event: bool = True,
        at: datetime | None = None,
    ) -> CaseEvent:
        """A timeline entry (numbered after the case's last one) and, unless told otherwise,
        the outbox event `case.<type>`: its payload model (`mediation.cases.events`) gets the
        case's fields and the type's own (`extra`); a missing or unknown one is an error."""
        now = at or self.clock.now()
        seq = await next_seq(self.session, case)
        event = CaseEvent(
            **self._entry(case, type_, seq=seq, transition=transition, body=body, data=data, at=now)
        )
        self.session.add(event)
        if emit_event:
            await emit(
                self.session,
                self._event_payload(case, type_, event.id, extra),
                type=case_type(type_),
                aggregate_id=case.id,
                occurred_at=now,
                unit_path=case.unit_path,
                actor_id=self.principal.id,
            )
        return event

    async def record_linked(
        self, case_id: uuid.UUID, type_: CaseEventType, *, body: str, data: dict[str, Any]
    ) -> CaseEvent:
        """The entry of a change of a record linked to the case (the call or opinion it came
        from), by whoever changed that record, who may not read the case: so it is loaded
        outside the caller's scope. No outbox event (the record's own write tells whoever must
        know) and no new version: the case's answer shows nothing of that record."""
        case = await self.session.get(Case, case_id)
        if case is None:  # cases are never deleted
            raise NotFound(NOT_FOUND)
        return await self.record(case, type_, body=body, data=data, emit_event=False)

    def _entry(
        self,
        case: Case,
        type_: CaseEventType,
        *,
        seq: int,
        at: datetime,
        transition: tuple[CaseStatus | None, CaseStatus] | None = None,
        body: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The columns of a timeline entry by the caller."""
        p = self.principal
        return {
            "id": uuid7(),
            "case_id": case.id,
            "seq": seq,
            "type": type_,
            "at": at,
            "actor_kind": p.kind,
            "actor_id": p.id,
            "actor_name": p.name,
            "client_id": p.client_id,
            "request_id": request_id_var.get(),
            "from_status": transition[0] if transition else None,
            "to_status": transition[1] if transition else None,
            "body": body,
            "data": jsonable(data or {}),
        }

    def _outbox_row(
        self,
        case: Case,
        type_: CaseEventType,
        entry_id: uuid.UUID,
        extra: dict[str, Any] | None,
        at: datetime,
    ) -> dict[str, Any]:
        """The outbox row of `case.<type>` for a statement that inserts it itself (then
        `audit_outbox` audits it, as the ORM's flush does for `emit`)."""
        return {
            "id": uuid7(),
            "relay_attempts": 0,
            **outbox_fields(
                self._event_payload(case, type_, entry_id, extra),
                type=case_type(type_),
                aggregate_id=case.id,
                occurred_at=at,
                unit_path=case.unit_path,
                actor_id=self.principal.id,
            ),
        }

    def _event_payload(
        self,
        case: Case,
        type_: CaseEventType,
        entry_id: uuid.UUID,
        extra: dict[str, Any] | None,
    ) -> EventPayload:
        """The payload of `case.<type>`: its model gets the case's fields and the type's own
        (`extra`); a missing or unknown one is an error."""
        model = EVENT_MODELS[case_type(type_)]
        return model(**{**self._payload(case), "event_id": entry_id, **(extra or {})})

    # --- loading for a change -----------------------------------------------------------
    def _is_handler(self, case: Case) -> bool:
        pid = self.principal.person_id
        return pid is not None and pid in case.handler_person_ids

    async def _for_change(
        self, case_id: uuid.UUID, if_match: str | None, action: CaseAction | None = None
    ) -> Case:
        case = await self.repo.get(case_id, self.principal, for_update=True)
        if case is None:
            raise NotFound(NOT_FOUND)
        holds_lock(self.session, case)
        check_if_match(if_match, case.id, case.version)
        self._may_change(action, self._is_handler(case))
        return case

    def _may_change(self, action: CaseAction | None, is_handler: bool) -> None:
        """Forbidden unless the caller may take `action` (any change, when None)."""
        if action is not None:
            if not lifecycle.may_perform(action, self.principal.permissions, is_handler):
                raise Forbidden(
                    f"`{action.value}` is for dispatchers"
                    + (
                        ""
                        if action in lifecycle.DISPATCH_ONLY
                        else " and the case's current handlers"
                    )
                    + "."
                )
        elif not (
            self.principal.can(Permission.cases_dispatch)
            or (is_handler and self.principal.can(Permission.cases_handle))
        ):
            raise Forbidden("Changing a case is for dispatchers and its current handlers.")

    def _move(self, case: Case, action: CaseAction) -> CaseStatus:
        before = case.status
        case.status = lifecycle.next_status(case.status, action, case.paused_at is not None)
        case.version += 1
        return before

    async def _act(
        self, case_id: uuid.UUID, action: CaseAction, if_match: str | None
    ) -> tuple[Case, CaseStatus, datetime]:
        case = await self._for_change(case_id, if_match, action)
        before = self._move(case, action)
        return case, before, self.clock.now()

    # --- actions ------------------------------------------------------------------------
    async def accept(self, case_id: uuid.UUID, body: AcceptIn, if_match: str | None) -> Changed:
        """Meets the running deadline and starts the mediation stage's: the load, the rule
        and the calendar (and, when the complexity changes, the place's lineage), one write
        (`change.change_sql`)."""
        case, before, now = await self._load(case_id, A.accept, if_match)
        case.complexity, case.risk_colour = (
            Complexity(case.complexity),
            RiskColour(case.risk_colour),
        )
        also: dict[str, Any] = {}
        if body.complexity is not None and body.complexity is not case.complexity:
            handling = handling_unit(await self.repo.lineage(case.unit_path), body.complexity)
            case.complexity, case.handling_unit_id = body.complexity, handling.id
            also.update(
                complexity=body.complexity.value,
                handling_unit_id=handling.id,
                handling_unit_path=handling.path,
            )
        if body.risk_colour is not None:
            case.risk_colour = body.risk_colour
            also["risk_colour"] = body.risk_colour.value
        finish = [case.deadline_id, await self._pause_days(case, now)]
        new = await self._start_deadline(case, DeadlineStage.mediation, now, also)
        data = {"complexity": case.complexity.value, "risk_colour": case.risk_colour.value}
        entry, outbox = self._pipeline_event(case, E.accepted, before, now, body.note, data)
        await self._write(
            change.change_sql("accepted_at", tuple(also), finish=True, start=True),
            case,
            now,
            entry,
            outbox,
            *finish,
            new,
            *also.values(),
        )
        return Changed(case.id, case.version)

    async def _pause_days(self, case: SimpleNamespace, now: datetime) -> int:
        """What a pause in progress of the loaded running deadline adds when it finishes now
        (`DeadlineKeeper.finish`; one read, the calendar, only then)."""
        since = case.deadline_paused_since
        if since is None:
            return 0
        return await self.deadlines.paused_for(DeadlineUnit(case.deadline_unit), since, now)

    async def _start_deadline(
        self, case: SimpleNamespace, stage: DeadlineStage, now: datetime, also: dict[str, Any]
    ) -> str:
        """The stage's new deadline from `now` (`DeadlineKeeper.worked_out`: one read, the rule
        and the calendar), as JSON, mirrored on `case` and in `also` (the case's columns)."""
        d = await self.deadlines.worked_out(case, stage, now)  # type: ignore[arg-type]
        also.update(current_stage=d.stage.value, due_at=d.due_at, due_provisional=d.provisional)
        return as_json(fields_of(d, intake.DEADLINE_FIELDS))

    async def _write(
        self, sql: str, case: SimpleNamespace, now: datetime, entry: str, outbox: str, *rest: Any
    ) -> None:
        """A pipeline's write (`change.change_sql`): its first seven parameters, then `rest`."""
        conn = await driver_connection(self.session)
        await conn.execute(
            sql,
            case.id,
            now,
            case.status.value,
            case.version,
            case.timeline_seq,
            entry,
            outbox,
            *rest,
        )

    async def reject(self, case_id: uuid.UUID, body: ReasonIn, if_match: str | None) -> Changed:
        return await self._move_by_pipeline(
            case_id,
            A.reject,
            if_match,
            E.rejected,
            body.reason,
            stamp="rejected_at",
            also={"reason": body.reason},
            deadline="met",
        )

    async def _load(
        self,
        case_id: uuid.UUID,
        action: CaseAction,
        if_match: str | None,
        people: Sequence[uuid.UUID] = (),
        *,
        sql: str = change.FOR_CHANGE_SQL,
    ) -> tuple[SimpleNamespace, S, datetime]:
        """The pipeline's `_act`: the case loaded and locked in one statement
        (`change.FOR_CHANGE_SQL`, with which of `people` hold a handling role covering it),
        the same checks in the same order, moved by `action` in memory: (case, status before,
        now). The counter is read under the lock: the caller numbers the entry."""
        now = self.clock.now()
        conn = await driver_connection(self.session)
        row = await conn.fetchrow(
            sql,
            case_id,
            scope_patterns(self.principal),
            list(people),
            HANDLER_ROLE_NAMES,
            center_date(now),
        )
        if row is None:
            raise NotFound(NOT_FOUND)
        check_if_match(if_match, row["id"], row["version"])
        case = SimpleNamespace(**row)
        self._may_change(action, self._is_handler(case))  # type: ignore[arg-type]
        before = S(case.status)
        case.status = lifecycle.next_status(before, action, case.paused_at is not None)
        case.version += 1
        case.timeline_seq += 1  # under the case's lock: nobody else numbers its timeline
        return case, before, now

    def _pipeline_event(
        self,
        case: SimpleNamespace,
        type_: CaseEventType,
        before: S,
        now: datetime,
        body: str | None,
        data: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> tuple[str, str]:
        """The timeline entry and the outbox event of a pipeline's change, as JSON; the
        event is registered for the audit chain (written at commit)."""
        entry = self._entry(
            case,  # type: ignore[arg-type]
            type_,
            seq=case.timeline_seq,
            transition=(before, case.status),
            body=body,
            data=data,
            at=now,
        )
        outbox = self._outbox_row(case, type_, entry["id"], extra, now)  # type: ignore[arg-type]
        audit_outbox(self.session, SimpleNamespace(**outbox))
        return as_json(entry), as_json(outbox)

    async def assign(self, case_id: uuid.UUID, body: AssignIn, if_match: str | None) -> Changed:
        """One statement loads and locks the case (with the handlers' roles), one writes the
        change (`mediation_api.cases.change`)."""
        people = [h.person_id for h in body.handlers]
        case, before, now = await self._load(case_id, A.assign, if_match, people)
        handlers = [h.model_dump(mode="json") for h in body.handlers]
        return await self._hand_over(
            case, before, now, body.handlers, E.assigned, body.note, {"handlers": handlers}
        )

    async def transfer(self, case_id: uuid.UUID, body: TransferIn, if_match: str | None) -> Changed:
        """As `assign`, after the current handlers are read (change.HANDLERS_SQL): the load,
        that read, one write (`change.ASSIGN_SQL`)."""
        people = [h.person_id for h in body.handlers]
        case, before, now = await self._load(case_id, A.transfer, if_match, people)
        current = await self._current_handlers(case.id)
        if before is S.assigned and set(_wanted(body.handlers)) == set(current):
            # To the people handling it now, as they do: nothing changes.
            return Changed(case.id, case.version - 1)
        handlers = [h.model_dump(mode="json") for h in body.handlers]
        previous = [p for p, _, _ in current]
        info = {"handlers": handlers, "previous_handler_person_ids": previous}
        return await self._hand_over(
            case, before, now, body.handlers, E.transferred, body.reason, info
        )

    async def _hand_over(
        self,
        case: SimpleNamespace,
        before: S,
        now: datetime,
        handlers: list[HandlerIn],
        type_: CaseEventType,
        note: str | None,
        info: dict[str, Any],
    ) -> Changed:
        """The case to `handlers` (assign, transfer): each must hold a handling role covering
        it (the load read which do); the current ones step down and these take it over in one
        write (`change.ASSIGN_SQL`). `info`: the entry's data; the event has the channels too."""
        covered = set(case.covered)
        for i, h in enumerate(handlers):
            if h.person_id not in covered:
                raise Unprocessable(
                    "This person holds no handling role whose jurisdiction covers the case.",
                    field=f"body.handlers.{i}.person_id",
                    code=problems.HANDLER_WITHOUT_ROLE,
                )
        rows = [
            {
                "id": uuid7(),
                "case_id": case.id,
                "person_id": person,
                "channel": channel,
                "is_lead": lead,
                "assumed_at": now,
                "assigned_by_id": self.principal.id,
            }
            for person, channel, lead in _wanted(handlers)
        ]
        case.handler_person_ids = [h.person_id for h in handlers]
        case.channels = sorted({h.channel.value for h in handlers})
        entry, outbox = self._pipeline_event(
            case, type_, before, now, note, data=info, extra={"channels": case.channels, **info}
        )
        conn = await driver_connection(self.session)
        await conn.execute(
            change.ASSIGN_SQL,
            case.id,
            now,
            as_json(rows),
            case.status.value,
            case.channels,
            case.handler_person_ids,
            case.version,
            case.timeline_seq,
            entry,
            outbox,
        )
        return Changed(case.id, case.version)

    async def _current_handlers(
        self, case_id: uuid.UUID
    ) -> list[tuple[uuid.UUID, MediationChannel, bool]]:
        """(person, channel, lead) of the case's current handlers, lead first."""
        conn = await driver_connection(self.session)
        rows = await conn.fetch(change.HANDLERS_SQL, case_id)
        return [(r[0], MediationChannel(r[1]), r[2]) for r in rows]

    async def escalate(self, case_id: uuid.UUID, body: EscalateIn, if_match: str | None) -> Changed:
        """The load, the reads of the levels above and their dispatchers and of the current
        handlers (with a new complexity, the running deadline, its rule and the calendar),
        one write (`change.change_sql`: the handlers step down)."""
        case, before, now = await self._load(case_id, A.escalate, if_match)
        conn = await driver_connection(self.session)
        lineage = await conn.fetch(
            change.LINEAGE_SQL, case.id, DISPATCHER_ROLE_NAMES, center_date(now)
        )
        above = lineage[:-1]
        if not above:
            raise Conflict(
                "The case is handled at the top of the tree; it cannot go higher.",
                code=problems.ESCALATION_AT_TOP,
            )
        dispatchers = {u["id"]: list(u["dispatchers"]) for u in above}
        if body.target_unit_id is not None:
            target = next((u for u in above if u["id"] == body.target_unit_id), None)
            if target is None:
                raise Unprocessable(
                    "The target must be a node above the current handling level.",
                    field="body.target_unit_id",
                    code=problems.ESCALATION_TARGET_NOT_ABOVE,
                )
        else:  # the nearest level up that has someone to dispatch it
            target = next((u for u in reversed(above) if u["dispatchers"]), above[-1])
        source_unit_id = case.handling_unit_id
        previous = [p for p, _, _ in await self._current_handlers(case.id)]
        case.handler_person_ids, case.channels = [], []
        case.handling_unit_id = target["id"]
        also: dict[str, Any] = {
            "handler_person_ids": [],
            "channels": [],
            "handling_unit_id": target["id"],
            "handling_unit_path": target["path"],
        }
        d = None
        if body.complexity is not None and body.complexity.value != case.complexity:
            case.complexity = body.complexity
            also["complexity"] = body.complexity.value
            d = await self._running(case)
            if d is not None:  # `DeadlineKeeper.rebase`
                rule = await self.deadlines.rule(d.stage, body.complexity)
                await self.deadlines.take_rule(d, rule)
                self._mirror(case, d, also)
        extra = {
            "from_unit_id": source_unit_id,
            "target_unit_id": target["id"],
            "target_unit_name": target["name"],
            "target_unit_path": target["path"],
            "target_dispatcher_person_ids": dispatchers[target["id"]],
            "previous_handler_person_ids": previous,
        }
        entry, outbox = self._pipeline_event(
            case, E.escalated, before, now, body.reason, extra, extra
        )
        running = change.REBASED if d is not None else ()
        values = [d.id, *(_db(getattr(d, name)) for name in running)] if d is not None else []
        await self._write(
            change.change_sql(None, tuple(also), running=running, renounce=True),
            case,
            now,
            entry,
            outbox,
            *values,
            *also.values(),
        )
        return Changed(case.id, case.version)

    async def start_mediation(
        self, case_id: uuid.UUID, body: NoteIn, if_match: str | None
    ) -> Changed:
        """A status move and its time: two statements (`change.move_sql`)."""
        return await self._move_by_pipeline(
            case_id,
            A.start_mediation,
            if_match,
            E.mediation_started,
            body.note,
            stamp="mediation_started_at",
        )

    async def _move_by_pipeline(
        self,
        case_id: uuid.UUID,
        action: CaseAction,
        if_match: str | None,
        type_: CaseEventType,
        note: str | None,
        *,
        stamp: str,
        also: dict[str, Any] | None = None,
        deadline: str | None = None,
        info: dict[str, Any] | None = None,
    ) -> Changed:
        """A status move that sets its time (`stamp`), the case's columns of `also` and changes
        the running deadline as `deadline` says (`change.DEADLINE_SET`), as the ORM path with
        `DeadlineKeeper` would: the case loaded (`_load`), then one write (`change.move_sql`).
        A pause in progress when the deadline finishes is counted with one more read (the
        calendar), as `DeadlineKeeper.finish` does. `info`: the type's own fields, in the entry's
        data and the event alike."""
        case, before, now = await self._load(case_id, action, if_match)
        also = also or {}
        args: list[Any] = []
        if deadline in change.FINISHED:
            args += await self._finish_args(case, now)
        elif deadline is not None:
            args.append(case.deadline_id)
        for name, value in also.items():
            setattr(case, name, value)
        entry, outbox = self._pipeline_event(case, type_, before, now, note, data=info, extra=info)
        await self._write(
            change.move_sql(stamp, tuple(also), deadline),
            case,
            now,
            entry,
            outbox,
            *args,
            *also.values(),
        )
        return Changed(case.id, case.version)

    async def _finish_args(self, case: SimpleNamespace, now: datetime) -> list[Any]:
        """The running deadline met or cancelled (`change.DEADLINE_SET`): its id and the days
        a pause in progress adds, counted as `DeadlineKeeper.finish` does (one more read, the
        calendar); the case no longer mirrors it."""
        since = case.deadline_paused_since
        days = (
            0
            if since is None
            else await self.deadlines.paused_for(DeadlineUnit(case.deadline_unit), since, now)
        )
        case.current_stage, case.due_at = None, None
        return [case.deadline_id, days]

    async def resolve(
        self,
        case_id: uuid.UUID,
        body: ResolveIn,
        if_match: str | None,
        *,
        signers: Sequence[uuid.UUID] = (),
    ) -> Changed:
        """The load (with when the dispute happened), the follow-up deadline worked out (the
        rule and the calendar in one read), then one write (`resolution.RESOLVE_SQL`). The
        agreement is signed by the case's handlers, after `signers` (the mediators who held
        the session that reached it)."""
        case, before, now = await self._load(
            case_id, A.resolve, if_match, sql=resolution.FOR_RESOLVE_SQL
        )
        a = body.agreement
        effective = a.effective_on or center_date(now)
        if case.occurred_at is not None and effective.isoformat() < _day(case.occurred_at):
            raise Unprocessable(
                "An agreement cannot take effect before the dispute happened "
                f"({_day(case.occurred_at)}).",
                field="body.agreement.effective_on",
                code=problems.AGREEMENT_BEFORE_DISPUTE,
            )
        if a.performance_due_on is not None and a.performance_due_on < effective:
            raise Unprocessable(
                f"Performance cannot be due before the agreement takes effect ({effective}).",
                field="body.agreement.performance_due_on",
                code=problems.BEFORE_AGREEMENT,
            )
        agreement = {
            "id": uuid7(),  # kept by a case resolved before: it keeps one agreement row
            "case_id": case.id,
            "form": a.form,
            "terms": a.terms,
            "amount": a.amount,
            "performance_method": a.performance_method,
            "performance_due_on": a.performance_due_on,
            "effective_on": effective,
            "signed_by_parties": a.signed_by_parties,
            "mediator_person_ids": list(dict.fromkeys([*signers, *case.handler_person_ids])),
            "judicial_confirmation_until": effective + timedelta(days=JUDICIAL_CONFIRMATION_DAYS),
            "judicial_confirmation_requested_on": None,
            "judicial_confirmation_court": None,
            "performance_status": PerformanceStatus.pending,
        }
        finished = await self._finish_args(case, now)
        case.complexity = Complexity(case.complexity)
        follow_up = await self.deadlines.worked_out(case, DeadlineStage.follow_up, now)  # type: ignore[arg-type]
        info = {
            "form": a.form.value,
            "amount": a.amount,
            "effective_on": effective,
            "judicial_confirmation_until": agreement["judicial_confirmation_until"],
        }
        entry, outbox = self._pipeline_event(
            case, E.resolved, before, now, body.note, {"agreement": info}, {"agreement": info}
        )
        await self._write(
            resolution.RESOLVE_SQL,
            case,
            now,
            entry,
            outbox,
            *finished,
            as_json(fields_of(follow_up, intake.DEADLINE_FIELDS)),
            case.current_stage.value,
            case.due_at,
            case.due_provisional,
            as_json(agreement),
        )
        return Changed(case.id, case.version)

    async def fail(self, case_id: uuid.UUID, body: FailIn, if_match: str | None) -> Changed:
        info = {"referral": body.referral.value}
        return await self._move_by_pipeline(
            case_id,
            A.fail,
            if_match,
            E.failed,
            body.reason,
            stamp="failed_at",
            also={"reason": body.reason, "referral_target": body.referral.value},
            deadline="met",
            info=info,
        )

    async def withdraw(self, case_id: uuid.UUID, body: ReasonIn, if_match: str | None) -> Changed:
        return await self._move_by_pipeline(
            case_id,
            A.withdraw,
            if_match,
            E.withdrawn,
            body.reason,
            stamp="withdrawn_at",
            also={"reason": body.reason, "paused_at": None, "pause_reason": None},
            deadline="cancelled",
        )

    async def follow_up(self, case_id: uuid.UUID, body: FollowUpIn, if_match: str | None) -> Case:
        case, before, now = await self._act(case_id, A.follow_up, if_match)
        agreement = await self.repo.agreement(case.id)
        if (
            body.visited_at is not None
            and agreement is not None
            and _day(body.visited_at) < agreement.effective_on.isoformat()
        ):
            raise Unprocessable(
                "A follow-up visit cannot precede the agreement taking effect "
                f"({agreement.effective_on}).",
                field="body.visited_at",
                code=problems.BEFORE_AGREEMENT,
            )
        # A follow-up (回访) comes after the outcome (DOMAIN.md: resolved | failed → followed
        # up), hence after the registration too. An agreement dates a resolution (checked
        # above; it may precede the registration: on-the-spot mediation registered later);
        # a failure has only the time it was recorded.
        outcome = lifecycle.outcome(before, case.resolved_at, case.failed_at)
        ended = {S.failed: case.failed_at, S.resolved: None if agreement else case.resolved_at}
        end = ended.get(outcome) if outcome is not None else None
        if body.visited_at is not None and end is not None and _day(body.visited_at) < _day(end):
            raise Unprocessable(
                "A follow-up visit comes after the mediation's outcome: not before "
                f"{_day(end)}, when the case was recorded as {outcome}.",
                field="body.visited_at",
                code=VALIDATION,
            )
        visit = CaseFollowUp(
            case_id=case.id,
            visited_at=body.visited_at or now,
            method=body.method,
            performance=body.performance,
            satisfaction=body.satisfaction,
            flare_up_risk=body.flare_up_risk,
            notes=body.notes,
            recorded_at=now,
            recorded_by_id=self.principal.id,
            recorded_by_name=self.principal.name,
        )
        self.session.add(visit)
        case.followed_up_at = now
        if agreement is not None and body.performance is not PerformanceStatus.pending:
            agreement.performance_status = body.performance
        await self.deadlines.finish(case, now)
        info = {
            "method": body.method.value,
            "performance": body.performance.value,
            "satisfaction": body.satisfaction.value,
            "flare_up_risk": body.flare_up_risk.value,
        }
        await self.record(
            case,
            E.followed_up,
            transition=(before, case.status),
            body=body.notes,
            data=info,
            extra=info,
        )
        return case

    async def close(self, case_id: uuid.UUID, body: NoteIn, if_match: str | None) -> Changed:
        return await self._move_by_pipeline(
            case_id,
            A.close,
            if_match,
            E.closed,
            body.note,
            stamp="closed_at",
            deadline="cancelled",
        )

    async def reopen(self, case_id: uuid.UUID, body: ReasonIn, if_match: str | None) -> Changed:
        """The handlers step down and the status's stage starts a new deadline (none runs in a
        closed, rejected or withdrawn case): the load, the rule and the calendar, one write."""
        case, before, now = await self._load(case_id, A.reopen, if_match)
        case.complexity = Complexity(case.complexity)
        also: dict[str, Any] = {"reopened_at": now, "reason": body.reason}
        # The status left is no longer current: lists "closed between" must not show it.
        if before is S.closed:
            also["closed_at"] = None
        case.handler_person_ids, case.channels = [], []
        also.update(handler_person_ids=[], channels=[])
        stage = lifecycle.STAGE_OF_STATUS[case.status]
        new = await self._start_deadline(case, stage, now, also)
        entry, outbox = self._pipeline_event(case, E.reopened, before, now, body.reason)
        await self._write(
            change.change_sql(None, tuple(also), start=True, renounce=True),
            case,
            now,
            entry,
            outbox,
            new,
            *also.values(),
        )
        return Changed(case.id, case.version)

    async def pause(self, case_id: uuid.UUID, body: ReasonIn, if_match: str | None) -> Changed:
        return await self._move_by_pipeline(
            case_id,
            A.pause,
            if_match,
            E.paused,
            body.reason,
            stamp="paused_at",
            also={"pause_reason": body.reason},
            deadline="paused",
        )

    async def resume(self, case_id: uuid.UUID, body: NoteIn, if_match: str | None) -> Changed:
        """The pause ends: the running deadline counts it in and falls due again
        (`DeadlineKeeper.resume`): the load, the deadline, the calendars, one write."""
        case, before, now = await self._load(case_id, A.resume, if_match)
        also: dict[str, Any] = {"paused_at": None, "pause_reason": None}
        d = await self._running(case)
        if d is not None and d.paused_since is not None:
            d.paused_by += await self.deadlines.paused_for(d.unit, d.paused_since, now)
            d.paused_since = None
            await self.deadlines.compute(d)
            self._mirror(case, d, also)
        info = {"due_at": d.due_at if d else None, "paused_by": d.paused_by if d else 0}
        entry, outbox = self._pipeline_event(case, E.resumed, before, now, body.note, info)
        await self._write_recomputed(case, now, entry, outbox, d, also)
        return Changed(case.id, case.version)

    async def extend(self, case_id: uuid.UUID, body: ExtendIn, if_match: str | None) -> Changed:
        """The running deadline falls due later (`DeadlineKeeper.extend`): the load, the
        deadline, the calendar, one write."""
        case, before, now = await self._load(case_id, A.extend_deadline, if_match)
        if case.current_stage == DeadlineStage.mediation and not body.parties_agreed:
            raise Unprocessable(
                "Mediation is extended only when both parties agree.",
                field="body.parties_agreed",
                code=problems.EXTENSION_WITHOUT_CONSENT,
            )
        also: dict[str, Any] = {}
        d = await self._running(case)
        if d is not None:
            d.extended_by += body.by
            await self.deadlines.compute(d)
            self._mirror(case, d, also)
        horizon = self.clock.now() + timedelta(days=self.settings.planning_max_days_ahead)
        if d is not None and d.due_at > horizon:
            raise Unprocessable(
                f"The deadline would fall due on {_day(d.due_at)}, more than "
                f"{self.settings.planning_max_days_ahead} days ahead "
                "(MEDIATION_PLANNING_MAX_DAYS_AHEAD): extend by less.",
                field="body.by",
                code=problems.DEADLINE_TOO_FAR,
            )
        info = {
            "stage": d.stage.value if d else None,
            "by": body.by,
            "unit": d.unit.value if d else None,
            "due_at": d.due_at if d else None,
        }
        entry, outbox = self._pipeline_event(
            case, E.deadline_extended, before, now, body.reason, info, info
        )
        await self._write_recomputed(case, now, entry, outbox, d, also)
        return Changed(case.id, case.version)

    async def _running(self, case: SimpleNamespace) -> CaseDeadline | None:
        """The running deadline the load found, whole, as an object outside the session
        (what `DeadlineKeeper` computes on; the write statement stores it)."""
        if case.deadline_id is None:
            return None
        conn = await driver_connection(self.session)
        row = await conn.fetchrow(change.RUNNING_SQL, case.deadline_id)
        values = dict(row)
        values.update(stage=DeadlineStage(row["stage"]), unit=DeadlineUnit(row["unit"]))
        return CaseDeadline(**values)

    @staticmethod
    def _mirror(case: SimpleNamespace, d: CaseDeadline, also: dict[str, Any]) -> None:
        """`DeadlineKeeper.mirror` on the loaded case, and the columns it sets in `also`."""
        DeadlineKeeper.mirror(case, d)  # type: ignore[arg-type]
        stage = case.current_stage.value if case.current_stage else None
        also.update(current_stage=stage, due_at=case.due_at, due_provisional=case.due_provisional)

    async def _write_recomputed(
        self,
        case: SimpleNamespace,
        now: datetime,
        entry: str,
        outbox: str,
        d: CaseDeadline | None,
        also: dict[str, Any],
    ) -> None:
        """The write of a change that recomputed the running deadline `d` (None: none runs)."""
        running = change.RECOMPUTED if d is not None else ()
        values = [d.id, *(_db(getattr(d, name)) for name in running)] if d is not None else []
        await self._write(
            change.change_sql(None, tuple(also), running=running),
            case,
            now,
            entry,
            outbox,
            *values,
            *also.values(),
        )

    # --- details, parties ----------------------------------------------------------------
    def _open_for_edit(self, case: Case) -> None:
        if case.status in lifecycle.TERMINAL:
            raise Conflict(
                f"A {case.status.value} case cannot be changed; reopen it first.",
                allowed_actions=[a.value for a in lifecycle.allowed_actions(case.status)],
                code=problems.CASE_FINISHED,
            )

    async def update(self, case_id: uuid.UUID, body: CaseUpdate, if_match: str | None) -> Case:
        case = await self._for_change(case_id, if_match)
        self._open_for_edit(case)
        changes = body.model_dump(exclude_unset=True)
        for name in ("title", "facts", "category", "complexity", "risk_colour", "prevention"):
            if name in changes and changes[name] is None:
                raise Unprocessable(
                    f"`{name}` cannot be null.", field=f"body.{name}", code=VALIDATION
                )
        if "prevention" in changes:
            changes["prevention"] = sorted(changes["prevention"], key=lambda f: f["kind"])
        changes = changed(
            case,
            changes,
            {
                "category": lambda: case.category_code,
                "prevention": lambda: sorted(
                    (f.model_dump() for f in prevention(case)), key=lambda f: f["kind"]
                ),
            },
        )
        if not changes:  # nothing differs: nothing changes (no version, entry or event)
            return case
        if changes.get("occurred_at") is not None:
            # The intake's window, counted from the registration rather than from today: a
            # dispute cannot have happened after it was registered.
            problem = DISPUTE.problem(changes["occurred_at"], case.received_at, self.settings)
            if problem is not None:
                raise Unprocessable(
                    f"The dispute's time {problem} (counted from its registration).",
                    field="body.occurred_at",
                    code=VALIDATION,
                )
            await self._not_after_what_followed(case, changes["occurred_at"])
        names = sorted(changes)
        if "category" in changes:
            await ReferenceService(self.session, self.clock).require_enabled(
                ReferenceKind.dispute_category, changes["category"], "body.category"
            )
            case.category_code = changes.pop("category")
        if "prevention" in changes:
            changes.pop("prevention")
            self._set_prevention(case, body.prevention or [])
        complexity_changed = (
            "complexity" in changes and changes["complexity"] is not case.complexity
        )
        for name, value in changes.items():
            setattr(case, name, value)
        if complexity_changed:
            await self.deadlines.rebase(case)
        case.version += 1
        await self.record(case, E.updated, data={"changed": names}, extra={"changed": names})
        return case

    async def _not_after_what_followed(self, case: Case, occurred_at: datetime) -> None:
        """A corrected dispute time keeps the rules checked when the session was held and the
        agreement made: no session held about it, nor its agreement, before it happened."""
        held = await self.repo.first_held_session(case.id)
        if held is not None and occurred_at > held:
            raise Unprocessable(
                "A session about the dispute was held at "
                f"{held.astimezone(CENTER_TZ):%Y-%m-%d %H:%M}: it did not happen after that.",
                field="body.occurred_at",
                code=BEFORE_DISPUTE,
            )
        agreement = await self.repo.agreement(case.id)
        if agreement is not None and agreement.effective_on.isoformat() < _day(occurred_at):
            raise Unprocessable(
                f"Its agreement took effect on {agreement.effective_on}: the dispute did not "
                "happen after that day.",
                field="body.occurred_at",
                code=problems.AGREEMENT_BEFORE_DISPUTE,
            )

    async def add_party(self, case_id: uuid.UUID, body: PartyIn, if_match: str | None) -> Case:
        case = await self._for_change(case_id, if_match)
        self._open_for_edit(case)
        parties = await self.repo.parties(case.id)
        today = center_date(self.clock.now())
        party = self._new_party(
            body, today, "body", max((q.position for q in parties), default=-1) + 1
        )
        same = _same_party(party, parties)
        if same is not None:  # a resent form would add the same person twice
            raise Conflict(
                "The case already has this party (`party_id`); to add another person of the "
                "same name, give their phone or ID number.",
                party_id=str(same.id),
                code=problems.PARTY_EXISTS,
            )
        party.case_id = case.id
        self.session.add(party)
        case.party_names = _names([*parties, party])
        case.version += 1
        await self.session.flush()
        await self._detect_repeats(case, [party])
        await self.record(
            case,
            E.party_added,
            data={"party_id": party.id, "side": party.side.value, "kind": party.kind.value},
        )
        return case

    async def _party_for_change(
        self, case_id: uuid.UUID, party_id: uuid.UUID, if_match: str | None
    ) -> tuple[Case, list[CaseParty], CaseParty]:
        """The case locked for an edit of its parties, all its parties and the one named."""
        case = await self._for_change(case_id, if_match)
        self._open_for_edit(case)
        parties = await self.repo.parties(case.id)
        party = next((q for q in parties if q.id == party_id), None)
        if party is None:
            raise NotFound("No party with this id on the case.")
        return case, parties, party

    async def update_party(
        self, case_id: uuid.UUID, party_id: uuid.UUID, body: PartyUpdate, if_match: str | None
    ) -> Case:
        case, parties, party = await self._party_for_change(case_id, party_id, if_match)
        changes = body.model_dump(exclude_unset=True)
        for name in ("side", "name", "is_minor"):
            if name in changes and changes[name] is None:
                raise Unprocessable(
                    f"`{name}` cannot be null.", field=f"body.{name}", code=VALIDATION
                )
        today = center_date(self.clock.now())
        self._apply_party(party, changes, today, "body")
        columns = modified(party)
        if not columns:  # every value as it was: nothing changes
            return case
        # The fields sent whose value really changed (a form resends them all).
        changed = sorted(
            f for f in changes if any(c in columns for c in _PARTY_COLUMNS.get(f, (f,)))
        )
        _keep_applicant(parties, "body.side")
        case.party_names = _names(parties)
        case.version += 1
        await self.session.flush()
        await self._detect_repeats(case, [party])
        await self.record(case, E.party_updated, data={"party_id": party.id, "changed": changed})
        return case

    async def remove_party(
        self, case_id: uuid.UUID, party_id: uuid.UUID, if_match: str | None
    ) -> Case:
        case, parties, party = await self._party_for_change(case_id, party_id, if_match)
        rest = [q for q in parties if q.id != party_id]
        _keep_applicant(rest, "path.party_id")
        await self.session.delete(party)
        case.party_names = _names(rest)
        case.version += 1
        await self.record(
            case, E.party_removed, data={"party_id": party.id, "side": party.side.value}
        )
        return case

    # --- agreement ----------------------------------------------------------------------
    async def _agreement_for_change(
        self, case_id: uuid.UUID, if_match: str | None
    ) -> tuple[Case, CaseAgreement]:
        case = await self._for_change(case_id, if_match)
        agreement = await self.repo.agreement(case.id)
        if agreement is None or case.status not in (S.resolved, S.followed_up, S.closed):
            raise Conflict(
                "The case has no agreement in force (it is not resolved).",
                case_status=case.status.value,
                code=problems.NO_AGREEMENT,
            )
        return case, agreement

    async def add_performance(
        self, case_id: uuid.UUID, body: PerformanceIn, if_match: str | None
    ) -> Case:
        case, agreement = await self._agreement_for_change(case_id, if_match)
        if body.performed_on < agreement.effective_on:
            raise Unprocessable(
                "Performance cannot precede the agreement taking effect.",
                field="body.performed_on",
                code=problems.BEFORE_AGREEMENT,
            )
        now = self.clock.now()
        record = AgreementPerformance(
            case_id=case.id,
            performed_on=body.performed_on,
            status=body.status,
            amount=body.amount,
            note=body.note,
            recorded_at=now,
            recorded_by_name=self.principal.name,
        )
        self.session.add(record)
        agreement.performance_status = body.status
        case.version += 1
        info = {
            "status": body.status.value,
            "performed_on": body.performed_on,
            "amount": body.amount,
        }
        await self.record(case, E.performance_recorded, body=body.note, data=info, extra=info)
        return case

    async def judicial_confirmation(
        self, case_id: uuid.UUID, body: JudicialConfirmationIn, if_match: str | None
    ) -> Case:
        case, agreement = await self._agreement_for_change(case_id, if_match)
        if agreement.form is not AgreementForm.written:
            raise Unprocessable(
                "Only a written agreement can be judicially confirmed.",
                field="body",
                code=problems.AGREEMENT_NOT_WRITTEN,
            )
        if body.requested_on < agreement.effective_on:
            raise Unprocessable(
                "The application cannot precede the agreement taking effect.",
                field="body.requested_on",
                code=problems.BEFORE_AGREEMENT,
            )
        if body.requested_on > agreement.judicial_confirmation_until:
            raise Unprocessable(
                "The 30-day window for judicial confirmation closed on "
                f"{agreement.judicial_confirmation_until.isoformat()} (People's Mediation "
                "Law Art. 33).",
                field="body.requested_on",
                code=problems.CONFIRMATION_WINDOW_CLOSED,
            )
        agreement.judicial_confirmation_requested_on = body.requested_on
        agreement.judicial_confirmation_court = body.court
        if not modified(agreement):  # the application as recorded: nothing changes
            return case
        case.version += 1
        info = {"requested_on": body.requested_on, "court": body.court}
        await self.record(case, E.judicial_confirmation, data=info, extra=info)
        return case

    # --- comments -----------------------------------------------------------------------
    async def comment(self, case_id: uuid.UUID, body: CommentIn) -> CaseEvent:
        """Any reader in scope may comment; comments do not change the case's version, so
        they never make someone else's If-Match stale."""
        case = await self.get(case_id)
        return await self.record(case, E.commented, body=body.body)


def _db(value: Any) -> Any:
    """A value as the driver takes it for its column (an enum by its value)."""
    return value.value if isinstance(value, Enum) else value


def _wanted(handlers: list[HandlerIn]) -> list[tuple[uuid.UUID, MediationChannel, bool]]:
    """(person, channel, lead) of each handler: the first leads when none is named."""
    lead_given = any(h.lead for h in handlers)
    return [
        (h.person_id, h.channel, h.lead or (not lead_given and i == 0))
        for i, h in enumerate(handlers)
    ]


def _names(parties: list[CaseParty]) -> str:
    names = []
    for p in parties:
        names.append(p.name)
        if p.guardian_name:
            names.append(p.guardian_name)
    return " ".join(names)


# The columns of each field a party's body gives; phone and ID number by their keyed hash, so
# the same number written another way (spaces, lower-case x) is the same.
_PARTY_COLUMNS: dict[str, tuple[str, ...]] = {
    "kind": ("kind",),
    "side": ("side",),
    "name": ("name",),
    "phone": ("phone_hash",),
    "id_number": ("id_hash",),
    "org_code": ("org_code",),
    "is_minor": ("is_minor",),
    "address": ("address",),
    "guardian": ("guardian_name", "guardian_phone", "guardian_id_number", "guardian_relation"),
}


def _same_party(new: CaseParty, parties: Sequence[CaseParty]) -> CaseParty | None:
    """The party of the case that `new` repeats: stored, it would equal that one in every
    field (a field the body leaves out is empty). A party given with less (the name alone
    where the case's has a phone) is another record, so it is added."""
    columns = [c for group in _PARTY_COLUMNS.values() for c in group]
    return next(
        (p for p in parties if all(getattr(p, c) == getattr(new, c) for c in columns)), None
    )


def _keep_applicant(parties: list[CaseParty], field: str) -> None:
    """A case keeps at least one applicant through every edit of its parties."""
    if not any(q.side is PartySide.applicant for q in parties):
        raise Unprocessable(
            "The case must keep at least one applicant (申请人).",
            field=field,
            code=problems.LAST_APPLICANT,
        )
