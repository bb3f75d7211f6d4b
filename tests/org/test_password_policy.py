"""The password policy (issue 18, item 3): weak passwords are refused naming the rule, recent
ones cannot come back, an old password allows only a change, and a password an
administrator set is changed at first sign-in."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from mediation.errors import Unprocessable
from mediation.org.enums import Role
from mediation.settings import Settings
from tests.org.security_helpers import (
    account,
    audit_events,
    bearer,
    set_password_as_admin,
    sign_in,
)
from tests.support.world import PASSWORD, World

CHANGE = "/api/v1/auth/password"


async def test_weak_passwords_are_refused_naming_the_rule(
    client: httpx.AsyncClient, world: World
) -> None:
    before = await account(world, "dispatcher")
    weak = {
        "Ab1#xyz": "min_length",
        "all-lower-case": "character_classes",
        "Dispatcher#2026": "contains_username",
        "Password1": "common_password",
    }
    for password, rule in weak.items():
        r = await set_password_as_admin(world, "dispatcher", password)
        assert r.status_code == 422, (password, r.text)
        body = r.json()
        assert body["rule"] == rule and f"`{rule}`" in body["detail"], body
        assert body["code"] == "password-policy"
        assert body["errors"][0]["field"] == "body.password"
    # Nothing changed: same version, the old password still signs in.
    assert (await account(world, "dispatcher"))["version"] == before["version"]
    assert (await sign_in(client, "dispatcher")).status_code == 200


async def test_the_last_five_passwords_cannot_come_back(
    client: httpx.AsyncClient, world: World
) -> None:
    token = (await sign_in(client, "dispatcher")).json()["access_token"]
    current = PASSWORD
    for n in range(1, 6):
        new = f"Harbor#{n}-tiexi"
        r = await client.post(
            CHANGE, headers=bearer(token), json={"current_password": current, "new_password": new}
        )
        assert r.status_code == 204, r.text
        current = new
    again = await client.post(
        CHANGE,
        headers=bearer(token),
        json={"current_password": current, "new_password": "Harbor#1-tiexi"},
    )
    assert again.status_code == 422 and again.json()["rule"] == "recently_used"
    # One more change and the first is six passwords back: allowed again.
    for new in ("Harbor#6-tiexi", "Harbor#1-tiexi"):
        r = await client.post(
            CHANGE, headers=bearer(token), json={"current_password": current, "new_password": new}
        )
        assert r.status_code == 204, r.text
        current = new
    changes = await audit_events(world, action="auth.password_change")
    assert sum(e["result"] == "success" for e in changes) == 7
    assert [e["detail"]["reason"] for e in changes if e["result"] == "failure"] == ["recently_used"]


async def test_a_wrong_current_password_changes_nothing(
    client: httpx.AsyncClient, world: World
) -> None:
    token = (await sign_in(client, "mediator")).json()["access_token"]
    r = await client.post(
        CHANGE,
        headers=bearer(token),
        json={"current_password": "not-my-password", "new_password": "Harbor#9-tiexi"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.current_password"
    assert (await sign_in(client, "mediator")).status_code == 200
    assert (await sign_in(client, "mediator", "Harbor#9-tiexi")).status_code == 400


async def test_an_expired_password_allows_only_a_change(
    client: httpx.AsyncClient, world: World
) -> None:
    token = (await sign_in(client, "dispatcher")).json()["access_token"]
    r = await client.post(
        CHANGE,
        headers=bearer(token),
        json={"current_password": PASSWORD, "new_password": "Spring#2026-tx"},
    )
    assert r.status_code == 204
    world.clock.advance(timedelta(days=89))
    assert (await sign_in(client, "dispatcher", "Spring#2026-tx")).json().get(
        "restricted_to"
    ) is None
    world.clock.advance(timedelta(days=1))
    r = await sign_in(client, "dispatcher", "Spring#2026-tx")
    assert r.status_code == 200, r.text
    limited = r.json()
    assert limited["restricted_to"] == "password_change" and limited["refresh_token"] is None
    refused = await client.get("/api/v1/cases", headers=bearer(limited["access_token"]))
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("password-expired")
    assert "POST /api/v1/auth/password" in refused.json()["detail"]
    r = await client.post(
        CHANGE,
        headers=bearer(limited["access_token"]),
        json={"current_password": "Spring#2026-tx", "new_password": "Summer#2026-tx"},
    )
    assert r.status_code == 204, r.text
    full = (await sign_in(client, "dispatcher", "Summer#2026-tx")).json()
    assert full["restricted_to"] is None and full["refresh_token"]
    assert (
        await client.get("/api/v1/cases", headers=bearer(full["access_token"]))
    ).status_code == 200


async def test_a_password_set_by_an_administrator_is_changed_at_first_sign_in(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await set_password_as_admin(world, "supervisor", "Reset#2026-by-admin")
    assert r.status_code == 200, r.text
    assert r.json()["must_change_password"] is True
    first = (await sign_in(client, "supervisor", "Reset#2026-by-admin")).json()
    assert first["restricted_to"] == "password_change"
    me = await client.get("/api/v1/me", headers=bearer(first["access_token"]))
    assert me.status_code == 200 and me.json()["permissions"] == []
    r = await client.post(
        CHANGE,
        headers=bearer(first["access_token"]),
        json={"current_password": "Reset#2026-by-admin", "new_password": "Mine#2026-chosen"},
    )
    assert r.status_code == 204
    assert (await account(world, "supervisor"))["must_change_password"] is False
    full = (await sign_in(client, "supervisor", "Mine#2026-chosen")).json()
    assert full["restricted_to"] is None
    set_events = await audit_events(world, action="account.password_set")
    assert [e["detail"]["username"] for e in set_events] == ["supervisor"]


async def test_create_user_on_the_command_line_follows_the_policy(
    client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    from mediation.auth.accounts import create_user

    with pytest.raises(Unprocessable) as refused:
        await create_user(
            settings,
            username="zhao.security",
            name="赵安全",
            role=Role.mediator,
            unit_code="220302",
            password="short1A",
        )
    assert refused.value.extra["rule"] == "min_length"
    await create_user(
        settings,
        username="zhao.security",
        name="赵安全",
        role=Role.mediator,
        unit_code="220302",
        password="Operator#2026-set",
    )
    first = (await sign_in(client, "zhao.security", "Operator#2026-set")).json()
    assert first["restricted_to"] == "password_change"
