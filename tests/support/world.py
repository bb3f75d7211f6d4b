"""The demo district, loaded through the same code as `make run DEMO=1`, plus helpers to act as
anyone.

`headers`/`token` mint the access token with the app's own token code for a demo account
whose password is still the demo password (what signing in would issue, without an Argon2
verification of ~140 ms per account and test); other passwords and changed accounts sign in
for real. Tests of signing in post to /auth/token themselves."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select

from mediation.auth.models import User
from mediation.auth.passwords import hash_password
from mediation.org.models import Unit
from mediation.settings import DEMO_TOTP_SECRET
from mediation_dev.clock import MovableClock
from mediation_dev.demo import demo_code, load

PASSWORD = "demo-password"


def demo_otp(at: datetime) -> str:
    """The second factor of the demo accounts that have one (MEDIATION_DEMO_TOTP_SECRET's
    default) at `at`: what their authenticator app shows."""
    return demo_code(DEMO_TOTP_SECRET, at)


@functools.cache
def _demo_hash() -> str:
    return hash_password(PASSWORD)  # once per process, not once per test


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
            await load(
                session,
                PASSWORD,
                self.clock.now().date().replace(year=2020),
                password_hash=_demo_hash(),
                settings=self.app.state.mediation.settings,
            )
        async with self.db() as session:
            for unit in (await session.scalars(select(Unit))).all():
                self.units[unit.code] = unit

    async def token(self, username: str, password: str = PASSWORD) -> str:
        if username not in self._tokens:
            minted = await self._mint(username) if password == PASSWORD else None
            self._tokens[username] = minted or await self._sign_in(username, password)
        return self._tokens[username]

    async def _sign_in(self, username: str, password: str) -> str:
        r = await self.client.post(
            "/api/v1/auth/token",
            data={
                "grant_type": "password",
                "username": username,
                "password": password,
                "otp": demo_otp(self.clock.now()),  # ignored by accounts without one
            },
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    async def _mint(self, username: str) -> str | None:
        """The access token a password sign-in would issue now, or None when signing in would
        not be a plain success (unknown, disabled, or password changed): then it happens."""
        from mediation_api.auth.service import AuthService

        state = self.app.state.mediation
        async with self.db() as session:
            user = (
                await session.scalars(select(User).where(User.username == username))
            ).one_or_none()
            if user is None or not user.active or user.password_hash != _demo_hash():
                return None
            now = self.clock.now()
            service = AuthService(session, state.tokens, state.redis, state.settings, now)
            principal = await service.user_principal(user)
        token, _ = state.tokens.issue(principal, now)
        return token

    async def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(username)}"}

    def unit(self, code: str) -> Unit:
        return self.units[code]
