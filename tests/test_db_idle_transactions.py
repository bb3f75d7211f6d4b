"""A transaction left idle (a stuck request or job, a leaked session) does not hold its locks
and its connection for ever: the server ends it after `MEDIATION_DB_IDLE_IN_TRANSACTION_SECONDS`
(sent by `mediation.db.create_engine` when each connection opens), and the pool hands out a
live connection afterwards."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from mediation.db import create_engine, session_factory
from mediation.settings import Settings

LOCK = 7_730_422  # an advisory lock no other code takes


async def test_an_idle_transaction_is_ended_and_its_locks_freed(settings: Settings) -> None:
    quick = settings.model_copy(update={"db_idle_in_transaction_seconds": 1.0})
    engine = create_engine(quick)
    sessions = session_factory(engine)
    other = await asyncpg.connect(settings.sync_database_url)
    stuck = sessions()
    try:
        await stuck.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK})
        assert not await other.fetchval("SELECT pg_try_advisory_xact_lock($1)", LOCK)
        freed = False
        for _ in range(50):  # the server's timer: one second, then a little
            await asyncio.sleep(0.1)
            if await other.fetchval("SELECT pg_try_advisory_xact_lock($1)", LOCK):
                freed = True
                break
        assert freed, "the idle transaction still holds its lock"
        with pytest.raises(DBAPIError):
            await stuck.execute(text("SELECT 1"))
        async with sessions() as fresh:  # the pool gives a live connection again
            assert (await fresh.execute(text("SELECT 1"))).scalar() == 1
            shown = (await fresh.execute(text("SHOW idle_in_transaction_session_timeout"))).scalar()
        assert shown == "1s"
    finally:
        with contextlib.suppress(Exception):
            await stuck.close()
        await other.close()
        await engine.dispose()


async def test_the_default_is_half_an_hour(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        async with session_factory(engine)() as session:
            shown = (
                await session.execute(text("SHOW idle_in_transaction_session_timeout"))
            ).scalar()
        assert shown == "5min"
    finally:
        await engine.dispose()
