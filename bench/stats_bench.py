"""The monthly statistics at scale: one month for every node, by the worker's own job, beside
the best single hand-written SQL query for the same figures, in the same run.

    python -m bench.stats_bench --database mediation_bench_full [--month 2026-10] [--repeat 3]

Needs a database loaded by `python -m bench.generate` (or any database of this schema: the
URL's database is used as it is; the statistics tables come from the migrations, which this
script applies if they are missing). What it measures:

1. The worker's job (`mediation_worker.stats.jobs.run_job`: claim, two INSERT ... SELECT
   statements, the `stats.monthly_ready` events, the job's result, one transaction), timed
   `--repeat` times after one unmeasured warm-up run; each run stores a new version.
2. The hand-written comparison: one statement that computes the same figures a different way
   (facts summed per node with FILTER aggregates for the three periods, those sums added to
   each of the node's ancestors by one GROUP BY per node and channel, breakdowns folded in
   as JSON) and
   materialises them (`CREATE TEMP TABLE ... AS`), so both sides compute and store every
   column. Same warm-up and repeats, interleaved with the worker's runs.
3. The month-to-date refresh (`refresh_live_stats`) and reading a report as the API does
   (`StatsService.monthly` / `.live` for the district: what a page load costs).
4. Peak resident memory of this process, which runs the worker's code (the figures stay in
   PostgreSQL: the worker holds a few counts).

Writes bench/out/stats-<database>.json and prints a Markdown section for docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import psutil
from sqlalchemy import text

from bench.config import OUT_DIR, PG_SERVER, database_url
from mediation.auth.policy import ROLE_PERMISSIONS
from mediation.auth.principal import Principal
from mediation.clock import CENTER_TZ
from mediation.db import create_engine, session_factory
from mediation.migrate import upgrade
from mediation.org.enums import Role
from mediation.settings import Settings
from mediation.stats import periods
from mediation.stats.enums import JobKind, JobStatus, ReportTrigger, StatsChannel
from mediation.stats.models import Job
from mediation_dev.clock import MovableClock

# ---------------------------------------------------------------------------------------------
# The hand-written single query. Written independently of mediation_worker.stats.sql: every fact
# of the three periods in one UNION (each base table filtered by the periods' bounds, so the
# time indexes serve it as they serve the worker), summed per node and channels with FILTER
# aggregates pivoting the periods, then added to every ancestor (unnest of the path) instead
# of ROLLUP; medians from the month's resolved cases exploded the same way; breakdowns folded
# in as JSON.
HAND_QUERY = """
CREATE TEMP TABLE hand_result ON COMMIT DROP AS
WITH win(period, s, e, ds, de) AS (VALUES
  (0, $1::timestamptz, $2::timestamptz, $3::date, $4::date),
  (1, $5::timestamptz, $6::timestamptz, $7::date, $8::date),
  (2, $9::timestamptz, $10::timestamptz, $11::date, $12::date)),
cases_in AS (
  SELECT c.unit_id, c.channels::text[] AS channels, w.period, c.source, c.category_code,
    coalesce(c.received_at >= w.s AND c.received_at < w.e, false) AS rcv,
    coalesce(c.accepted_at >= w.s AND c.accepted_at < w.e, false) AS acc,
    coalesce(c.resolved_at >= w.s AND c.resolved_at < w.e, false) AS res,
    coalesce(c.failed_at >= w.s AND c.failed_at < w.e, false) AS fai,
    coalesce(c.withdrawn_at >= w.s AND c.withdrawn_at < w.e, false) AS wdr,
    ag.case_id IS NOT NULL AS has_ag, ag.amount, ag.performance_status,
    extract(epoch FROM c.resolved_at - c.received_at) / 86400.0 AS days,
    c.prevent_criminal AS p1, c.prevent_group_petition AS p2, c.prevent_suicide AS p3,
    c.prevent_group_fight AS p4
  FROM cases c
  JOIN win w ON (c.received_at >= w.s AND c.received_at < w.e)
             OR (c.accepted_at >= w.s AND c.accepted_at < w.e)
             OR (c.resolved_at >= w.s AND c.resolved_at < w.e)
             OR (c.failed_at >= w.s AND c.failed_at < w.e)
             OR (c.withdrawn_at >= w.s AND c.withdrawn_at < w.e)
  LEFT JOIN case_agreements ag ON ag.case_id = c.id
  -- the three periods' bounds on the table itself, so the time indexes find the cases
  WHERE {CASE_STEPS_IN_PERIODS}
),
facts AS MATERIALIZED (
  SELECT unit_id, channels, period, 'case' AS kind, rcv, acc, res, fai, wdr, source::text,
    category_code::text AS category, has_ag, amount, performance_status::text, days,
    p1, p2, p3, p4, NULL::text AS risk, false AS imminent, NULL::text AS call_type,
    NULL::text[] AS topics, 0 AS participants
  FROM cases_in
  UNION ALL
  SELECT c.unit_id, c.channels::text[], o.period, 'overdue', false, false, false, false, false,
    NULL, NULL, false, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, 0
  FROM (SELECT DISTINCT d.case_id, w.period FROM case_deadlines d
        JOIN win w ON d.due_at >= w.s AND d.due_at < w.e
        WHERE ((d.due_at >= $1 AND d.due_at < $2) OR (d.due_at >= $5 AND d.due_at < $6)
               OR (d.due_at >= $9 AND d.due_at < $10))
          AND d.due_at < $13 AND (d.met_at IS NULL OR d.met_at > d.due_at)
          AND (d.cancelled_at IS NULL OR d.cancelled_at > d.due_at)
          AND (d.paused_since IS NULL OR d.paused_since > d.due_at)) o
  JOIN cases c ON c.id = o.case_id
  UNION ALL
  SELECT c.unit_id, c.channels::text[], 0, 'follow_up', false, false, false, false, false,
    NULL, NULL, false, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, 0
  FROM case_follow_ups f JOIN cases c ON c.id = f.case_id
  WHERE f.visited_at >= $1 AND f.visited_at < $2
  UNION ALL
  SELECT c.unit_id, c.channels::text[], w.period, 'session', false, false, false, false, false,
    NULL, NULL, false, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, 0
  FROM mediation_sessions ms JOIN win w ON ms.starts_at >= w.s AND ms.starts_at < w.e
  JOIN cases c ON c.id = ms.case_id
  WHERE ms.status = 'held'
    AND ((ms.starts_at >= $1 AND ms.starts_at < $2)
         OR (ms.starts_at >= $5 AND ms.starts_at < $6)
         OR (ms.starts_at >= $9 AND ms.starts_at < $10))
  UNION ALL
  SELECT h.unit_id, ARRAY[]::text[], w.period, 'call', false, false, false, false, false,
    NULL, NULL, false, NULL, NULL, NULL, NULL, NULL, NULL, NULL, h.risk_level::text,
    h.imminent_risk, h.call_type::text, h.topics::text[], 0
  FROM hotline_calls h JOIN win w ON h.started_at >= w.s AND h.started_at < w.e
  WHERE (h.started_at >= $1 AND h.started_at < $2)
     OR (h.started_at >= $5 AND h.started_at < $6)
     OR (h.started_at >= $9 AND h.started_at < $10)
  UNION ALL
  SELECT h.unit_id, ARRAY[]::text[], w.period, 'call_follow_up', false, false, false, false,
    false, NULL, NULL, false, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL,
    NULL, 0
  FROM hotline_calls h JOIN win w ON h.follow_up_done_at >= w.s AND h.follow_up_done_at < w.e
  WHERE (h.follow_up_done_at >= $1 AND h.follow_up_done_at < $2)
     OR (h.follow_up_done_at >= $5 AND h.follow_up_done_at < $6)
     OR (h.follow_up_done_at >= $9 AND h.follow_up_done_at < $10)
  UNION ALL
  SELECT a.unit_id, ARRAY[]::text[], w.period, 'activity', false, false, false, false, false,
    NULL, NULL, false, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL,
    a.participants
  FROM outreach_activities a JOIN win w ON a.held_on >= w.ds AND a.held_on < w.de
  UNION ALL
  SELECT m.unit_id, ARRAY[]::text[], w.period, 'class', false, false, false, false, false,
    NULL, NULL, false, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL,
    m.participants
  FROM outreach_classes m JOIN win w ON m.held_at >= w.s AND m.held_at < w.e
),
-- every figure summed per node and channels first, then added to each ancestor's
leaf AS (
  SELECT unit_id, channels,
    count(*) FILTER (WHERE period = 0 AND rcv) AS received,
    count(*) FILTER (WHERE period = 0 AND acc) AS accepted,
    count(*) FILTER (WHERE period = 0 AND res) AS resolved,
    count(*) FILTER (WHERE period = 0 AND fai) AS failed,
    count(*) FILTER (WHERE period = 0 AND wdr) AS withdrawn,
    count(*) FILTER (WHERE period = 0 AND rcv AND source = 'grid_report') AS intake_proactive,
    count(*) FILTER (WHERE period = 0 AND rcv AND source IN ('hotline', 'walk_in', 'online'))
      AS intake_application,
    count(*) FILTER (WHERE period = 0 AND rcv AND source IN ('police_referral',
      'court_referral', 'petition_office', 'other_system')) AS intake_referral,
    count(*) FILTER (WHERE period = 0 AND res AND has_ag) AS agreements,
    sum(amount) FILTER (WHERE period = 0 AND res) AS agreement_amount,
    count(*) FILTER (WHERE period = 0 AND res AND performance_status = 'full')
      AS agreements_performed,
    count(*) FILTER (WHERE period = 0 AND kind = 'overdue') AS overdue,
    count(*) FILTER (WHERE period = 0 AND res AND p1 IS NOT NULL) AS criminal_cases,
    sum(p1) FILTER (WHERE period = 0 AND res) AS criminal_people,
    count(*) FILTER (WHERE period = 0 AND res AND p2 IS NOT NULL) AS petition_cases,
    sum(p2) FILTER (WHERE period = 0 AND res) AS petition_people,
    count(*) FILTER (WHERE period = 0 AND res AND p3 IS NOT NULL) AS suicide_cases,
    sum(p3) FILTER (WHERE period = 0 AND res) AS suicide_people,
    count(*) FILTER (WHERE period = 0 AND res AND p4 IS NOT NULL) AS fight_cases,
    sum(p4) FILTER (WHERE period = 0 AND res) AS fight_people,
    count(*) FILTER (WHERE period = 0 AND res AND num_nonnulls(p1, p2, p3, p4) > 0)
      AS prevented_cases,
    sum(coalesce(p1, 0) + coalesce(p2, 0) + coalesce(p3, 0) + coalesce(p4, 0))
      FILTER (WHERE period = 0 AND res) AS prevented_people,
    count(*) FILTER (WHERE period = 0 AND kind = 'follow_up') AS follow_ups,
    count(*) FILTER (WHERE period = 0 AND kind = 'session') AS sessions_held,
    count(*) FILTER (WHERE period = 0 AND kind = 'call') AS calls,
    count(*) FILTER (WHERE period = 0 AND kind = 'call' AND call_type = 'valid') AS valid_calls,
    count(*) FILTER (WHERE period = 0 AND kind = 'call' AND risk = 'none') AS risk_none,
    count(*) FILTER (WHERE period = 0 AND kind = 'call' AND risk = 'low') AS risk_low,
    count(*) FILTER (WHERE period = 0 AND kind = 'call' AND risk = 'medium') AS risk_medium,
    count(*) FILTER (WHERE period = 0 AND kind = 'call' AND risk = 'high') AS risk_high,
    count(*) FILTER (WHERE period = 0 AND kind = 'call' AND risk IS NULL) AS risk_unassessed,
    count(*) FILTER (WHERE period = 0 AND kind = 'call' AND (risk = 'high' OR imminent))
      AS high_risk,
    count(*) FILTER (WHERE period = 0 AND kind = 'call_follow_up') AS call_follow_ups,
    count(*) FILTER (WHERE period = 0 AND kind = 'activity') AS activities,
    sum(participants) FILTER (WHERE period = 0 AND kind = 'activity') AS activity_people,
    count(*) FILTER (WHERE period = 0 AND kind = 'class') AS classes,
    sum(participants) FILTER (WHERE period = 0 AND kind = 'class') AS class_people,
    count(*) FILTER (WHERE period = 1 AND rcv) AS pm_received,
    count(*) FILTER (WHERE period = 1 AND acc) AS pm_accepted,
    count(*) FILTER (WHERE period = 1 AND res) AS pm_resolved,
    count(*) FILTER (WHERE period = 1 AND fai) AS pm_failed,
    sum(amount) FILTER (WHERE period = 1 AND res) AS pm_amount,
    count(*) FILTER (WHERE period = 1 AND kind = 'overdue') AS pm_overdue,
    count(*) FILTER (WHERE period = 1 AND res AND num_nonnulls(p1, p2, p3, p4) > 0)
      AS pm_prevented,
    count(*) FILTER (WHERE period = 1 AND kind = 'session') AS pm_sessions,
    count(*) FILTER (WHERE period = 1 AND kind = 'call') AS pm_calls,
    count(*) FILTER (WHERE period = 1 AND kind = 'call' AND (risk = 'high' OR imminent))
      AS pm_high_risk,
    count(*) FILTER (WHERE period = 1 AND kind = 'activity') AS pm_activities,
    sum(participants) FILTER (WHERE period = 1 AND kind = 'activity') AS pm_participants,
    count(*) FILTER (WHERE period = 2 AND rcv) AS py_received,
    count(*) FILTER (WHERE period = 2 AND acc) AS py_accepted,
    count(*) FILTER (WHERE period = 2 AND res) AS py_resolved,
    count(*) FILTER (WHERE period = 2 AND fai) AS py_failed,
    sum(amount) FILTER (WHERE period = 2 AND res) AS py_amount,
    count(*) FILTER (WHERE period = 2 AND kind = 'overdue') AS py_overdue,
    count(*) FILTER (WHERE period = 2 AND res AND num_nonnulls(p1, p2, p3, p4) > 0)
      AS py_prevented,
    count(*) FILTER (WHERE period = 2 AND kind = 'session') AS py_sessions,
    count(*) FILTER (WHERE period = 2 AND kind = 'call') AS py_calls,
    count(*) FILTER (WHERE period = 2 AND kind = 'call' AND (risk = 'high' OR imminent))
      AS py_high_risk,
    count(*) FILTER (WHERE period = 2 AND kind = 'activity') AS py_activities,
    sum(participants) FILTER (WHERE period = 2 AND kind = 'activity') AS py_participants
  FROM facts
  GROUP BY unit_id, channels
),
anc AS (
  SELECT a.node, ch, leaf.*
  FROM leaf
  JOIN units u ON u.id = leaf.unit_id
  CROSS JOIN LATERAL unnest(string_to_array(rtrim(u.path, '.'), '.')::bigint[]) AS a(node)
  CROSS JOIN LATERAL unnest(ARRAY['all']::text[] || leaf.channels) AS ch
),
main AS (
  SELECT node, ch,
    sum(received) AS received, sum(accepted) AS accepted, sum(resolved) AS resolved,
    sum(failed) AS failed, sum(withdrawn) AS withdrawn,
    sum(intake_proactive) AS intake_proactive, sum(intake_application) AS intake_application,
    sum(intake_referral) AS intake_referral, sum(agreements) AS agreements,
    coalesce(sum(agreement_amount), 0) AS agreement_amount,
    sum(agreements_performed) AS agreements_performed, sum(overdue) AS overdue,
    sum(criminal_cases) AS criminal_cases, coalesce(sum(criminal_people), 0) AS criminal_people,
    sum(petition_cases) AS petition_cases, coalesce(sum(petition_people), 0) AS petition_people,
    sum(suicide_cases) AS suicide_cases, coalesce(sum(suicide_people), 0) AS suicide_people,
    sum(fight_cases) AS fight_cases, coalesce(sum(fight_people), 0) AS fight_people,
    sum(prevented_cases) AS prevented_cases,
    coalesce(sum(prevented_people), 0) AS prevented_people,
    sum(follow_ups) AS follow_ups, sum(sessions_held) AS sessions_held, sum(calls) AS calls,
    sum(valid_calls) AS valid_calls, sum(risk_none) AS risk_none, sum(risk_low) AS risk_low,
    sum(risk_medium) AS risk_medium, sum(risk_high) AS risk_high,
    sum(risk_unassessed) AS risk_unassessed, sum(high_risk) AS high_risk,
    sum(call_follow_ups) AS call_follow_ups, sum(activities) AS activities,
    coalesce(sum(activity_people), 0) AS activity_people, sum(classes) AS classes,
    coalesce(sum(class_people), 0) AS class_people,
    jsonb_build_object(
      'received', sum(pm_received), 'accepted', sum(pm_accepted),
      'resolved', sum(pm_resolved), 'failed', sum(pm_failed),
      'agreement_amount', coalesce(sum(pm_amount), 0), 'overdue', sum(pm_overdue),
      'prevented_cases', sum(pm_prevented), 'sessions_held', sum(pm_sessions),
      'hotline_calls', sum(pm_calls), 'hotline_high_risk', sum(pm_high_risk),
      'outreach_activities', sum(pm_activities),
      'outreach_participants', coalesce(sum(pm_participants), 0)) AS previous_month,
    jsonb_build_object(
      'received', sum(py_received), 'accepted', sum(py_accepted),
      'resolved', sum(py_resolved), 'failed', sum(py_failed),
      'agreement_amount', coalesce(sum(py_amount), 0), 'overdue', sum(py_overdue),
      'prevented_cases', sum(py_prevented), 'sessions_held', sum(py_sessions),
      'hotline_calls', sum(py_calls), 'hotline_high_risk', sum(py_high_risk),
      'outreach_activities', sum(py_activities),
      'outreach_participants', coalesce(sum(py_participants), 0)) AS previous_year
  FROM anc
  GROUP BY node, ch
),
-- medians need every value: the month's resolved cases, each added to its ancestors
days AS (
  SELECT a.node, ch,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY f.days) AS days_median,
    avg(f.days) AS days_mean
  FROM facts f
  JOIN units u ON u.id = f.unit_id
  CROSS JOIN LATERAL unnest(string_to_array(rtrim(u.path, '.'), '.')::bigint[]) AS a(node)
  CROSS JOIN LATERAL unnest(ARRAY['all']::text[] || f.channels) AS ch
  WHERE f.kind = 'case' AND f.period = 0 AND f.res
  GROUP BY a.node, ch
),
bd_leaf AS (
  SELECT f.unit_id, f.channels, d.k, count(*) AS n
  FROM facts f
  CROSS JOIN LATERAL (
    SELECT 'category:' || category WHERE kind = 'case' AND period = 0 AND rcv
    UNION ALL SELECT 'source:' || source WHERE kind = 'case' AND period = 0 AND rcv
    UNION ALL SELECT 'topic:' || t FROM unnest(topics) AS t WHERE kind = 'call' AND period = 0
  ) AS d(k)
  GROUP BY f.unit_id, f.channels, d.k
),
bd AS (
  SELECT a.node, ch, b.k, sum(b.n) AS n
  FROM bd_leaf b
  JOIN units u ON u.id = b.unit_id
  CROSS JOIN LATERAL unnest(string_to_array(rtrim(u.path, '.'), '.')::bigint[]) AS a(node)
  CROSS JOIN LATERAL unnest(ARRAY['all']::text[] || b.channels) AS ch
  GROUP BY a.node, ch, b.k
),
bdj AS (SELECT node, ch, jsonb_object_agg(k, n) AS breakdowns FROM bd GROUP BY node, ch)
SELECT u.id AS unit_id, main.*, days.days_median, days.days_mean, bdj.breakdowns
FROM main JOIN units u ON u.seq = main.node
LEFT JOIN days ON days.node = main.node AND days.ch = main.ch
LEFT JOIN bdj ON bdj.node = main.node AND bdj.ch = main.ch
"""

# The three periods' bounds on the cases themselves, so the time indexes find them.
HAND_QUERY = HAND_QUERY.replace(
    "{CASE_STEPS_IN_PERIODS}",
    "\n     OR ".join(
        f"(c.{col} >= ${lo} AND c.{col} < ${lo + 1})"
        for col in ("received_at", "accepted_at", "resolved_at", "failed_at", "withdrawn_at")
        for lo in (1, 5, 9)
    ),
)


def _hand_args(year: int, month: int, now: datetime) -> list[Any]:
    p = periods.monthly_periods(year, month)
    out: list[Any] = []
    for w in (p.current, p.previous_month, p.previous_year):
        out += [w.start, w.end, w.first, w.stop]
    return [*out, now]


async def _hand(pg: asyncpg.Connection, args: list[Any]) -> tuple[float, int]:
    start = time.perf_counter()
    async with pg.transaction():
        # Its best settings too: JIT compilation alone costs seconds for this statement.
        await pg.execute("SET LOCAL jit = off")
        await pg.execute("SET LOCAL work_mem = '256MB'")
        await pg.execute("SET LOCAL random_page_cost = 1.1")
        await pg.execute(HAND_QUERY, *args)
        rows = await pg.fetchval("SELECT count(*) FROM hand_result")
    return time.perf_counter() - start, int(rows)


# ---------------------------------------------------------------------------------------------
async def _worker_run(ctx: Any, year: int, month: int, root: tuple[uuid.UUID, str]) -> dict:
    """Runs the worker's job itself on a fresh job row; returns its result and wall time."""
    from mediation_worker.stats.jobs import run_job

    now = ctx.clock.now()
    job_id = uuid.uuid4()
    async with ctx.sessions() as s, s.begin():
        s.add(
            Job(
                id=job_id,
                kind=JobKind.stats_monthly,
                status=JobStatus.queued,
                trigger=ReportTrigger.on_demand,
                unit_id=root[0],
                unit_path=root[1],
                year=year,
                month=month,
                requested_by_name="stats_bench",
                created_at=now,
                updated_at=now,
            )
        )
    start = time.perf_counter()
    outcome = await run_job(ctx, job_id)
    wall = time.perf_counter() - start
    async with ctx.sessions() as s:
        result = await s.execute(text("SELECT result FROM jobs WHERE id = :i"), {"i": job_id})
        res = result.scalar_one()
    assert outcome == "succeeded", outcome
    return {"seconds": wall, **res}


async def _reads(ctx: Any, root: uuid.UUID, month: str, n: int) -> dict[str, float]:
    """Reading a report and the month-to-date view as the API does, for the district."""
    from mediation_api.stats.service import StatsService

    principal = Principal(
        kind="user",
        id=uuid.uuid4(),
        name="bench",
        roles=frozenset({Role.supervisor}),
        permissions=ROLE_PERMISSIONS[Role.supervisor],
        scope_paths=("",),
    )
    out: dict[str, float] = {}
    for name in ("monthly", "live"):
        times = []
        for _ in range(n):
            async with ctx.sessions() as s:
                svc = StatsService(s, ctx.clock, principal)
                start = time.perf_counter()
                if name == "monthly":
                    await svc.monthly(month, root, None, StatsChannel.all)
                else:
                    await svc.live(root, StatsChannel.all)
                times.append((time.perf_counter() - start) * 1000)
        times.sort()
        out[f"{name}_p50_ms"] = round(times[len(times) // 2], 1)
        out[f"{name}_p95_ms"] = round(times[int(len(times) * 0.95) - 1], 1)
    return out


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    from mediation_worker.context import WorkerContext
    from mediation_worker.stats.jobs import refresh_live_stats

    url = database_url(args.database, args.server)
    year, month = periods.parse(args.month)
    now = datetime.now(UTC)
    settings = Settings(DATABASE_URL=url, MEDIATION_DB_POOL_SIZE=3, _env_file=None)
    engine = create_engine(settings)
    clock = MovableClock(now)
    ctx = WorkerContext(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        clock=clock,
        redis=None,  # type: ignore[arg-type]  # the job does not touch Redis
    )
    pg = await asyncpg.connect(url)
    counts = {
        t: await pg.fetchval(f"SELECT count(*) FROM {t}")
        for t in ("units", "cases", "mediation_sessions", "hotline_calls")
    }
    root = await pg.fetchrow("SELECT id, path FROM units WHERE parent_id IS NULL ORDER BY path")
    district = await pg.fetchval(
        "SELECT id FROM units WHERE level = 'district' ORDER BY path LIMIT 1"
    )
    rss_start = _rss_mb()
    hand_args = _hand_args(year, month, now)

    worker: list[dict[str, Any]] = []
    hand: list[float] = []
    hand_rows = 0
    for i in range(args.repeat + 1):  # the first of each is a warm-up
        w = await _worker_run(ctx, year, month, (root["id"], root["path"]))
        h, hand_rows = await _hand(pg, hand_args)
        if i:
            worker.append(w)
            hand.append(h)
        print(f"run {i}: worker {w['seconds']:.2f} s ({w['rows']} rows), hand {h:.2f} s")

    live_times = []
    for _ in range(2):
        start = time.perf_counter()
        await refresh_live_stats({"mediation": ctx, "job_id": "bench"})
        live_times.append(time.perf_counter() - start)
    reads = await _reads(ctx, district, args.month, args.reads)
    await pg.close()
    await engine.dispose()

    best_worker = min(r["seconds"] for r in worker)
    best_hand = min(hand)
    result = {
        "database": args.database,
        "month": args.month,
        "rows": counts,
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(),
        },
        "worker_seconds": [round(r["seconds"], 3) for r in worker],
        "worker_sql_ms": [r["elapsed_ms"] for r in worker],
        "stored_rows": worker[-1]["rows"],
        "hand_seconds": [round(h, 3) for h in hand],
        "hand_rows": hand_rows,
        "best_worker_seconds": round(best_worker, 3),
        "best_hand_seconds": round(best_hand, 3),
        "ratio": round(best_worker / best_hand, 2),
        "median_ratio": round(
            statistics.median(r["seconds"] for r in worker) / statistics.median(hand), 2
        ),
        "live_refresh_seconds": [round(t, 3) for t in live_times],
        "reads": reads,
        "worker_rss_mb": {"start": rss_start, "peak": _rss_mb()},
        "at": datetime.now(CENTER_TZ).isoformat(timespec="seconds"),
    }
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / f"stats-{args.database}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return result


def cli() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--database", default="mediation_bench_full")
    p.add_argument("--server", default=PG_SERVER)
    p.add_argument("--month", default=None, help="YYYY-MM (default: the month just ended)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--reads", type=int, default=50)
    args = p.parse_args()
    if args.month is None:
        args.month = periods.label(*periods.month_just_ended(datetime.now(UTC)))
    url = database_url(args.database, args.server)
    if not asyncio.run(_has_stats_tables(url)):
        print("the database has no statistics tables yet: applying the migrations")
        upgrade(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    asyncio.run(main(args))


async def _has_stats_tables(url: str) -> bool:
    pg = await asyncpg.connect(url)
    try:
        return bool(await pg.fetchval("SELECT to_regclass('public.stats_reports') IS NOT NULL"))
    finally:
        await pg.close()


if __name__ == "__main__":
    cli()
