"""One row per (cron job, scheduled slot): with several workers on one database, the first to
insert the row runs the slot, the others skip it (issue 21, item 5). arq's own `unique` cron
ids live in Redis only; after a Redis failover (asynchronous replication) or with clocks a
little apart they can let a slot through twice. The lease is in PostgreSQL, where the work's
own writes are. The wrapper that uses it is `mediation_worker.cronlease`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from mediation.db import Base

# Rows older than this are removed by the next lease taken (a week of slots is plenty to
# see which worker ran what).
KEEP_DAYS = 7


class CronRun(Base):
    __tablename__ = "cron_runs"

    job: Mapped[str] = mapped_column(String(100), primary_key=True)
    slot: Mapped[datetime] = mapped_column(primary_key=True)  # the time it was scheduled for
    worker: Mapped[str] = mapped_column(String(200))  # host:pid that ran it
    started_at: Mapped[datetime]
