"""Types are what the contract says (issue 19, item 8): an amount is a string of digits, a
boolean or a number is sent as one, a date is written out. What pydantic would coerce
(`false` as 0, `"5"` as 5, 2000.1 as a binary float, 0 as 1970-01-01) is a 422 naming the
field, and nothing is stored."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.cases.conftest import CASES, case_body
from tests.contract import served
from tests.support.world import World

REFERENCE = "/api/v1/reference/dispute_category"


def _field(r: httpx.Response) -> str:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return str(r.json()["errors"][0]["field"])


async def test_an_amount_is_a_string_of_digits(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    h = await world.headers("dispatcher")
    for amount in (2000, 2000.5, "2e3", " 100", "1.234", "-5"):
        r = await client.post(
            CASES, headers=h, json={**case_body(world), "amount_involved": amount}
        )
        assert _field(r) == "body.amount_involved", amount
    assert await sql("SELECT count(*) FROM cases") == [(0,)]
    r = await client.post(CASES, headers=h, json={**case_body(world), "amount_involved": "2000.5"})
    assert r.status_code == 201 and r.json()["amount_involved"] == "2000.50"


async def test_booleans_and_integers_are_not_coerced(
    client: httpx.AsyncClient, world: World
) -> None:
    h = await world.headers("system_admin")
    entry = {"label_zh": "测试", "label_en": "Probe"}
    for order in (False, "5", 5.5):
        r = await client.post(
            REFERENCE, headers=h, json={**entry, "code": "probe", "view_order": order}
        )
        assert _field(r) == "body.view_order", order
    r = await client.post(REFERENCE, headers=h, json={**entry, "code": "probe", "view_order": 5})
    assert r.status_code == 201 and r.json()["view_order"] == 5
    r = await client.post(REFERENCE, headers=h, json={**entry, "code": "probe2", "view_order": 6.0})
    assert r.status_code == 201  # 6.0 is an integer to JSON Schema


async def test_a_number_is_not_a_date(client: httpx.AsyncClient, world: World) -> None:
    h = await world.headers("system_admin")
    r = await client.get("/api/v1/outreach/summary", headers=h, params={"date_to": 0})
    assert _field(r) == "query.date_to"


def test_the_contract_declares_discriminators_and_local_times() -> None:
    schemas = served()["components"]["schemas"]
    for name in ("PayloadPeople", "RoleHolders", "FixedPeople"):
        assert "kind" in schemas[name]["required"], name
        assert "default" not in schemas[name]["properties"]["kind"], name
    start = schemas["SeriesCreate"]["properties"]["start_time"]
    assert "format" not in start and re.fullmatch(start["pattern"], "19:30")
    assert not re.fullmatch(start["pattern"], "19:30:00.5")
