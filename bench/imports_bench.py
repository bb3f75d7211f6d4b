"""A history import at scale: a 100,000-row file (cases, or hotline calls with `--kind
hotline_calls`) validated and committed by the worker's own job functions, timed, with the
process's peak memory.

    python -m bench.imports_bench [--kind cases|hotline_calls] [--rows 100000]
        [--format csv|xlsx] [--database NAME]

Makes the database afresh on the machine's server (migrations, the demo district), writes a
register of `--rows` past cases (2021-2025, every row valid: a third with original numbers,
dates in the three spellings, GBK-encoded for CSV), stores it as an upload would, then runs
`run_import_job` for the validation and for the commit (no Redis: the jobs do not touch it).
A calls register has calls from 2021 to 2025 at two workstations' counselors, a third with
consent and a callback number, topics and actions as lists. Writes
bench/out/imports-<format>-<rows>.json (imports-<kind>-<format>-<rows>.json for another kind)
and prints the figures."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import resource
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from bench.config import OUT_DIR, PG_SERVER, database_url
from mediation.db import create_engine, session_factory
from mediation.imports import hotline
from mediation.imports.cases import COLUMNS
from mediation.imports.columns import Column
from mediation.imports.enums import ImportKind, ImportStatus
from mediation.imports.models import ImportFile
from mediation.migrate import upgrade
from mediation.settings import Settings
from mediation.stats.enums import JobKind, JobStatus
from mediation.stats.models import Job
from mediation_dev.clock import MovableClock
from mediation_dev.demo import seed_demo

UNITS = ["220302001001", "220302001002", "220302001001G01", "四平市/铁西区/北沟街道/西园社区"]


def register(rows: int) -> list[list[Any]]:
    keys = [c.key for c in COLUMNS]
    out = []
    start = date(2021, 1, 4)
    for i in range(rows):
        received = start + timedelta(days=i * 1800 // rows)
        spelled = (
            received.isoformat()
            if i % 3 == 0
            else f"{received.year}年{received.month}月{received.day}日"
            if i % 3 == 1
            else received.strftime("%Y/%m/%d")
        )
        values = {
            "number": f"铁西调〔{received.year}〕{i // 3 + 1:05d}号" if i % 3 == 0 else None,
            "title": f"第{i}号历史纠纷",
            "facts": "邻里之间因噪音发生争执，经调解达成一致。",
            "category": ["邻里", "marriage_family", "劳动争议", "物业"][i % 4],
            "source": ["来访", "网格上报", "hotline"][i % 3],
            "complexity": "简单",
            "risk_colour": "黄色",
            "unit": UNITS[i % len(UNITS)],
            "received_on": spelled,
            "accepted_on": received.isoformat(),
            "outcome": "调解成功" if i % 5 else "调解不成",
            "outcome_on": (received + timedelta(days=10)).isoformat(),
            "applicant_name": f"申请人{i}",
            "applicant_phone": f"139{i % 10_000_000:08d}",
            "respondent_name": f"被申请人{i}",
            "agreement_terms": "双方和解" if i % 5 else None,
            "performance": "已履行" if i % 5 else None,
            "followed_up_on": (received + timedelta(days=20)).isoformat() if i % 5 else None,
            "satisfaction": "满意" if i % 5 else None,
            "closed_on": (received + timedelta(days=25)).isoformat(),
        }
        out.append([values.get(k) for k in keys])
    return out


def calls_register(rows: int) -> list[list[Any]]:
    keys = [c.key for c in hotline.COLUMNS]
    out = []
    start = datetime(2021, 1, 4, 8, 0)
    for i in range(rows):
        at = start + timedelta(minutes=i * (1800 * 24 * 60) // rows)
        consent = i % 3 == 0
        values = {
            "unit": "220302001002" if i % 2 else "四平市/铁西区/北沟街道/西园社区",
            "started_at": at.strftime("%Y-%m-%d %H:%M")
            if i % 2
            else f"{at.year}年{at.month}月{at.day}日 {at.hour}时{at.minute}分",
            "duration_minutes": str(5 + i % 50),
            "channel": ["电话", "微信", "online"][i % 3],
            "call_type": "有效来电" if i % 7 else "沉默来电",
            "topics": ["情绪困扰、人际关系", "marriage_family", "学习工作压力"][i % 3],
            "risk_level": ["无风险", "低风险", "中风险", "高风险"][i % 4],
            "actions": "心理疏导" if i % 4 else "心理疏导、转介医疗机构",
            "counselor": "褚咨询" if i % 2 else "hotline_supervisor",
            "consent": "是" if consent else "否",
            "callback_number": f"139{i % 10_000_000:08d}",
            "caller_alias": f"来电人{i}",
            "caller_age_band": "30–44岁",
            "summary": "情绪低落，疏导后平稳。",
        }
        out.append([values.get(k) for k in keys])
    return out


# kind -> (its columns, a register of n valid rows, the table its records go to)
KINDS: dict[str, tuple[tuple[Column, ...], Any, str]] = {
    "cases": (COLUMNS, register, "cases"),
    "hotline_calls": (hotline.COLUMNS, calls_register, "hotline_calls"),
}


def to_bytes(rows: list[list[Any]], fmt: str, columns: tuple[Column, ...] = COLUMNS) -> bytes:
    header = [c.zh for c in columns]
    if fmt == "csv":
        import csv

        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(header)
        w.writerows([["" if v is None else v for v in r] for r in rows])
        return buf.getvalue().encode("gbk")
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("导入数据")
    ws.append(header)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(args: argparse.Namespace) -> dict[str, Any]:
    from mediation_worker.context import WorkerContext
    from mediation_worker.imports.jobs import _claim, run_commit, run_validate

    admin = await asyncpg.connect(PG_SERVER)
    await admin.execute(f'DROP DATABASE IF EXISTS "{args.database}"')
    await admin.execute(f'CREATE DATABASE "{args.database}"')
    await admin.close()
    url = database_url(args.database, PG_SERVER)
    await asyncio.to_thread(upgrade, url)
    settings = Settings(DATABASE_URL=url, MEDIATION_DB_POOL_SIZE=3, _env_file=None)
    await seed_demo(settings)

    columns, make_register, table = KINDS[args.kind]
    t = time.perf_counter()
    content = to_bytes(make_register(args.rows), args.format, columns)
    made = time.perf_counter() - t
    print(f"file: {len(content) / 2**20:.1f} MiB {args.format}, made in {made:.1f} s")

    engine = create_engine(settings)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    ctx = WorkerContext(settings, engine, sessions, MovableClock(now), None)  # type: ignore[arg-type]
    pg = await asyncpg.connect(url)
    district = await pg.fetchrow("SELECT id, path FROM units WHERE code = '220302'")
    user = await pg.fetchval("SELECT id FROM users WHERE username = 'dispatcher'")
    import_id = uuid.uuid4()
    async with sessions() as s, s.begin():
        s.add(
            ImportFile(
                id=import_id,
                kind=ImportKind(args.kind),
                status=ImportStatus.validating,
                filename=f"bench.{args.format}",
                sha256=hashlib.sha256(content).hexdigest(),
                size=len(content),
                content=content,
                unit_id=district["id"],
                unit_path=district["path"],
                scope_paths=[district["path"]],
                uploaded_by_id=user,
                uploaded_by_name="钱调度",
            )
        )
    rss0 = _rss_mb()
    figures: dict[str, Any] = {
        "kind": args.kind,
        "rows": args.rows,
        "format": args.format,
        "bytes": len(content),
    }
    for kind in (JobKind.import_validate, JobKind.import_commit):
        job_id = uuid.uuid4()
        async with sessions() as s, s.begin():
            s.add(
                Job(
                    id=job_id,
                    kind=kind,
                    status=JobStatus.queued,
                    unit_id=district["id"],
                    unit_path=district["path"],
                    import_id=import_id,
                    progress=0,
                    attempts=0,
                )
            )
        t = time.perf_counter()
        # The job's own functions, without arq's metrics wrapper (which writes to Redis).
        job = await _claim(ctx, job_id)
        assert job is not None
        await (run_commit if kind is JobKind.import_commit else run_validate)(ctx, job)
        outcome = await pg.fetchval("SELECT status FROM jobs WHERE id = $1", job_id)
        seconds = time.perf_counter() - t
        result = await pg.fetchval("SELECT result::text FROM jobs WHERE id = $1", job_id)
        figures[kind.value] = {
            "outcome": outcome,
            "seconds": round(seconds, 1),
            "rows_per_second": round(args.rows / seconds),
            "peak_rss_mb": round(_rss_mb()),
            "result": json.loads(result) if result else None,
        }
        print(kind.value, figures[kind.value])
    figures["rss_before_mb"] = round(rss0)
    figures[table] = await pg.fetchval(f"SELECT count(*) FROM {table} WHERE historical")
    if table == "cases":
        figures["timeline_entries"] = await pg.fetchval(
            "SELECT count(*) FROM case_events e JOIN cases c ON c.id = e.case_id WHERE c.historical"
        )
    await pg.close()
    await engine.dispose()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    name = "" if args.kind == "cases" else f"{args.kind}-"
    out = OUT_DIR / f"imports-{name}{args.format}-{args.rows}.json"
    out.write_text(json.dumps(figures, indent=2))
    return figures


def cli() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--kind", choices=sorted(KINDS), default="cases")
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    p.add_argument("--database", default="mediation_bench_imports")
    asyncio.run(main(p.parse_args()))


if __name__ == "__main__":
    cli()
