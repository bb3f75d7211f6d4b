"""case references: a hotline call's and a resident opinion's case_id refer to the case

Both columns were plain UUIDs from the time the domains lived on separate branches, so a
call or opinion could name a case that does not exist. They now carry foreign keys. A
reference to a case that does not exist (none can be made through the API) is cleared
first, so the constraint validates on any database.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 14:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("hotline_calls", "resident_opinions")


def upgrade() -> None:
    for table in TABLES:
        op.execute(
            f"UPDATE {table} t SET case_id = NULL WHERE case_id IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = t.case_id)"
        )
        op.create_foreign_key(
            f"fk_{table}_case_id_cases", table, "cases", ["case_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    for table in TABLES:
        op.drop_constraint(f"fk_{table}_case_id_cases", table, type_="foreignkey")
