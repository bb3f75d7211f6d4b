"""Cross-cutting errors the contract declares on every operation: bad bodies are 400 or 422
problems, never a 500."""

from __future__ import annotations

import httpx

from tests.support.world import World

REF = "/api/v1/reference/dispute_category"


async def test_text_with_a_nul_character_is_a_422_not_a_500(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.post(
        REF,
        headers=await world.headers("system_admin"),
        json={"code": "nul_test", "label_zh": "教\u0000育", "label_en": "Education"},
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "NUL" in r.json()["detail"]


async def test_a_body_that_is_not_json_is_a_400_problem(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.post(
        REF,
        headers={**await world.headers("system_admin"), "Content-Type": "application/json"},
        content=b"\xff{not json",
    )
    assert r.status_code in (400, 422), r.text
    assert r.headers["content-type"].startswith("application/problem+json")
