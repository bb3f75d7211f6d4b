"""The weekly online public micro-class (公益微课): series with its schedule, classes of 30 to
60 minutes, running totals counted from the classes."""

from __future__ import annotations

from typing import Any

import httpx

from tests.outreach.conftest import (
    CLASSES,
    DISTRICT,
    SERIES,
    XIYUAN,
    field_errors,
    new_key,
    unit_id,
)
from tests.support.world import World


async def make_series(client: httpx.AsyncClient, world: World, **overrides: Any) -> dict[str, Any]:
    body = {"unit_id": unit_id(world, DISTRICT), "title": "心理健康公益微课", **overrides}
    r = await client.post(SERIES, headers=await world.headers("dispatcher"), json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def a_class(series_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "series_id": series_id,
        "held_at": "2026-11-25T19:30:00+08:00",
        "topic": "青少年情绪管理",
        "lecturer": "褚咨询",
        "duration_minutes": 45,
        "participants": 360,
    }
    body.update(overrides)
    return body


async def test_a_series_defaults_to_wednesdays_at_half_past_seven_beijing_time(
    client: httpx.AsyncClient, world: World
) -> None:
    series = await make_series(client, world)
    assert series["weekday"] == "wednesday"
    assert series["start_time"] == "19:30"
    assert series["timezone"] == "Asia/Shanghai"
    assert series["starts_on"] == "2026-11-26"  # today (the clock's Thursday)
    assert series["active"] is True
    # Thursday 26 November 10:00 → next Wednesday.
    assert series["next_class_at"] == "2026-12-02T19:30:00+08:00"
    assert series["totals"] == {
        "classes_held": 0,
        "participants": 0,
        "minutes": 0,
        "last_class_at": None,
    }

    other = await make_series(
        client, world, weekday="friday", start_time="20:00", starts_on="2026-01-01"
    )
    assert other["next_class_at"] == "2026-11-27T20:00:00+08:00"
    offset = await client.post(
        SERIES,
        headers=await world.headers("dispatcher"),
        json={"unit_id": unit_id(world, DISTRICT), "title": "x", "start_time": "19:30+02:00"},
    )
    assert offset.status_code == 422 and "body.start_time" in field_errors(offset.json())


async def test_running_totals_come_from_the_classes(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    # A total typed into the body is not a field: refused, naming it, and nothing is stored.
    typed = await client.post(
        SERIES,
        headers=await world.headers("dispatcher"),
        json={
            "unit_id": unit_id(world, DISTRICT),
            "title": "心理健康公益微课",
            "totals": {"classes_held": 75, "participants": 27000},
        },
    )
    assert typed.status_code == 422
    assert [e["field"] for e in typed.json()["errors"]] == ["body.totals"]
    assert (await sql("SELECT count(*) FROM outreach_class_series"))[0][0] == 0
    series = await make_series(client, world, starts_on="2026-01-07")
    assert series["totals"]["classes_held"] == 0
    headers = {**await world.headers("dispatcher"), "Idempotency-Key": new_key()}
    first = await client.post(CLASSES, headers=headers, json=a_class(series["id"]))
    assert first.status_code == 201, first.text
    assert first.json()["on_schedule"] is True
    assert first.json()["series_title"] == "心理健康公益微课"
    # A class moved to Thursday 20:00, shortest allowed, default length of the series.
    second = await client.post(
        CLASSES,
        headers=await world.headers("dispatcher"),
        json=a_class(
            series["id"],
            held_at="2026-11-19T12:00:00Z",
            duration_minutes=None,
            participants=240,
        ),
    )
    assert second.status_code == 201, second.text
    assert second.json()["on_schedule"] is False
    assert second.json()["duration_minutes"] == 45
    third = await client.post(
        CLASSES,
        headers=await world.headers("dispatcher"),
        json=a_class(
            series["id"], held_at="2026-11-11T19:30:00+08:00", duration_minutes=30, participants=0
        ),
    )
    assert third.status_code == 201

    got = await client.get(f"{SERIES}/{series['id']}", headers=await world.headers("supervisor"))
    assert got.json()["totals"] == {
        "classes_held": 3,
        "participants": 600,
        "minutes": 120,
        "last_class_at": "2026-11-25T19:30:00+08:00",
    }
    # A correction changes the totals: they are never stored.
    patched = await client.patch(
        f"{CLASSES}/{first.json()['id']}",
        headers={**await world.headers("dispatcher"), "If-Match": first.headers["ETag"]},
        json={"participants": 400, "duration_minutes": 60},
    )
    assert patched.status_code == 200, patched.text
    got = await client.get(f"{SERIES}/{series['id']}", headers=await world.headers("supervisor"))
    assert got.json()["totals"]["participants"] == 640
    assert got.json()["totals"]["minutes"] == 135

    listed = await client.get(
        CLASSES, headers=await world.headers("supervisor"), params={"series_id": series["id"]}
    )
    assert [c["participants"] for c in listed.json()["items"]] == [400, 240, 0]
    november_third_week = await client.get(
        CLASSES,
        headers=await world.headers("supervisor"),
        params={"held_from": "2026-11-19", "held_to": "2026-11-19"},
    )
    assert [c["participants"] for c in november_third_week.json()["items"]] == [240]

    held = await sql(
        "SELECT payload->>'classes_held', payload->>'participants_total' FROM outbox_events "
        "WHERE type = 'outreach.class_held' ORDER BY occurred_at, id"
    )
    assert held[-1] == ("3", "600")


async def test_a_class_lasts_30_to_60_minutes_and_bad_input_writes_nothing(
    client: httpx.AsyncClient, world: World, counts: Any
) -> None:
    series = await make_series(client, world, starts_on="2026-11-01", ends_on="2026-11-30")
    headers = await world.headers("dispatcher")
    await client.post(CLASSES, headers=headers, json=a_class(series["id"]))
    before = await counts("outreach_classes")
    bad: list[tuple[dict[str, Any], str]] = [
        (a_class(series["id"], duration_minutes=29), "body.duration_minutes"),
        (a_class(series["id"], duration_minutes=61), "body.duration_minutes"),
        (a_class(series["id"], participants=-3), "body.participants"),
        (a_class(series["id"], held_at="2026-11-25T19:30:00"), "body.held_at"),  # no offset
        (a_class(series["id"], held_at="2026-12-02T19:30:00+08:00"), "body.held_at"),  # future
        (a_class(series["id"], held_at="2026-10-28T19:30:00+08:00"), "body.held_at"),  # before
        (a_class(series["id"], topic=""), "body.topic"),
    ]
    for body, field in bad:
        r = await client.post(CLASSES, headers=headers, json=body)
        assert r.status_code == 422, (field, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in field_errors(r.json()), (field, r.json())
    # The same class twice would count twice: a conflict.
    twice = await client.post(
        CLASSES, headers=headers, json=a_class(series["id"], held_at="2026-11-25T11:30:00Z")
    )
    assert twice.status_code == 409 and twice.json()["code"] == "class-already-recorded"
    assert await counts("outreach_classes") == before
    # A series' usual length is bounded too.
    r = await client.post(
        SERIES,
        headers=headers,
        json={"unit_id": unit_id(world, DISTRICT), "title": "x", "default_duration_minutes": 90},
    )
    assert r.status_code == 422 and "body.default_duration_minutes" in field_errors(r.json())


async def test_a_series_of_another_community_does_not_exist_for_its_neighbour(
    client: httpx.AsyncClient, world: World, counts: Any
) -> None:
    counselor = await world.headers("counselor")  # 西园社区's counseling workstation
    r = await client.post(
        SERIES,
        headers=counselor,
        json={
            "unit_id": unit_id(world, XIYUAN),
            "title": "家庭教育微课",
            "starts_on": "2026-11-01",
        },
    )
    assert r.status_code == 201, r.text
    series_id = r.json()["id"]
    mc = await client.post(CLASSES, headers=counselor, json=a_class(series_id))
    assert mc.status_code == 201

    # The workstation reads its own series, with the class counted.
    own = await client.get(f"{SERIES}/{series_id}", headers=counselor)
    assert own.status_code == 200 and own.json()["totals"]["classes_held"] == 1
    police = await world.headers("police")  # 先锋社区
    assert (await client.get(f"{SERIES}/{series_id}", headers=police)).status_code == 404
    assert (await client.get(f"{CLASSES}/{mc.json()['id']}", headers=police)).status_code == 404
    assert (await client.get(SERIES, headers=police)).json()["items"] == []
    assert (await client.get(CLASSES, headers=police)).json()["items"] == []
    # Nor can it record a class in that series.
    before = await counts("outreach_classes")
    r = await client.post(
        CLASSES, headers=police, json=a_class(series_id, held_at="2026-11-18T19:30:00+08:00")
    )
    assert r.status_code == 422 and "body.series_id" in field_errors(r.json())
    assert await counts("outreach_classes") == before
    # The district sees both.
    listed = await client.get(SERIES, headers=await world.headers("supervisor"))
    assert [s["id"] for s in listed.json()["items"]] == [series_id]


async def test_ending_a_series(client: httpx.AsyncClient, world: World) -> None:
    series = await make_series(client, world, starts_on="2026-01-01")
    headers = await world.headers("dispatcher")
    await client.post(CLASSES, headers=headers, json=a_class(series["id"]))
    etag = (await client.get(f"{SERIES}/{series['id']}", headers=headers)).headers["ETag"]
    too_early = await client.patch(
        f"{SERIES}/{series['id']}",
        headers={**headers, "If-Match": etag},
        json={"ends_on": "2026-11-20"},
    )
    assert too_early.status_code == 422 and "body.ends_on" in field_errors(too_early.json())
    ended = await client.patch(
        f"{SERIES}/{series['id']}",
        headers={**headers, "If-Match": etag},
        json={"ends_on": "2026-11-25"},
    )
    assert ended.status_code == 200, ended.text
    assert ended.json()["active"] is False
    assert ended.json()["next_class_at"] is None


async def test_series_and_class_update_events_name_only_the_fields_that_changed(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """Webhooks and the statistics read `changed`: fields resent with the value they have
    are not named, only the ones that really changed."""
    headers = await world.headers("dispatcher")
    created = await client.post(
        SERIES,
        headers=headers,
        json={
            "unit_id": unit_id(world, DISTRICT),
            "title": "心理健康公益微课",
            "starts_on": "2026-01-07",
        },
    )
    assert created.status_code == 201, created.text
    series = created.json()
    r = await client.patch(
        f"{SERIES}/{series['id']}",
        headers={**headers, "If-Match": created.headers["ETag"]},
        json={"title": series["title"], "default_duration_minutes": 60},
    )
    assert r.status_code == 200, r.text
    body = a_class(series["id"])
    mc = await client.post(CLASSES, headers=headers, json=body)
    assert mc.status_code == 201, mc.text
    r = await client.patch(
        f"{CLASSES}/{mc.json()['id']}",
        headers={**headers, "If-Match": mc.headers["ETag"]},
        json={"topic": body["topic"], "lecturer": body["lecturer"], "participants": 400},
    )
    assert r.status_code == 200, r.text
    rows = await sql(
        "SELECT type, payload->'changed' FROM outbox_events WHERE type IN "
        "('outreach.series_updated', 'outreach.class_updated') ORDER BY created_at"
    )
    assert rows == [
        ("outreach.series_updated", ["default_duration_minutes"]),
        ("outreach.class_updated", ["participants"]),
    ], rows
