"""more imports: hotline calls, outreach and sessions from registers (issue 20)

Hotline calls, outreach activities, micro-classes and mediation sessions gain `historical` and their source (file, hash, row; unique on hash + row, so
the same file imported twice creates nothing new), like imported cases.

Revision ID: 0024
Revises: 0021
Create Date: 2026-12-05 17:50:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SOURCED = ("hotline_calls", "outreach_activities", "outreach_classes", "mediation_sessions")


def upgrade() -> None:
    for table in SOURCED:
        op.add_column(
            table,
            sa.Column("historical", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        )
        op.add_column(table, sa.Column("import_id", sa.UUID(), nullable=True))
        op.add_column(table, sa.Column("import_sha256", sa.String(length=64), nullable=True))
        op.add_column(table, sa.Column("import_row", sa.Integer(), nullable=True))
        op.create_unique_constraint(
            op.f(f"uq_{table}_import_sha256_import_row"), table, ["import_sha256", "import_row"]
        )
        op.create_foreign_key(
            op.f(f"fk_{table}_import_id_import_files"), table, "import_files", ["import_id"], ["id"]
        )


def downgrade() -> None:
    for table in reversed(SOURCED):
        op.drop_constraint(op.f(f"fk_{table}_import_id_import_files"), table, type_="foreignkey")
        op.drop_constraint(op.f(f"uq_{table}_import_sha256_import_row"), table, type_="unique")
        op.drop_column(table, "import_row")
        op.drop_column(table, "import_sha256")
        op.drop_column(table, "import_id")
        op.drop_column(table, "historical")
