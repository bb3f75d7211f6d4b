"""Importing past hotline calls from a call register: template, de-identification without
consent, historical calls (no flag, no follow-up, original times), once only, bad rows."""

from __future__ import annotations

import io
from typing import Any

import httpx
from openpyxl import Workbook, load_workbook

from tests.imports.support import IMPORTS, XLSX, committed, csv_of, validated
from tests.support.world import World

HEAD = [
    "工作站（单位）",
    "来电时间",
    "通话时长（分钟）",
    "来电类型",
    "来电类别",
    "风险等级",
    "处置结果",
    "接线咨询师",
    "同意回访",
    "回访电话",
    "来电人称呼",
    "来电人年龄段",
]
GOOD = [
    [
        "四平市/铁西区/北沟街道/西园社区",
        "2021-03-05 14:30",
        "25",
        "有效来电",
        "情绪困扰、人际关系",
        "高风险",
        "心理疏导、转介医疗机构",
        "褚咨询",
        "是",
        "13912345678",
        "王女士",
        "30–44岁",
    ],
    [
        "220302001002",
        "2021年3月9日 20时05分",
        "",
        "",
        "marriage_family",
        "",
        "",
        "counselor",  # by account
        "否",
        "13800001111",  # no consent: not kept
        "李先生",
        "",
    ],
]


async def test_template_has_the_call_columns_and_topic_drop_down(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.get(
        f"{IMPORTS}/templates/hotline_calls", headers=await world.headers("dispatcher")
    )
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    wb = load_workbook(io.BytesIO(r.content))
    ws = wb["导入数据"]
    header = [c.value for c in ws[1]]
    assert header[:2] == ["工作站（单位）", "来电时间"] and "接线咨询师" in header
    starts = {str(dv.sqref).split(":")[0] for dv in ws.data_validations.dataValidation}
    topic_col = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[header.index("来电类别")]
    assert f"{topic_col}2" in starts
    codes = wb["代码表"]
    topics = [c.value for c in codes[topic_col] if c.value]
    assert "情绪困扰" in topics
    assert wb["示例"]["B2"].value == "2021-03-05 14:30"


async def test_calls_are_imported_historical_de_identified_without_consent_and_once(
    client: httpx.AsyncClient, world: World, run_worker: Any, sql: Any
) -> None:
    content = csv_of(HEAD, GOOD, "gbk")
    imp = await validated(client, world, run_worker, content, "text/csv", "hotline_calls")
    assert imp["status"] == "valid", imp["problems"]
    assert imp["kind"] == "hotline_calls" and imp["rows"] == 2 and imp["encoding"] == "gbk"
    assert (await sql("SELECT count(*) FROM hotline_calls"))[0][0] == 0  # a dry run
    outbox_before = (await sql("SELECT count(*) FROM outbox_events WHERE type LIKE 'hotline%'"))[0][
        0
    ]

    done = await committed(client, world, run_worker, imp["id"])
    assert done["created"] == 2
    rows = await sql(
        "SELECT id, started_at, ended_at, topics, risk_level, actions, flagged_at, "
        "follow_up_due, callback_consent, callback_number_enc IS NOT NULL AS has_number, "
        "caller_alias, caller_hash, historical, import_row "
        "FROM hotline_calls WHERE import_id = :i ORDER BY import_row",
        i=imp["id"],
    )
    first, second = rows
    assert first.historical and first.import_row == 2
    assert first.started_at.isoformat().startswith("2021-03-05T06:30")  # 14:30 in UTC+8
    assert (first.ended_at - first.started_at).total_seconds() == 25 * 60
    assert first.topics == ["emotional_distress", "interpersonal"]
    assert first.actions == ["counseling", "referral_medical"]
    # High risk in 2021: nobody is alerted now; nothing is due.
    assert first.risk_level == "high" and first.flagged_at is None
    assert first.follow_up_due is None and second.follow_up_due is None
    assert first.has_number and first.caller_alias == "王女士" and first.caller_hash
    # No consent: neither the number, nor the name, nor a hash of the number is kept.
    assert not second.callback_consent and not second.has_number
    assert second.caller_alias is None and second.caller_hash is None
    outbox_after = (await sql("SELECT count(*) FROM outbox_events WHERE type LIKE 'hotline%'"))[0][
        0
    ]
    assert outbox_after == outbox_before

    # The counselor reads the call: its own time first, then one `imported` entry.
    h = await world.headers("counselor")
    r = await client.get(f"/api/v1/hotline/calls/{first.id}/timeline", headers=h)
    assert r.status_code == 200, r.text
    tl = r.json()["items"]
    assert [e["kind"] for e in tl] == ["created", "imported"]
    assert tl[0]["at"].startswith("2021-03-05T14:30") and tl[0]["actor_name"] == "历史台账"
    call = (await client.get(f"/api/v1/hotline/calls/{first.id}", headers=h)).json()
    assert call["caller"]["callback_number"] == "13912345678" and call["historical"] is True
    assert call["risk_assessment"]["notes"].startswith("历史台账导入")

    again = await validated(client, world, run_worker, content, "text/csv", "hotline_calls")
    done2 = await committed(client, world, run_worker, again["id"])
    assert done2["created"] == 0 and done2["skipped"] == 2
    assert (await sql("SELECT count(*) FROM hotline_calls"))[0][0] == 2


async def test_bad_call_rows_are_each_reported_and_nothing_is_written(
    client: httpx.AsyncClient, world: World, run_worker: Any, sql: Any
) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEAD)
    ok = list(GOOD[0])
    ok[1] = 44260.6041666667  # an Excel date-time: 2021-03-05 14:30
    ws.append(ok)
    ws.append(["220300", "2031-01-01 10:00", "x", "", "天气", "", "", "无此人", "也许"])
    ws.append(list(GOOD[0]))  # the same call as row 2
    early = list(GOOD[0])
    early[1] = "2019-06-01 10:00"  # before the hotline opened (April 2020)
    ws.append(early)
    buf = io.BytesIO()
    wb.save(buf)
    imp = await validated(client, world, run_worker, buf.getvalue(), XLSX, "hotline_calls")
    assert imp["status"] == "invalid"
    by_cell = {p["cell"]: p for p in imp["problems"] if p["cell"]}
    assert not any(p["row"] == 2 for p in imp["problems"])  # the serial date-time is read
    assert "管辖范围" in by_cell["A3"]["message_zh"]
    assert "不晚于今天" in by_cell["B3"]["message_zh"]
    assert "整数" in by_cell["C3"]["message_zh"]
    assert "来电类别" in by_cell["E3"]["message_zh"]
    assert "咨询师" in by_cell["H3"]["message_zh"] and "counselor" in by_cell["H3"]["message_en"]
    assert "是" in by_cell["I3"]["message_zh"]
    assert any(p["row"] == 4 and "重复" in p["message_zh"] for p in imp["problems"])
    assert "热线开通（2020-04-01）" in by_cell["B5"]["message_zh"]
    assert "MEDIATION_HOTLINE_OPENED_ON" in by_cell["B5"]["message_en"]
    r = await client.post(
        f"{IMPORTS}/{imp['id']}/commit", headers=await world.headers("dispatcher")
    )
    assert r.status_code == 409
    assert (await sql("SELECT count(*) FROM hotline_calls"))[0][0] == 0


async def test_a_cases_file_is_not_a_hotline_register(
    client: httpx.AsyncClient, world: World, run_worker: Any
) -> None:
    content = "案件名称,登记日期\n邻里纠纷,2021-03-05\n".encode()
    imp = await validated(client, world, run_worker, content, "text/csv", "hotline_calls")
    assert imp["status"] == "invalid" and imp["problem_count"] == 1
    p = imp["problems"][0]
    assert "心理热线来电" in p["message_zh"] and "来电时间" in p["message_zh"]
    assert "hotline_calls template" in p["message_en"]


async def test_a_call_later_today_is_reported_at_its_cell(
    client: httpx.AsyncClient, world: World, run_worker: Any, sql: Any
) -> None:
    """The acceptance audit: only the day was compared with today, so a call at 23:30 today
    (the tests' clock stands at 10:00) was imported as history. A time lies no later than now
    (a few minutes of clock drift allowed, as in the API); a date alone still means today."""
    rows = []
    for started in ("2026-11-26 23:30", "2026-11-26 10:04", "2026-11-26 10:06", "2026-11-26"):
        row = list(GOOD[0])
        row[1] = started
        rows.append(row)
    content = csv_of(HEAD, rows)
    imp = await validated(client, world, run_worker, content, "text/csv", "hotline_calls")
    assert imp["status"] == "invalid", imp
    # 来电时间 is column B: 23:30 and 10:06 are still to come; 10:04 and the day are not.
    assert [p["cell"] for p in imp["problems"]] == ["B2", "B4"], imp["problems"]
    assert all("不晚于现在" in p["message_zh"] for p in imp["problems"])
    r = await client.post(
        f"{IMPORTS}/{imp['id']}/commit", headers=await world.headers("dispatcher")
    )
    assert r.status_code == 409 and r.json()["code"] == "import-has-problems"
    assert (await sql("SELECT count(*) FROM hotline_calls"))[0][0] == 0
