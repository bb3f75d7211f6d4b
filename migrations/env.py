"""Alembic environment: async engine, URL from the settings (or -x url=... / config attribute)."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from mediation.models import Base
from mediation.settings import get_settings, to_async_url

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    # Migrations bypass a transaction-mode pooler (DATABASE_DIRECT_URL): DDL, CREATE INDEX
    # CONCURRENTLY and Alembic's prepared statements want one session throughout.
    settings = get_settings()
    return to_async_url(url or settings.database_direct_url or settings.database_url)


def _include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # Indexes created in raw SQL for extensions (trigram search) are declared in the models too;
    # nothing to exclude yet, the hook is here so such exceptions have one place.
    return True


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        include_object=_include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
