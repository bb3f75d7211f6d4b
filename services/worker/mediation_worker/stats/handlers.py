"""Event handlers of the statistics: a recomputation asked through the API becomes an arq job.

The API writes the job row and a `stats.recompute_requested` outbox event in the request's
transaction; the relay brings the event here within moments (LISTEN/NOTIFY). The arq job id
is derived from the job's id, so a second run of this handler queues nothing new; if the arq
job is lost, `sweep_stats_jobs` queues it again."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mediation.outbox.models import OutboxEvent
from mediation.stats.events import RECOMPUTE_REQUESTED
from mediation_worker.context import WorkerContext
from mediation_worker.outbox.dispatch import on
from mediation_worker.stats.jobs import COMPUTE_MONTHLY_STATS, arq_job_id


@on(RECOMPUTE_REQUESTED)
async def enqueue_recompute(session: AsyncSession, event: OutboxEvent, c: WorkerContext) -> None:
    job_id = str(event.payload["job_id"])
    # Redis down: this raises, the event's transaction rolls back and the event is retried.
    await c.redis.enqueue_job(COMPUTE_MONTHLY_STATS, job_id, _job_id=arq_job_id(job_id))
