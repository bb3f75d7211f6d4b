"""The API asks for an import job with an `import.job_requested` outbox event (in the
request's transaction); this queues its arq job, whose id derives from the job's."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mediation.imports.events import JOB_REQUESTED
from mediation.jobs import RUN_IMPORT_JOB
from mediation.outbox.models import OutboxEvent
from mediation_worker.context import WorkerContext
from mediation_worker.outbox.dispatch import on
from mediation_worker.stats.jobs import arq_job_id


@on(JOB_REQUESTED)
async def enqueue_import_job(session: AsyncSession, event: OutboxEvent, c: WorkerContext) -> None:
    job_id = str(event.payload["job_id"])
    await c.redis.enqueue_job(RUN_IMPORT_JOB, job_id, _job_id=arq_job_id(job_id))
