"""What /metrics shows besides this process's request metrics (middleware.py):

- the state of the service, read at scrape time, the same whichever process answers: outbox
  backlog and the age of its oldest unrelayed event, arq queue depth, worker heartbeat,
  deliveries waiting for a retry, subscriptions by state, cases overdue by stage, flagged
  high-risk hotline calls not yet acknowledged, replica lag (when replicas stream from this
  server);
- counters every worker keeps in Redis (all workers together): jobs by name and outcome, job
  durations, deliveries by channel and outcome.

Names follow Prometheus conventions: base units in the name (`_seconds`), counters end in
`_total`, gauges name what they count."""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import REGISTRY, Collector
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from mediation.health import heartbeat_key
from mediation.jobs import JOB_BUCKETS, durations_key, metrics_key
from mediation.notifications.enums import DeliveryStatus
from mediation_api.state import AppState

log = logging.getLogger("mediation.api.metrics")

TIMEOUT = 3.0

# Per process, summed over the live processes in multiprocess mode.
POOL_IN_USE = Gauge(
    "mediation_db_pool_connections_in_use",
    "Database connections checked out of the API's pool (all API processes).",
    multiprocess_mode="livesum",
)
POOL_MAX = Gauge(
    "mediation_db_pool_connections_max",
    "Connections the API's pools may open (twice MEDIATION_DB_POOL_SIZE, all API processes).",
    multiprocess_mode="livesum",
)


def watch_pool(engine: AsyncEngine, max_connections: int) -> None:
    """Keeps the pool gauges current from the pool's own events (a few microseconds each)."""
    pool = engine.sync_engine.pool
    POOL_MAX.inc(max_connections)
    event.listen(pool, "checkout", lambda *_: POOL_IN_USE.inc())
    event.listen(pool, "checkin", lambda *_: POOL_IN_USE.dec())


def release_pool(max_connections: int) -> None:
    POOL_MAX.dec(max_connections)


# One round trip for every figure the database holds. Each part uses an index the service
# already has (pending outbox rows, due deliveries, running deadlines, the supervisors' queue).
STATE_SQL = text(
    """
SELECT
  (SELECT count(*) FROM outbox_events WHERE relayed_at IS NULL) AS outbox_backlog,
  (SELECT extract(epoch FROM now() - min(created_at)) FROM outbox_events
    WHERE relayed_at IS NULL) AS outbox_oldest,
  (SELECT count(*) FROM outbox_events WHERE processed_at IS NULL) AS outbox_unprocessed,
  (SELECT count(*) FROM deliveries WHERE status = :pending AND attempts > 0) AS retry_waiting,
  (SELECT count(*) FROM webhook_subscriptions WHERE enabled) AS subs_enabled,
  (SELECT count(*) FROM webhook_subscriptions WHERE NOT enabled) AS subs_disabled,
  (SELECT coalesce(json_object_agg(stage, n), '{}') FROM (
     SELECT current_stage AS stage, count(*) AS n FROM cases
     -- a paused case's clock stands still: not overdue (as the case view and its filter)
     WHERE due_at IS NOT NULL AND due_at < :now AND paused_at IS NULL
     GROUP BY current_stage) o) AS overdue,
  (SELECT count(*) FROM hotline_calls
    WHERE flagged_at IS NOT NULL AND acknowledged_at IS NULL) AS unacked,
  (SELECT extract(epoch FROM :now - min(flagged_at)) FROM hotline_calls
    WHERE flagged_at IS NOT NULL AND acknowledged_at IS NULL) AS unacked_oldest
"""
)

# Needs pg_monitor (or superuser) to see the lag; without it the rows show no lag.
REPLICAS_SQL = text(
    "SELECT application_name, client_addr::text AS addr, "
    "extract(epoch FROM replay_lag) AS lag FROM pg_stat_replication"
)

STAGES = ("first_response", "mediation", "follow_up")


def _gauge(name: str, doc: str, value: float | None, **labels: str) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=list(labels))
    if value is not None:
        family.add_metric(list(labels.values()), float(value))
    return family


async def _database(state: AppState) -> list[Metric]:
    async with state.engine.connect() as conn:
        row = (
            await conn.execute(
                STATE_SQL, {"pending": DeliveryStatus.pending.value, "now": state.clock.now()}
            )
        ).one()
        replicas = (await conn.execute(REPLICAS_SQL)).all()
    overdue = row.overdue if isinstance(row.overdue, dict) else {}
    cases = GaugeMetricFamily(
        "mediation_cases_overdue",
        "Open cases whose running deadline has passed (not paused), by deadline stage.",
        labels=["stage"],
    )
    for stage in sorted(set(STAGES) | set(overdue)):
        cases.add_metric([stage], float(overdue.get(stage, 0)))
    subs = GaugeMetricFamily(
        "mediation_webhook_subscriptions",
        "Webhook subscriptions by state (disabled: failing or gone, or by hand).",
        labels=["state"],
    )
    subs.add_metric(["enabled"], float(row.subs_enabled))
    subs.add_metric(["disabled"], float(row.subs_disabled))
    lag = GaugeMetricFamily(
        "mediation_db_replica_lag_seconds",
        "Replay lag of each streaming replica of the primary (none listed: no replicas).",
        labels=["replica"],
    )
    for r in replicas:
        if r.lag is not None:
            lag.add_metric([r.application_name or r.addr or "replica"], float(r.lag))
    return [
        _gauge(
            "mediation_outbox_backlog_events",
            "Outbox events not yet relayed to the worker queue.",
            row.outbox_backlog,
        ),
        _gauge(
            "mediation_outbox_oldest_unrelayed_age_seconds",
            "Age of the oldest outbox event not yet relayed (0 when none waits).",
            row.outbox_oldest or 0.0,
        ),
        _gauge(
            "mediation_outbox_unprocessed_events",
            "Outbox events whose job has not finished (relayed or not).",
            row.outbox_unprocessed,
        ),
        _gauge(
            "mediation_deliveries_waiting_retry",
            "Deliveries that failed at least once and wait for their next try.",
            row.retry_waiting,
        ),
        subs,
        cases,
        _gauge(
            "mediation_hotline_unacknowledged_high_risk_calls",
            "Hotline calls flagged high-risk that no supervisor has acknowledged yet.",
            row.unacked,
        ),
        _gauge(
            "mediation_hotline_oldest_unacknowledged_high_risk_call_age_seconds",
            "How long the oldest flagged high-risk call has waited for acknowledgement "
            "(0 when none waits).",
            max(float(row.unacked_oldest or 0.0), 0.0),
        ),
        lag,
    ]


def _parse_time(raw: bytes | str) -> datetime | None:
    try:
        return datetime.fromisoformat(raw.decode() if isinstance(raw, bytes) else raw)
    except ValueError:
        return None


async def _redis(state: AppState) -> list[Metric]:
    queue = state.settings.arq_queue
    pipe = state.redis.pipeline(transaction=False)
    pipe.zcard(queue)
    pipe.get(heartbeat_key(queue))
    pipe.hgetall(metrics_key(queue))
    pipe.hgetall(durations_key(queue))
    depth, beat, counts, durations = await pipe.execute()
    out: list[Metric] = [
        _gauge("mediation_worker_queue_jobs", "Jobs waiting in the arq queue.", depth),
        _gauge(
            "mediation_worker_heartbeat_present",
            "1 while a worker's heartbeat is fresh, 0 when none is (no worker running).",
            1.0 if beat else 0.0,
        ),
    ]
    seen = _parse_time(beat) if beat else None
    out.append(
        _gauge(  # no sample while no heartbeat is kept (it expires)
            "mediation_worker_heartbeat_age_seconds",
            "Seconds since the last worker heartbeat.",
            None if seen is None else max((state.clock.now() - seen).total_seconds(), 0.0),
        )
    )
    jobs = CounterMetricFamily(
        "worker_jobs", "Worker jobs by name and outcome (all workers).", labels=["name", "outcome"]
    )
    sends = CounterMetricFamily(
        "mediation_deliveries",
        "Delivery tries by channel and result (delivered, retry, failed, gone, held, "
        "cancelled; all workers).",
        labels=["channel", "outcome"],
    )
    for field, value in sorted(counts.items()):
        name, _, outcome = field.decode().partition("|")
        if name.startswith("deliver:"):
            sends.add_metric([name.removeprefix("deliver:"), outcome], int(value))
        else:
            jobs.add_metric([name, outcome], int(value))
    out += [jobs, sends, _job_durations(durations)]
    return out


def _job_durations(raw: dict[bytes, bytes]) -> HistogramMetricFamily:
    """Workers count each job in its own bucket (fields `name|le`); cumulated here."""
    family = HistogramMetricFamily(
        "worker_job_duration_seconds", "Worker job durations (all workers).", labels=["name"]
    )
    per: dict[str, dict[str, float]] = {}
    for field, value in raw.items():
        name, _, part = field.decode().partition("|")
        per.setdefault(name, {})[part] = float(value)
    for name, parts in sorted(per.items()):
        running = 0.0
        buckets: list[tuple[str, float]] = []
        for le in (*JOB_BUCKETS, float("inf")):
            key = "+Inf" if le == float("inf") else repr(float(le))
            running += parts.get(key, 0.0)
            buckets.append((key, running))
        family.add_metric([name], buckets, parts.get("sum", 0.0))
    return family


class _Prepared(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        yield from self.families


def _read_replicas(state: AppState) -> list[Metric]:
    """DATABASE_REPLICA_URLS as this process last checked them (mediation_api/replicas.py)."""
    if state.replicas is None:
        return []
    lag = GaugeMetricFamily(
        "mediation_db_read_replica_lag_seconds",
        "How long ago the primary passed the position each read replica has replayed to "
        "(absent: unreachable or promoted).",
        labels=["replica"],
    )
    used = GaugeMetricFamily(
        "mediation_db_read_replica_in_use",
        "1 when lists and statistics may read from the replica, 0 when it is skipped "
        "(unreachable, promoted, or lagging past MEDIATION_REPLICA_MAX_LAG_SECONDS).",
        labels=["replica"],
    )
    for replica in state.replicas.replicas:
        if replica.lag_seconds is not None:
            lag.add_metric([replica.name], replica.lag_seconds)
        used.add_metric([replica.name], 1.0 if replica.fit else 0.0)
    return [lag, used]


async def render(state: AppState) -> bytes:
    """The whole exposition: this process's (or, in multiprocess mode, every API process's)
    request and pool metrics, then the service's state."""
    results = await asyncio.gather(
        asyncio.wait_for(_database(state), TIMEOUT),
        asyncio.wait_for(_redis(state), TIMEOUT),
        return_exceptions=True,
    )
    families: list[Metric] = []
    up = GaugeMetricFamily(
        "mediation_metrics_source_up",
        "1 when /metrics could read the source (database, redis), else 0.",
        labels=["source"],
    )
    for source, result in zip(("database", "redis"), results, strict=True):
        if isinstance(result, BaseException):
            log.warning("metrics from %s unavailable: %s", source, result)
            up.add_metric([source], 0.0)
        else:
            up.add_metric([source], 1.0)
            families += result
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Prepared([*families, *_read_replicas(state), up]))
    return _process_metrics() + generate_latest(registry)


def share_metrics_between_processes() -> str | None:
    """Several API processes behind one port: a scrape reaches one of them, so each keeps its
    request and pool metrics in files of a shared directory and every scrape sums them all
    (prometheus_client's multiprocess mode). Called by the parent before the processes start;
    an operator's own PROMETHEUS_MULTIPROC_DIR is used (and emptied) if set. Returns the
    directory made here (the caller removes it at exit), None for the operator's."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    made = None
    if folder:
        for old in Path(folder).glob("*.db"):  # a previous run's figures
            old.unlink()
    else:
        folder = made = tempfile.mkdtemp(prefix="mediation-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    log.info("API processes share their metrics in %s", folder)
    return made


def process_exits() -> None:
    """A stopping API process takes its live gauges (pool use) out of the sums."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        mark_process_dead(os.getpid())


def _process_metrics() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)
