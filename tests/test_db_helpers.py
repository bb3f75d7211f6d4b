"""`mediation.db`'s helpers for hand-written statements: `built` (an ORM instance as the
constructor makes it, without its events), `loaded` (one of a driver row) and
`driver_connection_in_greenlet` (the driver under an ORM hook)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session
from sqlalchemy.util.concurrency import await_

from mediation.db import built, driver_connection, driver_connection_in_greenlet, loaded
from mediation.org.enums import UnitLevel
from mediation.org.models import Unit
from mediation.sessions.enums import MediatorBody
from mediation.sessions.models import SessionMediator


def test_built_holds_the_values_and_reads_like_a_constructed_instance() -> None:
    values = {
        "id": uuid.uuid4(),
        "person_id": uuid.uuid4(),
        "body": MediatorBody.police,
        "is_lead": True,
        "position": 2,
    }
    fast, slow = built(SessionMediator, **values), SessionMediator(**values)
    keys = [p.key for p in inspect(SessionMediator).column_attrs]
    assert {k: getattr(fast, k) for k in keys} == {k: getattr(slow, k) for k in keys}
    assert fast.session_id is None  # not given: None, as the constructor leaves it
    assert inspect(fast).transient
    fast.position = 3
    assert fast.position == 3


def test_built_refuses_what_is_not_a_column() -> None:
    with pytest.raises(TypeError, match="nope"):
        built(SessionMediator, id=uuid.uuid4(), nope=1)


async def test_loaded_reads_a_driver_row_as_the_orm_loads_it(world: Any) -> None:
    async with world.db() as session:
        orm = (await session.scalars(select(Unit).order_by(Unit.path).limit(1))).one()
        conn = await driver_connection(session)
        row = await conn.fetchrow("SELECT * FROM units WHERE id = $1", orm.id)
        unit = loaded(Unit, row)
    keys = [p.key for p in inspect(Unit).column_attrs]
    assert {k: getattr(unit, k) for k in keys} == {k: getattr(orm, k) for k in keys}
    assert isinstance(unit.level, UnitLevel)  # the driver reads the column as text
    assert inspect(unit).transient  # in no session


async def test_a_hook_reaches_the_driver_inside_the_session_transaction(world: Any) -> None:
    seen: list[tuple[Any, int, int]] = []

    def hook(sync_session: Session) -> None:
        driver = driver_connection_in_greenlet(sync_session)
        assert driver is not None
        ours = await_(driver.fetchval("SELECT txid_current()"))
        theirs = sync_session.execute(text("SELECT txid_current()")).scalar_one()
        seen.append((driver, ours, theirs))

    async with world.db() as session:
        await session.execute(text("SELECT 1"))
        await session.run_sync(hook)
    ((driver, ours, theirs),) = seen
    assert isinstance(driver, asyncpg.Connection)
    assert ours == theirs  # the same transaction, not the driver's own


def test_outside_the_greenlet_there_is_no_driver_to_reach() -> None:
    assert driver_connection_in_greenlet(Session()) is None
