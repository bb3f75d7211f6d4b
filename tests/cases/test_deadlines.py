"""Deadlines on China's official calendar: holidays, moved working days (调休), a year not yet
published, pausing, extensions, and rules an administrator changes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from tests.cases.conftest import CASES, act, advance, at, case_body
from tests.support.world import World


async def _new_case(client: httpx.AsyncClient, world: World, **over: Any) -> dict[str, Any]:
    r = await client.post(
        CASES, headers=await world.headers("grid_head"), json=case_body(world, **over)
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_national_day_and_its_moved_working_saturday(
    client: httpx.AsyncClient, world: World
) -> None:
    at(world, datetime(2026, 9, 30, 16, 0))  # Wednesday before the 1–7 October holiday
    case = await _new_case(client, world, complexity="complex")
    # One working day: 1–7 October are off, so the answer is due on Thursday 8 October.
    assert case["due_at"] == "2026-10-08T23:59:59+08:00"
    case = await act(client, await world.headers("dispatcher"), case, "accept")
    # Five working days: 8, 9, Saturday 10 (调休, worked), skip Sunday 11, 12, 13 October.
    assert case["due_at"] == "2026-10-13T23:59:59+08:00"
    assert case["due_provisional"] is False
    deadlines = {d["stage"]: d for d in case["deadlines"]}
    assert deadlines["first_response"]["met_at"] and not deadlines["first_response"]["overdue"]


async def test_spring_festival_with_working_saturdays(
    client: httpx.AsyncClient, world: World
) -> None:
    at(world, datetime(2026, 2, 13, 9, 0))  # Friday; Saturday 14 February is a working day
    case = await _new_case(client, world)
    assert case["due_at"] == "2026-02-14T23:59:59+08:00"
    case = await act(client, await world.headers("dispatcher"), case, "accept")
    # Three working days: Saturday 14, then 15–23 February off, 24 and 25.
    assert case["due_at"] == "2026-02-25T23:59:59+08:00"


async def test_difficult_case_calendar_month_ends_on_next_working_day(
    client: httpx.AsyncClient, world: World
) -> None:
    at(world, datetime(2026, 9, 3, 10, 0))
    case = await _new_case(client, world, complexity="difficult")
    case = await act(client, await world.headers("dispatcher"), case, "accept")
    # 30 calendar days end on Saturday 3 October, a holiday: the limit moves to 8 October.
    assert case["due_at"] == "2026-10-08T23:59:59+08:00"
    assert case["handling_unit"]["name"] == "铁西区"


async def test_year_not_yet_published_is_provisional_then_recomputed(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    admin = await world.headers("system_admin")
    r = await client.get("/api/v1/calendar/2027", headers=admin)
    assert r.status_code == 200
    assert r.json()["provisional"] is True and "estimate" in r.json()["source"]

    at(world, datetime(2026, 12, 30, 10, 0))
    case = await _new_case(client, world, complexity="complex")
    assert case["due_at"] == "2026-12-31T23:59:59+08:00" and case["due_provisional"] is False
    case = await act(client, await world.headers("dispatcher"), case, "accept")
    # 31 December, then (estimated) 1 January off, 4–7 January: provisional.
    assert case["due_at"] == "2027-01-07T23:59:59+08:00"
    assert case["due_provisional"] is True

    admin = await world.headers("system_admin")
    etag = (await client.get("/api/v1/calendar/2027", headers=admin)).headers["etag"]
    schedule = {
        "holidays": [{"date": f"2027-01-0{d}", "name": "元旦"} for d in (1, 2, 3, 4)],
        "working_weekends": [{"date": "2027-01-09", "name": "元旦调休上班"}],
        "source": "国务院办公厅关于2027年部分节假日安排的通知（测试）",
    }
    r = await client.put("/api/v1/calendar/2027", headers=admin, json=schedule)
    assert r.status_code == 428
    r = await client.put(
        "/api/v1/calendar/2027", headers={**admin, "If-Match": etag}, json=schedule
    )
    assert r.status_code == 200, r.text
    year = r.json()
    assert year["provisional"] is False and year["recomputed_cases"] == 1
    assert {"date": "2027-01-09", "name": "元旦调休上班"} in year["working_weekends"]

    got = (
        await client.get(f"{CASES}/{case['id']}", headers=await world.headers("dispatcher"))
    ).json()
    # 31 December, 5, 6, 7, 8 January (4 January now off as well).
    assert got["due_at"] == "2027-01-08T23:59:59+08:00"
    assert got["due_provisional"] is False
    assert got["version"] == case["version"] + 1
    staff = await world.headers("dispatcher")  # the administrators read no case content
    timeline = (await client.get(f"{CASES}/{case['id']}/timeline", headers=staff)).json()["items"]
    assert timeline[-1]["type"] == "deadline_recomputed"
    assert timeline[-1]["data"]["previous_due_at"].startswith("2027-01-07")
    assert (
        await sql("SELECT count(*) FROM outbox_events WHERE type = 'case.deadline_recomputed'")
    )[0][0] == 1


async def test_bad_calendar_is_rejected(client: httpx.AsyncClient, world: World, sql: Any) -> None:
    admin = await world.headers("system_admin")
    bad = {"holidays": [], "working_weekends": [{"date": "2027-01-06", "name": "x"}], "source": "x"}
    etag = (await client.get("/api/v1/calendar/2027", headers=admin)).headers["etag"]
    r = await client.put("/api/v1/calendar/2027", headers={**admin, "If-Match": etag}, json=bad)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body.working_weekends.0"
    r = await client.put(
        "/api/v1/calendar/2027",
        json=bad,
        headers={**await world.headers("dispatcher"), "If-Match": etag},
    )
    assert r.status_code == 403
    assert (await sql("SELECT count(*) FROM calendar_days WHERE day >= '2027-01-01'"))[0][0] == 0


async def test_pause_stops_the_clock_and_overdue_shows(
    client: httpx.AsyncClient, world: World
) -> None:
    dispatcher = await world.headers("dispatcher")
    case = await _new_case(client, world)  # Thursday 26 November
    case = await act(client, dispatcher, case, "accept")
    assert case["due_at"] == "2026-12-01T23:59:59+08:00"
    case = await act(client, dispatcher, case, "pause", {"reason": "等待被申请人返回"})
    assert case["paused"] is True
    assert "start_mediation" not in case["available_actions"]
    assert "resume" in case["available_actions"]
    r = await client.post(
        f"{CASES}/{case['id']}/assign",
        json={"handlers": []},
        headers={**dispatcher, "If-Match": f'"{case["id"]}-{case["version"]}"'},
    )
    assert r.status_code == 422  # validation first: an empty handler list
    advance(world, timedelta(days=7))  # Thursday 3 December: 5 working days paused
    dispatcher = await world.headers("dispatcher")
    paused = (await client.get(f"{CASES}/{case['id']}", headers=dispatcher)).json()
    assert paused["overdue"] is False  # the clock stands still
    case = await act(client, dispatcher, paused, "resume", {})
    assert case["deadlines"][-1]["paused_by"] == 5
    assert case["due_at"] == "2026-12-08T23:59:59+08:00"

    advance(world, timedelta(days=6))  # Wednesday 9 December
    dispatcher = await world.headers("dispatcher")
    late = (await client.get(f"{CASES}/{case['id']}", headers=dispatcher)).json()
    assert late["overdue"] is True
    listed = (await client.get(CASES, headers=dispatcher, params={"overdue": True})).json()
    assert [c["id"] for c in listed["items"]] == [case["id"]]

    r = await client.post(
        f"{CASES}/{case['id']}/extend-deadline",
        json={"by": 5, "reason": "双方同意延期"},
        headers={**dispatcher, "If-Match": f'"{case["id"]}-{late["version"]}"'},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.parties_agreed"
    assert r.json()["code"] == "extension-without-consent"
    case = await act(
        client,
        dispatcher,
        late,
        "extend-deadline",
        {"by": 5, "reason": "双方同意延期", "parties_agreed": True},
    )
    assert case["due_at"] == "2026-12-15T23:59:59+08:00"
    assert case["overdue"] is False


async def test_admin_changes_a_rule_for_new_stages(client: httpx.AsyncClient, world: World) -> None:
    admin = await world.headers("system_admin")
    rules = (await client.get("/api/v1/deadline-rules", headers=admin)).json()
    simple = next(r for r in rules if r["stage"] == "mediation" and r["complexity"] == "simple")
    assert (simple["unit"], simple["amount"]) == ("working_days", 3)
    url = "/api/v1/deadline-rules/mediation/simple"
    r = await client.put(url, headers=admin, json={"unit": "working_days", "amount": 2})
    assert r.status_code == 428
    etag = f'"mediation:simple-{simple["version"]}"'
    r = await client.put(
        url, headers={**admin, "If-Match": etag}, json={"unit": "working_days", "amount": 2}
    )
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == f'"mediation:simple-{simple["version"] + 1}"'
    stale = await client.put(
        url, headers={**admin, "If-Match": etag}, json={"unit": "hours", "amount": 48}
    )
    assert stale.status_code == 412
    forbidden = await client.put(
        url,
        headers={**await world.headers("dispatcher"), "If-Match": r.headers["etag"]},
        json={"unit": "hours", "amount": 48},
    )
    assert forbidden.status_code == 403

    case = await _new_case(client, world)
    case = await act(client, await world.headers("dispatcher"), case, "accept")
    assert case["due_at"] == "2026-11-30T23:59:59+08:00"  # Fri 27, Mon 30


async def test_complexity_change_to_calendar_days_counts_the_pauses_in_calendar_days(
    client: httpx.AsyncClient, world: World
) -> None:
    at(world, datetime(2026, 9, 30, 16, 0))  # Wednesday before the National Day holiday
    case = await _new_case(client, world, complexity="complex")
    case = await act(client, await world.headers("dispatcher"), case, "accept")
    at(world, datetime(2026, 9, 30, 17, 0))
    case = await act(client, await world.headers("dispatcher"), case, "pause", {"reason": "等"})
    at(world, datetime(2026, 10, 9, 10, 0))  # 9 calendar days, 2 working days (8, 9 October)
    case = await act(client, await world.headers("dispatcher"), case, "resume", {})
    assert case["deadlines"][-1]["paused_by"] == 2
    dispatcher = await world.headers("dispatcher")
    r = await client.patch(
        f"{CASES}/{case['id']}",
        json={"complexity": "difficult"},
        headers={**dispatcher, "If-Match": f'"{case["id"]}-{case["version"]}"'},
    )
    assert r.status_code == 200, r.text
    got = r.json()
    # 30 calendar days from 30 September plus the 9 days the clock stood: 9 November (a
    # Monday), not 30 September + 32 days (2 November).
    assert got["deadlines"][-1]["paused_by"] == 9
    assert got["due_at"] == "2026-11-09T23:59:59+08:00"

    # An escalation that changes the complexity back rebases the same way.
    supervisor = await world.headers("dispatcher")
    r = await client.post(
        f"{CASES}/{case['id']}/escalate",
        json={"reason": "升级", "complexity": "complex"},
        headers={**supervisor, "If-Match": f'"{case["id"]}-{got["version"]}"'},
    )
    assert r.status_code == 200, r.text
    back = (await client.get(f"{CASES}/{case['id']}", headers=supervisor)).json()
    # 5 + 2 paused working days from 30 September: 8, 9, 10, 12, 13, 14, 15 October.
    assert back["deadlines"][-1]["paused_by"] == 2
    assert back["due_at"] == "2026-10-15T23:59:59+08:00"


async def test_a_pause_into_an_unpublished_year_is_recounted_when_the_year_is_loaded(
    client: httpx.AsyncClient, world: World
) -> None:
    at(world, datetime(2026, 12, 30, 10, 0))  # Wednesday
    case = await _new_case(client, world, complexity="complex")
    case = await act(client, await world.headers("dispatcher"), case, "accept")
    at(world, datetime(2026, 12, 31, 10, 0))
    case = await act(client, await world.headers("dispatcher"), case, "pause", {"reason": "等"})
    at(world, datetime(2027, 1, 5, 10, 0))
    case = await act(client, await world.headers("dispatcher"), case, "resume", {})
    # On the estimate 4 and 5 January are working days: 2 paused.
    assert case["deadlines"][-1]["paused_by"] == 2
    assert case["due_provisional"] is True

    admin = await world.headers("system_admin")
    etag = (await client.get("/api/v1/calendar/2027", headers=admin)).headers["etag"]
    schedule = {
        "holidays": [{"date": f"2027-01-0{d}", "name": "元旦"} for d in (1, 2, 3, 4)],
        "working_weekends": [{"date": "2027-01-09", "name": "元旦调休上班"}],
        "source": "国务院办公厅关于2027年部分节假日安排的通知（测试）",
    }
    r = await client.put(
        "/api/v1/calendar/2027", headers={**admin, "If-Match": etag}, json=schedule
    )
    assert r.status_code == 200, r.text
    got = (
        await client.get(f"{CASES}/{case['id']}", headers=await world.headers("dispatcher"))
    ).json()
    # 4 January is a holiday after all: the pause held 1 working day (5 January), and the
    # 5 + 1 working days from 30 December are 31 December, 5, 6, 7, 8 and Saturday 9 (调休).
    assert got["deadlines"][-1]["paused_by"] == 1
    assert got["due_at"] == "2027-01-09T23:59:59+08:00"
    assert got["due_provisional"] is False
