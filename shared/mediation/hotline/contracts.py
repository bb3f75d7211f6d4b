"""API bodies of the hotline: call logs, their timeline, the duty roster, and the payload of
the `hotline.high_risk` outbox event."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from mediation.cases.contracts import CaseCreate
from mediation.cases.enums import CaseSource
from mediation.contracts.common import Contract, Input, Instant
from mediation.contracts.windows import CallTime, HotlinePlanTime
from mediation.hotline.enums import (
    AgeBand,
    BufferFactor,
    CallAction,
    CallChannel,
    CallEventKind,
    CallType,
    CapabilityFactor,
    DesireFactor,
    DutyRole,
    Gender,
    IntentFactor,
    ReviewOutcome,
    RiskLevel,
)
from mediation.imports.contracts import historical_field

PHONE_PATTERN = r"^\+?[0-9][0-9 \-]{5,24}$"
TOPIC_PATTERN = r"^[a-z][a-z0-9_]{1,59}$"

Phone = Annotated[str, StringConstraints(pattern=PHONE_PATTERN, max_length=26)]
TopicCode = Annotated[str, StringConstraints(pattern=TOPIC_PATTERN)]


# --- the risk assessment ----------------------------------------------------------------
class RiskAssessment(Input):
    """Structured suicide-risk assessment: desire, capability, intent and buffers. The level
    and imminence are set beside it (`risk_level`, `imminent_risk`)."""

    suicidal_desire: bool = Field(description="Suicidal desire present (自杀愿望).")
    desire_factors: list[DesireFactor] = Field(
        default_factory=list, max_length=10, description="Signs of desire observed."
    )
    suicidal_capability: bool = Field(description="Capability to act present (自杀能力).")
    capability_factors: list[CapabilityFactor] = Field(
        default_factory=list, max_length=10, description="Signs of capability observed."
    )
    suicidal_intent: bool = Field(description="Suicidal intent present (自杀意图).")
    intent_factors: list[IntentFactor] = Field(
        default_factory=list, max_length=10, description="Signs of intent observed."
    )
    buffers: list[BufferFactor] = Field(
        default_factory=list, max_length=10, description="Protective factors (缓冲因素)."
    )
    notes: str | None = Field(None, max_length=2000, description="The counselor's notes.")


# --- calls: input -------------------------------------------------------------------------
class CallerIn(Input):
    """Who called. Anonymous by default; a callback number is kept only with consent."""

    anonymous: bool = Field(True, description="The caller gave no name.")
    alias: str | None = Field(
        None,
        min_length=1,
        max_length=50,
        description="How the caller wishes to be addressed (not anonymous).",
    )
    age_band: AgeBand | None = Field(None, description="Age band; required for a minor.")
    gender: Gender | None = Field(None, description="Gender, as told or perceived.")
    is_minor: bool | None = Field(
        None, description="Whether the caller is under 18; null if unknown."
    )
    number: Phone | None = Field(
        None,
        description="The number the call came from, if shown. Only a keyed hash of it is "
        "kept, to recognise repeat callers; the number itself is never stored.",
    )
    callback_consent: bool = Field(False, description="The caller agreed to be called back.")
    callback_number: Phone | None = Field(
        None, description="Number to call back; needs `callback_consent`. Stored encrypted."
    )


class CallerUpdate(Input):
    """Changes to the caller; omitted fields stay as they are."""

    anonymous: bool | None = Field(None, description="The caller gave no name.")
    alias: str | None = Field(None, min_length=1, max_length=50, description="Alias or name.")
    age_band: AgeBand | None = Field(None, description="Age band.")
    gender: Gender | None = Field(None, description="Gender.")
    is_minor: bool | None = Field(None, description="Under 18.")
    number: Phone | None = Field(None, description="Number the call came from (hashed only).")
    callback_consent: bool | None = Field(
        None, description="Consent to be called back; withdrawing it deletes the number."
    )
    callback_number: Phone | None = Field(
        None, description="Number to call back (needs consent); null removes it."
    )


_CREATE_EXAMPLE = {
    "started_at": "2026-11-26T09:40:00+08:00",
    "ended_at": "2026-11-26T09:58:00+08:00",
    "channel": "phone",
    "call_type": "valid",
    "caller": {
        "anonymous": True,
        "age_band": "14_17",
        "gender": "female",
        "is_minor": True,
        "number": "13912345678",
        "callback_consent": True,
        "callback_number": "13912345678",
    },
    "topics": ["minors_mental_health"],
    "risk_level": "medium",
    "imminent_risk": False,
    "risk_assessment": {
        "suicidal_desire": True,
        "desire_factors": ["hopelessness"],
        "suicidal_capability": False,
        "suicidal_intent": True,
        "intent_factors": ["expressed_intent"],
        "buffers": ["immediate_support", "engagement"],
    },
    "actions": ["counseling", "safety_plan", "guardian_contacted"],
    "summary": "来电者因学业压力情绪低落，已制定安全计划。",
    "follow_up_due": "2026-11-27T10:00:00+08:00",
}


class CallCreate(Input):
    """A new call log."""

    unit_id: uuid.UUID | None = Field(
        None,
        description="The workstation (unit) that took the call; defaults to the caller's "
        "own workstation when there is one.",
    )
    counselor_id: uuid.UUID | None = Field(
        None,
        description="Person who took the call; defaults to you. Only supervisors log "
        "calls for someone else.",
    )
    started_at: CallTime = Field(description="When the call started (RFC 3339).")
    ended_at: CallTime | None = Field(None, description="When it ended; not before start.")
    channel: CallChannel = Field(CallChannel.phone, description="How the call came in.")
    call_type: CallType = Field(description="Kind of call.")
    caller: CallerIn = Field(default_factory=CallerIn, description="The caller.")
    topics: list[TopicCode] = Field(
        default_factory=list,
        max_length=10,
        description="Codes of the `hotline_topic` reference list (enabled entries).",
    )
    risk_level: RiskLevel | None = Field(
        None, description="Overall risk level; needs `risk_assessment`."
    )
    imminent_risk: bool = Field(
        False,
        description="Imminent risk (needs an assessment and level "
        "high); notifies the supervisor on duty at once.",
    )
    risk_assessment: RiskAssessment | None = Field(None, description="The structured assessment.")
    actions: list[CallAction] = Field(
        default_factory=list, max_length=10, description="What was done."
    )
    referral_to: str | None = Field(
        None, max_length=200, description="Where the caller was referred, if anywhere."
    )
    summary: str | None = Field(None, max_length=4000, description="The counselor's record.")
    follow_up_due: HotlinePlanTime | None = Field(None, description="When to follow up.")

    model_config = {"json_schema_extra": {"examples": [_CREATE_EXAMPLE]}}


class CallUpdate(Input):
    """Corrections and additions to a call; omitted fields stay as they are."""

    started_at: CallTime | None = Field(None, description="When the call started.")
    ended_at: CallTime | None = Field(None, description="When it ended.")
    channel: CallChannel | None = Field(None, description="How the call came in.")
    call_type: CallType | None = Field(None, description="Kind of call.")
    caller: CallerUpdate | None = Field(None, description="Changes to the caller.")
    topics: list[TopicCode] | None = Field(None, max_length=10, description="Topic codes.")
    risk_level: RiskLevel | None = Field(None, description="Overall risk level.")
    imminent_risk: bool | None = Field(None, description="Imminent risk.")
    risk_assessment: RiskAssessment | None = Field(None, description="The whole assessment.")
    actions: list[CallAction] | None = Field(None, max_length=10, description="What was done.")
    referral_to: str | None = Field(None, max_length=200, description="Referral.")
    summary: str | None = Field(None, max_length=4000, description="The counselor's record.")
    follow_up_due: HotlinePlanTime | None = Field(None, description="When to follow up.")
    follow_up_done_at: CallTime | None = Field(None, description="When the follow-up was done.")
    follow_up_note: str | None = Field(None, max_length=4000, description="Follow-up record.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"follow_up_done_at": "2026-11-27T10:05:00+08:00", "follow_up_note": "情绪平稳。"},
                {
                    "risk_level": "high",
                    "imminent_risk": True,
                    "risk_assessment": {
                        "suicidal_desire": True,
                        "suicidal_capability": True,
                        "capability_factors": ["available_means"],
                        "suicidal_intent": True,
                        "intent_factors": ["plan_with_method"],
                    },
                },
            ]
        }
    }


class AcknowledgeIn(Input):
    """A supervisor takes charge of a flagged call."""

    note: str | None = Field(None, max_length=1000, description="What the supervisor did.")

    model_config = {"json_schema_extra": {"examples": [{"note": "已电话联系咨询师，跟进中。"}]}}


class ReviewIn(Input):
    """A supervisor's review of how a call was handled."""

    outcome: ReviewOutcome = Field(description="The verdict.")
    comment: str = Field(min_length=1, max_length=4000, description="The review.")

    model_config = {
        "json_schema_extra": {
            "examples": [{"outcome": "appropriate", "comment": "风险评估完整，处置及时。"}]
        }
    }


# --- calls: output ------------------------------------------------------------------------
class CallerOut(Contract):
    """The caller as stored."""

    anonymous: bool = Field(description="The caller gave no name.")
    alias: str | None = Field(description="Alias, if not anonymous.")
    age_band: AgeBand | None = Field(description="Age band.")
    gender: Gender | None = Field(description="Gender.")
    is_minor: bool | None = Field(description="Under 18.")
    callback_consent: bool = Field(description="Consent to be called back.")
    callback_number: str | None = Field(
        description="Unmasked callback number: only on a single call's read by a counselor "
        "or supervisor of the workstation, and that read is written to the access log."
    )
    callback_number_masked: str | None = Field(description="Masked callback number.")
    repeat_caller: bool = Field(
        description="Other calls from the same number exist (recognised "
        "by a keyed hash, never by the number)."
    )
    previous_calls: int = Field(description="How many earlier calls came from the same number.")


class FlagOut(Contract):
    """High or imminent risk: flagged until a supervisor acknowledges."""

    flagged: bool = Field(description="Waiting for a supervisor's acknowledgement.")
    flagged_at: Instant | None = Field(description="When the call was flagged.")
    acknowledged_at: Instant | None = Field(description="When a supervisor acknowledged it.")
    acknowledged_by: uuid.UUID | None = Field(description="Person who acknowledged it.")
    acknowledged_by_name: str | None = Field(description="Their name.")
    note: str | None = Field(description="The acknowledgement note.")


class ReviewOut(Contract):
    """A supervisor's review."""

    reviewed_at: Instant = Field(description="When.")
    reviewed_by: uuid.UUID = Field(description="Person who reviewed.")
    reviewed_by_name: str | None = Field(description="Their name.")
    outcome: ReviewOutcome = Field(description="The verdict.")
    comment: str | None = Field(description="The review.")


class CallOut(Contract):
    """One call log, as read by a counselor or supervisor of its workstation."""

    id: uuid.UUID = Field(description="Identifier.")
    historical: bool = historical_field()
    unit_id: uuid.UUID = Field(description="The workstation that took the call.")
    counselor_id: uuid.UUID = Field(description="Person who took the call.")
    counselor_name: str | None = Field(description="Their name.")
    started_at: Instant = Field(description="Start.")
    ended_at: Instant | None = Field(description="End.")
    duration_seconds: int | None = Field(description="Length of the call.")
    channel: CallChannel = Field(description="How the call came in.")
    call_type: CallType = Field(description="Kind of call.")
    caller: CallerOut = Field(description="The caller.")
    topics: list[str] = Field(description="Topic codes (`hotline_topic` reference list).")
    risk_level: RiskLevel | None = Field(description="Overall risk level.")
    imminent_risk: bool = Field(description="Imminent risk.")
    risk_assessment: RiskAssessment | None = Field(description="The structured assessment.")
    minimum_risk_level: RiskLevel | None = Field(
        description="The lowest level the assessment allows (desire+capability+intent: high)."
    )
    actions: list[CallAction] = Field(description="What was done.")
    referral_to: str | None = Field(description="Referral.")
    summary: str | None = Field(description="The counselor's record.")
    follow_up_due: Instant | None = Field(description="When to follow up.")
    follow_up_done_at: Instant | None = Field(description="When it was done.")
    follow_up_note: str | None = Field(description="Follow-up record.")
    flag: FlagOut = Field(description="High-risk flag and its acknowledgement.")
    review: ReviewOut | None = Field(description="The supervisor's review, once given.")
    case_id: uuid.UUID | None = Field(description="Dispute case opened from this call.")
    deidentified_at: Instant | None = Field(
        description="When the retention job removed the callback number and caller details."
    )
    version: int = Field(description="Increments on every change; the ETag derives from it.")
    created_at: Instant = Field(description="When it was logged.")
    updated_at: Instant = Field(description="Last change.")


class CallListItem(Contract):
    """A call in a list: no record text, no assessment details, the number masked."""

    id: uuid.UUID = Field(description="Identifier.")
    unit_id: uuid.UUID = Field(description="The workstation.")
    counselor_id: uuid.UUID = Field(description="Person who took the call.")
    counselor_name: str | None = Field(description="Their name.")
    started_at: Instant = Field(description="Start.")
    ended_at: Instant | None = Field(description="End.")
    duration_seconds: int | None = Field(description="Length of the call.")
    channel: CallChannel = Field(description="How the call came in.")
    call_type: CallType = Field(description="Kind of call.")
    caller_anonymous: bool = Field(description="The caller gave no name.")
    caller_age_band: AgeBand | None = Field(description="Age band.")
    caller_is_minor: bool | None = Field(description="Under 18.")
    callback_number_masked: str | None = Field(description="Masked callback number.")
    repeat_caller: bool = Field(description="Other calls from the same number exist.")
    topics: list[str] = Field(description="Topic codes.")
    risk_level: RiskLevel | None = Field(description="Overall risk level.")
    imminent_risk: bool = Field(description="Imminent risk.")
    flagged: bool = Field(description="Waiting for a supervisor's acknowledgement.")
    follow_up_due: Instant | None = Field(description="When to follow up.")
    follow_up_done_at: Instant | None = Field(description="When it was done.")
    reviewed: bool = Field(description="A supervisor has reviewed it.")
    case_id: uuid.UUID | None = Field(description="Dispute case opened from this call.")


class CallEventOut(Contract):
    """An entry of a call's timeline."""

    id: uuid.UUID = Field(description="Identifier.")
    seq: int = Field(
        description="Its number on the call's timeline (1 is `created`); entries are listed "
        "in this order."
    )
    at: Instant = Field(description="When.")
    kind: CallEventKind = Field(description="What happened.")
    actor_person_id: uuid.UUID | None = Field(description="Who (null: the system).")
    actor_name: str = Field(description="Their name, or `system`.")
    detail: dict[str, object] = Field(description="Which fields changed, notes, links.")


# --- duty roster --------------------------------------------------------------------------
class DutyShiftCreate(Input):
    """A person on hotline duty for a time span."""

    unit_id: uuid.UUID | None = Field(None, description="The workstation; defaults to yours.")
    person_id: uuid.UUID = Field(
        description="Who is on duty: a counselor or a workstation "
        "supervisor (supervisor duty needs the supervisor role)."
    )
    duty_role: DutyRole = Field(description="On duty as supervisor or counselor.")
    starts_at: HotlinePlanTime = Field(description="Start of the shift.")
    ends_at: HotlinePlanTime = Field(
        description="End of the shift (exclusive); after the start, at most 7 days later."
    )
    note: str | None = Field(None, max_length=500, description="Remarks (phone-on-call...).")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "person_id": "0192f0a0-0000-7000-8000-000000000001",
                    "duty_role": "supervisor",
                    "starts_at": "2026-11-26T08:00:00+08:00",
                    "ends_at": "2026-11-26T20:00:00+08:00",
                }
            ]
        }
    }


class DutyShiftUpdate(Input):
    """Changes to a shift; omitted fields stay as they are."""

    person_id: uuid.UUID | None = Field(None, description="Who is on duty.")
    duty_role: DutyRole | None = Field(None, description="Supervisor or counselor duty.")
    starts_at: HotlinePlanTime | None = Field(None, description="Start.")
    ends_at: HotlinePlanTime | None = Field(None, description="End (exclusive).")
    note: str | None = Field(None, max_length=500, description="Remarks.")

    model_config = {"json_schema_extra": {"examples": [{"ends_at": "2026-11-26T22:00:00+08:00"}]}}


class DutyShiftOut(Contract):
    """A shift of the duty roster."""

    id: uuid.UUID = Field(description="Identifier.")
    unit_id: uuid.UUID = Field(description="The workstation.")
    person_id: uuid.UUID = Field(description="Who is on duty.")
    person_name: str | None = Field(description="Their name.")
    duty_role: DutyRole = Field(description="Supervisor or counselor duty.")
    starts_at: Instant = Field(description="Start.")
    ends_at: Instant = Field(description="End (exclusive).")
    note: str | None = Field(description="Remarks.")
    version: int = Field(description="Increments on every change; the ETag derives from it.")
    created_at: Instant = Field(description="Created.")
    updated_at: Instant = Field(description="Last change.")


class OnDutyOut(Contract):
    """Someone on duty now."""

    person_id: uuid.UUID = Field(description="Who.")
    name: str | None = Field(description="Their name.")
    duty_role: DutyRole = Field(description="Supervisor or counselor duty.")
    shift_id: uuid.UUID = Field(description="Their shift.")
    starts_at: Instant = Field(description="Shift start.")
    ends_at: Instant = Field(description="Shift end.")


class DutyNowOut(Contract):
    """Who is on duty at a workstation right now."""

    unit_id: uuid.UUID = Field(description="The workstation.")
    at: Instant = Field(description="The instant asked about.")
    supervisors: list[OnDutyOut] = Field(description="Supervisors on duty.")
    counselors: list[OnDutyOut] = Field(description="Counselors on duty.")
    coverage_gap: bool = Field(
        description="No supervisor is on duty: a high-risk call would go "
        "to every supervisor of the workstation."
    )


class CoverageGapOut(Contract):
    """A span nobody covers."""

    starts_at: Instant = Field(description="Start of the gap.")
    ends_at: Instant = Field(description="End of the gap.")
    minutes: int = Field(description="Length in minutes (rounded up).")


class CoverageOut(Contract):
    """24-hour coverage of the roster over a window."""

    unit_id: uuid.UUID = Field(description="The workstation.")
    duty_role: DutyRole = Field(description="Which duty was checked.")
    starts_at: Instant = Field(description="Window start.")
    ends_at: Instant = Field(description="Window end.")
    fully_covered: bool = Field(description="No gap in the window.")
    covered_minutes: int = Field(description="Minutes covered by at least one shift.")
    gaps: list[CoverageGapOut] = Field(description="Uncovered spans, in order.")


# --- opening a dispute case from a call ---------------------------------------------------
class OpenCaseIn(CaseCreate):
    """The dispute case to open from a call: the same body as registering a case, with the
    source fixed to `hotline`. Nothing of the call is copied: write the dispute's facts and
    parties for the case, leaving out the caller's mental health (PIPL Art. 28)."""

    source: Literal[CaseSource.hotline] = Field(CaseSource.hotline, description="Always `hotline`.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "title": "婚姻家庭纠纷",
                    "facts": "来电人与配偶因家庭财产分配发生争执，希望社区调解。",
                    "category": "marriage_family",
                    "complexity": "simple",
                    "risk_colour": "orange",
                    "unit_id": "0195f7a2-8c1e-7000-8000-000000000001",
                    "parties": [
                        {
                            "kind": "person",
                            "side": "applicant",
                            "name": "王女士",
                            "phone": "13912345678",
                        },
                        {"kind": "person", "side": "respondent", "name": "李先生"},
                    ],
                }
            ]
        }
    }


class OpenCaseOut(Contract):
    """The case opened and the call, now linked to it."""

    case_id: uuid.UUID = Field(description="The new case (`/api/v1/cases/{case_id}`).")
    case_number: str = Field(description="Its number, e.g. 铁西调〔2026〕0001号.")
    call: CallOut = Field(description="The call with `case_id` set (callback number masked).")
