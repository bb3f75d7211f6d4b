"""Reminders a day and an hour before, to the mediators (inbox and SMS) and the invited
parties (SMS), delivered by the worker; a moved session is reminded for its new time only, a
cancelled one not at all, and a reminder overtaken by a change reaches nobody."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from tests.notifications.peers import HttpPeer
from tests.sessions.conftest import (
    DAY,
    at,
    at_time,
    new_case,
    person_id,
    schedule,
    session_action,
    session_body,
)
from tests.support.world import World


async def reminders(sql: Any) -> list[tuple[str, str, bool]]:
    """(lead, starts_at, stale) of every reminder event so far."""
    rows = await sql(
        "SELECT payload FROM outbox_events WHERE type = 'session.reminder' ORDER BY created_at, id"
    )
    return [(p["lead"], p["starts_at"], bool(p.get("stale"))) for (p,) in rows]


async def inbox(sql: Any, username: str, type_: str = "session.reminder") -> list[str]:
    rows = await sql(
        "SELECT n.body FROM notifications n JOIN users u ON u.id = n.user_id "
        "WHERE u.username = :u AND n.type = :t ORDER BY n.created_at, n.id",
        u=username,
        t=type_,
    )
    return [r[0] for r in rows]


def texts(peer: HttpPeer) -> list[tuple[str, str]]:
    """(phone, text) of every session SMS (demo staff all share one phone number)."""
    sms = [(r.json()["phone"], r.json()["message"]) for r in peer.received if r.path == "/sms"]
    return [(p, m) for p, m in sms if "调解会" in m]


async def test_a_day_and_an_hour_before_to_mediators_and_parties(
    client: httpx.AsyncClient, world: World, sql: Any, worker: Any, sms_peer: HttpPeer
) -> None:
    case = await new_case(client, world)
    h = await world.headers("dispatcher")
    ms = await schedule(
        client, h, case, session_body([await person_id(world, "mediator")], at_time(DAY, 9, 30))
    )
    await worker()  # the scheduling notice: the mediator's inbox and SMS, the parties' SMS
    phones = sorted(p for p, _ in texts(sms_peer))
    assert phones == ["13800000000", "13900001111", "13900002222"]
    assert all("2026-11-28 09:30" in m and "先锋社区调解室" in m for _, m in texts(sms_peer))
    sms_peer.reset()

    assert await worker() == 0  # two days ahead: nothing yet
    at(world, at_time(DAY - timedelta(days=1), 9, 31))
    assert await worker() == 1
    assert await worker() == 0  # swept again: still one
    assert await reminders(sql) == [("1天", "2026-11-28T09:30:00+08:00", False)]
    assert await inbox(sql, "mediator") == [
        f"纠纷{case['number']}的调解会将于2026-11-28 09:30在先锋社区调解室举行，请准时参加。"
    ]
    sent = texts(sms_peer)
    assert sorted(p for p, _ in sent) == ["13800000000", "13900001111", "13900002222"]
    assert all(f"提醒：纠纷{case['number']}的调解会将于2026-11-28 09:30" in m for _, m in sent)
    party_rows = await sql(
        "SELECT status, recipient FROM deliveries WHERE rule_code = 'session.parties.sms' "
        "AND event_type = 'session.reminder'"
    )
    assert sorted(s for s, _ in party_rows) == ["delivered", "delivered"]

    at(world, at_time(DAY, 8, 31))
    assert await worker() == 1
    assert [lead for lead, *_ in await reminders(sql)] == ["1天", "1小时"]
    at(world, at_time(DAY, 9, 31))
    assert await worker() == 0  # after the start: no more
    assert len(await inbox(sql, "mediator")) == 2
    assert ms["status"] == "scheduled"


async def test_a_moved_session_is_reminded_for_its_new_time_only(
    client: httpx.AsyncClient, world: World, sql: Any, worker: Any
) -> None:
    case = await new_case(client, world)
    h = await world.headers("dispatcher")
    ms = await schedule(
        client, h, case, session_body([await person_id(world, "mediator")], at_time(DAY, 9, 30))
    )
    at(world, at_time(DAY - timedelta(days=1), 9, 31))
    assert await worker() == 1  # the day-before reminder for 09:30
    h = await world.headers("dispatcher")
    ms = await session_action(
        client,
        h,
        ms,
        "reschedule",
        {
            "starts_at": at_time(DAY, 15).isoformat(),
            "ends_at": at_time(DAY, 16).isoformat(),
            "reason": "申请人上午需出庭",
        },
    )
    at(world, at_time(DAY, 8, 31))  # an hour before the old time: nothing for it
    assert await worker() == 1  # ... but the day-before reminder of the new time
    at(world, at_time(DAY, 14, 1))
    assert await worker() == 1
    assert await reminders(sql) == [
        ("1天", "2026-11-28T09:30:00+08:00", False),
        ("1天", "2026-11-28T15:00:00+08:00", False),
        ("1小时", "2026-11-28T15:00:00+08:00", False),
    ]
    bodies = await inbox(sql, "mediator")
    assert [("09:30" in b, "15:00" in b) for b in bodies] == [
        (True, False),
        (False, True),
        (False, True),
    ]
    moved = await inbox(sql, "mediator", "session.rescheduled")
    assert moved and "改为2026-11-28 15:00" in moved[0]


async def test_cancelled_sessions_and_ended_cases_remind_nobody(
    client: httpx.AsyncClient, world: World, sql: Any, worker: Any
) -> None:
    h = await world.headers("dispatcher")
    mediator = await person_id(world, "mediator")
    a, b = await new_case(client, world), await new_case(client, world)
    off = await schedule(client, h, a, session_body([mediator], at_time(DAY, 9)))
    await session_action(client, h, off, "cancel", {"reason": "申请人撤回调解申请"})
    withdrawn = await schedule(client, h, b, session_body([mediator], at_time(DAY, 14)))
    r = await client.post(
        f"/api/v1/cases/{b['id']}/withdraw",
        json={"reason": "当事人已自行和解"},
        headers={**h, "If-Match": f'"{b["id"]}-{b["version"]}"'},
    )
    assert r.status_code == 200, r.text
    for when in (at_time(DAY - timedelta(days=1), 9, 1), at_time(DAY, 8, 1), at_time(DAY, 13, 1)):
        at(world, when)
        assert await worker() == 0
    assert await reminders(sql) == []
    # The withdrawn case's session was called off by the worker.
    status = await sql("SELECT status FROM mediation_sessions WHERE id = :i", i=withdrawn["id"])
    assert status == [("cancelled",)]


async def test_a_reminder_overtaken_by_a_cancellation_reaches_nobody(
    client: httpx.AsyncClient, world: World, sql: Any, worker: Any, worker_ctx: Any
) -> None:
    from mediation_worker.notifications.sweeps import sweep_all

    case = await new_case(client, world)
    h = await world.headers("dispatcher")
    ms = await schedule(
        client, h, case, session_body([await person_id(world, "mediator")], at_time(DAY, 9))
    )
    await worker()
    at(world, at_time(DAY, 8, 1))
    # The sweep emits both reminders due by now; before the worker processes them the
    # session is cancelled.
    assert await sweep_all(worker_ctx["mediation"]) == 1
    await session_action(
        client, await world.headers("dispatcher"), ms, "cancel", {"reason": "调解员临时有事"}
    )
    await worker(sweep=False)
    assert await reminders(sql) == [("1小时", "2026-11-28T09:00:00+08:00", True)]
    assert await inbox(sql, "mediator") == []
    assert len(await inbox(sql, "mediator", "session.cancelled")) == 1
    sent = await sql("SELECT count(*) FROM deliveries WHERE event_type = 'session.reminder'")
    assert sent == [(0,)]
