"""An application with changed settings, for tests of what a setting does."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from mediation.settings import Settings
from mediation_dev.clock import MovableClock


@contextlib.asynccontextmanager
async def client_with(
    settings: Settings, clock: MovableClock, **update: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an application with `update` applied to the settings."""
    from mediation_api.main import create_app

    app = create_app(settings.model_copy(update=update), clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        yield c
