"""Read replicas (DATABASE_REPLICA_URLS, issue 21 item 2).

Lists, search, statistics reads and exports may read from a streaming replica; reads by id
and everything inside a write stay on the primary. Which replica is fit is decided here:

* Lag. Every `MEDIATION_REPLICA_CHECK_SECONDS` this process samples the primary's WAL
  position and each replica's replay position. A replica's lag is how long ago the primary
  passed the position the replica has replayed to (0 when it has replayed everything): no
  clock of another host is involved, and an idle primary does not look like a lagging
  replica. A replica past `MEDIATION_REPLICA_MAX_LAG_SECONDS`, unreachable, or no longer in
  recovery (promoted) is skipped until a later check finds it fit again.
* Read-your-writes. A write answered 2xx carries `X-Commit-LSN` (the primary's WAL insert
  position after its commit: with synchronous_commit off the write position may still be
  short of the commit record), and the same position is kept in Redis for the caller (token subject)
  for `MEDIATION_REPLICA_READ_YOUR_WRITES_SECONDS`. That caller's next list waits up to
  `MEDIATION_REPLICA_WAIT_MS` for a replica to replay past it, else reads the primary: a
  client never reads data older than its own write.

Without replicas nothing here runs: lists use the primary, as before."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mediation import dburls
from mediation.auth.principal import Principal
from mediation.db import create_engine, session_factory
from mediation.settings import Settings
from mediation_api.readdb import create_read_pool

log = logging.getLogger("mediation.api.replicas")

LSN_HEADER = "X-Commit-LSN"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A new URL starts where a scheme does: a replica URL may itself list several hosts.
_URL_START = re.compile(r",\s*(?=postgres(?:ql)?(?:\+asyncpg)?://)")
_POLL_SECONDS = 0.01


def replica_urls(raw: str) -> list[str]:
    """`DATABASE_REPLICA_URLS`: URLs separated by commas (each may list several hosts)."""
    urls = [u.strip() for u in _URL_START.split(raw.strip()) if u.strip()]
    # Several hosts of one replica URL: any of them will do, a standby preferred (the
    # default for several hosts elsewhere is the writable primary).
    return [
        u
        if len(dburls.hosts(u)) <= 1 or dburls.TARGET in u
        else f"{u}{'&' if '?' in u else '?'}{dburls.TARGET}=prefer-standby"
        for u in urls
    ]


def parse_lsn(text: str) -> int:
    """`16/B374D848` -> its 64-bit position."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def format_lsn(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


@dataclass
class Replica:
    name: str  # host:port (as listed), the metrics label
    pool: asyncpg.Pool
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    lag_seconds: float | None = None  # None: not checked yet, unreachable or promoted
    replay_lsn: int = 0
    fit: bool = False


@dataclass
class ReplicaSet:
    settings: Settings
    primary: asyncpg.Pool  # the API's read pool on the primary (readdb.py)
    replicas: list[Replica]
    # (monotonic time, primary WAL position) samples, oldest first
    history: deque[tuple[float, int]] = field(default_factory=deque)
    _turn: itertools.count[int] = field(default_factory=itertools.count)
    _task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, settings: Settings, primary: asyncpg.Pool) -> ReplicaSet | None:
        urls = replica_urls(settings.database_replica_urls)
        if not urls:
            return None
        replicas = []
        for url in urls:
            own = settings.model_copy(update={"database_url": url})
            engine = create_engine(own)
            replicas.append(
                Replica(
                    name=",".join(dburls.hosts(url)),
                    pool=await create_read_pool(own),
                    engine=engine,
                    sessions=session_factory(engine),
                )
            )
        found = cls(settings, primary, replicas)
        found._task = asyncio.create_task(found._watch(), name="replica-lag")
        return found

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for replica in self.replicas:
            await replica.pool.close()
            await replica.engine.dispose()

    async def _watch(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:  # the primary unreachable: keep the last verdicts, try again
                log.warning("replica check failed", exc_info=True)
            await asyncio.sleep(self.settings.replica_check_seconds)

    async def check(self) -> None:
        """One sample: the primary's position, then each replica's replay position."""
        primary_lsn = parse_lsn(
            await self.primary.fetchval(
                "SELECT pg_current_wal_insert_lsn()::text", timeout=self._timeout
            )
        )
        now = time.monotonic()
        self.history.append((now, primary_lsn))
        keep = self.settings.replica_max_lag_seconds * 2 + 60
        while len(self.history) > 1 and self.history[0][0] < now - keep:
            self.history.popleft()
        await asyncio.gather(*(self._check(r, now) for r in self.replicas))

    @property
    def _timeout(self) -> float:
        return self.settings.db_connect_timeout_seconds

    async def _check(self, replica: Replica, now: float) -> None:
        try:
            row = await replica.pool.fetchrow(
                "SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS lsn",
                timeout=self._timeout,
            )
        except (TimeoutError, OSError, asyncpg.PostgresError) as error:
            self._verdict(replica, None, f"unreachable: {error!r}")
            return
        if row is None or not row["standby"] or row["lsn"] is None:
            self._verdict(replica, None, "not a standby (promoted?)")
            return
        replica.replay_lsn = max(replica.replay_lsn, parse_lsn(row["lsn"]))
        # How long ago the primary first stood past what the replica has replayed.
        ahead = [t for t, lsn in self.history if lsn > replica.replay_lsn]
        self._verdict(replica, now - ahead[0] if ahead else 0.0, "lagging")

    def _verdict(self, replica: Replica, lag: float | None, why: str) -> None:
        replica.lag_seconds = lag
        fit = lag is not None and lag <= self.settings.replica_max_lag_seconds
        if fit != replica.fit:
            log.warning("replica %s %s", replica.name, "back in use" if fit else f"skipped: {why}")
        replica.fit = fit

    async def pick(self, min_lsn: int | None) -> Replica | None:
        """A fit replica that has replayed `min_lsn` (waiting a little for one), or None:
        read the primary."""
        fit = [r for r in self.replicas if r.fit]
        if not fit:
            return None
        start = next(self._turn)
        ordered = [fit[(start + i) % len(fit)] for i in range(len(fit))]
        if min_lsn is None:
            return ordered[0]
        deadline = time.monotonic() + self.settings.replica_wait_ms / 1000
        while True:
            for replica in ordered:
                if replica.replay_lsn >= min_lsn:
                    return replica
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(_POLL_SECONDS)
            await asyncio.gather(*(self._replayed(r) for r in ordered))

    async def _replayed(self, replica: Replica) -> None:
        with contextlib.suppress(OSError, asyncio.TimeoutError, asyncpg.PostgresError):
            lsn = await replica.pool.fetchval(
                "SELECT pg_last_wal_replay_lsn()::text", timeout=_POLL_SECONDS * 20
            )
            if lsn is not None:
                replica.replay_lsn = max(replica.replay_lsn, parse_lsn(lsn))


def _lsn_key(settings: Settings, kind: str, subject: str) -> str:
    return f"{settings.arq_queue}:commit-lsn:{kind}:{subject}"


async def _caller_lsn(redis: Redis, settings: Settings, principal: Principal) -> int | None:
    try:
        raw = await redis.get(_lsn_key(settings, principal.kind, str(principal.id)))
    except Exception:  # Redis down: no promise to keep, read the primary to be safe
        log.warning("commit position unavailable, reading the primary", exc_info=True)
        return -1
    return int(raw) if raw is not None else None


async def _choose(state: Any, principal: Principal) -> Replica | None:
    replicas: ReplicaSet | None = state.replicas
    if replicas is None or not any(r.fit for r in replicas.replicas):
        return None
    min_lsn = await _caller_lsn(state.redis, state.settings, principal)
    if min_lsn == -1:
        return None
    return await replicas.pick(min_lsn)


@contextlib.asynccontextmanager
async def list_connection(state: Any, principal: Principal) -> AsyncIterator[asyncpg.Connection]:
    """An asyncpg connection for a list or a search: a fit replica's, else the primary's."""
    replica = await _choose(state, principal)
    pool: asyncpg.Pool = replica.pool if replica is not None else state.reads
    async with pool.acquire() as conn:
        yield conn


async def list_sessions(state: Any, principal: Principal) -> async_sessionmaker[AsyncSession]:
    """The session factory for statistics reads and exports: a fit replica's, else the
    primary's."""
    replica = await _choose(state, principal)
    return replica.sessions if replica is not None else state.sessions


class CommitPosition:
    """ASGI middleware (only with replicas): a write answered 2xx gets `X-Commit-LSN`, and the
    caller's position is kept in Redis for their next list. The request's transaction has
    committed before its answer starts (deps.get_session), so the primary's WAL insert
    position read here is past the commit record."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})  # where get_principal leaves the caller (request.state)

        async def send_with_position(message: Message) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                lsn = await _remember(scope)
                if lsn is not None:
                    headers = list(message.get("headers", []))
                    headers.append((LSN_HEADER.lower().encode(), format_lsn(lsn).encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_position)


async def _remember(scope: Scope) -> int | None:
    state = scope["app"].state.mediation
    try:
        lsn = parse_lsn(await state.reads.fetchval("SELECT pg_current_wal_insert_lsn()::text"))
    except Exception:  # the write is done; without its position the caller may read older
        log.warning("commit position unavailable", exc_info=True)
        return None
    principal = scope.get("state", {}).get("principal")
    if principal is not None:
        key = _lsn_key(state.settings, principal.kind, str(principal.id))
        try:
            await state.redis.set(key, lsn, ex=state.settings.replica_read_your_writes_seconds)
        except Exception:
            log.warning("could not keep the commit position in Redis", exc_info=True)
    return lsn
