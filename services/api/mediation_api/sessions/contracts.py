"""API bodies of mediation sessions. Checks that need no database (end after start, a private
session's reason, the agreement that goes with an `agreement` outcome) happen here, so bad
input is a 422 before anything is read or written."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Self

from pydantic import AfterValidator, Field, model_validator

from mediation.cases.contracts import AgreementIn
from mediation.cases.enums import PartySide
from mediation.contracts.common import Contract, Input, Instant
from mediation.contracts.windows import HeldTime, PastTime, SessionPlanTime
from mediation.imports.contracts import historical_field
from mediation.org.enums import Role
from mediation.sessions.enums import (
    MediatorBody,
    NextStep,
    PrivacyReason,
    SessionEventType,
    SessionKind,
    SessionMode,
    SessionOutcome,
    SessionStatus,
)
from mediation.sessions.rules import MAX_DURATION

Reason = Annotated[str, Field(min_length=1, max_length=2000)]
Place = Annotated[str, Field(min_length=1, max_length=200)]


def _distinct_ids(ids: list[uuid.UUID]) -> list[uuid.UUID]:
    if len(set(ids)) != len(ids):
        raise ValueError("each id may be named once")
    return ids


class MediatorIn(Input):
    """A mediator of the session: a person holding a mediating role (people's mediator,
    judicial mediator, community police officer, legal advisor or counselor) whose
    jurisdiction covers the case."""

    person_id: uuid.UUID = Field(description="The person.")
    lead: bool = Field(False, description="Presides (the first one if none is marked).")


def _distinct_mediators(mediators: list[MediatorIn]) -> list[MediatorIn]:
    _distinct_ids([m.person_id for m in mediators])
    return mediators


Mediators = Annotated[list[MediatorIn], AfterValidator(_distinct_mediators)]
PartyIds = Annotated[list[uuid.UUID], Field(max_length=50), AfterValidator(_distinct_ids)]


def _check_times(starts_at: Any, ends_at: Any, end: str = "ends_at") -> None:
    if starts_at is None or ends_at is None:
        return
    if ends_at <= starts_at:
        raise ValueError(f"`{end}` must be after `starts_at`")
    if ends_at - starts_at > MAX_DURATION:
        raise ValueError("a session lasts at most 12 hours")


def _check_privacy(is_public: bool | None, reason: PrivacyReason | None) -> None:
    if is_public is False and reason is None:
        raise ValueError(
            "a private session needs `privacy_reason` (人民调解法第二十三条: why it is not public)"
        )
    if is_public is True and reason is not None:
        raise ValueError("a public session has no `privacy_reason`")


_EXAMPLE_CREATE: dict[str, Any] = {
    "kind": "people",
    "mode": "on_site",
    "starts_at": "2026-11-28T09:30:00+08:00",
    "ends_at": "2026-11-28T11:00:00+08:00",
    "place": "先锋社区调解室",
    "mediators": [{"person_id": "0195f7a2-8c1e-7000-8000-000000000002", "lead": True}],
    "is_public": False,
    "privacy_reason": "party_request",
    "recording_consent": True,
    "rights_notice_given": True,
    "notes": "请双方携带房屋维修票据",
}
_MINUTES = "双方陈述事实，调解员释明相关法律规定，双方同意由502室修复漏水。"
_AGREEMENT: dict[str, Any] = {
    "form": "written",
    "terms": "502室业主于7日内修复漏水并赔偿402室2000元。",
    "amount": "2000.00",
    "performance_method": "现金一次性支付",
    "signed_by_parties": True,
}


class _Arrangement(Input):
    """What a session is and where: kind, mode, place, mediators, invited parties, public or
    not. Shared by scheduling and by recording a session held already."""

    kind: SessionKind = Field(description="Kind of mediation.")
    mode: SessionMode = Field(SessionMode.on_site, description="On site, video or telephone.")
    place: Place | None = Field(None, description="Room or place (required on site).")
    meeting_info: str | None = Field(
        None, max_length=500, description="Video link, meeting number or dial-in number."
    )
    mediators: Mediators = Field(
        min_length=1, max_length=10, description="Mediators, possibly from several bodies."
    )
    party_ids: PartyIds | None = Field(
        None, max_length=50, description="Parties of the case invited (default: all)."
    )
    is_public: bool = Field(False, description="Held in public (公开调解).")
    privacy_reason: PrivacyReason | None = Field(None, description="Why it is not public.")
    privacy_note: str | None = Field(None, max_length=500, description="More on the reason.")
    recording_consent: bool = Field(False, description="The parties consent to recording.")
    rights_notice_given: bool = Field(
        False, description="The notice of rights and duties (权利义务告知书) was given."
    )
    notes: str | None = Field(None, max_length=5000, description="Notes for the participants.")

    @model_validator(mode="after")
    def _arrangement(self) -> Self:
        _check_privacy(self.is_public, self.privacy_reason)
        if self.mode is SessionMode.on_site and not self.place:
            raise ValueError("an on-site session needs a `place`")
        return self


class _Result(Input):
    """What a session achieved: attendance, the record's summary, outcome, next step and the
    agreement that goes with the outcome `agreement` (and only with it)."""

    attended_party_ids: PartyIds = Field(
        default_factory=list, description="Invited parties who attended."
    )
    minutes: str = Field(
        min_length=1, max_length=20_000, description="Summary of the mediation record."
    )
    outcome: SessionOutcome = Field(description="What the session achieved.")
    next_step: NextStep | None = Field(None, description="What happens next.")
    next_step_note: str | None = Field(None, max_length=2000, description="Details.")
    agreement: AgreementIn | None = Field(
        None,
        description="The agreement (outcome agreement); it takes effect on the session's day "
        "at the earliest.",
    )

    @model_validator(mode="after")
    def _result(self) -> Self:
        if self.outcome is SessionOutcome.agreement and self.agreement is None:
            raise ValueError("the outcome `agreement` needs the `agreement`")
        if self.outcome is not SessionOutcome.agreement and self.agreement is not None:
            raise ValueError("an `agreement` goes only with the outcome `agreement`")
        return self


class SessionCreate(_Arrangement):
    """A session of a case. An on-site session needs a `place` (the room, named fully, e.g.
    先锋社区调解室: a room cannot hold two sessions at once); a video or telephone session may
    give `meeting_info` instead. Omitting `party_ids` invites every party of the case."""

    starts_at: SessionPlanTime = Field(
        description="Planned start (with an offset); not in the past, at most "
        "MEDIATION_SESSION_MAX_DAYS_AHEAD (365) days ahead."
    )
    ends_at: SessionPlanTime = Field(description="Planned end; after the start, within 12 hours.")

    model_config = {"json_schema_extra": {"examples": [_EXAMPLE_CREATE]}}

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _check_times(self.starts_at, self.ends_at)
        return self


class SessionUpdate(Input):
    """Changes to a scheduled session's details; omitted fields stay. Time and place change
    through `reschedule` (with a reason); a changed mediator list is booked again."""

    kind: SessionKind | None = Field(None, description="Kind of mediation.")
    meeting_info: str | None = Field(None, max_length=500, description="Link or number.")
    mediators: Mediators | None = Field(
        None, min_length=1, max_length=10, description="Replaces the mediators."
    )
    party_ids: PartyIds | None = Field(None, max_length=50, description="Replaces the invited.")
    is_public: bool | None = Field(None, description="Held in public.")
    privacy_reason: PrivacyReason | None = Field(None, description="Why it is not public.")
    privacy_note: str | None = Field(None, max_length=500, description="More on the reason.")
    recording_consent: bool | None = Field(None, description="Consent to recording.")
    rights_notice_given: bool | None = Field(None, description="Rights notice given.")
    notes: str | None = Field(None, max_length=5000, description="Notes.")

    model_config = {"json_schema_extra": {"examples": [{"rights_notice_given": True}]}}


class RescheduleIn(Input):
    """Move a scheduled session, with a reason. Place and mode stay unless given. The old time
    stays in the history; reminders already sent for it are not repeated for it, and the new
    time gets its own."""

    starts_at: SessionPlanTime = Field(description="New start; not in the past.")
    ends_at: SessionPlanTime = Field(description="New end.")
    mode: SessionMode | None = Field(None, description="New mode.")
    place: Place | None = Field(None, description="New place.")
    meeting_info: str | None = Field(None, max_length=500, description="New link or number.")
    reason: Reason = Field(description="Why it moves.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "starts_at": "2026-11-29T14:00:00+08:00",
                    "ends_at": "2026-11-29T15:30:00+08:00",
                    "reason": "被申请人出差，申请改期",
                }
            ]
        }
    }

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _check_times(self.starts_at, self.ends_at)
        return self


class CancelIn(Input):
    """Cancel a scheduled session, with a reason; its mediators and room are free again."""

    reason: Reason = Field(description="Why.")

    model_config = {"json_schema_extra": {"examples": [{"reason": "申请人撤回调解申请"}]}}


class OutcomeIn(_Result):
    """After the session: who attended, the summary of the mediation record (调解笔录),
    outcome and next step. `agreement` goes with the outcome `agreement` (and only with it):
    it is recorded on the case, which is resolved, in the same transaction. The mediators and
    the room stay booked until the real end (`ended_at`, earlier or later than planned); a
    mediator who did not attend is free for that time."""

    attended_person_ids: PartyIds | None = Field(
        None, description="Mediators who attended (default: all)."
    )
    ended_at: PastTime | None = Field(
        None,
        description="When it actually ended (default: as planned); after the start, within "
        "12 hours of it, not in the future.",
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "attended_party_ids": ["0195f7a2-8c1e-7000-8000-0000000000a1"],
                    "minutes": _MINUTES,
                    "outcome": "agreement",
                    "next_step": "performance",
                    "agreement": _AGREEMENT,
                }
            ]
        }
    }


class HeldSessionIn(_Arrangement, _Result):
    """A session that was held already, recorded afterwards in one action: on-the-spot
    mediation (当场调解/现场调解) or a meeting nobody planned in the system. Who mediated
    (`mediators`: all of them attended), when (`starts_at`, `ended_at`: in the past, at most
    MEDIATION_SESSION_MAX_DAYS_BACK days ago), where, who was there, the record's summary and
    the outcome. It counts as a held session everywhere (statistics, documents, the case's
    timeline); its mediators and room are booked for that time, so a clash with another
    session is a 409. The outcome `agreement` resolves the case as recording an outcome does.
    Nobody is notified of a meeting that is over."""

    starts_at: HeldTime = Field(description="When it started.")
    ended_at: HeldTime = Field(description="When it ended; after the start, within 12 hours.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "kind": "people",
                    "mode": "on_site",
                    "starts_at": "2026-11-25T15:00:00+08:00",
                    "ended_at": "2026-11-25T15:40:00+08:00",
                    "place": "1号楼1单元楼道（现场调解）",
                    "mediators": [{"person_id": "0195f7a2-8c1e-7000-8000-000000000002"}],
                    "is_public": True,
                    "rights_notice_given": True,
                    "attended_party_ids": [
                        "0195f7a2-8c1e-7000-8000-0000000000a1",
                        "0195f7a2-8c1e-7000-8000-0000000000a2",
                    ],
                    "minutes": _MINUTES,
                    "outcome": "agreement",
                    "next_step": "performance",
                    "agreement": {**_AGREEMENT, "form": "oral", "signed_by_parties": False},
                }
            ]
        }
    }

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _check_times(self.starts_at, self.ended_at, "ended_at")
        return self


# --- output ---------------------------------------------------------------------------
class MediatorOut(Contract):
    """A mediator of the session."""

    person_id: uuid.UUID = Field(description="The person.")
    name: str = Field(description="Name.")
    role: Role = Field(description="The mediating role they sit for.")
    body: MediatorBody = Field(description="The body they come from.")
    lead: bool = Field(description="Presides.")
    attended: bool | None = Field(description="Attended (known once the outcome is recorded).")


class SessionPartyOut(Contract):
    """An invited party (masked unless the reader may see personal data)."""

    party_id: uuid.UUID = Field(description="The case's party.")
    side: PartySide = Field(description="Side.")
    name: str = Field(description="Name (masked, e.g. 张*, without PII permission).")
    attended: bool | None = Field(description="Attended (known once the outcome is recorded).")


class SessionEventOut(Contract):
    """One entry of the session's history."""

    id: uuid.UUID = Field(description="Identifier.")
    seq: int = Field(
        description="Its number in the session's history (1 is `scheduled`); entries are "
        "listed in this order."
    )
    type: SessionEventType = Field(description="What happened.")
    at: Instant = Field(description="When.")
    actor_name: str = Field(description="Who.")
    client_id: str | None = Field(description="The integration client, when one acted.")
    body: str | None = Field(description="Reason or note.")
    data: dict[str, Any] = Field(description="Details (old and new times, changed fields).")


class SessionOut(Contract):
    """A mediation session with its mediators, invited parties, outcome and history."""

    id: uuid.UUID = Field(description="Identifier.")
    historical: bool = historical_field()
    case_id: uuid.UUID = Field(description="The case.")
    case_number: str = Field(description="The case's number.")
    unit_id: uuid.UUID = Field(description="The case's place in the tree (decides who sees it).")
    kind: SessionKind = Field(description="Kind of mediation.")
    mode: SessionMode = Field(description="Mode.")
    status: SessionStatus = Field(description="Status.")
    starts_at: Instant = Field(description="Planned start.")
    ends_at: Instant = Field(description="Planned end.")
    place: str | None = Field(description="Room or place.")
    meeting_info: str | None = Field(description="Link or number.")
    mediators: list[MediatorOut] = Field(description="Mediators.")
    parties: list[SessionPartyOut] = Field(description="Invited parties.")
    pii_masked: bool = Field(description="Whether party names are masked.")
    is_public: bool = Field(description="Held in public.")
    privacy_reason: PrivacyReason | None = Field(description="Why not public.")
    privacy_note: str | None = Field(description="More on the reason.")
    recording_consent: bool = Field(description="Consent to recording.")
    rights_notice_given: bool = Field(description="Rights notice given.")
    notes: str | None = Field(description="Notes.")
    minutes: str | None = Field(description="Summary of the mediation record.")
    outcome: SessionOutcome | None = Field(description="Outcome.")
    next_step: NextStep | None = Field(description="Next step.")
    next_step_note: str | None = Field(description="Next step details.")
    held_ended_at: Instant | None = Field(description="When it actually ended.")
    outcome_recorded_at: Instant | None = Field(description="When the outcome was recorded.")
    cancelled_at: Instant | None = Field(description="When it was cancelled.")
    cancel_reason: str | None = Field(description="Why it was cancelled.")
    reschedule_count: int = Field(description="How often it moved.")
    history: list[SessionEventOut] = Field(description="Everything that happened to it.")
    version: int = Field(description="Increments on every change; the ETag derives from it.")
    created_at: Instant = Field(description="Stored at.")
    updated_at: Instant = Field(description="Last change.")


class SessionListItem(Contract):
    """A session in a list (no personal data)."""

    id: uuid.UUID = Field(description="Identifier.")
    case_id: uuid.UUID = Field(description="The case.")
    case_number: str = Field(description="The case's number.")
    unit_id: uuid.UUID = Field(description="The case's place in the tree.")
    kind: SessionKind = Field(description="Kind.")
    mode: SessionMode = Field(description="Mode.")
    status: SessionStatus = Field(description="Status.")
    starts_at: Instant = Field(description="Planned start.")
    ends_at: Instant = Field(description="Planned end.")
    place: str | None = Field(description="Room or place.")
    mediator_person_ids: list[uuid.UUID] = Field(description="Mediators.")
    party_ids: list[uuid.UUID] = Field(description="Invited parties.")
    outcome: SessionOutcome | None = Field(description="Outcome, once recorded.")
    version: int = Field(description="Version.")


class CalendarFeedOut(Contract):
    """A secret calendar address. Calendar programs cannot send a bearer token, so the token
    is in the address: keep it private; issuing a new one turns the old address off."""

    person_id: uuid.UUID = Field(description="Whose sessions the feed lists.")
    url: str = Field(description="The address to subscribe to (webcal works too).")
    path: str = Field(description="The same, relative to the API's host.")
    token: str = Field(description="The secret token (shown only now).")
    created_at: Instant = Field(description="Issued at.")
