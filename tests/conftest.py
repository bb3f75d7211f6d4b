"""Test harness: real PostgreSQL and Redis (TEST_DATABASE_URL / TEST_REDIS_URL, else embedded
servers started here), a database built by the Alembic migrations, each test starting from
clean tables, a clock the tests move, and real arq workers in burst mode."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import text

from mediation.clock import CENTER_TZ, MovableClock
from mediation.db import create_engine, session_factory
from mediation.migrate import upgrade
from mediation.models import Base
from mediation.reference.data import seed_rows
from mediation.settings import Settings, to_async_url
from tests.support.world import World

START = datetime(2026, 11, 26, 10, 0, tzinfo=CENTER_TZ)


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@pytest.fixture(scope="session")
def servers() -> Iterator[tuple[str, str]]:
    """(PostgreSQL server URL, Redis URL)."""
    db_url = os.environ.get("TEST_DATABASE_URL")
    redis_url = os.environ.get("TEST_REDIS_URL")
    if db_url and redis_url:
        yield _plain(db_url), redis_url
        return
    from mediation.devservices import temporary_services

    with temporary_services(postgres=not db_url, redis=not redis_url) as services:
        yield (_plain(db_url or services.database_url), redis_url or services.redis_url)


@pytest.fixture(scope="session")
def database_url(servers: tuple[str, str]) -> Iterator[str]:
    """A fresh database for this test session, built by the migrations."""
    server, _ = servers
    name = f"mediation_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(server)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = server.rsplit("/", 1)[0] + "/" + name
    upgrade(to_async_url(url))
    try:
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def settings(database_url: str, servers: tuple[str, str]) -> Settings:
    return Settings(
        MEDIATION_ENV="test",
        DATABASE_URL=database_url,
        REDIS_URL=servers[1],
        MEDIATION_ARQ_QUEUE=f"mediation-test-{uuid.uuid4().hex[:8]}",
        MEDIATION_DB_POOL_SIZE=5,
        MEDIATION_OUTBOX_POLL_SECONDS=0.2,
        _env_file=None,
    )


TABLES = [t.name for t in Base.metadata.sorted_tables]


@pytest.fixture(autouse=True)
async def clean_state(settings: Settings) -> AsyncIterator[None]:
    """Every test starts from the migrated, seeded state: empty tables but the reference
    data, and an empty Redis namespace."""
    yield
    conn = await asyncpg.connect(_plain(settings.database_url))
    try:
        present = {
            r[0]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        tables = [t for t in TABLES if t in present]
        await conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        rows = seed_rows()
        await conn.executemany(
            "INSERT INTO reference_items (id, kind, code, label_zh, label_en, view_order, "
            "is_default, enabled, version) VALUES ($1,$2,$3,$4,$5,$6,$7,true,1)",
            [
                (
                    uuid.uuid4(),
                    r["kind"],
                    r["code"],
                    r["label_zh"],
                    r["label_en"],
                    r["view_order"],
                    r["is_default"],
                )
                for r in rows
            ],
        )
    finally:
        await conn.close()
    redis = Redis.from_url(settings.redis_url)
    try:
        keys = [k async for k in redis.scan_iter(f"{settings.arq_queue}*")]
        keys += [k async for k in redis.scan_iter("arq:*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(START)


@pytest.fixture
async def app(settings: Settings, clock: MovableClock) -> AsyncIterator[Any]:
    from mediation_api.main import create_app

    application = create_app(settings, clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Any]:
    """A session factory for arranging data and checking what was written."""
    engine = create_engine(settings)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def world(db: Any, client: httpx.AsyncClient, app: Any, clock: MovableClock) -> World:
    """The demo district and helpers to sign in as anyone."""
    w = World(db, client, app, clock)
    await w.build()
    return w


@pytest.fixture
def run_worker(settings: Settings, clock: MovableClock) -> Any:
    """Runs a real arq worker in burst mode until the queue is empty; first relays the outbox."""
    from arq.worker import Worker

    from mediation_worker.main import build_settings

    async def run(relay: bool = True) -> int:
        ws = build_settings(settings, clock, background=False)
        if relay:
            redis_settings = ws.redis_settings
            from arq import create_pool

            pool = await create_pool(redis_settings, default_queue_name=settings.arq_queue)
            await pool.enqueue_job("sweep_outbox")
            await pool.aclose()
        # arq's burst mode stops once the queue is empty and the running jobs finish, so
        # jobs those jobs enqueue (the relay's) wait for another round.
        done = 0
        for _ in range(10):
            worker = Worker(
                functions=ws.functions,
                on_startup=ws.on_startup,
                on_shutdown=ws.on_shutdown,
                redis_settings=ws.redis_settings,
                queue_name=ws.queue_name,
                burst=True,
                poll_delay=0.05,
                max_jobs=ws.max_jobs,
                job_timeout=ws.job_timeout,
                keep_result=0,
                handle_signals=False,
            )
            try:
                await worker.main()
                left = await worker.pool.zcard(ws.queue_name)
            finally:
                await worker.close()
            done += worker.jobs_complete
            if not left:
                break
        return done

    return run


@pytest.fixture
async def sql(db: Any) -> Any:
    async def run(statement: str, **params: Any) -> list[Any]:
        async with db() as session:
            return list((await session.execute(text(statement), params)).all())

    return run
