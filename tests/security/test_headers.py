"""Response hardening an assessor tests (issue 18 item 7): security headers on every answer,
no caching of personal data, a CSP under which /docs and /redoc still work offline, no
product or version in headers or errors, and sign-in answers that do not tell whether an
account exists."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import signal
import subprocess
import sys
from typing import Any

import httpx

from mediation.settings import Settings
from mediation_dev.services import free_port
from tests.cases.conftest import CASES, case_body
from tests.notifications.processes import wait_for
from tests.support.world import World

TOKEN = "/api/v1/auth/token"


def _hardened(r: httpx.Response) -> None:
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "server" not in r.headers


async def test_every_answer_is_hardened_and_personal_data_is_not_cached(
    client: httpx.AsyncClient, world: World
) -> None:
    h = await world.headers("dispatcher")
    me = await client.get("/api/v1/me", headers=h)
    unauthorized = await client.get("/api/v1/me")
    missing = await client.get("/api/v1/cases/00000000-0000-0000-0000-000000000000", headers=h)
    for r in (me, unauthorized, missing, await client.get("/healthz")):
        _hardened(r)
    for r in (me, unauthorized, missing):
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


async def test_reads_with_an_etag_still_answer_304_and_declared_caching_is_kept(
    client: httpx.AsyncClient, world: World
) -> None:
    h = await world.headers("dispatcher")
    created = await client.post(CASES, json=case_body(world), headers=h)
    assert created.status_code == 201, created.text
    url = f"{CASES}/{created.json()['id']}"
    first = await client.get(url, headers=h)
    assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
    again = await client.get(url, headers={**h, "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.headers["etag"] == first.headers["etag"]
    _hardened(again)
    assert again.headers["cache-control"] == "no-store"


def _inline_hashes(html: str) -> set[str]:
    return {
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in re.findall(r"<script>(.*?)</script>", html, re.S)
    }


async def test_docs_pages_run_only_their_own_scripts_and_load_nothing_from_elsewhere(
    client: httpx.AsyncClient,
) -> None:
    for page in ("/docs", "/redoc"):
        r = await client.get(page)
        assert r.status_code == 200
        _hardened(r)
        csp = dict(
            ([*d.split(" ", 1), ""])[:2] for d in r.headers["content-security-policy"].split("; ")
        )
        script_src = set(csp["script-src"].split())
        # Every inline script is allowed by its hash, nothing inline beyond them, no CDN.
        assert _inline_hashes(r.text) <= script_src
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
        assert not any(s.startswith("http") for s in " ".join(csp.values()).split())
        for src in re.findall(r'src="([^"]+)"', r.text) + re.findall(r'href="([^"]+)"', r.text):
            assert src.startswith("/"), src  # same origin: allowed by 'self'
            assert (await client.get(src)).status_code == 200
    assert _inline_hashes((await client.get("/docs")).text)  # Swagger UI's start-up script


async def test_sign_in_answers_the_same_for_an_unknown_account_and_a_wrong_password(
    client: httpx.AsyncClient, world: World
) -> None:
    async def attempt(username: str) -> httpx.Response:
        return await client.post(
            TOKEN,
            data={"grant_type": "password", "username": username, "password": "wrong-password"},
        )

    known, unknown = await attempt("dispatcher"), await attempt("nobody-at-all")
    assert known.status_code == unknown.status_code == 400
    assert known.json() == unknown.json()
    varying = {"x-request-id", "date", "content-length", "ratelimit"}  # a count
    assert {k: v for k, v in known.headers.items() if k not in varying} == {
        k: v for k, v in unknown.headers.items() if k not in varying
    }


async def test_an_unhandled_error_shows_no_trace_and_no_version(
    app: Any, client: httpx.AsyncClient
) -> None:
    async def explode() -> None:
        raise RuntimeError("secret internals at /srv/app/module.py line 42")

    app.add_api_route("/api/v1/explode", explode)
    r = await client.get("/api/v1/explode")
    assert r.status_code == 500
    _hardened(r)
    assert r.headers["cache-control"] == "no-store"
    body = r.text
    for leak in ("Traceback", "secret internals", ".py", "uvicorn", "starlette", "fastapi"):
        assert leak not in body


def test_the_server_names_no_product_or_version(settings: Settings) -> None:
    port = free_port()
    env = {
        **os.environ,
        "MEDIATION_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "MEDIATION_ARQ_QUEUE": settings.arq_queue,
        "PORT": str(port),
        "MEDIATION_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", "from mediation_api.main import run; run()"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, 60, "the API")
        for path in ("/healthz", "/api/v1/me", "/no-such-page"):
            r = httpx.get(f"http://127.0.0.1:{port}{path}")
            assert "server" not in r.headers, path
            _hardened(r)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
