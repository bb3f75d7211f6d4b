"""Sessions (issue 18, item 4): idle timeout and absolute lifetime on the app's clock, a
person lists and ends their own sessions, the security administrator ends all of an
account's, and disabling an account refuses its tokens at once."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.org.security_helpers import account, audit_events, bearer, change_account, sign_in
from tests.support.world import World

SESSIONS = "/api/v1/auth/sessions"
REFRESH = "/api/v1/auth/refresh"


async def _refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(REFRESH, json={"refresh_token": token})


async def test_a_session_idle_for_30_minutes_cannot_be_refreshed(
    client: httpx.AsyncClient, world: World
) -> None:
    tokens = (await sign_in(client, "dispatcher")).json()
    world.clock.advance(timedelta(minutes=29))
    r = await _refresh(client, tokens["refresh_token"])
    assert r.status_code == 200, r.text
    tokens = r.json()
    world.clock.advance(timedelta(minutes=31))
    idle = await _refresh(client, tokens["refresh_token"])
    assert idle.status_code == 401 and "idle" in idle.json()["detail"]
    fresh = (await sign_in(client, "dispatcher")).json()
    listed = await client.get(SESSIONS, headers=bearer(fresh["access_token"]))
    assert [s["current"] for s in listed.json()["items"]] == [True]
    ended = await audit_events(world, action="auth.session_ended")
    assert [e["detail"]["reason"] for e in ended] == ["idle"]


async def test_a_session_ends_after_its_absolute_lifetime(
    client: httpx.AsyncClient, world: World
) -> None:
    refresh = (await sign_in(client, "dispatcher")).json()["refresh_token"]
    for _ in range(24):  # busy all day: a refresh every 25 minutes, 10 hours long
        world.clock.advance(timedelta(minutes=25))
        r = await _refresh(client, refresh)
        assert r.status_code == 200, r.text
        refresh = r.json()["refresh_token"]
    world.clock.advance(timedelta(hours=2))  # twelve hours after signing in
    r = await _refresh(client, refresh)
    assert r.status_code == 401 and "expired" in r.json()["detail"]


async def test_a_person_lists_and_ends_their_own_sessions(
    client: httpx.AsyncClient, world: World
) -> None:
    office = (await sign_in(client, "dispatcher")).json()
    phone = (await sign_in(client, "dispatcher")).json()
    r = await client.get(SESSIONS, headers=bearer(office["access_token"]))
    assert r.status_code == 200, r.text
    listed = r.json()["items"]
    assert len(listed) == 2 and sum(s["current"] for s in listed) == 1
    other = next(s for s in listed if not s["current"])
    # Somebody else cannot end it (nor learn that it exists).
    stranger = (await sign_in(client, "mediator")).json()
    nope = await client.delete(
        f"{SESSIONS}/{other['id']}", headers=bearer(stranger["access_token"])
    )
    assert nope.status_code == 404
    r = await client.delete(f"{SESSIONS}/{other['id']}", headers=bearer(office["access_token"]))
    assert r.status_code == 204
    gone = await client.get("/api/v1/me", headers=bearer(phone["access_token"]))
    assert gone.status_code == 401 and "ended" in gone.json()["detail"]
    assert (await _refresh(client, phone["refresh_token"])).status_code == 401
    still = await client.get("/api/v1/me", headers=bearer(office["access_token"]))
    assert still.status_code == 200
    revoked = await audit_events(world, action="auth.session_revoked")
    assert [e["record_id"] for e in revoked] == [other["id"]]


async def test_the_security_administrator_ends_all_sessions_of_an_account(
    client: httpx.AsyncClient, world: World
) -> None:
    first = (await sign_in(client, "dispatcher")).json()
    second = (await sign_in(client, "dispatcher")).json()
    user = await account(world, "dispatcher")
    not_theirs = await client.delete(
        f"/api/v1/users/{user['id']}/sessions", headers=await world.headers("system_admin")
    )
    assert not_theirs.status_code == 403
    r = await client.delete(
        f"/api/v1/users/{user['id']}/sessions", headers=await world.headers("security_admin")
    )
    assert r.status_code == 204
    for tokens in (first, second):
        me = await client.get("/api/v1/me", headers=bearer(tokens["access_token"]))
        assert me.status_code == 401
        assert (await _refresh(client, tokens["refresh_token"])).status_code == 401
    again = (await sign_in(client, "dispatcher")).json()  # the person may sign in again
    assert (
        await client.get("/api/v1/me", headers=bearer(again["access_token"]))
    ).status_code == 200
    events = await audit_events(world, action="auth.sessions_revoked")
    assert [(e["detail"]["reason"], e["detail"]["count"]) for e in events] == [
        ("revoked_by_admin", 2)
    ]


async def test_disabling_an_account_refuses_its_tokens_at_once(
    client: httpx.AsyncClient, world: World
) -> None:
    tokens = (await sign_in(client, "mediator")).json()
    minted = await world.headers("mediator")
    assert (
        await client.get("/api/v1/me", headers=bearer(tokens["access_token"]))
    ).status_code == 200
    r = await change_account(world, "mediator", {"active": False})
    assert r.status_code == 200, r.text
    for headers in (bearer(tokens["access_token"]), minted):
        refused = await client.get("/api/v1/cases", headers=headers)
        assert refused.status_code == 401, refused.text
    assert (await _refresh(client, tokens["refresh_token"])).status_code == 401
    disabled = await audit_events(world, action="account.disabled")
    assert len(disabled) == 1
    ended = await audit_events(world, action="auth.sessions_revoked")
    assert [e["detail"]["reason"] for e in ended] == ["account_disabled"]
