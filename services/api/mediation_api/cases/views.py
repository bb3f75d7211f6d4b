"""Building what a reader sees of a case: personal data masked unless the reader's role needs
it (and logged when it is shown), related cases limited to the reader's scope."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.access_log import record_access
from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.cases import lifecycle
from mediation.cases.contracts import (
    ActorOut,
    AgreementOut,
    CaseListItem,
    CaseOut,
    DeadlineOut,
    GuardianOut,
    HandlerOut,
    PartyOut,
    PreventionFlag,
    RelatedCaseOut,
    UnitRef,
)
from mediation.cases.enums import CaseAction, MediationChannel, PartyKind, PreventionKind
from mediation.cases.models import Case, CaseDeadline, CaseParty
from mediation.privacy import mask_id_number, mask_name, mask_phone
from mediation_api.cases.repository import CaseRepository

PREVENTION_COLUMNS: dict[PreventionKind, str] = {
    PreventionKind.criminal: "prevent_criminal",
    PreventionKind.group_petition: "prevent_group_petition",
    PreventionKind.suicide: "prevent_suicide",
    PreventionKind.group_fight: "prevent_group_fight",
}


def _mask_address(value: str | None) -> str | None:
    # Keep the coarse part (district, street) that staff need to route a case.
    return value if not value else value[:6] + "*" * max(0, min(len(value) - 6, 8))


def party_out(p: CaseParty, unmasked: bool) -> PartyOut:
    if unmasked:
        guardian = GuardianOut(
            name=p.guardian_name,
            phone=p.guardian_phone,
            id_number=p.guardian_id_number,
            relation=p.guardian_relation,
        )
        return PartyOut(
            id=p.id,
            kind=p.kind,
            side=p.side,
            name=p.name,
            phone=p.phone,
            id_number=p.id_number,
            org_code=p.org_code,
            is_minor=p.is_minor,
            guardian=guardian if p.guardian_name else None,
            address=p.address,
        )
    guardian = GuardianOut(
        name=mask_name(p.guardian_name),
        phone=mask_phone(p.guardian_phone),
        id_number=mask_id_number(p.guardian_id_number),
        relation=p.guardian_relation,
    )
    # An organisation's name and address are not personal information.
    org = p.kind == PartyKind.organisation
    return PartyOut(
        id=p.id,
        kind=p.kind,
        side=p.side,
        name=p.name if org else (mask_name(p.name) or ""),
        phone=mask_phone(p.phone),
        id_number=mask_id_number(p.id_number),
        org_code=p.org_code,
        is_minor=p.is_minor,
        guardian=guardian if p.guardian_name else None,
        address=p.address if org else _mask_address(p.address),
    )


def is_overdue(d: CaseDeadline, now: datetime) -> bool:
    if d.met_at is not None:
        return d.met_at > d.due_at
    return d.paused_since is None and d.due_at < now


def case_overdue(case: Case, now: datetime) -> bool:
    return case.due_at is not None and case.paused_at is None and case.due_at < now


def prevention(case: Case) -> list[PreventionFlag]:
    return [
        PreventionFlag(kind=k, people=getattr(case, col))
        for k, col in PREVENTION_COLUMNS.items()
        if getattr(case, col)
    ]


def available_actions(case: Case, principal: Principal) -> list[CaseAction]:
    is_handler = principal.person_id is not None and principal.person_id in case.handler_person_ids
    return [
        a
        for a in lifecycle.allowed_actions(case.status, case.paused_at is not None)
        if lifecycle.may_perform(a, principal.permissions, is_handler)
    ]


def list_item(case: Case, now: datetime) -> CaseListItem:
    return CaseListItem(
        id=case.id,
        number=case.number,
        title=case.title,
        category=case.category_code,
        source=case.source,
        complexity=case.complexity,
        risk_colour=case.risk_colour,
        status=case.status,
        unit_id=case.unit_id,
        handling_unit_id=case.handling_unit_id,
        channels=[MediationChannel(c) for c in case.channels],
        handler_person_ids=list(case.handler_person_ids),
        is_repeat=case.is_repeat,
        received_at=case.received_at,
        closed_at=case.closed_at,
        current_stage=case.current_stage,
        due_at=case.due_at,
        overdue=case_overdue(case, now),
        paused=case.paused_at is not None,
        version=case.version,
    )


async def case_out(
    session: AsyncSession, repo: CaseRepository, case: Case, principal: Principal, now: datetime
) -> CaseOut:
    parties = await repo.parties(case.id)
    unmasked = principal.can(Permission.pii_read)
    if unmasked and parties:
        record_access(
            session,
            principal,
            action="read_unmasked",
            record_type="case",
            record_id=case.id,
            subject_ids=[p.id for p in parties],
            case_number=case.number,
        )
    handlers = await repo.active_handlers(case.id)
    deadlines = await repo.deadlines(case.id)
    agreement = await repo.agreement(case.id)
    related = await repo.related(case.id, principal)
    units = await repo.units({case.unit_id, case.handling_unit_id})
    unit, handling = units[case.unit_id], units[case.handling_unit_id]
    return CaseOut(
        id=case.id,
        number=case.number,
        number_ascii=case.number_ascii,
        title=case.title,
        facts=case.facts,
        claims=case.claims,
        category=case.category_code,
        source=case.source,
        intake_mode=case.source.intake_mode,
        complexity=case.complexity,
        risk_colour=case.risk_colour,
        status=case.status,
        unit=UnitRef(id=unit.id, code=unit.code, name=unit.name, level=unit.level),
        handling_unit=UnitRef(
            id=handling.id, code=handling.code, name=handling.name, level=handling.level
        ),
        address=case.address,
        occurred_at=case.occurred_at,
        amount_involved=case.amount_involved,
        prevention=prevention(case),
        parties=[party_out(p, unmasked) for p in parties],
        pii_masked=not unmasked,
        handlers=[
            HandlerOut(
                person_id=h.person_id,
                name=name,
                channel=h.channel,
                lead=h.is_lead,
                assumed_at=h.assumed_at,
            )
            for h, name in handlers
        ],
        channels=[MediationChannel(c) for c in case.channels],
        external_ref=case.external_ref,
        reported_by=ActorOut(
            kind=case.reported_by_kind,
            id=case.reported_by_id,
            name=case.reported_by_name,
            client_id=None,
        ),
        is_repeat=case.is_repeat,
        related_cases=[
            RelatedCaseOut(
                id=c.id,
                number=c.number,
                title=c.title,
                status=c.status,
                received_at=c.received_at,
                reasons=reasons,
            )
            for c, reasons in related
        ],
        received_at=case.received_at,
        accepted_at=case.accepted_at,
        rejected_at=case.rejected_at,
        assigned_at=case.assigned_at,
        mediation_started_at=case.mediation_started_at,
        resolved_at=case.resolved_at,
        failed_at=case.failed_at,
        followed_up_at=case.followed_up_at,
        closed_at=case.closed_at,
        withdrawn_at=case.withdrawn_at,
        reopened_at=case.reopened_at,
        reason=case.reason,
        referral_target=case.referral_target,
        paused=case.paused_at is not None,
        pause_reason=case.pause_reason,
        current_stage=case.current_stage,
        due_at=case.due_at,
        due_provisional=case.due_provisional,
        overdue=case_overdue(case, now),
        deadlines=[
            DeadlineOut(
                stage=d.stage,
                unit=d.unit,
                amount=d.amount,
                extended_by=d.extended_by,
                paused_by=d.paused_by,
                started_at=d.started_at,
                due_at=d.due_at,
                provisional=d.provisional,
                paused=d.paused_since is not None,
                met_at=d.met_at,
                overdue=is_overdue(d, now),
            )
            for d in deadlines
        ],
        agreement=AgreementOut.model_validate(agreement) if agreement else None,
        available_actions=available_actions(case, principal),
        version=case.version,
        created_at=case.created_at,
        updated_at=case.updated_at,
    )
