"""Writing the checked rows of an opening-balances sheet: one balance per unit and month,
with its source (file and row). The statistics add them when the month is computed."""

from __future__ import annotations

from sqlalchemy import insert

from mediation.ids import uuid7
from mediation.stats.balances import COUNTS, OpeningBalance
from mediation_worker.imports.writing import Progress, Records, Writer


class BalanceWriter(Writer):
    async def write(self, records: Records, progress: Progress) -> int:
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
                **self.sourced(row_no),
            }
            for row_no, rec in records
        ]
        if rows:
            await self.session.execute(insert(OpeningBalance.__table__), rows)
        await progress(len(rows))
        return len(rows)
