"""Importing past outreach (activities and micro-classes with participant counts): template,
commit once, the month's statistics after recomputation, bad rows."""

from __future__ import annotations

import io
from typing import Any

import httpx
from openpyxl import Workbook, load_workbook

from tests.imports.support import IMPORTS, XLSX, committed, csv_of, validated
from tests.support.world import World

HEAD = [
    "类型",
    "单位",
    "活动名称或课程主题",
    "日期",
    "参加人数",
    "宣传形式（五进）",
    "组织单位",
    "主讲人",
    "时长（分钟）",
    "微课系列",
]
GOOD = [
    [
        "法治宣传活动",
        "四平市/铁西区/北沟街道/先锋社区",
        "民法典进社区",
        "2021-03-05",
        "120",
        "进社区",
        "先锋社区居委会",
        "",
        "",
        "",
    ],
    [
        "micro_class",
        "220302001002",
        "家庭沟通",
        "2021-03-10 19:30",
        "300",
        "",
        "",
        "王老师",
        "45",
        "亲子课堂",
    ],
    [
        "公益微课",
        "220302001002",
        "情绪管理",
        "2021年3月17日 19时30分",
        "280",
        "",
        "",
        "王老师",
        "45",
        "亲子课堂",
    ],
]


async def test_template_lists_the_two_record_types(client: httpx.AsyncClient, world: World) -> None:
    r = await client.get(f"{IMPORTS}/templates/outreach", headers=await world.headers("dispatcher"))
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    wb = load_workbook(io.BytesIO(r.content))
    header = [c.value for c in wb["导入数据"][1]]
    assert header[:5] == ["类型", "单位", "活动名称或课程主题", "日期", "参加人数"]
    assert [c.value for c in wb["代码表"]["A"] if c.value] == ["法治宣传活动", "公益微课"]
    starts = {str(dv.sqref).split(":")[0] for dv in wb["导入数据"].data_validations.dataValidation}
    assert "A2" in starts


async def test_outreach_is_imported_once_and_counted_by_the_recomputed_month(
    client: httpx.AsyncClient, world: World, run_worker: Any, sql: Any
) -> None:
    from tests.stats.conftest import recompute

    h = await world.headers("supervisor")
    params = {"month": "2021-03", "unit_id": str(world.unit("220302").id)}

    def outreach(report: dict[str, Any]) -> dict[str, Any]:
        return next(f for f in report["figures"] if f["channel"] == "all")["outreach"]

    await recompute(client, world, run_worker, 2021, 3)
    before = (await client.get("/api/v1/stats/monthly", params=params, headers=h)).json()
    assert outreach(before)["participants"] == 0

    content = csv_of(HEAD, GOOD)
    imp = await validated(client, world, run_worker, content, "text/csv", "outreach")
    assert imp["status"] == "valid", imp["problems"]
    d = await world.headers("dispatcher")
    r = await client.post(f"{IMPORTS}/{imp['id']}/commit", headers=d)
    assert r.status_code == 202
    await run_worker()  # the commit (it asks for March 2021 again)
    await run_worker()  # ... the recomputation
    job = (await client.get(r.headers["location"], headers=d)).json()
    assert job["import_result"]["created"] == 3
    assert job["import_result"]["recomputed_months"] == ["2021-03"]

    after = (await client.get("/api/v1/stats/monthly", params=params, headers=h)).json()
    assert outreach(after) == {
        "activities": 1,
        "participants": 120,
        "micro_classes": 2,
        "micro_class_participants": 580,
    }
    classes = await sql(
        "SELECT c.held_at, s.title, s.ends_on, c.historical FROM outreach_classes c "
        "JOIN outreach_class_series s ON s.id = c.series_id ORDER BY c.held_at"
    )
    assert [c.title for c in classes] == ["亲子课堂", "亲子课堂"]
    assert all(c.historical for c in classes)
    # The series made for the register ended with its last class: nothing is scheduled.
    assert str(classes[0].ends_on) == "2021-03-17"

    again = await validated(client, world, run_worker, content, "text/csv", "outreach")
    done = await committed(client, world, run_worker, again["id"])
    assert done["created"] == 0 and done["skipped"] == 3
    assert (await sql("SELECT count(*) FROM outreach_activities"))[0][0] == 1
    assert (await sql("SELECT count(*) FROM outreach_classes"))[0][0] == 2


async def test_bad_outreach_rows_are_each_reported_and_nothing_is_written(
    client: httpx.AsyncClient, world: World, run_worker: Any, sql: Any
) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEAD)
    ws.append(["法治宣传活动", "220302001001", "无形式", "2021-03-05", "12"])
    ws.append(["公益微课", "220302001002", "太长", "2021-03-10 19:30", "-3", "", "", "王", "90"])
    ws.append(["讲座", "220300", "市里", "2021-03-05", "10"])
    ws.append([*GOOD[1][:2], "同一时间另一课", *GOOD[1][3:]])
    ws.append(GOOD[1])
    buf = io.BytesIO()
    wb.save(buf)
    imp = await validated(client, world, run_worker, buf.getvalue(), XLSX, "outreach")
    assert imp["status"] == "invalid"
    by_cell = {p["cell"]: p for p in imp["problems"] if p["cell"]}
    assert "宣传形式" in by_cell["F2"]["message_zh"] and "组织单位" in by_cell["G2"]["message_zh"]
    assert "0 到 1000000" in by_cell["E3"]["message_zh"]  # -3 participants
    assert "30 到 60" in by_cell["I3"]["message_zh"]
    assert "可选" in by_cell["A4"]["message_zh"] and "管辖范围" in by_cell["B4"]["message_zh"]
    # Two classes of one series at the same time.
    assert any(p["row"] == 6 and "重复" in p["message_zh"] for p in imp["problems"])
    r = await client.post(
        f"{IMPORTS}/{imp['id']}/commit", headers=await world.headers("dispatcher")
    )
    assert r.status_code == 409
    assert (await sql("SELECT count(*) FROM outreach_activities"))[0][0] == 0
    assert (await sql("SELECT count(*) FROM outreach_classes"))[0][0] == 0


async def test_a_class_or_activity_later_today_is_reported_at_its_cell(
    client: httpx.AsyncClient, world: World, run_worker: Any, sql: Any
) -> None:
    """The acceptance audit: only the day was compared with today, so a class at 22:00 today
    (the tests' clock stands at 10:00) was imported as history. A time lies no later than now
    (a few minutes of clock drift allowed, as in the API); a date alone still means today."""
    rows = [
        [*GOOD[1][:2], "今晚的课", "2026-11-26 22:00", *GOOD[1][4:]],
        [*GOOD[0][:2], "今晚的活动", "2026-11-26 20:00", *GOOD[0][4:]],
        [*GOOD[1][:2], "刚开始的课", "2026-11-26 10:04", *GOOD[1][4:]],
        [*GOOD[1][:2], "稍后的课", "2026-11-26 10:06", *GOOD[1][4:]],
        [*GOOD[0][:2], "今天的活动", "2026-11-26", *GOOD[0][4:]],
    ]
    imp = await validated(client, world, run_worker, csv_of(HEAD, rows), "text/csv", "outreach")
    assert imp["status"] == "invalid", imp
    # 日期 is column D: 22:00, 20:00 and 10:06 are still to come; 10:04 and the day are not.
    assert [p["cell"] for p in imp["problems"]] == ["D2", "D3", "D5"], imp["problems"]
    assert all("不晚于现在" in p["message_zh"] for p in imp["problems"])
    r = await client.post(
        f"{IMPORTS}/{imp['id']}/commit", headers=await world.headers("dispatcher")
    )
    assert r.status_code == 409 and r.json()["code"] == "import-has-problems"
    assert (await sql("SELECT count(*) FROM outreach_activities"))[0][0] == 0
    assert (await sql("SELECT count(*) FROM outreach_classes"))[0][0] == 0
