"""The duty rota of the grid's self-governance office (三长之家): the three heads and the owners'
committee take turns; anyone else is refused; gaps are reported."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from tests.outreach.conftest import (
    GRID1,
    GRID2,
    ROTA,
    XIANFENG,
    field_errors,
    new_key,
    person_id,
    unit_id,
)
from tests.support.world import World


async def put_on_duty(
    client: httpx.AsyncClient, world: World, username: str, day: str, who: str = "grid_head"
) -> httpx.Response:
    return await client.post(
        ROTA,
        headers={**await world.headers(who), "Idempotency-Key": new_key()},
        json={
            "unit_id": unit_id(world, GRID1),
            "duty_date": day,
            "person_id": await person_id(world, username),
        },
    )


async def a_week(client: httpx.AsyncClient, world: World) -> dict[str, dict[str, Any]]:
    """Monday to Thursday of the week of 30 November covered, Friday to Sunday not."""
    out = {}
    for username, day in [
        ("building_head", "2026-11-30"),
        ("unit_head", "2026-12-01"),
        ("owners_committee", "2026-12-02"),
        ("grid_head", "2026-12-03"),
    ]:
        r = await put_on_duty(client, world, username, day)
        assert r.status_code == 201, r.text
        out[username] = {**r.json(), "etag": r.headers["ETag"]}
    return out


async def test_the_three_heads_and_the_committee_take_turns(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    slots = await a_week(client, world)
    assert {u: (s["role"], s["weekday"]) for u, s in slots.items()} == {
        "building_head": ("building_head", "monday"),
        "unit_head": ("unit_head", "tuesday"),
        "owners_committee": ("owners_committee", "wednesday"),
        "grid_head": ("grid_head", "thursday"),
    }
    assert slots["building_head"]["person_name"] == "李楼长"
    assert slots["building_head"]["unit_name"] == "先锋社区第一网格"
    listed = await client.get(
        ROTA, headers=await world.headers("building_head"), params={"date_from": "2026-12-01"}
    )
    # The building head's jurisdiction is the building: the grid's rota is not theirs to see.
    assert listed.json()["items"] == []
    listed = await client.get(ROTA, headers=await world.headers("police"))
    assert [s["duty_date"] for s in listed.json()["items"]] == [
        "2026-11-30",
        "2026-12-01",
        "2026-12-02",
        "2026-12-03",
    ]
    added = await sql("SELECT count(*) FROM outbox_events WHERE type = 'duty_rota.slot_added'")
    assert added == [(4,)]


async def test_only_heads_and_committee_members_of_the_grid_go_on_duty(
    client: httpx.AsyncClient, world: World, grid2: dict[str, str], counts: Any
) -> None:
    headers = await world.headers("grid_head")
    before = await counts("duty_slots")
    for username in ("police", "mediator", "legal_advisor", grid2["building_head"]):
        r = await put_on_duty(client, world, username, "2026-11-30")
        assert r.status_code == 422, (username, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field_errors(r.json()) == {"body.person_id"}, username
    pid = await person_id(world, "building_head")
    for unit_code in (XIANFENG, GRID2):  # not a grid; not the caller's grid
        r = await client.post(
            ROTA,
            headers=headers,
            json={
                "unit_id": unit_id(world, unit_code),
                "duty_date": "2026-11-30",
                "person_id": pid,
            },
        )
        assert r.status_code == 422 and field_errors(r.json()) == {"body.unit_id"}
    r = await client.post(
        ROTA,
        headers=headers,
        json={"unit_id": unit_id(world, GRID1), "duty_date": "30/11/2026", "person_id": pid},
    )
    assert r.status_code == 422 and field_errors(r.json()) == {"body.duty_date"}
    # The same person twice on a day is a conflict.
    await put_on_duty(client, world, "building_head", "2026-11-30")
    before = await counts("duty_slots")
    assert (await put_on_duty(client, world, "building_head", "2026-11-30")).status_code == 409
    assert await counts("duty_slots") == before
    # Roles without outreach:write cannot arrange the rota.
    r = await put_on_duty(client, world, "building_head", "2026-12-01", who="owners_committee")
    assert r.status_code == 403
    assert await counts("duty_slots") == before


async def test_gaps_are_reported(
    client: httpx.AsyncClient, world: World, grid2: dict[str, str]
) -> None:
    await a_week(client, world)
    week = {"date_from": "2026-11-30", "date_to": "2026-12-06"}
    report = await client.get(f"{ROTA}/gaps", headers=await world.headers("grid_head"), params=week)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["grids_checked"] == 1
    assert [(g["unit_name"], g["days"]) for g in body["gaps"]] == [
        ("先锋社区第一网格", ["2026-12-04", "2026-12-05", "2026-12-06"])
    ]
    # The office opens on weekdays only.
    workdays = await client.get(
        f"{ROTA}/gaps",
        headers=await world.headers("grid_head"),
        params={**week, "weekday": ["monday", "tuesday", "wednesday", "thursday", "friday"]},
    )
    assert workdays.json()["gaps"][0]["days"] == ["2026-12-04"]
    # The community sees both grids; the second has nobody at all.
    community = await client.get(f"{ROTA}/gaps", headers=await world.headers("police"), params=week)
    assert community.json()["grids_checked"] == 2
    assert [len(g["days"]) for g in community.json()["gaps"]] == [3, 7]

    # The building head steps down on 29 November: Monday's slot no longer counts.
    async with world.db() as session, session.begin():
        await session.execute(
            text("UPDATE role_assignments SET ends_on = '2026-11-29' WHERE person_id = :p"),
            {"p": await person_id(world, "building_head")},
        )
    after = await client.get(f"{ROTA}/gaps", headers=await world.headers("grid_head"), params=week)
    gap = after.json()["gaps"][0]
    assert gap["days"] == ["2026-11-30", "2026-12-04", "2026-12-05", "2026-12-06"]
    assert [(s["duty_date"], s["person_name"]) for s in gap["invalid_slots"]] == [
        ("2026-11-30", "李楼长")
    ]

    # The second grid's head sees only their own grid.
    other = await client.get(
        f"{ROTA}/gaps", headers=await world.headers(grid2["grid_head"]), params=week
    )
    assert [g["unit_name"] for g in other.json()["gaps"]] == ["先锋社区第二网格"]


async def test_gap_report_defaults_and_limits(client: httpx.AsyncClient, world: World) -> None:
    headers = await world.headers("grid_head")
    r = await client.get(f"{ROTA}/gaps", headers=headers)
    assert (r.json()["date_from"], r.json()["date_to"]) == ("2026-11-26", "2026-12-02")
    assert len(r.json()["gaps"][0]["days"]) == 7
    too_long = await client.get(
        f"{ROTA}/gaps", headers=headers, params={"date_from": "2026-01-01", "date_to": "2026-12-31"}
    )
    assert too_long.status_code == 422 and "query.date_to" in field_errors(too_long.json())
    backwards = await client.get(
        f"{ROTA}/gaps", headers=headers, params={"date_from": "2026-12-02", "date_to": "2026-12-01"}
    )
    assert backwards.status_code == 422


async def test_swapping_and_removing_slots(
    client: httpx.AsyncClient, world: World, grid2: dict[str, str]
) -> None:
    slot = (await a_week(client, world))["building_head"]
    url = f"{ROTA}/{slot['id']}"
    headers = await world.headers("grid_head")
    other = await world.headers(grid2["grid_head"])
    assert (await client.get(url, headers=other)).status_code == 404
    assert (await client.get(ROTA, headers=other)).json()["items"] == []
    assert (
        await client.delete(url, headers={**other, "If-Match": slot["etag"]})
    ).status_code == 404

    police = await person_id(world, "police")
    refused = await client.patch(
        url, headers={**headers, "If-Match": slot["etag"]}, json={"person_id": police}
    )
    assert refused.status_code == 422 and field_errors(refused.json()) == {"body.person_id"}
    swapped = await client.patch(
        url,
        headers={**headers, "If-Match": slot["etag"]},
        json={"person_id": await person_id(world, "unit_head"), "note": "与李楼长调班"},
    )
    assert swapped.status_code == 200, swapped.text
    assert (swapped.json()["role"], swapped.json()["person_name"]) == ("unit_head", "周单元")
    # The unit head is already on duty on 1 December.
    clash = await client.patch(
        url,
        headers={**headers, "If-Match": swapped.headers["ETag"]},
        json={"duty_date": "2026-12-01"},
    )
    assert clash.status_code == 409 and clash.json()["code"] == "already-on-duty"

    assert (await client.delete(url, headers=headers)).status_code == 428
    assert (
        await client.delete(url, headers={**headers, "If-Match": slot["etag"]})
    ).status_code == 412
    gone = await client.delete(url, headers={**headers, "If-Match": swapped.headers["ETag"]})
    assert gone.status_code == 204
    assert (await client.get(url, headers=headers)).status_code == 404
