"""The demo district, loaded through the same code as `make run DEMO=1`, plus sign-in helpers."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from mediation.clock import MovableClock
from mediation.demo import load
from mediation.org.models import Unit

PASSWORD = "demo-password"


class World:
    def __init__(self, db: Any, client: httpx.AsyncClient, app: Any, clock: MovableClock) -> None:
        self.db = db
        self.client = client
        self.app = app
        self.clock = clock
        self.units: dict[str, Unit] = {}
        self._tokens: dict[str, str] = {}

    async def build(self) -> None:
        async with self.db() as session, session.begin():
            await load(session, PASSWORD, self.clock.now().date().replace(year=2020))
        async with self.db() as session:
            for unit in (await session.scalars(select(Unit))).all():
                self.units[unit.code] = unit

    async def token(self, username: str, password: str = PASSWORD) -> str:
        if username not in self._tokens:
            r = await self.client.post(
                "/api/v1/auth/token",
                data={"grant_type": "password", "username": username, "password": password},
            )
            assert r.status_code == 200, r.text
            self._tokens[username] = r.json()["access_token"]
        return self._tokens[username]

    async def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(username)}"}

    def unit(self, code: str) -> Unit:
        return self.units[code]
