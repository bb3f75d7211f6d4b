"""Operations and the error contract: health, readiness, metrics, docs without a CDN, and
problem+json for every kind of failure. (Also CI's smoke test on embedded servers.)"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mediation.settings import Settings


async def test_healthz(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert r.headers["x-request-id"]


async def test_readyz_needs_a_worker_heartbeat(client: httpx.AsyncClient, run_worker: Any) -> None:
    r = await client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"] == {"database": "ok", "redis": "ok", "worker": "no recent heartbeat"}
    await run_worker(relay=False)  # a real worker starts, beats once, and stops
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"


async def test_readyz_reports_redis_down(settings: Settings, clock: Any) -> None:
    from mediation_api.main import create_app

    broken = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    app = create_app(broken, clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["database"] == "ok"
    assert r.json()["checks"]["redis"].startswith("error")


async def test_metrics_count_requests_by_route(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert 'http_requests_total{method="GET",route="/healthz",status="200"}' in r.text
    assert "http_request_duration_seconds_bucket" in r.text


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_docs_are_served_without_a_cdn(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 200
    assert "cdn" not in r.text.lower() and "googleapis" not in r.text
    for asset in ("/static-docs/swagger-ui-bundle.js", "/static-docs/redoc.standalone.js"):
        if asset.rsplit("/", 1)[1].split(".")[0] in r.text:
            assert (await client.get(asset)).status_code == 200


def _is_problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert {"type", "title", "status", "detail", "instance", "request_id"} <= set(body)
    assert body["status"] == status
    return body


async def test_unknown_route_and_wrong_method(client: httpx.AsyncClient) -> None:
    _is_problem(await client.get("/api/v1/no-such-thing"), 404)
    _is_problem(await client.delete("/healthz"), 405)


async def test_validation_lists_the_fields(client: httpx.AsyncClient, world: Any) -> None:
    r = await client.get(
        "/api/v1/reference/dispute_category",
        headers=await world.headers("system_admin"),
        params={"limit": 0},
    )
    body = _is_problem(r, 422)
    assert body["errors"][0]["field"] == "query.limit"


async def test_body_over_the_limit_is_413(
    client: httpx.AsyncClient, world: Any, settings: Settings, sql: Any
) -> None:
    big = "x" * (settings.max_body_bytes + 1)
    r = await client.post(
        "/api/v1/reference/dispute_category",
        headers={**await world.headers("system_admin"), "content-type": "application/json"},
        content=big,
    )
    _is_problem(r, 413)
    assert (await sql("SELECT count(*) FROM outbox_events"))[0][0] == 0


async def test_unhandled_error_is_500_without_stack_trace(
    app: Any, client: httpx.AsyncClient
) -> None:
    async def boom() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/boom", boom)
    r = await client.get("/boom", headers={"x-request-id": "req-123"})
    body = _is_problem(r, 500)
    assert body["request_id"] == "req-123"
    assert "secret internals" not in r.text and "Traceback" not in r.text


def test_production_refuses_default_secrets() -> None:
    with pytest.raises(ValueError, match="development default"):
        Settings(MEDIATION_ENV="production", _env_file=None)


async def test_rate_limit_answers_429_with_retry_after(
    app: Any, client: httpx.AsyncClient, world: Any
) -> None:
    h = await world.headers("dispatcher")
    app.state.mediation.limiter.per_minute = 5
    codes = [(await client.get("/api/v1/me", headers=h)).status_code for _ in range(7)]
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
    r = await client.get("/api/v1/me", headers=h)
    body = _is_problem(r, 429)
    assert int(r.headers["retry-after"]) >= 1 and body["type"].endswith("rate-limited")


def test_readme_documents_every_setting() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    missing = [
        f.alias for f in Settings.model_fields.values() if f.alias and f"`{f.alias}`" not in readme
    ]
    assert not missing, f"settings missing from the README: {missing}"
