"""cases index diet (issue 22): every intake writes an entry into each index of `cases`

Dropped, because no query uses them (pg_stat_user_indexes under the mixed bench load, and
every query of the code read; see docs/performance.md, "Intake and the index diet"):

- `uq_cases_number_ascii`: the ASCII number is the district's code, year and sequence, so
  the (district_id, year, seq) key already keeps it unique; the imports look it up by that
  key.
- `ix_cases_handling_unit_id`: nothing filters by the handling unit's id (the handling
  unit's path is what lists and reminders read); units are never deleted.

Made partial (`WHERE ... IS NOT NULL`), same uniqueness: `uq_cases_external_client_id_external_ref`
and `uq_cases_import_sha256_import_row`. A unique index never compares NULLs, yet a full one
still takes an entry for every case; the lookups by reference and by file name the column,
which implies the predicate.

Widened: `ix_cases_received_at_id` includes the columns the list filters test (unit path,
status, category, source, risk colour), so a list page (which takes its ids first,
`mediation_api.cases.reads.page_query`) walks the index alone instead of visiting the heap row
of every case it passes over: a grid's page passed over thousands.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05 21:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_PARTIAL = {
    "uq_cases_external_client_id_external_ref": (
        ["external_client_id", "external_ref"],
        "external_ref IS NOT NULL",
    ),
    "uq_cases_import_sha256_import_row": (
        ["import_sha256", "import_row"],
        "import_sha256 IS NOT NULL",
    ),
}


_COVERING = ["unit_path", "status", "category_code", "source", "risk_colour"]


def upgrade() -> None:
    op.drop_constraint("uq_cases_number_ascii", "cases", type_="unique")
    op.drop_index("ix_cases_handling_unit_id", table_name="cases")
    for name, (columns, where) in _PARTIAL.items():
        op.drop_constraint(name, "cases", type_="unique")
        op.create_index(name, "cases", columns, unique=True, postgresql_where=sa.text(where))
    op.drop_index("ix_cases_received_at_id", table_name="cases")
    op.create_index(
        "ix_cases_received_at_id", "cases", ["received_at", "id"], postgresql_include=_COVERING
    )


def downgrade() -> None:
    op.drop_index("ix_cases_received_at_id", table_name="cases")
    op.create_index("ix_cases_received_at_id", "cases", ["received_at", "id"])
    for name, (columns, _) in _PARTIAL.items():
        op.drop_index(name, table_name="cases")
        op.create_unique_constraint(name, "cases", columns)
    op.create_index("ix_cases_handling_unit_id", "cases", ["handling_unit_id"])
    op.create_unique_constraint("uq_cases_number_ascii", "cases", ["number_ascii"])
