"""Outbox event types of imports (they are also the audit trail of who imported what)."""

from __future__ import annotations

# Internal: run an import job (payload: job_id, import_id, kind, mode).
JOB_REQUESTED = "import.job_requested"
