"""Outbox event types of the statistics."""

from __future__ import annotations

# Internal: the API asks the worker to run a queued job (payload: job_id, year, month).
RECOMPUTE_REQUESTED = "stats.recompute_requested"
# A month's report (a version) is stored; one event per district (and city) node. Payload:
# year, month ("2026-10"), version, report_id, trigger, job_id, unit_id, unit_name, unit_ids.
MONTHLY_READY = "stats.monthly_ready"
# An opening balance entered by hand (the audit trail of who entered which totals; imported
# ones are traced by their import's events). Payload: balance_id, unit_id, month.
OPENING_BALANCE_RECORDED = "stats.opening_balance_recorded"
