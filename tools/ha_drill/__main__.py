"""`python -m ha_drill` (with tools/ on the path; `make ha-drill`). See the package docstring."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from ha_drill.cluster import Cluster, ensure_packages, http_json, wait_for
from ha_drill.load import BUILDING, Load, Receiver
from ha_drill.verify import verify


@dataclass(frozen=True)
class Plan:
    lanes: int
    warmup_s: float  # load before the first kill
    between_s: float  # load after each recovery, before the next kill
    tail_s: float  # load after the last kill
    settle_s: float  # how long the workers get to finish afterwards


PLANS = {
    "short": Plan(lanes=4, warmup_s=8, between_s=5, tail_s=8, settle_s=90),
    "long": Plan(lanes=8, warmup_s=60, between_s=60, tail_s=60, settle_s=300),
}


def say(text: str) -> None:
    print(f"ha drill [{time.strftime('%H:%M:%S')}]: {text}", flush=True)


async def _recovered(load: Load, since: int, seconds: float, what: str) -> float:
    """Waits until writes are accepted again after a kill; returns how long that took."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if load.outcomes.total > since + 2:
            took = time.monotonic() - start
            say(f"writes accepted again {took:.1f} s after {what}")
            return took
        await asyncio.sleep(0.2)
    raise RuntimeError(f"writes did not resume within {seconds:.0f} s after {what}")


async def _queue_a_slot_twice(redis_url: str, queue: str, not_before_s: float) -> datetime:
    """What two workers' schedulers do when Redis lost the unique cron id in its failover:
    each queues the same slot under an id of its own. The lease in PostgreSQL
    (`cron_runs`) must let exactly one of them run it.

    The slot falls after the next kill (`not_before_s`): a worker SIGKILLed while running a job
    leaves arq's in-progress key behind, and nobody runs that job again until the key expires
    (the job's timeout, 10 min for statistics). Two earlier runs that queued the slot for the
    very next minute saw it run zero times that way, when the minute struck just before worker1
    was killed."""
    from arq import create_pool

    from mediation.redisconn import arq_settings

    due = datetime.now(UTC) + timedelta(seconds=not_before_s)
    slot = due.replace(second=0, microsecond=0) + timedelta(minutes=1)
    pool = await create_pool(arq_settings(redis_url), default_queue_name=queue)
    try:
        for scheduler in ("a", "b"):
            await pool.enqueue_job(
                "cron:refresh_live_stats",
                _job_id=f"drill-live-{scheduler}-{slot.timestamp():.0f}",
                _defer_until=slot,
                _expires=timedelta(minutes=10),
            )
    finally:
        await pool.aclose()
    say(f"queued the live statistics slot {slot:%H:%M} twice, as two schedulers would")
    return slot


ACTIVITY_SQL = """
SELECT now()::time(0) AS at, a.pid, a.application_name AS app, a.client_port AS port,
       a.state, a.wait_event_type AS wtype, a.wait_event AS wait,
       round(extract(epoch FROM now() - a.xact_start)::numeric, 1) AS xact_s,
       pg_blocking_pids(a.pid) AS blocked_by,
       left(regexp_replace(a.query, '\\s+', ' ', 'g'), 90) AS q
FROM pg_stat_activity a
WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
  AND a.backend_type = 'client backend'
  AND (a.state <> 'idle' OR a.xact_start IS NOT NULL)
ORDER BY a.xact_start NULLS LAST
"""


async def sample_activity(dsn: str, path: Any, stop: asyncio.Event) -> None:
    """Every second, the server's busy connections and who blocks them, into activity.log:
    what a stall after a kill is read from (kept with HA_DRILL_KEEP=1)."""
    with open(path, "a", encoding="utf-8") as out:  # noqa: ASYNC230 (a local file, a line a second)
        while not stop.is_set():
            try:
                conn = await asyncpg.connect(dsn, timeout=2)
                try:
                    rows = await conn.fetch(ACTIVITY_SQL, timeout=2)
                finally:
                    await conn.close()
                out.write(f"-- {time.strftime('%H:%M:%S')} busy={len(rows)}\n")
                for r in rows:
                    out.write(" ".join(f"{k}={r[k]}" for k in r.keys()) + "\n")
                out.flush()
            except (TimeoutError, OSError, asyncpg.PostgresError) as error:
                out.write(f"-- {time.strftime('%H:%M:%S')} no sample: {error!r}\n")
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except TimeoutError:
                pass


async def drill(cluster: Cluster, plan: Plan) -> tuple[int, str]:
    receiver = Receiver()
    try:
        say(f"building the set in {cluster.root}")
        cluster.start_etcd()
        cluster.start_postgres_cluster()
        say("Patroni: pg1 primary, pg2 synchronous standby")
        cluster.start_haproxy()
        cluster.start_pgbouncer()
        cluster.start_redis()
        env = cluster.service_env(receiver.url)
        cluster.prepare_database(env)
        for name in ("api1", "api2"):
            cluster.start_api(name, env)
        for name in ("worker1", "worker2"):
            cluster.start_worker(name, env)
        say(f"two API processes and two workers up; HAProxy on :{cluster.ports['api']}")

        conn = await asyncpg.connect(env["DATABASE_DIRECT_URL"])
        building = str(await conn.fetchval("SELECT id FROM units WHERE code = $1", BUILDING))
        await conn.close()
        load = Load(f"http://127.0.0.1:{cluster.ports['api']}")
        await load.setup(receiver, building)
        stop = asyncio.Event()
        running = asyncio.create_task(load.run(plan.lanes, stop))
        await asyncio.sleep(plan.warmup_s)

        primary = cluster.primary_node()
        assert primary is not None
        say(f"killing the PostgreSQL primary {primary} (Patroni and PostgreSQL, SIGKILL)")
        before = load.outcomes.total
        cluster.kill_node(primary)
        await _recovered(load, before, 120, "the primary died")
        other = "pg2" if primary == "pg1" else "pg1"
        say(f"{other} is primary now: {cluster.primary_node() == other}")
        await asyncio.sleep(plan.between_s)

        master = cluster.redis_master_name()
        assert master is not None
        say(f"killing the Redis master {master} (SIGKILL)")
        before = load.outcomes.total
        cluster.kill(master)
        wait_for(lambda: cluster.redis_master_name() not in (None, master), 60, "Sentinel failover")
        say(f"Sentinels promoted {cluster.redis_master_name()}")
        await _recovered(load, before, 60, "the Redis master died")
        slot = await _queue_a_slot_twice(env["REDIS_URL"], cluster.queue, plan.between_s + 20)
        await asyncio.sleep(plan.between_s)

        sampling = asyncio.Event()
        sampler = asyncio.create_task(
            sample_activity(env["DATABASE_DIRECT_URL"], cluster.root / "activity.log", sampling)
        )
        say("killing api1 and worker1 mid-load (SIGKILL)")
        cluster.kill("api1")
        cluster.kill("worker1")
        await asyncio.sleep(plan.tail_s)
        stop.set()
        load.outcomes.stopped_at = time.monotonic()
        await running
        o = load.outcomes
        say(
            f"load stopped: {o.total} writes accepted, {o.retries} retries; no write accepted "
            f"for {o.silent_s():.1f} s in all; answered 503/502 or not at all until the next "
            f"success {o.unavailable_s:.1f} s; waited {o.claim_wait_s:.1f} s for keys held by "
            "requests that died with api1 (409 until the claim is stale, 30 s)"
        )

        # The slot queued twice must have come (and gone) before the verdict.
        await asyncio.sleep(max(0.0, (slot - datetime.now(UTC)).total_seconds() + 15))
        verdict = await verify(env["DATABASE_DIRECT_URL"], load.outcomes, receiver, plan.settle_s)
        sampling.set()
        await sampler
        conn = await asyncpg.connect(env["DATABASE_DIRECT_URL"])
        twice = await conn.fetchval(
            "SELECT count(*) FROM cron_runs WHERE job = 'refresh_live_stats' AND slot = $1", slot
        )
        await conn.close()
        # cron_runs' key allows one row, so the lease never lets it run twice. 0 within the
        # window is reported, not failed: see docs/deployment.md ("The drill") for what is known.
        if twice != 1:
            verdict.notes.append(f"the slot queued twice ran {twice} times (expected once)")
        skipped = sum(
            cluster.procs[w].log.read_text(errors="replace").count("another worker has it")
            for w in ("worker1", "worker2")
        )
        exited = cluster.exited_by_themselves()
        if exited:
            verdict.notes.append(f"services that exited by themselves (exit codes): {exited}")
            verdict.exited = sorted(exited)
        for note in verdict.notes:
            say(note)
        if load.outcomes.rejected:
            say(f"refused (not counted as accepted): {dict(load.outcomes.rejected)}")
            for example in load.outcomes.examples:
                say(f"  e.g. {example}")
        say(
            f"cron slots run={verdict.cron_runs} doubled={verdict.cron_doubled} (the slot "
            f"queued twice: {twice} run), "
            f"slots a worker skipped because another had it={skipped}; "
            "messages resent with the same id after a worker died mid-send (receivers drop "
            f"them by webhook-id / Idempotency-Key)={verdict.redelivered}"
        )
        _, cluster_state = http_json(
            f"http://127.0.0.1:{cluster.ports['rest' + other[-1]]}/cluster"
        )
        roles = [
            (m.get("name"), m.get("role"), m.get("state")) for m in cluster_state.get("members", [])
        ]
        say(f"Patroni members now: {roles}")
        if cluster.restarts:
            say(f"restarted by the drill's supervisor (as systemd would): {cluster.restarts}")
        last = (
            f"ha drill: accepted={verdict.accepted} found={verdict.found} lost={verdict.lost} "
            f"duplicated={verdict.duplicated} notifications={verdict.notifications} "
            f"delivered={verdict.delivered} unavailable_s={load.outcomes.silent_s():.1f}"
        )
        return (0 if verdict.ok else 1), last
    finally:
        receiver.close()


def main() -> int:
    mode = os.environ.get("HA_DRILL", "short")
    if mode not in PLANS:
        print(f"HA_DRILL is short or long, not {mode!r}", file=sys.stderr)
        return 2
    ensure_packages()
    cluster = Cluster()

    def interrupted(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    started = time.monotonic()
    last = "ha drill: failed before the verdict"
    try:
        code, last = asyncio.run(drill(cluster, PLANS[mode]))
    except BaseException as error:
        say(f"failed: {error!r}")
        for name in cluster.procs:
            tail = cluster.tail(name, 8)
            if tail:
                say(f"--- {name} ---\n{tail}")
        code = 2
    finally:
        exited = cluster.exited_by_themselves()  # before stop_all ends them all
        cluster.stop_all()
        if code == 1:
            # A failed verdict: what the services complained of goes to the output (a CI keeps
            # only that), and the set's directory stays.
            for name in sorted(n for n in cluster.procs if n.startswith(("api", "worker"))):
                said = cluster.complaints(name)
                if said:
                    say(f"--- {name}: its last warnings and errors ---\n{said}")
            for name in sorted(exited):  # its last words: a traceback
                say(f"--- {name} exited by itself; its log ends ---\n{cluster.tail(name, 30)}")
            say(f"failed: the set's logs are kept in {cluster.root}")
        if os.environ.get("HA_DRILL_KEEP") != "1" and code != 1:
            import shutil

            shutil.rmtree(cluster.root, ignore_errors=True)
    say(f"done in {time.monotonic() - started:.0f} s; everything it started is stopped")
    print(last, flush=True)  # the last line, whatever happened
    return code


if __name__ == "__main__":
    sys.exit(main())
