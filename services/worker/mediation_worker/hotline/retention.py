"""Retention of hotline call logs: after `MEDIATION_HOTLINE_RETENTION_DAYS` (never less than
the 3 years the hotline guidelines require) a call loses its callback number and everything
that could identify the caller. What stays is what the statistics need: dates, call type,
age band, gender, minor, topics, risk level and factors, actions."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.cases.enums import CaseEventType
from mediation.hotline import events as call_events
from mediation.hotline.enums import CallEventKind
from mediation.hotline.models import HotlineCall
from mediation.hotline.rules import retention_cutoff
from mediation.timeline import holds_lock
from mediation_worker.cases.timeline import record_by_system
from mediation_worker.context import wctx
from mediation_worker.instrument import instrumented

log = logging.getLogger("mediation.worker.hotline")

BATCH = 200

# (column, value once de-identified). Free text may name the caller, so it goes too.
_CLEARED: tuple[tuple[str, Any], ...] = (
    ("callback_number_enc", None),
    ("callback_key_id", None),
    ("caller_hash", None),
    ("caller_alias", None),
    ("summary", None),
    ("referral_to", None),
    ("follow_up_note", None),
    ("acknowledge_note", None),
    ("review_comment", None),
)


def deidentify(call: HotlineCall, now: datetime) -> list[str]:
    """Strips the call in place; returns the names of the fields that held something."""
    removed = [name for name, empty in _CLEARED if getattr(call, name) != empty]
    for name, empty in _CLEARED:
        setattr(call, name, empty)
    if call.risk_assessment and call.risk_assessment.get("notes"):
        call.risk_assessment = {**call.risk_assessment, "notes": None}
        removed.append("risk_assessment.notes")
    if not call.caller_anonymous:
        call.caller_anonymous = True
        removed.append("caller_anonymous")
    call.deidentified_at = now
    call.version += 1
    return removed


async def _batch(session: AsyncSession, cutoff: datetime, now: datetime) -> tuple[int, int]:
    calls = list(
        (
            await session.scalars(
                select(HotlineCall)
                .where(HotlineCall.deidentified_at.is_(None), HotlineCall.started_at < cutoff)
                .order_by(HotlineCall.started_at, HotlineCall.id)
                .limit(BATCH)
                # Several workers never take the same rows; an API change in flight is waited for
                # on the next run.
                .with_for_update(skip_locked=True)
            )
        ).all()
    )
    numbers = 0
    for call in calls:
        had_number = call.callback_number_enc is not None
        removed = deidentify(call, now)
        numbers += int(had_number)
        holds_lock(session, call)
        await call_events.record(
            session,
            call,
            CallEventKind.deidentified,
            at=now,
            detail={"removed": removed, "cutoff": cutoff},
        )
        if call.case_id is not None:
            # The case the call opened shows it changed, as after a change through the API
            # (`HotlineService.tell_case`): by the system, nothing of the call, no outbox event
            # and no case version. The case is locked after the call, as the API does.
            await record_by_system(
                session,
                call.case_id,
                CaseEventType.hotline_call_changed,
                at=now,
                body=call_events.CALL_CHANGED_NOTE,
                data={"hotline_call_id": str(call.id)},
            )
    return len(calls), numbers


@instrumented
async def hotline_retention(ctx: dict[str, Any]) -> dict[str, Any]:
    c = wctx(ctx)
    now = c.clock.now()
    cutoff = retention_cutoff(now, c.settings.hotline_retention_days)
    calls = numbers = 0
    while True:
        async with c.sessions() as session, session.begin():
            done, removed_numbers = await _batch(session, cutoff, now)
        calls += done
        numbers += removed_numbers
        if done < BATCH:
            break
    result = {
        "calls_deidentified": calls,
        "callback_numbers_removed": numbers,
        "cutoff": cutoff.isoformat(),
        "retention_days": c.settings.hotline_retention_days,
    }
    log.info(
        "hotline retention: %d calls de-identified, %d callback numbers removed "
        "(calls started before %s)",
        calls,
        numbers,
        cutoff.isoformat(),
        extra={f"ctx_{k}": v for k, v in result.items()},
    )
    return result
