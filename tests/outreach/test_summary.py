"""What the monthly statistics count: activities and participants, classes and participants,
opinions, by Beijing day and subtree, from the records."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from mediation.outreach.enums import ActivityVenue
from mediation.outreach.stats import outreach_counts
from tests.outreach.conftest import (
    ACTIVITIES,
    BUILDING1,
    CLASSES,
    DISTRICT,
    GRID1,
    GRID2,
    OPINIONS,
    SERIES,
    SUMMARY,
    unit_id,
)
from tests.support.world import World


async def arrange(client: httpx.AsyncClient, world: World) -> None:
    police = await world.headers("police")
    for day, code, venue, people in [
        ("2026-10-30", GRID1, "school", 30),
        ("2026-11-02", GRID1, "school", 100),
        ("2026-11-20", GRID2, "community", 50),
    ]:
        r = await client.post(
            ACTIVITIES,
            headers=police,
            json={
                "unit_id": unit_id(world, code),
                "venue": venue,
                "title": "普法",
                "held_on": day,
                "organiser": "先锋社区",
                "participants": people,
            },
        )
        assert r.status_code == 201, r.text
    dispatcher = await world.headers("dispatcher")
    series = await client.post(
        SERIES,
        headers=dispatcher,
        json={"unit_id": unit_id(world, DISTRICT), "title": "公益微课", "starts_on": "2026-10-01"},
    )
    for held_at, people in [
        ("2026-10-28T19:30:00+08:00", 100),
        # Past midnight in Beijing on 1 November, still 31 October in UTC: a November class.
        ("2026-11-01T00:30:00+08:00", 240),
        ("2026-11-25T19:30:00+08:00", 360),
    ]:
        r = await client.post(
            CLASSES,
            headers=dispatcher,
            json={
                "series_id": series.json()["id"],
                "held_at": held_at,
                "topic": "情绪管理",
                "lecturer": "褚咨询",
                "participants": people,
            },
        )
        assert r.status_code == 201, r.text
    r = await client.post(
        OPINIONS,
        headers=await world.headers("building_head"),
        json={"unit_id": unit_id(world, BUILDING1), "category": "safety", "text": "楼道堆物"},
    )
    assert r.status_code == 201


async def test_the_month_so_far_counted_from_the_records(
    client: httpx.AsyncClient, world: World
) -> None:
    await arrange(client, world)
    r = await client.get(SUMMARY, headers=await world.headers("supervisor"))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "unit_id": None,
        "date_from": "2026-11-01",
        "date_to": "2026-11-26",
        "activities": 2,
        "activity_participants": 150,
        "activities_by_venue": [
            {"venue": "community", "activities": 1, "participants": 50},
            {"venue": "school", "activities": 1, "participants": 100},
        ],
        "classes": 2,
        "class_participants": 600,
        "opinions": 1,
        "opinions_by_status": [{"status": "received", "count": 1}],
    }
    october = await client.get(
        SUMMARY,
        headers=await world.headers("supervisor"),
        params={"date_from": "2026-10-01", "date_to": "2026-10-31"},
    )
    assert (october.json()["activities"], october.json()["activity_participants"]) == (1, 30)
    assert (october.json()["classes"], october.json()["class_participants"]) == (1, 100)


async def test_counts_follow_the_subtree_and_the_callers_scope(
    client: httpx.AsyncClient, world: World, grid2: dict[str, str]
) -> None:
    await arrange(client, world)
    grid2_only = await client.get(
        SUMMARY, headers=await world.headers("police"), params={"unit_id": unit_id(world, GRID2)}
    )
    assert grid2_only.json()["unit_id"] == unit_id(world, GRID2)
    assert (grid2_only.json()["activities"], grid2_only.json()["activity_participants"]) == (1, 50)
    assert grid2_only.json()["classes"] == 0  # the series belongs to the district

    own = await client.get(SUMMARY, headers=await world.headers(grid2["grid_head"]))
    assert (own.json()["activities"], own.json()["opinions"]) == (1, 0)
    first_grid = await client.get(SUMMARY, headers=await world.headers("grid_head"))
    assert (first_grid.json()["activities"], first_grid.json()["opinions"]) == (1, 1)
    refused = await client.get(
        SUMMARY,
        headers=await world.headers("grid_head"),
        params={"unit_id": unit_id(world, DISTRICT)},
    )
    assert refused.status_code == 422


async def test_the_shared_counter_for_the_monthly_statistics(
    client: httpx.AsyncClient, world: World, db: Any
) -> None:
    await arrange(client, world)
    async with db() as session:
        november = await outreach_counts(
            session, [world.unit(DISTRICT).path], date(2026, 11, 1), date(2026, 11, 30)
        )
        grid1 = await outreach_counts(
            session, [world.unit(GRID1).path], date(2026, 10, 1), date(2026, 11, 30)
        )
        nowhere = await outreach_counts(session, [], date(2026, 1, 1), date(2026, 12, 31))
    assert (november.activities, november.activity_participants) == (2, 150)
    assert november.by_venue == {ActivityVenue.school: (1, 100), ActivityVenue.community: (1, 50)}
    assert (november.classes, november.class_participants) == (2, 600)
    assert (grid1.activities, grid1.activity_participants, grid1.classes) == (2, 130, 0)
    assert (nowhere.activities, nowhere.classes, nowhere.opinions) == (0, 0, 0)
