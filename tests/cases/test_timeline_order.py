"""Timelines are totally ordered (issue 16, item 3): each entry carries its number within its
record, given in the write, listed by it; `created` is always first; concurrent writers to
one record never share a number; pages follow the order. Cases, hotline calls, sessions."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.cases.conftest import CASES, act, case_body
from tests.hotline.conftest import CALLS, call_body
from tests.support.pages import walk
from tests.support.world import World


async def _timeline(client: httpx.AsyncClient, h: dict[str, str], url: str) -> list[Any]:
    """Every entry, walking the pages one entry at a time."""
    return await walk(client, url, h, 1)


async def test_a_repeat_case_starts_with_created_and_is_numbered_in_order(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    grid_head = await world.headers("grid_head")
    first = await client.post(CASES, headers=grid_head, json=case_body(world))
    assert first.status_code == 201
    # The same applicant again: a repeat, found in the same request as the intake.
    repeat = (await client.post(CASES, headers=grid_head, json=case_body(world))).json()
    assert repeat["is_repeat"] is True
    dispatcher = await world.headers("dispatcher")
    await act(client, dispatcher, repeat, "accept")

    url = f"{CASES}/{repeat['id']}/timeline"
    whole = (await client.get(url, headers=dispatcher)).json()["items"]
    assert [(e["seq"], e["type"]) for e in whole] == [
        (1, "created"),
        (2, "repeat_detected"),
        (3, "accepted"),
    ]
    assert whole[0]["at"] == whole[1]["at"]  # one intake, one time
    assert await _timeline(client, dispatcher, url) == whole
    # The record keeps the last number given.
    rows = await sql("SELECT timeline_seq FROM cases WHERE id = CAST(:i AS uuid)", i=repeat["id"])
    assert rows == [(3,)]


async def test_concurrent_writers_to_one_case_never_share_a_number(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """Comments need no If-Match, so they really race: every one is stored, numbered once,
    in a gapless sequence after `created`."""
    h = await world.headers("dispatcher")
    case = (await client.post(CASES, headers=h, json=case_body(world))).json()
    answers = await asyncio.gather(
        *(
            client.post(f"{CASES}/{case['id']}/comments", headers=h, json={"body": f"第{i}条"})
            for i in range(8)
        )
    )
    assert [r.status_code for r in answers] == [201] * 8
    seqs = sorted(r.json()["seq"] for r in answers)
    assert seqs == list(range(2, 10))
    rows = await sql(
        "SELECT seq, type FROM case_events WHERE case_id = CAST(:i AS uuid) ORDER BY seq",
        i=case["id"],
    )
    assert [s for s, _ in rows] == list(range(1, 10)) and rows[0][1] == "created"


async def test_a_calls_timeline_is_a_numbered_page(client: httpx.AsyncClient, world: World) -> None:
    h = await world.headers("counselor")
    call = (await client.post(CALLS, headers=h, json=call_body())).json()
    r = await client.patch(
        f"{CALLS}/{call['id']}",
        headers={**h, "If-Match": f'"{call["id"]}-1"'},
        json={"follow_up_note": "已约定回访时间"},
    )
    assert r.status_code == 200, r.text
    url = f"{CALLS}/{call['id']}/timeline"
    page = (await client.get(url, headers=h)).json()
    assert set(page) == {"items", "next_cursor"} and page["next_cursor"] is None
    assert [(e["seq"], e["kind"]) for e in page["items"]] == [(1, "created"), (2, "updated")]
    assert await _timeline(client, h, url) == page["items"]
    bad = await client.get(url, headers=h, params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422
