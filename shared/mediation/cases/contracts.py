"""API bodies of dispute cases. Validation that needs no database happens here (so bad input
is a 422 before anything is read or written); rules that need data live in the service."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Self

from pydantic import AfterValidator, Field, model_validator

from mediation.cases.enums import (
    AgreementForm,
    CaseAction,
    CaseEventType,
    CaseSource,
    CaseStatus,
    Complexity,
    DeadlineStage,
    DeadlineUnit,
    FlareUpRisk,
    FollowUpMethod,
    IntakeMode,
    MediationChannel,
    PartyKind,
    PartySide,
    PerformanceStatus,
    PreventionKind,
    ReferralTarget,
    RepeatReason,
    RiskColour,
    Satisfaction,
)
from mediation.contracts.common import Contract, DecimalText, Input, Instant, Money
from mediation.contracts.windows import (
    BIRTH,
    CalendarDay,
    DisputeTime,
    HeldDay,
    PastDay,
    PastTime,
    TermDay,
)
from mediation.org.enums import UnitLevel
from mediation.privacy import birth_date, valid_resident_id

CATEGORY_CODE = r"^[a-z][a-z0-9_]{1,59}$"


PHONE = r"^\+?[0-9][0-9 -]{4,28}$"


def _resident_id(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().upper()
    if not valid_resident_id(value):
        raise ValueError(
            "not a valid 18-digit resident ID number (format, birth date or check digit is wrong)"
        )
    born = birth_date(value)
    try:
        BIRTH.check(born)
    except ValueError as exc:
        raise ValueError(f"its birth date ({born}) {exc}") from None
    return value


ResidentId = Annotated[str, Field(min_length=18, max_length=18), AfterValidator(_resident_id)]
Text200 = Annotated[str, Field(min_length=1, max_length=200)]
Reason = Annotated[str, Field(min_length=1, max_length=2000)]
Note = Annotated[str | None, Field(None, max_length=2000)]


# --- parties --------------------------------------------------------------------------
class GuardianIn(Input):
    """The guardian (监护人) of a minor party."""

    name: Text200 = Field(description="Guardian's name.")
    phone: str | None = Field(None, pattern=PHONE, description="Guardian's phone number.")
    id_number: ResidentId | None = Field(
        None, description="Guardian's resident ID number (born from 1900 to today)."
    )
    relation: str = Field(min_length=1, max_length=40, description="Relation, e.g. 父亲.")


class PartyIn(Input):
    """A party to the dispute. A person may give an 18-digit resident ID number (checked,
    checksum included; the birth date it carries lies from 1900 to today); a minor (by flag
    or by the birth date in the ID number) needs a guardian. An organisation may give its
    unified social credit code."""

    kind: PartyKind = Field(description="Person or organisation.")
    side: PartySide = Field(description="Applicant, respondent or third party.")
    name: Text200 = Field(description="Name of the person or organisation.")
    phone: str | None = Field(None, pattern=PHONE, description="Phone number.")
    id_number: ResidentId | None = Field(
        None, description="Resident ID number (persons; born from 1900 to today)."
    )
    org_code: str | None = Field(
        None, pattern=r"^[0-9A-Z]{18}$", description="Unified social credit code (organisations)."
    )
    is_minor: bool = Field(False, description="Under 18; derived from the ID number too.")
    guardian: GuardianIn | None = Field(None, description="Required for a minor.")
    address: str | None = Field(None, max_length=300, description="Address.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "kind": "person",
                    "side": "respondent",
                    "name": "王五",
                    "phone": "13900003333",
                    "address": "1号楼1单元502室",
                },
                {
                    "kind": "person",
                    "side": "third_party",
                    "name": "小明",
                    "is_minor": True,
                    "guardian": {"name": "王芳", "phone": "13700003333", "relation": "母亲"},
                },
            ]
        }
    }

    @model_validator(mode="after")
    def _kind_fields(self) -> Self:
        if self.kind is PartyKind.organisation:
            if self.id_number or self.guardian or self.is_minor:
                raise ValueError("an organisation has no resident ID number, guardian or age")
        elif self.org_code:
            raise ValueError("a person has no unified social credit code")
        return self


class PartyUpdate(Input):
    """Changes to a party; omitted fields stay. Kind cannot change (remove and add instead)."""

    side: PartySide | None = Field(None, description="Side.")
    name: Text200 | None = Field(None, description="Name.")
    phone: str | None = Field(None, pattern=PHONE, description="Phone number.")
    id_number: ResidentId | None = Field(
        None, description="Resident ID number (born from 1900 to today)."
    )
    org_code: str | None = Field(None, pattern=r"^[0-9A-Z]{18}$", description="Credit code.")
    is_minor: bool | None = Field(None, description="Under 18.")
    guardian: GuardianIn | None = Field(None, description="Guardian.")
    address: str | None = Field(None, max_length=300, description="Address.")

    model_config = {"json_schema_extra": {"examples": [{"phone": "13900001111"}]}}


class GuardianOut(Contract):
    """A minor's guardian (masked like the party)."""

    name: str | None = Field(description="Name (masked without PII permission).")
    phone: str | None = Field(description="Phone (masked without PII permission).")
    id_number: str | None = Field(description="ID number (masked without PII permission).")
    relation: str | None = Field(description="Relation to the minor.")


class PartyOut(Contract):
    """A party; names, phones and ID numbers are masked unless the reader may see them."""

    id: uuid.UUID = Field(description="Identifier.")
    kind: PartyKind = Field(description="Person or organisation.")
    side: PartySide = Field(description="Side.")
    name: str = Field(description="Name (masked, e.g. 张*, without PII permission).")
    phone: str | None = Field(description="Phone (masked, e.g. 139****1111).")
    id_number: str | None = Field(description="ID number (masked, e.g. 220302********1234).")
    org_code: str | None = Field(description="Unified social credit code.")
    is_minor: bool = Field(description="Under 18.")
    guardian: GuardianOut | None = Field(description="Guardian of a minor.")
    address: str | None = Field(description="Address (masked without PII permission).")


# --- intake ---------------------------------------------------------------------------
class PreventionFlag(Input):
    """A prevention flag with the number of people concerned."""

    kind: PreventionKind = Field(description="What may be prevented.")
    people: int = Field(ge=1, le=100_000, description="Number of people concerned.")


def _one_applicant(parties: list[PartyIn]) -> list[PartyIn]:
    if not any(p.side is PartySide.applicant for p in parties):
        raise ValueError("at least one party must be an applicant (申请人)")
    return parties


def _unique_flags(flags: list[PreventionFlag]) -> list[PreventionFlag]:
    kinds = [f.kind for f in flags]
    if len(set(kinds)) != len(kinds):
        raise ValueError("each prevention flag may appear once")
    return flags


class CaseCreate(Input):
    """A new dispute, from any source. `unit_id` places it in the jurisdiction tree (the
    grid, building or unit where it happened) and must lie in the caller's jurisdiction.
    Integration clients send their own `external_ref`: sending the same one again returns the
    case already created (200) instead of a second case."""

    title: Text200 = Field(description="Short title, e.g. 楼上漏水纠纷.")
    facts: str = Field(min_length=1, max_length=20_000, description="Facts (纠纷事实).")
    claims: str | None = Field(None, max_length=10_000, description="Claims (当事人诉求).")
    category: str = Field(
        pattern=CATEGORY_CODE, description="Code of an enabled `dispute_category` reference entry."
    )
    source: CaseSource = Field(description="Where it was reported.")
    complexity: Complexity = Field(Complexity.simple, description="Decides level and limits.")
    risk_colour: RiskColour = Field(RiskColour.yellow, description="Risk colour.")
    unit_id: uuid.UUID = Field(description="Node of the jurisdiction tree where it happened.")
    address: str | None = Field(None, max_length=300, description="Detailed place.")
    occurred_at: DisputeTime | None = Field(None, description="When it happened.")
    amount_involved: Money | None = Field(None, description="Amount involved in yuan.")
    prevention: Annotated[list[PreventionFlag], AfterValidator(_unique_flags)] = Field(
        default_factory=list, max_length=4, description="Prevention flags."
    )
    parties: Annotated[list[PartyIn], AfterValidator(_one_applicant)] = Field(
        min_length=1, max_length=50, description="Parties; at least one applicant."
    )
    external_ref: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        pattern=r"^[\x21-\x7e]+$",
        description="The calling system's own reference (integration clients only).",
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "title": "楼上漏水纠纷",
                    "facts": "1号楼1单元502室卫生间漏水，楼下402室天花板受损，双方协商未果。",
                    "claims": "要求修复漏水并赔偿维修费用。",
                    "category": "neighbourhood",
                    "source": "grid_report",
                    "complexity": "simple",
                    "risk_colour": "yellow",
                    "unit_id": "0195f7a2-8c1e-7000-8000-000000000001",
                    "amount_involved": "3000.00",
                    "prevention": [{"kind": "criminal", "people": 2}],
                    "parties": [
                        {
                            "kind": "person",
                            "side": "applicant",
                            "name": "张三",
                            "phone": "13900001111",
                            "id_number": "11010519491231002X",
                        },
                        {
                            "kind": "person",
                            "side": "respondent",
                            "name": "李四",
                            "phone": "13900002222",
                        },
                    ],
                }
            ]
        }
    }


class CaseUpdate(Input):
    """Changes to a case's details; omitted fields stay. Status changes use the actions."""

    title: Text200 | None = Field(None, description="Title.")
    facts: str | None = Field(None, min_length=1, max_length=20_000, description="Facts.")
    claims: str | None = Field(None, max_length=10_000, description="Claims.")
    category: str | None = Field(None, pattern=CATEGORY_CODE, description="Category code.")
    complexity: Complexity | None = Field(None, description="Complexity (recomputes limits).")
    risk_colour: RiskColour | None = Field(None, description="Risk colour.")
    address: str | None = Field(None, max_length=300, description="Detailed place.")
    occurred_at: DisputeTime | None = Field(None, description="When it happened.")
    amount_involved: Money | None = Field(None, description="Amount involved in yuan.")
    prevention: Annotated[list[PreventionFlag], AfterValidator(_unique_flags)] | None = Field(
        None, max_length=4, description="Replaces all prevention flags."
    )

    model_config = {"json_schema_extra": {"examples": [{"risk_colour": "orange"}]}}


# --- actions --------------------------------------------------------------------------
class HandlerIn(Input):
    """A person to handle the case through a channel."""

    person_id: uuid.UUID = Field(
        description="The person; must hold a handling role whose jurisdiction covers the case."
    )
    channel: MediationChannel = Field(description="Mediation channel.")
    lead: bool = Field(False, description="The lead handler (the first one if none is).")


def _distinct_handlers(handlers: list[HandlerIn]) -> list[HandlerIn]:
    ids = [h.person_id for h in handlers]
    if len(set(ids)) != len(ids):
        raise ValueError("each person may be named once")
    return handlers


Handlers = Annotated[list[HandlerIn], AfterValidator(_distinct_handlers)]
_HANDLER_EXAMPLE = {
    "person_id": "0195f7a2-8c1e-7000-8000-000000000002",
    "channel": "people",
    "lead": True,
}


class AcceptIn(Input):
    """Accept (受理) a received case; complexity and risk may be corrected at the same time."""

    note: Note = Field(None, description="Note for the timeline.")
    complexity: Complexity | None = Field(None, description="Corrected complexity.")
    risk_colour: RiskColour | None = Field(None, description="Corrected risk colour.")

    model_config = {"json_schema_extra": {"examples": [{"note": "符合受理条件"}]}}


class ReasonIn(Input):
    """An action that needs a reason (reject, withdraw, reopen, pause)."""

    reason: Reason = Field(description="Why.")

    model_config = {"json_schema_extra": {"examples": [{"reason": "当事人申请撤回"}]}}


class NoteIn(Input):
    """An action with an optional note."""

    note: Note = Field(None, description="Note for the timeline.")

    model_config = {"json_schema_extra": {"examples": [{"note": "已通知双方当事人"}]}}


class AssignIn(Input):
    """Assign (分派) the case to one or more handlers; several channels make a joint
    mediation (联合调解)."""

    handlers: Handlers = Field(min_length=1, max_length=10, description="Handlers.")
    note: Note = Field(None, description="Note for the timeline.")

    model_config = {"json_schema_extra": {"examples": [{"handlers": [_HANDLER_EXAMPLE]}]}}


class TransferIn(Input):
    """Transfer (移交) the case to other handlers; the current ones step down."""

    handlers: Handlers = Field(min_length=1, max_length=10, description="New handlers.")
    reason: Reason = Field(description="Why.")

    model_config = {
        "json_schema_extra": {
            "examples": [{"handlers": [_HANDLER_EXAMPLE], "reason": "需警民联调"}]
        }
    }


class EscalateIn(Input):
    """Escalate (上报) the case up the tree: by default to the nearest higher level with
    dispatchers; the current handlers step down and that level assigns it again."""

    reason: Reason = Field(description="Why it cannot be resolved at this level.")
    target_unit_id: uuid.UUID | None = Field(
        None, description="A specific higher node (an ancestor of the current handling unit)."
    )
    complexity: Complexity | None = Field(None, description="Corrected complexity.")

    model_config = {"json_schema_extra": {"examples": [{"reason": "涉及多方，网格层面无法化解"}]}}


class AgreementIn(Input):
    """The mediation agreement (调解协议): oral or written, terms, amount, how and when it is
    performed. Judicial confirmation can be requested within 30 days of `effective_on`."""

    form: AgreementForm = Field(description="Oral or written.")
    terms: str = Field(min_length=1, max_length=20_000, description="Agreed terms.")
    amount: Money | None = Field(None, description="Amount covered by the agreement (yuan).")
    performance_method: str = Field(
        min_length=1, max_length=2000, description="How it is performed (履行方式)."
    )
    performance_due_on: TermDay | None = Field(
        None, description="When it is to be performed; not before it takes effect."
    )
    effective_on: HeldDay | None = Field(
        None, description="When it took effect, when reached on an earlier day (default: today)."
    )
    signed_by_parties: bool = Field(False, description="Signed by the parties and mediator.")

    @model_validator(mode="after")
    def _written_is_signed(self) -> Self:
        if self.form is AgreementForm.written and not self.signed_by_parties:
            raise ValueError(
                "a written agreement is signed by the parties and the mediator "
                "(People's Mediation Law Art. 29)"
            )
        return self


class ResolveIn(Input):
    """Mediation succeeded (调解成功) with an agreement."""

    agreement: AgreementIn = Field(description="The agreement.")
    note: Note = Field(None, description="Note for the timeline.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "agreement": {
                        "form": "written",
                        "terms": "502室业主于7日内修复漏水并赔偿402室2000元。",
                        "amount": "2000.00",
                        "performance_method": "现金一次性支付",
                        "performance_due_on": "2026-12-10",
                        "signed_by_parties": True,
                    }
                }
            ]
        }
    }


class FailIn(Input):
    """Mediation failed (调解不成); the case is referred on."""

    referral: ReferralTarget = Field(description="Where it goes next.")
    reason: Reason = Field(description="Why mediation failed and what the parties were told.")

    model_config = {
        "json_schema_extra": {
            "examples": [{"referral": "litigation", "reason": "双方分歧较大，告知诉讼途径"}]
        }
    }


class FollowUpIn(Input):
    """A follow-up visit (回访)."""

    visited_at: PastTime | None = Field(
        None,
        description="When (default: now); after the outcome: not before the agreement took "
        "effect, or the day the mediation was recorded as failed.",
    )
    method: FollowUpMethod = Field(description="How.")
    performance: PerformanceStatus = Field(description="How far the agreement is performed.")
    satisfaction: Satisfaction = Field(description="Parties' satisfaction.")
    flare_up_risk: FlareUpRisk = Field(description="Risk of flare-up.")
    notes: str | None = Field(None, max_length=5000, description="Notes.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "method": "visit",
                    "performance": "full",
                    "satisfaction": "satisfied",
                    "flare_up_risk": "low",
                    "notes": "协议已履行，双方关系缓和",
                }
            ]
        }
    }


class ExtendIn(Input):
    """Extend the running deadline, with a reason (mediation: when both parties agree)."""

    by: int = Field(ge=1, le=365, description="How much longer, in the rule's unit.")
    reason: Reason = Field(description="Why.")
    parties_agreed: bool = Field(
        False, description="Both parties agreed (needed for the mediation stage)."
    )

    model_config = {
        "json_schema_extra": {
            "examples": [{"by": 5, "reason": "双方同意延期", "parties_agreed": True}]
        }
    }


class PerformanceIn(Input):
    """A record of performance of the agreement."""

    performed_on: PastDay = Field(description="When; not before the agreement took effect.")
    status: PerformanceStatus = Field(description="Partial, full or none.")
    amount: Money | None = Field(None, description="Amount paid (yuan).")
    note: str | None = Field(None, max_length=2000, description="Note.")

    model_config = {
        "json_schema_extra": {
            "examples": [{"performed_on": "2026-12-01", "status": "full", "amount": "2000.00"}]
        }
    }


class JudicialConfirmationIn(Input):
    """The parties applied to a court for judicial confirmation (司法确认)."""

    requested_on: PastDay = Field(
        description="Date of the application, within 30 days of the agreement taking effect."
    )
    court: str = Field(min_length=1, max_length=200, description="The court.")

    model_config = {
        "json_schema_extra": {
            "examples": [{"requested_on": "2026-12-05", "court": "四平市铁西区人民法院"}]
        }
    }


class CommentIn(Input):
    """A comment on the case's timeline."""

    body: str = Field(min_length=1, max_length=5000, description="The comment.")

    model_config = {"json_schema_extra": {"examples": [{"body": "已电话联系申请人"}]}}


# --- output ---------------------------------------------------------------------------
class UnitRef(Contract):
    """A node of the jurisdiction tree, briefly."""

    id: uuid.UUID = Field(description="Identifier.")
    code: str = Field(description="Code.")
    name: str = Field(description="Chinese name.")
    level: UnitLevel = Field(description="Level.")


class HandlerOut(Contract):
    """A current handler."""

    person_id: uuid.UUID = Field(description="The person.")
    name: str = Field(description="Name.")
    channel: MediationChannel = Field(description="Channel.")
    lead: bool = Field(description="Lead handler.")
    assumed_at: Instant = Field(description="Since when.")


class DeadlineOut(Contract):
    """A stage's time limit."""

    stage: DeadlineStage = Field(description="Stage.")
    unit: DeadlineUnit = Field(description="Unit of the amounts.")
    amount: int = Field(description="The rule's amount when the stage started.")
    extended_by: int = Field(description="Extensions granted.")
    paused_by: int = Field(description="Time the clock stood still, in the same unit.")
    started_at: Instant = Field(description="When the clock started.")
    due_at: Instant = Field(description="Due time (end of the last day, Asia/Shanghai).")
    provisional: bool = Field(
        description="Counted over a year whose official calendar is not "
        "published yet; recomputed when it is loaded."
    )
    paused: bool = Field(description="The clock is stopped (waiting on a party).")
    met_at: Instant | None = Field(description="When the stage was completed.")
    overdue: bool = Field(description="Running and past due, or completed late.")


class AgreementOut(Contract):
    """The agreement and its performance."""

    form: AgreementForm = Field(description="Oral or written.")
    terms: str = Field(description="Terms.")
    amount: DecimalText | None = Field(description="Amount (yuan).")
    performance_method: str = Field(description="How it is performed.")
    performance_due_on: date | None = Field(description="When it is to be performed.")
    effective_on: date = Field(description="When it took effect.")
    signed_by_parties: bool = Field(description="Signed.")
    judicial_confirmation_until: date = Field(
        description="Last day to apply for judicial confirmation (30 days after effect)."
    )
    judicial_confirmation_requested_on: date | None = Field(description="Applied on.")
    judicial_confirmation_court: str | None = Field(description="Court applied to.")
    performance_status: PerformanceStatus = Field(description="Latest performance status.")


class PerformanceOut(Contract):
    """A performance record."""

    id: uuid.UUID = Field(description="Identifier.")
    performed_on: date = Field(description="When.")
    status: PerformanceStatus = Field(description="Status.")
    amount: DecimalText | None = Field(description="Amount.")
    note: str | None = Field(description="Note.")
    recorded_at: Instant = Field(description="Recorded at.")
    recorded_by_name: str = Field(description="Recorded by.")


class FollowUpOut(Contract):
    """A follow-up visit."""

    id: uuid.UUID = Field(description="Identifier.")
    visited_at: Instant = Field(description="When.")
    method: FollowUpMethod = Field(description="How.")
    performance: PerformanceStatus = Field(description="Performance found.")
    satisfaction: Satisfaction = Field(description="Satisfaction.")
    flare_up_risk: FlareUpRisk = Field(description="Risk of flare-up.")
    notes: str | None = Field(description="Notes.")
    recorded_by_name: str = Field(description="Recorded by.")


class RelatedCaseOut(Contract):
    """An earlier (or later) case linked as the same repeat dispute; only cases the reader
    may see are listed."""

    id: uuid.UUID = Field(description="The other case.")
    number: str = Field(description="Its case number.")
    title: str = Field(description="Its title.")
    status: CaseStatus = Field(description="Its status.")
    received_at: Instant = Field(description="When it came in.")
    reasons: list[RepeatReason] = Field(description="What the cases share.")


class ActorOut(Contract):
    """Who did something: a person or another system."""

    kind: str = Field(description="`user`, `client` or `system` (the service itself).")
    id: uuid.UUID | None = Field(description="User or client id.")
    name: str = Field(description="Name.")
    client_id: str | None = Field(description="The integration client, when one acted.")


class ImportedFrom(Contract):
    """Where a historical case came from."""

    import_id: uuid.UUID = Field(description="The import (`/imports/{id}`).")
    filename: str = Field(description="The uploaded file's name.")
    row: int = Field(description="Its row in the sheet (the header is row 1).")


class CaseOut(Contract):
    """A case with its parties, handlers, deadlines and agreement."""

    id: uuid.UUID = Field(description="Identifier.")
    number: str = Field(description="Case number, e.g. 铁西调〔2026〕0001号.")
    number_ascii: str = Field(description="ASCII form, e.g. 220302-2026-0001.")
    title: str = Field(description="Title.")
    facts: str = Field(description="Facts.")
    claims: str | None = Field(description="Claims.")
    category: str = Field(description="Category code (`dispute_category` reference list).")
    source: CaseSource = Field(description="Source.")
    intake_mode: IntakeMode = Field(description="Proactive, on application, or referred.")
    complexity: Complexity = Field(description="Complexity.")
    risk_colour: RiskColour = Field(description="Risk colour.")
    status: CaseStatus = Field(description="Status.")
    unit: UnitRef = Field(description="Where it happened; decides who may see it.")
    handling_unit: UnitRef = Field(description="The level handling it now.")
    address: str | None = Field(description="Detailed place.")
    occurred_at: Instant | None = Field(description="When it happened.")
    amount_involved: DecimalText | None = Field(description="Amount involved (yuan).")
    prevention: list[PreventionFlag] = Field(description="Prevention flags.")
    parties: list[PartyOut] = Field(description="Parties.")
    pii_masked: bool = Field(description="Whether personal data in this answer is masked.")
    handlers: list[HandlerOut] = Field(description="Current handlers.")
    channels: list[MediationChannel] = Field(description="Channels of the current handlers.")
    external_ref: str | None = Field(description="The integration client's reference.")
    reported_by: ActorOut = Field(description="Who registered it.")
    is_repeat: bool = Field(description="Linked to earlier cases as a repeat dispute.")
    historical: bool = Field(
        False,
        description="Imported from a register (issue 20): no deadlines ran, no notifications "
        "were sent; its timeline has the register's dates and one `imported` entry.",
    )
    imported_from: ImportedFrom | None = Field(
        None, description="The import file and row it came from (historical cases)."
    )
    related_cases: list[RelatedCaseOut] = Field(description="Linked repeat-dispute cases.")
    received_at: Instant = Field(description="Received.")
    accepted_at: Instant | None = Field(description="Accepted.")
    rejected_at: Instant | None = Field(description="Rejected.")
    assigned_at: Instant | None = Field(description="Assigned (latest).")
    mediation_started_at: Instant | None = Field(description="Mediation started.")
    resolved_at: Instant | None = Field(description="Resolved.")
    failed_at: Instant | None = Field(description="Failed.")
    followed_up_at: Instant | None = Field(description="Latest follow-up.")
    closed_at: Instant | None = Field(description="Closed.")
    withdrawn_at: Instant | None = Field(description="Withdrawn.")
    reopened_at: Instant | None = Field(description="Reopened (latest).")
    reason: str | None = Field(description="Reason of the last reject, fail, withdraw, reopen.")
    referral_target: ReferralTarget | None = Field(description="Where a failed case went.")
    paused: bool = Field(description="The clock is stopped, waiting on a party.")
    pause_reason: str | None = Field(description="Why it is paused.")
    current_stage: DeadlineStage | None = Field(description="Stage whose deadline runs now.")
    due_at: Instant | None = Field(description="Due time of the running deadline.")
    due_provisional: bool = Field(description="The running deadline is provisional.")
    overdue: bool = Field(description="The running deadline has passed.")
    deadlines: list[DeadlineOut] = Field(description="Every stage's deadline so far.")
    agreement: AgreementOut | None = Field(description="The agreement, once resolved.")
    available_actions: list[CaseAction] = Field(
        description="Actions the case's state allows and the caller may take now."
    )
    version: int = Field(description="Increments on every change; the ETag derives from it.")
    created_at: Instant = Field(description="Stored at.")
    updated_at: Instant = Field(description="Last change.")


class CaseListItem(Contract):
    """A case in a list (no personal data)."""

    id: uuid.UUID = Field(description="Identifier.")
    number: str = Field(description="Case number.")
    title: str = Field(description="Title.")
    category: str = Field(description="Category code.")
    source: CaseSource = Field(description="Source.")
    complexity: Complexity = Field(description="Complexity.")
    risk_colour: RiskColour = Field(description="Risk colour.")
    status: CaseStatus = Field(description="Status.")
    unit_id: uuid.UUID = Field(description="Where it happened.")
    handling_unit_id: uuid.UUID = Field(description="Level handling it.")
    channels: list[MediationChannel] = Field(description="Channels.")
    handler_person_ids: list[uuid.UUID] = Field(description="Current handlers.")
    is_repeat: bool = Field(description="Repeat dispute.")
    received_at: Instant = Field(description="Received.")
    closed_at: Instant | None = Field(description="Closed.")
    current_stage: DeadlineStage | None = Field(description="Running stage.")
    due_at: Instant | None = Field(description="Due time of the running deadline.")
    overdue: bool = Field(description="Past due.")
    paused: bool = Field(description="Clock stopped.")
    version: int = Field(description="Version.")


class CaseEventOut(Contract):
    """A timeline entry."""

    id: uuid.UUID = Field(description="Identifier.")
    seq: int = Field(
        description="Its number on the case's timeline (1 is `created`); entries are listed "
        "in this order."
    )
    type: CaseEventType = Field(description="What happened.")
    at: Instant = Field(description="When.")
    actor: ActorOut = Field(description="Who, and through which client.")
    from_status: CaseStatus | None = Field(description="Status before.")
    to_status: CaseStatus | None = Field(description="Status after.")
    body: str | None = Field(description="Comment, reason or note.")
    data: dict[str, object] = Field(description="Details of the change (ids, fields).")


# --- calendar and rules -----------------------------------------------------------------
class NamedDate(Input):
    """A date with a name (a holiday, or a working day moved to a weekend)."""

    date: CalendarDay = Field(description="The day (in the year loaded).")
    name: str = Field(min_length=1, max_length=100, description="e.g. 春节 or 春节调休上班.")


class CalendarYearIn(Input):
    """A year's official schedule as announced by the State Council: the days off (holidays,
    including weekdays given off) and the weekend days that are working days (调休).
    Every other weekday is a working day, every other weekend day a rest day."""

    holidays: list[NamedDate] = Field(max_length=60, description="Days off.")
    working_weekends: list[NamedDate] = Field(
        max_length=20, description="Weekend days that are working days."
    )
    source: str = Field(
        min_length=1, max_length=200, description="Where it comes from, e.g. 国办发明电〔2026〕X号."
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "holidays": [{"date": "2027-01-01", "name": "元旦"}],
                    "working_weekends": [{"date": "2027-02-20", "name": "春节调休上班"}],
                    "source": "国务院办公厅关于2027年部分节假日安排的通知",
                }
            ]
        }
    }


class CalendarYearOut(Contract):
    """A year of the working-day calendar."""

    year: int = Field(description="The year.")
    provisional: bool = Field(
        description="Not officially loaded: an estimate (weekends and "
        "fixed holidays) that deadlines treat as provisional."
    )
    source: str = Field(description="Where the data comes from.")
    working_days: int = Field(description="Number of working days.")
    holidays: list[NamedDate] = Field(description="Weekdays and weekend days that are holidays.")
    working_weekends: list[NamedDate] = Field(description="Weekend days that are working days.")
    recomputed_cases: int = Field(0, description="Cases whose deadlines were recomputed (PUT).")


class DeadlineRuleOut(Contract):
    """How long a stage may take for a complexity."""

    stage: DeadlineStage = Field(description="Stage.")
    complexity: Complexity = Field(description="Complexity.")
    unit: DeadlineUnit = Field(description="Unit.")
    amount: int = Field(description="Amount.")
    version: int = Field(description="Version; the ETag derives from it.")


class DeadlineRuleIn(Input):
    """A new limit; applies to stages that start from now on."""

    unit: DeadlineUnit = Field(description="Unit.")
    amount: int = Field(ge=1, le=365 * 24, description="Amount.")

    model_config = {"json_schema_extra": {"examples": [{"unit": "working_days", "amount": 5}]}}
