"""Scheduled reminders: stages fire once each (also with two workers sweeping at once), in
order (due soon, overdue to the handler, escalated to the supervisor), again when the due time
moves; sweeps over tables that are not there are skipped."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Boolean, Column, DateTime, MetaData, String, Table, Uuid, text

from mediation.cases.enums import DeadlineStage, RiskColour
from mediation.cases.events import CaseDeadlineReminder
from mediation.db import Base
from mediation_dev.clock import MovableClock

# Every built-in sweep registers when the worker's modules load: load them all before a test
# swaps the registry, or one first loaded during the swap would be lost when it is restored.
from mediation_worker import main as _worker_main  # noqa: F401
from mediation_worker.notifications import sweeps
from mediation_worker.notifications.sweeps import ZERO, DueSweep, Stage, sweep_all
from tests.support.world import World

items = Table(
    "test_due_items",
    MetaData(),
    Column("id", Uuid, primary_key=True),
    Column("unit_path", String(400)),
    Column("due_at", DateTime(timezone=True)),
    Column("done", Boolean),
    Column("handler", Uuid),
)


def _payload(row: Any, stage: Stage) -> CaseDeadlineReminder:
    return CaseDeadlineReminder(
        case_id=row.id,
        case_number="S-1",
        title="t",
        unit_id=uuid.uuid4(),
        handler_person_ids=[row.handler],
        risk_colour=RiskColour.yellow,
        deadline_kind=DeadlineStage.mediation,
        deadline_label="调解期限",
        due_at=row.due_at,
        stage=stage.name,
    )


SWEEP = DueSweep(
    name="test.deadline",
    table=items,
    due_column="due_at",
    required=("done", "handler"),
    where=lambda t: t.c.done.is_(False),
    stages=(
        Stage("due_soon", "case.deadline_due_soon", -timedelta(hours=24), until=ZERO),
        Stage("overdue", "case.deadline_overdue", ZERO),
        Stage("escalated", "case.deadline_escalated", timedelta(days=1)),
    ),
    payload=_payload,
)


@pytest.fixture
async def due_table(db: Any) -> Any:
    async with db() as s, s.begin():
        await s.execute(
            text(
                "CREATE TABLE IF NOT EXISTS test_due_items (id uuid PRIMARY KEY, "
                "unit_path varchar(400), due_at timestamptz, done boolean, "
                "handler uuid)"
            )
        )
    saved = list(sweeps.REGISTRY)
    sweeps.REGISTRY[:] = [SWEEP]
    try:
        yield
    finally:
        sweeps.REGISTRY[:] = saved
        async with db() as s, s.begin():
            await s.execute(text("DROP TABLE IF EXISTS test_due_items"))


async def events(sql: Any) -> list[str]:
    return [r[0] for r in await sql("SELECT type FROM outbox_events ORDER BY id")]


async def test_stages_fire_once_in_order_and_again_when_the_due_time_moves(
    world: World,
    due_table: Any,
    worker_ctx: Any,
    clock: MovableClock,
    sql: Any,
    db: Any,
    run_worker: Any,
) -> None:
    handler = (await sql("SELECT person_id FROM users WHERE username = 'mediator'"))[0][0]
    unit = world.unit("220302001")
    item = uuid.uuid4()
    due = clock.now() + timedelta(hours=30)
    async with db() as s, s.begin():
        await s.execute(
            items.insert().values(
                id=item, unit_path=unit.path, due_at=due, done=False, handler=handler
            )
        )
    a, b = await worker_ctx(), await worker_ctx()
    assert await sweep_all(a["mediation"]) == 0  # 30 h ahead: nothing yet
    clock.advance(timedelta(hours=7))
    counts = await asyncio.gather(sweep_all(a["mediation"]), sweep_all(b["mediation"]))
    assert sorted(counts) == [0, 1]  # two workers, one reminder
    assert await events(sql) == ["case.deadline_due_soon"]
    clock.advance(timedelta(hours=24))  # past due
    await sweep_all(a["mediation"])
    await sweep_all(b["mediation"])
    clock.advance(timedelta(days=1))  # still not done a day later: the supervisor
    await sweep_all(a["mediation"])
    assert await events(sql) == [
        "case.deadline_due_soon",
        "case.deadline_overdue",
        "case.deadline_escalated",
    ]
    # the handler is told first, then the supervisor
    await run_worker()
    rows = await sql(
        "SELECT u.username, n.title FROM notifications n JOIN users u "
        "ON u.id = n.user_id ORDER BY n.title"
    )
    # (the worker processed the three events at once: their order is the events')
    assert sorted(rows) == [
        ("mediator", "已超期：S-1"),
        ("mediator", "期限将至：S-1"),
        ("supervisor", "超期督办：S-1"),
    ]
    # an extension moves the due time: the reminders start again; done rows are left alone
    async with db() as s, s.begin():
        await s.execute(items.update().values(due_at=clock.now() + timedelta(hours=2)))
    await sweep_all(a["mediation"])
    assert (await events(sql))[-1] == "case.deadline_due_soon"
    async with db() as s, s.begin():
        await s.execute(items.update().values(done=True, due_at=clock.now()))
    assert await sweep_all(a["mediation"]) == 0


async def test_sweeps_over_missing_tables_are_skipped(worker_ctx: Any) -> None:
    ghost = DueSweep(
        name="ghost",
        table="no_such_table",
        due_column="due_at",
        stages=(),
        payload=_payload,
    )
    saved = list(sweeps.REGISTRY)
    sweeps.REGISTRY[:] = [ghost]
    try:
        assert await sweep_all((await worker_ctx())["mediation"]) == 0
    finally:
        sweeps.REGISTRY[:] = saved


async def test_hotline_follow_up_and_unacknowledged_high_risk(
    world: World, worker_ctx: Any, clock: MovableClock, sql: Any, db: Any, run_worker: Any
) -> None:
    calls = Base.metadata.tables["hotline_calls"]
    counselor = (await sql("SELECT person_id FROM users WHERE username = 'counselor'"))[0][0]
    unit = world.unit("220302001002")
    now = clock.now()
    async with db() as s, s.begin():
        await s.execute(
            calls.insert().values(
                id=uuid.uuid4(),
                unit_id=unit.id,
                unit_path=unit.path,
                counselor_id=counselor,
                started_at=now - timedelta(hours=1),
                channel="phone",
                call_type="valid",
                caller_anonymous=True,
                callback_consent=False,
                topics=[],
                imminent_risk=False,
                actions=[],
                version=1,
                follow_up_due=now + timedelta(hours=1),
                flagged_at=now - timedelta(minutes=20),
            )
        )
    await sweep_all((await worker_ctx())["mediation"])
    assert sorted(await events(sql)) == [
        "hotline.follow_up_due",
        "hotline.high_risk_unacknowledged",
    ]
    await run_worker()
    rows = await sql(
        "SELECT u.username, n.title, n.urgent FROM notifications n JOIN users u "
        "ON u.id = n.user_id ORDER BY 1, 2"
    )
    assert rows == [
        ("counselor", "热线回访到期", False),
        ("hotline_supervisor", "高风险来电仍未确认", True),
    ]
    assert isinstance(now, datetime)


def test_built_in_sweeps_find_the_columns_they_read() -> None:
    """Where the cases and hotline tables exist, the sweeps' column expectations hold (a
    renamed column there would silently stop the reminders otherwise)."""
    for sweep in sweeps.REGISTRY:
        name = sweep.table if isinstance(sweep.table, str) else sweep.table.name
        if name in Base.metadata.tables:
            assert sweeps._table(sweep) is not None, sweep.name
