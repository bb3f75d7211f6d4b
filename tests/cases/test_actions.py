"""The other branches of the life cycle, the agreement and comments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from mediation.clock import CENTER_TZ
from tests.cases.conftest import CASES, act, case_body, person_id
from tests.support.world import World


async def _accepted(client: httpx.AsyncClient, world: World, **over: Any) -> dict[str, Any]:
    case = (
        await client.post(
            CASES, headers=await world.headers("grid_head"), json=case_body(world, **over)
        )
    ).json()
    return await act(client, await world.headers("dispatcher"), case, "accept")


async def test_escalation_goes_to_the_next_dispatchers(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    dispatcher = await world.headers("dispatcher")
    case = await _accepted(client, world)
    police = await person_id(world, "police")
    case = await act(
        client,
        dispatcher,
        case,
        "assign",
        {"handlers": [{"person_id": str(police), "channel": "police_joint"}]},
    )
    officer = await world.headers("police")
    case = await act(client, officer, case, "start-mediation")
    case = await act(
        client,
        officer,
        case,
        "escalate",
        {"reason": "涉及多户，社区层面无法化解", "complexity": "complex"},
    )
    assert case["status"] == "accepted"
    assert case["handlers"] == [] and case["channels"] == []
    # No dispatcher sits at the community or the street: the district's take it.
    assert case["handling_unit"]["name"] == "铁西区"
    assert case["complexity"] == "complex"
    assert case["due_at"] == "2026-12-03T23:59:59+08:00"  # five working days now
    assert "escalate" not in case["available_actions"]  # the officer no longer handles it
    rows = await sql("SELECT payload FROM outbox_events WHERE type = 'case.escalated'")
    payload = rows[0][0]
    assert payload["target_unit_id"] == str(world.unit("220302").id)
    assert set(payload["target_dispatcher_person_ids"]) == {
        str(await person_id(world, "dispatcher")),
        str(await person_id(world, "supervisor")),
    }
    assert payload["previous_handler_person_ids"] == [str(police)]
    assert payload["case_number"] == case["number"]

    case = await act(client, dispatcher, case, "escalate", {"reason": "需市级协调"})
    assert case["handling_unit"]["name"] == "四平市"
    r = await client.post(
        f"{CASES}/{case['id']}/escalate",
        json={"reason": "再上报"},
        headers={**dispatcher, "If-Match": f'"{case["id"]}-{case["version"]}"'},
    )
    assert r.status_code == 409 and r.json()["code"] == "escalation-at-top"


async def test_transfer_fail_refer_and_close(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    dispatcher = await world.headers("dispatcher")
    case = await _accepted(client, world)
    mediator, judge = (
        await person_id(world, "mediator"),
        await person_id(world, "judicial_mediator"),
    )
    case = await act(
        client,
        dispatcher,
        case,
        "assign",
        {"handlers": [{"person_id": str(mediator), "channel": "people"}]},
    )
    med = await world.headers("mediator")
    case = await act(client, med, case, "start-mediation")
    case = await act(
        client,
        med,
        case,
        "transfer",
        {"reason": "需诉前调解", "handlers": [{"person_id": str(judge), "channel": "judicial"}]},
    )
    assert case["status"] == "assigned"
    assert [h["name"] for h in case["handlers"]] == ["陈法官"]
    r = await client.post(
        f"{CASES}/{case['id']}/start-mediation",
        json={},
        headers={**med, "If-Match": f'"{case["id"]}-{case["version"]}"'},
    )
    assert r.status_code == 403  # the mediator stepped down
    judge_h = await world.headers("judicial_mediator")
    case = await act(client, judge_h, case, "start-mediation")
    case = await act(
        client,
        judge_h,
        case,
        "fail",
        {"referral": "litigation", "reason": "分歧较大，告知诉讼途径"},
    )
    assert case["status"] == "failed" and case["referral_target"] == "litigation"
    assert case["due_at"] is None
    case = await act(client, dispatcher, case, "close")
    assert case["status"] == "closed"
    payload = await sql("SELECT payload FROM outbox_events WHERE type = 'case.transferred'")
    assert payload[0][0]["previous_handler_person_ids"] == [str(mediator)]


async def test_reject_withdraw_and_reopen(client: httpx.AsyncClient, world: World) -> None:
    dispatcher = await world.headers("dispatcher")
    case = (
        await client.post(CASES, headers=await world.headers("grid_head"), json=case_body(world))
    ).json()
    case = await act(client, dispatcher, case, "reject", {"reason": "不属于人民调解范围"})
    assert case["status"] == "rejected" and case["reason"] == "不属于人民调解范围"
    assert case["available_actions"] == ["reopen"]
    case = await act(client, dispatcher, case, "reopen", {"reason": "当事人补充材料"})
    assert case["status"] == "received" and case["current_stage"] == "first_response"
    case = await act(client, dispatcher, case, "accept")
    case = await act(client, dispatcher, case, "withdraw", {"reason": "当事人自行和解"})
    assert case["status"] == "withdrawn" and case["withdrawn_at"]
    assert case["deadlines"][-1]["stage"] == "first_response"  # the cancelled one is not shown
    r = await client.get(
        f"{CASES}/{case['id']}/timeline",
        headers=dispatcher,
        params={"type": ["rejected", "reopened", "withdrawn"]},
    )
    assert [(e["type"], e["from_status"], e["to_status"]) for e in r.json()["items"]] == [
        ("rejected", "received", "rejected"),
        ("reopened", "rejected", "received"),
        ("withdrawn", "accepted", "withdrawn"),
    ]


async def test_agreement_performance_and_judicial_confirmation_window(
    client: httpx.AsyncClient, world: World
) -> None:
    dispatcher = await world.headers("dispatcher")
    case = await _accepted(client, world)
    case = await act(
        client,
        dispatcher,
        case,
        "assign",
        {"handlers": [{"person_id": str(await person_id(world, "mediator")), "channel": "people"}]},
    )
    case = await act(client, dispatcher, case, "start-mediation")
    r = await client.post(
        f"{CASES}/{case['id']}/resolve",
        json={
            "agreement": {"form": "written", "terms": "赔偿2000元", "performance_method": "转账"}
        },
        headers={**dispatcher, "If-Match": f'"{case["id"]}-{case["version"]}"'},
    )
    assert r.status_code == 422  # a written agreement must be signed
    case = await act(
        client,
        dispatcher,
        case,
        "resolve",
        {
            "agreement": {
                "form": "written",
                "terms": "赔偿2000元",
                "amount": "2000.00",
                "performance_method": "转账",
                "effective_on": "2026-11-26",
                "signed_by_parties": True,
            }
        },
    )
    # A month later: the application and the performance are recorded once they happened.
    world.clock.set(datetime(2026, 12, 27, 10, 0, tzinfo=CENTER_TZ))
    world._tokens.clear()
    dispatcher = await world.headers("dispatcher")
    etag = {"If-Match": f'"{case["id"]}-{case["version"]}"'}
    late = await client.post(
        f"{CASES}/{case['id']}/agreement/judicial-confirmation",
        json={"requested_on": "2026-12-27", "court": "四平市铁西区人民法院"},
        headers={**dispatcher, **etag},
    )
    assert late.status_code == 422
    assert "2026-12-26" in late.json()["detail"]
    r = await client.post(
        f"{CASES}/{case['id']}/agreement/judicial-confirmation",
        json={"requested_on": "2026-12-26", "court": "四平市铁西区人民法院"},
        headers={**dispatcher, **etag},
    )
    assert r.status_code == 200, r.text
    case = r.json()
    assert case["agreement"]["judicial_confirmation_requested_on"] == "2026-12-26"
    r = await client.post(
        f"{CASES}/{case['id']}/agreement/performances",
        json={"performed_on": "2026-11-30", "status": "partial", "amount": "1000.00"},
        headers={**dispatcher, "If-Match": f'"{case["id"]}-{case["version"]}"'},
    )
    assert r.status_code == 200
    assert r.json()["agreement"]["performance_status"] == "partial"
    listed = (
        await client.get(f"{CASES}/{case['id']}/agreement/performances", headers=dispatcher)
    ).json()
    assert [(p["status"], p["amount"]) for p in listed] == [("partial", "1000.00")]
    agreement = (await client.get(f"{CASES}/{case['id']}/agreement", headers=dispatcher)).json()
    assert agreement["amount"] == "2000.00"


async def test_comments_and_details(client: httpx.AsyncClient, world: World) -> None:
    grid = await world.headers("grid_head")
    case = (await client.post(CASES, headers=grid, json=case_body(world))).json()
    r = await client.post(
        f"{CASES}/{case['id']}/comments", headers=grid, json={"body": "已电话联系申请人"}
    )
    assert r.status_code == 201
    assert r.json()["type"] == "commented" and r.json()["actor"]["name"] == "孙网格"
    comments = (await client.get(f"{CASES}/{case['id']}/comments", headers=grid)).json()
    assert [c["body"] for c in comments["items"]] == ["已电话联系申请人"]

    dispatcher = await world.headers("dispatcher")
    r = await client.patch(
        f"{CASES}/{case['id']}",
        headers={**dispatcher, "If-Match": f'"{case["id"]}-1"'},
        json={
            "risk_colour": "red",
            "prevention": [{"kind": "group_petition", "people": 12}],
            "category": "property_management",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["risk_colour"] == "red" and r.json()["version"] == 2
    assert r.json()["prevention"] == [{"kind": "group_petition", "people": 12}]
    r = await client.patch(
        f"{CASES}/{case['id']}",
        headers={**dispatcher, "If-Match": f'"{case["id"]}-2"'},
        json={"category": "astrology"},
    )
    assert r.status_code == 422
