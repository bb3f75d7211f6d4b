"""Helpers for the sign-in security tests: signing in for real, finding an account, reading
the audit trail as the audit administrator."""

from __future__ import annotations

from typing import Any

import httpx

from mediation.contracts.etag import etag_of
from tests.support.world import PASSWORD, World

TOKEN = "/api/v1/auth/token"
EVENTS = "/api/v1/audit-events"


async def sign_in(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD, otp: str | None = None
) -> httpx.Response:
    data = {"grant_type": "password", "username": username, "password": password}
    if otp is not None:
        data["otp"] = otp
    return await client.post(TOKEN, data=data)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def account(world: World, username: str) -> dict[str, Any]:
    """The account as the security administrator reads it."""
    security = await world.headers("security_admin")
    r = await world.client.get("/api/v1/users", headers=security, params={"limit": 200})
    assert r.status_code == 200, r.text
    return next(u for u in r.json()["items"] if u["username"] == username)


async def set_password_as_admin(world: World, username: str, password: str) -> httpx.Response:
    return await change_account(world, username, {"password": password})


async def change_account(world: World, username: str, body: dict[str, Any]) -> httpx.Response:
    """PATCH /users/{id} as the security administrator, with the current ETag."""
    user = await account(world, username)
    security = await world.headers("security_admin")
    return await world.client.patch(
        f"/api/v1/users/{user['id']}",
        headers={**security, "If-Match": etag_of(user["id"], user["version"])},
        json=body,
    )


async def audit_events(world: World, **params: str) -> list[dict[str, Any]]:
    auditor = await world.headers("audit_admin")
    r = await world.client.get(EVENTS, headers=auditor, params={"limit": 200, **params})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])
