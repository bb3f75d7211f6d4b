"""What a reader sees of a session: party names masked unless the reader's role needs them
(and logged when shown), the mediators with their bodies, the history."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.access_log import log_access
from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.cases.enums import PartyKind
from mediation.privacy import mask_name
from mediation.sessions.enums import SessionStatus
from mediation.sessions.models import MediationSession, SessionEvent
from mediation_api.sessions.contracts import (
    MediatorOut,
    SessionEventOut,
    SessionListItem,
    SessionOut,
    SessionPartyOut,
)
from mediation_api.sessions.repository import SessionRepository
from mediation_api.shown import shown


def list_item(ms: MediationSession) -> SessionListItem:
    return shown(SessionListItem, ms)


async def session_out(
    db: AsyncSession, repo: SessionRepository, ms: MediationSession, principal: Principal
) -> SessionOut:
    held = ms.status is SessionStatus.held
    invited = [p for p in await repo.parties(ms.case_id) if p.id in set(ms.party_ids)]
    unmasked = principal.can(Permission.pii_read)
    if unmasked and invited:
        await log_access(
            db,
            principal,
            action="read_unmasked",
            record_type="session",
            record_id=ms.id,
            subject_ids=[p.id for p in invited],
            case_number=ms.case_number,
        )
    parties = [
        SessionPartyOut(
            party_id=p.id,
            side=p.side,
            name=p.name
            if unmasked or p.kind is PartyKind.organisation
            else (mask_name(p.name) or ""),
            attended=(p.id in ms.attended_party_ids) if held else None,
        )
        for p in invited
    ]
    mediators = [
        MediatorOut(
            person_id=m.person_id,
            name=name,
            role=m.role,
            body=m.body,
            lead=m.is_lead,
            attended=(m.person_id in ms.attended_person_ids) if held else None,
        )
        for m, name in await repo.mediators(ms.id)
    ]
    history = [event_out(e) for e in await repo.events(ms.id)]
    return shown(
        SessionOut,
        ms,
        mediators=mediators,
        parties=parties,
        pii_masked=not unmasked,
        history=history,
    )


def event_out(e: SessionEvent) -> SessionEventOut:
    return shown(SessionEventOut, e)
