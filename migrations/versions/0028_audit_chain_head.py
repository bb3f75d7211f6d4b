"""audit chain's head in one round trip (issue 22): `audit_chain_head(notify)`

Every write appends to the audit chain under one global advisory lock held until COMMIT, so
each round trip inside the lock serialises every writer of the service. The function takes
the lock, wakes the outbox relay if asked (the once-per-transaction NOTIFY the lock's statement
carried before), and returns the newest entry's (seq, hash), else the newest archive anchor's:
what took two or three statements is one. The hash stays in Python (SM3 is not in PostgreSQL),
so the INSERT of the chained entries cannot join this round trip.

VOLATILE on purpose: in READ COMMITTED each statement of a volatile function takes a fresh
snapshot, so the read after the lock sees the previous holder's commit (a STABLE function
would read with the calling statement's snapshot, taken before the lock was granted, and hand
out a `seq` already used).

The lock's key ("audit" in ASCII) is written here only; the archive takes the lock through
this function too.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05 23:50:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION audit_chain_head(notify boolean)
            RETURNS TABLE(seq bigint, hash text)
            LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            PERFORM pg_advisory_xact_lock(418581342580);  -- 0x6175646974, "audit"
            IF notify THEN
                PERFORM pg_notify('outbox', '');
            END IF;
            RETURN QUERY
                SELECT e.seq, e.hash::text FROM audit_events e ORDER BY e.seq DESC LIMIT 1;
            IF NOT FOUND THEN  -- everything archived: the chain goes on from the newest anchor
                RETURN QUERY
                    SELECT a.seq, a.hash::text FROM audit_anchors a ORDER BY a.seq DESC LIMIT 1;
            END IF;
        END $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION audit_chain_head(boolean)")
