"""hardening (issue 18, item 5): archiving the audit trail behind an anchor

`audit_anchors` records the last entry of each archive (its `seq` and hash): verification of
the table starts there. The append-only trigger now lets a DELETE through only for entries at
or below the newest anchor (already written to an archive file); UPDATE and TRUNCATE stay
refused, and anchors themselves are append-only.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 18:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Hashes of the national profile carry an `sm3:` prefix, SM4 key ids an `sm4:` prefix.
_WIDER = [
    ("audit_events", "prev_hash", 64, 80),
    ("audit_events", "hash", 64, 80),
    ("hotline_calls", "caller_hash", 64, 80),
    ("hotline_calls", "callback_key_id", 40, 48),
    ("case_parties", "phone_hash", 64, 80),
    ("case_parties", "id_hash", 64, 80),
]


def upgrade() -> None:
    for table, column, old, new in _WIDER:
        op.alter_column(
            table, column, type_=sa.String(length=new), existing_type=sa.String(length=old)
        )
    op.create_table(
        "audit_anchors",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=80), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("file", sa.String(length=500), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_anchors")),
    )
    op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
    op.execute(
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR TRUNCATE ON audit_events"
        " FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_anchors_append_only BEFORE UPDATE OR DELETE OR TRUNCATE"
        " ON audit_anchors FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
    )
    op.execute(
        """
        CREATE FUNCTION audit_events_delete_archived() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF OLD.seq > COALESCE((SELECT max(seq) FROM audit_anchors), 0) THEN
                RAISE EXCEPTION
                    'audit_events is append-only: entry % is not archived, DELETE refused',
                    OLD.seq USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN OLD;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_events_delete_archived BEFORE DELETE ON audit_events"
        " FOR EACH ROW EXECUTE FUNCTION audit_events_delete_archived()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_events_delete_archived ON audit_events")
    op.execute("DROP FUNCTION audit_events_delete_archived()")
    op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
    op.execute(
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE"
        " ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
    )
    op.drop_table("audit_anchors")
    for table, column, old, new in _WIDER:
        op.alter_column(
            table, column, type_=sa.String(length=old), existing_type=sa.String(length=new)
        )
