"""Running the Alembic migrations from code (CLI, tests, `make run`)."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config


def alembic_config(database_url: str | None = None) -> Config:
    candidates = [
        Path(os.environ["MEDIATION_ALEMBIC_INI"])
        if "MEDIATION_ALEMBIC_INI" in os.environ
        else None,
        Path(__file__).resolve().parents[2] / "alembic.ini",
        Path.cwd() / "alembic.ini",
    ]
    ini = next((p for p in candidates if p is not None and p.exists()), None)
    if ini is None:
        raise FileNotFoundError("alembic.ini not found; set MEDIATION_ALEMBIC_INI")
    cfg = Config(str(ini))
    cfg.attributes["configure_logger"] = False
    if database_url:
        cfg.attributes["url"] = database_url
    return cfg


def upgrade(database_url: str | None = None, revision: str = "heads") -> None:
    command.upgrade(alembic_config(database_url), revision)


def check(database_url: str | None = None) -> None:
    """Raises if the models and the migrations disagree."""
    command.check(alembic_config(database_url))


def check_on_scratch(server_url: str) -> None:
    """Builds a scratch database on the server from the migrations and compares it with the
    models; the scratch database is dropped afterwards."""
    import asyncio
    import uuid

    import asyncpg

    from mediation.settings import to_async_url

    plain = server_url.replace("postgresql+asyncpg://", "postgresql://")
    name = f"mediation_check_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(plain)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        url = to_async_url(plain.rsplit("/", 1)[0] + "/" + name)
        upgrade(url)
        check(url)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
