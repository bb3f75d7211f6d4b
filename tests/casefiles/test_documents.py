"""Printable documents generated from the records, read back: the text of each PDF and of the
Word agreement, Chinese text that wraps, a table that crosses pages, the case file's cover and
contents, embedded fonts; every PDF is also rendered to PNG under artifacts/casefiles/."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from pypdf import PdfReader

from mediation.settings import Settings
from tests.casefiles.conftest import (
    AGREEMENT,
    FOLLOW_UP,
    docx_bytes,
    mediating_case,
    mp3_bytes,
    pdf_bytes,
    pdf_lines,
    pdf_pages,
    pdf_text_lines,
    png_bytes,
    render_png,
    resolved_case,
    upload,
)
from tests.casefiles.test_owners import add_session
from tests.cases.conftest import CASES, act
from tests.support.world import World

PROBLEM = "application/problem+json"
# 1 200 characters of Chinese without a single space: wraps only between characters.
LONG_FACTS = (
    "2026年11月20日晚，1号楼1单元502室卫生间防水层老化导致漏水，楼下402室卫生间及客厅吊顶"
    "大面积受潮、墙皮脱落、木地板起拱，402室业主多次上门协商未果，双方在楼道内发生争吵。"
) * 14
MINUTES = (
    "调解员首先告知双方当事人在调解中享有的权利和承担的义务。申请人张三陈述：楼上漏水已持续一周。"
    "被申请人李四表示愿意维修并承担合理费用。经调解员释法说理，双方达成一致。"
)


def punctuated(clauses: int) -> str:
    """Clauses of one to nine characters between every kind of punctuation, in brackets,
    quotes and 书名号, with ID numbers and amounts: lines end next to each of them."""
    words = "甲乙丙丁戊己庚辛壬癸"
    marks = ["，", "。", "、", "；", "：", "？", "！", "……", "——"]
    out = []
    for i in range(clauses):
        clause = "".join(words[(i + j) % 10] for j in range(1 + (i * 7) % 9))
        if i % 5 == 0:
            clause = f"（{clause}）"
        elif i % 7 == 0:
            clause = f"「{clause}」"
        elif i % 11 == 0:
            clause = f"《{clause}》"
        elif i % 13 == 0:
            clause = f"“{clause}”"
        elif i % 17 == 0:
            clause += "11010519491231002X"
        elif i % 19 == 0:
            clause += "2000.00元"
        out.append(clause + marks[i % len(marks)])
    return "".join(out)


def broken_lines(content: bytes, text: str) -> list[str]:
    """Lines of `text` in the PDF that break a Chinese line-breaking rule (禁则)."""
    from mediation.casefiles.documents.linebreak import NO_END, NO_START

    lines = [t for t in pdf_text_lines(content) if len(t) > 3 and t in text]
    assert len(lines) >= 20, lines  # the text did wrap, many times
    bad = [t for t in lines if t[0] in NO_START or t[-1] in NO_END]
    bad += [t for t in lines if t.startswith(("—", "…")) and not t.startswith(("——", "……"))]
    return bad


def body_text(pages: list[str]) -> str:
    """The pages' text without the running footers, so text that crosses a page reads on."""
    return "".join(re.sub(r"铁西调〔2026〕0001号第\d+页共\d+页", "", p) for p in pages)


def doc_url(case: dict[str, Any], kind: str) -> str:
    return f"{CASES}/{case['id']}/documents/{kind}"


def fonts_embedded(content: bytes) -> set[str]:
    """The base names of the page fonts; fails if any is not embedded."""
    names = set()
    for page in PdfReader(io.BytesIO(content)).pages:
        fonts = page["/Resources"].get("/Font", {})
        for ref in fonts.values():
            font = ref.get_object()
            descendant = font["/DescendantFonts"][0].get_object()
            descriptor = descendant["/FontDescriptor"].get_object()
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font
            names.add(str(font["/BaseFont"]))
    return names


async def test_documents_that_need_a_record_say_so(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    case = await mediating_case(client, world)
    med = await world.headers("mediator")
    for kind in ("agreement", "follow_up", "minutes"):
        r = await client.get(doc_url(case, kind), headers=med)
        assert r.status_code == 409, (kind, r.text)
        assert r.headers["content-type"] == PROBLEM
        assert r.json()["detail"]
    r = await client.get(doc_url(case, "agreement"), headers=med, params={"format": "docx"})
    assert r.status_code == 409 and "no agreement" in r.json()["detail"]
    assert r.json()["code"] == "document-not-ready"
    r = await client.get(doc_url(case, "intake"), headers=med, params={"format": "docx"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.format"
    r = await client.get(doc_url(case, "verdict"), headers=med)
    assert r.status_code == 422
    r = await client.get(
        f"{CASES}/01960000-0000-7000-8000-000000000000/documents/intake", headers=med
    )
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM


async def test_intake_registration_wraps_long_chinese_text(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    case = await mediating_case(client, world, facts=LONG_FACTS)
    dispatcher = await world.headers("dispatcher")
    r = await client.get(doc_url(case, "intake"), headers=dispatcher)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    disposition = r.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="220302-2026-0001-intake.pdf"; ')
    assert disposition.endswith(f"filename*=UTF-8''220302-2026-0001-{quote('受理登记表')}.pdf")
    render_png(r.content, "intake")
    pages = pdf_pages(r.content)
    text = body_text(pages)
    assert "人民调解受理登记表" in pages[0] and "铁西调〔2026〕0001号" in pages[0]
    assert "楼上漏水纠纷" in text and "邻里纠纷" in text and "网格上报" in text
    # Every character of the long text is there, in order, wherever the lines broke.
    assert LONG_FACTS in text
    # Unmasked for a dispatcher (pii:read), and that read is logged.
    assert "张三" in text and "11010519491231002X" in text
    log = await sql("SELECT action, detail FROM access_log WHERE action = 'document'")
    assert len(log) == 1 and log[0][1]["document"] == "intake"

    # The long text breaks into many lines, each within the text column (A4, 22 mm margins:
    # 62.4 pt to 532.9 pt), none cut at the edge.
    margin = 22 * 72 / 25.4
    lines = [
        (left, right, t)
        for _, left, right, t in pdf_lines(r.content)
        if len(t) > 5 and t in LONG_FACTS
    ]
    assert len(lines) >= 25
    assert min(left for left, _, _ in lines) >= margin - 1
    assert max(right for _, right, _ in lines) <= 595.28 - margin + 1
    assert any(name.endswith("NotoSerifSC") for name in fonts_embedded(r.content))


async def test_chinese_line_breaking_rules_in_every_pdf(
    client: httpx.AsyncClient, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """No line starts with closing punctuation (，。、；：？！）」』】》…) or ends with
    opening punctuation (（「『【《), in paragraphs (facts, terms) and in table cells (the
    case file's process table); and no PDF logs a template warning."""
    text = punctuated(160)
    case = await mediating_case(client, world, facts=text, claims=text[:2000])
    med = await world.headers("mediator")
    case = await act(client, med, case, "resolve", {"agreement": {**AGREEMENT, "terms": text}})
    # Long texts in table cells too: taller than a page if they were one row each.
    r = await client.post(f"{CASES}/{case['id']}/comments", headers=med, json={"body": text})
    assert r.status_code == 201
    case = await act(
        client,
        med,
        case,
        "agreement/performances",
        {"performed_on": "2026-11-26", "status": "partial", "note": text[:2000]},
    )
    case = await act(
        client,
        med,
        case,
        "follow-ups",
        {**FOLLOW_UP, "performance": "partial", "notes": text},
    )
    caplog.set_level("WARNING")
    for kind in ("intake", "agreement", "follow_up", "case_file"):
        r = await client.get(doc_url(case, kind), headers=med)
        assert r.status_code == 200, r.text
        render_png(r.content, f"linebreak-{kind}")
        assert broken_lines(r.content, text) == [], kind
        # Every character is still there, in order.
        assert text in body_text(pdf_pages(r.content)), kind
    assert [rec.getMessage() for rec in caplog.records if rec.levelname == "WARNING"] == []


def test_where_a_chinese_line_may_break() -> None:
    from mediation.casefiles.documents.linebreak import may_break, pull_back

    assert may_break("甲", "乙") and may_break("，", "乙") and may_break("甲", "（")
    assert not may_break("甲", "，") and not may_break("（", "甲") and not may_break("《", "甲")
    assert not may_break("—", "—") and not may_break("…", "…")
    assert not may_break("0", "1") and not may_break("A", "4")
    # "……甲乙" then "，": 乙 goes with the comma to the next line.
    assert pull_back("……甲乙", "，") == 1
    # "甲（" then "乙": the bracket goes to the next line.
    assert pull_back("甲丙（", "乙") == 1
    # "甲乙1101" then "0": the number moves whole.
    assert pull_back("甲乙1101", "0") == 4
    # A line that is all one number breaks where fpdf2 broke it ...
    assert pull_back("110105194912", "3") == 0
    # ... unless punctuation follows: then the number is split, the punctuation not orphaned.
    assert pull_back("11010519491231002X…", "…") == 2
    assert pull_back("，，，", "，") == 0  # nothing helps


async def test_agreement_pdf_and_editable_docx(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    case = await resolved_case(client, world)
    med = await world.headers("mediator")
    r = await client.get(doc_url(case, "agreement"), headers=med)
    assert r.status_code == 200, r.text
    render_png(r.content, "agreement")
    text = "".join(pdf_pages(r.content))
    # People's Mediation Law Art. 29: parties; facts and disputed matters; agreed terms; how
    # and when performed; signatures of the parties and the mediator; the committee's seal.
    for expected in [
        "人民调解协议书",
        "铁西调〔2026〕0001号",
        "一、当事人基本情况",
        "申请人张三",
        "被申请人李四",
        "二、纠纷的主要事实、争议事项",
        "卫生间漏水",
        "要求修复漏水并赔偿维修费用",
        "三、经调解，自愿达成如下协议",
        "一、502室业主李四于2026年12月3日前修复卫生间漏水。",
        "二、李四赔偿402室张三维修费用2000元。",
        "协议涉及金额：2,000.00元（人民币贰仟元整）",
        "四、履行方式、时限",
        "履行方式：现金一次性支付",
        "2026年12月3日前履行完毕",
        "2026年12月26日前）共同向人民法院申请司法确认",
        "本协议一式三份",
        "申请人（签名/盖章）：张三",
        "被申请人（签名/盖章）：李四",
        "人民调解员（签名）：冯调解",
        "先锋社区人民调解委员会（印章）",
        "2026年11月26日",
    ]:
        assert expected in text, expected

    r = await client.get(doc_url(case, "agreement"), headers=med, params={"format": "docx"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert r.headers["content-disposition"].endswith(".docx")
    from docx import Document

    doc = Document(io.BytesIO(r.content))
    body = "\n".join(p.text for p in doc.paragraphs)
    rows = [[c.text for c in row.cells] for t in doc.tables for row in t.rows]
    assert ["申请人", "张三", "11010519491231002X", "13900001111", ""] in rows
    assert rows[2][:2] == ["被申请人", "李四"]
    for expected in [
        "人民调解协议书",
        "铁西调〔2026〕0001号",
        "一、502室业主李四于2026年12月3日前修复卫生间漏水。\n二、李四赔偿402室张三维修费用2000元。",
        "协议涉及金额：2,000.00 元（人民币贰仟元整）。",
        "履行方式：现金一次性支付",
        "履行期限：2026年12月3日前履行完毕。",
        "申请人（签名/盖章）：张三",
        "人民调解员（签名）：冯调解",
        "先锋社区人民调解委员会（印章）",
    ]:
        assert expected in body, expected
    assert "{{" not in body and "{%" not in body


async def test_follow_up_record_and_minutes(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    case = await resolved_case(client, world)
    med = await world.headers("mediator")
    session_id = await add_session(world, case, consent=True, minutes=MINUTES)
    await add_session(world, case, consent=False)  # planned, no record yet
    case = await act(
        client,
        med,
        case,
        "follow-ups",
        {
            "method": "phone",
            "performance": "full",
            "satisfaction": "very_satisfied",
            "flare_up_risk": "low",
            "notes": "电话回访：维修已完成，费用已付清，双方关系缓和。",
        },
    )
    r = await client.get(doc_url(case, "follow_up"), headers=med)
    assert r.status_code == 200, r.text
    render_png(r.content, "follow_up")
    text = "".join(pdf_pages(r.content))
    for expected in [
        "人民调解回访记录",
        "第1次回访",
        "电话回访",
        "已履行",
        "非常满意",
        "维修已完成，费用已付清",
        "回访人（签名）",
    ]:
        assert expected in text, expected

    r = await client.get(
        doc_url(case, "minutes"), headers=med, params={"session_id": str(session_id)}
    )
    assert r.status_code == 200, r.text
    render_png(r.content, "minutes")
    text = "".join(pdf_pages(r.content))
    for expected in [
        "人民调解笔录",
        "先锋社区人民调解室",
        "冯调解",
        "张三、李四",
        MINUTES,
        "达成协议",
        "当事人同意录音",
        "以上笔录经当事人阅读",
    ]:
        assert expected in text, expected
    r = await client.get(
        doc_url(case, "minutes"),
        headers=med,
        params={"session_id": "01960000-0000-7000-8000-000000000000"},
    )
    assert r.status_code == 404
    # Without sessions:read (grid heads), no mediation records.
    r = await client.get(doc_url(case, "minutes"), headers=await world.headers("grid_head"))
    assert r.status_code == 403 and r.headers["content-type"] == PROBLEM


async def test_the_whole_case_file(client: httpx.AsyncClient, world: World, sql: Any) -> None:
    case = await resolved_case(client, world)
    med = await world.headers("mediator")
    await add_session(world, case, consent=True, minutes=MINUTES)
    # Sixty comments: the process table runs over several pages.
    for i in range(1, 61):
        r = await client.post(
            f"{CASES}/{case['id']}/comments",
            headers=med,
            json={"body": f"第{i}条记录：电话联系当事人，了解维修进度。"},
        )
        assert r.status_code == 201
    evidence = pdf_bytes("Evidence page", pages=2)
    for content, name, ctype, extra in [
        (png_bytes((600, 400), "seagreen"), "现场照片.png", "image/png", {}),
        (evidence, "维修报价单.pdf", "application/pdf", {"title": "维修报价单"}),
        (docx_bytes(), "情况说明.docx", "application/octet-stream", {}),
        (mp3_bytes(), "调解录音.mp3", "audio/mpeg", {"recording_consent": "true"}),
    ]:
        r = await upload(client, med, f"cases/{case['id']}", content, name, ctype, **extra)
        assert r.status_code == 201, r.text
    case = await act(
        client,
        med,
        (await client.get(f"{CASES}/{case['id']}", headers=med)).json(),
        "follow-ups",
        {
            "method": "visit",
            "performance": "full",
            "satisfaction": "satisfied",
            "flare_up_risk": "low",
            "notes": "上门回访，已履行。",
        },
    )

    r = await client.get(doc_url(case, "case_file"), headers=med)
    assert r.status_code == 200, r.text
    pngs = render_png(r.content, "case_file")
    pages = pdf_pages(r.content)
    assert len(pngs) == len(pages)

    # Cover, then the contents.
    assert "人民调解卷宗" in pages[0] and "铁西调〔2026〕0001号" in pages[0]
    assert "先锋社区人民调解委员会" in pages[0] and "张三、李四" in pages[0]
    # The cover's 调解结果 is how the mediation ended, not the status (已回访).
    assert "调解结果调解成功，达成书面协议" in pages[0] and "已回访" not in pages[0]
    assert "卷内目录" in pages[1]
    parts = re.split(r"\.{3,}(\d+)", pages[1])
    entries = {name: int(number) for name, number in zip(parts[::2], parts[1::2], strict=False)}
    for title in [
        "人民调解受理登记表",
        "人民调解笔录",
        "人民调解协议书",
        "人民调解回访记录",
        "案件办理过程记录",
        "附件目录",
        "附件1：现场照片.png",
        "附件2：维修报价单",
    ]:
        number = next((n for name, n in entries.items() if name.endswith(title)), None)
        assert number is not None, (title, entries)
        # The contents point at the page where the part starts.
        assert title.split("：")[0] in pages[number - 1], (title, number)
    # The performance table and every document part are there.
    text = body_text(pages)
    for expected in [
        "先锋社区人民调解室",
        MINUTES,
        "人民调解员（签名）：冯调解",
        "上门回访，已履行。",
        "附件目录",
        "情况说明.docx",
        "调解录音.mp3",
    ]:
        assert expected in text, expected

    # The process table crosses pages, its header row repeated on each.
    rows_on = [i for i, p in enumerate(pages) if "电话联系当事人，了解维修进度" in p]
    assert len(rows_on) >= 2 and rows_on == list(range(rows_on[0], rows_on[-1] + 1))
    for i in rows_on:
        assert "时间事项经办说明" in pages[i], i
    order = [int(n) for i in rows_on for n in re.findall(r"第(\d+)条记录", pages[i])]
    assert order == list(range(1, 61))

    # The attachments themselves: the image on its page, each PDF page on one of ours.
    image_page = entries[next(n for n in entries if n.endswith("附件1：现场照片.png"))] - 1
    reader = PdfReader(io.BytesIO(r.content))
    xobjects = reader.pages[image_page]["/Resources"].get("/XObject", {})
    assert any(x.get_object()["/Subtype"] == "/Image" for x in xobjects.values())
    pdf_page = entries[next(n for n in entries if n.endswith("附件2：维修报价单"))] - 1
    assert "（第1页/共2页）" in pages[pdf_page] and "Evidencepage1" in pages[pdf_page]
    assert "（第2页/共2页）" in pages[pdf_page + 1] and "Evidencepage2" in pages[pdf_page + 1]
    # Word files and recordings are listed, not embedded.
    assert not any(n.endswith("情况说明.docx") for n in entries)
    assert "第3页" not in pages[-1]


async def test_masked_for_readers_without_personal_data(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    case = await resolved_case(client, world)
    building = await world.headers("building_head")  # reads the building's cases, no PII
    before = (await sql("SELECT count(*) FROM access_log"))[0][0]
    r = await client.get(doc_url(case, "case_file"), headers=building)
    assert r.status_code == 200, r.text
    render_png(r.content, "case_file_masked")
    text = body_text(pdf_pages(r.content))
    assert "申请人张*" in text and "被申请人李*" in text and "110105********002X" in text
    assert "申请人（签名/盖章）：张*" in text and "11010519491231002X" not in text
    assert "13900001111" not in text and "139****1111" in text
    # Names the mediator typed into free text (the terms) are the record's words: kept.
    assert "申请人张三" not in text and "申请人（签名/盖章）：张三" not in text
    assert "本卷个人信息已按阅卷人权限脱敏" in text
    assert "人民调解笔录" not in text  # no sessions:read
    assert (await sql("SELECT count(*) FROM access_log"))[0][0] == before


async def test_templates_are_files_an_administrator_changes(
    client: httpx.AsyncClient, world: World, settings: Settings, tmp_path: Path, clock: Any
) -> None:
    from mediation.casefiles.documents.templating import SHIPPED
    from mediation_api.main import create_app

    case = await resolved_case(client, world)
    token = await world.headers("mediator")
    custom = tmp_path / "templates"
    custom.mkdir()
    shipped = (SHIPPED / "agreement.html.j2").read_text(encoding="utf-8")
    (custom / "agreement.html.j2").write_text(
        shipped.replace("<h2>五、其他</h2>", "<h2>五、其他</h2>\n<p>本协议经司法所审核。</p>"),
        encoding="utf-8",
    )
    (custom / "follow_up.html.j2").write_text("<h1>{{ case.no_such_field }}</h1>", encoding="utf-8")
    app = create_app(settings.model_copy(update={"document_templates_dir": custom}), clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            r = await c.get(doc_url(case, "agreement"), headers=token)
            assert r.status_code == 200, r.text
            text = "".join(pdf_pages(r.content))
            assert "本协议经司法所审核。" in text and "人民调解协议书" in text
            # Templates not replaced are the shipped ones.
            r = await c.get(doc_url(case, "intake"), headers=token)
            assert "人民调解受理登记表" in "".join(pdf_pages(r.content))
            # A broken edit: a clear problem naming the template, not a stack trace.
            case = await act(
                c,
                token,
                (await c.get(f"{CASES}/{case['id']}", headers=token)).json(),
                "follow-ups",
                {
                    "method": "visit",
                    "performance": "full",
                    "satisfaction": "satisfied",
                    "flare_up_risk": "low",
                },
            )
            r = await c.get(doc_url(case, "follow_up"), headers=token)
            assert r.status_code == 500 and r.headers["content-type"] == PROBLEM
            assert r.json()["type"].endswith("/document-template-broken")
            assert "follow_up.html.j2" in r.json()["detail"]
            assert "no_such_field" in r.json()["detail"]


@pytest.mark.parametrize("kind", ["intake", "agreement"])
async def test_documents_follow_the_case_scope(
    client: httpx.AsyncClient, world: World, kind: str
) -> None:
    case = await resolved_case(client, world)
    # The unit head of 1号楼1单元 sees nothing of a case placed at the building.
    r = await client.get(doc_url(case, kind), headers=await world.headers("unit_head"))
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM


def test_agreement_text_is_the_resolved_one() -> None:
    assert AGREEMENT["terms"].startswith("一、502室")


async def test_every_field_at_its_longest_prints(client: httpx.AsyncClient, world: World) -> None:
    """Table cells hold whatever the contract lets a field hold: no row taller than a page
    (fpdf2 cannot split one), at each field's maximum length."""
    long_party = {
        "kind": "person",
        "side": "applicant",
        "name": "张" * 200,
        "phone": "13900001111",
        "address": "铁西区北沟街道先锋社区" * 27,
    }
    case = await mediating_case(
        client,
        world,
        title="纠纷" * 100,
        address="先锋社区1号楼" * 42,
        parties=[long_party, {**long_party, "side": "respondent", "name": "李" * 200}],
    )
    med = await world.headers("mediator")
    case = await act(client, med, case, "resolve", {"agreement": AGREEMENT})
    for kind in ("intake", "agreement", "case_file"):
        r = await client.get(doc_url(case, kind), headers=med)
        assert r.status_code == 200, (kind, r.text)
        assert "张" * 200 in body_text(pdf_pages(r.content)), kind


async def test_texts_with_line_breaks_in_table_cells(
    client: httpx.AsyncClient, world: World
) -> None:
    """A comment or a follow-up note of several lines: each line on its own line of the cell
    (a `<br>` inside a cell made fpdf2 fail: a 500)."""
    case = await resolved_case(client, world)
    med = await world.headers("mediator")
    r = await client.post(
        f"{CASES}/{case['id']}/comments",
        headers=med,
        json={"body": "电话联系申请人。\n已约定周五上门。"},
    )
    assert r.status_code == 201
    case = (await client.get(f"{CASES}/{case['id']}", headers=med)).json()
    case = await act(
        client, med, case, "follow-ups", {**FOLLOW_UP, "notes": "已履行。\n双方关系缓和。"}
    )
    for kind in ("follow_up", "case_file"):
        r = await client.get(doc_url(case, kind), headers=med)
        assert r.status_code == 200, (kind, r.text)
        lines = pdf_text_lines(r.content)
        assert "已履行。" in lines and "双方关系缓和。" in lines, kind
    assert "电话联系申请人。" in lines and "已约定周五上门。" in lines
