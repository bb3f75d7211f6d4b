"""What PgBouncer in transaction mode costs (issue 21, item 3): requests per second and CPU
per request, direct against through PgBouncer.

    .venv/bin/python -m bench.pooler_cost [--requests 400] [--rounds 3] [--concurrency 8]

Makes `mediation_bench_pooler` afresh on the machine's server (migrations, the demo district,
200 cases), starts a PgBouncer (transaction mode, 10 server connections) in front of it, then
runs the same requests through the real app in this process (httpx's ASGI transport, every
middleware, 8 at a time) in three modes, alternated over the rounds:

* `direct`: PostgreSQL directly, statement caches on (today's default);
* `direct, no statement cache`: PostgreSQL directly with the settings PgBouncer needs
  (`DATABASE_POOLER=pgbouncer`): what the caches are worth, without the extra hop;
* `pgbouncer`: through PgBouncer with those settings.

Scenarios: a case by id (the asyncpg read pool), a case list (the same pool), an intake (the
ORM session, a dozen statements and an outbox event). CPU is this process's (the API and the
client driving it, the same in every mode), PgBouncer's, and the PostgreSQL backends serving
the benchmark database (their CPU from /proc, as root). Medians over the rounds. Writes
bench/out/pooler-cost.json and prints a Markdown table."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

from bench.config import OUT_DIR, PG_SERVER, REDIS_URL, database_url
from mediation.clock import SystemClock
from mediation.migrate import upgrade
from mediation.settings import Settings
from mediation_dev.demo import seed_demo
from mediation_dev.pgbouncer import pgbouncer

DATABASE = "mediation_bench_pooler"
API = "/api/v1"
BUILDING = "220302001001G01B01"
MODES = ("direct", "direct, no statement cache", "pgbouncer")


def _case(unit_id: str, i: int) -> dict[str, Any]:
    return {
        "title": f"楼上漏水纠纷{i}",
        "facts": "1号楼1单元502室卫生间漏水，楼下402室天花板受损，双方协商未果。",
        "claims": "要求修复漏水并赔偿维修费用。",
        "category": "neighbourhood",
        "source": "grid_report",
        "complexity": "simple",
        "risk_colour": "yellow",
        "unit_id": unit_id,
        "parties": [
            {"kind": "person", "side": "applicant", "name": "张三", "phone": "13900001111"},
            {"kind": "person", "side": "respondent", "name": "李四", "phone": "13900002222"},
        ],
    }


async def _prepare() -> tuple[str, str]:
    admin = await asyncpg.connect(PG_SERVER)
    await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    await admin.close()
    url = database_url(DATABASE, PG_SERVER)
    await asyncio.to_thread(upgrade, url)
    await seed_demo(Settings(DATABASE_URL=url, _env_file=None))  # type: ignore[call-arg]
    conn = await asyncpg.connect(url)
    unit = str(await conn.fetchval("SELECT id FROM units WHERE code = $1", BUILDING))
    await conn.close()
    return url, unit


async def _backend_pids() -> list[int]:
    conn = await asyncpg.connect(PG_SERVER)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            DATABASE,
        )
        return [r["pid"] for r in rows]
    finally:
        await conn.close()


def _cpu(pid: int) -> float:
    try:
        t = psutil.Process(pid).cpu_times()
        return float(t.user + t.system)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0.0


class Meter:
    """CPU of this process, PgBouncer and the database's backends across one measured run."""

    def __init__(self, bouncer_pid: int | None) -> None:
        self.bouncer_pid = bouncer_pid

    async def start(self) -> None:
        self.wall = time.perf_counter()
        self.own = time.process_time()
        self.bouncer = _cpu(self.bouncer_pid) if self.bouncer_pid else 0.0
        self.backends = {pid: _cpu(pid) for pid in await _backend_pids()}

    async def stop(self, n: int) -> dict[str, float]:
        wall = time.perf_counter() - self.wall
        own = time.process_time() - self.own
        bouncer = (_cpu(self.bouncer_pid) - self.bouncer) if self.bouncer_pid else 0.0
        pids = await _backend_pids()
        backends = sum(_cpu(p) - self.backends.get(p, 0.0) for p in pids)
        return {
            "req_s": n / wall,
            "api_cpu_ms": own / n * 1000,
            "pgbouncer_cpu_ms": bouncer / n * 1000,
            "postgres_cpu_ms": backends / n * 1000,
        }


async def _drive(
    call: Callable[[int], Awaitable[httpx.Response]], n: int, concurrency: int
) -> None:
    queue = iter(range(n))

    async def lane() -> None:
        for i in queue:
            r = await call(i)
            if r.status_code >= 300:
                raise RuntimeError(f"{r.status_code}: {r.text[:300]}")

    await asyncio.gather(*(lane() for _ in range(concurrency)))


async def _mode(
    mode: str, urls: dict[str, str], unit: str, args: argparse.Namespace, bouncer_pid: int
) -> dict[str, dict[str, float]]:
    from mediation_api.main import create_app

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        DATABASE_URL=urls["pgbouncer" if mode == "pgbouncer" else "direct"],
        DATABASE_DIRECT_URL=urls["direct"],
        DATABASE_POOLER="none" if mode == "direct" else "pgbouncer",
        REDIS_URL=REDIS_URL,
        MEDIATION_ARQ_QUEUE=f"bench-pooler-{time.time_ns()}",
        MEDIATION_RATE_LIMIT_PER_MINUTE=1_000_000,
        MEDIATION_DB_POOL_SIZE=args.concurrency,
    )
    app = create_app(settings, SystemClock())
    results: dict[str, dict[str, float]] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://b") as c:
            form = {"grant_type": "password", "password": "demo-password"}
            tokens = {}
            for user in ("grid_head", "dispatcher"):
                r = await c.post(f"{API}/auth/token", data={**form, "username": user})
                r.raise_for_status()
                tokens[user] = {"Authorization": f"Bearer {r.json()['access_token']}"}
            listed = await c.get(f"{API}/cases", headers=tokens["dispatcher"], params={"limit": 50})
            ids = [x["id"] for x in listed.json()["items"]]
            scenarios: dict[str, Callable[[int], Awaitable[httpx.Response]]] = {
                "case_by_id": lambda i: c.get(
                    f"{API}/cases/{ids[i % len(ids)]}", headers=tokens["dispatcher"]
                ),
                "case_list": lambda i: c.get(
                    f"{API}/cases", headers=tokens["dispatcher"], params={"limit": 20}
                ),
                "intake": lambda i: c.post(
                    f"{API}/cases", headers=tokens["grid_head"], json=_case(unit, i)
                ),
            }
            for name, call in scenarios.items():
                await _drive(call, max(args.requests // 10, args.concurrency), args.concurrency)
                meter = Meter(bouncer_pid if mode == "pgbouncer" else None)
                await meter.start()
                await _drive(call, args.requests, args.concurrency)
                results[name] = await meter.stop(args.requests)
    return results


async def main(args: argparse.Namespace) -> dict[str, Any]:
    url, unit = await _prepare()
    host_port = url.split("@", 1)[1].split("/", 1)[0]
    host, _, port = host_port.rpartition(":")
    with pgbouncer(int(port), upstream_host=host, pool_size=10) as bouncer:
        urls = {"direct": url, "pgbouncer": bouncer.url(DATABASE)}
        # Cases to read: intake once, direct.
        from mediation_api.main import create_app

        seed = Settings(  # type: ignore[call-arg]
            _env_file=None,
            DATABASE_URL=url,
            REDIS_URL=REDIS_URL,
            MEDIATION_RATE_LIMIT_PER_MINUTE=1_000_000,
        )
        app = create_app(seed, SystemClock())
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://b") as c:
                r = await c.post(
                    f"{API}/auth/token",
                    data={
                        "grant_type": "password",
                        "username": "grid_head",
                        "password": "demo-password",
                    },
                )
                head = {"Authorization": f"Bearer {r.json()['access_token']}"}
                await _drive(
                    lambda i: c.post(f"{API}/cases", headers=head, json=_case(unit, i)), 200, 8
                )
        runs: dict[str, dict[str, list[dict[str, float]]]] = {m: {} for m in MODES}
        for _ in range(args.rounds):
            for mode in MODES:
                for name, figures in (
                    await _mode(mode, urls, unit, args, bouncer.process.pid)
                ).items():
                    runs[mode].setdefault(name, []).append(figures)
    medians = {
        mode: {
            name: {k: statistics.median(f[k] for f in figs) for k in figs[0]}
            for name, figs in by_name.items()
        }
        for mode, by_name in runs.items()
    }
    return {
        "requests": args.requests,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "medians": medians,
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        "| scenario | mode | req/s | API CPU ms/req | PgBouncer CPU ms/req "
        "| PostgreSQL CPU ms/req |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    medians = result["medians"]
    for name in medians[MODES[0]]:
        for mode in MODES:
            f = medians[mode][name]
            lines.append(
                f"| {name} | {mode} | {f['req_s']:.0f} | {f['api_cpu_ms']:.2f} | "
                f"{f['pgbouncer_cpu_ms']:.3f} | {f['postgres_cpu_ms']:.2f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    result = asyncio.run(main(parser.parse_args()))
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    Path(OUT_DIR / "pooler-cost.json").write_text(json.dumps(result, indent=2))
    print(table(result))
