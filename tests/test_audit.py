"""The audit trail (issue 18, item 5): sign-ins and writes are recorded, only the audit
administrator reads it, the database refuses to change or remove an entry, and the hash
chain names the first altered, inserted or deleted entry (API and `mediation audit verify`)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import asyncpg
import httpx
import pytest

from tests.support import databases
from tests.support.world import PASSWORD, World

EVENTS = "/api/v1/audit-events"


async def _sign_in(client: httpx.AsyncClient, username: str, password: str) -> int:
    r = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": password},
    )
    return r.status_code


async def test_sign_ins_and_writes_are_recorded_for_the_audit_admin_only(
    client: httpx.AsyncClient, world: World
) -> None:
    assert await _sign_in(client, "dispatcher", "wrong-password") == 400
    assert await _sign_in(client, "nobody-here", "wrong-password") == 400
    assert await _sign_in(client, "dispatcher", PASSWORD) == 200
    admin = await world.headers("system_admin")
    r = await client.post(
        "/api/v1/reference/dispute_category",
        headers=admin,
        json={"code": "audited", "label_zh": "审计", "label_en": "Audited", "view_order": 170},
    )
    assert r.status_code == 201, r.text

    auditor = await world.headers("audit_admin")
    failures = await client.get(
        EVENTS, headers=auditor, params={"action": "auth.sign_in", "result": "failure"}
    )
    assert failures.status_code == 200, failures.text
    reasons = {(e["actor_name"], e["detail"]["reason"]) for e in failures.json()["items"]}
    assert reasons == {("dispatcher", "bad_password"), ("nobody-here", "unknown_account")}
    ok = await client.get(EVENTS, headers=auditor, params={"action": "auth.sign_in"})
    assert {e["actor_name"] for e in ok.json()["items"] if e["result"] == "success"} == {
        "dispatcher"
    }
    writes = await client.get(EVENTS, headers=auditor, params={"record_type": "reference_item"})
    items = writes.json()["items"]
    assert items and items[0]["actor_id"] is not None, writes.text
    # Pages follow the chain downwards without repeating.
    first = await client.get(EVENTS, headers=auditor, params={"limit": 2})
    second = await client.get(
        EVENTS, headers=auditor, params={"limit": 2, "cursor": first.json()["next_cursor"]}
    )
    seqs = [e["seq"] for e in first.json()["items"] + second.json()["items"]]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 4

    verdict = await client.get(f"{EVENTS}/verify", headers=auditor)
    assert verdict.json()["ok"] is True and verdict.json()["checked"] >= 4
    for role in ("system_admin", "security_admin", "dispatcher"):
        h = await world.headers(role)
        assert (await client.get(EVENTS, headers=h)).status_code == 403, role
        assert (await client.get(f"{EVENTS}/verify", headers=h)).status_code == 403, role


@pytest.mark.parametrize(
    ("tamper", "seq", "problem"),
    [
        ('UPDATE audit_events SET detail = \'{"reason": "ok"}\' WHERE seq = 2', 2, "altered"),
        ("DELETE FROM audit_events WHERE seq = 2", 2, "deleted"),
        (
            "UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 2;"
            "UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1000;"
            "INSERT INTO audit_events SELECT 2, at, actor_id, actor_name, 'forged', record_type,"
            " record_id, result, client_ip, request_id, detail, prev_hash, hash"
            " FROM audit_events WHERE seq = 1",
            2,
            "inserted",
        ),
    ],
)
async def test_the_chain_names_the_first_altered_inserted_or_deleted_entry(
    client: httpx.AsyncClient,
    world: World,
    database_url: str,
    settings: Any,
    tamper: str,
    seq: int,
    problem: str,
) -> None:
    for _ in range(3):
        assert await _sign_in(client, "mediator", "wrong-password") == 400
    conn = await asyncpg.connect(databases.plain(database_url))
    try:
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await conn.execute("UPDATE audit_events SET result = 'success'")
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await conn.execute("DELETE FROM audit_events")
        # Someone with the database owner's powers goes around the trigger.
        async with conn.transaction():
            await conn.execute("ALTER TABLE audit_events DISABLE TRIGGER USER")
            await conn.execute(tamper)
            await conn.execute("ALTER TABLE audit_events ENABLE TRIGGER USER")
    finally:
        await conn.close()
    verdict = await client.get(f"{EVENTS}/verify", headers=await world.headers("audit_admin"))
    assert verdict.json() | {"checked": 0} == {
        "ok": False,
        "checked": 0,
        "first_bad_seq": seq,
        "problem": problem,
    }
    cli = subprocess.run(  # noqa: ASYNC221  (the command line, as an operator runs it)
        [sys.executable, "-m", "mediation.cli", "audit", "verify"],
        env={**os.environ, "DATABASE_URL": databases.plain(database_url)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert cli.returncode == 1, cli.stdout + cli.stderr
    assert f"broken at entry {seq}: {problem}" in cli.stdout
