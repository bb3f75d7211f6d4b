"""Opening a dispute case from a call: source hotline, linked both ways, nothing of the
caller's mental health copied into the case."""

from __future__ import annotations

from typing import Any

import httpx

from tests.hotline.conftest import CALLS, HIGH_RISK, call_body
from tests.support.world import World


def case_body(world: World, **overrides: Any) -> dict[str, Any]:
    body = {
        "title": "婚姻家庭纠纷",
        "facts": "夫妻双方因家庭财产分配发生争执，希望社区调解。",
        "category": "marriage_family",
        "risk_colour": "orange",
        "unit_id": str(world.unit("220302001002G01").id),
        "parties": [
            {"kind": "person", "side": "applicant", "name": "王女士", "phone": "13912345678"},
            {"kind": "person", "side": "respondent", "name": "李先生"},
        ],
    }
    body.update(overrides)
    return body


async def call_that_opened_a_case(
    client: httpx.AsyncClient, world: World, headers: dict[str, str], **call: Any
) -> tuple[dict[str, Any], httpx.Response]:
    """A call logged by `headers`' counselor and the answer of the case opened from it."""
    logged = (await client.post(CALLS, headers=headers, json=call_body(**call))).json()
    opened = await client.post(
        f"{CALLS}/{logged['id']}/open-case",
        headers={**headers, "If-Match": f'"{logged["id"]}-1"'},
        json=case_body(world),
    )
    assert opened.status_code == 201, opened.text
    return logged, opened


async def test_open_a_case_from_a_call(client: httpx.AsyncClient, world: World, sql: Any) -> None:
    h = await world.headers("counselor")
    call = (await client.post(CALLS, headers=h, json=call_body(**HIGH_RISK))).json()
    url = f"{CALLS}/{call['id']}/open-case"
    assert (await client.post(url, headers=h, json=case_body(world))).status_code == 428
    r = await client.post(
        url, headers={**h, "If-Match": f'"{call["id"]}-1"'}, json=case_body(world)
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert r.headers["location"] == f"/api/v1/cases/{out['case_id']}"
    assert out["case_number"].startswith("铁西调〔2026〕")
    assert out["call"]["case_id"] == out["case_id"] and out["call"]["version"] == 2
    assert r.headers["etag"] == f'"{call["id"]}-2"'

    case = await client.get(f"/api/v1/cases/{out['case_id']}", headers=h)
    assert case.status_code == 200, case.text
    assert case.json()["source"] == "hotline"
    # nothing of the call's mental-health record travelled into the case
    text = case.text
    for secret in (
        "情绪低落",
        "hopelessness",
        "ideation",
        "available_means",
        "plan_with_method",
        "suicid",
        "risk_assessment",
        "imminent",
    ):
        assert secret not in text, secret
    # the case's side of the link
    [(data,)] = await sql(
        "SELECT data FROM case_events WHERE case_id = :c AND type = 'commented'", c=out["case_id"]
    )
    assert data == {"hotline_call_id": call["id"]}
    timeline = (await client.get(f"{CALLS}/{call['id']}/timeline", headers=h)).json()["items"]
    assert timeline[-1]["kind"] == "case_opened"
    assert timeline[-1]["detail"]["case_id"] == out["case_id"]

    again = await client.post(
        url, headers={**h, "If-Match": r.headers["etag"]}, json=case_body(world)
    )
    assert again.status_code == 409 and again.json()["code"] == "call-has-case"
    assert (await sql("SELECT count(*) FROM cases")) == [(1,)]

    # the district dispatcher sees the case, but still not the call
    d = await world.headers("dispatcher")
    assert (await client.get(f"/api/v1/cases/{out['case_id']}", headers=d)).status_code == 200
    assert (await client.get(f"{CALLS}/{call['id']}", headers=d)).status_code == 404


async def test_bad_case_body_writes_nothing(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    h = await world.headers("counselor")
    call = (await client.post(CALLS, headers=h, json=call_body())).json()
    url = f"{CALLS}/{call['id']}/open-case"
    hdr = {**h, "If-Match": f'"{call["id"]}-1"'}
    for bad in (
        case_body(world, category="nonsense"),
        case_body(world, source="grid_report"),
        case_body(world, unit_id=str(world.unit("220302001001G01").id)),
        case_body(world, parties=[]),
    ):
        r = await client.post(url, headers=hdr, json=bad)
        assert r.status_code == 422, r.text
    assert (await sql("SELECT count(*) FROM cases")) == [(0,)]
    assert (await sql("SELECT case_id, version FROM hotline_calls")) == [(None, 1)]


async def test_open_case_is_idempotent(client: httpx.AsyncClient, world: World, sql: Any) -> None:
    h = await world.headers("counselor")
    call = (await client.post(CALLS, headers=h, json=call_body())).json()
    hdr = {**h, "If-Match": f'"{call["id"]}-1"', "Idempotency-Key": "open-1"}
    url = f"{CALLS}/{call['id']}/open-case"
    first = await client.post(url, headers=hdr, json=case_body(world))
    second = await client.post(url, headers=hdr, json=case_body(world))
    assert first.status_code == second.status_code == 201
    assert second.headers.get("idempotent-replayed") == "true"
    assert first.json() == second.json()
    assert (await sql("SELECT count(*) FROM cases")) == [(1,)]
    # the stored answer never holds the callback number in clear
    rows = await sql("SELECT body FROM idempotency_keys")
    assert all(b"13912345678" not in bytes(b) for (b,) in rows if b)


async def test_create_call_is_idempotent(client: httpx.AsyncClient, world: World, sql: Any) -> None:
    h = {**await world.headers("counselor"), "Idempotency-Key": "call-1"}
    first = await client.post(CALLS, headers=h, json=call_body())
    second = await client.post(CALLS, headers=h, json=call_body())
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert (await sql("SELECT count(*) FROM hotline_calls")) == [(1,)]
    other = await client.post(CALLS, headers=h, json=call_body(call_type="silent"))
    assert other.status_code == 422
    assert all(
        b"13912345678" not in bytes(b)
        for (b,) in await sql("SELECT body FROM idempotency_keys")
        if b
    )


async def test_the_case_a_call_opened_shows_each_later_change_of_the_call_but_nothing_of_it(
    client: httpx.AsyncClient, world: World
) -> None:
    """Corrected, acknowledged, reviewed: one `hotline_call_changed` entry each on the case's
    timeline, by whom and when; no note, comment or outcome of the call; the call named only to
    its readers; the case's own version stays (its answer shows nothing of the call)."""
    h = await world.headers("counselor")
    call, opened = await call_that_opened_a_case(client, world, h, **HIGH_RISK)
    case_url = f"/api/v1/cases/{opened.json()['case_id']}"
    d = await world.headers("dispatcher")
    case_before = await client.get(case_url, headers=d)
    url = f"{CALLS}/{call['id']}"
    patch = {"follow_up_done_at": "2026-11-26T10:00:00+08:00", "follow_up_note": "已电话回访"}
    r = await client.patch(url, headers={**h, "If-Match": opened.headers["etag"]}, json=patch)
    assert r.status_code == 200, r.text
    same = await client.patch(url, headers={**h, "If-Match": r.headers["etag"]}, json=patch)
    assert same.status_code == 200 and same.headers["etag"] == r.headers["etag"]
    sup = await world.headers("hotline_supervisor")
    r = await client.post(
        f"{url}/acknowledge",
        headers={**sup, "If-Match": r.headers["etag"]},
        json={"note": "已接手"},
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"{url}/review",
        headers={**sup, "If-Match": r.headers["etag"]},
        json={"outcome": "appropriate", "comment": "评估完整，处置得当。"},
    )
    assert r.status_code == 200, r.text

    timeline = await client.get(f"{case_url}/timeline", headers=d)
    changes = [e for e in timeline.json()["items"] if e["type"] == "hotline_call_changed"]
    assert [e["actor"]["name"] for e in changes] == ["褚咨询", "卫督导", "卫督导"]
    assert all(e["data"] == {} and "心理工作站" in e["body"] for e in changes)
    for secret in ("已电话回访", "已接手", "评估完整", "appropriate", "follow_up", "risk_level"):
        assert secret not in timeline.text, secret
    # The counselor reads the call: the entries name it, as the case's link entry does.
    mine = (await client.get(f"{case_url}/timeline", headers=h)).json()["items"]
    assert [e["data"] for e in mine if e["type"] == "hotline_call_changed"] == [
        {"hotline_call_id": call["id"]}
    ] * 3
    case_after = await client.get(case_url, headers=d)
    assert case_after.json()["version"] == case_before.json()["version"]
