"""Legal-awareness activities (法治宣传): recording, partners, corrections, scope, bad input."""

from __future__ import annotations

from typing import Any

import httpx

from tests.outreach.conftest import (
    ACTIVITIES,
    GRID1,
    GRID2,
    XIANFENG,
    field_errors,
    new_key,
    person_id,
    unit_id,
)
from tests.support.world import World


def activity(world: World, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "unit_id": unit_id(world, GRID1),
        "venue": "community",
        "title": "《民法典》进社区宣传",
        "held_on": "2026-11-20",
        "address": "先锋社区党群服务中心",
        "organiser": "北沟街道综治中心",
        "participants": 120,
        "notes": "发放宣传册300份。",
    }
    body.update(overrides)
    return body


async def test_grid_head_records_an_activity_with_the_community_police_officer(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    police = await person_id(world, "police")
    headers = await world.headers("grid_head")
    r = await client.post(
        ACTIVITIES,
        headers={**headers, "Idempotency-Key": new_key()},
        json=activity(
            world,
            partners=[
                {"role": "police", "person_id": police},
                {"role": "other", "name": "铁西区司法局普法讲师"},
            ],
        ),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["unit_name"] == "先锋社区第一网格"
    assert body["venue"] == "community"
    assert body["participants"] == 120
    # The registered partner's name comes from the person (郑警官 is 先锋社区's officer).
    assert body["partners"] == [
        {"role": "police", "person_id": police, "name": "郑警官"},
        {"role": "other", "person_id": None, "name": "铁西区司法局普法讲师"},
    ]
    assert r.headers["Location"] == f"{ACTIVITIES}/{body['id']}"

    got = await client.get(f"{ACTIVITIES}/{body['id']}", headers=headers)
    assert got.status_code == 200
    assert got.headers["ETag"] == r.headers["ETag"]
    assert got.json()["title"] == "《民法典》进社区宣传"

    # The district's dispatcher sees it; the event for the statistics and webhooks is written.
    listed = await client.get(ACTIVITIES, headers=await world.headers("dispatcher"))
    assert [a["id"] for a in listed.json()["items"]] == [body["id"]]
    events = await sql(
        "SELECT type, payload->>'participants' FROM outbox_events WHERE aggregate_id = :id",
        id=body["id"],
    )
    assert events == [("outreach.activity_recorded", "120")]


async def test_another_grid_does_not_see_it(
    client: httpx.AsyncClient, world: World, grid2: dict[str, str]
) -> None:
    r = await client.post(
        ACTIVITIES, headers=await world.headers("grid_head"), json=activity(world)
    )
    assert r.status_code == 201
    other = await world.headers(grid2["grid_head"])
    assert (await client.get(f"{ACTIVITIES}/{r.json()['id']}", headers=other)).status_code == 404
    assert (await client.get(ACTIVITIES, headers=other)).json()["items"] == []
    # Nor can it correct it, even knowing the id.
    patched = await client.patch(
        f"{ACTIVITIES}/{r.json()['id']}",
        headers={**other, "If-Match": r.headers["ETag"]},
        json={"participants": 1},
    )
    assert patched.status_code == 404
    assert patched.headers["content-type"].startswith("application/problem+json")


async def test_bad_input_is_a_problem_and_writes_nothing(
    client: httpx.AsyncClient, world: World, counts: Any
) -> None:
    headers = await world.headers("grid_head")
    mediator = await person_id(world, "mediator")
    before = await counts("outreach_activities")
    cases: list[tuple[dict[str, Any], str]] = [
        (activity(world, participants=-1), "body.participants"),
        (activity(world, venue="market"), "body.venue"),
        (activity(world, held_on="2026-11-27"), "body.held_on"),  # tomorrow in Beijing
        (activity(world, unit_id=unit_id(world, GRID2)), "body.unit_id"),  # not the caller's
        (
            activity(world, partners=[{"role": "police", "person_id": mediator}]),
            "body.partners.0.person_id",
        ),
        (activity(world, partners=[{"role": "legal_advisor"}]), "body.partners.0"),
    ]
    for body, field in cases:
        r = await client.post(ACTIVITIES, headers=headers, json=body)
        assert r.status_code == 422, (field, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        problem = r.json()
        assert problem["status"] == 422 and problem["request_id"]
        assert field in field_errors(problem), (field, problem)
    assert await counts("outreach_activities") == before


async def test_roles_without_outreach_write_cannot_record(
    client: httpx.AsyncClient, world: World, counts: Any
) -> None:
    before = await counts("outreach_activities")
    for role in ("building_head", "owners_committee", "mediator"):
        r = await client.post(ACTIVITIES, headers=await world.headers(role), json=activity(world))
        assert r.status_code == 403, role
    assert await counts("outreach_activities") == before


async def test_correcting_needs_the_current_etag(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    headers = await world.headers("grid_head")
    created = await client.post(ACTIVITIES, headers=headers, json=activity(world))
    url = f"{ACTIVITIES}/{created.json()['id']}"
    assert (await client.patch(url, headers=headers, json={"participants": 150})).status_code == 428
    ok = await client.patch(
        url, headers={**headers, "If-Match": created.headers["ETag"]}, json={"participants": 150}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["participants"] == 150 and ok.json()["version"] == 2
    stale = await client.patch(
        url, headers={**headers, "If-Match": created.headers["ETag"]}, json={"participants": 1}
    )
    assert stale.status_code == 412
    negative = await client.patch(
        url, headers={**headers, "If-Match": ok.headers["ETag"]}, json={"participants": -5}
    )
    assert negative.status_code == 422
    assert "body.participants" in field_errors(negative.json())
    assert await sql("SELECT participants FROM outreach_activities") == [(150,)]


async def test_an_update_event_names_only_the_fields_that_changed(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """Webhooks and the statistics read `changed`: a PATCH resending the title and venue it
    has with a new participant count changed only `participants` (as a case's entry says)."""
    headers = await world.headers("grid_head")
    body = activity(world)
    created = await client.post(ACTIVITIES, headers=headers, json=body)
    assert created.status_code == 201, created.text
    url = f"{ACTIVITIES}/{created.json()['id']}"
    r = await client.patch(
        url,
        headers={**headers, "If-Match": created.headers["ETag"]},
        json={"title": body["title"], "venue": body["venue"], "participants": 150},
    )
    assert r.status_code == 200, r.text
    moved = await client.patch(
        url,
        headers={**await world.headers("dispatcher"), "If-Match": r.headers["ETag"]},
        json={"unit_id": unit_id(world, GRID2), "participants": 150},
    )
    assert moved.status_code == 200, moved.text
    rows = await sql(
        "SELECT payload->'changed' FROM outbox_events "
        "WHERE type = 'outreach.activity_updated' ORDER BY created_at"
    )
    assert rows == [(["participants"],), (["unit_id"],)], rows


async def test_list_filters_and_pages(client: httpx.AsyncClient, world: World) -> None:
    headers = await world.headers("police")  # 先锋社区: both grids
    for day, venue, code in [
        ("2026-11-02", "school", GRID1),
        ("2026-11-10", "community", GRID2),
        ("2026-11-18", "enterprise", XIANFENG),
    ]:
        r = await client.post(
            ACTIVITIES,
            headers=headers,
            json=activity(world, held_on=day, venue=venue, unit_id=unit_id(world, code)),
        )
        assert r.status_code == 201, r.text
    first = await client.get(ACTIVITIES, headers=headers, params={"limit": 2})
    assert [a["held_on"] for a in first.json()["items"]] == ["2026-11-18", "2026-11-10"]
    second = await client.get(
        ACTIVITIES, headers=headers, params={"limit": 2, "cursor": first.json()["next_cursor"]}
    )
    assert [a["held_on"] for a in second.json()["items"]] == ["2026-11-02"]
    assert second.json()["next_cursor"] is None

    schools = await client.get(ACTIVITIES, headers=headers, params={"venue": "school"})
    assert [a["venue"] for a in schools.json()["items"]] == ["school"]
    grid2 = await client.get(
        ACTIVITIES, headers=headers, params={"unit_id": unit_id(world, GRID2), "sort": "oldest"}
    )
    assert [a["held_on"] for a in grid2.json()["items"]] == ["2026-11-10"]
    # Days: both ends included.
    days = {"held_from": "2026-11-10", "held_to": "2026-11-18"}
    middle = await client.get(ACTIVITIES, headers=headers, params=days)
    assert [a["held_on"] for a in middle.json()["items"]] == ["2026-11-18", "2026-11-10"]
    # Oldest first, page after page.
    oldest = {"sort": "oldest", "limit": 2}
    page1 = await client.get(ACTIVITIES, headers=headers, params=oldest)
    page2 = await client.get(
        ACTIVITIES, headers=headers, params={**oldest, "cursor": page1.json()["next_cursor"]}
    )
    held = [a["held_on"] for page in (page1, page2) for a in page.json()["items"]]
    assert held == ["2026-11-02", "2026-11-10", "2026-11-18"]
    # A grid head cannot filter on a unit outside the grid.
    r = await client.get(
        ACTIVITIES,
        headers=await world.headers("grid_head"),
        params={"unit_id": unit_id(world, GRID2)},
    )
    assert r.status_code == 422 and "query.unit_id" in field_errors(r.json())


async def test_a_repeated_request_with_the_same_key_is_counted_once(
    client: httpx.AsyncClient, world: World, counts: Any
) -> None:
    headers = {**await world.headers("grid_head"), "Idempotency-Key": new_key()}
    first = await client.post(ACTIVITIES, headers=headers, json=activity(world))
    again = await client.post(ACTIVITIES, headers=headers, json=activity(world))
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert (await counts("outreach_activities"))[0] == 1
    other_body = await client.post(
        ACTIVITIES, headers=headers, json=activity(world, participants=5)
    )
    assert other_body.status_code == 422
