"""Importing past cases from a register: template, dry run, commit, and bad input."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import httpx
import pytest
from openpyxl import Workbook, load_workbook

from mediation.settings import Settings
from mediation_worker.imports import jobs
from tests.imports.support import IMPORTS, XLSX, committed, validated
from tests.support.world import World

HEAD = [
    "原案号",
    "案件名称",
    "纠纷事实",
    "纠纷类型",
    "来源",
    "复杂程度",
    "风险等级",
    "发生地（单位）",
    "登记日期",
    "受理日期",
    "办理结果",
    "办结日期",
    "申请人姓名",
    "申请人电话",
    "申请人身份证号",
    "协议内容",
    "履行情况",
    "回访日期",
    "回访满意度",
    "结案日期",
]
GOOD = [
    [
        "铁西调〔2021〕0005号",
        "张某与李某邻里噪音纠纷",
        "装修噪音",
        "邻里",
        "来访",
        "简单",
        "黄色",
        "四平市/铁西区/北沟街道/先锋社区",
        "2021年3月5日",
        "2021-03-06",
        "调解成功",
        "2021/3/20",
        "张三",
        "13900000001",
        "11010519491231002X",
        "李某赔偿500元",
        "已履行",
        "2021-04-10",
        "满意",
        "2021-04-15",
    ],
    [
        "",
        "王某劳动报酬纠纷",
        "拖欠工资",
        "labour",
        "walk_in",
        "complex",
        "orange",
        "220302001",
        "2021-05-01",
        "",
        "调解不成",
        "2021-05-20",
        "王五",
        "13900000001",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
]


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    lines = [",".join(HEAD)] + [",".join(r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


async def test_template_is_xlsx_with_chinese_headers_and_drop_downs(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.get(f"{IMPORTS}/templates/cases", headers=await world.headers("dispatcher"))
    assert r.status_code == 200
    assert r.headers["content-type"] == XLSX
    wb = load_workbook(io.BytesIO(r.content))
    ws = wb["导入数据"]
    header = [c.value for c in ws[1]]
    assert "案件名称" in header and "登记日期" in header
    lists = {str(dv.sqref).split(":")[0] for dv in ws.data_validations.dataValidation}
    source_col = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[header.index("来源")]
    assert f"{source_col}2" in lists
    assert wb["示例"]["B2"].value == "张某与李某邻里噪音纠纷"
    assert wb["代码表"].sheet_state == "hidden"


async def test_gbk_csv_is_validated_then_imported_as_history_once(
    client: httpx.AsyncClient, world: World, run_worker: Any, sql: Any
) -> None:
    content = csv_bytes(GOOD, "gbk")
    imp = await validated(client, world, run_worker, content, "text/csv")
    assert imp["status"] == "valid", imp
    assert imp["encoding"] == "gbk" and imp["rows"] == 2 and imp["problem_count"] == 0
    # The dry run wrote no case.
    assert (await sql("SELECT count(*) FROM cases WHERE historical"))[0][0] == 0
    outbox_before = (await sql("SELECT count(*) FROM outbox_events WHERE type LIKE 'case.%'"))[0][0]

    done = await committed(client, world, run_worker, imp["id"])
    assert done["status"] == "committed" and done["created"] == 2
    rows = await sql(
        "SELECT number, status, received_at, due_at, import_row, historical, is_repeat "
        "FROM cases WHERE import_id = :i ORDER BY import_row",
        i=imp["id"],
    )
    first, second = rows
    assert first.number == "铁西调〔2021〕0005号" and first.status == "closed"
    assert first.due_at is None and first.historical and first.import_row == 2
    # Without a number: the next one of its year's sequence, after the register's 0005.
    assert second.number == "铁西调〔2021〕0006号" and second.status == "failed"
    # Same applicant phone within 180 days: the later one is a repeat dispute.
    assert second.is_repeat and not first.is_repeat
    # No notifications, webhooks or deadlines: no case events in the outbox.
    outbox_after = (await sql("SELECT count(*) FROM outbox_events WHERE type LIKE 'case.%'"))[0][0]
    assert outbox_after == outbox_before
    assert (
        await sql(
            "SELECT count(*) FROM case_deadlines d JOIN cases c ON c.id = d.case_id "
            "WHERE c.historical"
        )
    )[0][0] == 0

    # The timeline has the register's dates and one `imported` entry.
    h = await world.headers("dispatcher")
    case_id = (
        await sql("SELECT id FROM cases WHERE import_row = 2 AND import_id = :i", i=imp["id"])
    )[0][0]
    tl = (await client.get(f"/api/v1/cases/{case_id}/timeline", headers=h)).json()["items"]
    types = [e["type"] for e in tl]
    assert types == ["created", "accepted", "resolved", "followed_up", "closed", "imported"]
    assert tl[0]["at"].startswith("2021-03-05")
    case = (await client.get(f"/api/v1/cases/{case_id}", headers=h)).json()
    assert case["overdue"] is False and case["agreement"]["performance_status"] == "full"
    assert case["historical"] is True
    assert case["imported_from"] == {"import_id": imp["id"], "filename": "台账.csv", "row": 2}

    # The same bytes again (a second upload): valid, and its commit creates nothing.
    again = await validated(client, world, run_worker, content, "text/csv")
    assert again["status"] == "valid", again
    done2 = await committed(client, world, run_worker, again["id"])
    assert done2["created"] == 0 and done2["skipped"] == 2
    assert (await sql("SELECT count(*) FROM cases WHERE historical"))[0][0] == 2


async def test_a_row_check_outlasting_the_idle_transaction_timeout_still_validates(
    client: httpx.AsyncClient,
    world: World,
    run_worker: Any,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A large file's rows take minutes to check with no statement meanwhile. No transaction
    is open then, so the server's idle-transaction timeout (here half a second) does not end
    the job: the lookups are read before, the register's numbers looked up after."""
    monkeypatch.setattr(settings, "db_idle_in_transaction_seconds", 0.5)
    check_rows = jobs.validate

    async def slow(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(1.5)  # the row check of a large file, as the server sees it
        return await check_rows(*args, **kwargs)

    monkeypatch.setattr(jobs, "validate", slow)
    imp = await validated(client, world, run_worker, csv_bytes(GOOD), "text/csv")
    assert imp["status"] == "valid" and imp["rows"] == 2 and imp["problem_count"] == 0
    done = await committed(client, world, run_worker, imp["id"])
    assert done["created"] == 2


async def test_bad_rows_are_each_reported_and_nothing_is_written(
    client: httpx.AsyncClient, world: World, run_worker: Any, sql: Any
) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEAD)
    ok = list(GOOD[0])
    ok[8] = 44260  # an Excel serial date: 2021-03-05
    ws.append(ok)
    mangled = list(GOOD[1])
    mangled[14] = 2.20302e17  # Excel turned the ID number into a number
    ws.append(mangled)
    outside = list(GOOD[1])
    outside[1] = "另一纠纷"
    outside[7] = "220300"  # the city: outside the dispatcher's district
    ws.append(outside)
    dup = list(GOOD[0])
    dup[0] = ""
    dup[8] = "2021年3月5日"
    ws.append(dup)  # the same case as row 2
    ws.append(
        [
            "",
            "合并",
            "x",
            "邻里",
            "来访",
            "简单",
            "黄色",
            "220302001",
            "2021-1-1",
            "",
            "调解成功",
            "2021-1-2",
            "赵六",
        ]
    )
    ws.append(
        [
            "",
            "合并2",
            "x",
            "邻里",
            "来访",
            "简单",
            "黄色",
            "220302001",
            None,
            "",
            "调解成功",
            "2021-1-2",
            "钱七",
        ]
    )
    ws.merge_cells("I7:I8")
    buf = io.BytesIO()
    wb.save(buf)

    imp = await validated(client, world, run_worker, buf.getvalue(), XLSX)
    assert imp["status"] == "invalid"
    problems = imp["problems"]
    by_cell = {p["cell"]: p for p in problems if p["cell"]}
    assert "科学计数法" in by_cell["O3"]["message_zh"] and "Excel" in by_cell["O3"]["message_en"]
    assert "管辖范围" in by_cell["H4"]["message_zh"]
    assert any(p["row"] == 5 and "重复" in p["message_zh"] for p in problems)
    assert any("合并单元格" in p["message_zh"] and p["row"] == 7 for p in problems)
    assert not any(p["row"] == 2 for p in problems)  # the serial date was understood

    h = await world.headers("dispatcher")
    r = await client.get(imp["annotated_href"], headers=h)
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    assert sheet.cell(row=1, column=len(HEAD) + 1).value == "问题 / Problems"
    assert "科学计数法" in str(sheet.cell(row=3, column=len(HEAD) + 1).value)

    r = await client.post(f"{IMPORTS}/{imp['id']}/commit", headers=h)
    assert r.status_code == 409 and r.json()["code"] == "import-has-problems"
    assert r.headers["content-type"].startswith("application/problem+json")
    assert (await sql("SELECT count(*) FROM cases WHERE historical"))[0][0] == 0


async def test_a_register_date_outside_2000_to_today_is_reported_at_its_cell(
    client: httpx.AsyncClient, world: World, run_worker: Any, sql: Any
) -> None:
    """The acceptance run's lesson (every date a person types has a plausible window) holds
    for the dates of a register too: a typo such as 1900 or 2999, or a day still to come
    (the tests' today is 2026-11-26), is a problem of its cell, and nothing is imported."""
    rows = []
    for i, (received, outcome) in enumerate(
        [("1900-01-05", "2021-02-01"), ("2021-01-05", "2999-02-01"), ("2026-11-27", "")]
    ):
        row = list(GOOD[1])
        row[1], row[8], row[11] = f"日期有误{i}", received, outcome or "2026-11-28"
        rows.append(row)
    closed_later = list(GOOD[0])
    closed_later[0], closed_later[19] = "", "2027-01-15"
    rows.append(closed_later)
    imp = await validated(client, world, run_worker, csv_bytes(rows), "text/csv")
    assert imp["status"] == "invalid", imp
    cells = sorted(p["cell"] for p in imp["problems"] if "2000" in p["message_en"])
    # 登记日期 is column I, 办结日期 L, 结案日期 T.
    assert cells == ["I2", "I4", "L3", "L4", "T5"], imp["problems"]
    assert all("今天" in p["message_zh"] for p in imp["problems"] if p["cell"] in cells)
    h = await world.headers("dispatcher")
    r = await client.post(f"{IMPORTS}/{imp['id']}/commit", headers=h)
    assert r.status_code == 409 and r.json()["code"] == "import-has-problems"
    assert (await sql("SELECT count(*) FROM cases WHERE historical"))[0][0] == 0


async def test_an_id_number_born_before_1900_or_after_today_is_reported_at_its_cell(
    client: httpx.AsyncClient, world: World, run_worker: Any, sql: Any
) -> None:
    """The API's window for the birth date a resident ID number carries (1900 to today, the
    tests' today 2026-11-26) holds for a register too: the ID number's cell is a problem,
    however right its check digit, and nothing is imported."""
    from tests.cases.conftest import valid_id

    rows = []
    for i, born in enumerate(["18500101", "29990101", "20261127", "19000101"]):
        row = list(GOOD[0])
        row[0], row[1], row[14] = "", f"出生日期{i}", valid_id(f"220302{born}001")
        rows.append(row)
    imp = await validated(client, world, run_worker, csv_bytes(rows), "text/csv")
    assert imp["status"] == "invalid", imp
    # 申请人身份证号 is column O; the fourth row (born 1900-01-01) is fine.
    assert [p["cell"] for p in imp["problems"]] == ["O2", "O3", "O4"], imp["problems"]
    assert all("出生日期" in p["message_zh"] for p in imp["problems"])
    assert all("1900-01-01 and today" in p["message_en"] for p in imp["problems"])
    h = await world.headers("dispatcher")
    r = await client.post(f"{IMPORTS}/{imp['id']}/commit", headers=h)
    assert r.status_code == 409 and r.json()["code"] == "import-has-problems"
    assert (await sql("SELECT count(*) FROM cases WHERE historical"))[0][0] == 0


async def test_wrong_template_is_refused_clearly(
    client: httpx.AsyncClient, world: World, run_worker: Any
) -> None:
    content = "姓名,电话,金额\n张三,139,5\n".encode()
    imp = await validated(client, world, run_worker, content, "text/csv")
    assert imp["status"] == "invalid" and imp["problem_count"] == 1
    p = imp["problems"][0]
    assert p["row"] == 1 and "模板" in p["message_zh"] and "template" in p["message_en"]


async def test_an_old_xls_file_is_refused_with_what_to_do(
    client: httpx.AsyncClient, world: World, run_worker: Any
) -> None:
    content = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512
    imp = await validated(client, world, run_worker, content, "application/vnd.ms-excel")
    assert imp["status"] == "invalid" and imp["problem_count"] == 1
    assert ".xlsx" in imp["problems"][0]["message_zh"]
    assert imp["annotated_href"] is None and imp["problems"][0]["row"] == 1


async def test_only_administrators_and_dispatchers_import(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.post(
        f"{IMPORTS}/cases",
        content=csv_bytes(GOOD),
        headers={**await world.headers("mediator"), "Content-Type": "text/csv"},
    )
    assert r.status_code == 403
    r = await client.get(f"{IMPORTS}/templates/cases", headers=await world.headers("system_admin"))
    assert r.status_code == 200
    r = await client.post(
        f"{IMPORTS}/cases",
        content=b"%PDF-1.4",
        headers={**await world.headers("system_admin"), "Content-Type": "application/pdf"},
    )
    assert r.status_code == 415


async def test_another_importer_without_the_right_to_read_cases_cannot_see_a_register(
    client: httpx.AsyncClient, world: World, run_worker: Any, sql: Any
) -> None:
    """A dispatcher's case register carries parties' names, phones and ID numbers as written.
    The system administrator may import (三员分立: and reads no case): someone else's
    register, its annotated sheet and its commit are as unknown to them as an id that never
    existed."""
    bad = list(GOOD[1])
    bad[3] = "没有这个类型"  # 纠纷类型: a problem, so the annotated sheet is made
    imp = await validated(client, world, run_worker, csv_bytes([GOOD[0], bad]), "text/csv")
    assert imp["status"] == "invalid" and imp["annotated_href"]
    admin = await world.headers("system_admin")
    unknown = await client.get(f"{IMPORTS}/01a25152-0000-7000-8000-000000000000", headers=admin)
    assert unknown.status_code == 404
    for r in (
        await client.get(f"{IMPORTS}/{imp['id']}", headers=admin),
        await client.get(imp["annotated_href"], headers=admin),
        await client.post(f"{IMPORTS}/{imp['id']}/commit", headers=admin),
    ):
        assert r.status_code == 404, r.text
        assert r.json()["detail"] == unknown.json()["detail"]
        assert "张三" not in r.text and "13900000001" not in r.text
    assert (await sql("SELECT commit_job_id FROM import_files"))[0][0] is None
    # The dispatcher who uploaded it reads both.
    h = await world.headers("dispatcher")
    assert (await client.get(imp["annotated_href"], headers=h)).status_code == 200


async def test_an_importer_reads_the_report_of_a_file_they_uploaded(
    client: httpx.AsyncClient, world: World, run_worker: Any
) -> None:
    """Their own file stays theirs, whatever else they may read."""
    admin = await world.headers("system_admin")
    r = await client.post(
        f"{IMPORTS}/cases",
        content=csv_bytes(GOOD),
        params={"filename": "台账.csv"},
        headers={**admin, "Content-Type": "text/csv"},
    )
    assert r.status_code == 202, r.text
    await run_worker()
    got = await client.get(f"{IMPORTS}/{r.json()['id']}", headers=admin)
    assert got.status_code == 200 and got.json()["status"] == "valid", got.text


async def test_statistics_of_a_past_month_count_the_imported_cases(
    client: httpx.AsyncClient, world: World, run_worker: Any
) -> None:
    from tests.stats.conftest import recompute

    h = await world.headers("supervisor")
    params = {"month": "2021-03", "unit_id": str(world.unit("220302").id)}

    def cases(report: dict[str, Any]) -> dict[str, Any]:
        return next(f for f in report["figures"] if f["channel"] == "all")["cases"]

    # March 2021 was reported before the history came in: nothing then.
    await recompute(client, world, run_worker, 2021, 3)
    before = (await client.get("/api/v1/stats/monthly", params=params, headers=h)).json()
    assert before["version"] == 1 and cases(before)["received"] == 0

    imp = await validated(client, world, run_worker, csv_bytes(GOOD), "text/csv")
    d = await world.headers("dispatcher")
    r = await client.post(f"{IMPORTS}/{imp['id']}/commit", headers=d)
    await run_worker()  # the commit, which asks for the recomputation (an outbox event)
    await run_worker()  # ... relayed and run
    job = (await client.get(r.headers["location"], headers=d)).json()
    # The commit queued March 2021 again (April and May 2021 were never reported).
    assert job["import_result"]["recomputed_months"] == ["2021-03"]

    after = (await client.get("/api/v1/stats/monthly", params=params, headers=h)).json()
    # Row 2 of GOOD: received 5 March 2021 and resolved on the 20th, nothing overdue.
    assert after["version"] == 2
    assert cases(after)["received"] == 1 and cases(after)["resolved"] == 1
    assert cases(after)["overdue"] == 0
