"""PostgreSQL databases of a test run: one template built by the migrations, a clone of it per
test session (each xdist worker), and the reset that brings a clone back to the template's
state after a test: data tables emptied, the rows the migrations seed (reference items,
calendar, deadline rules...) as they were, sequences as they were, tables and sequences a
test created dropped."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import graphlib
import io
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from mediation.migrate import upgrade
from mediation.settings import to_async_url

KEEP = {"alembic_version"}


def plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def on_server(server: str, name: str) -> str:
    return plain(server).rsplit("/", 1)[0] + "/" + name


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _admin(server: str, *statements: str) -> None:
    conn = await asyncpg.connect(plain(server))
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


async def _exists(server: str, name: str) -> bool:
    conn = await asyncpg.connect(plain(server))
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


@contextlib.contextmanager
def _file_lock(name: str) -> Iterator[None]:
    """Serialises the workers of one run on this machine (they share /tmp)."""
    path = Path(tempfile.gettempdir()) / f"{name}.lock"
    with path.open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def clone_template(server: str, template: str, name: str) -> str:
    """Creates database `name` from `template`, building the template from the migrations
    first if no worker of this run has yet. Returns the clone's URL."""
    with _file_lock(template):
        if not asyncio.run(_exists(server, template)):
            asyncio.run(_admin(server, f"CREATE DATABASE {_q(template)}"))
            try:
                upgrade(to_async_url(on_server(server, template)))
            except BaseException:
                asyncio.run(_admin(server, f"DROP DATABASE IF EXISTS {_q(template)} WITH (FORCE)"))
                raise
        # CREATE DATABASE ... TEMPLATE needs the template without connections: under the lock.
        asyncio.run(_admin(server, f"CREATE DATABASE {_q(name)} TEMPLATE {_q(template)}"))
    return on_server(server, name)


async def _drop_all(server: str, names: list[str], prefix: str | None) -> None:
    if prefix is not None:
        conn = await asyncpg.connect(plain(server))
        try:
            rows = await conn.fetch(
                "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", prefix
            )
        finally:
            await conn.close()
        names = [*names, *(r[0] for r in rows if r[0] not in names)]
    # Each DROP DATABASE waits for a checkpoint; sent together, they share one.
    await asyncio.gather(
        *(_admin(server, f"DROP DATABASE IF EXISTS {_q(n)} WITH (FORCE)") for n in names)
    )


def drop(server: str, *names: str, prefix: str | None = None) -> None:
    """Drops the databases named, and those whose name starts with `prefix`."""
    asyncio.run(_drop_all(server, list(names), prefix))


def _fingerprint_sql(tables: list[str]) -> str:
    # Any insert or update gives a row a newer xmin; a delete lowers the count.
    return " UNION ALL ".join(
        f"SELECT {i}, count(*), coalesce(max(xmin::text::bigint), 0) FROM {_q(t)}"
        for i, t in enumerate(tables)
    )


async def _deletion_order(conn: asyncpg.Connection, tables: list[str]) -> list[str] | None:
    """The tables, each after every table whose foreign keys point at it (None: a cycle)."""
    rows = await conn.fetch(
        "SELECT c.relname AS child, p.relname AS parent FROM pg_constraint k "
        "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid "
        "WHERE k.contype = 'f' AND k.connamespace = current_schema()::regnamespace"
    )
    referrers: dict[str, set[str]] = {t: set() for t in tables}
    for r in rows:
        if r["child"] != r["parent"] and r["parent"] in referrers:
            referrers[r["parent"]].add(r["child"])
    try:
        return list(graphlib.TopologicalSorter(referrers).static_order())
    except graphlib.CycleError:
        return None


@dataclass
class Baseline:
    """The state of a freshly cloned database, to return to after each test.

    Tables are emptied with DELETE, children first: for the few rows a test writes it is
    several times faster than TRUNCATE, which makes and syncs new files for every table it
    cascades to."""

    tables: list[str]  # every table but alembic_version, in deletion order when there is one
    seeded: dict[str, bytes]  # table -> its rows (COPY binary)
    sequences: dict[str, int | None]  # name -> last_value (None: never called)
    ordered: bool = True  # False: foreign keys in a cycle, TRUNCATE ... CASCADE instead
    superuser: bool = False  # may skip foreign-key checks (all rows go anyway)
    fingerprints: dict[str, tuple[int, int]] = field(default_factory=dict)

    @classmethod
    async def capture(cls, conn: asyncpg.Connection) -> Baseline:
        tables = [
            r[0]
            for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "ORDER BY tablename"
            )
            if r[0] not in KEEP
        ]
        seeded: dict[str, bytes] = {}
        for table in tables:
            if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {_q(table)})"):
                out = io.BytesIO()
                await conn.copy_from_table(table, output=out, format="binary")
                seeded[table] = out.getvalue()
        order = await _deletion_order(conn, tables)
        baseline = cls(order or tables, seeded, await _sequences(conn), ordered=order is not None)
        baseline.superuser = await conn.fetchval("SELECT current_setting('is_superuser') = 'on'")
        baseline.fingerprints = await baseline._fingerprints(conn)
        return baseline

    async def _fingerprints(self, conn: asyncpg.Connection) -> dict[str, tuple[int, int]]:
        names = list(self.seeded)
        if not names:
            return {}
        rows = await conn.fetch(_fingerprint_sql(names))
        return {names[r[0]]: (r[1], r[2]) for r in rows}

    async def restore(self, conn: asyncpg.Connection) -> None:
        present = {
            r[0]
            for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        }
        strays = sorted(present - set(self.tables) - KEEP)
        if strays:  # made by a test (and not dropped by it)
            await conn.execute(f"DROP TABLE {', '.join(map(_q, strays))} CASCADE")
        data = [t for t in self.tables if t not in self.seeded]
        probe = " UNION ALL ".join(
            f"SELECT {i} FROM (SELECT 1 FROM {_q(t)} LIMIT 1) x" for i, t in enumerate(data)
        )
        dirty = [data[r[0]] for r in await conn.fetch(probe)] if data else []
        async with conn.transaction():
            # Nobody waits on this commit being durable.
            await conn.execute("SET LOCAL synchronous_commit = off")
            if self.superuser:  # no foreign-key checks: every row goes anyway
                await conn.execute("SET LOCAL session_replication_role = replica")
            await self._empty(conn, dirty)
            now = await self._fingerprints(conn)
            changed = [t for t in self.seeded if now.get(t) != self.fingerprints.get(t)]
            if changed:
                await self._empty(conn, changed)
                for table in changed:
                    await conn.copy_to_table(
                        table, source=io.BytesIO(self.seeded[table]), format="binary"
                    )
            await self._reset_sequences(conn)
        if changed:
            self.fingerprints = await self._fingerprints(conn)

    async def _empty(self, conn: asyncpg.Connection, tables: list[str]) -> None:
        if not tables:
            return
        if self.ordered:
            chosen = set(tables)
            await conn.execute(";".join(f"DELETE FROM {_q(t)}" for t in self.tables if t in chosen))
        else:
            await conn.execute(f"TRUNCATE {', '.join(map(_q, tables))} CASCADE")

    async def _reset_sequences(self, conn: asyncpg.Connection) -> None:
        now = await _sequences(conn)
        statements = []
        for name, last in now.items():
            if name not in self.sequences:
                statements.append(f"DROP SEQUENCE {_q(name)}")
            elif last != self.sequences[name]:
                was = self.sequences[name]
                if was is None:
                    statements.append(f"ALTER SEQUENCE {_q(name)} RESTART")
                else:
                    statements.append(f"SELECT setval('{_q(name)}', {was}, true)")
        if statements:
            await conn.execute(";".join(statements))


async def _sequences(conn: asyncpg.Connection) -> dict[str, int | None]:
    rows = await conn.fetch(
        "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = current_schema()"
    )
    return {r[0]: r[1] for r in rows}
