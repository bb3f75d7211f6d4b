"""Nothing outside the reader's scope is named, counted or hinted at through links between
records (issue 16, item 4): a repeat case in another grid, the hotline call a case came
from, the events and notifications about them. The same stored entry is read by people of
different scope: each sees what they may read themselves."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.cases.conftest import BUILDING, CASES, OTHER_GRID, case_body, person_id
from tests.hotline.conftest import CALLS, call_body
from tests.support.world import World

PHONE = "13900001111"  # the applicant of both disputes


async def _repeat_across_grids(
    client: httpx.AsyncClient, world: World
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A dispute in 西园社区第一网格 registered by the district, then one in the grid head's own
    grid (先锋社区第一网格) with the same applicant: a repeat of a case the grid head may not
    read."""
    dispatcher = await world.headers("dispatcher")
    earlier = await client.post(
        CASES, headers=dispatcher, json=case_body(world, unit_id=str(world.unit(OTHER_GRID).id))
    )
    assert earlier.status_code == 201, earlier.text
    later = await client.post(
        CASES, headers=await world.headers("grid_head"), json=case_body(world)
    )
    assert later.status_code == 201, later.text
    assert later.json()["unit"]["id"] == str(world.unit(BUILDING).id)
    return earlier.json(), later.json()


async def test_a_repeat_in_another_grid_is_not_named_to_the_grid_head(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    earlier, later = await _repeat_across_grids(client, world)
    grid_head = await world.headers("grid_head")
    assert (await client.get(f"{CASES}/{earlier['id']}", headers=grid_head)).status_code == 404

    seen = await client.get(f"{CASES}/{later['id']}", headers=grid_head)
    assert seen.json()["related_cases"] == []
    timeline = await client.get(f"{CASES}/{later['id']}/timeline", headers=grid_head)
    assert earlier["id"] not in timeline.text and earlier["number"] not in timeline.text
    entry = next(e for e in timeline.json()["items"] if e["type"] == "repeat_detected")
    assert entry["data"]["links"] == []  # not named, not counted

    # The district reads the same entry and sees the link.
    dispatcher = await world.headers("dispatcher")
    timeline = await client.get(f"{CASES}/{later['id']}/timeline", headers=dispatcher)
    entry = next(e for e in timeline.json()["items"] if e["type"] == "repeat_detected")
    assert {(link["case_id"], link["reason"]) for link in entry["data"]["links"]} == {
        (earlier["id"], "same_id_number"),
        (earlier["id"], "same_phone"),
    }
    related = (await client.get(f"{CASES}/{later['id']}", headers=dispatcher)).json()
    assert [r["id"] for r in related["related_cases"]] == [earlier["id"]]

    # What goes out about the new case (webhooks of the grid's subtree) names no other case.
    [(payload,)] = await sql(
        "SELECT payload FROM outbox_events WHERE type = 'case.created' AND aggregate_id = "
        "CAST(:i AS uuid)",
        i=later["id"],
    )
    assert earlier["id"] not in json.dumps(payload)


async def test_notifications_reach_only_people_whose_jurisdiction_covers_the_case(
    client: httpx.AsyncClient, world: World, sql: Any, run_worker: Any
) -> None:
    """A rule naming people by hand: the one whose jurisdiction covers the case is told; the
    police officer of 先锋社区 is not told of a case in 西园社区 (a skipped delivery says why)."""
    admin = await world.headers("system_admin")
    inside = await person_id(world, "supervisor")  # 铁西区
    outside = await person_id(world, "police")  # 先锋社区
    rule = await client.post(
        "/api/v1/notification-rules",
        headers=admin,
        json={
            "code": "case.created.watchers",
            "name": "新登记纠纷",
            "event_type": "case.created",
            "recipients": [{"kind": "people", "person_ids": [str(inside), str(outside)]}],
            "channels": ["inbox"],
        },
    )
    assert rule.status_code == 201, rule.text
    r = await client.post(
        CASES,
        headers=await world.headers("dispatcher"),
        json=case_body(world, unit_id=str(world.unit(OTHER_GRID).id)),
    )
    assert r.status_code == 201
    await run_worker()
    rows = await sql(
        "SELECT recipient, status, last_error FROM deliveries WHERE rule_code = "
        "'case.created.watchers' ORDER BY recipient"
    )
    by_person = {recipient.split(":", 1)[1]: (status, error) for recipient, status, error in rows}
    assert by_person[str(inside)] == ("delivered", None)
    status, error = by_person[str(outside)]
    assert status == "skipped" and "jurisdiction" in error
    police_inbox = await client.get(
        "/api/v1/me/notifications", headers=await world.headers("police")
    )
    assert r.json()["number"] not in police_inbox.text


async def test_a_case_names_the_call_it_came_from_only_to_hotline_readers(
    client: httpx.AsyncClient, world: World
) -> None:
    counselor = await world.headers("counselor")
    call = (await client.post(CALLS, headers=counselor, json=call_body())).json()
    opened = await client.post(
        f"{CALLS}/{call['id']}/open-case",
        headers={**counselor, "If-Match": f'"{call["id"]}-1"'},
        json=case_body(world, unit_id=str(world.unit("220302001002G01").id), source="hotline"),
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["case_id"]

    mine = await client.get(f"{CASES}/{case_id}/timeline", headers=counselor)
    assert any(e["data"].get("hotline_call_id") == call["id"] for e in mine.json()["items"])
    # The district sees the case and that it came from the hotline, never which call.
    theirs = await client.get(
        f"{CASES}/{case_id}/timeline", headers=await world.headers("dispatcher")
    )
    assert theirs.status_code == 200
    assert call["id"] not in theirs.text
    # The call's own timeline names the case to the workstation.
    calls = await client.get(f"{CALLS}/{call['id']}/timeline", headers=counselor)
    assert calls.json()["items"][-1]["detail"]["case_id"] == case_id
