"""Every query of the audit trail: its entries by the filters of the list and the export."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.audit.models import AuditEvent
from mediation.errors import Unprocessable, rule_code
from mediation_api.pagination import keyset_page

EXPORT_MAX = 100_000
EXPORT_TOO_LARGE = rule_code(
    "export-too-large", "More entries match than one export holds: narrow it with since and until."
)


@dataclass(frozen=True)
class AuditFilters:
    """The filters of the list and of the CSV export (the same query parameters)."""

    action: str | None
    result: str | None
    actor_id: uuid.UUID | None
    record_type: str | None
    record_id: uuid.UUID | None
    since: datetime | None
    until: datetime | None

    def select(self) -> Select[tuple[AuditEvent]]:
        stmt = select(AuditEvent)
        for column, value in (
            (AuditEvent.action, self.action),
            (AuditEvent.result, self.result),
            (AuditEvent.actor_id, self.actor_id),
            (AuditEvent.record_type, self.record_type),
            (AuditEvent.record_id, self.record_id),
        ):
            if value:
                stmt = stmt.where(column == value)
        if self.since:
            stmt = stmt.where(AuditEvent.at >= self.since)
        if self.until:
            stmt = stmt.where(AuditEvent.at < self.until)
        return stmt

    def given(self) -> dict[str, object]:
        """The filters a caller set (recorded with an export)."""
        return {k: v for k, v in asdict(self).items() if v is not None}


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self, filters: AuditFilters, limit: int, cursor: str | None
    ) -> tuple[list[AuditEvent], str | None]:
        """Newest first."""
        stmt = filters.select()
        return await keyset_page(self.session, stmt, (AuditEvent.seq,), limit, cursor, newest=True)

    async def export(self, filters: AuditFilters) -> list[AuditEvent]:
        """Oldest first, at most EXPORT_MAX (a 422 asks to narrow the filters beyond)."""
        stmt = filters.select().order_by(AuditEvent.seq).limit(EXPORT_MAX + 1)
        rows = list((await self.session.scalars(stmt)).all())
        if len(rows) > EXPORT_MAX:
            raise Unprocessable(
                f"More than {EXPORT_MAX} entries match; narrow the export with since and until.",
                code=EXPORT_TOO_LARGE,
            )
        return rows
