"""The hotline's use cases: logging and changing calls, the high-risk flag and its
acknowledgement, supervisor review, the duty roster. Runs in the request's transaction (never
commits). Every call returned to a reader is written to the access log."""

from __future__ import annotations

import dataclasses
import logging
import math
import uuid
from datetime import date, datetime, timedelta
from functools import cached_property
from types import SimpleNamespace
from typing import Any

from mediation.audit.chain import audit_outbox
from mediation.auth.access_log import access_row, audit_access, record_access, record_accesses
from mediation.auth.policy import Permission
from mediation.cases.enums import CaseEventType
from mediation.cases.models import Case
from mediation.clock import CENTER_TZ, center_date
from mediation.contracts.changes import changed, modified, null_errors, patch_fields, refuse_nulls
from mediation.contracts.common import center_time
from mediation.contracts.etag import check_if_match
from mediation.contracts.windows import CALL
from mediation.db import built, driver_connection
from mediation.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    Unprocessable,
)
from mediation.hotline import events as call_events
from mediation.hotline import rules
from mediation.hotline.contracts import (
    AcknowledgeIn,
    CallCreate,
    CallerOut,
    CallEventOut,
    CallOut,
    CallUpdate,
    CoverageGapOut,
    CoverageOut,
    DutyNowOut,
    DutyShiftCreate,
    DutyShiftOut,
    DutyShiftUpdate,
    FlagOut,
    OnDutyOut,
    OpenCaseIn,
    ReviewIn,
    ReviewOut,
    RiskAssessment,
)
from mediation.hotline.crypto import DecryptionError, FieldCipher, Sealed
from mediation.hotline.enums import CallEventKind, CallSort, DutyRole
from mediation.hotline.events import CALL_CHANGED_NOTE, HighRiskPayload
from mediation.hotline.models import HotlineCall, HotlineCallEvent, HotlineDutyShift
from mediation.hotline.rules import (
    Assessment,
    CallFacts,
    check_call,
    coverage_gaps,
    is_flagged_risk,
    minimum_level,
)
from mediation.ids import uuid7
from mediation.org.enums import Role
from mediation.org.models import Unit
from mediation.outbox.events import emit, outbox_fields
from mediation.privacy import keyed_hash, mask_phone
from mediation.reference.data import ReferenceKind
from mediation.timeline import holds_lock
from mediation_api.cases.intake import as_json, fields_of
from mediation_api.cases.service import CaseService
from mediation_api.hotline import reads, write
from mediation_api.hotline.repository import CallFilters, HotlineRepository
from mediation_api.pagination import build_page
from mediation_api.query import WINDOW_INVALID
from mediation_api.reference.repository import ReferenceRepository
from mediation_api.reference.service import unknown_codes
from mediation_api.request_service import RequestService, for_change
from mediation_api.shown import shown
from mediation_api.visibility import Ref, Visibility, Visible

log = logging.getLogger("mediation.hotline")

# One answer for "no such call" and "not yours to see": nobody learns a call exists.
CALL_NOT_FOUND = "No hotline call with this id."
SHIFT_NOT_FOUND = "No duty shift with this id."
UNIT_NOT_FOUND = "No hotline workstation with this id in your scope."
RECORD_TYPE = "hotline_call"
# The case's side of the link: where it came from, nothing of what was said.
CASE_LINK_NOTE = "由心理热线来电转立；来电记录仅心理工作站可查阅。"
MAX_SHIFT = timedelta(days=7)
MAX_COVERAGE_WINDOW = timedelta(days=31)


# Stored columns that a change names by the request's field.
_FIELD_OF = {
    "caller_anonymous": "caller.anonymous",
    "caller_alias": "caller.alias",
    "caller_age_band": "caller.age_band",
    "caller_gender": "caller.gender",
    "caller_is_minor": "caller.is_minor",
    "callback_consent": "caller.callback_consent",
    "callback_number_enc": "caller.callback_number",
    "callback_key_id": "caller.callback_number",
    "caller_hash": "caller.number",
}


def _minimal(paths: list[str]) -> list[str]:
    out: list[str] = []
    for p in sorted(set(paths), key=len):
        if not any(p.startswith(q) for q in out):
            out.append(p)
    return out


def _assessment(ra: RiskAssessment | None) -> Assessment | None:
    if ra is None:
        return None
    return Assessment(
        suicidal_desire=ra.suicidal_desire,
        desire_factors=tuple(f.value for f in ra.desire_factors),
        suicidal_capability=ra.suicidal_capability,
        capability_factors=tuple(f.value for f in ra.capability_factors),
        suicidal_intent=ra.suicidal_intent,
        intent_factors=tuple(f.value for f in ra.intent_factors),
    )


def _stored_assessment(call: HotlineCall) -> RiskAssessment | None:
    return RiskAssessment.model_validate(call.risk_assessment) if call.risk_assessment else None


class HotlineService(RequestService[HotlineRepository]):
    repository = HotlineRepository
    _units: list[Unit] | None = None  # the caller's workstations, once read

    @cached_property
    def cipher(self) -> FieldCipher:
        return FieldCipher.from_setting(
            self.settings.encryption_keys.get_secret_value(), self.settings.crypto_profile
        )

    @property
    def hash_key(self) -> str:
        return self.settings.pii_hash_key.get_secret_value()

    # --- scope ----------------------------------------------------------------------------
    @property
    def today(self) -> date:
        return center_date(self.clock.now())

    async def units(self) -> list[Unit]:
        """The caller's workstations. Hotline scope comes from the hotline roles alone, not
        from every role the person holds (a counselor who is also a street mediator sees
        only the calls of the workstation)."""
        if self._units is None:
            self._units = await self.repo.hotline_units(self.principal.person_id, self.today)
        return self._units

    async def paths(self) -> list[str]:
        if not self.principal.can(Permission.hotline_read):
            return []
        return _minimal([u.path for u in await self.units()])

    async def _workstation(self, unit_id: uuid.UUID | None, field: str | None) -> Unit:
        """The unit a record goes to: the given one if in scope, else the caller's only
        workstation. `field` set: a body reference (422); unset: a query (404)."""
        paths = await self.paths()
        if unit_id is None:
            units = await self.units()
            if len(units) == 1:
                return units[0]
            message = "You work at several workstations: say which (unit_id)."
            raise Unprocessable(
                message, field=field or "query.unit_id", code=rules.WORKSTATION_REQUIRED
            )
        unit = await self.repo.unit(unit_id)
        if unit is None or not unit.active or not any(unit.path.startswith(p) for p in paths):
            if field:
                raise Unprocessable(
                    "Not a workstation you work at.", field=field, code=rules.NOT_YOUR_WORKSTATION
                )
            raise NotFound(UNIT_NOT_FOUND)
        return unit

    # --- reading calls --------------------------------------------------------------------
    async def get_call(self, call_id: uuid.UUID, *, for_update: bool = False) -> HotlineCall:
        call = await self.repo.call(await self.paths(), call_id, for_update=for_update)
        if call is None:
            raise NotFound(CALL_NOT_FOUND)
        if for_update:
            holds_lock(self.session, call)
        return call

    async def read(self, call_id: uuid.UUID) -> CallOut:
        call = await self.get_call(call_id)
        return await self.call_out(call, action="read")

    async def list_json(
        self,
        filters: CallFilters,
        same_caller_as: uuid.UUID | None,
        sort: CallSort,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> bytes:
        """A page of the call list as JSON, in two statements on the session's connection
        (inside its transaction): the workstations with the topic and same-caller checks, then
        the page with names, repeat callers and visible cases (`reads`). Each call shown is
        logged (`record_accesses`: the rows and audit entries `_log` would make)."""
        conn = await driver_connection(self.session)
        paths, topic_known, same_hash = await reads.prelude(
            conn, self.principal.person_id, self.today, filters.topic, same_caller_as
        )
        if not topic_known:
            raise unknown_codes(ReferenceKind.hotline_topic, [str(filters.topic)], "query.topic")
        if same_caller_as is not None:
            if same_hash is None:
                raise NotFound(CALL_NOT_FOUND)
            filters = dataclasses.replace(filters, caller_hash=same_hash)
        scope = _minimal(paths) if self.principal.can(Permission.hotline_read) else []
        cases = reads.case_patterns(self.principal, self.principal.can(Permission.cases_read))
        sql, args = reads.page_query(scope, filters, sort, after, limit, cases)
        rows, next_cursor = build_page(
            await conn.fetch(sql, *args),
            limit,
            lambda r: {"s": r["started_at"].isoformat(), "i": str(r["id"]), "o": sort.value},
        )
        # The list is a read of each call shown: one access-log entry per call, written as
        # `_log` writes them, in one statement.
        await record_accesses(
            conn,
            self.session,
            self.principal,
            action="hotline.list",
            record_type=RECORD_TYPE,
            record_ids=[uuid.UUID(bytes=r["id"].bytes) for r in rows],
        )
        return reads.list_page_json(rows, next_cursor, self._open_number)

    async def call_out(self, call: HotlineCall, *, action: str, unmask: bool = True) -> CallOut:
        """The full call, the callback number unmasked unless `unmask` is false; the read is
        logged."""
        earlier, others, names = await self.repo.caller_history(
            await self.paths(), call, {call.counselor_id, call.acknowledged_by, call.reviewed_by}
        )
        number = self._callback_number(call)
        self._log(action, call.id, callback_number_unmasked=unmask and number is not None)
        seen = (await self._cases_seen({call.case_id})).can_see(Ref.case, call.case_id)
        return self._out(call, earlier, others, names, number if unmask else None, number, seen)

    def _out(
        self,
        call: HotlineCall,
        earlier: int,
        others: int,
        names: dict[uuid.UUID, str],
        shown_number: str | None,
        number: str | None,
        case_seen: bool,
    ) -> CallOut:
        """The call as answered: `shown_number` the callback number shown (None: masked
        only), `case_seen` whether its case may be named."""
        ra = _stored_assessment(call)
        review = None
        if call.reviewed_at is not None and call.reviewed_by is not None and call.review_outcome:
            review = shown(
                ReviewOut,
                call,
                reviewed_by_name=names.get(call.reviewed_by),
                outcome=call.review_outcome,
                comment=call.review_comment,
            )
        return shown(
            CallOut,
            call,
            counselor_name=names.get(call.counselor_id),
            caller=CallerOut(
                anonymous=call.caller_anonymous,
                alias=call.caller_alias,
                age_band=call.caller_age_band,
                gender=call.caller_gender,
                is_minor=call.caller_is_minor,
                callback_consent=call.callback_consent,
                callback_number=shown_number,
                callback_number_masked=mask_phone(number),
                repeat_caller=others > 0,
                previous_calls=earlier,
            ),
            risk_assessment=ra,
            minimum_risk_level=minimum_level(_assessment(ra)) if ra else None,
            flag=shown(
                FlagOut,
                call,
                acknowledged_by_name=names.get(call.acknowledged_by)
                if call.acknowledged_by
                else None,
                note=call.acknowledge_note,
            ),
            review=review,
            case_id=call.case_id if case_seen else None,
        )

    async def timeline(
        self, call_id: uuid.UUID, after: int | None, limit: int
    ) -> list[HotlineCallEvent]:
        """Up to limit+1 entries of the call's timeline after entry number `after`."""
        call = await self.get_call(call_id)
        self._log("timeline", call.id)
        return await self.repo.timeline(call.id, after, limit)

    def _visibility(self) -> Visibility:
        return Visibility(self.session, self.principal, self.today)

    async def _cases_seen(self, ids: set[uuid.UUID | None]) -> Visible:
        """Which of the cases opened from calls the reader may read (a case can lie outside
        the workstation's colleagues' jurisdiction): only those are named."""
        return await self._visibility().of({Ref.case: {i for i in ids if i is not None}})

    async def events_out(self, entries: list[HotlineCallEvent]) -> list[CallEventOut]:
        seen = await self._visibility().of_details(e.detail for e in entries)
        return [
            CallEventOut.model_validate(e).model_copy(update={"detail": seen.present(e.detail)})
            for e in entries
        ]

    # --- changing calls -------------------------------------------------------------------
    async def create(self, body: CallCreate) -> tuple[HotlineCall, CallOut]:
        """A new call and its answer (the callback number masked; the answer is a read of the
        call, logged). Written by one statement (`mediation_api.hotline.write`): the call, its
        history, its access-log row and, when flagged, the outbox event, with the answer's
        caller history; their audit entries are queued as the flush hook makes them."""
        call = await self.new_call(body)
        c = body.caller
        # Numbered here: a new call is its writer's alone.
        entries = [self._entry(call, 1, CallEventKind.created, {})]
        outbox = None
        if is_flagged_risk(call.risk_level, call.imminent_risk):
            outbox = await self._flag_new(call, entries)
        call.timeline_seq = len(entries)
        access = access_row(
            self.principal,
            action="hotline.create",
            record_type=RECORD_TYPE,
            record_id=call.id,
            callback_number_unmasked=False,
        )
        conn = await driver_connection(self.session)
        args: list[Any] = [
            as_json({**fields_of(call, write.CALL_FIELDS), "callback_number_enc": _bytea(call)}),
            as_json(entries),
            as_json(access),
            [p + "%" for p in await self.paths()],
            call.counselor_id,
            call.caller_hash,
            call.started_at,
            call.id,
        ]
        if outbox is not None:
            args.append(as_json(outbox))
        sql = write.CREATE_SQL if outbox is None else write.CREATE_FLAGGED_SQL
        row = await conn.fetchrow(sql, *args)
        assert row is not None  # one row always
        call.created_at, call.updated_at = row["created_at"], row["updated_at"]
        # The trail's entries in the order the flushes made them: the event's, then the read's.
        if outbox is not None:
            audit_outbox(self.session, SimpleNamespace(**outbox))
        audit_access(self.session, access)
        names = {call.counselor_id: row["counselor_name"]} if row["counselor_name"] else {}
        number = c.callback_number  # what `_seal` sealed: opening it gives it back
        out = self._out(call, row["earlier"], row["others"], names, None, number, False)
        return call, out

    async def new_call(self, body: CallCreate) -> HotlineCall:
        """The call `body` logs, checked (422 with every error) and sealed, not yet written."""
        enabled = None
        if self._units is None and body.topics:
            self._units, enabled = await self.repo.hotline_units_and_codes(
                self.principal.person_id, self.today, ReferenceKind.hotline_topic
            )
        unit = await self._workstation(body.unit_id, "body.unit_id")
        counselor_id = await self._counselor(body.counselor_id, unit)
        c = body.caller
        facts = CallFacts(
            started_at=body.started_at,
            ended_at=body.ended_at,
            caller_anonymous=c.anonymous,
            caller_alias=c.alias,
            age_band=c.age_band,
            is_minor=c.is_minor,
            callback_consent=c.callback_consent,
            has_callback_number=c.callback_number is not None,
            risk_level=body.risk_level,
            imminent_risk=body.imminent_risk,
            assessment=_assessment(body.risk_assessment),
            follow_up_due=body.follow_up_due,
        )
        errors = check_call(facts) + await self._topic_errors(body.topics, enabled)
        _consistent(errors)
        # Written by `create`'s statement, never added to the ORM session: no event per
        # attribute (`built`).
        call = built(
            HotlineCall,
            id=uuid7(),
            unit_id=unit.id,
            unit_path=unit.path,
            counselor_id=counselor_id,
            created_by=self.principal.id,
            started_at=body.started_at,
            ended_at=body.ended_at,
            channel=body.channel,
            call_type=body.call_type,
            caller_anonymous=c.anonymous,
            caller_alias=c.alias,
            caller_age_band=c.age_band,
            caller_gender=c.gender,
            caller_is_minor=c.is_minor,
            callback_consent=c.callback_consent,
            topics=list(dict.fromkeys(body.topics)),
            risk_level=body.risk_level,
            imminent_risk=body.imminent_risk,
            risk_assessment=body.risk_assessment.model_dump(mode="json")
            if body.risk_assessment
            else None,
            actions=[a.value for a in dict.fromkeys(body.actions)],
            referral_to=body.referral_to,
            summary=body.summary,
            follow_up_due=body.follow_up_due,
            version=1,
            historical=False,
        )
        call.duration_seconds = self._duration(call)
        call.caller_hash = self._hash(c.number or c.callback_number)
        self._seal(call, c.callback_number)
        return call

    async def _flag_new(self, call: HotlineCall, entries: list[dict[str, Any]]) -> dict[str, Any]:
        """`_flag` for a call not yet written: its flag, its `flagged` entry (added to
        `entries`) and the outbox row it answers, for `write.CREATE_FLAGGED_SQL`."""
        now = self.clock.now()
        call.flagged_at = now
        recipients, gap = await self._recipients(call, now)
        outbox = {
            "id": uuid7(),
            "relay_attempts": 0,
            **outbox_fields(
                self._high_risk(call, recipients, gap),
                aggregate_id=call.id,
                occurred_at=now,
                unit_path=call.unit_path,
                actor_id=self.principal.id,
            ),
        }
        entries.append(
            self._entry(
                call,
                len(entries) + 1,
                CallEventKind.flagged,
                self._flag_detail(call, recipients, gap),
            )
        )
        if gap:
            _warn_gap(call)
        return outbox

    async def update(
        self, call_id: uuid.UUID, body: CallUpdate, if_match: str | None
    ) -> HotlineCall:
        call = await self.get_call(call_id, for_update=True)
        if call.counselor_id != self.principal.person_id and not self.principal.can(
            Permission.hotline_review
        ):
            raise Forbidden("Only the counselor who took the call or a supervisor may change it.")
        check_if_match(if_match, call.id, call.version)
        if call.deidentified_at is not None:
            raise InvalidTransition(
                "The call was de-identified after the retention period; it can no longer change.",
                code=rules.CALL_DEIDENTIFIED,
            )
        changes = body.model_dump(exclude_unset=True)
        caller = changes.pop("caller", None) or {}
        not_null = ("started_at", "channel", "call_type", "topics", "imminent_risk", "actions")
        refuse_nulls(
            null_errors(changes, not_null)
            + null_errors(caller, ("anonymous", "callback_consent"), "body.caller")
        )

        def new(field: str, current: Any) -> Any:
            return changes[field] if field in changes else current

        def new_caller(field: str, current: Any) -> Any:
            return caller[field] if field in caller else current

        ra = body.risk_assessment if "risk_assessment" in changes else _stored_assessment(call)
        consent = new_caller("callback_consent", call.callback_consent)
        stored_number = self._callback_number(call)
        # Withdrawing consent deletes the number; so does an explicit null.
        if "callback_number" in caller:
            number = caller["callback_number"]
        elif consent:
            number = stored_number
        else:
            number = None
        facts = CallFacts(
            started_at=new("started_at", call.started_at),
            ended_at=new("ended_at", call.ended_at),
            caller_anonymous=new_caller("anonymous", call.caller_anonymous),
            caller_alias=new_caller("alias", call.caller_alias),
            age_band=new_caller("age_band", call.caller_age_band),
            is_minor=new_caller("is_minor", call.caller_is_minor),
            callback_consent=consent,
            has_callback_number=number is not None,
            risk_level=new("risk_level", call.risk_level),
            imminent_risk=new("imminent_risk", call.imminent_risk),
            assessment=_assessment(ra),
            follow_up_due=new("follow_up_due", call.follow_up_due),
        )
        errors = check_call(facts)
        # The resulting pair, stored half included: a start moved past a stored done time too.
        done_at = new("follow_up_done_at", call.follow_up_done_at)
        if done_at is not None and done_at < facts.started_at:
            errors.append(
                {
                    "field": "body.follow_up_done_at",
                    "message": "A follow-up cannot be done before the call.",
                }
            )
        errors = [_sent_half(e, changes, call) for e in errors]
        if "topics" in changes:
            errors += await self._topic_errors(changes["topics"])
        errors += await self._logged_after(call, changes)
        _consistent(errors)

        was_flagged_risk = is_flagged_risk(call.risk_level, call.imminent_risk)
        was_imminent = call.imminent_risk
        follow_up_was_done = call.follow_up_done_at is not None
        for field in (
            "started_at",
            "ended_at",
            "channel",
            "call_type",
            "risk_level",
            "imminent_risk",
            "referral_to",
            "summary",
            "follow_up_due",
            "follow_up_done_at",
            "follow_up_note",
        ):
            if field in changes:
                setattr(call, field, changes[field])
        # Topics and actions are sets: the same ones in another order leave the call as is.
        if "topics" in changes:
            topics = list(dict.fromkeys(changes["topics"]))
            if set(topics) != set(call.topics):
                call.topics = topics
        if "actions" in changes:
            actions = [str(a) for a in dict.fromkeys(changes["actions"])]
            if set(actions) != set(call.actions):
                call.actions = actions
        if "risk_assessment" in changes:
            call.risk_assessment = ra.model_dump(mode="json") if ra else None
        for field in ("anonymous", "alias", "age_band", "gender", "is_minor"):
            if field in caller:
                setattr(call, f"caller_{field}", caller[field])
        call.callback_consent = consent
        if "number" in caller:  # an explicit null forgets the caller's hash
            call.caller_hash = self._hash(caller["number"])
        elif "callback_number" in caller and caller["callback_number"] and not call.caller_hash:
            call.caller_hash = self._hash(caller["callback_number"])
        if number != stored_number:  # sealing again gives other bytes for the same number
            self._seal(call, number)
        call.duration_seconds = self._duration(call)
        changed = sorted({_FIELD_OF.get(c, c) for c in modified(call)} - {"duration_seconds"})
        if not changed:  # every value as it was: nothing changes, nobody is told
            return call
        call.version += 1
        await self._event(call, CallEventKind.updated, fields=changed)
        if call.follow_up_done_at is not None and not follow_up_was_done:
            await self._event(call, CallEventKind.follow_up_done)
        now_flagged_risk = is_flagged_risk(call.risk_level, call.imminent_risk)
        # Raised to high risk, or newly imminent: the supervisor on duty hears again.
        if now_flagged_risk and (not was_flagged_risk or (call.imminent_risk and not was_imminent)):
            await self._flag(call)
        await self.tell_case(call)
        await self.session.flush()
        return call

    async def _logged_after(self, call: HotlineCall, changes: dict[str, Any]) -> list[Any]:
        """A corrected start or end keeps the window of a call logged after it happened,
        counted from when this call was logged (or imported), not from today."""
        moved = [f for f in ("started_at", "ended_at") if changes.get(f) is not None]
        logged = await self.repo.logged_at(call.id) if moved else None
        if logged is None:
            return []
        problems = {f: CALL.problem(changes[f], logged, self.settings) for f in moved}
        return [
            {"field": f"body.{f}", "message": f"{problem} (counted from when it was logged)"}
            for f, problem in problems.items()
            if problem is not None
        ]

    async def acknowledge(
        self, call_id: uuid.UUID, body: AcknowledgeIn, if_match: str | None
    ) -> HotlineCall:
        call = await for_change(self.get_call, call_id, if_match)
        if call.flagged_at is None:
            raise InvalidTransition(
                "The call is not flagged; there is nothing to acknowledge.",
                code=rules.CALL_NOT_FLAGGED,
            )
        if call.acknowledged_at is not None:
            raise InvalidTransition(
                "The flag was already acknowledged.",
                acknowledged_at=center_time(call.acknowledged_at),
                code=rules.FLAG_ACKNOWLEDGED,
            )
        call.acknowledged_at = self.clock.now()
        call.acknowledged_by = self.principal.person_id
        call.acknowledge_note = body.note
        await self.tell_case(call)
        return await self._changed(
            call,
            CallEventKind.acknowledged,
            flagged_at=call.flagged_at,
            minutes_to_acknowledge=math.ceil(
                (call.acknowledged_at - call.flagged_at).total_seconds() / 60
            ),
        )

    async def review(self, call_id: uuid.UUID, body: ReviewIn, if_match: str | None) -> HotlineCall:
        call = await for_change(self.get_call, call_id, if_match)
        if call.counselor_id == self.principal.person_id:
            raise Forbidden("A supervisor cannot review a call they took themselves.")
        if (call.reviewed_by, call.review_outcome, call.review_comment) == (
            self.principal.person_id,
            body.outcome,
            body.comment,
        ):
            return call  # the same review by the same supervisor: nothing changes
        call.reviewed_at = self.clock.now()
        call.reviewed_by = self.principal.person_id
        call.review_outcome = body.outcome
        call.review_comment = body.comment
        await self.tell_case(call)
        return await self._changed(call, CallEventKind.reviewed, outcome=body.outcome.value)

    async def open_case(
        self, call_id: uuid.UUID, body: OpenCaseIn, if_match: str | None
    ) -> tuple[HotlineCall, Case]:
        """Registers a dispute case (source hotline) through the cases service and links the
        two both ways: the call keeps `case_id`, the case's timeline names the call. Only what
        the counselor writes for the case goes into it; nothing is copied from the call."""
        call = await for_change(self.get_call, call_id, if_match)
        if call.case_id is not None:
            seen = (await self._cases_seen({call.case_id})).can_see(Ref.case, call.case_id)
            raise Conflict(
                "A case was already opened from this call.",
                case_id=str(call.case_id) if seen else None,
                code=rules.CALL_HAS_CASE,
            )
        if call.deidentified_at is not None:
            raise InvalidTransition(
                "The call was de-identified after the retention period.",
                code=rules.CALL_DEIDENTIFIED,
            )
        cases = self._cases()
        case, _ = await cases.create(body)
        await cases.record(
            case,
            CaseEventType.commented,
            body=CASE_LINK_NOTE,
            data={"hotline_call_id": str(call.id)},
            emit_event=False,
        )
        call.case_id = case.id
        await self._changed(
            call, CallEventKind.case_opened, case_id=str(case.id), case_number=case.number
        )
        return call, case

    # --- duty roster ----------------------------------------------------------------------
    async def get_shift(self, shift_id: uuid.UUID, *, for_update: bool = False) -> HotlineDutyShift:
        shift = await self.repo.shift(await self.paths(), shift_id, for_update=for_update)
        if shift is None:
            raise NotFound(SHIFT_NOT_FOUND)
        return shift

    async def shifts_out(self, shifts: list[HotlineDutyShift]) -> list[DutyShiftOut]:
        names = await self.repo.names({s.person_id for s in shifts})
        return [shown(DutyShiftOut, s, person_name=names.get(s.person_id)) for s in shifts]

    async def shift_page(self, **kwargs: Any) -> tuple[list[HotlineDutyShift], str | None]:
        return await self.repo.shift_page(await self.paths(), **kwargs)

    async def create_shift(self, body: DutyShiftCreate) -> HotlineDutyShift:
        unit = await self._workstation(body.unit_id, "body.unit_id")
        await self._check_shift(
            unit, body.person_id, body.duty_role, body.starts_at, body.ends_at, exclude=None
        )
        shift = HotlineDutyShift(
            unit_id=unit.id,
            unit_path=unit.path,
            person_id=body.person_id,
            duty_role=body.duty_role,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            note=body.note,
            created_by=self.principal.id,
            version=1,
        )
        self.repo.add(shift)
        await self.session.flush()
        return shift

    async def update_shift(
        self, shift_id: uuid.UUID, body: DutyShiftUpdate, if_match: str | None
    ) -> HotlineDutyShift:
        shift = await for_change(self.get_shift, shift_id, if_match)
        changes = changed(
            shift, patch_fields(body, "person_id", "duty_role", "starts_at", "ends_at")
        )
        if not changes:  # the shift as it is: nothing to check, nothing changes
            return shift
        unit = await self.repo.unit(shift.unit_id)
        assert unit is not None
        merged = {
            k: changes.get(k, getattr(shift, k))
            for k in ("person_id", "duty_role", "starts_at", "ends_at")
        }
        await self._check_shift(
            unit,
            merged["person_id"],
            merged["duty_role"],
            merged["starts_at"],
            merged["ends_at"],
            exclude=shift.id,
        )
        for key, value in changes.items():
            setattr(shift, key, value)
        shift.version += 1
        await self.session.flush()
        return shift

    async def delete_shift(self, shift_id: uuid.UUID, if_match: str | None) -> None:
        shift = await for_change(self.get_shift, shift_id, if_match)
        await self.repo.delete(shift)
        await self.session.flush()

    async def on_duty(self, unit_id: uuid.UUID | None) -> DutyNowOut:
        unit = await self._workstation(unit_id, None)
        now = self.clock.now()
        shifts = await self.repo.shifts_covering(unit.path, now, now + timedelta(microseconds=1))
        names = await self.repo.names({s.person_id for s in shifts})

        def out(role: DutyRole) -> list[OnDutyOut]:
            return [
                shown(OnDutyOut, s, name=names.get(s.person_id), shift_id=s.id)
                for s in shifts
                if s.duty_role is role
            ]

        supervisors = out(DutyRole.supervisor)
        return DutyNowOut(
            unit_id=unit.id,
            at=now,
            supervisors=supervisors,
            counselors=out(DutyRole.counselor),
            coverage_gap=not supervisors,
        )

    async def coverage(
        self,
        unit_id: uuid.UUID | None,
        start: datetime | None,
        end: datetime | None,
        duty_role: DutyRole,
    ) -> CoverageOut:
        unit = await self._workstation(unit_id, None)
        start = start or self.clock.now()
        end = end or start + timedelta(days=7)
        if end <= start:
            raise Unprocessable(
                "The window must end after it starts.", field="query.to", code=WINDOW_INVALID
            )
        if end - start > MAX_COVERAGE_WINDOW:
            raise Unprocessable(
                "The window can span at most 31 days.", field="query.to", code=WINDOW_INVALID
            )
        shifts = await self.repo.shifts_covering(unit.path, start, end, duty_role)
        gaps = coverage_gaps(start, end, [(s.starts_at, s.ends_at) for s in shifts])
        uncovered = sum((e - s).total_seconds() for s, e in gaps)
        return CoverageOut(
            unit_id=unit.id,
            duty_role=duty_role,
            starts_at=start,
            ends_at=end,
            fully_covered=not gaps,
            covered_minutes=int(((end - start).total_seconds() - uncovered) // 60),
            gaps=[
                CoverageGapOut(
                    starts_at=s, ends_at=e, minutes=math.ceil((e - s).total_seconds() / 60)
                )
                for s, e in gaps
            ],
        )

    # --- internals ------------------------------------------------------------------------
    async def _counselor(self, counselor_id: uuid.UUID | None, unit: Unit) -> uuid.UUID:
        me = self.principal.person_id
        if counselor_id is None or counselor_id == me:
            if me is None:
                raise Forbidden("Only people take hotline calls.")
            return me
        if not self.principal.can(Permission.hotline_review):
            raise Forbidden("Only a supervisor may log a call for another counselor.")
        if not await self.repo.holds_role_over(
            counselor_id, unit.path, (Role.counselor, Role.hotline_supervisor), self.today
        ):
            raise Unprocessable(
                "That person is not a counselor of this workstation.",
                field="body.counselor_id",
                code=rules.NOT_A_COUNSELOR,
            )
        return counselor_id

    async def _topic_errors(
        self, topics: list[str], enabled: set[str] | None = None
    ) -> list[dict[str, str]]:
        """Errors of the topics not enabled (`enabled`: the codes, when already read)."""
        if not topics:
            return []
        if enabled is None:
            enabled = await ReferenceRepository(self.session).enabled_codes(
                ReferenceKind.hotline_topic
            )
        return [
            {
                "field": f"body.topics.{i}",
                "message": f"`{t}` is not an enabled entry of hotline_topic.",
            }
            for i, t in enumerate(topics)
            if t not in enabled
        ]

    async def _check_shift(
        self,
        unit: Unit,
        person_id: uuid.UUID,
        duty_role: DutyRole,
        starts_at: datetime,
        ends_at: datetime,
        exclude: uuid.UUID | None,
    ) -> None:
        errors = []
        if ends_at <= starts_at:
            errors.append({"field": "body.ends_at", "message": "A shift ends after it starts."})
        elif ends_at - starts_at > MAX_SHIFT:
            errors.append({"field": "body.ends_at", "message": "A shift lasts at most 7 days."})
        roles = (
            (Role.hotline_supervisor,)
            if duty_role is DutyRole.supervisor
            else (Role.counselor, Role.hotline_supervisor)
        )
        day = center_date(starts_at)
        if not await self.repo.holds_role_over(person_id, unit.path, roles, day):
            errors.append(
                {
                    "field": "body.person_id",
                    "message": f"That person holds no {' or '.join(roles)} role at this "
                    f"workstation on {day.isoformat()}.",
                }
            )
        if errors:
            raise Unprocessable(
                "The shift is not valid; see errors.", errors=errors, code=rules.SHIFT_INVALID
            )
        clash = await self.repo.overlapping_shift(person_id, starts_at, ends_at, exclude)
        if clash is not None:
            # That the person is busy then is what the roster needs; which shift, at which
            # workstation, is named only to a reader of that shift (as a double booking does).
            visible = self.principal.in_scope(clash.unit_path)
            raise Conflict(
                "That person already has a shift overlapping this one.",
                shift_id=str(clash.id) if visible else None,
                code=rules.SHIFT_OVERLAP,
            )

    async def _flag(self, call: HotlineCall) -> None:
        """Flag the call and, in the same transaction, tell the worker to notify the
        supervisors on duty now (or every supervisor of the workstation if none is)."""
        now = self.clock.now()
        call.flagged_at = now
        call.acknowledged_at = None
        call.acknowledged_by = None
        call.acknowledge_note = None
        recipients, gap = await self._recipients(call, now)
        await emit(
            self.session,
            self._high_risk(call, recipients, gap),
            aggregate_id=call.id,
            occurred_at=now,
            unit_path=call.unit_path,
            actor_id=self.principal.id,
        )
        await self._event(call, CallEventKind.flagged, **self._flag_detail(call, recipients, gap))
        if gap:
            _warn_gap(call)

    async def _recipients(self, call: HotlineCall, now: datetime) -> tuple[list[uuid.UUID], bool]:
        """Who a flag tells: the supervisors on duty now, else (a coverage gap, true) every
        supervisor of the workstation."""
        on_duty = await self.repo.shifts_covering(
            call.unit_path, now, now + timedelta(microseconds=1), DutyRole.supervisor
        )
        recipients = sorted({s.person_id for s in on_duty}, key=str)
        if recipients:
            return recipients, False
        holders = await self.repo.role_holders_over(
            call.unit_path, Role.hotline_supervisor, self.today
        )
        return holders, True

    @staticmethod
    def _high_risk(call: HotlineCall, recipients: list[uuid.UUID], gap: bool) -> HighRiskPayload:
        return HighRiskPayload(
            call_id=call.id,
            unit_id=call.unit_id,
            risk_level=call.risk_level,
            imminent=call.imminent_risk,
            urgent=True,
            recipient_person_ids=recipients,
            coverage_gap=gap,
        )

    @staticmethod
    def _flag_detail(call: HotlineCall, recipients: list[uuid.UUID], gap: bool) -> dict[str, Any]:
        return {
            "risk_level": call.risk_level.value if call.risk_level else None,
            "imminent": call.imminent_risk,
            "recipients": len(recipients),
            "coverage_gap": gap,
        }

    async def tell_case(self, call: HotlineCall) -> None:
        """A change of a call that opened a case, on the case's timeline: that the call
        changed, who and when, nothing of it (counseling content stays on the hotline). The
        entry names the call as the case's link entry does: only its readers see the id."""
        if call.case_id is None:
            return
        await self._cases().record_linked(
            call.case_id,
            CaseEventType.hotline_call_changed,
            body=CALL_CHANGED_NOTE,
            data={"hotline_call_id": str(call.id)},
        )

    def _cases(self) -> CaseService:
        return CaseService(self.session, self.clock, self.settings, self.principal)

    async def _changed(self, call: HotlineCall, kind: CallEventKind, **detail: Any) -> HotlineCall:
        """A change of the call made: its next version and its timeline entry, flushed."""
        call.version += 1
        await self._event(call, kind, **detail)
        await self.session.flush()
        return call

    async def _event(self, call: HotlineCall, kind: CallEventKind, **detail: Any) -> None:
        await call_events.record(self.session, call, kind, **self._by_caller(detail))

    def _entry(
        self, call: HotlineCall, seq: int, kind: CallEventKind, detail: dict[str, Any]
    ) -> dict[str, Any]:
        """A timeline entry's row, as `call_events.record` makes it, for a statement that
        inserts it itself."""
        return call_events.entry_fields(call.id, seq, kind, **self._by_caller(detail))

    def _by_caller(self, detail: dict[str, Any]) -> dict[str, Any]:
        """A timeline entry's time, actor and detail: now, by the caller."""
        p = self.principal
        return {
            "at": self.clock.now(),
            "actor_id": p.id,
            "actor_person_id": p.person_id,
            "actor_name": p.client_id or p.name,
            "detail": detail,
        }

    def _log(self, action: str, call_id: uuid.UUID, **detail: Any) -> None:
        record_access(
            self.session,
            self.principal,
            action=f"hotline.{action}",
            record_type=RECORD_TYPE,
            record_id=call_id,
            **detail,
        )

    def _hash(self, number: str | None) -> str | None:
        profile = self.settings.crypto_profile
        return keyed_hash(self.hash_key, "phone", number, profile) if number else None

    def _seal(self, call: HotlineCall, number: str | None) -> None:
        if number is None:
            call.callback_number_enc = None
            call.callback_key_id = None
            return
        sealed = self.cipher.encrypt(number, context=call.id.bytes)
        call.callback_number_enc = sealed.blob
        call.callback_key_id = sealed.key_id

    def _callback_number(self, call: HotlineCall) -> str | None:
        return self._open_number(call.id, call.callback_number_enc, call.callback_key_id)

    def _open_number(
        self, call_id: uuid.UUID, blob: bytes | None, key_id: str | None
    ) -> str | None:
        if blob is None or key_id is None:
            return None
        try:
            return self.cipher.decrypt(Sealed(key_id, blob), context=call_id.bytes)
        except DecryptionError:
            # A retired key removed too early: the read still works, the number is missing.
            log.error(
                "cannot decrypt a callback number",
                extra={"ctx_call_id": str(call_id), "ctx_key_id": key_id},
            )
            return None

    @staticmethod
    def _duration(call: HotlineCall) -> int | None:
        if call.ended_at is None:
            return None
        return int((call.ended_at - call.started_at).total_seconds())


def _warn_gap(call: HotlineCall) -> None:
    log.warning(
        "high-risk call with no supervisor on duty",
        extra={"ctx_call_id": str(call.id), "ctx_unit_id": str(call.unit_id)},
    )


def _bytea(call: HotlineCall) -> str | None:
    """The sealed number as bytea's text form (JSON has no bytes)."""
    blob = call.callback_number_enc
    return None if blob is None else "\\x" + blob.hex()


_STORED_HALVES = ("ended_at", "follow_up_due", "follow_up_done_at")


def _sent_half(error: dict[str, str], changes: dict[str, Any], call: HotlineCall) -> dict[str, str]:
    """An error about a time paired with the start, when only the start was sent, names the
    start (the field the request can correct) and the stored time it clashes with."""
    name = error["field"].removeprefix("body.")
    if name not in _STORED_HALVES or name in changes or "started_at" not in changes:
        return error
    stored = getattr(call, name).astimezone(CENTER_TZ).isoformat()
    return {"field": "body.started_at", "message": f"{error['message']} (`{name}` stays {stored})"}


def _consistent(errors: rules.FieldErrors) -> None:
    """A call log (new or changed) with any rule broken: 422 with every error, nothing written."""
    if errors:
        raise Unprocessable(
            "The call log is not consistent; see errors.",
            errors=errors,
            code=rules.CALL_LOG_INCONSISTENT,
        )
