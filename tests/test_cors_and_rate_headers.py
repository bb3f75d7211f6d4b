"""What a browser application and an integrator's HTTP client see around every answer: CORS
for the origins the center allows (none unless configured), and the quota left (IETF draft
RateLimit header fields) on every counted answer, the 429 included."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from mediation.settings import Settings
from mediation_dev.clock import MovableClock
from tests.contract import expand_shared

FRONTEND = "http://localhost:5173"
POLICY = re.compile(r'^"minute";q=(\d+);w=60$')
LEFT = re.compile(r'^"minute";r=(\d+);t=(\d+)$')


def _left(r: httpx.Response) -> tuple[int, int]:
    m = LEFT.match(r.headers["ratelimit"])
    assert m, r.headers["ratelimit"]
    return int(m[1]), int(m[2])


async def test_counted_answers_say_what_is_left_and_the_429_too(
    app: Any, client: httpx.AsyncClient, world: Any
) -> None:
    h = await world.headers("dispatcher")
    app.state.mediation.limiter.per_minute = 4
    answers = [await client.get("/api/v1/me", headers=h) for _ in range(5)]
    assert [r.status_code for r in answers] == [200, 200, 200, 200, 429]
    for r in answers:
        assert POLICY.match(r.headers["ratelimit-policy"]).group(1) == "4"  # type: ignore[union-attr]
    left = [_left(r)[0] for r in answers]
    assert left == sorted(left, reverse=True) and left[-1] == 0 and left[0] >= 1
    refused = answers[-1]
    assert int(refused.headers["retry-after"]) == _left(refused)[1] >= 1
    # Not counted, not announced: the health check, and a request without a token.
    for r in (await client.get("/healthz"), await client.get("/api/v1/me")):
        assert "ratelimit" not in r.headers and "ratelimit-policy" not in r.headers


async def test_the_contract_declares_the_headers_once(client: httpx.AsyncClient) -> None:
    raw = (await client.get("/openapi.json")).json()
    headers = raw["components"]["headers"]
    assert set(headers) >= {"RateLimit", "RateLimit-Policy"}
    # Defined once: every other mention is a reference.
    assert json.dumps(raw).count(json.dumps(headers["RateLimit"]["description"])) == 1
    doc = expand_shared(raw)
    ok = doc["paths"]["/api/v1/cases"]["get"]["responses"]["200"]["headers"]
    assert ok["RateLimit"] == headers["RateLimit"]
    too_many = doc["paths"]["/api/v1/cases"]["get"]["responses"]["429"]["headers"]
    assert {"Retry-After", "RateLimit", "RateLimit-Policy"} <= set(too_many)


@pytest.fixture
async def cors_client(settings: Settings, clock: MovableClock) -> AsyncIterator[httpx.AsyncClient]:
    from mediation_api.main import create_app

    allowed = settings.model_copy(update={"cors_origins": f"{FRONTEND}, https://zz.example.cn/"})
    application = create_app(allowed, clock)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


def _preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type, if-match, idempotency-key",
    }


async def test_a_preflight_from_an_allowed_origin_is_answered(
    cors_client: httpx.AsyncClient,
) -> None:
    for origin in (FRONTEND, "https://zz.example.cn"):
        r = await cors_client.options("/api/v1/cases", headers=_preflight(origin))
        assert r.status_code == 200, r.text
        assert r.headers["access-control-allow-origin"] == origin
        allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
        assert {"authorization", "content-type", "if-match", "idempotency-key"} <= allowed
        assert "POST" in r.headers["access-control-allow-methods"]
        assert r.headers["access-control-max-age"] == "600"
        assert "access-control-allow-credentials" not in r.headers


async def test_an_answer_to_an_allowed_origin_exposes_what_clients_read(
    cors_client: httpx.AsyncClient, world: Any
) -> None:
    h = {**await world.headers("dispatcher"), "Origin": FRONTEND}
    r = await cors_client.get("/api/v1/me", headers=h)
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == FRONTEND
    exposed = {x.strip().lower() for x in r.headers["access-control-expose-headers"].split(",")}
    assert {"etag", "location", "retry-after", "ratelimit", "x-request-id"} <= exposed
    # An error is readable by the page too (a problem the UI shows).
    r = await cors_client.get("/api/v1/cases/not-a-uuid", headers=h)
    assert r.status_code == 422 and r.headers["access-control-allow-origin"] == FRONTEND


async def test_another_origin_gets_no_cors_and_none_is_allowed_by_default(
    cors_client: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    r = await cors_client.options("/api/v1/cases", headers=_preflight("http://evil.example"))
    assert r.status_code == 400 and "access-control-allow-origin" not in r.headers
    r = await cors_client.get("/healthz", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    # The default: no origin is allowed, a preflight is not answered as one.
    r = await client.options("/api/v1/cases", headers=_preflight(FRONTEND))
    assert "access-control-allow-origin" not in r.headers


async def test_large_answers_are_compressed_for_clients_that_ask(
    client: httpx.AsyncClient, world: Any
) -> None:
    h = await world.headers("dispatcher")
    big = await client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert big.headers["content-encoding"] == "gzip"
    assert int(big.headers["content-length"]) < len(big.content) / 4  # httpx decoded it
    plain = await client.get("/openapi.json", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.json() == big.json()
    small = await client.get("/api/v1/me", headers={**h, "Accept-Encoding": "gzip"})
    assert small.status_code == 200 and "content-encoding" not in small.headers
