"""Scheduled reminders as data: a sweep names a table, the column holding a due time, and stages
(an offset from the due time and the event to emit). Every minute the cron job `sweep_reminders`
finds rows whose stage time has come, writes a mark (unique per sweep, record, stage and due
time) and emits the event in the same transaction: several workers sweeping at once, or a
sweep run twice, emit each reminder once; a moved due time reminds again.

Sweeps read the tables through `Base.metadata`, so they run only where the owning domain's
tables exist (a sweep whose table or columns are missing is skipped), and import none of its
code.

The domains register theirs: `mediation_worker.cases.reminders` (deadlines, follow-ups),
`mediation_worker.hotline.reminders` (follow-ups, unacknowledged high-risk calls) and
`mediation_worker.sessions.reminders`, e.g.

    register(DueSweep(
        name="session.reminder", table="sessions", due_column="starts_at",
        required=("starts_at", "status", "unit_path", "case_id"),
        where=lambda t: t.c.status == "scheduled",
        stages=(Stage("day_before", "session.reminder", timedelta(days=-1), until=ZERO),
                Stage("hour_before", "session.reminder", timedelta(hours=-1), until=ZERO)),
        payload=lambda row, stage: SessionReminder(session_id=row.id, ...)))

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

from mediation.db import Base
from mediation.models import Base as _AllModels  # noqa: F401  (registers every table)
from mediation.notifications.models import SweepMark
from mediation.outbox.events import emit
from mediation.outbox.payloads import EventPayload
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
    # The event's typed payload (its model names the kind of record it reports).
    payload: Callable[[Row[Any], Stage], EventPayload]
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
                sweep.payload(row, stage),
                type=stage.event_type,
                aggregate_id=row.id,
                occurred_at=now,
                unit_path=getattr(row, sweep.unit_path_column),
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
