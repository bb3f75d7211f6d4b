"""case lists (issue 22 item 2): the open-work and overdue filters by subtree without a bitmap

Below the street, a list filtered to open statuses or to overdue cases walked the newest-first
index a long way (the matches are sparse in a grid) or, as the planner preferred, built a
bitmap of the whole subtree (17,343 entries for the busiest grid) and ANDed it with the status
or due-time index (21,170 / 16,622 entries): 9.6 ms (open work), 3.3 ms (received) and 7.0 ms
(overdue) at the busiest grid against 0.4, 1.5 and 6.7 ms at its street. Two partial indexes
keyed by the subtree, with what the page needs to sort beside it (an index-only scan, then the
page's rows by id): open work 0.6 ms, received 0.14, overdue 0.6 (street overdue 1.6). Only
open cases take an entry (about 3% of them at 1,000,000 cases).

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06 06:55:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | Sequence[str] | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copied from mediation.cases.models at this revision (a migration does not import
# application code).
_OPEN = "status IN ('received', 'accepted', 'assigned', 'in_mediation')"


def upgrade() -> None:
    op.create_index(
        "ix_cases_open_unit_path",
        "cases",
        ["status", "unit_path"],
        postgresql_ops={"unit_path": "text_pattern_ops"},
        postgresql_include=["received_at", "id"],
        postgresql_where=sa.text(_OPEN),
    )
    op.create_index(
        "ix_cases_due_unit_path",
        "cases",
        ["unit_path"],
        postgresql_ops={"unit_path": "text_pattern_ops"},
        postgresql_include=["due_at", "paused_at", "received_at", "id"],
        postgresql_where=sa.text("due_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_cases_due_unit_path", table_name="cases")
    op.drop_index("ix_cases_open_unit_path", table_name="cases")
