"""session lists (issue 22): the coming sessions and a date range without walking the past

- `ix_mediation_sessions_status_starts_at_id`: a list of one status in time order (the
  coming, scheduled sessions first) walked the (starts_at, id) index through every past
  session: 224 ms for a street's scheduled sessions at full scale, 0.9 ms with this index.
- `lasts_at_most_a_day`: no session lasts longer than a day (the API plans at most 12 hours,
  a history import records at most 24). The list of sessions overlapping a range
  (`ends_at > from`) bounds its index scan by the start (`starts_at > from - 1 day`), which
  is right only while the check holds: 135–178 ms → 1 ms for the last month's sessions.
  Added NOT VALID, then validated: the validation takes no lock that stops writes.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 03:10:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0029"
down_revision: str | Sequence[str] | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE mediation_sessions ADD CONSTRAINT ck_mediation_sessions_lasts_at_most_a_day "
        "CHECK (ends_at <= starts_at + interval '1 day') NOT VALID"
    )
    op.execute(
        "ALTER TABLE mediation_sessions VALIDATE CONSTRAINT "
        "ck_mediation_sessions_lasts_at_most_a_day"
    )
    op.create_index(
        "ix_mediation_sessions_status_starts_at_id",
        "mediation_sessions",
        ["status", "starts_at", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_mediation_sessions_status_starts_at_id", table_name="mediation_sessions")
    op.drop_constraint(
        "ck_mediation_sessions_lasts_at_most_a_day", "mediation_sessions", type_="check"
    )
