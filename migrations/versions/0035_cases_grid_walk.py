"""a grid's case lists and text search walk only the grid's cases (issue 22 item 2)

`ix_cases_received_at_id` serves every list newest first, the caller's subtree checked on
each entry (migration 0034). A grid holds about 1% of the cases: its first page walked some
hundred entries of other grids for each of its own, and its text search visited its cases
spread over ten times as many heap pages as a street's. This index is ordered by the grid a
case lies in (the path's first five components, `mediation.auth.scope.GRID_KEY_SQL`; NULL
above the grids), then newest first, with the same filter columns: a grid-level caller's list
reads only the grid's entries. One more entry per intake.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07 09:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: str | Sequence[str] | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As written in the model (`GRID_KEY_SQL`); a migration keeps its own copy.
_GRID_KEY = r"substring(unit_path::text, '^(?:[^.]+\.){5}'::text)"


def upgrade() -> None:
    op.create_index(
        "ix_cases_grid_received",
        "cases",
        [sa.text(_GRID_KEY), "received_at", "id"],
        postgresql_include=["status", "category_code", "source", "risk_colour"],
    )


def downgrade() -> None:
    op.drop_index("ix_cases_grid_received", table_name="cases")
