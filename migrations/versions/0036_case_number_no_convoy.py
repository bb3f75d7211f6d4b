"""a district year's first intakes wait only for the transaction making its sequence

`case_number_next` (migration 0012) took an advisory transaction lock before making a
district year's sequence. The lock was also taken by every intake that arrived while the
sequence was being made, and held to that intake's commit: once the maker committed, the
waiters went through one after another, each waiting for the previous one's commit (15 of
the first 16 intakes on a fresh dataset waited 0.16 to 1.76 s). Without the lock, a second
maker's CREATE SEQUENCE waits on the catalog's unique index for the first maker's
transaction, fails with a unique violation when it commits, and uses the sequence made;
nothing is held after that.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07 11:45:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0036"
down_revision: str | Sequence[str] | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "format('case_number_%s_%s', replace(p_district::text, '-', ''), p_year)"

_MAKE = """
        SELECT greatest(
            coalesce((SELECT k.last_value FROM case_number_counters k
                      WHERE k.district_id = p_district AND k.year = p_year), 0),
            coalesce((SELECT max(c.seq) FROM cases c
                      WHERE c.district_id = p_district AND c.year = p_year), 0)
        ) + 1 INTO start;
        BEGIN
            EXECUTE format(
                'CREATE SEQUENCE %I AS integer START WITH %s '
                'OWNED BY case_number_counters.last_value',
                name, start
            );
        EXCEPTION WHEN duplicate_table OR unique_violation THEN
            NULL;  -- made by another transaction, which has committed
        END;
        seq := name::regclass;"""

_FUNCTION = f"""
CREATE OR REPLACE FUNCTION case_number_next(p_district uuid, p_year integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    name text := {_NAME};
    seq regclass := to_regclass(name);
    start bigint;
BEGIN
    IF seq IS NULL THEN{{body}}
    END IF;
    RETURN nextval(seq);
END
$$
"""

# Migration 0012's body: the advisory lock held to the caller's commit.
_LOCKED = (
    """
        PERFORM pg_advisory_xact_lock(hashtextextended('case-number:' || name, 0));
        seq := to_regclass(name);
        IF seq IS NULL THEN"""
    + _MAKE.replace("\n", "\n    ")
    + """
        END IF;"""
)


def upgrade() -> None:
    op.execute(_FUNCTION.format(body=_MAKE))


def downgrade() -> None:
    op.execute(_FUNCTION.format(body=_LOCKED))
