"""A small asyncpg pool for the hottest reads (a case by id, case lists).

Through the ORM session a read costs about 0.6 ms of CPU per statement plus a pre-ping
(three more round trips); these reads are one hand-written statement each on a pooled
connection, about a tenth of that (docs/performance.md). Everything else uses the session.

Connections decode `json`/`jsonb` to the values the engine's `json.loads` gives
(`mediation.jsondecode`, orjson where that is the same value), so the same
query functions also run on a session's own connection (inside its transaction) and see
the same Python values there."""

from __future__ import annotations

import asyncpg

from mediation.jsondecode import loads
from mediation.settings import Settings


async def _codecs(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "json",
        encoder=str.encode,
        decoder=loads,
        schema="pg_catalog",
        format="binary",
    )
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda s: b"\x01" + s.encode(),
        decoder=lambda b: loads(b[1:]),
        schema="pg_catalog",
        format="binary",
    )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to undo on release: these reads are single autocommit statements that never
    LISTEN, SET or lock (asyncpg still rolls back an open transaction first). The default
    reset is one more round trip per request (RESET ALL, UNLISTEN *, ...)."""


def libpq_dsn(settings: Settings) -> str:
    return settings.sync_database_url


async def create_read_pool(settings: Settings) -> asyncpg.Pool:
    """Opened lazily (min_size 0): the API starts while the database is still coming up."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        libpq_dsn(settings),
        min_size=0,
        max_size=settings.db_pool_size,
        init=_codecs,
        timeout=settings.db_connect_timeout_seconds,
        reset=_keep_session,
        # Behind PgBouncer: unnamed statements only. asyncpg parses, binds and executes one
        # without a Sync in between, so PgBouncer keeps it on one server connection.
        statement_cache_size=0 if settings.behind_pgbouncer else 100,
    )
    return pool
