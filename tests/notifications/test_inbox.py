"""Events reach people's in-app inboxes (and SMS) through the rules; the inbox API."""

from __future__ import annotations

from typing import Any

import httpx

from mediation.cases.enums import MediationChannel, RiskColour
from mediation.cases.events import CaseAssigned, HandlerBrief
from tests.notifications.conftest import example_payload
from tests.notifications.peers import HttpPeer
from tests.support.world import World


async def person_of(sql: Any, username: str) -> Any:
    rows = await sql("SELECT person_id, id FROM users WHERE username = :u", u=username)
    return rows[0]


async def test_assignment_reaches_the_handlers_inbox_and_phone_once(
    client: httpx.AsyncClient,
    world: World,
    sql: Any,
    run_worker: Any,
    emit_event: Any,
    http_peer: HttpPeer,
) -> None:
    handler, _ = await person_of(sql, "grid_head")
    _, dispatcher_user = await person_of(sql, "dispatcher")
    unit = world.unit("220302001001G01")
    assigned = example_payload(
        "case.assigned",
        case_id="0193a1b2-0000-7000-8000-00000000ca5e",
        case_number="铁西调〔2026〕0007号",
        unit_id=unit.id,
        risk_colour=RiskColour.yellow,
        handler_person_ids=[handler],
        handlers=[HandlerBrief(person_id=handler, channel=MediationChannel.people, lead=True)],
        actor_id=dispatcher_user,
    )
    assert isinstance(assigned, CaseAssigned)
    await emit_event("case.assigned", assigned, unit_path=unit.path, actor_id=dispatcher_user)

    await run_worker()
    await run_worker()  # a second run sends nothing more

    h = await world.headers("grid_head")
    r = await client.get("/api/v1/me/notifications", headers=h)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["title"] for i in items] == ["新分派纠纷：铁西调〔2026〕0007号"]
    assert "孙网格，您好" in items[0]["body"] and "已分派给您办理" in items[0]["body"]
    assert items[0]["link"] == "/api/v1/cases/0193a1b2-0000-7000-8000-00000000ca5e"
    sms = http_peer.at("/sms")
    assert len(sms) == 1
    assert sms[0].json()["phone"] == "13800000000"
    assert sms[0].json()["message"].startswith("【综治中心】孙网格您好，纠纷铁西调〔2026〕0007号")
    rows = await sql("SELECT channel, status, attempts FROM deliveries ORDER BY channel")
    assert rows == [("inbox", "delivered", 0), ("sms", "delivered", 1)]

    # the dispatcher who assigned it is not told about their own action
    r = await client.get("/api/v1/me/notifications", headers=await world.headers("dispatcher"))
    assert r.json()["items"] == []


async def test_inbox_counts_marks_read_and_stays_private(
    client: httpx.AsyncClient, world: World, sql: Any, run_worker: Any, emit_event: Any
) -> None:
    handler, _ = await person_of(sql, "mediator")
    unit = world.unit("220302001")
    for n in range(3):
        transferred = example_payload(
            "case.transferred",
            case_number=f"C-{n}",
            unit_id=unit.id,
            risk_colour=RiskColour.red if n == 2 else RiskColour.yellow,
            handler_person_ids=[handler],
        )
        await emit_event("case.transferred", transferred, unit_path=unit.path)
    await run_worker()
    h = await world.headers("mediator")
    count = (await client.get("/api/v1/me/notifications/unread-count", headers=h)).json()
    assert count == {"unread": 3, "urgent_unread": 1}

    # Newest first (by arrival: the three events were processed concurrently).
    page = (await client.get("/api/v1/me/notifications", headers=h, params={"limit": 2})).json()
    assert len(page["items"]) == 2 and page["items"][0]["id"] > page["items"][1]["id"]
    rest = (
        await client.get(
            "/api/v1/me/notifications",
            headers=h,
            params={"limit": 2, "cursor": page["next_cursor"]},
        )
    ).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    everything = {i["title"]: i for i in page["items"] + rest["items"]}
    assert set(everything) == {"纠纷移交：C-0", "纠纷移交：C-1", "纠纷移交：C-2"}
    assert [t for t, i in everything.items() if i["urgent"]] == ["纠纷移交：C-2"]

    newest = page["items"][0]["id"]
    r = await client.post(f"/api/v1/me/notifications/{newest}/read", headers=h)
    assert r.status_code == 200 and r.json()["read_at"] is not None
    # somebody else's message does not exist for you
    other = await client.post(
        f"/api/v1/me/notifications/{newest}/read", headers=await world.headers("police")
    )
    assert other.status_code == 404
    assert other.headers["content-type"].startswith("application/problem+json")

    unread = (
        await client.get("/api/v1/me/notifications", headers=h, params={"unread": True})
    ).json()["items"]
    assert len(unread) == 2
    r = await client.post(
        "/api/v1/me/notifications/read-all", headers=h, json={"up_to": unread[-1]["id"]}
    )
    assert r.json() == {"marked": 1}
    r = await client.post("/api/v1/me/notifications/read-all", headers=h, json={})
    assert r.json() == {"marked": 1}
    count = (await client.get("/api/v1/me/notifications/unread-count", headers=h)).json()
    assert count == {"unread": 0, "urgent_unread": 0}


async def test_inbox_needs_sign_in(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/me/notifications")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_each_recipient_is_greeted_by_their_own_name(
    client: httpx.AsyncClient, world: World, sql: Any, run_worker: Any, emit_event: Any
) -> None:
    # The event's variables are worked out once; each person's name goes into their own text.
    grid_head, _ = await person_of(sql, "grid_head")
    building_head, _ = await person_of(sql, "building_head")
    unit = world.unit("220302001001G01B01U01")
    assigned = example_payload(
        "case.assigned",
        case_id="0193a1b2-0000-7000-8000-00000000ca5f",
        case_number="铁西调〔2026〕0008号",
        unit_id=unit.id,
        risk_colour=RiskColour.yellow,
        handler_person_ids=[grid_head, building_head],
        handlers=[
            HandlerBrief(person_id=grid_head, channel=MediationChannel.people, lead=True),
            HandlerBrief(person_id=building_head, channel=MediationChannel.people, lead=False),
        ],
    )
    await emit_event("case.assigned", assigned, unit_path=unit.path)
    await run_worker()

    for username, name, other in (
        ("grid_head", "孙网格", "李楼长"),
        ("building_head", "李楼长", "孙网格"),
    ):
        r = await client.get("/api/v1/me/notifications", headers=await world.headers(username))
        [item] = r.json()["items"]
        assert item["body"].startswith(f"{name}，您好") and other not in item["body"]
        assert "铁西调〔2026〕0008号" in item["body"]
