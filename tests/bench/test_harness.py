"""A tiny smoke run of the benchmark harness (bench/): a very small district generated into
its own database by the real generator (migrations, COPY, index rebuild, sessions), the real
API, worker and ceiling app started as processes, every load scenario replayed for about a
second, the report rendered. No timed assertions: only that everything ran and answered."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from bench import report
from bench.config import SCALES, database_url
from bench.generate import read_manifest
from bench.runner import run
from tests.support.redis_claim import RedisClaim


async def _admin(server: str, sql: str) -> None:
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def bench_database(servers: tuple[str, str]) -> Iterator[str]:
    server, _ = servers
    name = f"bench_smoke_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    yield name
    asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_generate_load_and_report(
    servers: tuple[str, str], redis_claim: RedisClaim, bench_database: str, tmp_path: Path
) -> None:
    server, _ = servers
    redis_url = redis_claim.url  # the session's own database, emptied after the test
    out_md = tmp_path / "performance.md"
    out_md.write_text("# Performance\n\n## Someone else's section\n\nKept as it is.\n")

    results = run(
        SCALES["tiny"],
        database=bench_database,
        duration=1,  # the tiny scale's own: every scenario still runs, about a second each
        warmup=0,
        connections=2,
        profile_names=[],
        report_path=out_md,
        results_path=tmp_path / "results.json",
        server=server,
        redis_url=redis_url,
        out_dir=tmp_path / "out",
    )

    # The data: every table the generator fills has rows, and the manifest says what it made.
    manifest = asyncio.run(read_manifest(bench_database, server))
    assert manifest is not None
    rows = manifest["rows"]
    for table in (
        "units",
        "people",
        "cases",
        "case_parties",
        "case_events",
        "case_deadlines",
        "hotline_calls",
        "mediation_sessions",
        "session_bookings",
    ):
        assert rows.get(table, 0) > 0, table

    async def counts() -> tuple[int, int]:
        conn = await asyncpg.connect(database_url(bench_database, server))
        try:
            cases = await conn.fetchval("SELECT count(*) FROM cases")
            users = await conn.fetchval("SELECT count(*) FROM users WHERE username LIKE 'bench_%'")
            return cases, users
        finally:
            await conn.close()

    cases, users = asyncio.run(counts())
    assert cases >= rows["cases"]  # plus what the intake runs added
    assert users >= 12

    # Every scenario ran against the API and its ceiling, and every request was answered well.
    names = {s["name"] for s in results["scenarios"]}
    assert {
        "case_by_id",
        "list_street",
        "list_grid",
        "list_district",
        "search",
        "intake",
        "session_booking",
        "list_sessions",
        "list_inbox",
        "mixed",
    } <= names
    for sc in results["scenarios"]:
        assert "api" in sc["runs"] and len(sc["runs"]) >= 2, sc["name"]
        for target, r in sc["runs"].items():
            assert r["requests"] > 0, (sc["name"], target)
            assert r["error_count"] == 0, (sc["name"], target, r["errors"], r.get("refused"))
            assert r["rss_mb"]["api"]["max"] > 0
        # The worker processed every event the run wrote, the ceiling's too (an event it
        # cannot read stays pending and every later drain waits out its timeout).
        if sc["writes"]:
            assert sc["outbox_pending_after"] == 0, sc["name"]
            assert sc["outbox_pending_after_ceiling"] == 0, sc["name"]

    # The subtree queries of issue 3 were timed, planned both ways.
    assert {r["level"] for r in results["subtree"]} == {"district", "street", "community", "grid"}
    assert all(r["rows"] >= 0 and "generic_ms" in r for r in results["subtree"])

    # The report: its own block under its own heading; the other section is untouched.
    text = out_md.read_text()
    assert "## Someone else's section\n\nKept as it is." in text
    assert text.count(report.BEGIN) == 1 and text.count(report.END) == 1
    for sc in results["scenarios"]:
        assert sc["title"] in text
    json.loads((tmp_path / "results.json").read_text())

    # Running again replaces the block instead of adding a second one.
    report.write(out_md, results)
    assert out_md.read_text().count(report.BEGIN) == 1
