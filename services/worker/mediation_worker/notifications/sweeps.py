"""Scheduled reminders as data: a sweep names a table, the column holding a due time, and stages
(an offset from the due time and the event to emit). Every minute the cron job `sweep_reminders`
finds rows whose stage time has come, writes a mark (unique per sweep, record, stage and due
time) and emits the event in the same transaction: several workers sweeping at once, or a
sweep run twice, emit each reminder once; a moved due time reminds again.

Sweeps read the tables through `Base.metadata`, so they run only where the owning domain's
tables exist (a sweep whose table or columns are missing is skipped), and import none of its
code.

Extension point (sessions): register a `DueSweep` for the sessions table, e.g.

    register(DueSweep(
        name="session.reminder", table="sessions", due_column="starts_at",
        required=("starts_at", "status", "unit_path", "case_id"),
        where=lambda t: t.c.status == "scheduled",
        stages=(Stage("day_before", "session.reminder", timedelta(days=-1), until=ZERO),
                Stage("hour_before", "session.reminder", timedelta(hours=-1), until=ZERO)),
        payload=lambda row, stage: {"session_id": str(row.id), ..., "recipient_person_ids": [...]},
        aggregate_type="session"))

The rule `session.reminder.participants` already sends `session.reminder` to
`recipient_person_ids` by inbox and SMS.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Exists, Row, Select, Table, and_, exists, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.contracts.common import center_time
from mediation.db import Base
from mediation.models import Base as _AllModels  # noqa: F401  (registers every table)
from mediation.notifications.models import SweepMark
from mediation.outbox.events import emit
from mediation_worker.context import WorkerContext, wctx
from mediation_worker.instrument import instrumented

log = logging.getLogger("mediation.worker.sweeps")

ZERO = timedelta(0)
BATCH = 1000
# Rows whose every stage lies further back than this are not looked at again.
LOOKBACK = timedelta(days=7)

Offset = timedelta | Callable[[Row[Any]], timedelta]


@dataclass(frozen=True)
class Stage:
    name: str
    event_type: str
    offset: Offset  # fire at due + offset (negative: before the due time)
    until: timedelta | None = None  # not after due + until (a "due soon" after the due time)

    def at(self, row: Row[Any], due: datetime) -> datetime:
        off = self.offset(row) if callable(self.offset) else self.offset
        return due + off


@dataclass(frozen=True)
class DueSweep:
    name: str
    table: str | Table  # a table name looked up in the models, or a Table
    due_column: str
    stages: tuple[Stage, ...]
    payload: Callable[[Row[Any], Stage], dict[str, Any]]
    aggregate_type: str
    required: tuple[str, ...] = ()
    where: Callable[[Table], ColumnElement[bool]] | None = None
    unit_path_column: str = "unit_path"
    # Widest lead and lag of the stages, for the candidate window.
    max_lead: timedelta = timedelta(days=2)
    max_lag: timedelta = timedelta(days=2)
    skipped_logged: list[bool] = field(default_factory=lambda: [False], compare=False)


REGISTRY: list[DueSweep] = []


def register(sweep: DueSweep) -> DueSweep:
    REGISTRY[:] = [s for s in REGISTRY if s.name != sweep.name] + [sweep]
    return sweep


def _table(sweep: DueSweep) -> Table | None:
    table = sweep.table if isinstance(sweep.table, Table) else Base.metadata.tables.get(sweep.table)
    needed = {sweep.due_column, sweep.unit_path_column, "id", *sweep.required}
    if table is None or not needed <= set(table.c.keys()):
        if not sweep.skipped_logged[0]:
            log.info(
                "sweep %s skipped: table %s or its columns are not here", sweep.name, sweep.table
            )
            sweep.skipped_logged[0] = True
        return None
    return table


def _marked(sweep: DueSweep, table: Table, due: ColumnElement[Any], stage: str) -> Exists:
    return exists().where(
        SweepMark.sweep == sweep.name,
        SweepMark.record_id == table.c.id,
        SweepMark.stage == stage,
        SweepMark.due_at == due,
    )


def _pending(
    sweep: DueSweep, table: Table, due: ColumnElement[Any], stage: Stage, now: datetime
) -> ColumnElement[bool]:
    """SQL for "this stage may fire now": its time has come (for an offset computed from the
    row, as early as the sweep's widest lead allows), it has not lapsed (`until`) and it has
    no mark. A superset of what `run_sweep` then emits, never less; the bounds are computed
    here, so the comparisons are plain ranges on the due column."""
    if callable(stage.offset):
        came = due <= now + sweep.max_lead
    else:
        came = due <= now - stage.offset
    cond = [came]
    if stage.until is not None:
        cond.append(due > now - stage.until)  # now < due + until
    cond.append(~_marked(sweep, table, due, stage.name))
    return and_(*cond)


def candidates(sweep: DueSweep, table: Table, now: datetime) -> Select[Any]:
    """The rows with a stage to send now, soonest due first (at most BATCH).

    Only rows where some stage has come, has not lapsed and is not marked yet are read: a row
    whose sent reminders wait for the next stage (overdue sent, escalation a day later) is
    not read again every minute, so the cost follows the reminders due, not the rows in the
    window, and such rows can no longer fill a batch and hold back the ones behind them."""
    due = table.c[sweep.due_column]
    cond = [due.is_not(None), due <= now + sweep.max_lead, due >= now - sweep.max_lag - LOOKBACK]
    if sweep.where is not None:
        cond.append(sweep.where(table))
    # Rows whose last stage was sent are done.
    cond.append(~_marked(sweep, table, due, sweep.stages[-1].name))
    cond.append(or_(*(_pending(sweep, table, due, stage, now) for stage in sweep.stages)))
    return select(table).where(and_(*cond)).order_by(due).limit(BATCH)


async def run_sweep(session: AsyncSession, sweep: DueSweep, now: datetime) -> int:
    """Emit every stage of `sweep` that has come and is not marked yet; returns the count."""
    table = _table(sweep)
    if table is None:
        return 0
    rows = (await session.execute(candidates(sweep, table, now))).all()
    emitted = 0
    for row in rows:
        due_at: datetime = getattr(row, sweep.due_column)
        for stage in sweep.stages:
            if now < stage.at(row, due_at):
                continue
            if stage.until is not None and now >= due_at + stage.until:
                continue
            mark = (
                await session.execute(
                    insert(SweepMark)
                    .values(sweep=sweep.name, record_id=row.id, stage=stage.name, due_at=due_at)
                    .on_conflict_do_nothing()
                    .returning(SweepMark.id)
                )
            ).scalar_one_or_none()
            if mark is None:
                continue  # sent before (by this worker or another)
            await emit(
                session,
                type=stage.event_type,
                aggregate_type=sweep.aggregate_type,
                aggregate_id=row.id,
                occurred_at=now,
                unit_path=getattr(row, sweep.unit_path_column),
                payload=sweep.payload(row, stage),
            )
            emitted += 1
    return emitted


@instrumented
async def sweep_reminders(ctx: dict[str, Any]) -> int:
    """Cron: every registered sweep, each in its own transaction."""
    c = wctx(ctx)
    return await sweep_all(c)


async def sweep_all(c: WorkerContext) -> int:
    total = 0
    now = c.clock.now()
    for sweep in list(REGISTRY):
        try:
            async with c.sessions() as session, session.begin():
                total += await run_sweep(session, sweep, now)
        except Exception:  # one broken sweep must not stop the others
            log.exception("sweep %s failed", sweep.name)
    return total


# --------------------------------------------------------------------------- built-in sweeps


def _iso(value: Any) -> str | None:
    return center_time(value) if isinstance(value, datetime) else None


def _ids(value: Any) -> list[str]:
    return [str(v) for v in (value or [])]


_STAGE_LABELS = {"first_response": "首次响应期限", "mediation": "调解期限", "follow_up": "回访期限"}
_CASE_LEAD = {
    "first_response": timedelta(hours=4),
    "mediation": timedelta(days=1),
    "follow_up": timedelta(days=1),
}
CASE_ESCALATION_GRACE = timedelta(days=1)
_CASE_COLUMNS = (
    "number",
    "title",
    "handler_person_ids",
    "current_stage",
    "paused_at",
    "handling_unit_id",
    "handling_unit_path",
    "risk_colour",
    "closed_at",
)


def _case_payload(row: Row[Any], stage: Stage) -> dict[str, Any]:
    kind = getattr(row.current_stage, "value", row.current_stage)
    return {
        "case_id": str(row.id),
        "case_number": row.number,
        "title": row.title,
        "unit_id": str(row.handling_unit_id),
        "handler_person_ids": _ids(row.handler_person_ids),
        "risk_colour": getattr(row.risk_colour, "value", row.risk_colour),
        "deadline_kind": kind,
        "deadline_label": _STAGE_LABELS.get(str(kind), "办理期限"),
        "due_at": _iso(row.due_at),
        "stage": stage.name,
    }


def _case_lead(row: Row[Any]) -> timedelta:
    kind = str(getattr(row.current_stage, "value", row.current_stage))
    return -_CASE_LEAD.get(kind, timedelta(days=1))


def _running(t: Table) -> ColumnElement[bool]:
    # A paused case (waiting for a party) has a stopped clock; a closed one none.
    return and_(t.c.paused_at.is_(None), t.c.closed_at.is_(None), t.c.current_stage.is_not(None))


register(
    DueSweep(
        name="case.deadline",
        table="cases",
        due_column="due_at",
        required=_CASE_COLUMNS,
        unit_path_column="handling_unit_path",
        aggregate_type="case",
        where=lambda t: and_(_running(t), t.c.current_stage != "follow_up"),
        stages=(
            Stage("due_soon", "case.deadline_due_soon", _case_lead, until=ZERO),
            Stage("overdue", "case.deadline_overdue", ZERO),  # the handlers first
            Stage(
                "escalated", "case.deadline_escalated", CASE_ESCALATION_GRACE
            ),  # then the supervisor
        ),
        payload=_case_payload,
        max_lead=max(_CASE_LEAD.values()),
    )
)

register(
    DueSweep(
        name="case.follow_up",
        table="cases",
        due_column="due_at",
        required=_CASE_COLUMNS,
        unit_path_column="handling_unit_path",
        aggregate_type="case",
        where=lambda t: and_(_running(t), t.c.current_stage == "follow_up"),
        stages=(
            Stage("due_soon", "case.follow_up_due", _case_lead, until=ZERO),
            Stage("overdue", "case.deadline_overdue", ZERO),
            Stage("escalated", "case.deadline_escalated", CASE_ESCALATION_GRACE),
        ),
        payload=_case_payload,
        max_lead=max(_CASE_LEAD.values()),
    )
)

HOTLINE_FOLLOW_UP_LEAD = timedelta(hours=2)
HOTLINE_FOLLOW_UP_GRACE = timedelta(days=1)
HOTLINE_ACK_AFTER = timedelta(minutes=15)


def _hotline_payload(row: Row[Any], stage: Stage) -> dict[str, Any]:
    return {
        "call_id": str(row.id),
        "unit_id": str(row.unit_id),
        "risk_level": getattr(row.risk_level, "value", row.risk_level),
        "imminent": bool(row.imminent_risk),
        "urgent": stage.name == "unacknowledged",
        "flagged_at": _iso(row.flagged_at),
        "follow_up_due": _iso(row.follow_up_due),
        "counselor_person_id": str(row.counselor_id),
        "recipient_person_ids": [str(row.counselor_id)] if stage.name == "due" else [],
        "stage": stage.name,
    }


_HOTLINE_COLUMNS = (
    "unit_id",
    "counselor_id",
    "risk_level",
    "imminent_risk",
    "flagged_at",
    "acknowledged_at",
    "follow_up_due",
    "follow_up_done_at",
    "deidentified_at",
)

register(
    DueSweep(
        name="hotline.follow_up",
        table="hotline_calls",
        due_column="follow_up_due",
        required=_HOTLINE_COLUMNS,
        aggregate_type="hotline_call",
        where=lambda t: and_(t.c.follow_up_done_at.is_(None), t.c.deidentified_at.is_(None)),
        stages=(
            Stage("due", "hotline.follow_up_due", -HOTLINE_FOLLOW_UP_LEAD, until=ZERO),
            Stage("overdue", "hotline.follow_up_overdue", HOTLINE_FOLLOW_UP_GRACE),
        ),
        payload=_hotline_payload,
    )
)

register(
    DueSweep(
        name="hotline.high_risk_ack",
        table="hotline_calls",
        due_column="flagged_at",
        required=_HOTLINE_COLUMNS,
        aggregate_type="hotline_call",
        where=lambda t: t.c.acknowledged_at.is_(None),
        stages=(Stage("unacknowledged", "hotline.high_risk_unacknowledged", HOTLINE_ACK_AFTER),),
        payload=_hotline_payload,
    )
)
