"""Two dispatchers booking the same mediator (or room) at the same moment from two clients:
exactly one session, one clear conflict. The database decides, not Python."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.sessions.conftest import (
    CASES,
    DAY,
    SESSIONS,
    at_time,
    etag,
    new_case,
    person_id,
    schedule,
    session_body,
)
from tests.support import databases
from tests.support.world import World


async def test_two_dispatchers_booking_the_same_mediator_at_once_get_one_session(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    mediator = await person_id(world, "mediator")
    dispatcher, supervisor = await world.headers("dispatcher"), await world.headers("supervisor")
    for round_ in range(4):
        a, b = await new_case(client, world), await new_case(client, world)
        start = at_time(DAY + timedelta(days=round_), 9)
        # Two clients, the same mediator, overlapping times, different rooms: only the
        # mediator can collide.
        one = session_body([mediator], start, place=f"第{round_}会议室甲")
        two = session_body([mediator], start + timedelta(minutes=30), place=f"第{round_}会议室乙")
        r1, r2 = await asyncio.gather(
            client.post(f"{CASES}/{a['id']}/sessions", json=one, headers=dispatcher),
            client.post(f"{CASES}/{b['id']}/sessions", json=two, headers=supervisor),
        )
        assert sorted([r1.status_code, r2.status_code]) == [201, 409], (r1.text, r2.text)
        won, lost = (r1, r2) if r1.status_code == 201 else (r2, r1)
        problem = lost.json()
        assert lost.headers["content-type"].startswith("application/problem+json")
        assert problem["type"].endswith("/double-booking")
        assert problem["conflicting_session_id"] == won.json()["id"]
        assert problem["resource"] == "mediator" and problem["person_id"] == mediator
        rows = await sql(
            "SELECT id::text FROM mediation_sessions WHERE starts_at::date = :d OR id = :w",
            d=start.date(),
            w=won.json()["id"],
        )
        assert [r[0] for r in rows] == [won.json()["id"]]
    total = await sql(
        "SELECT (SELECT count(*) FROM mediation_sessions), "
        "(SELECT count(*) FROM session_bookings WHERE person_id IS NOT NULL), "
        "(SELECT count(*) FROM outbox_events WHERE type = 'session.scheduled')"
    )
    assert total == [(4, 4, 4)]


async def test_the_same_room_at_once_from_two_clients(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    a, b = await new_case(client, world), await new_case(client, world)
    mediator, police = await person_id(world, "mediator"), await person_id(world, "police")
    start = at_time(DAY, 14)
    r1, r2 = await asyncio.gather(
        client.post(
            f"{CASES}/{a['id']}/sessions",
            json=session_body([mediator], start),
            headers=await world.headers("dispatcher"),
        ),
        client.post(
            f"{CASES}/{b['id']}/sessions",
            json=session_body([police], start, place="先锋社区调解室"),
            headers=await world.headers("supervisor"),
        ),
    )
    assert sorted([r1.status_code, r2.status_code]) == [201, 409]
    lost = r1 if r1.status_code == 409 else r2
    assert lost.json()["resource"] == "place"
    assert (await sql("SELECT count(*) FROM mediation_sessions"))[0][0] == 1


async def test_the_database_itself_refuses_overlapping_bookings(
    client: httpx.AsyncClient, world: World, settings: Any
) -> None:
    """Even a writer that skips the service (a script, a bug) cannot double-book."""
    case = await new_case(client, world)
    mediator = await person_id(world, "mediator")
    await client.post(
        f"{CASES}/{case['id']}/sessions",
        json=session_body([mediator], at_time(DAY, 9)),
        headers=await world.headers("dispatcher"),
    )
    conn = await asyncpg.connect(settings.sync_database_url)
    try:
        session_id = await conn.fetchval("SELECT id FROM mediation_sessions")
        insert = (
            "INSERT INTO session_bookings (id, session_id, person_id, place_key, during, active)"
            " VALUES (gen_random_uuid(), $1, $2, $3, tstzrange($4, $5, '[)'), $6)"
        )
        t0, t1 = at_time(DAY, 10), at_time(DAY, 11)
        with pytest.raises(asyncpg.exceptions.ExclusionViolationError):
            await conn.execute(insert, session_id, uuid.UUID(mediator), None, t0, t1, True)
        with pytest.raises(asyncpg.exceptions.ExclusionViolationError):
            await conn.execute(insert, session_id, None, "先锋社区调解室", t0, t1, True)
        # Inactive rows (a cancelled session) take no part; touching ranges do not overlap.
        await conn.execute(insert, session_id, uuid.UUID(mediator), None, t0, t1, False)
        await conn.execute(
            insert, session_id, None, "先锋社区调解室", at_time(DAY, 10, 30), t1, True
        )
    finally:
        await conn.close()


async def test_bookings_of_one_case_at_once_all_land_in_order_on_its_timeline(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """Several sessions of one case booked at the same moment (different hours, different
    rooms): every one is stored, none is a 500 (two bookings once deadlocked on the case's
    row), and the case's timeline numbers each `session_scheduled` entry once."""
    case = await new_case(client, world)
    mediator = await person_id(world, "mediator")
    h = await world.headers("dispatcher")
    bodies = [
        session_body([mediator], at_time(DAY + timedelta(days=k), 9), place=f"第{k}调解室")
        for k in range(6)
    ]
    answers = await asyncio.gather(
        *(client.post(f"{CASES}/{case['id']}/sessions", json=b, headers=h) for b in bodies)
    )
    assert [r.status_code for r in answers] == [201] * 6, [r.text for r in answers if r.is_error]
    r = await client.get(f"{CASES}/{case['id']}/timeline", headers=h, params={"limit": 200})
    entries = r.json()["items"]
    scheduled = [e for e in entries if e["type"] == "session_scheduled"]
    assert sorted(e["data"]["session_id"] for e in scheduled) == sorted(
        a.json()["id"] for a in answers
    )
    seqs = [e["seq"] for e in entries]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


async def test_an_outcome_reads_the_dispute_time_under_the_case_lock(
    client: httpx.AsyncClient, world: World, sql: Any, database_url: str
) -> None:
    """A session planned a few minutes back (the planning window allows it) and the dispute's
    time corrected to just after its start (a correction may lie a few minutes after the
    registration) at the moment its outcome is recorded. The correction, holding the case's
    row lock, checked no session was held; the outcome waits for that lock before it reads
    the dispute's time, then sees the new one and refuses (`session-before-dispute`). Reading
    it first, both checks would pass: a session held before the dispute."""
    case = await new_case(client, world)  # registered now (2026-11-26 10:00)
    h = await world.headers("dispatcher")
    mediator = await person_id(world, "mediator")
    now = world.clock.now()
    ms = await schedule(
        client, h, case, session_body([mediator], now - timedelta(minutes=10), minutes=60)
    )
    body = {"attended_party_ids": [], "minutes": "双方均未到场。", "outcome": "postponed"}
    corrector = await asyncpg.connect(databases.plain(database_url))
    try:
        async with corrector.transaction():
            await corrector.execute(
                "SELECT 1 FROM cases WHERE id = $1 FOR NO KEY UPDATE", uuid.UUID(case["id"])
            )
            request = asyncio.create_task(
                client.post(
                    f"{SESSIONS}/{ms['id']}/outcome",
                    json=body,
                    headers={**h, "If-Match": etag(ms)},
                )
            )
            for _ in range(100):
                await corrector.execute("SELECT pg_stat_clear_snapshot()")
                waiting = await corrector.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
                )
                if waiting or request.done():
                    break
                await asyncio.sleep(0.05)
            assert waiting == 1 and not request.done()
            await corrector.execute(
                "UPDATE cases SET occurred_at = $2, version = version + 1 WHERE id = $1",
                uuid.UUID(case["id"]),
                now + timedelta(minutes=4),
            )
        r = await asyncio.wait_for(request, timeout=10)
    finally:
        await corrector.close()
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "session-before-dispute"
    assert await sql("SELECT status FROM mediation_sessions WHERE id = :s", s=ms["id"]) == [
        ("scheduled",)
    ]
