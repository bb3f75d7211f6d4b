"""A dispute carried from a grid head's report to close, every step on the timeline."""

from __future__ import annotations

from typing import Any

import httpx

from tests.cases.conftest import CASES, act, case_body, person_id
from tests.support.world import World


async def test_grid_report_to_close(
    client: httpx.AsyncClient, world: World, sql: Any, run_worker: Any
) -> None:
    grid = await world.headers("grid_head")
    r = await client.post(CASES, headers=grid, json=case_body(world))
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["number"] == "铁西调〔2026〕0001号"
    assert case["number_ascii"] == "220302-2026-0001"
    assert r.headers["location"] == f"{CASES}/{case['id']}"
    assert r.headers["etag"] == f'"{case["id"]}-1"'
    assert case["status"] == "received"
    assert case["intake_mode"] == "proactive"
    assert case["unit"]["name"] == "1号楼"
    assert case["handling_unit"]["name"] == "先锋社区第一网格"
    assert case["parties"][0]["name"] == "张三"  # grid heads may read personal data
    # Thursday 2026-11-26: one working day to respond, i.e. by the end of Friday.
    assert case["current_stage"] == "first_response"
    assert case["due_at"] == "2026-11-27T23:59:59+08:00"
    assert case["available_actions"] == []  # a grid head reports; the center acts

    dispatcher = await world.headers("dispatcher")
    got = await client.get(f"{CASES}/{case['id']}", headers=dispatcher)
    assert got.status_code == 200
    assert "accept" in got.json()["available_actions"]
    case = await act(client, dispatcher, got.json(), "accept", {"note": "符合受理条件"})
    assert case["status"] == "accepted" and case["accepted_at"]
    # Simple case: three working days, Fri 27, Mon 30, Tue Dec 1.
    assert case["due_at"] == "2026-12-01T23:59:59+08:00"

    mediator, police = await person_id(world, "mediator"), await person_id(world, "police")
    case = await act(
        client,
        dispatcher,
        case,
        "assign",
        {
            "handlers": [
                {"person_id": str(mediator), "channel": "people", "lead": True},
                {"person_id": str(police), "channel": "police_joint"},
            ]
        },
    )
    assert case["status"] == "assigned"
    assert {h["name"] for h in case["handlers"]} == {"冯调解", "郑警官"}
    assert sorted(case["channels"]) == ["people", "police_joint"]

    med = await world.headers("mediator")
    case = await act(client, med, case, "start-mediation", {})
    assert case["status"] == "in_mediation"
    case = await act(
        client,
        med,
        case,
        "resolve",
        {
            "agreement": {
                "form": "written",
                "terms": "502室业主于7日内修复漏水并赔偿402室2000元。",
                "amount": "2000.00",
                "performance_method": "现金一次性支付",
                "performance_due_on": "2026-12-03",
                "signed_by_parties": True,
            }
        },
    )
    assert case["status"] == "resolved"
    assert case["agreement"]["judicial_confirmation_until"] == "2026-12-26"
    assert case["current_stage"] == "follow_up"

    case = await act(
        client,
        med,
        case,
        "follow-ups",
        {
            "method": "visit",
            "performance": "full",
            "satisfaction": "satisfied",
            "flare_up_risk": "low",
            "notes": "协议已履行",
        },
    )
    assert case["status"] == "followed_up"
    assert case["agreement"]["performance_status"] == "full"
    case = await act(client, dispatcher, case, "close", {"note": "结案"})
    assert case["status"] == "closed" and case["closed_at"]
    assert case["due_at"] is None

    r = await client.get(f"{CASES}/{case['id']}/timeline", headers=dispatcher)
    assert r.status_code == 200
    types = [e["type"] for e in r.json()["items"]]
    assert types == [
        "created",
        "accepted",
        "assigned",
        "mediation_started",
        "resolved",
        "followed_up",
        "closed",
    ]
    first = r.json()["items"][0]
    assert first["actor"]["name"] == "孙网格" and first["to_status"] == "received"

    events = await sql(
        "SELECT type, payload FROM outbox_events WHERE aggregate_type = 'case' ORDER BY id"
    )
    assert [t for t, _ in events] == [f"case.{t}" for t in types]
    assigned = dict(events)["case.assigned"]
    assert assigned["case_number"] == "铁西调〔2026〕0001号"
    assert set(assigned["handler_person_ids"]) == {str(mediator), str(police)}
    assert assigned["risk_colour"] == "yellow"

    # The worker relays and processes every case event (notifications are its business).
    await run_worker()
    pending = await sql("SELECT type FROM outbox_events WHERE processed_at IS NULL")
    assert pending == []
