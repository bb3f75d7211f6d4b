"""The month-to-date view, the 12-month trend, and the CSV and XLSX exports."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any
from urllib.parse import unquote

import httpx
import openpyxl

from tests.cases.conftest import at
from tests.stats.conftest import DISTRICT, STREET, A, B, Dataset, bj, recompute
from tests.stats.test_monthly import MONTHLY, change, channel
from tests.support.world import World

LIVE = "/api/v1/stats/live"


async def test_month_to_date_comes_from_the_worker_snapshot(
    client: httpx.AsyncClient,
    world: World,
    dataset: Dataset,
    run_worker: Any,
    enqueue: Any,
    sql: Any,
) -> None:
    at(world, bj(2026, 10, 15, 12))
    street = str(world.unit(STREET).id)
    h = await world.headers("dispatcher")
    r = await client.get(LIVE, params={"unit_id": street}, headers=h)
    assert r.status_code == 200
    assert r.json()["as_of"] is None and channel(r.json())["cases"]["received"] == 0

    await enqueue("refresh_live_stats")
    await run_worker(relay=False)
    await enqueue("refresh_live_stats")  # refreshed again: only the newest snapshot is kept
    await run_worker(relay=False)
    assert await sql("SELECT count(*) FROM stats_reports WHERE kind = 'live'") == [(1,)]

    r = await client.get(LIVE, params={"unit_id": street}, headers=h)
    body = r.json()
    assert (body["month"], body["as_of"]) == ("2026-10", "2026-10-15T12:00:00+08:00")
    assert r.headers["cache-control"] == "private, max-age=60"
    s = channel(body)["cases"]
    # 10-01 00:00 to 10-15 12:00: C1, C2, C5, C3 received and accepted; C2 resolved;
    # missed deadlines already due: C6 (10-10) and C1 (10-13).
    assert (s["received"], s["accepted"], s["resolved"], s["failed"], s["overdue"]) == (
        4,
        4,
        1,
        0,
        2,
    )
    assert channel(body)["hotline"]["calls"] == 3
    assert channel(body)["outreach"]["activities"] == 1
    # Compared with September 1-15 (C9) and October 1-15 of 2025 (C7, received the 15th).
    assert change(channel(body), "received") == (4, 1, 1, 3.0, 3.0)
    kids = {f["unit"]["code"]: f["cases"]["received"] for f in body["children"]}
    assert kids == {A: 2, B: 2}


async def test_trend_and_exports(
    client: httpx.AsyncClient, world: World, dataset: Dataset, run_worker: Any
) -> None:
    await recompute(client, world, run_worker, 2026, 10)
    h = await world.headers("supervisor")
    district = str(world.unit(DISTRICT).id)

    r = await client.get(
        f"{MONTHLY}/trend", params={"month": "2026-10", "unit_id": district}, headers=h
    )
    points = r.json()["points"]
    assert [p["month"] for p in points][:2] == ["2025-11", "2025-12"] and len(points) == 12
    assert points[-1] == {"month": "2026-10", "received": 6, "resolved": 2, "version": 1}
    # September has no report: counted from the cases (C6 and C9 received, C9 resolved).
    assert points[-2] == {"month": "2026-09", "received": 2, "resolved": 1, "version": None}
    assert all(p["received"] == p["resolved"] == 0 for p in points[:-2])
    # The current month ends a trend (month to date); a month still to come would be twelve
    # points counted as zeros: refused like its report.
    r = await client.get(f"{MONTHLY}/trend", params={"month": "2026-11"}, headers=h)
    assert r.status_code == 200 and r.json()["points"][-1]["month"] == "2026-11"
    for later in ("2026-12", "2099-12"):
        r = await client.get(f"{MONTHLY}/trend", params={"month": later}, headers=h)
        assert r.status_code == 422 and r.json()["code"] == "month-not-begun", r.text
        assert [e["field"] for e in r.json()["errors"]] == ["query.month"]

    # CSV: UTF-8 with a BOM, Chinese headers, the district and month in title and name.
    r = await client.get(
        f"{MONTHLY}/export.csv", params={"month": "2026-10", "unit_id": district}, headers=h
    )
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.content.startswith(b"\xef\xbb\xbf")
    disposition = r.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="stats-220302-2026-10-v1.csv"; ')
    utf8_name = unquote(disposition.split("filename*=UTF-8''")[1])
    assert utf8_name == "铁西区2026年10月矛盾纠纷排查化解月报（第1版）.csv"
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert lines[0] == ["铁西区2026年10月矛盾纠纷排查化解月报"]
    assert "2026年10月01日至2026年10月31日" in lines[1][0]
    header = lines[3]
    assert header[:5] == ["单位", "层级", "收案数", "受理数", "调解成功数"]
    rows = {line[0]: dict(zip(header, line, strict=True)) for line in lines[4:8]}
    assert set(rows) == {"铁西区", "北沟街道", "先锋社区", "西园社区"}  # depth 2 below
    assert rows["北沟街道"]["收案数"] == "6"
    assert rows["北沟街道"]["调解成功率"] == "66.67%"
    assert rows["北沟街道"]["协议涉及金额（元）"] == "2500.00"
    assert rows["铁西区"]["公益微课（节）"] == "1"
    assert rows["先锋社区"]["热线来电数"] == "0" and rows["西园社区"]["热线来电数"] == "4"
    assert rows["北沟街道"]["收案数环比"] == "200.00%"
    cat_at = next(i for i, line in enumerate(lines) if line and line[0].endswith("按纠纷类型"))
    cats = {line[0]: line[1:] for line in lines[cat_at + 1 : cat_at + 16]}
    assert cats["邻里"] == ["2", "33.33%"]

    # XLSX: opens in a real reader; native charts of categories and of the 12-month trend.
    r = await client.get(
        f"{MONTHLY}/export.xlsx",
        params={"month": "2026-10", "unit_id": district, "depth": 1},
        headers=h,
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["月报", "纠纷类型", "趋势", "调解方式", "热线与宣传"]
    ws = wb["月报"]
    assert ws["A1"].value == "铁西区2026年10月矛盾纠纷排查化解月报"
    assert [c.value for c in ws[4]][:3] == ["单位", "层级", "收案数"]
    assert [(ws.cell(row, 1).value, ws.cell(row, 3).value) for row in (5, 6)] == [
        ("铁西区", 6),
        ("北沟街道", 6),
    ]
    assert ws.cell(7, 1).value is None  # depth 1: the district and its streets

    # Both exports are on the audit trail: who took which report out, in which form.
    trail = await client.get(
        "/api/v1/audit-events",
        params={"action": "stats.exported"},
        headers=await world.headers("audit_admin"),
    )
    assert trail.status_code == 200, trail.text
    taken = [
        (e["actor_name"], e["record_id"], e["detail"]["format"], e["detail"]["month"])
        for e in trail.json()["items"]
    ]
    supervisor = taken[0][0]
    assert sorted(taken) == [
        (supervisor, district, "csv", "2026-10"),
        (supervisor, district, "xlsx", "2026-10"),
    ]
    wc = wb["纠纷类型"]
    assert (wc["A4"].value, wc["B4"].value) == ("婚姻家庭", 1)
    wt = wb["趋势"]
    assert [wt.cell(row, 1).value for row in (4, 15)] == ["2025-11", "2026-10"]
    assert (wt["B15"].value, wt["C15"].value, wt["B14"].value) == (6, 2, 2)

    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        charts = sorted(n for n in z.namelist() if n.startswith("xl/charts/chart"))
        assert len(charts) == 2
        bar, line = (z.read(n).decode() for n in charts)
    assert "<c:barChart>" in bar and '<c:barDir val="col"/>' in bar
    assert "<c:f>纠纷类型!$B$4:$B$18</c:f>" in bar and "<c:f>纠纷类型!$A$4:$A$18</c:f>" in bar
    assert "<c:lineChart>" in line
    assert "<c:f>趋势!$B$4:$B$15</c:f>" in line and "<c:f>趋势!$C$4:$C$15</c:f>" in line

    # Outside the jurisdiction: 404, as for everything else.
    hs = await world.headers("hotline_supervisor")
    r = await client.get(
        f"{MONTHLY}/export.xlsx", params={"month": "2026-10", "unit_id": district}, headers=hs
    )
    assert r.status_code == 404
