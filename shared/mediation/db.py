"""Declarative base, naming convention, engine and session factory shared by both services."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import DateTime, MetaData, String, event, exc, func, inspect
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.util.concurrency import await_, in_greenlet

from mediation.ids import uuid7
from mediation.settings import Settings

# Stable constraint names, so Alembic autogenerate and `alembic check` see no drift.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: DateTime(timezone=True),
        uuid.UUID: UUID(as_uuid=True),
    }


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)


class TimestampMixin:
    # Fetch server-set timestamps with RETURNING, so async code never lazy-loads them.
    __mapper_args__ = {"eager_defaults": True}

    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class ActorMixin:
    """Who made a timeline entry, through which integration client, in which request (the
    fields of `mediation.sessions.events.Actor`)."""

    actor_kind: Mapped[str] = mapped_column(String(10))  # user, client or system
    actor_id: Mapped[uuid.UUID | None]
    actor_name: Mapped[str] = mapped_column(String(200))
    client_id: Mapped[str | None] = mapped_column(String(80))
    request_id: Mapped[str | None] = mapped_column(String(64))


_T = TypeVar("_T", bound=Base)
_COLUMN_KEYS: dict[type[Base], frozenset[str]] = {}


def built(cls: type[_T], **values: Any) -> _T:
    """An instance of `cls` holding these column values, as `cls(**values)` but without its
    event per attribute (about 1 µs each: a session's 41 columns cost 30 µs). For records the
    pipeline statements write, and the answers made of what they loaded; an unknown key is
    refused, as the constructor refuses it."""
    keys = _COLUMN_KEYS.get(cls)
    if keys is None:
        keys = _COLUMN_KEYS[cls] = frozenset(p.key for p in inspect(cls).column_attrs)
    if not keys.issuperset(values):
        raise TypeError(f"{sorted(set(values) - keys)} are not columns of {cls.__name__}")
    obj = cls._sa_class_manager.new_instance()
    obj.__dict__.update(values)  # the instance's state dict: what a load fills
    return obj


# Per class: (column name, attribute key, enum class or None) of each column of its table.
_ROW_COLUMNS: dict[type[Base], list[tuple[str, str, Any]]] = {}


def loaded(cls: type[_T], row: Any) -> _T:
    """The instance of a driver row holding every column of `cls`'s table (by column name),
    with the values the ORM would load: its enums as members (asyncpg reads them as text).
    `built`, so not in any session: for records a hand-written statement reads."""
    columns = _ROW_COLUMNS.get(cls)
    if columns is None:
        columns = _ROW_COLUMNS[cls] = [
            (c.name, p.key, getattr(c.type, "enum_class", None))
            for p in inspect(cls).column_attrs
            for c in p.columns[:1]
        ]
    values = {}
    for name, key, enum_class in columns:
        value = row[name]
        values[key] = enum_class(value) if value is not None and enum_class else value
    return built(cls, **values)


def create_engine(settings: Settings, **kwargs: object) -> AsyncEngine:
    """Several hosts in DATABASE_URL: each new connection goes to the writable primary
    (mediation.dburls); connections to a failed primary are dropped at checkout below."""
    kwargs.setdefault("pool_timeout", settings.db_connect_timeout_seconds)
    connect_args: dict[str, Any] = {"timeout": settings.db_connect_timeout_seconds}
    if settings.behind_pgbouncer:
        # PgBouncer refuses startup parameters it does not know: the role's setting serves.
        connect_args |= PGBOUNCER_CONNECT_ARGS
    elif settings.db_idle_in_transaction_seconds:
        ms = round(settings.db_idle_in_transaction_seconds * 1000)
        connect_args["server_settings"] = {"idle_in_transaction_session_timeout": str(ms)}
    kwargs.setdefault("connect_args", connect_args)
    # Up to twice MEDIATION_DB_POOL_SIZE connections, all kept once opened: as `pool_size` with
    # as many overflow, SQLAlchemy closed an overflow connection whenever it came back while
    # the pool's first half was idle, so a load above that size opened a connection (a
    # backend's fork, the driver's set-up) every few requests (docs/performance.md, "The
    # pool's overflow").
    engine = create_async_engine(
        settings.async_database_url,
        pool_size=2 * settings.db_pool_size,
        max_overflow=0,
        **kwargs,  # type: ignore[arg-type]
    )
    event.listen(engine.sync_engine.pool, "checkout", _discard_if_closed)
    return engine


# Behind PgBouncer in transaction mode each transaction may run on another server connection.
# asyncpg's statement cache and SQLAlchemy's (on by default) keep prepared statements for
# later transactions, and asyncpg names them `__asyncpg_stmt_1__`, ... per client connection:
# on another server connection such a name is missing or means another statement. So no
# caches, and names no other client uses (SQLAlchemy's recipe for PgBouncer). A statement is
# prepared and run inside one transaction, which PgBouncer keeps on one server connection.
PGBOUNCER_CONNECT_ARGS: dict[str, Any] = {
    "statement_cache_size": 0,
    "prepared_statement_cache_size": 0,
    "prepared_statement_name_func": lambda: f"__asyncpg_{uuid.uuid4().hex}__",
}


def _discard_if_closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Pessimistic disconnect handling without a round trip. `pool_pre_ping` costs three
    statements per checkout with asyncpg (BEGIN, `;`, ROLLBACK: a quarter of a case read's
    statements, docs/performance.md). A connection the server closed (restart, failover,
    idle timeout) is known locally: its socket saw EOF and asyncpg marked it closed. Raising
    DisconnectionError makes the pool throw it away and hand out another one."""
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is not None and driver.is_closed():
        raise exc.DisconnectionError("the server closed this connection")


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under an AsyncSession, inside its transaction."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    # SQLAlchemy's asyncpg adapter sends BEGIN with its first statement of a transaction: a
    # statement sent to the driver before any would run outside the session's transaction.
    adapted: Any = raw.dbapi_connection
    if adapted._transaction is None:
        await adapted._start_transaction()
    driver: asyncpg.Connection = raw.driver_connection
    return driver


def driver_connection_in_greenlet(session: Session) -> asyncpg.Connection | None:
    """`driver_connection` for a hook of the ORM session (a sync `Session` an AsyncSession
    runs in its greenlet): the asyncpg connection, inside the transaction, for `await_`. None
    where there is none (a sync engine, outside the greenlet): use the session then."""
    if not in_greenlet():
        return None
    raw = session.connection().connection
    driver = raw.driver_connection
    if not isinstance(driver, asyncpg.Connection):
        return None
    adapted: Any = raw.dbapi_connection
    if adapted._transaction is None:
        await_(adapted._start_transaction())
    return driver


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def standalone(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on an engine of their own, disposed at the end: for a command or a one-off
    job, not for the services (they keep one engine for their life)."""
    engine = create_engine(settings)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


@asynccontextmanager
async def unit_of_work(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction: commit once at the end, roll back on any error."""
    async with factory() as session, session.begin():
        yield session
