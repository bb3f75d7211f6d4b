"""Every change of a session is on its case's timeline (issue 16, item 2): scheduled, details
changed, moved, held, cancelled by a person or by the worker when the case ended; written with
the change; shown to readers who may read sessions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from tests.sessions.conftest import (
    CASES,
    DAY,
    SESSIONS,
    at,
    at_time,
    etag,
    new_case,
    person_id,
    schedule,
    session_action,
    session_body,
)
from tests.sessions.test_outcome import outcome
from tests.support.world import World


async def timeline(client: httpx.AsyncClient, h: dict[str, str], case: dict[str, Any]) -> Any:
    r = await client.get(f"{CASES}/{case['id']}/timeline", headers=h, params={"limit": 200})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def sessions_of(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (e["type"], e["data"]["session_id"]) for e in entries if e["type"].startswith("session_")
    ]


async def test_every_session_change_is_on_the_case_timeline(
    client: httpx.AsyncClient, world: World, sql: Any, worker: Any
) -> None:
    case = await new_case(client, world)
    h = await world.headers("dispatcher")
    mediator, advisor = await person_id(world, "mediator"), await person_id(world, "legal_advisor")
    ms = await schedule(client, h, case, session_body([mediator], at_time(DAY, 9)))
    ms = (
        await client.patch(
            f"{SESSIONS}/{ms['id']}",
            json={"mediators": [{"person_id": mediator}, {"person_id": advisor}]},
            headers={**h, "If-Match": etag(ms)},
        )
    ).json()
    ms = await session_action(
        client,
        h,
        ms,
        "reschedule",
        {
            "starts_at": at_time(DAY, 14).isoformat(),
            "ends_at": at_time(DAY, 15).isoformat(),
            "reason": "被申请人上午出差",
        },
    )
    other = await schedule(client, h, case, session_body([mediator], at_time(DAY, 16)))
    await session_action(client, h, other, "cancel", {"reason": "合并到下午的调解会"})
    later = await schedule(
        client, h, case, session_body([mediator], at_time(DAY + timedelta(days=7), 9))
    )
    version = (await client.get(f"{CASES}/{case['id']}", headers=h)).json()["version"]
    assert version == case["version"]  # the case itself did not change

    at(world, at_time(DAY, 15, 30))
    m = await world.headers("mediator")
    await session_action(client, m, ms, "outcome", outcome(ms, attended_person_ids=[mediator]))
    await worker()  # the case is resolved: the session still to come is called off
    h = await world.headers("dispatcher")

    entries = await timeline(client, h, case)
    assert sessions_of(entries) == [
        ("session_scheduled", ms["id"]),
        ("session_updated", ms["id"]),
        ("session_rescheduled", ms["id"]),
        ("session_scheduled", other["id"]),
        ("session_cancelled", other["id"]),
        ("session_scheduled", later["id"]),
        ("session_held", ms["id"]),
        ("session_cancelled", later["id"]),
    ]
    by_type = {
        (e["type"], e["data"]["session_id"]): e for e in entries if "session_id" in e["data"]
    }
    first = by_type[("session_scheduled", ms["id"])]
    assert first["actor"]["name"] == "钱调度"
    assert (first["data"]["starts_at"], first["data"]["place"]) == (
        "2026-11-28T09:00:00+08:00",
        "先锋社区调解室",
    )
    changed = by_type[("session_updated", ms["id"])]
    assert changed["data"]["mediators_added"] == [advisor]
    moved = by_type[("session_rescheduled", ms["id"])]
    assert moved["body"] == "被申请人上午出差"
    assert moved["data"]["before"]["starts_at"] == "2026-11-28T09:00:00+08:00"
    assert moved["data"]["starts_at"] == "2026-11-28T14:00:00+08:00"
    assert by_type[("session_cancelled", other["id"])]["body"] == "合并到下午的调解会"
    held = by_type[("session_held", ms["id"])]
    assert held["actor"]["name"] == "冯调解"
    assert (held["data"]["outcome"], held["data"]["recorded_afterwards"]) == ("agreement", False)
    off = by_type[("session_cancelled", later["id"])]
    assert off["actor"] == {"kind": "system", "id": None, "name": "系统", "client_id": None}
    assert off["body"] == "纠纷调解成功，调解会不再举行"
    # Only the session events told anybody: no `case.session_*` event.
    assert await sql("SELECT count(*) FROM outbox_events WHERE type LIKE 'case.session%'") == [(0,)]

    # A reader who may not read sessions (the grid head) does not see them on the timeline.
    grid = await world.headers("grid_head")
    seen = await timeline(client, grid, case)
    assert "resolved" in [e["type"] for e in seen]
    assert sessions_of(seen) == []
    r = await client.get(
        f"{CASES}/{case['id']}/timeline", headers=grid, params={"type": "session_held"}
    )
    assert r.status_code == 200 and r.json()["items"] == []
    only = await client.get(
        f"{CASES}/{case['id']}/timeline", headers=h, params={"type": "session_cancelled"}
    )
    assert [e["data"]["session_id"] for e in only.json()["items"]] == [other["id"], later["id"]]


async def test_a_refused_session_change_leaves_no_timeline_entry(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    case = await new_case(client, world)
    h = await world.headers("dispatcher")
    mediator = await person_id(world, "mediator")
    await schedule(client, h, case, session_body([mediator], at_time(DAY, 9)))
    count = "SELECT count(*) FROM case_events WHERE type LIKE 'session%'"
    assert await sql(count) == [(1,)]
    other = await new_case(client, world, title="另一起纠纷")
    # The mediator is booked then: refused, and nothing of it on either timeline.
    await schedule(client, h, other, session_body([mediator], at_time(DAY, 9, 30)), expect=409)
    assert await sql(count) == [(1,)]
