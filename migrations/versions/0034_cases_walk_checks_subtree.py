"""case lists and text search (issue 22 item 2): the newest-first walk checks the subtree in
the index

`ix_cases_received_at_id` carried the unit path as an INCLUDE column (migration 0027). An
INCLUDE column can only be tested after the heap visit that a text search (its text is in
the heap) or an index page not yet all-visible (the newest cases) needs: a street's text
search visited the heap row of every case it passed over, five in six of them outside the
street, and a grid's list did so for eleven to fifteen thousand cases on new pages. As the
third key column (`text_pattern_ops`, like `ix_cases_unit_path_prefix`) the caller's prefix
becomes an index condition, checked on the index entry: only the subtree's cases reach the
heap. Same order (received_at, id are unique together), same size, same entries per intake.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07 06:30:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0034"
down_revision: str | Sequence[str] | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FILTERS = ["status", "category_code", "source", "risk_colour"]


def upgrade() -> None:
    op.drop_index("ix_cases_received_at_id", table_name="cases")
    op.create_index(
        "ix_cases_received_at_id",
        "cases",
        ["received_at", "id", "unit_path"],
        postgresql_ops={"unit_path": "text_pattern_ops"},
        postgresql_include=_FILTERS,
    )


def downgrade() -> None:
    op.drop_index("ix_cases_received_at_id", table_name="cases")
    op.create_index(
        "ix_cases_received_at_id",
        "cases",
        ["received_at", "id"],
        postgresql_include=["unit_path", *_FILTERS],
    )
