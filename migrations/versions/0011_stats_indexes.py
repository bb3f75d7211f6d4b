"""indexes for the monthly statistics (issue 8) and the reminder sweeps

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 17:15:00+00:00

The statistics find a month's records by time instead of reading every case: the steps of a
case (received_at has its index already), the deadlines that fell due, the follow-up visits,
the hotline follow-ups done. Partial where the column is mostly NULL. The hotline follow-up
sweep finds the calls whose follow-up is still to do. The statistics' rows reference their
report through statement-level triggers instead of per-row foreign-key checks (see below).

Plain CREATE INDEX: on a large live database build them beforehand with CREATE INDEX
CONCURRENTLY under the same names (this migration then finds them: IF NOT EXISTS).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CASE_STEPS = ("accepted_at", "resolved_at", "failed_at", "withdrawn_at")
STATS_TABLES = ("stats_rows", "stats_breakdowns")


def upgrade() -> None:
    for col in CASE_STEPS:
        op.create_index(
            f"ix_cases_{col}",
            "cases",
            [col],
            unique=False,
            postgresql_where=sa.text(f"{col} IS NOT NULL"),
            if_not_exists=True,
        )
    op.create_index(
        "ix_case_deadlines_due_at", "case_deadlines", ["due_at"], unique=False, if_not_exists=True
    )
    op.create_index(
        "ix_case_follow_ups_visited_at",
        "case_follow_ups",
        ["visited_at"],
        unique=False,
        if_not_exists=True,
    )
    # The hotline follow-up reminder sweep (every minute): only calls whose follow-up is
    # still to do, instead of reading every call.
    op.create_index(
        "ix_hotline_calls_follow_up_pending",
        "hotline_calls",
        ["follow_up_due"],
        unique=False,
        postgresql_where=sa.text(
            "follow_up_due IS NOT NULL AND follow_up_done_at IS NULL AND deidentified_at IS NULL"
        ),
        if_not_exists=True,
    )
    op.create_index(
        "ix_hotline_calls_follow_up_done_at",
        "hotline_calls",
        ["follow_up_done_at"],
        unique=False,
        postgresql_where=sa.text("follow_up_done_at IS NOT NULL"),
        if_not_exists=True,
    )
    # The rows of a computation point at their report without a FOREIGN KEY: its per-row
    # check (a locking lookup per inserted row) cost 4 s of the rows and 8 s of the breakdowns
    # at a million cases. The same guarantees, once per statement: an INSERT whose rows name a
    # report that does not exist fails, and deleting reports deletes their rows (was ON
    # DELETE CASCADE). Reports are never updated.
    for table in STATS_TABLES:
        op.drop_constraint(f"fk_{table}_report_id_stats_reports", table, type_="foreignkey")
        op.execute(
            f"""
CREATE FUNCTION {table}_check_report() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (
    SELECT 1 FROM (SELECT DISTINCT report_id FROM new_rows) n
    WHERE NOT EXISTS (SELECT 1 FROM stats_reports r WHERE r.id = n.report_id)
  ) THEN
    RAISE EXCEPTION 'insert into {table}: the report does not exist'
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $$"""
        )
        op.execute(
            f"CREATE TRIGGER {table}_check_report AFTER INSERT ON {table} "
            "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
            f"EXECUTE FUNCTION {table}_check_report()"
        )
    op.execute(
        """
CREATE FUNCTION stats_reports_delete_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM stats_rows WHERE report_id IN (SELECT id FROM old_reports);
  DELETE FROM stats_breakdowns WHERE report_id IN (SELECT id FROM old_reports);
  RETURN NULL;
END $$"""
    )
    op.execute(
        "CREATE TRIGGER stats_reports_delete_rows AFTER DELETE ON stats_reports "
        "REFERENCING OLD TABLE AS old_reports FOR EACH STATEMENT "
        "EXECUTE FUNCTION stats_reports_delete_rows()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER stats_reports_delete_rows ON stats_reports")
    op.execute("DROP FUNCTION stats_reports_delete_rows()")
    for table in STATS_TABLES:
        op.execute(f"DROP TRIGGER {table}_check_report ON {table}")
        op.execute(f"DROP FUNCTION {table}_check_report()")
        op.create_foreign_key(
            f"fk_{table}_report_id_stats_reports",
            table,
            "stats_reports",
            ["report_id"],
            ["id"],
            ondelete="CASCADE",
        )
    op.drop_index("ix_hotline_calls_follow_up_done_at", table_name="hotline_calls", if_exists=True)
    op.drop_index("ix_hotline_calls_follow_up_pending", table_name="hotline_calls", if_exists=True)
    op.drop_index("ix_case_follow_ups_visited_at", table_name="case_follow_ups", if_exists=True)
    op.drop_index("ix_case_deadlines_due_at", table_name="case_deadlines", if_exists=True)
    for col in reversed(CASE_STEPS):
        op.drop_index(f"ix_cases_{col}", table_name="cases", if_exists=True)
