"""Residents' opinions (民意): collected by the heads and the owners' committee, forwarded,
answered, closed; masked personal data; turned into a dispute case with one action."""

from __future__ import annotations

from typing import Any

import httpx

from tests.outreach.conftest import (
    BUILDING1,
    GRID1,
    GRID2,
    OPINIONS,
    UNIT1,
    XIYUAN,
    field_errors,
    new_key,
    person_id,
    unit_id,
)
from tests.support.world import World


def opinion(world: World, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "unit_id": unit_id(world, BUILDING1),
        "category": "public_facilities",
        "text": "1号楼前路灯损坏两周，晚上出行不便，希望尽快维修。",
        "address": "1号楼南侧",
        "resident_name": "张大爷",
        "resident_phone": "13900001111",
    }
    body.update(overrides)
    return body


async def record(client: httpx.AsyncClient, world: World, who: str, **overrides: Any) -> Any:
    r = await client.post(
        OPINIONS, headers=await world.headers(who), json=opinion(world, **overrides)
    )
    assert r.status_code == 201, r.text
    return r


async def test_a_building_head_collects_and_the_grid_head_sees_the_resident(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    r = await record(client, world, "building_head")
    body = r.json()
    assert body["status"] == "received"
    assert body["collector_name"] == "李楼长"
    assert body["collector_role"] == "building_head"
    assert body["collected_on"] == "2026-11-26"
    assert body["category_label"] == "公共设施"
    assert body["unit_name"] == "1号楼"
    # The building head's role does not need personal data: masked, even for their own entry.
    assert body["resident_name"] == "张**"
    assert body["resident_phone"] == "139****1111"
    mine = await client.get(
        f"{OPINIONS}/{body['id']}", headers=await world.headers("building_head")
    )
    assert mine.json()["resident_phone"] == "139****1111"
    assert await sql("SELECT count(*) FROM access_log") == [(0,)]

    # The grid head (pii:read) reads it unmasked, and that reading is logged.
    grid = await client.get(f"{OPINIONS}/{body['id']}", headers=await world.headers("grid_head"))
    assert grid.status_code == 200
    assert grid.json()["resident_name"] == "张大爷"
    assert grid.json()["resident_phone"] == "13900001111"
    assert await sql("SELECT record_type, record_id::text FROM access_log") == [
        ("resident_opinion", body["id"])
    ]
    # Lists always mask.
    listed = await client.get(OPINIONS, headers=await world.headers("grid_head"))
    assert [(o["id"], o["resident_name"]) for o in listed.json()["items"]] == [(body["id"], "张**")]
    events = await sql(
        "SELECT type, payload FROM outbox_events WHERE aggregate_id = :i", i=body["id"]
    )
    assert [e[0] for e in events] == ["opinion.received"]
    assert "13900001111" not in str(events) and "张大爷" not in str(events)


async def test_the_life_cycle_received_forwarded_answered_closed(
    client: httpx.AsyncClient, world: World, clock: Any
) -> None:
    created = await record(client, world, "unit_head", unit_id=unit_id(world, UNIT1))
    url = f"{OPINIONS}/{created.json()['id']}"
    headers = await world.headers("grid_head")
    etag = created.headers["ETag"]

    closing_early = await client.post(
        f"{url}/close", headers={**headers, "If-Match": etag}, json={}
    )
    assert closing_early.status_code == 409
    assert closing_early.json()["status"] == 409
    no_etag = await client.post(f"{url}/forward", headers=headers, json={"forwarded_to": "物业"})
    assert no_etag.status_code == 428

    forwarded = await client.post(
        f"{url}/forward",
        headers={**headers, "If-Match": etag, "Idempotency-Key": new_key()},
        json={"forwarded_to": "先锋社区居委会"},
    )
    assert forwarded.status_code == 200, forwarded.text
    assert forwarded.json()["status"] == "forwarded"
    assert forwarded.json()["forwarded_to"] == "先锋社区居委会"
    # Corrections stop once it left the grid.
    fix = await client.patch(
        url, headers={**headers, "If-Match": forwarded.headers["ETag"]}, json={"text": "改"}
    )
    assert fix.status_code == 409

    answer = await client.post(
        f"{url}/answer",
        headers={**headers, "If-Match": forwarded.headers["ETag"]},
        json={"answer": "路灯已于11月27日修复，已电话告知居民。"},
    )
    assert answer.status_code == 200 and answer.json()["status"] == "answered"
    assert answer.json()["answered_at"] is not None
    closed = await client.post(
        f"{url}/close",
        headers={**headers, "If-Match": answer.headers["ETag"]},
        json={"note": "居民表示满意。"},
    )
    assert closed.status_code == 200
    final = (await client.get(url, headers=headers)).json()
    assert final["status"] == "closed"
    assert final["answer"] == "路灯已于11月27日修复，已电话告知居民。"
    assert final["close_note"] == "居民表示满意。"
    assert final["version"] == 4

    by_status = await client.get(OPINIONS, headers=headers, params={"status": "closed"})
    assert len(by_status.json()["items"]) == 1
    assert (await client.get(OPINIONS, headers=headers, params={"status": "received"})).json()[
        "items"
    ] == []
    # Collected on: both ends of the range included.
    that_day = {"collected_from": "2026-11-26", "collected_to": "2026-11-26"}
    assert len((await client.get(OPINIONS, headers=headers, params=that_day)).json()["items"]) == 1
    before = {"collected_to": "2026-11-25"}
    assert (await client.get(OPINIONS, headers=headers, params=before)).json()["items"] == []


async def test_an_opinion_can_be_answered_on_the_spot(
    client: httpx.AsyncClient, world: World
) -> None:
    created = await record(client, world, "owners_committee", category="policy_consultation")
    answered = await client.post(
        f"{OPINIONS}/{created.json()['id']}/answer",
        headers={**await world.headers("owners_committee"), "If-Match": created.headers["ETag"]},
        json={"answer": "已现场解答。"},
    )
    assert answered.status_code == 200
    assert answered.json()["status"] == "answered"
    assert answered.json()["collector_role"] == "owners_committee"


async def test_bad_input_writes_nothing(
    client: httpx.AsyncClient, world: World, counts: Any
) -> None:
    mediator = await person_id(world, "mediator")
    police = await person_id(world, "police")
    building_head = await person_id(world, "building_head")
    headers = await world.headers("grid_head")
    before = await counts("resident_opinions")
    bad: list[tuple[dict[str, Any], str]] = [
        (opinion(world, category="no_such_category"), "body.category"),
        (opinion(world, category="neighbourhood"), "body.category"),  # a dispute category
        (opinion(world, text=""), "body.text"),
        (opinion(world, collected_on="2026-11-27"), "body.collected_on"),
        (opinion(world, resident_phone="call me"), "body.resident_phone"),
        (opinion(world, unit_id=unit_id(world, GRID2)), "body.unit_id"),
        # Only heads and the owners' committee collect opinions.
        (opinion(world, collector_id=mediator), "body.collector_id"),
        (opinion(world, collector_id=police), "body.collector_id"),
        # A building head collects in their building, not in another one of the grid.
        (
            opinion(world, collector_id=building_head, unit_id=unit_id(world, GRID1 + "B02")),
            "body.collector_id",
        ),
    ]
    for body, field in bad:
        r = await client.post(OPINIONS, headers=headers, json=body)
        assert r.status_code == 422, (field, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in field_errors(r.json()), (field, r.json())
    # Roles without opinions:write.
    for role in ("police", "mediator", "legal_advisor"):
        r = await client.post(OPINIONS, headers=await world.headers(role), json=opinion(world))
        assert r.status_code == 403, role
    assert await counts("resident_opinions") == before
    # The grid head may record what a building head collected.
    ok = await client.post(
        OPINIONS, headers=headers, json=opinion(world, collector_id=building_head)
    )
    assert ok.status_code == 201 and ok.json()["collector_name"] == "李楼长"


async def test_another_grid_does_not_see_it(
    client: httpx.AsyncClient, world: World, grid2: dict[str, str]
) -> None:
    created = await record(client, world, "grid_head", unit_id=unit_id(world, GRID1))
    other = await world.headers(grid2["grid_head"])
    url = f"{OPINIONS}/{created.json()['id']}"
    assert (await client.get(url, headers=other)).status_code == 404
    assert (await client.get(OPINIONS, headers=other)).json()["items"] == []
    forward = await client.post(
        f"{url}/forward",
        headers={**other, "If-Match": created.headers["ETag"]},
        json={"forwarded_to": "x"},
    )
    assert forward.status_code == 404
    # The community's police officer and the district see it.
    for role in ("police", "dispatcher", "supervisor"):
        assert (await client.get(url, headers=await world.headers(role))).status_code == 200


async def test_an_opinion_that_is_a_dispute_becomes_a_case_keeping_the_link(
    client: httpx.AsyncClient, world: World, counts: Any, sql: Any
) -> None:
    created = await record(
        client,
        world,
        "grid_head",
        category="other",
        text="502室装修噪音持续到深夜，与邻居多次争吵，居民要求调解。",
    )
    url = f"{OPINIONS}/{created.json()['id']}"
    headers = await world.headers("grid_head")
    to_case = {
        "category": "neighbourhood",
        "risk_colour": "orange",
        "parties": [
            {"kind": "person", "side": "applicant", "name": "张大爷", "phone": "13900001111"},
            {"kind": "person", "side": "respondent", "name": "王五"},
        ],
    }
    # Who neither collects opinions nor reports disputes may not (the owners' committee,
    # which reports in its grid, may: 业委会+三长制).
    refused = await client.post(
        f"{url}/convert-to-case",
        headers={**await world.headers("legal_advisor"), "If-Match": created.headers["ETag"]},
        json=to_case,
    )
    assert refused.status_code == 403
    # A bad case body writes nothing: neither a case nor a change to the opinion.
    before = await counts("cases")
    bad = await client.post(
        f"{url}/convert-to-case",
        headers={**headers, "If-Match": created.headers["ETag"]},
        json={**to_case, "parties": [{"kind": "person", "side": "respondent", "name": "王五"}]},
    )
    assert bad.status_code == 422 and "body.parties" in field_errors(bad.json())
    assert await counts("cases") == before

    r = await client.post(
        f"{url}/convert-to-case",
        headers={**headers, "If-Match": created.headers["ETag"], "Idempotency-Key": new_key()},
        json=to_case,
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["case_number"].startswith("铁西调〔2026〕")
    assert out["opinion"]["case_id"] == out["case_id"]
    assert out["opinion"]["status"] == "forwarded"
    assert out["opinion"]["forwarded_to"] == f"矛盾纠纷案件 {out['case_number']}"
    assert r.headers["Location"] == f"/api/v1/cases/{out['case_id']}"

    case = await client.get(f"/api/v1/cases/{out['case_id']}", headers=headers)
    assert case.status_code == 200, case.text
    assert case.json()["source"] == "grid_report"
    assert case.json()["facts"] == "502室装修噪音持续到深夜，与邻居多次争吵，居民要求调解。"
    assert case.json()["unit"]["id"] == unit_id(world, BUILDING1)
    timeline = await client.get(f"/api/v1/cases/{out['case_id']}/timeline", headers=headers)
    assert any(
        e["data"].get("opinion_id") == created.json()["id"] for e in timeline.json()["items"]
    )
    converted = await client.get(OPINIONS, headers=headers, params={"converted": "true"})
    assert [o["id"] for o in converted.json()["items"]] == [created.json()["id"]]

    again = await client.post(
        f"{url}/convert-to-case", headers={**headers, "If-Match": r.headers["ETag"]}, json=to_case
    )
    assert again.status_code == 409
    assert await sql(
        "SELECT type FROM outbox_events WHERE aggregate_id = :i ORDER BY occurred_at, id",
        i=created.json()["id"],
    ) == [("opinion.received",), ("opinion.converted_to_case",)]


async def test_a_case_made_elsewhere_is_not_named_to_the_opinions_grid(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """The district turns a grid's opinion into a case placed in another community (issue 16,
    item 4): the grid still sees that its opinion went to a case, never which one; the
    district sees the link."""
    created = await record(client, world, "grid_head", category="other")
    url = f"{OPINIONS}/{created.json()['id']}"
    dispatcher = await world.headers("dispatcher")
    r = await client.post(
        f"{url}/convert-to-case",
        headers={**dispatcher, "If-Match": created.headers["ETag"]},
        json={
            "category": "neighbourhood",
            "unit_id": unit_id(world, XIYUAN),
            "parties": [{"kind": "person", "side": "applicant", "name": "张大爷"}],
        },
    )
    assert r.status_code == 201, r.text
    case_id, number = r.json()["case_id"], r.json()["case_number"]

    grid = await client.get(url, headers=await world.headers("grid_head"))
    assert grid.json()["status"] == "forwarded" and grid.json()["case_id"] is None
    assert grid.json()["forwarded_to"] == "矛盾纠纷案件"
    assert case_id not in grid.text and number not in grid.text
    listed = await client.get(OPINIONS, headers=await world.headers("grid_head"))
    assert case_id not in listed.text and number not in listed.text
    again = await client.post(
        f"{url}/convert-to-case",
        headers={**await world.headers("grid_head"), "If-Match": grid.headers["ETag"]},
        json={
            "category": "neighbourhood",
            "parties": [{"kind": "person", "side": "applicant", "name": "张"}],
        },
    )
    assert again.status_code == 409 and case_id not in again.text

    district = await client.get(url, headers=dispatcher)
    assert district.json()["case_id"] == case_id
    assert district.json()["forwarded_to"] == f"矛盾纠纷案件 {number}"
    # The event goes to whoever hears of the grid's opinions: it names no case elsewhere.
    [(payload,)] = await sql(
        "SELECT payload FROM outbox_events WHERE type = 'opinion.converted_to_case'"
    )
    assert "case_id" not in payload and "case_number" not in payload


async def test_answering_and_closing_an_opinion_that_became_a_case_show_on_the_case_timeline(
    client: httpx.AsyncClient, world: World
) -> None:
    """Each later step of the opinion is one `opinion_changed` entry on its case's timeline:
    who, when, the opinion's new status; never the answer or the note (the case's readers are
    not the opinion's); the case's own version stays."""
    created = await record(client, world, "grid_head", category="other")
    url = f"{OPINIONS}/{created.json()['id']}"
    headers = await world.headers("grid_head")
    r = await client.post(
        f"{url}/convert-to-case",
        headers={**headers, "If-Match": created.headers["ETag"]},
        json={
            "category": "neighbourhood",
            "parties": [
                {"kind": "person", "side": "applicant", "name": "张大爷", "phone": "13900001111"},
                {"kind": "person", "side": "respondent", "name": "王五"},
            ],
        },
    )
    assert r.status_code == 201, r.text
    case_url = f"/api/v1/cases/{r.json()['case_id']}"
    case_before = await client.get(case_url, headers=headers)
    answered = await client.post(
        f"{url}/answer",
        headers={**headers, "If-Match": r.headers["ETag"]},
        json={"answer": "已转为纠纷案件调解，张大爷与王五达成协议。"},
    )
    assert answered.status_code == 200, answered.text
    closed = await client.post(
        f"{url}/close",
        headers={**headers, "If-Match": answered.headers["ETag"]},
        json={"note": "居民表示满意。"},
    )
    assert closed.status_code == 200, closed.text

    timeline = await client.get(f"{case_url}/timeline", headers=headers)
    steps = [e for e in timeline.json()["items"] if e["type"] == "opinion_changed"]
    opinion_id = created.json()["id"]
    assert [(e["actor"]["name"], e["body"], e["data"]) for e in steps] == [
        (
            "孙网格",
            "转立本案的居民意见已答复。",
            {"opinion_id": opinion_id, "opinion_status": "answered"},
        ),
        (
            "孙网格",
            "转立本案的居民意见已办结。",
            {"opinion_id": opinion_id, "opinion_status": "closed"},
        ),
    ]
    assert "达成协议" not in timeline.text and "居民表示满意" not in timeline.text
    case_after = await client.get(case_url, headers=headers)
    assert case_after.json()["version"] == case_before.json()["version"]
