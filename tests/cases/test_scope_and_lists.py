"""Who sees what: scoping (404 outside, nothing in lists), masking and the access log, typed
filters, Chinese text search, repeat disputes, numbering under concurrent intake."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any

import httpx

from mediation.auth.accounts import add_account
from mediation.org.enums import Role
from tests.cases.conftest import (
    BUILDING,
    CASES,
    GRID,
    OTHER_GRID,
    act,
    at,
    case_body,
)
from tests.support.world import PASSWORD, World


async def _other_grid_head(world: World) -> dict[str, str]:
    async with world.db() as session, session.begin():
        await add_account(
            session,
            username="grid_head_xiyuan",
            name="周网格",
            role=Role.grid_head,
            unit_id=world.unit(OTHER_GRID).id,
            password=PASSWORD,
            starts_on=date(2020, 1, 1),
        )
    return await world.headers("grid_head_xiyuan")


async def test_another_grid_head_sees_nothing(client: httpx.AsyncClient, world: World) -> None:
    mine = await world.headers("grid_head")
    case = (await client.post(CASES, headers=mine, json=case_body(world))).json()
    other = await _other_grid_head(world)

    r = await client.get(f"{CASES}/{case['id']}", headers=other)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    for path in ("timeline", "parties", "comments"):
        assert (await client.get(f"{CASES}/{case['id']}/{path}", headers=other)).status_code == 404
    r = await client.post(f"{CASES}/{case['id']}/comments", headers=other, json={"body": "x"})
    assert r.status_code == 404
    assert (await client.get(CASES, headers=other)).json()["items"] == []
    assert (await client.get(CASES, headers=other, params={"q": "漏水"})).json()["items"] == []

    own = (await client.get(CASES, headers=mine)).json()["items"]
    assert [c["id"] for c in own] == [case["id"]]
    # Their own grid's case is theirs alone.
    theirs = await client.post(
        CASES,
        headers=other,
        json=case_body(world, unit_id=str(world.unit(OTHER_GRID + "B01").id), title="西园噪音纠纷"),
    )
    assert theirs.status_code == 201
    assert theirs.json()["number"] == "铁西调〔2026〕0002号"
    assert [c["title"] for c in (await client.get(CASES, headers=mine)).json()["items"]] == [
        "楼上漏水纠纷"
    ]
    district = (await client.get(CASES, headers=await world.headers("dispatcher"))).json()
    assert [c["title"] for c in district["items"]] == ["西园噪音纠纷", "楼上漏水纠纷"]


async def test_personal_data_masked_unless_needed_and_logged(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    body = case_body(world)
    body["parties"].append(
        {
            "kind": "person",
            "side": "third_party",
            "name": "小明",
            "is_minor": True,
            "guardian": {"name": "王芳", "phone": "13700003333", "relation": "母亲"},
        }
    )
    case = (await client.post(CASES, headers=await world.headers("grid_head"), json=body)).json()
    logged = await sql("SELECT actor_name, action, record_id FROM access_log")
    assert logged == [("孙网格", "read_unmasked", __import__("uuid").UUID(case["id"]))]

    masked = (
        await client.get(f"{CASES}/{case['id']}", headers=await world.headers("building_head"))
    ).json()
    assert masked["pii_masked"] is True
    applicant = masked["parties"][0]
    assert applicant["name"] == "张*" and applicant["phone"] == "139****1111"
    assert applicant["id_number"] == "110105********002X"
    assert masked["parties"][2]["guardian"]["name"] == "王*"
    assert len(await sql("SELECT 1 FROM access_log")) == 1  # masked reads are not logged

    full = (
        await client.get(f"{CASES}/{case['id']}", headers=await world.headers("dispatcher"))
    ).json()
    assert full["parties"][0]["id_number"] == "11010519491231002X"
    assert len(await sql("SELECT 1 FROM access_log")) == 2


async def test_filters_search_sort_and_cursor(client: httpx.AsyncClient, world: World) -> None:
    grid = await world.headers("grid_head")
    titles = ["楼上漏水纠纷", "停车位争议", "装修噪音扰民", "宠物狗咬伤邻居"]
    ids = []
    for i, title in enumerate(titles):
        r = await client.post(
            CASES,
            headers=grid,
            json=case_body(
                world,
                title=title,
                facts=f"{title}，双方协商未果。",
                claims=None,
                risk_colour="red" if i == 3 else "yellow",
                category="damage_compensation" if i == 3 else "neighbourhood",
                parties=[
                    {
                        "kind": "person",
                        "side": "applicant",
                        "name": f"申请人{i}号",
                        "phone": f"1380000{i:04d}",
                    }
                ],
            ),
        )
        assert r.status_code == 201
        ids.append(r.json()["id"])
    dispatcher = await world.headers("dispatcher")

    async def listed(**params: Any) -> list[str]:
        r = await client.get(CASES, headers=dispatcher, params=params)
        assert r.status_code == 200, r.text
        return [c["title"] for c in r.json()["items"]]

    assert await listed(q="噪音") == ["装修噪音扰民"]
    assert await listed(q="漏水") == ["楼上漏水纠纷"]
    assert await listed(q="申请人2") == ["装修噪音扰民"]  # party names: dispatchers may
    building = await world.headers("building_head")
    r = await client.get(CASES, headers=building, params={"q": "申请人2"})
    assert r.json()["items"] == []  # not for readers without personal-data permission
    assert await listed(risk_colour="red") == ["宠物狗咬伤邻居"]
    assert await listed(category=["neighbourhood", "damage_compensation"], sort="oldest") == titles
    assert await listed(status="accepted") == []
    assert await listed(unit_id=str(world.unit(GRID).id), limit=2) == titles[::-1][:2]
    r = await client.get(
        CASES, headers=dispatcher, params={"unit_id": str(world.unit("220300").id)}
    )
    assert r.status_code == 422  # the city is outside a district dispatcher's jurisdiction

    page1 = (await client.get(CASES, headers=dispatcher, params={"limit": 3})).json()
    page2 = (
        await client.get(
            CASES, headers=dispatcher, params={"limit": 3, "cursor": page1["next_cursor"]}
        )
    ).json()
    assert [c["title"] for c in page1["items"] + page2["items"]] == titles[::-1]
    assert page2["next_cursor"] is None
    r = await client.get(
        CASES, headers=dispatcher, params={"cursor": page1["next_cursor"], "sort": "due_soonest"}
    )
    assert r.status_code == 422

    case = (await client.get(f"{CASES}/{ids[1]}", headers=dispatcher)).json()
    case = await act(client, dispatcher, case, "accept")
    assert await listed(status=["accepted"]) == ["停车位争议"]
    # Soonest deadline first, across pages: the first responses (Friday) before the accepted
    # case's mediation deadline (Tuesday); the rejected case has none and is not listed.
    case = await act(
        client,
        dispatcher,
        (await client.get(f"{CASES}/{ids[0]}", headers=dispatcher)).json(),
        "reject",
        {"reason": "不予受理"},
    )
    p1 = (
        await client.get(CASES, headers=dispatcher, params={"sort": "due_soonest", "limit": 2})
    ).json()
    p2 = (
        await client.get(
            CASES,
            headers=dispatcher,
            params={"sort": "due_soonest", "limit": 2, "cursor": p1["next_cursor"]},
        )
    ).json()
    assert [c["title"] for c in p1["items"] + p2["items"]] == [*titles[2:], "停车位争议"]
    assert p2["next_cursor"] is None
    assert await listed(due_before="2026-11-28T00:00:00+08:00", sort="oldest") == [
        t for t in titles[2:]
    ]
    assert (
        await listed(
            received_from="2026-11-26T00:00:00+08:00",
            received_to="2026-11-27T00:00:00+08:00",
            limit=10,
        )
        == titles[::-1]
    )


async def test_search_terms_with_quotes_and_backslashes_are_text(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """The search term is written into the statement as a constant (its plan then sees the
    term): quotes and backslashes stay text, and nothing else runs."""
    grid = await world.headers("grid_head")
    title = "王某's 漏水\\纠纷"
    r = await client.post(CASES, headers=grid, json=case_body(world, title=title))
    assert r.status_code == 201, r.text
    dispatcher = await world.headers("dispatcher")

    async def found(q: str) -> list[str]:
        r = await client.get(CASES, headers=dispatcher, params={"q": q})
        assert r.status_code == 200, r.text
        return [c["title"] for c in r.json()["items"]]

    assert await found("'s 漏水\\") == [title]
    assert await found("某'") == [title]
    assert await found("x' OR '1'='1") == []
    assert await found("'); DELETE FROM cases; --") == []
    assert await found("\\'; SELECT 1; --") == []
    assert await sql("SELECT count(*) FROM cases") == [(1,)]


async def test_repeat_dispute_linked_by_phone_and_building(
    client: httpx.AsyncClient, world: World
) -> None:
    at(world, datetime(2026, 5, 20, 10, 0))  # 190 days before 26 November
    oldest = (
        await client.post(
            CASES,
            headers=await world.headers("grid_head"),
            json=case_body(world, unit_id=str(world.unit(GRID).id)),
        )
    ).json()
    assert oldest["is_repeat"] is False
    at(world, datetime(2026, 6, 1, 10, 0))
    old = (
        await client.post(
            CASES,
            headers=await world.headers("grid_head"),
            json=case_body(world, unit_id=str(world.unit(GRID).id)),
        )
    ).json()
    assert [c["id"] for c in old["related_cases"]] == [oldest["id"]]
    at(world, datetime(2026, 11, 26, 10, 0))
    grid = await world.headers("grid_head")
    body = case_body(
        world,
        unit_id=str(world.unit(GRID).id),
        title="再次漏水",
        parties=[
            {"kind": "person", "side": "applicant", "name": "张三", "phone": "+86 139-0000-1111"}
        ],
    )
    new = (await client.post(CASES, headers=grid, json=body)).json()
    assert new["is_repeat"] is True
    assert [(c["id"], c["reasons"]) for c in new["related_cases"]] == [(old["id"], ["same_phone"])]
    listed = (await client.get(CASES, headers=grid, params={"repeat": True})).json()["items"]
    assert [c["id"] for c in listed] == [new["id"], old["id"]]
    earlier = (await client.get(f"{CASES}/{old['id']}", headers=grid)).json()
    assert [c["id"] for c in earlier["related_cases"]] == [oldest["id"], new["id"]]

    # Same building, no shared party: linked too.
    at(world, datetime(2026, 11, 27, 10, 0))
    grid = await world.headers("grid_head")
    b = case_body(world, parties=[{"kind": "person", "side": "applicant", "name": "赵六"}])
    first = (await client.post(CASES, headers=grid, json=b)).json()
    assert first["is_repeat"] is False
    second = (await client.post(CASES, headers=grid, json=b)).json()
    assert [(c["id"], c["reasons"]) for c in second["related_cases"]] == [
        (first["id"], ["same_building"])
    ]


async def test_concurrent_intake_numbers_are_unique_and_consecutive(
    client: httpx.AsyncClient, world: World
) -> None:
    grid = await world.headers("grid_head")
    results = await asyncio.gather(
        *[
            client.post(CASES, headers=grid, json=case_body(world, title=f"并发{i}"))
            for i in range(6)
        ]
    )
    assert all(r.status_code == 201 for r in results), [r.text for r in results]
    numbers = sorted(r.json()["number"] for r in results)
    assert numbers == [f"铁西调〔2026〕{i:04d}号" for i in range(1, 7)]


async def test_a_list_item_says_what_the_case_view_says(
    client: httpx.AsyncClient, world: World
) -> None:
    """Lists are written without the response model (reads.list_page_json): every field of
    an item must read exactly as the same field of the case, times in +08:00 included."""
    from mediation.cases.contracts import CaseListItem

    headers = await world.headers("dispatcher")
    created = (await client.post(CASES, headers=headers, json=case_body(world))).json()
    page = (await client.get(CASES, headers=headers)).json()
    [item] = [i for i in page["items"] if i["id"] == created["id"]]
    assert set(item) == set(CaseListItem.model_fields)
    view = (await client.get(f"{CASES}/{created['id']}", headers=headers)).json()
    for field in item:
        if field in ("unit_id", "handling_unit_id"):
            assert item[field] == view[field.removesuffix("_id")]["id"]
        elif field == "handler_person_ids":
            assert item[field] == [h["person_id"] for h in view["handlers"]]
        else:
            assert item[field] == view[field], field
    assert item["received_at"].endswith("+08:00") and item["due_at"].endswith("+08:00")


async def test_a_grids_list_holds_its_cases_at_every_level_below_it(
    client: httpx.AsyncClient, world: World
) -> None:
    """A grid head's lists and searches are walked by the grid key (migration 0035) unless an
    open-status or overdue filter takes the prefix's index: either way the grid's cases at the
    grid, its buildings and their units, and none of the neighbouring grid's or the
    community's own; a dispatcher's subtree filter on the grid gives the same."""
    dispatcher = await world.headers("dispatcher")
    places = {
        "grid": GRID,
        "building": BUILDING,
        "unit": BUILDING + "U01",
        "sibling": "220302001001G02",
        "sibling_building": "220302001001G02B01",
        "other_community": OTHER_GRID + "B01",
        "community": "220302001001",
    }
    ids = {}
    for name, code in places.items():
        body = case_body(world, unit_id=str(world.unit(code).id), title=f"{name}楼上漏水")
        r = await client.post(CASES, headers=dispatcher, json=body)
        assert r.status_code == 201, r.text
        ids[r.json()["id"]] = name
    mine = ["unit", "building", "grid"]  # newest first

    async def names(headers: dict[str, str], **params: Any) -> list[str]:
        r = await client.get(CASES, headers=headers, params=params)
        assert r.status_code == 200, r.text
        return [ids[c["id"]] for c in r.json()["items"]]

    grid_head = await world.headers("grid_head")
    on_grid = {"unit_id": str(world.unit(GRID).id)}
    for headers, scope in ((grid_head, {}), (dispatcher, on_grid)):
        assert await names(headers, **scope) == mine
        assert await names(headers, **scope, sort="oldest") == mine[::-1]
        assert await names(headers, **scope, q="漏水") == mine
        assert await names(headers, **scope, q="building楼上") == ["building"]
        assert await names(headers, **scope, q="sibling") == []
        assert await names(headers, **scope, category="neighbourhood", risk_colour="yellow") == mine
        assert await names(headers, **scope, status="received") == mine  # the prefix's index
        assert await names(headers, **scope, status=["received", "closed"]) == mine
        assert await names(headers, **scope, status="closed") == []
        assert await names(headers, **scope, overdue="false") == mine
        # Same deadline: the earlier-registered first.
        assert await names(headers, **scope, sort="due_soonest") == mine[::-1]
        # Page by page, one case a page: the cursor carries on within the grid.
        seen, cursor = [], None
        while True:
            page = {**scope, "limit": 1, **({"cursor": cursor} if cursor else {})}
            r = await client.get(CASES, headers=headers, params=page)
            body = r.json()
            seen += [ids[c["id"]] for c in body["items"]]
            cursor = body.get("next_cursor")
            if not cursor:
                break
        assert seen == mine
