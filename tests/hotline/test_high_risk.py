"""High or imminent risk: the outbox event names the supervisors on duty (or all of them and a
coverage gap), the worker processes it, and the call stays flagged until acknowledged."""

from __future__ import annotations

from typing import Any

import httpx

from tests.hotline.conftest import CALLS, HIGH_RISK, SHIFTS, call_body, person_of
from tests.support.world import World


async def _shift(
    client: httpx.AsyncClient, world: World, username: str, role: str, start: str, end: str
) -> dict[str, Any]:
    r = await client.post(
        SHIFTS,
        headers=await world.headers("hotline_supervisor"),
        json={
            "person_id": str(await person_of(world, username)),
            "duty_role": role,
            "starts_at": start,
            "ends_at": end,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_imminent_call_notifies_the_supervisor_on_duty(
    client: httpx.AsyncClient, world: World, sql: Any, run_worker: Any
) -> None:
    await _shift(
        client,
        world,
        "hotline_supervisor",
        "supervisor",
        "2026-11-26T08:00:00+08:00",
        "2026-11-26T20:00:00+08:00",
    )
    r = await client.post(
        CALLS, headers=await world.headers("counselor"), json=call_body(**HIGH_RISK)
    )
    assert r.status_code == 201, r.text
    call = r.json()
    assert call["flag"]["flagged"] is True and call["flag"]["flagged_at"]

    [(type_, payload, aggregate, unit_path)] = await sql(
        "SELECT type, payload, aggregate_id::text, unit_path FROM outbox_events"
    )
    assert type_ == "hotline.high_risk" and aggregate == call["id"]
    assert unit_path == world.unit("220302001002").path
    assert payload == {
        "call_id": call["id"],
        "unit_id": str(world.unit("220302001002").id),
        "risk_level": "high",
        "imminent": True,
        "urgent": True,
        "recipient_person_ids": [str(await person_of(world, "hotline_supervisor"))],
        "coverage_gap": False,
    }
    # nothing of the call's content travels with the event
    assert "summary" not in str(payload) and "139" not in str(payload)

    await run_worker()
    [(processed,)] = await sql("SELECT processed_at FROM outbox_events")
    assert processed is not None
    # through the worker it reaches the supervisor's inbox, urgent, naming only the call
    inbox = await sql(
        "SELECT u.username, n.urgent, n.link FROM notifications n JOIN users u ON u.id = n.user_id"
    )
    assert ("hotline_supervisor", True, f"{CALLS}/{call['id']}") in inbox

    flagged = await client.get(
        CALLS, headers=await world.headers("hotline_supervisor"), params={"flagged": True}
    )
    assert [i["id"] for i in flagged.json()["items"]] == [call["id"]]
    sup = await world.headers("hotline_supervisor")
    for imminent, listed in ((True, [call["id"]]), (False, [])):
        r = await client.get(CALLS, headers=sup, params={"imminent": imminent})
        assert [i["id"] for i in r.json()["items"]] == listed


async def test_no_supervisor_on_duty_goes_to_all_supervisors_and_reports_the_gap(
    client: httpx.AsyncClient, world: World, sql: Any, run_worker: Any
) -> None:
    # a counselor on duty is no supervisor
    await _shift(
        client,
        world,
        "counselor",
        "counselor",
        "2026-11-26T08:00:00+08:00",
        "2026-11-26T20:00:00+08:00",
    )
    r = await client.post(
        CALLS,
        headers=await world.headers("counselor"),
        json=call_body(risk_level="high", risk_assessment=HIGH_RISK["risk_assessment"]),
    )
    assert r.status_code == 201, r.text
    [(payload,)] = await sql("SELECT payload FROM outbox_events")
    assert payload["coverage_gap"] is True and payload["imminent"] is False
    assert payload["recipient_person_ids"] == [str(await person_of(world, "hotline_supervisor"))]
    await run_worker()
    assert (await sql("SELECT count(*) FROM outbox_events WHERE processed_at IS NULL")) == [(0,)]


async def test_lower_risk_writes_no_event(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    r = await client.post(
        CALLS,
        headers=await world.headers("counselor"),
        json=call_body(
            risk_level="medium",
            risk_assessment={
                "suicidal_desire": True,
                "suicidal_intent": True,
                "suicidal_capability": False,
            },
        ),
    )
    assert r.status_code == 201
    assert r.json()["flag"]["flagged"] is False
    assert await sql("SELECT count(*) FROM outbox_events") == [(0,)]


async def test_flag_stays_until_a_supervisor_acknowledges(
    client: httpx.AsyncClient, world: World, clock: Any
) -> None:
    from datetime import timedelta

    call = (
        await client.post(
            CALLS, headers=await world.headers("counselor"), json=call_body(**HIGH_RISK)
        )
    ).json()
    url = f"{CALLS}/{call['id']}/acknowledge"
    etag = f'"{call["id"]}-1"'
    r = await client.post(
        url, headers={**await world.headers("counselor"), "If-Match": etag}, json={}
    )
    assert r.status_code == 403
    sup = await world.headers("hotline_supervisor")
    assert (await client.post(url, headers=sup, json={})).status_code == 428
    clock.advance(timedelta(minutes=3))
    r = await client.post(url, headers={**sup, "If-Match": etag}, json={"note": "已接手"})
    assert r.status_code == 200, r.text
    flag = r.json()["flag"]
    assert flag["flagged"] is False and flag["acknowledged_by_name"] == "卫督导"
    assert flag["note"] == "已接手" and flag["acknowledged_at"]
    again = await client.post(url, headers={**sup, "If-Match": r.headers["etag"]}, json={})
    assert again.status_code == 409 and again.json()["code"] == "flag-already-acknowledged"
    assert again.headers["content-type"].startswith("application/problem+json")

    timeline = (await client.get(f"{CALLS}/{call['id']}/timeline", headers=sup)).json()["items"]
    assert [(e["kind"], e["actor_name"]) for e in timeline] == [
        ("created", "褚咨询"),
        ("flagged", "褚咨询"),
        ("acknowledged", "卫督导"),
    ]
    assert timeline[2]["detail"]["minutes_to_acknowledge"] == 3
    assert timeline[1]["detail"] == {
        "risk_level": "high",
        "imminent": True,
        "recipients": 1,
        "coverage_gap": True,
    }
    not_flagged = (await client.post(CALLS, headers=sup, json=call_body())).json()
    r = await client.post(
        f"{CALLS}/{not_flagged['id']}/acknowledge",
        headers={**sup, "If-Match": f'"{not_flagged["id"]}-1"'},
        json={},
    )
    assert r.status_code == 409


async def test_raising_the_risk_later_flags_the_call(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    h = await world.headers("counselor")
    call = (await client.post(CALLS, headers=h, json=call_body())).json()
    r = await client.patch(
        f"{CALLS}/{call['id']}",
        headers={**h, "If-Match": f'"{call["id"]}-1"'},
        json={k: HIGH_RISK[k] for k in ("risk_level", "imminent_risk", "risk_assessment")},
    )
    assert r.status_code == 200, r.text
    assert r.json()["flag"]["flagged"] is True
    assert [t for (t,) in await sql("SELECT type FROM outbox_events")] == ["hotline.high_risk"]
    # a further edit of a flagged call does not notify again
    r = await client.patch(
        f"{CALLS}/{call['id']}",
        headers={**h, "If-Match": r.headers["etag"]},
        json={"summary": "补充记录"},
    )
    assert r.status_code == 200
    assert await sql("SELECT count(*) FROM outbox_events") == [(1,)]


async def test_bad_high_risk_input_writes_no_event(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    r = await client.post(
        CALLS,
        headers=await world.headers("counselor"),
        json=call_body(**{**HIGH_RISK, "ended_at": "2026-11-26T09:00:00+08:00"}),
    )
    assert r.status_code == 422
    assert await sql("SELECT count(*) FROM outbox_events") == [(0,)]
    assert await sql("SELECT count(*) FROM hotline_calls") == [(0,)]
