"""the audit chain is written at COMMIT by the database (issue 22 item 4)

Every write and every logged read appends to one chain under one advisory lock held to the end
of COMMIT. The service took the lock, read the head, hashed in Python, inserted, then
committed: two round trips and two turns of the event loop inside the lock, each of which
every other writer queued behind (the mixed load's tail, docs/performance.md). Now the service
stages the transaction's entries in one row of `audit_pending` (each with its canonical JSON up
to `seq`, computed in Python as before) and a deferred constraint trigger chains them when the
transaction commits: the lock is held from the trigger to the commit's end, inside the
database, with no round trip and no Python in between.

The hashes are the same bytes as before (`prev_hash || canonical || seq || '}'`, SHA-256 hex,
or `sm3:` + SM3 hex in the `gm` profile), so `verify` is unchanged and old chains go on. SM3
is pgcrypto's `digest(data, 'sm3')` (OpenSSL's); pgcrypto is created here when the server has
it and the migrating role may (a trusted extension since PostgreSQL 13), and the trigger says
so plainly when the `gm` profile writes without it.

Expand only: `audit_chain_head` stays (the trigger and the archive take the lock through it),
so the code before this revision, which inserts into `audit_events` itself under the same lock,
still writes during a rolling upgrade, and the two chain into one.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06 19:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0033"
down_revision: str | Sequence[str] | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        DO $$ BEGIN
            CREATE EXTENSION IF NOT EXISTS pgcrypto;
        EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN
            RAISE NOTICE 'pgcrypto not created (%): the gm profile needs it', SQLERRM;
        END $$
        """
    )
    op.create_table(
        "audit_pending",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("notify", sa.Boolean(), nullable=False),
        sa.Column("profile", sa.String(length=10), nullable=False),
        sa.Column("entries", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_pending")),
        prefixes=["UNLOGGED"],
    )
    op.execute(
        """
        CREATE FUNCTION audit_chain_seal() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            head_seq bigint;
            head_hash text;
            e jsonb;
            data bytea;
            entry_hash text;
        BEGIN
            IF NEW.profile = 'gm' AND to_regprocedure('digest(bytea,text)') IS NULL THEN
                RAISE EXCEPTION 'the gm profile chains the audit trail with SM3, which needs'
                    ' the pgcrypto extension: CREATE EXTENSION pgcrypto';
            END IF;
            -- The lock (held to the end of this COMMIT), the relay's NOTIFY, the newest entry.
            SELECT h.seq, h.hash INTO head_seq, head_hash FROM audit_chain_head(NEW.notify) h;
            IF head_seq IS NULL THEN
                head_seq := 0;
                head_hash := repeat('0', 64);
            END IF;
            FOR e IN SELECT value FROM jsonb_array_elements(NEW.entries) LOOP
                head_seq := head_seq + 1;
                data := convert_to(head_hash || (e ->> 'c') || head_seq::text || '}', 'UTF8');
                -- Apart: PL/pgSQL prepares a statement when it first runs it, so a server
                -- without pgcrypto still chains with SHA-256.
                IF NEW.profile = 'gm' THEN
                    entry_hash := 'sm3:' || encode(digest(data, 'sm3'), 'hex');
                ELSE
                    entry_hash := encode(sha256(data), 'hex');
                END IF;
                INSERT INTO audit_events (
                    seq, at, actor_id, actor_name, action, record_type, record_id, result,
                    client_ip, request_id, detail, prev_hash, hash
                ) VALUES (
                    head_seq, (e ->> 'at')::timestamptz, (e ->> 'actor_id')::uuid,
                    e ->> 'actor_name', e ->> 'action', e ->> 'record_type',
                    (e ->> 'record_id')::uuid, e ->> 'result', e ->> 'client_ip',
                    e ->> 'request_id', e -> 'detail', head_hash, entry_hash
                );
                head_hash := entry_hash;
            END LOOP;
            DELETE FROM audit_pending WHERE id = NEW.id;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE CONSTRAINT TRIGGER audit_pending_chain AFTER INSERT ON audit_pending"
        " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_chain_seal()"
    )


def downgrade() -> None:
    op.execute("DROP TABLE audit_pending")  # its trigger with it
    op.execute("DROP FUNCTION audit_chain_seal()")
