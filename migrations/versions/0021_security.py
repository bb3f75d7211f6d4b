"""security (issue 18, item 1): 三员分立 replaces the single `admin` role

The all-powerful `admin` becomes three roles no account may combine: `system_admin`
(organisation, reference data, configuration), `security_admin` (accounts, role
assignments) and `audit_admin` (reads the audit trail). Existing `admin` assignments move to
`system_admin`; the security and audit administrators are appointed afterwards (`mediation
create-user`). The role column is a VARCHAR without a CHECK, so only rows change.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 14:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE role_assignments SET role = 'system_admin' WHERE role = 'admin'")
    # The audit trail (item 5): append-only, hash-chained.
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_name", sa.String(length=100), nullable=True),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=True),
        sa.Column("record_id", sa.Uuid(), nullable=True),
        sa.Column("result", sa.String(length=20), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_action", "audit_events", ["action"], unique=False)
    op.create_index("ix_audit_events_actor_at", "audit_events", ["actor_id", "at"], unique=False)
    op.create_index(
        "ix_audit_events_record", "audit_events", ["record_type", "record_id"], unique=False
    )
    # Append-only: nobody changes or removes an entry through the service's connection.
    op.execute(
        """
        CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
            ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE audit_events")
    op.execute("DROP FUNCTION audit_events_append_only()")
    # The three administrators fold back into the one they came from.
    op.execute(
        "UPDATE role_assignments SET role = 'admin'"
        " WHERE role IN ('system_admin', 'security_admin', 'audit_admin')"
    )
