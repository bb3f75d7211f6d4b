"""more imports: hotline calls, outreach and sessions from registers (issue 20)

Hotline calls, outreach activities, micro-classes and mediation sessions gain `historical` and their source (file, hash, row; unique on hash + row, so
the same file imported twice creates nothing new), like imported cases. `opening_balances`
holds the totals of a unit's month kept only as totals; `stats_rows.opening_balances` counts
those a report's figures include (含期初汇总数).

Revision ID: 0024
Revises: 0021
Create Date: 2026-12-05 17:50:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0022"
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

    # Opening balances (totals of months without records) and the reports' count of them.
    op.create_table('opening_balances',
    sa.Column('unit_id', sa.UUID(), nullable=False),
    sa.Column('unit_path', sa.String(length=400), nullable=False),
    sa.Column('month_start', sa.Date(), nullable=False),
    sa.Column('received', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('resolved', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('failed', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('withdrawn', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('categories', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('hotline_calls', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('outreach_activities', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('outreach_participants', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('micro_classes', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('micro_class_participants', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.UUID(), nullable=True),
    sa.Column('created_by_name', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('historical', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('import_id', sa.UUID(), nullable=True),
    sa.Column('import_sha256', sa.String(length=64), nullable=True),
    sa.Column('import_row', sa.Integer(), nullable=True),
    sa.CheckConstraint('extract(day FROM month_start) = 1', name=op.f('ck_opening_balances_first_of_month')),
    sa.CheckConstraint('least(received, resolved, failed, withdrawn, hotline_calls, outreach_activities, outreach_participants, micro_classes, micro_class_participants) >= 0', name=op.f('ck_opening_balances_counts_not_negative')),
    sa.ForeignKeyConstraint(['import_id'], ['import_files.id'], name=op.f('fk_opening_balances_import_id_import_files')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_opening_balances_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opening_balances')),
    sa.UniqueConstraint('import_sha256', 'import_row', name=op.f('uq_opening_balances_import_sha256_import_row')),
    sa.UniqueConstraint('unit_id', 'month_start', name=op.f('uq_opening_balances_unit_id_month_start'))
    )
    op.create_index('ix_opening_balances_month_start', 'opening_balances', ['month_start'], unique=False)
    op.create_index('ix_opening_balances_unit_path_prefix', 'opening_balances', ['unit_path'], unique=False, postgresql_ops={'unit_path': 'text_pattern_ops'})
    op.add_column('stats_rows', sa.Column('opening_balances', sa.Integer(), server_default=sa.text('0'), nullable=False))


def downgrade() -> None:
    op.drop_column('stats_rows', 'opening_balances')
    op.drop_index('ix_opening_balances_unit_path_prefix', table_name='opening_balances', postgresql_ops={'unit_path': 'text_pattern_ops'})
    op.drop_index('ix_opening_balances_month_start', table_name='opening_balances')
    op.drop_table('opening_balances')
    for table in reversed(SOURCED):
        op.drop_constraint(op.f(f"fk_{table}_import_id_import_files"), table, type_="foreignkey")
        op.drop_constraint(op.f(f"uq_{table}_import_sha256_import_row"), table, type_="unique")
        op.drop_column(table, "import_row")
        op.drop_column(table, "import_sha256")
        op.drop_column(table, "import_id")
        op.drop_column(table, "historical")
