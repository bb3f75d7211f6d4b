"""A body the API cannot read is the envelope's fault, not a field's: 400 for JSON that is not
well-formed, 415 for a JSON operation sent another media type, both problem+json naming what
was expected, and nothing is written. (Both used to be a 422 `validation` saying "Input should
be a valid dictionary".)"""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.cases.conftest import CASES, case_body
from tests.support.world import World

PROBLEM = "application/problem+json"
COUNTS = "SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM outbox_events)"


async def test_malformed_json_is_a_400_and_changes_nothing(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    h = {**await world.headers("dispatcher"), "Content-Type": "application/json"}
    before = await sql(COUNTS)
    for raw in (b'{"title": "x",', b"not json", b'{"title": "\xff"}'):
        r = await client.post(CASES, content=raw, headers=h)
        assert r.status_code == 400, (raw, r.text)
        assert r.headers["content-type"] == PROBLEM
        problem = r.json()
        assert problem["type"].endswith("/malformed-body"), problem
        assert "JSON" in problem["detail"] and problem["request_id"]
    assert await sql(COUNTS) == before


async def test_json_sent_as_another_media_type_is_a_415_naming_json(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    body = json.dumps(case_body(world)).encode()
    before = await sql(COUNTS)
    for sent in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        h = {**await world.headers("dispatcher"), "Content-Type": sent}
        r = await client.post(CASES, content=body, headers=h)
        assert r.status_code == 415, (sent, r.text)
        assert r.headers["content-type"] == PROBLEM
        problem = r.json()
        assert problem["type"].endswith("/unsupported-media-type")
        assert problem["expected_media_type"] == "application/json"
        assert sent in problem["detail"] and "application/json" in problem["detail"]
    assert await sql(COUNTS) == before
    # The same body as JSON (or a +json type) is taken.
    h = {**await world.headers("dispatcher"), "Content-Type": "application/json; charset=utf-8"}
    assert (await client.post(CASES, content=body, headers=h)).status_code == 201


async def test_the_contract_declares_400_and_415_where_a_json_body_is_read(
    client: httpx.AsyncClient,
) -> None:
    doc = (await client.get("/openapi.json")).json()
    create = doc["paths"]["/api/v1/cases"]["post"]["responses"]
    assert {"400", "415"} <= set(create)
    token = doc["paths"]["/api/v1/auth/token"]["post"]["responses"]
    assert "415" not in token  # a form, not JSON
