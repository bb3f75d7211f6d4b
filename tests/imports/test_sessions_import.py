"""Importing past mediation sessions, linked to imported cases by their numbers: only past
sessions, held, no bookings, on their case's timeline; once only; bad rows."""

from __future__ import annotations

import io
from typing import Any

import httpx
from openpyxl import load_workbook

from tests.imports.support import IMPORTS, XLSX, committed, csv_of, validated
from tests.imports.test_cases_import import GOOD as CASES
from tests.imports.test_cases_import import csv_bytes as cases_csv
from tests.support.world import World

HEAD = ["案号", "调解时间", "时长（分钟）", "调解方式", "地点", "调解员", "调解结果", "下一步"]
GOOD = [
    [
        "铁西调〔2021〕0005号",
        "2021-03-10 09:00",
        "90",
        "现场调解",
        "先锋社区调解室",
        "冯调解、王顾问",
        "达成协议",
        "督促履行",
    ],
    # The register's second case, numbered 0006 by its import, by its ASCII form.
    ["220302-2021-0006", "2021年5月10日 14时00分", "", "电话调解", "", "", "未达成协议", ""],
]


async def _cases(client: httpx.AsyncClient, world: World, run_worker: Any) -> None:
    imp = await validated(client, world, run_worker, cases_csv(CASES), "text/csv")
    assert imp["status"] == "valid", imp["problems"]
    await committed(client, world, run_worker, imp["id"])


async def test_template_names_the_case_and_the_outcome(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.get(f"{IMPORTS}/templates/sessions", headers=await world.headers("dispatcher"))
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    wb = load_workbook(io.BytesIO(r.content))
    header = [c.value for c in wb["导入数据"][1]]
    assert header[:2] == ["案号", "调解时间"] and "调解结果" in header
    outcome_col = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[header.index("调解结果")]
    assert "达成协议" in [c.value for c in wb["代码表"][outcome_col]]


async def test_past_sessions_are_imported_held_on_their_cases_once(
    client: httpx.AsyncClient, world: World, run_worker: Any, sql: Any
) -> None:
    await _cases(client, world, run_worker)
    content = csv_of(HEAD, GOOD)
    imp = await validated(client, world, run_worker, content, "text/csv", "sessions")
    assert imp["status"] == "valid", imp["problems"]
    outbox_before = (await sql("SELECT count(*) FROM outbox_events WHERE type LIKE 'session%'"))[0][
        0
    ]
    done = await committed(client, world, run_worker, imp["id"])
    assert done["created"] == 2
    rows = await sql(
        "SELECT s.id, s.case_id, s.status, s.outcome, s.starts_at, s.ends_at, s.notes, "
        "s.historical, c.number FROM mediation_sessions s JOIN cases c ON c.id = s.case_id "
        "ORDER BY s.starts_at"
    )
    first, second = rows
    assert first.number == "铁西调〔2021〕0005号" and second.number == "铁西调〔2021〕0006号"
    assert first.status == "held" and first.outcome == "agreement" and first.historical
    assert (first.ends_at - first.starts_at).total_seconds() == 90 * 60
    assert first.notes == "调解员：冯调解、王顾问"
    # Nobody's calendar is held for 2021, nobody is told.
    assert (await sql("SELECT count(*) FROM session_bookings"))[0][0] == 0
    outbox_after = (await sql("SELECT count(*) FROM outbox_events WHERE type LIKE 'session%'"))[0][
        0
    ]
    assert outbox_after == outbox_before

    h = await world.headers("dispatcher")
    r = await client.get(f"/api/v1/sessions/{first.id}/timeline", headers=h)
    assert r.status_code == 200, r.text
    history = r.json()["items"]
    assert [e["type"] for e in history] == ["scheduled", "outcome_recorded", "imported"]
    assert history[0]["at"].startswith("2021-03-10T09:00")
    session = (await client.get(f"/api/v1/sessions/{first.id}", headers=h)).json()
    assert session["historical"] is True and session["status"] == "held"
    tl = (await client.get(f"/api/v1/cases/{first.case_id}/timeline", headers=h)).json()["items"]
    held = [e for e in tl if e["type"] == "session_held"]
    assert len(held) == 1 and held[0]["at"].startswith("2021-03-10T10:30")
    assert [e["seq"] for e in tl] == sorted(e["seq"] for e in tl)

    again = await validated(client, world, run_worker, content, "text/csv", "sessions")
    done2 = await committed(client, world, run_worker, again["id"])
    assert done2["created"] == 0 and done2["skipped"] == 2
    assert (await sql("SELECT count(*) FROM mediation_sessions"))[0][0] == 2


async def test_bad_session_rows_are_each_reported_and_nothing_is_written(
    client: httpx.AsyncClient, world: World, run_worker: Any, sql: Any
) -> None:
    await _cases(client, world, run_worker)
    rows = [
        [
            "铁西调〔2021〕0099号",
            "2021-03-10 09:00",
            "",
            "",
            "",
            "",
            "达成协议",
            "",
        ],  # no such case
        ["铁西调〔2021〕0005号", "2026-12-01 09:00", "", "", "", "", "达成协议", ""],  # to come
        ["铁西调〔2021〕0005号", "2021-03-01 09:00", "", "", "", "", "达成协议", ""],  # too early
        ["铁西调〔2021〕0005号", "2021-03-12 09:00", "", "", "", "", "", ""],  # no outcome
        ["第五号", "2021-03-12 09:00", "", "", "", "", "达成协议", ""],
    ]
    imp = await validated(client, world, run_worker, csv_of(HEAD, rows), "text/csv", "sessions")
    assert imp["status"] == "invalid"
    by_cell = {p["cell"]: p for p in imp["problems"] if p["cell"]}
    assert "请先导入案件" in by_cell["A2"]["message_zh"]
    assert "今后的调解会请在系统中安排" in by_cell["B3"]["message_zh"]
    assert "登记日期" in by_cell["A4"]["message_zh"] and "registered" in by_cell["A4"]["message_en"]
    assert "必填" in by_cell["G5"]["message_zh"]
    assert "无法识别的案号" in by_cell["A6"]["message_zh"]
    r = await client.post(
        f"{IMPORTS}/{imp['id']}/commit", headers=await world.headers("dispatcher")
    )
    assert r.status_code == 409
    assert (await sql("SELECT count(*) FROM mediation_sessions"))[0][0] == 0


async def test_a_case_outside_the_jurisdiction_reads_as_unknown(
    client: httpx.AsyncClient, world: World, run_worker: Any, sql: Any
) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import update

    from mediation.cases.models import Case
    from tests.support.factories import make_case

    # A case of the city (above the dispatcher's district), received in 2021.
    case_id = await make_case(world, world.unit("220300"))
    async with world.db() as session, session.begin():
        await session.execute(
            update(Case)
            .where(Case.id == case_id)
            .values(number="四平调〔2021〕0001号", received_at=datetime(2021, 1, 4, tzinfo=UTC))
        )
    rows = [["四平调〔2021〕0001号", "2021-01-10 15:00", "", "", "", "", "达成协议", ""]]
    imp = await validated(client, world, run_worker, csv_of(HEAD, rows), "text/csv", "sessions")
    assert imp["status"] == "invalid"
    (problem,) = imp["problems"]
    assert problem["cell"] == "A2" and "管辖范围内没有" in problem["message_zh"]
    assert (await sql("SELECT count(*) FROM mediation_sessions"))[0][0] == 0


async def test_a_session_before_its_dispute_is_reported_at_its_time(
    client: httpx.AsyncClient, world: World, run_worker: Any, sql: Any
) -> None:
    """The API refuses a session held before the dispute it is about (`session-before-dispute`);
    so does the import, at the row's 调解时间. The registration day does not catch it: the
    case was registered the day its dispute happened, that afternoon, and the session is
    dated that morning. A session from the dispute's time on is taken."""
    from datetime import datetime

    from sqlalchemy import update

    from mediation.cases.models import Case
    from mediation.clock import CENTER_TZ

    await _cases(client, world, run_worker)  # 0005 registered on 2021-03-05
    async with world.db() as session, session.begin():
        await session.execute(
            update(Case)
            .where(Case.number == "铁西调〔2021〕0005号")
            .values(occurred_at=datetime(2021, 3, 5, 15, 0, tzinfo=CENTER_TZ))
        )
    rows = [
        ["铁西调〔2021〕0005号", "2021-03-05 09:00", "", "", "", "", "达成协议", ""],
        ["铁西调〔2021〕0005号", "2021-03-05 15:00", "", "", "", "", "达成协议", ""],
    ]
    imp = await validated(client, world, run_worker, csv_of(HEAD, rows), "text/csv", "sessions")
    assert imp["status"] == "invalid"
    (problem,) = imp["problems"]
    assert problem["cell"] == "B2" and problem["column"] == "调解时间"
    assert "早于纠纷发生时间（2021-03-05 15:00）" in problem["message_zh"]
    assert "before the dispute happened" in problem["message_en"]
    assert (await sql("SELECT count(*) FROM mediation_sessions"))[0][0] == 0
