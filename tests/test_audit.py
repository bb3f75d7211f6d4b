"""The audit trail (issue 18, item 5): sign-ins and writes are recorded, only the audit
administrator reads it, the database refuses to change or remove an entry, and the hash
chain names the first altered, inserted or deleted entry (API and `mediation audit verify`)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import select, text

from mediation.audit.chain import record, staged, verify_database
from mediation.audit.models import AuditEvent
from mediation.auth.events import SignInLocked
from mediation.db import create_engine, session_factory
from mediation.outbox.events import NOTIFY_CHANNEL, emit
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


async def test_concurrent_writers_chain_every_entry_once_and_wake_the_relay_once_each(
    settings: Any, database_url: str
) -> None:
    """20 transactions on their own connections commit at once, round after round: the chain
    lock's read of the newest entry (`audit_chain_head`, migration 0028) sees the previous
    holder's commit, so no `seq` is given twice and the chain verifies; each transaction's
    events wake the outbox relay once."""
    writers, rounds, per_transaction = 20, 5, 3
    engine = create_engine(settings.model_copy(update={"db_pool_size": writers}))
    sessions = session_factory(engine)
    heard: list[str] = []
    done = asyncio.Event()

    def on_notify(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
        heard.append(payload)
        if payload == "end":
            done.set()

    listener = await asyncpg.connect(databases.plain(database_url))
    await listener.add_listener(NOTIFY_CHANNEL, on_notify)
    barrier = asyncio.Barrier(writers)

    async def write(writer: int) -> None:
        for round_ in range(rounds):
            async with sessions() as session, session.begin():
                await session.execute(text("SELECT 1"))  # each holds its connection
                for entry in range(per_transaction):
                    record(session, action="test.concurrent", writer=writer, entry=entry)
                if writer == 0:  # two events, one NOTIFY at commit
                    for _ in range(2):
                        await emit(
                            session,
                            SignInLocked(
                                username=f"u{round_}",
                                source_ip="192.0.2.1",
                                failures=5,
                                locked_until=datetime.now(UTC),
                                recipient_person_ids=[],
                            ),
                            aggregate_id=None,
                            occurred_at=datetime.now(UTC),
                        )
                await barrier.wait()  # all commit together: the lock is contended

    try:
        await asyncio.gather(*(write(i) for i in range(writers)))
        # Notifications arrive in commit order: the marker comes after every writer's.
        await listener.execute("SELECT pg_notify($1, 'end')", NOTIFY_CHANNEL)
        await asyncio.wait_for(done.wait(), 30)
        async with sessions() as session:
            verdict = await verify_database(session)
            seqs = list(
                await session.scalars(
                    select(AuditEvent.seq).where(AuditEvent.action == "test.concurrent")
                )
            )
    finally:
        await listener.close()
        await engine.dispose()
    assert verdict.ok, verdict
    assert len(seqs) == len(set(seqs)) == writers * rounds * per_transaction
    assert heard == [""] * rounds + ["end"]


async def test_a_writer_stalled_before_its_commit_holds_no_other_writer_up(
    settings: Any, database_url: str
) -> None:
    """The chain's lock is taken inside COMMIT (migration 0033): a transaction whose entries
    are staged but which has not committed yet (its process paused, its next round trip
    slow) leaves the chain free; the other writer commits at once, and the stalled one's
    entries join the chain after it when it commits. Nothing of a rolled-back one stays."""
    engine = create_engine(settings)
    sessions = session_factory(engine)
    stalled = await asyncpg.connect(databases.plain(database_url))
    stage = "INSERT INTO audit_pending (notify, profile, entries) VALUES (false, 'default', $1)"
    try:
        # A transaction as the service's commit leaves it just before COMMIT: entries staged.
        queued: list[dict[str, Any]] = []
        session_info = {"audit_queue": queued}
        record(SimpleNamespace(info=session_info), action="test.stalled", n=1)
        tx = stalled.transaction()
        await tx.start()
        await stalled.execute(stage, json.dumps([staged(e) for e in queued]))

        async def other_writer() -> None:
            async with sessions() as session, session.begin():
                record(session, action="test.other")

        await asyncio.wait_for(other_writer(), 10)  # blocked on the lock before 0033
        await tx.commit()

        # One that rolls back leaves neither entry nor staged row.
        tx = stalled.transaction()
        await tx.start()
        await stalled.execute(stage, json.dumps([staged(e) for e in queued]))
        await tx.rollback()

        async with sessions() as session:
            verdict = await verify_database(session)
            actions = list(
                await session.scalars(
                    select(AuditEvent.action)
                    .where(AuditEvent.action.like("test.%"))
                    .order_by(AuditEvent.seq)
                )
            )
            left = await session.scalar(text("SELECT count(*) FROM audit_pending"))
    finally:
        await stalled.close()
        await engine.dispose()
    assert verdict.ok, verdict
    assert actions == ["test.other", "test.stalled"]
    assert left == 0
