"""What every import writer shares: its context (transaction, import, lookups, settings,
the import's time), the columns marking a record historical with its source, and the
`imported` timeline entry's data. A writer subclasses `Writer` and fills `write`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mediation.imports.models import ImportFile
from mediation.imports.rows import Lookups
from mediation.settings import Settings

REGISTER = "历史台账"  # who the register's own timeline entries are attributed to
BATCH = 2000
Records = list[tuple[int, dict[str, Any]]]
Progress = Callable[[int], Awaitable[None]]


class Writer:
    def __init__(
        self,
        session: AsyncSession,
        imp: ImportFile,
        lookups: Lookups,
        settings: Settings,
        now: datetime,
    ) -> None:
        self.session, self.imp, self.lookups, self.settings, self.now = (
            session,
            imp,
            lookups,
            settings,
            now,
        )
        self.setup()

    def setup(self) -> None:
        """What a writer prepares from its context before writing (keys, caches)."""

    async def write(self, records: Records, progress: Progress) -> int:
        """Writes every record (in the caller's transaction); returns how many."""
        raise NotImplementedError

    def sourced(self, row_no: int) -> dict[str, Any]:
        """The columns of a new row of an imported record: historical, its file and row, and
        the import's time as its creation."""
        return {
            "historical": True,
            "import_id": self.imp.id,
            "import_sha256": self.imp.sha256,
            "import_row": row_no,
            "created_at": self.now,
            "updated_at": self.now,
        }

    def source(self, row_no: int) -> dict[str, Any]:
        """The data of the `imported` timeline entry: the file and row it came from."""
        return {
            "import_id": str(self.imp.id),
            "filename": self.imp.filename,
            "row": row_no,
            "sha256": self.imp.sha256,
        }
