"""Outbox event types of imports (they are also the audit trail of who imported what)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from mediation.imports.enums import ImportKind
from mediation.outbox.payloads import EventPayload
from mediation.stats.enums import JobKind

# Internal: run an import job (payload: job_id, import_id, kind, mode).
JOB_REQUESTED = "import.job_requested"


class ImportJobRequested(EventPayload):
    """Internal: run an import job (also the audit trail of who imported which file)."""

    aggregate_type: ClassVar[str] = "import"
    event_types: ClassVar[tuple[str, ...]] = (JOB_REQUESTED,)
    job_id: uuid.UUID
    import_id: uuid.UUID
    kind: ImportKind
    mode: JobKind
    filename: str
    sha256: str
