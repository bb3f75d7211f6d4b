"""Bad input is a clear problem+json and writes nothing; concurrency rules hold."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.cases.conftest import (
    CASES,
    GRID,
    MINOR_ID,
    OTHER_GRID,
    VALID_ID,
    act,
    case_body,
    person_id,
)
from tests.support.world import World

COUNTS = (
    "SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM case_parties), "
    "(SELECT count(*) FROM case_events), (SELECT count(*) FROM outbox_events), "
    "(SELECT count(*) FROM case_number_counters)"
)


def _problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["type"] and body["title"]
    return body


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"category": "astrology"}, "body.category"),
        (
            {
                "parties": [
                    {
                        "kind": "person",
                        "side": "applicant",
                        "name": "张三",
                        "id_number": "110105194912310021",
                    }
                ]
            },
            "body.parties.0.id_number",
        ),
        ({"parties": [{"kind": "person", "side": "respondent", "name": "李四"}]}, "body.parties"),
        (
            {
                "parties": [
                    {"kind": "person", "side": "applicant", "name": "小明", "id_number": MINOR_ID}
                ]
            },
            "body.parties.0.guardian",
        ),
        ({"unit_id": "OTHER_GRID"}, "body.unit_id"),
        ({"external_ref": "X-1"}, "body.external_ref"),
    ],
)
async def test_bad_intake_writes_nothing(
    client: httpx.AsyncClient, world: World, sql: Any, change: dict[str, Any], field: str
) -> None:
    if change.get("unit_id") == "OTHER_GRID":
        change = {"unit_id": str(world.unit(OTHER_GRID).id)}
    before = await sql(COUNTS)
    r = await client.post(
        CASES, headers=await world.headers("grid_head"), json=case_body(world, **change)
    )
    body = _problem(r, 422)
    assert field in {e["field"] for e in body["errors"]}, body
    assert await sql(COUNTS) == before


async def test_wrong_state_lists_allowed_actions(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    r = await client.post(CASES, headers=await world.headers("grid_head"), json=case_body(world))
    case = r.json()
    dispatcher = await world.headers("dispatcher")
    before = await sql(COUNTS)
    r = await client.post(
        f"{CASES}/{case['id']}/close",
        json={},
        headers={**dispatcher, "If-Match": r.headers["etag"]},
    )
    body = _problem(r, 409)
    assert body["type"].endswith("/invalid-transition")
    assert body["case_status"] == "received"
    assert body["allowed_actions"] == [
        "accept",
        "reject",
        "escalate",
        "withdraw",
        "extend_deadline",
    ]
    assert await sql(COUNTS) == before
    got = (await client.get(f"{CASES}/{case['id']}", headers=dispatcher)).json()
    assert got["status"] == "received" and got["version"] == 1


async def test_etag_required_and_checked(client: httpx.AsyncClient, world: World, sql: Any) -> None:
    r = await client.post(CASES, headers=await world.headers("grid_head"), json=case_body(world))
    case = r.json()
    dispatcher = await world.headers("dispatcher")
    _problem(await client.post(f"{CASES}/{case['id']}/accept", json={}, headers=dispatcher), 428)
    accepted = await act(client, dispatcher, case, "accept")
    before = await sql(COUNTS)
    stale = await client.post(
        f"{CASES}/{case['id']}/reject",
        json={"reason": "x"},
        headers={**dispatcher, "If-Match": f'"{case["id"]}-1"'},
    )
    assert _problem(stale, 412)["current_etag"] == f'"{case["id"]}-{accepted["version"]}"'
    patch = await client.patch(
        f"{CASES}/{case['id']}",
        json={"risk_colour": "red"},
        headers={**dispatcher, "If-Match": f'"{case["id"]}-1"'},
    )
    _problem(patch, 412)
    assert await sql(COUNTS) == before


async def test_permissions_and_handlers(client: httpx.AsyncClient, world: World, sql: Any) -> None:
    r = await client.post(CASES, headers=await world.headers("grid_head"), json=case_body(world))
    case = r.json()
    # A grid head reports but does not accept; a police officer not handling it cannot act.
    for user in ("grid_head", "police"):
        r = await client.post(
            f"{CASES}/{case['id']}/accept",
            json={},
            headers={**await world.headers(user), "If-Match": f'"{case["id"]}-1"'},
        )
        _problem(r, 403)
    # A building head reports, but not outside the building's subtree.
    r = await client.post(
        CASES,
        headers=await world.headers("building_head"),
        json=case_body(world, unit_id=str(world.unit(GRID).id)),
    )
    assert _problem(r, 422)["errors"][0]["field"] == "body.unit_id"
    dispatcher = await world.headers("dispatcher")
    case = await act(client, dispatcher, case, "accept")
    # The hotline counselor of 西园社区 does not cover 先锋社区.
    counselor = await person_id(world, "counselor")
    before = await sql(COUNTS)
    r = await client.post(
        f"{CASES}/{case['id']}/assign",
        json={"handlers": [{"person_id": str(counselor), "channel": "psychological"}]},
        headers={**dispatcher, "If-Match": f'"{case["id"]}-{case["version"]}"'},
    )
    assert _problem(r, 422)["errors"][0]["field"] == "body.handlers.0.person_id"
    assert r.json()["code"] == "handler-without-role"
    assert await sql(COUNTS) == before


async def test_parties_keep_an_applicant(client: httpx.AsyncClient, world: World) -> None:
    r = await client.post(CASES, headers=await world.headers("grid_head"), json=case_body(world))
    case = r.json()
    dispatcher = await world.headers("dispatcher")
    applicant = case["parties"][0]["id"]
    etag = {"If-Match": f'"{case["id"]}-1"'}
    r = await client.delete(
        f"{CASES}/{case['id']}/parties/{applicant}", headers={**dispatcher, **etag}
    )
    assert _problem(r, 422)["code"] == "last-applicant"
    r = await client.post(
        f"{CASES}/{case['id']}/parties",
        headers={**dispatcher, **etag},
        json={
            "kind": "organisation",
            "side": "third_party",
            "name": "某物业服务有限公司",
            "org_code": "91220300MA0000000X",
        },
    )
    assert r.status_code == 200, r.text
    assert [p["name"] for p in r.json()["parties"]][-1] == "某物业服务有限公司"
    second = r.json()
    r = await client.patch(
        f"{CASES}/{case['id']}/parties/{applicant}",
        json={"id_number": VALID_ID[:-1] + "1"},
        headers={**dispatcher, "If-Match": f'"{case["id"]}-2"'},
    )
    _problem(r, 422)
    assert second["version"] == 2


async def test_adding_a_party_the_case_already_has_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """A resent form must not list the same person twice: 409 naming the party the case has;
    another person of the same name (another phone, or none) is still added."""
    dispatcher = await world.headers("dispatcher")
    case = (await client.post(CASES, headers=dispatcher, json=case_body(world))).json()
    respondent = case["parties"][1]["id"]
    etag = {"If-Match": f'"{case["id"]}-1"'}
    url = f"{CASES}/{case['id']}/parties"
    before = await sql(COUNTS)
    # The phone written another way is the same number.
    same = {"kind": "person", "side": "respondent", "name": "李四", "phone": "139 0000 2222"}
    r = await client.post(url, headers={**dispatcher, **etag}, json=same)
    body = _problem(r, 409)
    assert body["code"] == "party-exists" and body["party_id"] == respondent, body
    assert await sql(COUNTS) == before
    got = (await client.get(f"{CASES}/{case['id']}", headers=dispatcher)).json()
    assert got["version"] == 1 and len(got["parties"]) == 2
    namesake = await client.post(
        url, headers={**dispatcher, **etag}, json={**same, "phone": "13900003333"}
    )
    assert namesake.status_code == 200, namesake.text
    assert [p["name"] for p in namesake.json()["parties"]] == ["张三", "李四", "李四"]
    unknown_phone = {k: v for k, v in same.items() if k != "phone"}
    etag = {"If-Match": namesake.headers["etag"]}
    r = await client.post(url, headers={**dispatcher, **etag}, json=unknown_phone)
    assert r.status_code == 200, r.text
    assert [p["name"] for p in r.json()["parties"]] == ["张三", "李四", "李四", "李四"]


async def test_a_party_update_names_only_what_changed(
    client: httpx.AsyncClient, world: World
) -> None:
    """A form resends every field: the timeline names the ones whose value changed."""
    dispatcher = await world.headers("dispatcher")
    case = (await client.post(CASES, headers=dispatcher, json=case_body(world))).json()
    respondent = case["parties"][1]
    r = await client.patch(
        f"{CASES}/{case['id']}/parties/{respondent['id']}",
        headers={**dispatcher, "If-Match": f'"{case["id"]}-1"'},
        json={"side": "respondent", "name": "李四", "phone": "13900003333"},
    )
    assert r.status_code == 200, r.text
    timeline = await client.get(f"{CASES}/{case['id']}/timeline", headers=dispatcher)
    entry = timeline.json()["items"][-1]
    assert entry["type"] == "party_updated" and entry["data"]["changed"] == ["phone"], entry


async def test_assign_checks_everything_before_it_writes(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """Assign loads, locks and checks the case in one statement and writes in another: each
    refusal comes in the order the other actions give them and leaves no trace."""
    r = await client.post(CASES, headers=await world.headers("grid_head"), json=case_body(world))
    dispatcher = await world.headers("dispatcher")
    case = await act(client, dispatcher, r.json(), "accept")
    police, counselor = await person_id(world, "police"), await person_id(world, "counselor")
    url = f"{CASES}/{case['id']}/assign"
    body = {"handlers": [{"person_id": str(police), "channel": "police_joint"}]}
    current = {"If-Match": f'"{case["id"]}-{case["version"]}"'}
    counts = COUNTS + ", (SELECT count(*) FROM case_handlers)"
    before = await sql(counts)

    _problem(await client.post(url, json=body, headers=dispatcher), 428)
    stale = await client.post(
        url, json=body, headers={**dispatcher, "If-Match": f'"{case["id"]}-1"'}
    )
    assert _problem(stale, 412)["current_etag"] == current["If-Match"]
    # Outside the caller's jurisdiction the case does not exist for them (before any 403).
    outside = await client.post(
        url, json=body, headers={**await world.headers("counselor"), **current}
    )
    _problem(outside, 404)
    # The second handler has no role covering the case: named by its position.
    both = {
        "handlers": [*body["handlers"], {"person_id": str(counselor), "channel": "psychological"}]
    }
    r = await client.post(url, json=both, headers={**dispatcher, **current})
    assert _problem(r, 422)["errors"][0]["field"] == "body.handlers.1.person_id"
    assert await sql(counts) == before
    got = (await client.get(f"{CASES}/{case['id']}", headers=dispatcher)).json()
    assert got["status"] == "accepted" and got["version"] == case["version"]
    assert got["handlers"] == []

    assigned = await act(client, dispatcher, case, "assign", body)
    assert [h["person_id"] for h in assigned["handlers"]] == [str(police)]
    after = await sql(counts)
    # The ETag read before the assign is stale now; with the current one, assigning again is
    # not a move of an assigned case (409). Neither writes.
    stale = await client.post(url, json=both, headers={**dispatcher, **current})
    assert _problem(stale, 412)["current_etag"] == f'"{case["id"]}-{assigned["version"]}"'
    again = await client.post(
        url,
        json=body,
        headers={**dispatcher, "If-Match": f'"{case["id"]}-{assigned["version"]}"'},
    )
    assert _problem(again, 409)["allowed_actions"]
    assert await sql(counts) == after
    got = (await client.get(f"{CASES}/{case['id']}", headers=dispatcher)).json()
    assert got == {**assigned, "updated_at": got["updated_at"]}
    assert got["version"] == assigned["version"] and got["handlers"] == assigned["handlers"]

    # A transfer to the people handling it now, as they do, changes nothing; one naming
    # someone without a covering role is refused by position. Neither writes.
    url = f"{CASES}/{case['id']}/transfer"
    current = {"If-Match": f'"{case["id"]}-{assigned["version"]}"'}
    same = await client.post(
        url, json={"reason": "同一人", **body}, headers={**dispatcher, **current}
    )
    assert same.status_code == 200 and same.headers["ETag"] == current["If-Match"]
    assert same.json() == {**assigned, "updated_at": same.json()["updated_at"]}
    r = await client.post(url, json={"reason": "换人", **both}, headers={**dispatcher, **current})
    assert _problem(r, 422)["errors"][0]["field"] == "body.handlers.1.person_id"
    assert await sql(counts) == after


OTHER = "00000000-0000-0000-0000-000000000001"


@pytest.mark.parametrize(
    ("action", "body", "last"),
    [
        ("reject", {"reason": "不属于调解范围"}, None),
        ("pause", {"reason": "等待当事人"}, 409),
        ("withdraw", {"reason": "当事人撤回"}, None),
        ("fail", {"referral": "litigation", "reason": "分歧较大"}, 409),
        ("close", {"note": "结案"}, 409),
        ("accept", {"complexity": "difficult", "risk_colour": "red"}, None),
        ("reopen", {"reason": "重新受理"}, 409),
        ("resume", {}, 409),
        ("extend-deadline", {"by": 365, "reason": "延长"}, "deadline-too-far"),
        ("escalate", {"reason": "上报", "target_unit_id": "grid"}, "escalation-target-not-above"),
        (
            "transfer",
            {"reason": "换人", "handlers": [{"person_id": OTHER, "channel": "people"}]},
            409,
        ),
    ],
)
async def test_status_moves_refuse_before_they_write(
    client: httpx.AsyncClient,
    world: World,
    sql: Any,
    action: str,
    body: dict[str, Any],
    last: int | str | None,
) -> None:
    """A case action done as a pipeline gives its refusals in order (404 outside the scope,
    428, 412, 403, then 409 from the status or the action's own 422) and none of them changes
    the case, its deadlines, handlers, timeline or events."""
    r = await client.post(CASES, headers=await world.headers("grid_head"), json=case_body(world))
    case = r.json()
    if body.get("target_unit_id") == "grid":  # the handling unit itself: not above it
        body = {**body, "target_unit_id": str(world.unit(GRID).id)}
    url = f"{CASES}/{case['id']}/{action}"
    current = {"If-Match": f'"{case["id"]}-{case["version"]}"'}
    dispatcher = await world.headers("dispatcher")
    counts = (
        COUNTS + ", (SELECT count(*) FROM case_deadlines WHERE met_at IS NULL AND "
        "cancelled_at IS NULL AND paused_since IS NULL), (SELECT max(version) FROM cases), "
        "(SELECT count(*) FROM case_deadlines), (SELECT max(due_at) FROM case_deadlines), "
        "(SELECT count(*) FROM case_handlers)"
    )
    before = await sql(counts)

    outside = {**await world.headers("counselor"), **current}
    _problem(await client.post(url, json=body, headers=outside), 404)
    _problem(await client.post(url, json=body, headers=dispatcher), 428)
    stale = {**dispatcher, "If-Match": f'"{case["id"]}-9"'}
    assert (
        _problem(await client.post(url, json=body, headers=stale), 412)["current_etag"]
        == (current["If-Match"])
    )
    # The police officer neither dispatches nor handles the case.
    police = {**await world.headers("police"), **current}
    _problem(await client.post(url, json=body, headers=police), 403)
    if last == 409:  # not from received
        refused = _problem(
            await client.post(url, json=body, headers={**dispatcher, **current}), 409
        )
        assert refused["allowed_actions"]
    elif last is not None:
        refused = _problem(
            await client.post(url, json=body, headers={**dispatcher, **current}), 422
        )
        assert refused["code"] == last
    assert await sql(counts) == before
    got = (await client.get(f"{CASES}/{case['id']}", headers=dispatcher)).json()
    assert got["status"] == "received" and got["version"] == case["version"]
