"""Sign-in for people and systems, refresh rotation, throttling, token problems."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import jwt

from mediation.auth.models import ApiClient
from mediation.auth.passwords import hash_password
from tests.org.security_helpers import sign_in
from tests.support.world import World, demo_otp

TOKEN = "/api/v1/auth/token"


async def test_every_demo_role_signs_in_with_its_role(
    client: httpx.AsyncClient, world: World
) -> None:
    from mediation_dev.demo import ACCOUNTS

    for role, name, _, _ in ACCOUNTS:
        r = await sign_in(client, role.value, otp=demo_otp(world.clock.now()))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["token_type"] == "bearer" and body["refresh_token"]
        me = await client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
        assert me.status_code == 200
        assert me.json()["roles"] == [role.value]
        assert me.json()["name"] == name
        assert me.json()["grants"][0]["role"] == role.value


async def test_wrong_password_and_unknown_user_look_the_same(
    client: httpx.AsyncClient, world: World
) -> None:
    a = await sign_in(client, "dispatcher", "wrong-password")
    b = await sign_in(client, "nobody-here", "wrong-password")
    # RFC 6749 §5.2: a wrong resource-owner credential is a 400 `invalid_grant`.
    assert a.status_code == b.status_code == 400
    assert a.json() == b.json()
    assert a.json()["error"] == "invalid_grant"
    assert a.headers["content-type"].startswith("application/json")
    assert a.headers["cache-control"] == "no-store"


async def test_failures_slow_down_then_lock(
    client: httpx.AsyncClient, world: World, clock: Any
) -> None:
    for _ in range(3):
        assert (await sign_in(client, "mediator", "bad-password")).status_code == 400
    r = await sign_in(client, "mediator")
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    # keep failing after each wait until locked
    for _ in range(7):
        clock.advance(timedelta(seconds=600))
        assert (await sign_in(client, "mediator", "bad-password")).status_code == 400
    clock.advance(timedelta(minutes=5))
    locked = await sign_in(client, "mediator")  # even the right password waits
    assert locked.status_code == 429
    clock.advance(timedelta(minutes=16))
    assert (await sign_in(client, "mediator")).status_code == 200


async def test_refresh_rotates_and_reuse_revokes_the_family(
    client: httpx.AsyncClient, world: World
) -> None:
    first = (await sign_in(client, "dispatcher")).json()
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    # the old one again: revokes everything issued from it
    again = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert again.status_code == 401
    newest = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert newest.status_code == 401


async def test_logout_revokes_refresh(client: httpx.AsyncClient, world: World) -> None:
    tokens = (await sign_in(client, "supervisor")).json()
    h = {"Authorization": f"Bearer {tokens['access_token']}"}
    r = await client.post(
        "/api/v1/auth/logout", headers=h, json={"refresh_token": tokens["refresh_token"]}
    )
    assert r.status_code == 204
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401


async def test_bad_tokens_are_401_problems(
    client: httpx.AsyncClient, world: World, clock: Any
) -> None:
    good = await world.token("dispatcher")
    cases = {
        "malformed": "not-a-jwt",
        "unknown key": jwt.encode({"sub": "user:x"}, "k" * 40, "HS256", headers={"kid": "zz"}),
        "forged": good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),
    }
    for label, token in cases.items():
        r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, label
        assert r.json()["type"].endswith("/unauthorized")
    clock.advance(timedelta(minutes=16))
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {good}"})
    assert r.status_code == 401 and "expired" in r.json()["detail"]


async def test_signing_key_rotation_keeps_old_tokens_valid(
    app: Any, world: World, settings: Any
) -> None:
    from datetime import timedelta as td

    from mediation.auth.tokens import TokenService

    old = await world.token("dispatcher")
    state = app.state.mediation
    state.tokens = TokenService([("k2", "n" * 40), *settings.jwt_keyring()], td(minutes=15))
    r = await world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {old}"})
    assert r.status_code == 200
    new = (await sign_in(world.client, "dispatcher")).json()["access_token"]
    assert jwt.get_unverified_header(new)["kid"] == "k2"


async def test_client_credentials_with_scopes(
    client: httpx.AsyncClient, world: World, db: Any
) -> None:
    async with db() as session, session.begin():
        session.add(
            ApiClient(
                client_id="police-110",
                name="110联动",
                secret_hash=hash_password("s3cret-s3cret"),
                scopes=["cases:create", "cases:read"],
                unit_id=world.unit("220302").id,
            )
        )
    r = await client.post(
        TOKEN,
        data={
            "grant_type": "client_credentials",
            "client_id": "police-110",
            "client_secret": "s3cret-s3cret",
            "scope": "cases:read",
        },
    )
    assert r.status_code == 200
    assert r.json()["scope"] == "cases:read" and r.json().get("refresh_token") is None
    r = await client.post(
        TOKEN,
        data={
            "grant_type": "client_credentials",
            "client_id": "police-110",
            "client_secret": "s3cret-s3cret",
            "scope": "cases:read users:write",
        },
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    assert "users:write" in r.json()["error_description"]
    r = await client.post(
        TOKEN,
        data={
            "grant_type": "client_credentials",
            "client_id": "police-110",
            "client_secret": "nope-nope",
        },
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert r.headers["www-authenticate"].startswith("Basic")
