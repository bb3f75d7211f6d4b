"""Runs the benchmark end to end and writes the report.

    python -m bench.runner --scale full            # what `make bench` runs (see run.sh)

1. The dataset: generated once into its own database (`mediation_bench_<scale>`), reused while
   its manifest (the database's COMMENT) says the same scale and seed.
2. The real service as deployed: `mediation-api` (one uvicorn process) and `mediation-worker`,
   against that database and the machine's Redis (its own db number and queue name); beside
   them the ceiling app (bench/ceiling.py).
3. The accounts of the manifest sign in for real (password grant); request lines are built
   from the data (ids in each caller's scope, filters, intake bodies, session bookings).
4. Each scenario: a warm-up, then a fixed-duration wrk run against the API and the same
   lines against the ceiling, one after the other. Resident memory and CPU of the API, the
   worker, the ceiling and the benchmark database's PostgreSQL backends are sampled during
   each run (psutil). After a run that writes, the worker drains the outbox before the next.
5. Optionally py-spy records the API during a repeat of the profiled scenarios.
6. Results go to bench/out/results-<scale>.json and the report into docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import psutil

from bench import fixtures, report, tail
from bench.config import (
    OUT_DIR,
    PASSWORD,
    PG_SERVER,
    REDIS_URL,
    ROOT,
    SCALES,
    Scale,
    async_url,
    database_url,
)
from bench.generate import generate, read_manifest
from bench.load import Line, have_wrk, run_load, write_lines
from mediation.clock import CENTER_TZ
from mediation.migrate import upgrade
from mediation_dev.services import free_port

VENV_BIN = Path(sys.executable).parent
API_PREFIX = "/api/v1"
RATE_LIMIT = 1_000_000_000  # the limiter still runs (a Redis round trip a request); it never trips


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- processes ----------------------------------------------------------------------------
@dataclass
class Stack:
    """The API, the worker and the ceiling app, started as they are deployed."""

    database: str
    out: Path
    server: str = PG_SERVER
    redis_url: str = REDIS_URL
    api_port: int = field(default_factory=free_port)
    ceiling_port: int = field(default_factory=free_port)
    queue: str = field(default_factory=lambda: f"bench:{uuid.uuid4().hex[:8]}")
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("MEDIATION_", "DATABASE_", "REDIS_"))
        }
        env.update(
            DATABASE_URL=database_url(self.database, self.server),
            REDIS_URL=self.redis_url,
            MEDIATION_ARQ_QUEUE=self.queue,
            MEDIATION_RATE_LIMIT_PER_MINUTE=str(RATE_LIMIT),
            MEDIATION_ACCESS_TOKEN_MINUTES="600",
            PYTHONUNBUFFERED="1",
        )
        # BENCH_API_WORKERS=2: that many API processes behind the port (uvicorn --workers);
        # the monitor sums the CPU of the API's process tree.
        if workers := os.environ.get("BENCH_API_WORKERS", "").strip():
            env["MEDIATION_API_WORKERS"] = workers
        # Experiments: BENCH_API_ENV="MEDIATION_DB_POOL_SIZE=20,..." (API and worker).
        for item in os.environ.get("BENCH_API_ENV", "").split(","):
            key, sep, value = item.partition("=")
            if sep and key.strip():
                env[key.strip()] = value.strip()
        return env

    def _spawn(self, name: str, cmd: list[str], **extra: str) -> None:
        log_file = (self.out / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(
            cmd,
            env={**self.env, **extra},
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        # BENCH_VARIANT: old code put back in memory first (bench/variants.py), for "before".
        variant = os.environ.get("BENCH_VARIANT", "")
        old = [sys.executable, "-m", "bench.variants", variant] if variant else []
        api = [*old, "api"] if variant else [str(VENV_BIN / "mediation-api")]
        worker = [*old, "worker"] if variant else [str(VENV_BIN / "mediation-worker")]
        self._spawn("api", api, HOST="127.0.0.1", PORT=str(self.api_port))
        self._spawn("worker", worker)
        ceiling = [sys.executable, "-m", "bench.ceiling", "--port", str(self.ceiling_port)]
        self._spawn("ceiling", [*ceiling, "--variant", variant] if variant else ceiling)
        try:
            for name, url in (
                ("api", self.api_url + "/healthz"),
                ("ceiling", self.ceiling_url + "/healthz"),
            ):
                self._wait(name, url)
        except BaseException:
            self.stop()  # leave no worker sweeping the benchmark database behind
            raise

    def _wait(self, name: str, url: str, timeout: float = 180) -> None:
        # Generous: on a busy machine each of several API processes imports the whole app.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.procs[name].poll() is not None:
                raise RuntimeError(f"{name} exited; see {self.out / (name + '.log')}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{name} did not start in {timeout}s")

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def ceiling_url(self) -> str:
        return f"http://127.0.0.1:{self.ceiling_port}"

    def pid(self, name: str) -> int:
        return self.procs[name].pid

    def stop(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs.clear()


# A backend's process title ends with its client's address and port: "127.0.0.1(51234)".
_CLIENT_PORT = re.compile(r"\(([0-9]+)\)")
PG_OF = "postgres_of_"  # cpu_seconds keys: the database's work for one process family


class Monitor:
    """Samples resident memory and CPU of the processes under test while a run lasts."""

    def __init__(
        self,
        pids: dict[str, int],
        database: str,
        pg_port: int = 5432,
        interval: float = 0.25,
        cpu_every: int = 4,
    ) -> None:
        self.procs = {n: psutil.Process(p) for n, p in pids.items()}
        self.database = database
        self.pg_port = pg_port
        self.interval = interval
        self.cpu_every = cpu_every  # CPU sampled every `cpu_every` intervals (1 s)
        self.rss: dict[str, list[int]] = collections.defaultdict(list)
        # Each process's CPU when last seen: a backend that exits during the run (a connection
        # the pool closed) keeps what it had used by its last sample instead of being lost, as
        # it was when only the run's start and end were read.
        self.cpu_seen: dict[str, dict[int, float]] = collections.defaultdict(dict)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _family(self, name: str) -> list[psutil.Process]:
        p = self.procs[name]
        try:
            return [p, *p.children(recursive=True)]
        except psutil.Error:
            return []

    def _pg(self) -> list[psutil.Process]:
        out = []
        for p in psutil.process_iter(["name", "cmdline"]):
            cmd = " ".join(p.info["cmdline"] or [])
            if p.info["name"] == "postgres" and f" {self.database} " in cmd:
                out.append(p)
        return out

    @staticmethod
    def _cpu(procs: list[psutil.Process]) -> dict[int, float]:
        out = {}
        for p in procs:
            try:
                t = p.cpu_times()
                out[p.pid] = t.user + t.system
            except psutil.Error:
                pass
        return out

    def _ports(self, name: str) -> set[int]:
        """The local ports of the process family's TCP connections to PostgreSQL."""
        ports = set()
        for p in self._family(name):
            try:
                for c in p.net_connections(kind="tcp"):
                    if c.raddr and c.raddr.port == self.pg_port:
                        ports.add(c.laddr.port)
            except psutil.Error:
                pass
        return ports

    def _snapshot(self) -> dict[str, dict[int, float]]:
        snap = {n: self._cpu(self._family(n)) for n in self.procs}
        backends = self._pg()
        snap["postgres"] = self._cpu(backends)
        # Which backends serve whom: a backend's title names its client's address and port
        # ("... 127.0.0.1(51234) idle"), so the database's work is split by the process that
        # asked for it (the API's or the ceiling's own, apart from the worker's).
        client: dict[int, int] = {}
        for b in backends:
            try:
                m = _CLIENT_PORT.search(" ".join(b.cmdline()))
            except psutil.Error:
                continue
            if m:
                client[b.pid] = int(m.group(1))
        for name in self.procs:
            own = self._ports(name)
            snap[f"{PG_OF}{name}"] = self._cpu([b for b in backends if client.get(b.pid) in own])
        return snap

    def _seen(self, snap: dict[str, dict[int, float]]) -> None:
        for name, by_pid in snap.items():
            seen = self.cpu_seen[name]
            for pid, v in by_pid.items():
                seen[pid] = max(v, seen.get(pid, 0.0))

    def _loop(self) -> None:
        tick = 0
        while not self._stop.is_set():
            tick += 1
            if tick % self.cpu_every == 0:
                self._seen(self._snapshot())
            for name in self.procs:
                total = 0
                for p in self._family(name):
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
                self.rss[name].append(total)
            self._stop.wait(self.interval)

    def __enter__(self) -> Monitor:
        self.load_before = os.getloadavg()[0]
        self.sys_before = psutil.cpu_times()
        self.cpu_before = self._snapshot()
        self.t0 = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.elapsed = time.monotonic() - self.t0
        self._seen(self._snapshot())
        self.sys_after = psutil.cpu_times()

    def result(self) -> dict[str, Any]:
        def busy(t: Any) -> float:
            return float(
                t.user
                + t.system
                + getattr(t, "nice", 0)
                + getattr(t, "irq", 0)
                + getattr(t, "softirq", 0)
            )

        cpu = {}
        for name, after in self.cpu_seen.items():
            before = self.cpu_before.get(name, {})
            cpu[name] = sum(v - before.get(pid, 0.0) for pid, v in after.items())
        machine = busy(self.sys_after) - busy(self.sys_before)
        cores = psutil.cpu_count() or 1
        # The split of PostgreSQL's work by client is part of "postgres": not counted twice.
        whole = {k: v for k, v in cpu.items() if not k.startswith(PG_OF)}
        share = {k: round(100 * v / (self.elapsed * cores), 1) for k, v in whole.items()}
        share["everything_else"] = round(
            100 * (machine - sum(whole.values())) / (self.elapsed * cores), 1
        )
        return {
            "rss_mb": {
                n: {"max": round(max(v) / 2**20, 1), "mean": round(sum(v) / len(v) / 2**20, 1)}
                for n, v in self.rss.items()
                if v
            },
            "cpu_share_pct": share,  # of the whole machine (all cores) over the run
            "cpu_seconds": {k: round(v, 2) for k, v in cpu.items()},
            "load_before": round(self.load_before, 2),
        }


# --- accounts and request lines -----------------------------------------------------------
@dataclass
class Account:
    username: str
    role: str
    level: str
    unit_path: str
    unit_name: str
    token: str = ""
    user_id: str = ""
    person_id: str = ""
    pii: bool = False

    def headers(self, json_body: bool = False) -> dict[str, str]:
        h = {
            "Authorization": f"Bearer {self.token}",
            "x-bench-scope": self.unit_path,
            "x-bench-actor": f"{self.user_id},{self.person_id},{self.username}",
            "x-bench-pii": "1" if self.pii else "0",
        }
        if json_body:
            h["Content-Type"] = "application/json"
        return h


def sign_in(api_url: str, accounts: list[Account]) -> None:
    with httpx.Client(base_url=api_url, timeout=30) as c:
        for a in accounts:
            r = c.post(
                f"{API_PREFIX}/auth/token",
                data={"grant_type": "password", "username": a.username, "password": PASSWORD},
            )
            r.raise_for_status()
            a.token = r.json()["access_token"]
            me = c.get(f"{API_PREFIX}/me", headers={"Authorization": f"Bearer {a.token}"}).json()
            a.user_id, a.person_id = me["id"], me["person_id"] or ""
            a.pii = "pii:read" in me["permissions"]


LIST_FILTERS: list[dict[str, Any]] = [
    {"status": ["assigned", "in_mediation"]},  # the open work list
    {"status": ["received"]},  # waiting to be accepted
    {"category": ["neighbourhood"]},
    {"risk_colour": ["red", "orange"]},
    {"overdue": "true"},
    {"received_from": "{month_ago}"},
    {"source": ["grid_report"], "status": ["closed"]},
]
SEARCH_TERMS = ["漏水", "工资", "噪音", "赡养", "物业费", "宅基地"]


def _query(params: dict[str, Any], month_ago: str) -> str:
    items = [
        (k, str(item).replace("{month_ago}", month_ago))
        for k, v in params.items()
        for item in (v if isinstance(v, list) else [v])
    ]
    return str(httpx.QueryParams(items))


def call_body(
    rng: random.Random, topics: list[str], number: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """A call logged just after it ended: one in five with a risk assessment (a quarter of
    those high risk, which notifies the supervisors on duty). `number`: the caller's (a new
    one by default)."""
    from bench import textpool as tp

    now = now or datetime.now(CENTER_TZ)
    started = now - timedelta(minutes=rng.randint(30, 90))
    body: dict[str, Any] = {
        "started_at": started.isoformat(timespec="seconds"),
        "ended_at": (started + timedelta(minutes=rng.randint(5, 25))).isoformat(timespec="seconds"),
        "channel": "phone",
        "call_type": "valid",
        "caller": {
            "anonymous": rng.random() < 0.5,
            "age_band": rng.choice(("18_29", "30_44", "45_59", "60_plus")),
            "gender": rng.choice(("female", "male")),
            "number": number or tp.phone(rng),
        },
        "topics": rng.sample(topics, min(len(topics), rng.randint(1, 2))),
        "actions": ["counseling"],
        "summary": "来电者倾诉家庭矛盾引起的情绪困扰，已进行情绪疏导。",
    }
    if rng.random() < 0.2:
        high = rng.random() < 0.25
        body["risk_level"] = "high" if high else "medium"
        body["risk_assessment"] = {
            "suicidal_desire": True,
            "desire_factors": ["hopelessness"],
            "suicidal_capability": high,
            "suicidal_intent": True,
            "intent_factors": ["expressed_intent"],
            "buffers": ["immediate_support"],
        }
        body["actions"] = ["counseling", "safety_plan"]
    return body


def _call_line(a: Account, rng: random.Random, topics: list[str]) -> Line:
    return Line(
        "POST",
        f"{API_PREFIX}/hotline/calls",
        a.headers(json_body=True),
        json.dumps(call_body(rng, topics), ensure_ascii=False, separators=(",", ":")),
    )


@dataclass
class Scenario:
    name: str
    title: str
    connections: int
    lines: list[Line]
    ceilings: list[tuple[str, str]]  # (label, path prefix on the ceiling app)
    writes: bool = False
    target: str = ""
    who: str = ""
    # For an action that changes a record once: makes `n` fresh records in the action's
    # starting state and their lines, before every run (replayed in order, each once).
    fixtures: Callable[[int], Awaitable[list[Line]]] | None = None

    @property
    def books(self) -> bool:
        """Whether its lines book sessions (a slot range of their own for each run)."""
        return any(line.body and "{{START}}" in line.body for line in self.lines)


async def build_scenarios(
    url: str, accounts: list[Account], scale: Scale, rng: random.Random
) -> list[Scenario]:
    by_level: dict[str, list[Account]] = collections.defaultdict(list)
    for a in accounts:
        by_level[a.level].append(a)
    district, street, grid = by_level["district"], by_level["street"], by_level["grid"]
    counselors = by_level["community"]
    conn = await asyncpg.connect(url)
    try:
        n_ids = min(20_000, max(200, scale.cases // 20))
        # Ids spread over the whole street, older and newer alike.
        ids = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM cases WHERE unit_path LIKE $1 ORDER BY md5(id::text) LIMIT $2",
                street[0].unit_path + "%",
                n_ids,
            )
        ]
        month_ago = (datetime.now(CENTER_TZ) - timedelta(days=30)).isoformat(timespec="seconds")

        def get(a: Account, cid: Any) -> Line:
            return Line("GET", f"{API_PREFIX}/cases/{cid}", a.headers())

        by_id = [get(street[i % len(street)], cid) for i, cid in enumerate(ids)]

        def lists(group: list[Account]) -> list[Line]:
            return [
                Line("GET", f"{API_PREFIX}/cases?{_query(f, month_ago)}", a.headers())
                for a in group
                for f in LIST_FILTERS
            ]

        def searches(group: list[Account]) -> list[Line]:
            return [
                Line("GET", f"{API_PREFIX}/cases?{httpx.QueryParams({'q': term})}", a.headers())
                for a in group
                for term in SEARCH_TERMS
            ]

        # Intake: center staff register disputes anywhere in the district (walk-ins, hotline,
        # referrals: three lines in four), grid heads report in their grids (one in four).
        # Spread out, so new cases link to as many earlier ones as generated cases do.
        intake = []
        categories = [
            r["code"]
            for r in await conn.fetch(
                "SELECT code FROM reference_items WHERE kind = 'dispute_category' AND enabled"
            )
        ]
        known_phones = [
            r["phone"]
            for r in await conn.fetch(
                "SELECT phone FROM case_parties WHERE phone IS NOT NULL "
                "ORDER BY md5(id::text) LIMIT 500"
            )
        ]
        anywhere = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM units WHERE level IN ('building', 'unit') "
                "ORDER BY md5(id::text) LIMIT 4000"
            )
        ]
        in_grid: dict[str, list[Any]] = {}
        for a in grid:
            in_grid[a.username] = [
                r["id"]
                for r in await conn.fetch(
                    "SELECT id FROM units WHERE path LIKE $1 AND level IN ('building', 'unit')",
                    a.unit_path + "_%",
                )
            ]
        from bench import textpool as tp

        for k in range(2000):
            if k % 4 == 0 and in_grid.get(grid[k // 4 % len(grid)].username):
                a = grid[k // 4 % len(grid)]
                unit_id, source = rng.choice(in_grid[a.username]), "grid_report"
            else:
                a = district[k % len(district)]
                unit_id = rng.choice(anywhere)
                source = rng.choice(("walk_in", "hotline", "police_referral", "online"))
            category = rng.choice(categories)
            applicant = tp.person_name(rng)
            title, facts, claims = tp.case_text(rng, category, applicant)
            phone = (
                rng.choice(known_phones) if known_phones and rng.random() < 0.1 else tp.phone(rng)
            )
            body = {
                "title": title,
                "facts": facts,
                "claims": claims,
                "category": category,
                "source": source,
                "complexity": rng.choice(("simple", "simple", "simple", "complex")),
                "risk_colour": rng.choice(("yellow", "yellow", "orange")),
                "unit_id": str(unit_id),
                "parties": [
                    {
                        "kind": "person",
                        "side": "applicant",
                        "name": applicant,
                        "phone": phone,
                        "id_number": tp.resident_id(rng, rng.randint(1950, 2000)),
                    },
                    {
                        "kind": "person",
                        "side": "respondent",
                        "name": tp.person_name(rng),
                        "phone": tp.phone(rng),
                    },
                ],
            }
            intake.append(
                Line(
                    "POST",
                    f"{API_PREFIX}/cases",
                    a.headers(json_body=True),
                    json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                )
            )

        # Session booking: dispatchers book the handlers of running cases, at an hour no
        # other request takes (requests.lua fills {{START}} and {{END}}).
        sessions = []
        if await conn.fetchval("SELECT to_regclass('public.mediation_sessions') IS NOT NULL"):
            rows = await conn.fetch(
                "SELECT id, handler_person_ids FROM cases "
                "WHERE status IN ('assigned', 'in_mediation') "
                "AND cardinality(handler_person_ids) > 0 "
                "ORDER BY md5(id::text) LIMIT 2000"
            )
            for i, r in enumerate(rows):
                a = district[i % len(district)]
                body = {
                    "kind": "people",
                    "mode": "on_site",
                    "starts_at": "{{START}}",
                    "ends_at": "{{END}}",
                    "place": "铁西区综治中心第一调解室",
                    "mediators": [
                        {"person_id": str(p), "lead": k == 0}
                        for k, p in enumerate(r["handler_person_ids"])
                    ],
                    "is_public": True,
                }
                sessions.append(
                    Line(
                        "POST",
                        f"{API_PREFIX}/cases/{r['id']}/sessions",
                        a.headers(json_body=True),
                        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                    )
                )
        others = await _other_lists(conn, district + street, month_ago)
        # Hotline calls: counselors log the calls of their workstation (one in five with a
        # risk assessment, some of them high: the supervisors on duty are told at once).
        topics = [
            r["code"]
            for r in await conn.fetch(
                "SELECT code FROM reference_items WHERE kind = 'hotline_topic' AND enabled"
            )
        ]
        calls = [_call_line(counselors[k % len(counselors)], rng, topics) for k in range(500)]
        calls = calls if counselors else []
    finally:
        await conn.close()

    def sample(lines: list[Line], n: int) -> list[Line]:
        return [rng.choice(lines) for _ in range(n)] if lines else []

    mixed = (
        sample(by_id, 500)
        + sample(lists(district) + lists(street) + lists(grid), 300)
        + sample(searches(street), 50)
        + sample(intake, 100)
        + sample(sessions, 50)
    )
    both = [("same SQL, bare", "")]
    street_name = street[0].unit_name
    out = [
        Scenario(
            "case_by_id",
            "Case by id",
            32,
            by_id,
            [("bare lookup (1 query)", "/lookup"), *both],
            target="≥ ½ of the bare lookup's throughput",
            who=f"street-level mediators ({street_name}), PII shown and logged",
        ),
        Scenario(
            "case_by_id_c8",
            "Case by id, moderate concurrency",
            8,
            by_id,
            [("bare lookup (1 query)", "/lookup"), *both],
            target="p95 < 10 ms",
            who=f"street-level mediators ({street_name})",
        ),
        Scenario(
            "list_street",
            "First page of a filtered list, street",
            8,
            lists(street),
            both,
            target="p95 < 50 ms",
            who=f"street-level mediators ({street_name})",
        ),
        Scenario(
            "list_grid",
            "First page of a filtered list, grid",
            8,
            lists(grid),
            both,
            who="grid heads of the four busiest grids",
        ),
        Scenario(
            "list_district",
            "First page of a filtered list, district",
            8,
            lists(district),
            both,
            who="district dispatchers",
        ),
        Scenario(
            "search",
            "Text search (q=), street",
            8,
            searches(street),
            both,
            who=f"street-level mediators ({street_name})",
        ),
        Scenario(
            "search_grid",
            "Text search (q=), grid",
            8,
            searches(grid),
            both,
            who="grid heads of the four busiest grids",
        ),
        Scenario(
            "intake",
            "Intake (POST /cases)",
            16,
            intake,
            both,
            writes=True,
            target="≥ 300 cases/s",
            who="dispatchers anywhere (¾), grid heads in their grids (¼)",
        ),
    ]
    if sessions:
        out.append(
            Scenario(
                "session_booking",
                "Session booking (POST /cases/{id}/sessions)",
                16,
                sessions,
                both,
                writes=True,
                who="district dispatchers",
            )
        )
    out += [
        Scenario(name, title, 8, lines, both, who=who)
        for name, (title, who, lines) in others.items()
        if lines
    ]
    out += [
        Scenario(
            "assign",
            "Life-cycle action: assign (POST /cases/{id}/assign)",
            16,
            [],
            both,
            writes=True,
            who="district dispatchers, accepted cases anywhere, If-Match",
            fixtures=lambda n: fixtures.accepted_cases(url, n, district[0].unit_path, district),
        ),
        Scenario(
            "session_outcome",
            "Session outcome (POST /sessions/{id}/outcome)",
            16,
            [],
            both,
            writes=True,
            who="district dispatchers, sessions that took place, If-Match",
            fixtures=lambda n: fixtures.scheduled_sessions(url, n, district[0].unit_path, district),
        ),
    ]
    if calls:
        out.append(
            Scenario(
                "hotline_call",
                "Hotline call (POST /hotline/calls)",
                16,
                calls,
                both,
                writes=True,
                who="counselors of a workstation",
            )
        )
    out.append(
        Scenario(
            "mixed",
            "Mixed workload",
            32,
            mixed,
            both,
            writes=True,
            who="50% by id, 30% lists (three levels), 5% search, 10% intake, 5% booking",
        )
    )
    return out


INBOX_SIZE = 60  # messages each signed-in account has (the generator writes none)


async def _other_lists(
    conn: asyncpg.Connection, accounts: list[Account], month_ago: str
) -> dict[str, tuple[str, str, list[Line]]]:
    """The other domains' lists (issue 22): sessions and the inbox (one statement each)."""
    # An inbox to list: the worker writes messages as events happen; a benchmark run needs
    # them beforehand. Written once per account (a repeat run finds them).
    for a in accounts:
        await conn.execute(
            "INSERT INTO notifications (id, user_id, type, title, body, link, urgent, "
            "created_at, read_at) SELECT gen_random_uuid(), $1, 'case.assigned', "
            "'案件已指派 ' || n, '请及时处理案件 ' || n, '/api/v1/cases', n % 10 = 0, "
            "now() - n * interval '1 hour', CASE WHEN n % 3 = 0 THEN now() END "
            "FROM generate_series(1, $2 - (SELECT count(*) FROM notifications "
            "WHERE user_id = $1)::int) AS n",
            uuid.UUID(a.user_id),
            INBOX_SIZE,
        )
    sessions, inbox = [], []
    if await conn.fetchval("SELECT to_regclass('public.mediation_sessions') IS NOT NULL"):
        for a in accounts:
            for params in (
                {},
                {"status": "scheduled"},
                {"starts_from": month_ago},
                {"sort": "latest"},
                *([{"mediator": a.person_id}] if a.person_id else []),
            ):
                path = f"{API_PREFIX}/sessions?{httpx.QueryParams(params)}".rstrip("?")
                sessions.append(Line("GET", path, a.headers()))
    for a in accounts:
        for path in ("/me/notifications", "/me/notifications?unread=true"):
            inbox.append(Line("GET", API_PREFIX + path, a.headers()))
    return {
        "list_sessions": (
            "Sessions list (GET /sessions)",
            "district dispatchers and street mediators: all, scheduled, last 30 days, latest, "
            "their own",
            sessions,
        ),
        "list_inbox": (
            "Notification inbox (GET /me/notifications)",
            f"district dispatchers and street mediators ({INBOX_SIZE} messages each)",
            inbox,
        ),
    }


# --- running ------------------------------------------------------------------------------
async def _drain(url: str, wait: float = 120) -> int:
    """Waits until the worker has processed the outbox; returns what is still pending."""
    conn = await asyncpg.connect(url)
    try:
        deadline = time.monotonic() + wait
        while True:
            pending = int(
                await conn.fetchval("SELECT count(*) FROM outbox_events WHERE processed_at IS NULL")
            )
            if pending == 0 or time.monotonic() > deadline:
                return pending
            await asyncio.sleep(0.25)  # a cheap count on a partial index
    finally:
        await conn.close()


RESET_SQL = [
    # What earlier runs wrote, newest first: the dataset's own rows are older than its
    # manifest (the generator dates them in the past), everything a run writes is newer.
    "CREATE TEMP TABLE run_cases AS SELECT id FROM cases WHERE created_at > $1",
    "CREATE TEMP TABLE run_sessions AS SELECT id FROM mediation_sessions "
    "WHERE created_at > $1 OR case_id IN (SELECT id FROM run_cases)",
    "DELETE FROM session_bookings WHERE session_id IN (SELECT id FROM run_sessions)",
    "DELETE FROM session_events WHERE session_id IN (SELECT id FROM run_sessions)",
    "DELETE FROM session_mediators WHERE session_id IN (SELECT id FROM run_sessions)",
    "DELETE FROM mediation_sessions WHERE id IN (SELECT id FROM run_sessions)",
    "DELETE FROM case_links WHERE case_id IN (SELECT id FROM run_cases) "
    "OR related_case_id IN (SELECT id FROM run_cases)",
    *(
        f"DELETE FROM {t} WHERE case_id IN (SELECT id FROM run_cases)"
        for t in ("case_events", "case_parties", "case_deadlines", "case_handlers")
    ),
    "DELETE FROM cases WHERE id IN (SELECT id FROM run_cases)",
    # Entries the runs added to generated cases' timelines (a session's outcome) and calls.
    "DELETE FROM case_events WHERE at > $1",
    "DELETE FROM hotline_call_events WHERE call_id IN "
    "(SELECT id FROM hotline_calls WHERE created_at > $1)",
    "DELETE FROM hotline_calls WHERE created_at > $1",
    "DELETE FROM access_log WHERE at > $1",
    "DELETE FROM idempotency_keys WHERE created_at > $1",
    "DELETE FROM refresh_tokens WHERE issued_at > $1",
    "DELETE FROM outbox_events WHERE created_at > $1",
]


async def reset_dataset(url: str, generated_at: str) -> dict[str, int]:
    """Deletes what earlier runs wrote, so every run starts from the generated data (intake
    runs would otherwise pile thousands of cases into the same buildings, and each later
    intake would link to all of them)."""
    since = datetime.fromisoformat(generated_at)
    conn = await asyncpg.connect(url)
    removed: dict[str, int] = {}
    try:
        async with conn.transaction():
            for sql in RESET_SQL:
                status = await conn.execute(sql, since) if "$1" in sql else await conn.execute(sql)
                if status.startswith("DELETE"):
                    table = sql.split()[2]
                    removed[table] = removed.get(table, 0) + int(status.split()[-1])
        # Every table the reset (or the worker's deliveries) left dead rows in: a server with
        # autovacuum off (this machine's) would otherwise read them in every later run.
        bloated = {t for t, n in removed.items() if n} | {"deliveries", "notifications"}
        await conn.execute(f"VACUUM (ANALYZE) {', '.join(sorted(bloated))}")
    finally:
        await conn.close()
    return {k: v for k, v in removed.items() if v}


async def subtree_figures(url: str, accounts: list[Account]) -> list[dict[str, Any]]:
    """Subtree queries straight on the database (issue 3: fast at 100,000 nodes and millions
    of records): the prefix match on the materialised path, for the district, a street, a
    community and a grid, median of five, warm. Twice: planned for the prefix at hand (a
    custom plan) and as the generic plan a prepared statement may switch to after five
    executions, which cannot use the prefix index (`LIKE $1` with an unknown pattern)."""
    conn = await asyncpg.connect(url)
    out = []
    try:
        street = next(a for a in accounts if a.level == "street").unit_path
        grid = next(a for a in accounts if a.level == "grid").unit_path
        community = grid.rsplit(".", 2)[0] + "."
        district = next(a for a in accounts if a.level == "district").unit_path
        queries = {
            "nodes in the subtree (count)": "SELECT count(*) FROM units WHERE path LIKE $1",
            "cases in the subtree (count)": "SELECT count(*) FROM cases WHERE unit_path LIKE $1",
            "open cases in the subtree (count)": (
                "SELECT count(*) FROM cases WHERE unit_path LIKE $1 "
                "AND status IN ('received', 'accepted', 'assigned', 'in_mediation')"
            ),
            "newest 20 cases of the subtree": (
                "SELECT id FROM cases WHERE unit_path LIKE $1 "
                "ORDER BY received_at DESC, id DESC LIMIT 20"
            ),
            "newest 20 received (new) cases of the subtree": (
                "SELECT id FROM cases WHERE unit_path LIKE $1 AND status = 'received' "
                "ORDER BY received_at DESC, id DESC LIMIT 20"
            ),
        }

        async def timed(sql: str, path: str) -> tuple[float, int]:
            times, rows = [], 0
            for _ in range(6):
                t = time.perf_counter()
                result = await conn.fetch(sql, path + "%")
                times.append(1000 * (time.perf_counter() - t))
                rows = result[0][0] if "count(" in sql else len(result)
            return sorted(times[1:])[2], rows

        for level, path in (
            ("district", district),
            ("street", street),
            ("community", community),
            ("grid", grid),
        ):
            for what, sql in queries.items():
                await conn.execute("SET plan_cache_mode = force_custom_plan")
                custom, rows = await timed(sql, path)
                await conn.execute("SET plan_cache_mode = force_generic_plan")
                generic, _ = await timed(sql, path)
                out.append(
                    {
                        "level": level,
                        "query": what,
                        "rows": rows,
                        "ms": round(custom, 2),
                        "generic_ms": round(generic, 2),
                    }
                )
    finally:
        await conn.close()
    return out


# BENCH_PROFILE_CEILING=1: each profiled scenario is profiled on the ceiling app too (the same
# statements without the framework and the API's duties: what the API's profile compares to).
PROFILE_CEILING = os.environ.get("BENCH_PROFILE_CEILING", "") not in ("", "0")
CEILING_SUFFIX = report.CEILING_SUFFIX
PROFILE_HZ = 250  # py-spy's samples a second
# BENCH_PROFILE_NATIVE=1: py-spy also samples the native frames (C extensions, the kernel's
# entry points): where asyncpg's protocol or a system call spends a driver frame's time.
PROFILE_NATIVE = os.environ.get("BENCH_PROFILE_NATIVE", "") not in ("", "0")


class SlotClock:
    """Hands each load run its own range of five-minute slots for session bookings, after
    every session already in the database and inside the window the API accepts (sessions at
    most MEDIATION_SESSION_MAX_DAYS_AHEAD, 365, days ahead): a run books at most
    `PER_RUN` sessions, so about ten booking runs fit before the range wraps."""

    SLOT = 300  # seconds; requests.lua books one slot per request
    PER_RUN = 10_000
    MARGIN = 1_000
    _base: int | None = None  # the range of the run under way

    def __init__(self, latest: datetime | None = None) -> None:
        now = datetime.now(UTC)
        self.first = now + timedelta(days=1)
        self.last = now + timedelta(days=360)
        start = self.first
        if latest is not None and latest + timedelta(hours=1) < self.last:
            start = max(start, latest + timedelta(hours=1))
        self.next = int(start.replace(minute=0, second=0, microsecond=0).timestamp())

    def take(self, scenario: Scenario) -> int:
        """A range for a run of `scenario`; only runs that book take one (a whole run with
        its profiles made ~60 runs: the ranges wrapped and the booking's profile replayed
        its warm-up's slots, clashes answered 409)."""
        if not scenario.books:
            return 0
        if self.next + self.PER_RUN * self.SLOT > self.last.timestamp():
            self.next = int(self.first.replace(minute=0, second=0, microsecond=0).timestamp())
        base = self._base = self.next
        self.next += self.PER_RUN * self.SLOT
        return base

    def spent(self, result: dict[str, Any]) -> None:
        """After a run that took a range: the next range starts after the slots its requests
        used (and a margin: the threads' counters run unevenly), not after the whole range.
        A whole run with its profiles books in a dozen runs; at a whole range each, the
        ranges wrapped and the booking's profile met the first runs' bookings (161 409s)."""
        if self._base is None:
            return
        used = int(result.get("requests") or 0) + self.MARGIN
        self.next = min(self.next, self._base + used * self.SLOT)
        self._base = None


async def _latest_session(url: str) -> datetime | None:
    conn = await asyncpg.connect(url)
    try:
        if not await conn.fetchval("SELECT to_regclass('public.mediation_sessions') IS NOT NULL"):
            return None
        return await conn.fetchval("SELECT max(ends_at) FROM mediation_sessions")
    finally:
        await conn.close()


# More records than a run here changes in a second: the ceiling's assign does ~415/s at full
# scale on a quiet machine; at 250 a quiet run ran out and replayed stale If-Match lines (412s).
FIXTURES_PER_SECOND = 1000


def _lines_for(scenario: Scenario, lines_file: Path, duration: float) -> tuple[Path, bool]:
    """The lines to replay; for a scenario with fixtures, fresh records for this run."""
    if scenario.fixtures is None:
        return lines_file, False
    n = int(FIXTURES_PER_SECOND * max(duration, 1)) + 100
    return write_lines(lines_file, asyncio.run(scenario.fixtures(n))), True


def run_one(
    stack: Stack,
    target: str,
    scenario: Scenario,
    lines_file: Path,
    prefix: str,
    duration: float,
    warmup: float,
    tool: str,
    slots: SlotClock,
) -> dict[str, Any]:
    url = stack.api_url if target == "api" else stack.ceiling_url
    if warmup > 0:
        lines, sequential = _lines_for(scenario, lines_file, warmup)
        warm = run_load(
            tool,
            url,
            lines,
            duration=warmup,
            connections=scenario.connections,
            prefix=prefix,
            slot_base=slots.take(scenario),
            sequential=sequential,
        )
        slots.spent(warm)
    lines, sequential = _lines_for(scenario, lines_file, duration)
    pids = {"api": stack.pid("api"), "worker": stack.pid("worker"), "ceiling": stack.pid("ceiling")}
    port = urlsplit(stack.server).port or 5432
    before = tail.scrape(url) if target == "api" else None
    with Monitor(pids, stack.database, port) as mon:
        result = run_load(
            tool,
            url,
            lines,
            duration=duration,
            connections=scenario.connections,
            prefix=prefix,
            slot_base=slots.take(scenario),
            sequential=sequential,
        )
    slots.spent(result)
    result.update(mon.result())
    if before is not None:
        result["routes"] = tail.routes(before, tail.scrape(url))
    return result


def profile(
    stack: Stack,
    scenario: Scenario,
    lines_file: Path,
    duration: float,
    tool: str,
    slots: SlotClock,
    target: str = "api",
) -> dict[str, Any] | None:
    """py-spy samples the API (or the ceiling app, on its same-SQL routes) while the scenario
    runs again; returns the top frames."""
    spy = shutil.which("py-spy") or str(VENV_BIN / "py-spy")
    if not Path(spy).exists():
        log("py-spy not installed (pip install py-spy into .venv): no profile")
        return None
    raw = stack.out / f"profile-{scenario.name}{'' if target == 'api' else '-' + target}.txt"
    url, prefix = stack.api_url, ""
    if target == "ceiling":
        url = stack.ceiling_url
        prefix = next((p for label, p in scenario.ceilings if label.startswith("same SQL")), "")
    cmd = [
        spy,
        "record",
        "-p",
        str(stack.pid(target)),
        "-d",
        str(int(duration)),
        "-r",
        str(PROFILE_HZ),
        # Native frames need the process paused while a sample is read.
        *(["--native"] if PROFILE_NATIVE else ["--nonblocking"]),
        "-f",
        "raw",
        "-o",
        str(raw),
    ]
    lines, sequential = _lines_for(scenario, lines_file, duration)
    spy_proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)
    ran = run_load(
        tool,
        url,
        lines,
        duration=duration - 2,
        connections=scenario.connections,
        prefix=prefix,
        slot_base=slots.take(scenario),
        sequential=sequential,
    )
    slots.spent(ran)
    try:
        _, err = spy_proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        spy_proc.kill()
        err = b""
    if spy_proc.returncode or not raw.exists():
        log(f"py-spy failed: {err.decode(errors='replace')[-300:]}")
        return None
    summary = report.summarise_profile(raw)
    # For the sampled milliseconds per request: how many requests the samples cover.
    summary |= {"requests": int(ran.get("requests") or 0), "hz": PROFILE_HZ}
    return summary


def machine_info(url: str, redis_url: str) -> dict[str, Any]:
    async def pg() -> dict[str, Any]:
        conn = await asyncpg.connect(url)
        try:
            info = {"version": await conn.fetchval("SHOW server_version")}
            for s in (
                "shared_buffers",
                "work_mem",
                "effective_cache_size",
                "max_connections",
                "synchronous_commit",
                "random_page_cost",
                "jit",
            ):
                info[s] = await conn.fetchval(f"SHOW {s}")
            return info
        finally:
            await conn.close()

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for pkg in (
        "fastapi",
        "starlette",
        "uvicorn",
        "sqlalchemy",
        "asyncpg",
        "pydantic",
        "uvloop",
        "httptools",
        "redis",
    ):
        try:
            from importlib.metadata import version

            versions[pkg] = version(pkg)
        except Exception:
            pass
    wrk = ""
    if have_wrk():
        out = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
        wrk = (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else ""
    return {
        "cpu": cpu,
        "cores": psutil.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgres": asyncio.run(pg()),
        "redis": redis_url.rsplit("/", 1)[0] + " db " + redis_url.rsplit("/", 1)[1],
        "packages": versions,
        "wrk": wrk,
    }


def ensure_dataset(
    scale: Scale, database: str, seed: int, regenerate: bool, server: str, out_dir: Path
) -> dict[str, Any]:
    manifest = asyncio.run(read_manifest(database, server))
    if (
        not regenerate
        and manifest
        and manifest.get("scale", {}).get("cases") == scale.cases
        and manifest.get("seed") == seed
    ):
        log(f"reusing {database} (generated {manifest.get('generated_at')})")
        # A dataset made before the latest migrations is brought up to the head, as a deploy
        # would do it, rather than generated again.
        upgrade(async_url(database_url(database, server)))
        return manifest
    log(f"generating {scale.name} dataset into {database}")
    return generate(scale, database, seed=seed, server=server, out_dir=out_dir)


def run(
    scale: Scale,
    *,
    database: str | None = None,
    seed: int = 11,
    regenerate: bool = False,
    duration: float | None = None,
    warmup: float | None = None,
    only: list[str] | None = None,
    tool: str | None = None,
    profile_names: list[str] | None = None,
    report_path: Path | None = None,
    results_path: Path | None = None,
    label: str = "",
    server: str = PG_SERVER,
    redis_url: str = REDIS_URL,
    out_dir: Path = OUT_DIR,
    connections: int | None = None,
) -> dict[str, Any]:
    """Everything, end to end; `connections` overrides every scenario's (smoke runs)."""
    database = database or f"mediation_bench_{scale.name}"
    duration = scale.duration if duration is None else duration
    warmup = scale.warmup if warmup is None else warmup
    tool = tool or ("wrk" if have_wrk() else "python")
    out = out_dir / scale.name
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    manifest = ensure_dataset(scale, database, seed, regenerate, server, out_dir)
    url = database_url(database, server)
    accounts = [
        Account(a["username"], a["role"], a["level"], a["unit_path"], a["unit_name"])
        for a in manifest["accounts"]
        if a["level"] in ("district", "street", "grid", "community")
    ]
    removed = asyncio.run(reset_dataset(url, manifest["generated_at"]))
    if removed:
        log(f"removed what earlier runs wrote: {removed}")
    stack = Stack(database, out, server, redis_url)
    results: dict[str, Any] = {
        "label": label,
        "scale": scale.as_dict(),
        "database": database,
        "manifest": {
            k: manifest.get(k)
            for k in (
                "rows",
                "timings_s",
                "database_bytes",
                "sessions",
                "busiest_street",
                "levels",
                "seed",
                "end",
            )
        },
        "machine": machine_info(url, redis_url),
        "tool": tool,
        "duration_s": duration,
        "warmup_s": warmup,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "scenarios": [],
    }
    results["subtree"] = asyncio.run(subtree_figures(url, accounts))
    stack.start()
    try:
        # On its first start over generated data the worker's sweeps emit the backlog of
        # overdue deadlines and reminders (thousands of events): let it settle first.
        time.sleep(min(15.0, duration))
        results["outbox_pending_at_start"] = asyncio.run(_drain(url))
        sign_in(stack.api_url, accounts)
        rng = random.Random(seed)
        scenarios = asyncio.run(build_scenarios(url, accounts, scale, rng))
        if connections:
            for sc in scenarios:
                sc.connections = connections
        slots = SlotClock(asyncio.run(_latest_session(url)))
        for sc in scenarios:
            if only and sc.name not in only:
                continue
            lines_file = write_lines(out / f"lines-{sc.name}.tsv", sc.lines)
            entry: dict[str, Any] = {
                "name": sc.name,
                "title": sc.title,
                "connections": sc.connections,
                "target": sc.target,
                "who": sc.who,
                "writes": sc.writes,
                "runs": {},
            }
            log(f"{sc.name}: api, c={sc.connections}, {duration}s")
            entry["runs"]["api"] = run_one(
                stack, "api", sc, lines_file, "", duration, warmup, tool, slots
            )
            if sc.writes:
                entry["outbox_pending_after"] = asyncio.run(_drain(url))
            for label_, prefix in sc.ceilings:
                log(f"{sc.name}: ceiling ({label_})")
                entry["runs"][label_] = run_one(
                    stack, "ceiling", sc, lines_file, prefix, duration, warmup, tool, slots
                )
            if sc.writes:
                entry["outbox_pending_after_ceiling"] = asyncio.run(_drain(url))
            api = entry["runs"]["api"]
            log(
                f"  api {api['rps']} req/s p95 {api['latency_ms']['p95']} ms, "
                f"errors {api['error_count']}; "
                + "; ".join(f"{k} {v['rps']} req/s" for k, v in entry["runs"].items() if k != "api")
            )
            results["scenarios"].append(entry)
            # Kept as they come: a run cut short (a shared server out of connections) keeps
            # the scenarios it finished.
            partial = out_dir / f"results-{scale.name}.partial.json"
            partial.write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str))
        for name in profile_names or []:
            sc = next((s for s in scenarios if s.name == name), None)
            if sc is None:
                continue
            for target in ("api", "ceiling") if PROFILE_CEILING else ("api",):
                log(f"profiling the {'API' if target == 'api' else 'ceiling'} under {name}")
                lines = out / f"lines-{sc.name}.tsv"
                prof = profile(stack, sc, lines, max(8.0, duration), tool, slots, target)
                if prof:
                    key = name if target == "api" else f"{name}{CEILING_SUFFIX}"
                    results.setdefault("profiles", {})[key] = prof
    finally:
        stack.stop()
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    results_path = results_path or out_dir / f"results-{scale.name}.json"
    results_path.write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str))
    if report_path is not None:
        report.write(report_path, results)
        log(f"report written to {report_path}")
    return results


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Runs the benchmark and writes the report.")
    p.add_argument(
        "--scale", choices=sorted(SCALES), default=os.environ.get("BENCH_SCALE", "small")
    )
    p.add_argument("--database", default=os.environ.get("BENCH_DATABASE"))
    p.add_argument("--seed", type=int, default=int(os.environ.get("BENCH_SEED", "11")))
    p.add_argument(
        "--regenerate", action="store_true", default=os.environ.get("BENCH_REGENERATE") == "1"
    )
    p.add_argument("--duration", type=float, default=_env_float("BENCH_DURATION"))
    p.add_argument("--warmup", type=float, default=_env_float("BENCH_WARMUP"))
    p.add_argument(
        "--only", default=os.environ.get("BENCH_ONLY", ""), help="scenario names, comma-separated"
    )
    p.add_argument("--tool", choices=("wrk", "python"), default=os.environ.get("BENCH_TOOL"))
    p.add_argument("--profile", default=os.environ.get("BENCH_PROFILE", "case_by_id,intake"))
    p.add_argument(
        "--report", default=os.environ.get("BENCH_REPORT", str(ROOT / "docs" / "performance.md"))
    )
    p.add_argument("--no-report", action="store_true")
    p.add_argument("--label", default=os.environ.get("BENCH_LABEL", ""))
    a = p.parse_args(argv)
    run(
        SCALES[a.scale],
        database=a.database,
        seed=a.seed,
        regenerate=a.regenerate,
        duration=a.duration,
        warmup=a.warmup,
        only=[s for s in a.only.split(",") if s] or None,
        tool=a.tool,
        profile_names=[s for s in a.profile.split(",") if s],
        report_path=None if a.no_report else Path(a.report),
        label=a.label,
    )


def _env_float(name: str) -> float | None:
    value = os.environ.get(name)
    return float(value) if value else None


if __name__ == "__main__":
    main()
