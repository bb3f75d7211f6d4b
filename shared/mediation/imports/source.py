"""The columns a record imported from a register carries (issue 20): marked historical (no
deadlines, no notifications) and its source file and row. A table using it also declares
`UniqueConstraint("import_sha256", "import_row")`: the same file imported twice creates
nothing new."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, text
from sqlalchemy.orm import Mapped, mapped_column


class ImportSource:
    historical: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    import_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("import_files.id"))
    import_sha256: Mapped[str | None] = mapped_column(String(64))
    import_row: Mapped[int | None]
