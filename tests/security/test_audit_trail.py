"""The rest of the audit trail (issue 18 item 5): who (roles, client) and from where on every
entry, old and new values of configuration and account changes (secrets hidden), the CSV
export (itself audited), retention of at least 180 days and archiving to a file whose chain
verifies while the table's remaining chain still does."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import ValidationError

from mediation.audit.archive import archive, verify_file
from mediation.contracts.etag import etag_of
from mediation.settings import Settings
from tests.support import databases
from tests.support.world import World

EVENTS = "/api/v1/audit-events"
PROXY_SAYS = "198.51.100.77"


async def _entries(client: httpx.AsyncClient, world: World, **params: str) -> list[Any]:
    h = await world.headers("audit_admin")
    r = await client.get(EVENTS, headers=h, params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def test_configuration_and_account_changes_show_old_and_new_values(
    client: httpx.AsyncClient, world: World
) -> None:
    h = {**await world.headers("system_admin"), "X-Forwarded-For": PROXY_SAYS}
    unit = world.unit("220302001001G01")
    got = await client.get(f"/api/v1/units/{unit.id}", headers=h)
    renamed = await client.patch(
        f"/api/v1/units/{unit.id}",
        json={"name": "先锋社区第一网格（新）"},
        headers={**h, "If-Match": got.headers["etag"]},
    )
    assert renamed.status_code == 200, renamed.text
    [change] = [
        e
        for e in await _entries(client, world, action="config.changed", record_id=str(unit.id))
        if e["detail"]["operation"] == "update"
    ]
    assert change["record_type"] == "units"
    assert change["detail"]["changes"]["name"] == [got.json()["name"], "先锋社区第一网格（新）"]
    assert change["detail"]["actor_roles"] == ["system_admin"]
    assert change["client_ip"] == PROXY_SAYS  # as the trusted proxy (the test peer) said

    sec = await world.headers("security_admin")
    users = (await client.get("/api/v1/users", headers=sec, params={"limit": 100})).json()["items"]
    target = next(u for u in users if u["username"] == "mediator")
    patched = await client.patch(
        f"/api/v1/users/{target['id']}",
        json={"active": False, "password": "Another-pass-2026!"},
        headers={**sec, "If-Match": etag_of(uuid.UUID(target["id"]), target["version"])},
    )
    assert patched.status_code == 200, patched.text
    [account] = [
        e
        for e in await _entries(client, world, action="config.changed", record_id=target["id"])
        if e["detail"]["operation"] == "update"
    ]
    changes = account["detail"]["changes"]
    assert changes["active"] == [True, False]
    assert changes["password_hash"] == ["***", "***"]  # that it changed, never the hash
    assert account["detail"]["actor_roles"] == ["security_admin"]


async def test_the_audit_admin_exports_csv_and_the_export_is_recorded(
    client: httpx.AsyncClient, world: World
) -> None:
    await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "=cmd|' /C calc'!A0", "password": "x"},
    )
    h = await world.headers("audit_admin")
    r = await client.get(f"{EVENTS}/export.csv", headers=h, params={"action": "auth.sign_in"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["cache-control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows and {row["action"] for row in rows} == {"auth.sign_in"}
    names = {row["actor_name"] for row in rows}
    assert "'=cmd|' /C calc'!A0" in names  # a spreadsheet will not run it
    assert all(json.loads(row["detail"]) is not None for row in rows)
    [recorded] = await _entries(client, world, action="audit.exported")
    assert recorded["detail"]["filters"] == {"action": "auth.sign_in"}
    assert recorded["detail"]["entries"] == len(rows)
    for role in ("system_admin", "security_admin", "supervisor"):
        denied = await client.get(f"{EVENTS}/export.csv", headers=await world.headers(role))
        assert denied.status_code == 403, role


def test_retention_below_180_days_is_refused() -> None:
    with pytest.raises(ValidationError, match="180"):
        Settings(MEDIATION_AUDIT_RETENTION_DAYS=90)  # type: ignore[call-arg]
    assert Settings().audit_retention_days == 180


async def test_archiving_moves_old_entries_to_a_file_whose_chain_verifies(
    client: httpx.AsyncClient,
    world: World,
    db: Any,
    database_url: str,
    tmp_path: Path,
) -> None:
    for _ in range(3):
        await client.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": "mediator", "password": "wrong"},
        )
    auditor = await world.headers("audit_admin")
    before = (await client.get(f"{EVENTS}/verify", headers=auditor)).json()
    assert before["ok"] is True and before["checked"] >= 3
    file = tmp_path / "audit-2026.jsonl"
    # Everything so far is "older than 180 days" 181 days from now.
    async with db() as session:
        done = await archive(session, file, 180, datetime.now(UTC) + timedelta(days=181))
    assert done.entries >= 3 and done.first_seq == 1

    # New entries after the archive chain on from it; the table verifies from the anchor.
    await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "dispatcher", "password": "wrong"},
    )
    after = (await client.get(f"{EVENTS}/verify", headers=auditor)).json()
    remaining = (await client.get(EVENTS, headers=auditor, params={"limit": 200})).json()["items"]
    assert after["ok"] is True and after["checked"] >= 1, (after, done, remaining)
    remaining = (await client.get(EVENTS, headers=auditor, params={"limit": 200})).json()["items"]
    assert min(e["seq"] for e in remaining) == done.last_seq + 1

    env = {**os.environ, "DATABASE_URL": databases.plain(database_url)}
    cli = [sys.executable, "-m", "mediation.cli", "audit", "verify"]
    ok = subprocess.run([*cli, "--archive", str(file)], env=env, capture_output=True, text=True)  # noqa: ASYNC221
    assert ok.returncode == 0 and "intact" in ok.stdout, ok.stdout + ok.stderr
    table = subprocess.run(cli, env=env, capture_output=True, text=True)  # noqa: ASYNC221
    assert table.returncode == 0, table.stdout

    # An altered line in the archive is found.
    lines = file.read_text().splitlines()
    entry = json.loads(lines[2])
    entry["actor_name"] = "someone-else"
    lines[2] = json.dumps(entry, ensure_ascii=False, sort_keys=True)
    file.write_text("\n".join(lines) + "\n")
    assert verify_file(file).verdict.first_bad_seq == entry["seq"]
    bad = subprocess.run([*cli, "--archive", str(file)], env=env, capture_output=True, text=True)  # noqa: ASYNC221
    assert bad.returncode == 1 and "broken" in bad.stdout

    # Entries not archived still cannot be deleted, nor anchors touched.
    conn = await asyncpg.connect(databases.plain(database_url))
    try:
        with pytest.raises(asyncpg.PostgresError, match="not archived"):
            await conn.execute("DELETE FROM audit_events")
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await conn.execute("DELETE FROM audit_anchors")
    finally:
        await conn.close()
