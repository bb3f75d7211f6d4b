"""Outbox event types of the statistics."""

from __future__ import annotations

import uuid
from typing import ClassVar

from mediation.outbox.payloads import EventPayload, UnitId
from mediation.stats.enums import ReportTrigger

# Internal: the API asks the worker to run a queued job (payload: job_id, year, month).
RECOMPUTE_REQUESTED = "stats.recompute_requested"
# A month's report (a version) is stored; one event per district (and city) node. Payload:
# year, month ("2026-10"), version, report_id, trigger, job_id, unit_id, unit_name, unit_ids.
MONTHLY_READY = "stats.monthly_ready"
# An opening balance entered by hand (the audit trail of who entered which totals; imported
# ones are traced by their import's events). Payload: balance_id, unit_id, month.
OPENING_BALANCE_RECORDED = "stats.opening_balance_recorded"


class RecomputeRequested(EventPayload):
    """Internal: the API (or an import) asks the worker to run the queued job `job_id`."""

    aggregate_type: ClassVar[str] = "job"
    event_types: ClassVar[tuple[str, ...]] = (RECOMPUTE_REQUESTED,)
    job_id: uuid.UUID
    year: int
    month: str  # "2026-10"
    # The import whose rows changed the month.
    import_id: uuid.UUID | None = None


class MonthlyReady(EventPayload):
    """A month's report (a version) is stored: one event per district (and the city)."""

    aggregate_type: ClassVar[str] = "stats_report"
    event_types: ClassVar[tuple[str, ...]] = (MONTHLY_READY,)
    year: int
    month: str
    version: int
    report_id: uuid.UUID
    trigger: ReportTrigger
    job_id: uuid.UUID
    unit_id: UnitId
    unit_name: str
    # Every district (and city) node a report event goes to this time.
    unit_ids: list[uuid.UUID]


class OpeningBalanceRecorded(EventPayload):
    """An opening balance entered by hand (who entered which totals; imported ones are traced
    by their import's events)."""

    aggregate_type: ClassVar[str] = "opening_balance"
    event_types: ClassVar[tuple[str, ...]] = (OPENING_BALANCE_RECORDED,)
    balance_id: uuid.UUID
    unit_id: UnitId
    month: str  # "2026-10"
