"""API bodies of imports."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field

from mediation.contracts.common import Contract, Instant
from mediation.imports.enums import ImportKind, ImportStatus


class ImportProblem(Contract):
    """One problem of an uploaded file: where it is and what to do, in Chinese and English."""

    row: int = Field(description="Row of the sheet (the header is row 1; 1 = the whole file).")
    column: str | None = Field(description="The column's header as in the file, if one.")
    cell: str | None = Field(description="The cell (e.g. `M7`), if one.")
    message_zh: str = Field(description="What is wrong, in Chinese.")
    message_en: str = Field(description="What is wrong, in English.")


class ImportOut(Contract):
    """An uploaded file: validated by one job, imported (all or nothing) by another."""

    id: uuid.UUID = Field(description="Import id.")
    kind: ImportKind = Field(description="What the file holds.")
    status: ImportStatus = Field(description="Where it stands.")
    filename: str = Field(description="The uploaded file's name.")
    sha256: str = Field(description="SHA-256 of its bytes: the same file is imported once.")
    size: int = Field(description="Bytes.")
    encoding: str | None = Field(description="A CSV's detected encoding (`utf-8` or `gbk`).")
    rows: int | None = Field(description="Data rows (once validated).")
    problem_count: int | None = Field(description="Problems found (once validated).")
    problems: list[ImportProblem] = Field(
        description="The problems, by row (the first 10,000; the annotated sheet has all)."
    )
    created: int | None = Field(description="Records created by the commit.")
    skipped: int | None = Field(
        description="Rows not created because this file had already been imported."
    )
    uploaded_by_name: str = Field(description="Who uploaded it.")
    created_at: Instant = Field(description="When it was uploaded.")
    validate_job_id: uuid.UUID | None = Field(description="The validation job (`/jobs/{id}`).")
    commit_job_id: uuid.UUID | None = Field(description="The commit job, once asked for.")
    annotated_href: str | None = Field(
        description="The uploaded sheet with its problems marked (XLSX), when it has problems."
    )


class ImportJobResult(Contract):
    """What a finished import job did."""

    import_id: uuid.UUID = Field(description="The import.")
    status: ImportStatus = Field(description="The import's status after the job.")
    rows: int = Field(description="Data rows.")
    problem_count: int = Field(description="Problems found.")
    created: int | None = Field(description="Records created (commit only).")
    recomputed_months: list[str] = Field(
        default_factory=list,
        description="Past months (YYYY-MM) whose monthly report the commit queued again, "
        "because imported records fall in them (commit only).",
    )
    href: str = Field(description="Where to read the import.")


def historical_field() -> Any:
    """`historical` of a record that can be imported (hotline calls, outreach, sessions)."""
    return Field(
        False,
        description="Imported from a register (issue 20): no notifications were sent and "
        "nothing fell due; where it has a timeline, it shows the register's times and one "
        "`imported` entry.",
    )
