"""Lockout that cannot be turned against users (issue 18 item 8): failures are counted per
account and source address, with growing delays; only the attacking source is locked out, the
real user signs in from elsewhere; the security administrators are alerted. X-Forwarded-For
counts only from the trusted proxies. /metrics answers only the configured scraper."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from mediation.settings import Settings
from mediation_api.clientip import client_ip, parse_networks
from mediation_dev.clock import MovableClock
from tests.security.apps import client_with
from tests.support.world import PASSWORD, World, demo_otp

TOKEN = "/api/v1/auth/token"
ATTACKER, USER = "203.0.113.7", "198.51.100.20"


async def sign_in(
    client: httpx.AsyncClient, source: str, password: str, username: str = "counselor"
) -> httpx.Response:
    return await client.post(
        TOKEN,
        data={"grant_type": "password", "username": username, "password": password},
        headers={"X-Forwarded-For": source},
    )


async def test_an_attacker_locks_out_only_his_own_source_and_the_security_admin_is_told(
    client: httpx.AsyncClient, world: World, clock: MovableClock, run_worker: Any
) -> None:
    waits = []
    for attempt in range(10):
        r = await sign_in(client, ATTACKER, f"guess-{attempt}")
        assert r.status_code == 400, r.text
        if attempt >= 2:  # growing delays from the third failure on
            blocked = await sign_in(client, ATTACKER, "guess-again")
            assert blocked.status_code == 429
            waits.append(int(blocked.headers["retry-after"]))
            clock.advance(timedelta(seconds=600 if attempt < 9 else 60))
    assert waits[:4] == [1, 2, 4, 8]
    # Locked out of this account from this source, even with the right password ...
    locked = await sign_in(client, ATTACKER, PASSWORD)
    assert locked.status_code == 429 and waits[-1] == 15 * 60
    assert int(locked.headers["retry-after"]) == 15 * 60 - 60
    assert locked.json()["type"].endswith("/rate-limited")
    # ... while the duty counselor signs in from her own desk at once.
    assert (await sign_in(client, USER, PASSWORD)).status_code == 200
    # Another account from the attacking source is not locked either.
    assert (await sign_in(client, ATTACKER, PASSWORD, "dispatcher")).status_code == 200

    await run_worker()
    h = await world.headers("security_admin")
    inbox = (await client.get("/api/v1/me/notifications", headers=h)).json()["items"]
    alert = [n for n in inbox if n["type"] == "security.sign_in_locked"]
    assert len(alert) == 1 and ATTACKER in alert[0]["body"] and "counselor" in alert[0]["body"]
    # Nobody else is told (a counselor's inbox has no security alerts).
    other = await world.headers("counselor")
    mine = (await client.get("/api/v1/me/notifications", headers=other)).json()["items"]
    assert not [n for n in mine if n["type"] == "security.sign_in_locked"]

    auditor = await world.headers("audit_admin")
    trail = (
        await client.get("/api/v1/audit-events", headers=auditor, params={"action": "auth.locked"})
    ).json()["items"]
    assert len(trail) == 1 and trail[0]["client_ip"] == ATTACKER
    failures = (
        await client.get(
            "/api/v1/audit-events",
            headers=auditor,
            params={"action": "auth.sign_in", "result": "failure"},
        )
    ).json()["items"]
    assert {e["client_ip"] for e in failures} == {ATTACKER}
    ok = (
        await client.get(
            "/api/v1/audit-events",
            headers=auditor,
            params={"action": "auth.sign_in", "result": "success"},
        )
    ).json()["items"]
    assert {(e["actor_name"], e["client_ip"]) for e in ok} >= {
        ("counselor", USER),
        ("dispatcher", ATTACKER),
    }
    assert "counselor" in {e["actor_name"] for e in ok}
    counselor = next(e for e in ok if e["actor_name"] == "counselor")
    assert counselor["detail"]["actor_roles"] == ["counselor"]


def test_forwarded_for_counts_only_from_trusted_proxies() -> None:
    proxies = parse_networks("10.0.0.0/8, 127.0.0.1")
    assert client_ip("10.1.2.3", "203.0.113.7", proxies) == "203.0.113.7"
    # The caller's own header is skipped past: the nearest untrusted hop is the client.
    assert client_ip("10.1.2.3", "1.2.3.4, 203.0.113.7, 10.9.9.9", proxies) == "203.0.113.7"
    # From anyone else the header is the caller's word: ignored.
    assert client_ip("198.51.100.1", "203.0.113.7", proxies) == "198.51.100.1"
    assert client_ip("10.1.2.3", None, proxies) == "10.1.2.3"
    assert client_ip("10.1.2.3", "not-an-address", proxies) == "10.1.2.3"


@pytest.fixture
async def untrusting_client(
    settings: Settings, clock: MovableClock
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_with(settings, clock, trusted_proxies="10.0.0.0/8") as c:
        yield c


async def test_a_forged_forwarded_for_does_not_escape_the_throttle(
    untrusting_client: httpx.AsyncClient, world: World
) -> None:
    for n in range(3):
        r = await sign_in(untrusting_client, f"192.0.2.{n}", "guess")
        assert r.status_code == 400
    # A new address in the header each time: still the same source (the peer), throttled.
    assert (await sign_in(untrusting_client, "192.0.2.99", PASSWORD)).status_code == 429


@pytest.fixture
async def scraped_client(
    settings: Settings, clock: MovableClock
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_with(settings, clock, metrics_token=SecretStr("scraper-token-0123")) as c:
        yield c


async def test_metrics_only_for_the_configured_scraper(
    scraped_client: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
        r = await scraped_client.get("/metrics", headers=headers)
        assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
        assert "http_requests_total" not in r.text
    ok = await scraped_client.get(
        "/metrics", headers={"Authorization": "Bearer scraper-token-0123"}
    )
    assert ok.status_code == 200 and "http_requests_total" in ok.text
    # Unset (development default): as before.
    assert (await client.get("/metrics")).status_code == 200


async def test_the_real_user_passes_a_locked_source_with_the_second_factor_only(
    client: httpx.AsyncClient,
    clock: MovableClock,
    world: World,  # the demo accounts, the administrators with their second factor
) -> None:
    """An office behind one address: a guessing colleague's source is locked, the
    administrator at the next desk still signs in with her second factor; an account without
    one stays locked from that source, even with a code sent along."""

    async def attempt(username: str, password: str, otp: str | None = None) -> httpx.Response:
        data = {"grant_type": "password", "username": username, "password": password}
        if otp is not None:
            data["otp"] = otp
        return await client.post(TOKEN, data=data, headers={"X-Forwarded-For": ATTACKER})

    for username in ("system_admin", "counselor"):
        for n in range(10):
            assert (await attempt(username, f"guess-{n}")).status_code == 400
            clock.advance(timedelta(seconds=600))
        assert (await attempt(username, PASSWORD)).status_code == 429  # locked from here
    clock.advance(timedelta(seconds=30))  # a fresh time step: each code works once
    # A wrong code with the right password is a failure, the lock stands for plain attempts.
    wrong = await attempt("system_admin", PASSWORD, "000000")
    assert wrong.status_code == 401 and wrong.json()["type"].endswith("/mfa-invalid")
    assert (await attempt("system_admin", PASSWORD)).status_code == 429
    signed_in = await attempt("system_admin", PASSWORD, demo_otp(clock.now()))
    assert signed_in.status_code == 200, signed_in.text
    # No second factor on the account: a code sent along does not open the lock.
    refused = await attempt("counselor", PASSWORD, "123456")
    assert refused.status_code == 429 and refused.json()["type"].endswith("/rate-limited")
