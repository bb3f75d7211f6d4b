"""The duty roster: who is on duty now and gaps in 24-hour coverage."""

from __future__ import annotations

from typing import Any

import httpx

from tests.hotline.conftest import SHIFTS, person_of
from tests.support.world import World

NOW = "/api/v1/hotline/duty/now"
COVERAGE = "/api/v1/hotline/duty/coverage"


async def _add(
    client: httpx.AsyncClient, h: dict[str, str], person: Any, role: str, start: str, end: str
) -> httpx.Response:
    return await client.post(
        SHIFTS,
        headers=h,
        json={"person_id": str(person), "duty_role": role, "starts_at": start, "ends_at": end},
    )


async def test_roster_who_is_on_duty_now_and_coverage_gaps(
    client: httpx.AsyncClient, world: World
) -> None:
    sup = await world.headers("hotline_supervisor")
    me = await person_of(world, "hotline_supervisor")
    counselor = await person_of(world, "counselor")
    day = await _add(
        client, sup, me, "supervisor", "2026-11-26T08:00:00+08:00", "2026-11-26T20:00:00+08:00"
    )
    assert day.status_code == 201, day.text
    assert day.json()["person_name"] == "卫督导"
    night = await _add(
        client, sup, me, "supervisor", "2026-11-26T22:00:00+08:00", "2026-11-27T08:00:00+08:00"
    )
    assert night.status_code == 201
    c = await _add(
        client,
        sup,
        counselor,
        "counselor",
        "2026-11-26T09:00:00+08:00",
        "2026-11-26T17:00:00+08:00",
    )
    assert c.status_code == 201

    now = await client.get(NOW, headers=await world.headers("counselor"))
    assert now.status_code == 200
    body = now.json()
    assert [p["name"] for p in body["supervisors"]] == ["卫督导"]
    assert [p["name"] for p in body["counselors"]] == ["褚咨询"]
    assert body["coverage_gap"] is False

    cov = await client.get(
        COVERAGE,
        headers=sup,
        params={"from": "2026-11-26T08:00:00+08:00", "to": "2026-11-27T08:00:00+08:00"},
    )
    assert cov.status_code == 200, cov.text
    report = cov.json()
    assert report["fully_covered"] is False
    assert [(g["starts_at"], g["ends_at"], g["minutes"]) for g in report["gaps"]] == [
        ("2026-11-26T20:00:00+08:00", "2026-11-26T22:00:00+08:00", 120)
    ]
    assert report["covered_minutes"] == 22 * 60

    # fill the gap: fully covered
    fill = await _add(
        client, sup, me, "supervisor", "2026-11-26T20:00:00+08:00", "2026-11-26T22:00:00+08:00"
    )
    assert fill.status_code == 201
    cov = await client.get(
        COVERAGE,
        headers=sup,
        params={"from": "2026-11-26T08:00:00+08:00", "to": "2026-11-27T08:00:00+08:00"},
    )
    assert cov.json()["fully_covered"] is True and cov.json()["gaps"] == []

    listed = await client.get(SHIFTS, headers=sup, params={"duty_role": "supervisor"})
    assert [s["starts_at"] for s in listed.json()["items"]] == [
        "2026-11-26T08:00:00+08:00",
        "2026-11-26T20:00:00+08:00",
        "2026-11-26T22:00:00+08:00",
    ]
    # a page at a time, in start order, the roster's filters kept
    first = await client.get(SHIFTS, headers=sup, params={"duty_role": "supervisor", "limit": 2})
    assert [s["starts_at"] for s in first.json()["items"]] == [
        "2026-11-26T08:00:00+08:00",
        "2026-11-26T20:00:00+08:00",
    ]
    rest = await client.get(
        SHIFTS,
        headers=sup,
        params={"duty_role": "supervisor", "limit": 2, "cursor": first.json()["next_cursor"]},
    )
    assert [s["starts_at"] for s in rest.json()["items"]] == ["2026-11-26T22:00:00+08:00"]
    assert rest.json()["next_cursor"] is None
    late = await client.get(SHIFTS, headers=sup, params={"from": "2026-11-26T22:30:00+08:00"})
    assert [s["starts_at"] for s in late.json()["items"]] == ["2026-11-26T22:00:00+08:00"]


async def test_nobody_on_duty_is_a_gap(client: httpx.AsyncClient, world: World) -> None:
    r = await client.get(NOW, headers=await world.headers("hotline_supervisor"))
    assert r.json()["coverage_gap"] is True and r.json()["supervisors"] == []
    cov = await client.get(COVERAGE, headers=await world.headers("hotline_supervisor"))
    assert cov.json()["gaps"][0]["minutes"] == 7 * 24 * 60


async def test_roster_rules(client: httpx.AsyncClient, world: World, sql: Any) -> None:
    sup = await world.headers("hotline_supervisor")
    me = await person_of(world, "hotline_supervisor")
    counselor = await person_of(world, "counselor")
    r = await _add(
        client,
        sup,
        counselor,
        "supervisor",
        "2026-11-26T08:00:00+08:00",
        "2026-11-26T20:00:00+08:00",
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body.person_id"
    r = await _add(
        client, sup, me, "supervisor", "2026-11-26T20:00:00+08:00", "2026-11-26T08:00:00+08:00"
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.ends_at"
    dispatcher = await person_of(world, "dispatcher")
    r = await _add(
        client,
        sup,
        dispatcher,
        "counselor",
        "2026-11-26T08:00:00+08:00",
        "2026-11-26T20:00:00+08:00",
    )
    assert r.status_code == 422
    assert await sql("SELECT count(*) FROM hotline_duty_shifts") == [(0,)]

    ok = await _add(
        client, sup, me, "supervisor", "2026-11-26T08:00:00+08:00", "2026-11-26T20:00:00+08:00"
    )
    clash = await _add(
        client, sup, me, "supervisor", "2026-11-26T19:00:00+08:00", "2026-11-26T23:00:00+08:00"
    )
    assert clash.status_code == 409 and clash.json()["code"] == "shift-overlap"
    assert clash.json()["shift_id"] == ok.json()["id"]
    # counselors read the roster but do not keep it
    h = await world.headers("counselor")
    assert (
        await _add(
            client,
            h,
            counselor,
            "counselor",
            "2026-11-27T08:00:00+08:00",
            "2026-11-27T20:00:00+08:00",
        )
    ).status_code == 403
    url = f"{SHIFTS}/{ok.json()['id']}"
    assert (await client.get(url, headers=h)).status_code == 200
    assert (
        await client.patch(url, headers={**h, "If-Match": ok.headers["etag"]}, json={"note": "x"})
    ).status_code == 403
    # changing and removing need the ETag
    assert (await client.patch(url, headers=sup, json={"note": "x"})).status_code == 428
    r = await client.patch(
        url,
        headers={**sup, "If-Match": ok.headers["etag"]},
        json={"ends_at": "2026-11-26T21:00:00+08:00", "note": "延长一小时"},
    )
    assert r.status_code == 200 and r.json()["version"] == 2
    assert (
        await client.delete(url, headers={**sup, "If-Match": ok.headers["etag"]})
    ).status_code == 412
    assert (
        await client.delete(url, headers={**sup, "If-Match": r.headers["etag"]})
    ).status_code == 204
    assert (await client.get(url, headers=sup)).status_code == 404


async def test_an_overlap_with_a_shift_at_another_workstation_does_not_name_it(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """The counselor also serves the hotline of 先锋社区, outside this supervisor's
    jurisdiction: the roster is told the person is busy then, not which shift or where."""
    from datetime import date, datetime

    from mediation.clock import CENTER_TZ
    from mediation.hotline.enums import DutyRole
    from mediation.hotline.models import HotlineDutyShift
    from mediation.ids import uuid7
    from mediation.org.enums import Role
    from mediation.org.models import RoleAssignment

    counselor = await person_of(world, "counselor")
    elsewhere = world.unit("220302001001")
    other = uuid7()
    async with world.db() as session, session.begin():
        session.add(
            RoleAssignment(
                person_id=counselor,
                unit_id=elsewhere.id,
                role=Role.counselor,
                starts_on=date(2020, 1, 1),
            )
        )
        session.add(
            HotlineDutyShift(
                id=other,
                unit_id=elsewhere.id,
                unit_path=elsewhere.path,
                person_id=counselor,
                duty_role=DutyRole.counselor,
                starts_at=datetime(2026, 11, 26, 8, tzinfo=CENTER_TZ),
                ends_at=datetime(2026, 11, 26, 20, tzinfo=CENTER_TZ),
            )
        )
    sup = await world.headers("hotline_supervisor")
    clash = await _add(
        client,
        sup,
        counselor,
        "counselor",
        "2026-11-26T19:00:00+08:00",
        "2026-11-26T23:00:00+08:00",
    )
    assert clash.status_code == 409 and clash.json()["code"] == "shift-overlap"
    assert clash.json().get("shift_id") is None and str(other) not in clash.text
    assert await sql("SELECT count(*) FROM hotline_duty_shifts") == [(1,)]
