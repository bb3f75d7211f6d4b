"""Writing the checked rows of an opening-balances sheet: one balance per unit and month,
with its source (file and row). The statistics add them when the month is computed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.ids import uuid7
from mediation.imports.models import ImportFile
from mediation.imports.rows import Lookups
from mediation.settings import Settings
from mediation.stats.balances import COUNTS, OpeningBalance


class BalanceWriter:
    def __init__(
        self,
        session: AsyncSession,
        imp: ImportFile,
        lookups: Lookups,
        settings: Settings,
        now: datetime,
    ) -> None:
        self.session, self.imp, self.now = session, imp, now

    async def write(
        self,
        records: list[tuple[int, dict[str, Any]]],
        progress: Callable[[int], Awaitable[None]],
    ) -> int:
        rows = [
            {
                "id": uuid7(),
                "unit_id": rec["unit"].id,
                "unit_path": rec["unit"].path,
                "month_start": rec["month_start"],
                **{key: rec[key] for key in COUNTS},
                "categories": rec["categories"],
                "note": rec["note"],
                "created_by_id": self.imp.uploaded_by_id,
                "created_by_name": self.imp.uploaded_by_name,
                "version": 1,
                "historical": True,
                "import_id": self.imp.id,
                "import_sha256": self.imp.sha256,
                "import_row": row_no,
                "created_at": self.now,
                "updated_at": self.now,
            }
            for row_no, rec in records
        ]
        if rows:
            await self.session.execute(insert(OpeningBalance.__table__), rows)
        await progress(len(rows))
        return len(rows)
