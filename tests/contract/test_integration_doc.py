"""docs/integration.md works as written: the endpoints it lists exist in the contract, and
its code blocks, in order and sharing one namespace, run against a real API server and a real
worker (`mediation-api` and `mediation-worker` as subprocesses on a free port, on the test
database with the demo district), webhooks included."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import socketserver
import subprocess
import sys
import time
import traceback
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from mediation.settings import Settings
from tests.contract import served
from tests.support.world import demo_otp

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "integration.md"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.M | re.S)
ENDPOINT = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE) (/[^`\s]+)`", re.M)


@dataclass
class Block:
    lang: str
    code: str
    line: int


def blocks(text: str) -> list[Block]:
    return [
        Block(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 2)
        for m in FENCE.finditer(text)
    ]


def missing_routes(text: str) -> list[str]:
    """Operations the guide lists that the served contract does not have."""
    paths = served()["paths"]
    return [
        f"{method} {path}"
        for method, path in ENDPOINT.findall(text)
        if method.lower() not in paths.get(path, {})
    ]


def test_the_guide_lists_only_routes_that_exist() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    listed = ENDPOINT.findall(text)
    assert len(listed) >= 8, "the guide's table of endpoints is missing"
    missing = missing_routes(text)
    assert not missing, (
        f"docs/integration.md documents routes the API does not serve: {', '.join(missing)}"
    )


def test_every_block_is_runnable_python() -> None:
    found = blocks(GUIDE.read_text(encoding="utf-8"))
    assert len(found) >= 8
    others = [f"line {b.line}: ```{b.lang}" for b in found if b.lang != "python"]
    assert not others, f"blocks the test cannot run (use python): {others}"
    for block in found:
        compile(block.code, f"docs/integration.md:{block.line}", "exec")


# --------------------------------------------------------------------------- a real server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Services:
    url: str
    logs: list[Path]


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
async def services(settings: Settings, db: Any, tmp_path: Path) -> AsyncIterator[Services]:
    """The demo district, and the API and the worker as the center runs them."""
    from mediation_dev.demo import load

    async with db() as session, session.begin():
        await load(session, "demo-password", date(2020, 1, 1))
    port = _free_port()
    env = {
        **os.environ,
        "MEDIATION_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "MEDIATION_ARQ_QUEUE": f"mediation-doc-{uuid.uuid4().hex[:8]}",
        "MEDIATION_WEBHOOK_ALLOW_LOOPBACK": "true",
        "MEDIATION_LOG_LEVEL": os.environ.get("DOC_TEST_LOG_LEVEL", "WARNING"),
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    api_log, worker_log = tmp_path / "api.log", tmp_path / "worker.log"
    api = _start([sys.executable, "-m", "mediation_api.main"], env, api_log)
    worker = _start([sys.executable, "-m", "mediation_worker.main"], env, worker_log)
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                if api.poll() is not None:
                    raise AssertionError(f"the API exited:\n{api_log.read_text()[-3000:]}")
                try:
                    if (await client.get(f"{url}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"the API did not start:\n{api_log.read_text()[-3000:]}")
        yield Services(url, [api_log, worker_log])
    finally:
        _stop(worker)
        _stop(api)
        await _drop_keys(settings.redis_url, env["MEDIATION_ARQ_QUEUE"])


async def _drop_keys(redis_url: str, prefix: str) -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    try:
        keys = [k async for k in redis.scan_iter(f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


def _run(found: list[Block], namespace: dict[str, Any]) -> None:
    for i, block in enumerate(found):
        started = time.monotonic()
        try:
            exec(compile(block.code, f"docs/integration.md:{block.line}", "exec"), namespace)
        except Exception as exc:
            trace = "".join(traceback.format_exception(exc)[-6:])
            raise AssertionError(
                f"block {i + 1} (docs/integration.md line {block.line}) failed:\n{trace}"
            ) from exc
        took = time.monotonic() - started
        assert took < 60, f"block at line {block.line} took {took:.0f} s"


def _webhook_state(services: Services, namespace: dict[str, Any]) -> str:
    """What the receiver got and what the service says it delivered, for a failure."""
    sub, admin = namespace.get("subscription"), namespace.get("admin")
    if not sub or not admin:
        return ""
    r = httpx.get(f"{services.url}/api/v1/webhooks/{sub['id']}/deliveries", headers=admin)
    return f"received: {namespace.get('received')}\ndeliveries: {r.text[:3000]}"


async def test_the_guide_runs_against_a_real_server(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = GUIDE.read_text(encoding="utf-8")
    missing = missing_routes(text)
    assert not missing, f"docs/integration.md needs routes the API lacks: {', '.join(missing)}"
    monkeypatch.setenv("MEDIATION_API", services.url)
    monkeypatch.setenv("MEDIATION_ADMIN_USER", "system_admin")
    monkeypatch.setenv("MEDIATION_ADMIN_PASSWORD", "demo-password")
    # The server runs on the real clock: the code the demo administrator's app shows now.
    monkeypatch.setenv("MEDIATION_ADMIN_OTP", demo_otp(datetime.now(UTC)))
    monkeypatch.setenv("MEDIATION_STAFF_USER", "dispatcher")  # a demo account: 钱调度
    monkeypatch.setenv("MEDIATION_STAFF_PASSWORD", "demo-password")
    monkeypatch.setenv("RECEIVER_PORT", str(_free_port()))
    namespace: dict[str, Any] = {"__name__": "integration_guide"}
    # The guide's receiver runs in server threads, where an exception is only printed: a
    # reader's copy would crash the same way (a later block once rebound its `seen`).
    receiver_errors: list[str] = []

    def handle_error(server: object, request: object, client_address: object) -> None:
        receiver_errors.append(traceback.format_exc())

    monkeypatch.setattr(socketserver.BaseServer, "handle_error", handle_error)
    try:
        await asyncio.to_thread(_run, blocks(text), namespace)
    except AssertionError as exc:
        logs = "\n".join(f"--- {p.name}\n{p.read_text()[-6000:]}" for p in services.logs)
        raise AssertionError(f"{exc}\n{_webhook_state(services, namespace)}\n{logs}") from None
    finally:
        for name in ("server",):
            if hasattr(namespace.get(name), "shutdown"):
                namespace[name].shutdown()
                # Closed, not only stopped: a send the worker still makes is refused at once
                # instead of waiting out its 10 s timeout on a socket nobody reads (teardown).
                namespace[name].server_close()
        for name in ("api",):
            if hasattr(namespace.get(name), "close"):
                namespace[name].close()
    assert not receiver_errors, "the guide's receiver raised:\n" + "\n".join(receiver_errors)
    # what the guide promised, seen from outside
    assert namespace["received"], "no webhook reached the receiver"
    assert namespace["event"]["type"] == "case.created"
