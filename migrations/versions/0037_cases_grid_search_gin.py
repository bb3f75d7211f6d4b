"""a grid's text search finds the grid's matches in the trigram indexes (issue 22 item 2)

A grid's search for a term of three characters or more (物业费, 宅基地) ANDed the trigram
index's matches in the whole table (38,334 cases for 物业费 at 1,000,000) with the grid's
cases, then sorted: 5 ms in a grid of 300 cases, 9 to 10 in the busiest, where the street's
search walks newest first in about 1 ms. The trigram indexes of `search_text` and
`party_names` (searched too for callers who may read names) get the grid key
(`mediation.auth.scope.GRID_KEY_SQL`, btree_gin) as their first column: the grid's matches
come from the indexes alone (0.3 ms in a grid of 300 cases, 2 to 3 in the busiest). A GIN
index serves a condition on any of its columns alike, so searches above the grids use them as
before; each replaces the old index (the same entries, one more key per case).

Plain CREATE INDEX (about 30 and 15 s at 1,000,000 cases; writes to `cases` wait meanwhile): on a
large live database build them beforehand with CREATE INDEX CONCURRENTLY under the same names
(this migration then finds them: IF NOT EXISTS), after CREATE EXTENSION btree_gin.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-07 12:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0037"
down_revision: str | Sequence[str] | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As written in the model (`GRID_KEY_SQL`); a migration keeps its own copy.
_GRID_KEY = r"substring(unit_path::text, '^(?:[^.]+\.){5}'::text)"
_COLUMNS = ("search_text", "party_names")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    for column in _COLUMNS:
        op.create_index(
            f"ix_cases_grid_{column}_trgm",
            "cases",
            [sa.text(_GRID_KEY), column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
            if_not_exists=True,
        )
        op.drop_index(f"ix_cases_{column}_trgm", table_name="cases", if_exists=True)


def downgrade() -> None:
    for column in _COLUMNS:
        op.create_index(
            f"ix_cases_{column}_trgm",
            "cases",
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )
        op.drop_index(f"ix_cases_grid_{column}_trgm", table_name="cases")
    # btree_gin stays: another object may have come to use it.
