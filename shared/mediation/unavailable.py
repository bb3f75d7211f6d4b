"""Which errors mean "no writable database right now" (a failover in progress, the primary
down, a standby answering, the pool exhausted) rather than a bug. The API answers those 503
with Retry-After: the caller retries and the next connection finds the new primary.

Looked for along the exception chain, because SQLAlchemy wraps asyncpg's errors twice
(DBAPIError -> adapted driver error -> the asyncpg exception)."""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy import exc as sa_exc

# Seconds a caller is told to wait: a Patroni failover takes about ten (docs/deployment.md).
RETRY_AFTER_SECONDS = 5

_SQLSTATE_CLASSES = (
    "08",  # connection exception
    "57P",  # operator intervention: admin shutdown, crash shutdown, cannot connect now
    "53300",  # too many connections
)
_READ_ONLY = "25006"  # read_only_sql_transaction: we reached a standby (or a demoted primary)

_CAUSES: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable; TimeoutError is one too
    asyncio.TimeoutError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ReadOnlySQLTransactionError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TargetServerAttributeNotMatched,
    sa_exc.TimeoutError,  # the pool had no connection to give within pool_timeout
)


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        orig = getattr(current, "orig", None)  # SQLAlchemy's DBAPIError
        current = orig if isinstance(orig, BaseException) else current.__cause__
        if current is None:
            current = seen[-1].__context__
    return seen


def database_unavailable(error: BaseException) -> bool:
    for e in _chain(error):
        if isinstance(e, sa_exc.DBAPIError) and e.connection_invalidated:
            return True
        if isinstance(e, _CAUSES):
            return True
        if isinstance(e, asyncpg.exceptions.InterfaceError) and "closed" in str(e):
            return True  # "connection is closed": the server went away mid-request
        state = getattr(e, "sqlstate", None)
        if isinstance(state, str) and (
            state == _READ_ONLY or any(state.startswith(c) for c in _SQLSTATE_CLASSES)
        ):
            return True
    return False
