"""The second factor (issue 18, item 2): administrators need it, a wrong or reused code is
refused, enrolment with confirmation and one-time recovery codes, reset by the security
administrator, client credentials unaffected."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pyotp

from mediation.auth.mfa import required_for
from mediation.org.enums import Role
from mediation.settings import Settings
from tests.org.security_helpers import account, audit_events, bearer, sign_in
from tests.support.world import World, demo_otp

ENROL = "/api/v1/auth/mfa/enrolment"


async def test_an_administrator_without_a_second_factor_gets_no_token(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await sign_in(client, "security_admin")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("mfa-required") and "otp" in r.json()["detail"]
    assert "access_token" not in r.json()
    ok = await sign_in(client, "security_admin", otp=demo_otp(world.clock.now()))
    assert ok.status_code == 200 and ok.json()["access_token"]
    failures = await audit_events(world, action="auth.sign_in", result="failure")
    assert [e["detail"]["reason"] for e in failures] == ["mfa_required"]
    success = await audit_events(world, action="auth.sign_in", result="success")
    assert [e["detail"]["second_factor"] for e in success] == ["totp"]


async def test_a_wrong_code_is_refused_and_a_code_works_once(
    client: httpx.AsyncClient, world: World
) -> None:
    now = world.clock.now()
    wrong = "000000" if demo_otp(now) != "000000" else "111111"
    r = await sign_in(client, "system_admin", otp=wrong)
    assert r.status_code == 401 and r.json()["type"].endswith("mfa-invalid")
    assert (await sign_in(client, "system_admin", otp=demo_otp(now))).status_code == 200
    replay = await sign_in(client, "system_admin", otp=demo_otp(now))
    assert replay.status_code == 401 and replay.json()["type"].endswith("mfa-invalid")
    world.clock.advance(timedelta(seconds=30))  # the next code works
    assert (
        await sign_in(client, "system_admin", otp=demo_otp(world.clock.now()))
    ).status_code == 200
    reasons = [
        e["detail"]["reason"]
        for e in await audit_events(world, action="auth.sign_in", result="failure")
    ]
    assert reasons == ["bad_otp", "bad_otp"]


async def test_enrolment_confirmation_and_single_use_recovery_codes(
    client: httpx.AsyncClient, world: World
) -> None:
    token = (await sign_in(client, "mediator")).json()["access_token"]
    started = await client.post(ENROL, headers=bearer(token))
    assert started.status_code == 201, started.text
    body = started.json()
    assert body["provisioning_uri"].startswith("otpauth://totp/")
    assert body["qr_svg"].lstrip().startswith("<svg")
    app = pyotp.TOTP(body["secret"])
    # Not in force until confirmed.
    assert (await sign_in(client, "mediator")).status_code == 200
    bad = await client.post(f"{ENROL}/confirm", headers=bearer(token), json={"code": "123456"})
    if app.at(world.clock.now()) != "123456":
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.code"
    confirmed = await client.post(
        f"{ENROL}/confirm", headers=bearer(token), json={"code": app.at(world.clock.now())}
    )
    assert confirmed.status_code == 200, confirmed.text
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert (await account(world, "mediator"))["mfa_enrolled"] is True

    missing = await sign_in(client, "mediator")
    assert missing.status_code == 401 and missing.json()["type"].endswith("mfa-required")
    assert (await sign_in(client, "mediator", otp=codes[0])).status_code == 200
    used = await sign_in(client, "mediator", otp=codes[0])
    assert used.status_code == 401 and used.json()["type"].endswith("mfa-invalid")
    assert (await sign_in(client, "mediator", otp=codes[1])).status_code == 200
    recovery = await audit_events(world, action="auth.recovery_code_used")
    assert sorted(e["detail"]["remaining"] for e in recovery) == [8, 9]
    assert len(await audit_events(world, action="auth.mfa_enrolled", result="success")) == 1


async def test_the_security_administrator_resets_a_lost_factor(
    client: httpx.AsyncClient, world: World
) -> None:
    target = await account(world, "system_admin")
    other_admin = await client.delete(
        f"/api/v1/users/{target['id']}/mfa", headers=await world.headers("system_admin")
    )
    assert other_admin.status_code == 403
    r = await client.delete(
        f"/api/v1/users/{target['id']}/mfa", headers=await world.headers("security_admin")
    )
    assert r.status_code == 204
    assert (await account(world, "system_admin"))["mfa_enrolled"] is False
    assert [e["record_id"] for e in await audit_events(world, action="account.mfa_reset")] == [
        target["id"]
    ]
    # The old authenticator no longer counts; the administrator must enrol anew first.
    limited = (await sign_in(client, "system_admin", otp=demo_otp(world.clock.now()))).json()
    assert limited["restricted_to"] == "mfa_enrolment" and limited["refresh_token"] is None
    refused = await client.get("/api/v1/units", headers=bearer(limited["access_token"]))
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("mfa-enrolment-required")
    started = await client.post(ENROL, headers=bearer(limited["access_token"]))
    app = pyotp.TOTP(started.json()["secret"])
    confirmed = await client.post(
        f"{ENROL}/confirm",
        headers=bearer(limited["access_token"]),
        json={"code": app.at(world.clock.now())},
    )
    assert confirmed.status_code == 200
    world.clock.advance(timedelta(seconds=30))
    full = await sign_in(client, "system_admin", otp=app.at(world.clock.now()))
    assert full.status_code == 200 and full.json()["restricted_to"] is None
    units = await client.get("/api/v1/units", headers=bearer(full.json()["access_token"]))
    assert units.status_code == 200


def test_roles_marked_by_the_setting_need_a_second_factor_too() -> None:
    plain = Settings(_env_file=None)
    marked = Settings(MEDIATION_MFA_REQUIRED_ROLES="counselor, hotline_supervisor", _env_file=None)
    assert required_for(frozenset({Role.audit_admin}), plain)
    assert not required_for(frozenset({Role.counselor}), plain)
    assert required_for(frozenset({Role.counselor}), marked)
    assert not required_for(frozenset({Role.dispatcher}), marked)
