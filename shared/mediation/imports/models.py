"""An uploaded import file: its bytes (validated and committed by worker jobs), its hash
(the same file imported twice creates nothing new) and what validation found."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mediation.db import Base, IdMixin, TimestampMixin
from mediation.imports.enums import ImportKind, ImportStatus
from mediation.org.models import enum_type, unit_path_index


class ImportFile(IdMixin, TimestampMixin, Base):
    __tablename__ = "import_files"
    __table_args__ = (unit_path_index("import_files"),)

    kind: Mapped[ImportKind] = mapped_column(enum_type(ImportKind, "import_kind"))
    status: Mapped[ImportStatus] = mapped_column(enum_type(ImportStatus, "import_status"))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int]
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    # The importer's home unit (who may read the file) and the subtrees its rows may name.
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    unit_path: Mapped[str] = mapped_column(String(400))
    scope_paths: Mapped[list[str]] = mapped_column(ARRAY(String(400)))
    uploaded_by_id: Mapped[uuid.UUID]
    uploaded_by_name: Mapped[str] = mapped_column(String(200))
    encoding: Mapped[str | None] = mapped_column(String(20))
    rows: Mapped[int | None]
    problem_count: Mapped[int | None]
    # At most the first MAX_PROBLEMS problems, as {row, column, field, message_zh, message_en}.
    problems: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    created: Mapped[int | None]
    skipped: Mapped[int | None]
    # The uploaded sheet with its problems marked (made when there are problems).
    annotated: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    validate_job_id: Mapped[uuid.UUID | None]
    commit_job_id: Mapped[uuid.UUID | None]
