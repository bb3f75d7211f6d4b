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
