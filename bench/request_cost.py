"""The fixed CPU cost of a request (issue 22): the API against the ceiling, in process.

    .venv/bin/python -m bench.request_cost [--requests 1000] [--rounds 3]
    .venv/bin/python -m bench.request_cost --profile case [--requests 2000]
    .venv/bin/python -m bench.request_cost --user bench_counselor_1 --only hotline --no-ceiling

Needs the machine's PostgreSQL and Redis (BENCH_PG_SERVER, BENCH_REDIS_URL). The first run
generates a tiny dataset into its own database (`--database`, default
`mediation_request_cost`; `python -m bench.generate --scale tiny`, a few seconds), later
runs reuse it.

The app (`create_app`, the whole middleware stack, a JSON access log written to /dev/null)
and the ceiling app (`bench/ceiling.py`, same statements, no framework) are called through
httpx's ASGI transport, one request after another, signed in as `bench_dispatcher_1` (the
district: a case view with personal data writes its access-log row). For each of a case by
id, a case list page and `/healthz` (and, with `--only hotline`, a page of the hotline call
list and, `--only hotline_call`, `POST /hotline/calls` of generated call logs: sign in as a
counselor, `--user bench_counselor_1`, with `--no-ceiling`, which has no such route) it
prints the process's CPU time per request (CPU, not wall: the machine is shared), median
over rounds that alternate the API and the ceiling.
The client's own cost (httpx, about 0.2 ms: the ceiling's `/healthz`) is in both figures.

`--write assign|intake|outcome` (repeatable) measures writes instead: a life-cycle action on
a fresh accepted case, an intake, a session's outcome on a fresh scheduled session (records
cloned before the timer starts, `bench/fixtures.py`, for each app and round; 50 warm-up
requests each), against the ceiling's handler of the same write (`bench/ceiling_writes.py`,
`bench/ceiling.py`). Before each, what earlier runs wrote is deleted (bench.runner's reset).

`--profile case|list|healthz|assign|intake|outcome` runs that request under cProfile (CPU
time) instead, against the API or `--app ceiling`, and prints the Python function calls per
request (a figure the machine's load does not move) and the top frames by own and by
cumulative time; with `--no-cprofile` it only runs the loop, for a sampling profiler:

    .venv/bin/py-spy record -r 500 -f raw -o /tmp/case.txt -- \
        .venv/bin/python -m bench.request_cost --profile case --no-cprofile --requests 5000"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import os
import pstats
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx

from bench.config import PASSWORD, PG_SERVER, REDIS_URL, async_url, database_url
from mediation.logs import JsonFormatter
from mediation.settings import Settings

API = "/api/v1"
USER = "bench_dispatcher_1"


def _settings(url: str) -> Settings:
    return Settings(
        DATABASE_URL=async_url(url),
        REDIS_URL=REDIS_URL,
        MEDIATION_ARQ_QUEUE=f"bench-cost:{uuid.uuid4().hex[:8]}",
        MEDIATION_RATE_LIMIT_PER_MINUTE=1_000_000,
        MEDIATION_ACCESS_TOKEN_MINUTES=600,
        MEDIATION_DB_POOL_SIZE=2,
        _env_file=None,
    )


def _log_to_nowhere() -> None:
    """The access log as served (a JSON line per request), written to /dev/null."""
    handler = logging.StreamHandler(open(os.devnull, "w"))  # lives with the process
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


async def _ensure_dataset(server: str, database: str) -> str:
    url = database_url(database, server)
    conn = await asyncpg.connect(server)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
    finally:
        await conn.close()
    if not exists:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.generate",
            "--scale",
            "tiny",
            "--database",
            database,
            "--jobs",
            "1",
            "--server",
            server,
        )
        if await proc.wait() != 0:
            raise SystemExit("bench.generate failed")
    return url


@asynccontextmanager
async def _api(url: str) -> AsyncIterator[httpx.AsyncClient]:
    from mediation.clock import SystemClock
    from mediation_api.main import create_app

    app = create_app(_settings(url), SystemClock())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            yield client


@asynccontextmanager
async def _ceiling(url: str) -> AsyncIterator[httpx.AsyncClient]:
    from bench.ceiling import create_app

    app = create_app(url, 2)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            yield client


async def _caller(url: str, user: str = USER) -> tuple[dict[str, str], str]:
    """Signs in (the API, once); the headers every request sends (the ceiling reads the
    caller from the x-bench ones) and a case id in the caller's jurisdiction."""
    async with _api(url) as client:
        r = await client.post(
            f"{API}/auth/token",
            data={"grant_type": "password", "username": user, "password": PASSWORD},
        )
        r.raise_for_status()
        token = r.json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        me = (await client.get(f"{API}/me", headers=auth)).json()
        page = (await client.get(f"{API}/cases?limit=1", headers=auth)).json()
    conn = await asyncpg.connect(url)
    try:
        scope = await conn.fetchval(
            "SELECT u.path FROM role_assignments ra JOIN units u ON u.id = ra.unit_id "
            "WHERE ra.person_id = $1 ORDER BY length(u.path) LIMIT 1",
            uuid.UUID(me["person_id"]),
        )
    finally:
        await conn.close()
    headers = {
        **auth,
        # As the load runs (wrk) ask: no compression (the ceiling has none).
        "Accept-Encoding": "identity",
        "x-bench-scope": scope,
        "x-bench-actor": f"{me['id']},{me['person_id']},{user}",
        "x-bench-pii": "1" if "pii:read" in me["permissions"] else "0",
    }
    # A counselor reads no cases: no case id (only `--only hotline` then).
    return headers, page["items"][0]["id"] if page.get("items") else ""


def _paths(case_id: str) -> dict[str, str]:
    return {
        "case": f"{API}/cases/{case_id}",
        "list": f"{API}/cases?limit=20",
        "healthz": "/healthz",
        "hotline": f"{API}/hotline/calls?limit=20",
        "hotline_call": f"{API}/hotline/calls",
    }


async def _loop(client: httpx.AsyncClient, path: str, headers: dict[str, str], n: int) -> float:
    """CPU microseconds per request (the process's, so other processes' load counts less)."""
    for _ in range(min(100, n)):  # warm-up: prepared statements, caches
        (await client.get(path, headers=headers)).raise_for_status()
    start = time.process_time()
    for _ in range(n):
        r = await client.get(path, headers=headers)
        if r.status_code != 200:
            raise SystemExit(f"{path}: {r.status_code} {r.text[:200]}")
    return (time.process_time() - start) / n * 1e6


# --- the hotline call's write (POST /hotline/calls) ---------------------------------------


def _hotline_call_bodies(n: int, seed: int = 22) -> list[dict[str, Any]]:
    """`n` call logs as the load runs send them (`bench.runner.call_body`: one in five with a
    risk assessment, a quarter of those high, which tells the supervisors: the outbox row), one
    in four from a number already heard in the run (a repeat caller). Same seed, same bodies:
    rounds and branches compare the same requests."""
    import random
    from datetime import datetime

    from bench import textpool as tp
    from bench.runner import call_body
    from mediation.clock import CENTER_TZ
    from mediation.reference.data import HOTLINE_TOPICS

    rng = random.Random(seed)
    topics = [code for code, _, _ in HOTLINE_TOPICS]
    heard: list[str] = []
    now = datetime.now(CENTER_TZ).replace(microsecond=0)
    out = []
    for _ in range(n):
        number = rng.choice(heard) if heard and rng.random() < 0.25 else tp.phone(rng)
        heard.append(number)
        out.append(call_body(rng, topics, number, now))
    return out


async def _hotline_call_loop(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], n: int
) -> float:
    """CPU µs per `POST /hotline/calls` (as `_loop`; sign in as a counselor). Each call is
    written: the dataset grows by `n` + 100 calls per loop (their access-log and audit rows
    too). Warmed up as `_loop` (the profile's figure per request counts on it)."""
    warm = min(100, n)
    bodies = _hotline_call_bodies(warm + n)
    for body in bodies[:warm]:
        (await client.post(path, headers=headers, json=body)).raise_for_status()
    start = time.process_time()
    for body in bodies[warm:]:
        r = await client.post(path, headers=headers, json=body)
        if r.status_code != 201:
            raise SystemExit(f"{path}: {r.status_code} {r.text[:200]}")
    return (time.process_time() - start) / n * 1e6


# Requests timed by a loop of their own (a write with a body per request; the others: `_loop`'s
# GET).
OWN_LOOPS = {"hotline_call": _hotline_call_loop}


async def measure(url: str, n: int, rounds: int, user: str, only: list[str], ceiling: bool) -> None:
    headers, case_id = await _caller(url, user)
    paths = {k: v for k, v in _paths(case_id).items() if k in only}
    results: dict[tuple[str, str], list[float]] = {}
    apps = (("api", _api), ("ceiling", _ceiling)) if ceiling else (("api", _api),)
    for _ in range(rounds):
        for app, opened in apps:
            async with opened(url) as client:
                for name, path in paths.items():
                    cost = await OWN_LOOPS.get(name, _loop)(client, path, headers, n)
                    results.setdefault((name, app), []).append(cost)
    print(f"CPU µs per request, {n} sequential requests, median of {rounds} rounds (all rounds)")
    print("| request | API | ceiling | API ÷ ceiling |")
    print("| --- | --: | --: | --: |")
    for name in paths:
        api = results[(name, "api")]
        a = statistics.median(api)
        runs = "/".join(f"{v:.0f}" for v in api)
        if not ceiling:
            print(f"| {name} | {a:.0f} ({runs}) | – | – |")
            continue
        c = statistics.median(results[(name, "ceiling")])
        print(f"| {name} | {a:.0f} ({runs}) | {c:.0f} | {a / c:.1f}x |")


async def profile(
    url: str, which: str, n: int, top: int, cprofile: bool, app: str, user: str
) -> None:
    headers, case_id = await _caller(url, user)
    path = _paths(case_id)[which]
    loop = OWN_LOOPS.get(which, _loop)
    async with (_api if app == "api" else _ceiling)(url) as client:
        await loop(client, path, headers, 100)
        if not cprofile:  # under `py-spy record -- python -m bench.request_cost ...`
            cost = await loop(client, path, headers, n)
            print(f"{path}: {cost:.0f} µs CPU per request")
            return
        prof = cProfile.Profile(time.process_time)  # CPU, not waits
        prof.enable()
        cost = await loop(client, path, headers, n)
        prof.disable()
    _report(prof, path, cost, n + 100, top)


# Writes (issue 22, item 1): each request changes its own fresh record, made before the timer
# starts (bench/fixtures.py, as the load runs make them), so both apps do the same work.
WRITES = ("assign", "intake", "outcome")
WRITE_STATUS = {"assign": 200, "intake": 201, "outcome": 200}


class _Account:
    """What bench.fixtures asks of an account: the caller's headers."""

    def __init__(self, headers: dict[str, str]) -> None:
        self._headers = headers

    def headers(self, json_body: bool = False) -> dict[str, str]:
        return {**self._headers, "Content-Type": "application/json"} if json_body else self._headers


async def _intake_lines(url: str, n: int, account: _Account, rng: Any) -> list[Any]:
    """`n` intake bodies as the load runs make them (bench.runner), in the caller's scope."""
    import json

    from bench import textpool as tp
    from bench.load import Line

    conn = await asyncpg.connect(url)
    try:
        categories = [
            r["code"]
            for r in await conn.fetch(
                "SELECT code FROM reference_items WHERE kind = 'dispute_category' AND enabled"
            )
        ]
        units = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM units WHERE path LIKE $1 AND level IN ('building', 'unit') "
                "ORDER BY md5(id::text) LIMIT 4000",
                account.headers()["x-bench-scope"] + "%",
            )
        ]
    finally:
        await conn.close()
    lines = []
    for _ in range(n):
        category = rng.choice(categories)
        applicant = tp.person_name(rng)
        title, facts, claims = tp.case_text(rng, category, applicant)
        body = {
            "title": title,
            "facts": facts,
            "claims": claims,
            "category": category,
            "source": rng.choice(("walk_in", "hotline", "police_referral", "online")),
            "complexity": rng.choice(("simple", "simple", "simple", "complex")),
            "risk_colour": rng.choice(("yellow", "yellow", "orange")),
            "unit_id": str(rng.choice(units)),
            "parties": [
                {
                    "kind": "person",
                    "side": "applicant",
                    "name": applicant,
                    "phone": tp.phone(rng),
                    "id_number": tp.resident_id(rng, rng.randint(1950, 2000)),
                },
                {"kind": "person", "side": "respondent", "name": tp.person_name(rng)},
            ],
        }
        lines.append(
            Line(
                "POST",
                f"{API}/cases",
                account.headers(json_body=True),
                json.dumps(body, ensure_ascii=False, separators=(",", ":")),
            )
        )
    return lines


async def _write_lines(url: str, which: str, n: int, headers: dict[str, str]) -> list[Any]:
    """`n` requests of the write `which`, each on its own fresh record (fixtures are cloned in
    batches: a tiny dataset has fewer records to clone than a run has requests)."""
    import random

    from bench import fixtures

    account = _Account(headers)
    if which == "intake":
        return await _intake_lines(url, n, account, random.Random(n))
    make = fixtures.accepted_cases if which == "assign" else fixtures.scheduled_sessions
    lines: list[Any] = []
    while len(lines) < n:
        batch = await make(url, n - len(lines), headers["x-bench-scope"], [account])
        if not batch:
            raise SystemExit(f"{which}: no record to clone in {headers['x-bench-scope']}")
        lines += batch
    return lines


async def _reset(url: str, database: str, server: str) -> None:
    """What earlier runs wrote deleted (bench.runner's reset): intake links each new case to
    the earlier ones at the same place, so a growing dataset would make later intakes dearer."""
    from bench.generate import read_manifest
    from bench.runner import reset_dataset

    manifest = await read_manifest(database, server)
    if manifest is not None:
        await reset_dataset(url, manifest["generated_at"])


async def _write_loop(client: httpx.AsyncClient, which: str, lines: list[Any]) -> float:
    """CPU microseconds per write (the first 50 lines warm up, untimed)."""
    warm, timed = lines[:50], lines[50:]
    expected = WRITE_STATUS[which]
    start = 0.0
    for i, line in enumerate([*warm, *timed]):
        if i == len(warm):
            start = time.process_time()
        r = await client.request(line.method, line.path, headers=line.headers, content=line.body)
        if r.status_code != expected:
            raise SystemExit(f"{line.path}: {r.status_code} {r.text[:300]}")
    return (time.process_time() - start) / len(timed) * 1e6


async def measure_writes(
    url: str, n: int, rounds: int, user: str, writes: list[str], ceiling: bool, reset: Any
) -> None:
    """The writes' rows: per round, per app, the dataset reset, fresh records, the timed loop."""
    headers, _ = await _caller(url, user)
    results: dict[tuple[str, str], list[float]] = {}
    apps = (("api", _api), ("ceiling", _ceiling)) if ceiling else (("api", _api),)
    for _ in range(rounds):
        for app, opened in apps:
            for which in writes:
                await reset()
                lines = await _write_lines(url, which, n + 50, headers)
                async with opened(url) as client:
                    cost = await _write_loop(client, which, lines)
                results.setdefault((which, app), []).append(cost)
    print(f"CPU µs per write, {n} sequential requests, median of {rounds} rounds (all rounds)")
    print("| write | API | ceiling | API ÷ ceiling |")
    print("| --- | --: | --: | --: |")
    for which in writes:
        api = results[(which, "api")]
        a = statistics.median(api)
        runs = "/".join(f"{v:.0f}" for v in api)
        if not ceiling:
            print(f"| {which} | {a:.0f} ({runs}) | – | – |")
            continue
        ceil = results[(which, "ceiling")]
        c = statistics.median(ceil)
        cruns = "/".join(f"{v:.0f}" for v in ceil)
        print(f"| {which} | {a:.0f} ({runs}) | {c:.0f} ({cruns}) | {a / c:.1f}x |")


async def profile_write(
    url: str, which: str, n: int, top: int, cprofile: bool, app: str, user: str, reset: Any
) -> None:
    """`--profile assign|intake|outcome`: as `profile`, for a write on fresh records."""
    headers, _ = await _caller(url, user)
    await reset()
    lines = await _write_lines(url, which, n + 50, headers)
    async with (_api if app == "api" else _ceiling)(url) as client:
        if not cprofile:
            cost = await _write_loop(client, which, lines)
            print(f"{which}: {cost:.0f} µs CPU per request")
            return
        prof = cProfile.Profile(time.process_time)
        prof.enable()
        cost = await _write_loop(client, which, lines)
        prof.disable()
    _report(prof, which, cost, n + 50, top)


def _report(prof: cProfile.Profile, label: str, cost: float, requests: int, top: int) -> None:
    """The profile's top frames by own and by cumulative time; saved whole to
    `$REQUEST_COST_DUMP` when set (for `pstats`' callers and callees)."""
    stats = pstats.Stats(prof)
    # Function calls per request: a figure the machine's load does not move.
    calls = stats.total_calls / requests  # type: ignore[attr-defined]
    print(f"{label}: {cost:.0f} µs CPU per request (under cProfile), {calls:.0f} calls per request")
    if dump := os.environ.get("REQUEST_COST_DUMP"):
        prof.dump_stats(dump)
    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats(key).print_stats(top)
        print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", default="mediation_request_cost")
    parser.add_argument("--server", default=PG_SERVER)
    parser.add_argument(
        "--profile",
        choices=["case", "list", "healthz", "hotline", "hotline_call", *WRITES],
        default=None,
    )
    parser.add_argument("--user", default=USER, help="who signs in")
    parser.add_argument(
        "--only",
        action="append",
        choices=["case", "list", "healthz", "hotline", "hotline_call"],
        help="these requests (repeatable); default: case, list, healthz",
    )
    parser.add_argument(
        "--write",
        action="append",
        choices=WRITES,
        help="measure these writes (repeatable) instead of the reads",
    )
    parser.add_argument("--no-ceiling", action="store_true", help="the API alone")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--app", choices=["api", "ceiling"], default="api", help="to profile")
    parser.add_argument(
        "--no-cprofile",
        action="store_true",
        help="with --profile: only the API's loop (to run under py-spy)",
    )
    args = parser.parse_args()
    _log_to_nowhere()
    url = asyncio.run(_ensure_dataset(args.server, args.database))

    def reset() -> Any:
        return _reset(url, args.database, args.server)

    run: Any = (
        profile_write(
            url,
            args.profile,
            args.requests,
            args.top,
            not args.no_cprofile,
            args.app,
            args.user,
            reset,
        )
        if args.profile in WRITES
        else profile(
            url, args.profile, args.requests, args.top, not args.no_cprofile, args.app, args.user
        )
        if args.profile
        else measure_writes(
            url, args.requests, args.rounds, args.user, args.write, not args.no_ceiling, reset
        )
        if args.write
        else measure(
            url,
            args.requests,
            args.rounds,
            args.user,
            args.only or ["case", "list", "healthz"],
            not args.no_ceiling,
        )
    )
    asyncio.run(run)


if __name__ == "__main__":
    main()
