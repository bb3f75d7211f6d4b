"""The text search writes LIKE instead of ILIKE when the term has no character that case
folding changes (reads._CASELESS: CJK, digits, punctuation): the same rows in the same order
as ILIKE, for readers who do and do not search party names."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import httpx

from mediation.cases.enums import CaseSort
from mediation_api.cases.reads import page_query
from mediation_api.cases.repository import CaseFilters
from tests.cases.conftest import CASES, case_body
from tests.support import databases
from tests.support.world import World

TEXTS = [
    ("楼上漏水纠纷", "卫生间漏水，楼下天花板受损。", "张三"),
    ("ABC物业费 Dispute", "abc物业费 dispute, 100% refund_due C:\\path", "John SMITH"),
    ("Ａｂｃ全角 宅基地", "ＡＢＣ宅基地（１２亩）之争", "李_四"),
    ("工资拖欠 WAGE", "wage 工资 3 个月", "王%五"),
    ("噪音扰民 noise 50%", "Noise 噪音 at 22:00", "Ölaf Ünal"),
    ("赡养老人 a_b", "赡养费 A_B 纠纷 \\n", "赵六"),
    ("Straße ÉCOLE", "école straße 街道", "Σίσυφος"),
    ("漏 水 分开", "水漏了", "钱七"),
]
TERMS = [
    "漏",
    "水",
    "漏水",
    "物业费",
    "宅基地",
    "赡养",
    "噪音",
    "工资",
    "abc",
    "ABC",
    "Ａｂｃ",
    "ａｂｃ",
    "ＡＢＣ",
    "（１２",
    "wage",
    "WAGE",
    "%",
    "_",
    "\\",
    "50%",
    "a_b",
    "A_B",
    "100",
    "22:00",
    "straße",
    "STRASSE",
    "école",
    "ÉCOLE",
    "smith",
    "Smith",
    "张三",
    "李_",
    "_四",
    "%五",
    "ölaf",
    "ÜNAL",
    "σίσυφος",
    "ΣΊΣΥΦΟΣ",
    " ",
    "水漏",
    "不在",
]


async def test_search_like_and_ilike_agree(
    client: httpx.AsyncClient, world: World, database_url: str
) -> None:
    grid = await world.headers("grid_head")
    numbers = []
    for title, facts, name in TEXTS:
        body = case_body(
            world,
            title=title,
            facts=facts,
            parties=[{"kind": "person", "side": "applicant", "name": name, "phone": "13800000000"}],
        )
        r = await client.post(CASES, headers=grid, json=body)
        assert r.status_code == 201, r.text
        numbers.append(r.json()["number"])
    # case number fragments (numbers are not in search_text: both find nothing, alike)
    terms = [*TERMS, numbers[0][:4], numbers[-1][-4:]]
    now = datetime.now().astimezone()
    conn = await asyncpg.connect(databases.plain(database_url))
    try:
        took_like = found = 0
        for term in terms:
            for pii in (False, True):
                for sort in (CaseSort.newest, CaseSort.oldest):
                    for limit in (2, 50):
                        f = CaseFilters(q=term, search_party_names=pii)
                        sql, args = page_query(["%"], f, sort, None, limit, now)
                        old = sql.replace(" LIKE E'", " ILIKE E'")  # what it wrote before
                        took_like += old != sql
                        rows = [r["id"] for r in await conn.fetch(sql, *args)]
                        assert rows == [r["id"] for r in await conn.fetch(old, *args)], (
                            term,
                            pii,
                        )
                        found += bool(rows)
        assert took_like > 0 and found > len(terms)  # both paths taken, most terms find rows
    finally:
        await conn.close()


def test_caseless_terms() -> None:
    from mediation_api.cases.reads import _CASELESS

    for term in ("漏水", "物业费", "%", "_", "\\", "2026-001", "〔2026〕", "（１２）"):
        assert _CASELESS.fullmatch(term), term
    for term in ("a", "A", "Ａ", "ａ", "ß", "é", "Σ", "漏水a"):
        assert not _CASELESS.fullmatch(term), term
