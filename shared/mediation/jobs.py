"""Names and ids of worker jobs, shared so the API and the worker agree without importing
each other."""

from __future__ import annotations

import uuid

PROCESS_EVENT = "process_event"
SWEEP_OUTBOX = "sweep_outbox"
RUN_IMPORT_JOB = "run_import_job"


def event_job_id(event_id: uuid.UUID) -> str:
    """Derived from the outbox row: enqueueing the same event twice queues one job."""
    return f"event:{event_id}"


def metrics_key(queue_name: str) -> str:
    return f"{queue_name}:job-metrics"


def durations_key(queue_name: str) -> str:
    """Job durations of all workers: `name|<le>` bucket counts (not cumulative), `name|sum`."""
    return f"{queue_name}:job-durations"


# Upper bounds (seconds) of the job duration buckets.
JOB_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


def duration_bucket(seconds: float) -> str:
    """The field suffix of the one bucket a duration is counted in."""
    for le in JOB_BUCKETS:
        if seconds <= le:
            return repr(le)
    return "+Inf"
