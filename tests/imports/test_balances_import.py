"""Opening balances imported from a sheet: the recomputed month adds them, the report says
含期初汇总数; once only; bad rows."""

from __future__ import annotations

from typing import Any

import httpx

from tests.imports.support import IMPORTS, csv_of, validated
from tests.support.world import World

HEAD = [
    "单位",
    "月份",
    "收案数",
    "调解成功数",
    "调解不成数",
    "热线来电数",
    "微课参与人数",
    "按纠纷类型收案数",
]
GOOD = [
    ["四平市/铁西区", "2022-11", "12", "10", "2", "200", "", "邻里:5、婚姻家庭:3"],
    ["220302001", "2022年11月", "", "", "", "", "300", ""],
]


def _all(report: dict[str, Any]) -> dict[str, Any]:
    return next(f for f in report["figures"] if f["channel"] == "all")


async def test_balances_are_added_to_the_recomputed_month_and_reports_say_so(
    client: httpx.AsyncClient, world: World, run_worker: Any, sql: Any
) -> None:
    from tests.stats.conftest import recompute

    h = await world.headers("supervisor")
    params = {"month": "2022-11", "unit_id": str(world.unit("220302").id)}
    await recompute(client, world, run_worker, 2022, 11)
    before = (await client.get("/api/v1/stats/monthly", params=params, headers=h)).json()
    assert _all(before)["cases"]["received"] == 0 and _all(before)["opening_balances"] == 0

    content = csv_of(HEAD, GOOD)
    imp = await validated(client, world, run_worker, content, "text/csv", "opening_balances")
    assert imp["status"] == "valid", imp["problems"]
    d = await world.headers("dispatcher")
    r = await client.post(f"{IMPORTS}/{imp['id']}/commit", headers=d)
    await run_worker()  # the commit, which asks for November 2022 again
    await run_worker()  # ... recomputed
    job = (await client.get(r.headers["location"], headers=d)).json()
    assert job["import_result"]["created"] == 2
    assert job["import_result"]["recomputed_months"] == ["2022-11"]

    after = (await client.get("/api/v1/stats/monthly", params=params, headers=h)).json()
    node = _all(after)
    assert node["opening_balances"] == 2  # the district's own and its street's
    assert node["cases"]["received"] == 12 and node["cases"]["resolved"] == 10
    assert node["cases"]["failed"] == 2 and node["cases"]["success_rate"] is not None
    assert node["hotline"]["calls"] == 200
    assert node["outreach"]["micro_class_participants"] == 300
    cats = {c["key"]: c["count"] for c in node["cases"]["categories"]}
    assert cats["neighbourhood"] == 5 and cats["marriage_family"] == 3
    street = next(c for c in after["children"] if c["unit"]["code"] == "220302001")
    assert street["opening_balances"] == 1 and street["cases"]["received"] == 0

    r = await client.get("/api/v1/stats/monthly/export.csv", params=params, headers=h)
    assert r.status_code == 200
    assert "含期初汇总数（2条）" in r.content.decode("utf-8-sig").splitlines()[1]

    again = await validated(client, world, run_worker, content, "text/csv", "opening_balances")
    assert again["status"] == "valid", again["problems"]
    r = await client.post(f"{IMPORTS}/{again['id']}/commit", headers=d)
    await run_worker()
    assert (await client.get(f"{IMPORTS}/{again['id']}", headers=d)).json()["created"] == 0
    assert (await sql("SELECT count(*) FROM opening_balances"))[0][0] == 2


async def test_bad_balance_rows_are_each_reported_and_nothing_is_written(
    client: httpx.AsyncClient, world: World, run_worker: Any, sql: Any
) -> None:
    rows = [
        ["220302", "2026-11", "5", "", "", "", "", ""],  # this month: not yet over
        ["220302", "2022-10", "2", "", "", "", "", "邻里:5"],  # more by category than received
        ["220302", "2022-09", "", "", "", "", "", ""],  # nothing
        ["220300", "2022-09", "1", "", "", "", "", ""],  # the city: outside the district
        ["220302", "2022-08", "1", "", "", "", "", ""],
        ["四平市/铁西区", "2022年8月", "3", "", "", "", "", ""],  # the same unit and month
    ]
    imp = await validated(
        client, world, run_worker, csv_of(HEAD, rows), "text/csv", "opening_balances"
    )
    assert imp["status"] == "invalid"
    by_cell = {p["cell"]: p for p in imp["problems"] if p["cell"]}
    assert "本月以前" in by_cell["B2"]["message_zh"]
    assert "超过了收案数" in by_cell["H3"]["message_zh"]
    assert any(p["row"] == 4 and "至少填写一项" in p["message_zh"] for p in imp["problems"])
    assert "管辖范围" in by_cell["A5"]["message_zh"]
    assert any(p["row"] == 7 and "重复" in p["message_zh"] for p in imp["problems"])
    assert (await sql("SELECT count(*) FROM opening_balances"))[0][0] == 0


BALANCES = "/api/v1/stats/opening-balances"


async def test_an_administrator_enters_a_balance_and_the_reported_month_is_recomputed(
    client: httpx.AsyncClient, world: World, run_worker: Any, sql: Any
) -> None:
    from tests.stats.conftest import recompute

    await recompute(client, world, run_worker, 2022, 10)
    admin = await world.headers("system_admin")
    body = {
        "unit_id": str(world.unit("220302").id),
        "month": "2022-10",
        "received": 4,
        "resolved": 3,
        "categories": {"neighbourhood": 2},
        "note": "2022年只有月度合计",
    }
    r = await client.post(BALANCES, json=body, headers=admin)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["month"] == "2022-10" and made["source"]["import_id"] is None
    assert made["recompute_job_id"] is not None
    # The entry is in the audit trail (every write's outbox event is).
    audited = await sql("SELECT action FROM audit_events WHERE record_id = :id", id=made["id"])
    assert [a.action for a in audited] == ["stats.opening_balance_recorded"]
    await run_worker()
    h = await world.headers("supervisor")
    params = {"month": "2022-10", "unit_id": body["unit_id"]}
    report = (await client.get("/api/v1/stats/monthly", params=params, headers=h)).json()
    assert report["version"] == 2
    assert _all(report)["opening_balances"] == 1 and _all(report)["cases"]["received"] == 4
    listed = (await client.get(BALANCES, headers=h)).json()["items"]
    assert [b["id"] for b in listed] == [made["id"]]

    # One per unit and month; bad totals and months change nothing.
    r = await client.post(BALANCES, json=body, headers=admin)
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem")
    for change, field in (
        ({"month": "2026-11"}, "body.month"),
        ({"month": "2022-09", "categories": {"nothing": 1}}, "body.categories.nothing"),
        ({"month": "2022-09", "categories": {"neighbourhood": 9}}, "body.categories"),
        ({"month": "2022-09", "received": 0, "resolved": 0, "categories": {}}, "body"),
        ({"month": "2022-09", "unit_id": str(world.unit("220300").id)}, "body.unit_id"),
    ):
        who = await world.headers("dispatcher")
        r = await client.post(BALANCES, json={**body, **change}, headers=who)
        assert r.status_code == 422, (change, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], r.json()
    r = await client.post(BALANCES, json=body, headers=await world.headers("mediator"))
    assert r.status_code == 403
    assert (await sql("SELECT count(*) FROM opening_balances"))[0][0] == 1
