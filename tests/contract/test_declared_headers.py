"""The contract declares the headers the server sends and the preconditions it enforces
(issue 19, item 8): what a client generated from it reads is what it gets."""

from __future__ import annotations

from typing import Any

import httpx

from tests.cases.conftest import CASES, case_body
from tests.contract import expand_shared, served
from tests.support.world import World


def _op(path: str, method: str) -> dict[str, Any]:
    op: dict[str, Any] = expand_shared(served())["paths"][path][method]
    return op


def _declared(op: dict[str, Any], status: str) -> set[str]:
    return {name.lower() for name in op["responses"][status].get("headers", {})}


async def test_what_a_creation_and_an_action_send_is_declared(
    client: httpx.AsyncClient, world: World
) -> None:
    h = {**await world.headers("dispatcher"), "Idempotency-Key": "declared-headers-1"}
    created = await client.post(CASES, headers=h, json=case_body(world))
    assert created.status_code == 201
    sent = {"etag", "location", "ratelimit", "ratelimit-policy"}
    assert sent <= set(created.headers)
    assert sent | {"idempotent-replayed"} <= _declared(_op(CASES, "post"), "201")
    replayed = await client.post(CASES, headers=h, json=case_body(world))
    assert replayed.headers["idempotent-replayed"] == "true"

    accept = _op(f"{CASES}/{{case_id}}/accept", "post")
    if_match = next(p for p in accept["parameters"] if p["name"] == "If-Match")
    assert if_match["required"] is True and "428" in accept["responses"]
    url = f"{CASES}/{created.json()['id']}/accept"
    r = await client.post(url, headers=await world.headers("dispatcher"), json={})
    assert r.status_code == 428  # what `required` says
    r = await client.post(
        url,
        headers={**await world.headers("dispatcher"), "If-Match": created.headers["etag"]},
        json={},
    )
    assert r.status_code == 200 and "etag" in r.headers
    assert "etag" in _declared(accept, "200")


def test_every_api_operation_declares_503_with_retry_after() -> None:
    doc = expand_shared(served())
    for path, item in doc["paths"].items():
        for op in item.values():
            if path.startswith("/api/v1/"):
                assert "Retry-After" in op["responses"]["503"]["headers"], op["operationId"]
