"""A notification names its record (number, title, time and place, a link): whoever a rule
chooses is told only if their roles allow reading that kind of record, as the API would let
them. A dispatcher may not read hotline calls (nobody outside the workstation learns that a
call exists), a grid head may not read sessions, the system administrator may not read cases
(三员分立). The skipped delivery says why."""

from __future__ import annotations

from typing import Any

import httpx

from tests.cases.conftest import CASES, case_body, person_id
from tests.hotline.conftest import CALLS, HIGH_RISK, call_body
from tests.support.world import World

NOT_ALLOWED = "The person's roles do not allow reading the record."


async def _watch(client: httpx.AsyncClient, world: World, event_type: str, *usernames: str) -> None:
    """A rule telling `usernames` (by person) of every `event_type`, in the inbox."""
    r = await client.post(
        "/api/v1/notification-rules",
        headers=await world.headers("system_admin"),
        json={
            "code": f"{event_type}.watch",
            "name": "观察",
            "event_type": event_type,
            "recipients": [
                {
                    "kind": "people",
                    "person_ids": [str(await person_id(world, u)) for u in usernames],
                }
            ],
            "channels": ["inbox"],
        },
    )
    assert r.status_code == 201, r.text


async def _inbox(client: httpx.AsyncClient, world: World, username: str) -> str:
    r = await client.get("/api/v1/me/notifications", headers=await world.headers(username))
    assert r.status_code == 200, r.text
    return r.text


async def _skipped(sql: Any, world: World, username: str, event_type: str) -> list[Any]:
    pid = await person_id(world, username)
    rows = await sql(
        "SELECT d.status, d.last_error FROM deliveries d JOIN outbox_events e ON e.id = d.event_id"
        " WHERE e.type = :t AND d.recipient = :r",
        t=event_type,
        r=f"person:{pid}",
    )
    return [tuple(r) for r in rows]


async def test_a_high_risk_call_is_not_announced_to_a_dispatcher(
    client: httpx.AsyncClient, world: World, run_worker: Any, sql: Any
) -> None:
    await _watch(client, world, "hotline.high_risk", "dispatcher", "hotline_supervisor")
    r = await client.post(
        CALLS, headers=await world.headers("counselor"), json=call_body(**HIGH_RISK)
    )
    assert r.status_code == 201, r.text
    call = r.json()
    await run_worker()

    dispatcher = await world.headers("dispatcher")
    assert (await client.get(f"{CALLS}/{call['id']}", headers=dispatcher)).status_code == 404
    inbox = await _inbox(client, world, "dispatcher")
    assert call["id"] not in inbox and "热线" not in inbox
    assert await _skipped(sql, world, "dispatcher", "hotline.high_risk") == [
        ("skipped", NOT_ALLOWED)
    ]
    # The workstation's supervisor, chosen by the same rule, is told.
    assert call["id"] in await _inbox(client, world, "hotline_supervisor")


async def test_a_new_case_is_not_announced_to_the_system_administrator(
    client: httpx.AsyncClient, world: World, run_worker: Any, sql: Any
) -> None:
    await _watch(client, world, "case.created", "system_admin", "supervisor")
    r = await client.post(CASES, headers=await world.headers("dispatcher"), json=case_body(world))
    assert r.status_code == 201, r.text
    case = r.json()
    await run_worker()

    admin = await world.headers("system_admin")
    assert (await client.get(f"{CASES}/{case['id']}", headers=admin)).status_code == 403
    assert case["number"] not in await _inbox(client, world, "system_admin")
    assert await _skipped(sql, world, "system_admin", "case.created") == [("skipped", NOT_ALLOWED)]
    assert case["number"] in await _inbox(client, world, "supervisor")


async def test_a_session_is_not_announced_to_a_grid_head_who_may_not_read_sessions(
    client: httpx.AsyncClient, world: World, run_worker: Any, sql: Any
) -> None:
    """A rule telling the heads of the session's grid of every session planned there: the
    grid head (no `sessions:read`) is not told its time, place and case; the mediator is."""
    from tests.sessions.conftest import DAY, at_time, new_case, schedule, session_body

    r = await client.post(
        "/api/v1/notification-rules",
        headers=await world.headers("system_admin"),
        json={
            "code": "session.scheduled.grid",
            "name": "网格内调解会",
            "event_type": "session.scheduled",
            "recipients": [{"kind": "role", "role": "grid_head", "scope": "ancestors"}],
            "channels": ["inbox"],
        },
    )
    assert r.status_code == 201, r.text
    case = await new_case(client, world)
    ms = await schedule(
        client,
        await world.headers("dispatcher"),
        case,
        session_body([str(await person_id(world, "mediator"))], at_time(DAY, 9)),
    )
    await run_worker()

    grid_head = await world.headers("grid_head")
    assert (await client.get(f"/api/v1/sessions/{ms['id']}", headers=grid_head)).status_code == 403
    assert ms["id"] not in await _inbox(client, world, "grid_head")
    assert await _skipped(sql, world, "grid_head", "session.scheduled") == [
        ("skipped", NOT_ALLOWED)
    ]
    assert ms["id"] in await _inbox(client, world, "mediator")  # the built-in rule's
