"""case intake: fewer writes, district case-number sequences (issue 4)

Case numbers come from one sequence per district and year, made on demand by
`case_number_next(district, year)`, instead of the `case_number_counters` row that every
intake locked until it committed (so one district's intakes ran one at a time). A sequence
hands out a number without a lock held to commit: intakes overlap, numbers stay unique and
are never given twice, but a number taken by an intake that then fails is skipped (a gap).

A sequence starts after the larger of its counter row (set by data loads and imports; kept
as the seed) and the highest number already used. It is OWNED BY
`case_number_counters.last_value`, so it goes when that table goes, and `TRUNCATE
case_number_counters RESTART IDENTITY` restarts it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 17:15:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The name of a district-year's sequence: case_number_<district id, hex>_<year>.
_NAME = "format('case_number_%s_%s', replace(p_district::text, '-', ''), p_year)"

NEXT = f"""
CREATE OR REPLACE FUNCTION case_number_next(p_district uuid, p_year integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    name text := {_NAME};
    seq regclass := to_regclass(name);
    start bigint;
BEGIN
    IF seq IS NULL THEN
        -- The first number of a district's year: one creator at a time; a concurrent one
        -- waits here until the creator's transaction ends, then finds the sequence.
        PERFORM pg_advisory_xact_lock(hashtextextended('case-number:' || name, 0));
        seq := to_regclass(name);
        IF seq IS NULL THEN
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
                NULL;  -- made meanwhile by a transaction that has committed
            END;
            seq := name::regclass;
        END IF;
    END IF;
    RETURN nextval(seq);
END
$$
"""


def upgrade() -> None:
    op.execute(NEXT)


def downgrade() -> None:
    # Back to the counter rows: each takes the last number its sequence gave.
    op.execute(
        f"""
DO $$
DECLARE
    k record;
    name text;
    used bigint;
BEGIN
    FOR k IN SELECT DISTINCT c.district_id AS p_district, c.year AS p_year
             FROM cases c LOOP
        name := {_NAME.replace("p_district", "k.p_district").replace("p_year", "k.p_year")};
        IF to_regclass(name) IS NOT NULL THEN
            EXECUTE format('SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END '
                           'FROM %I', name) INTO used;
            INSERT INTO case_number_counters (district_id, year, last_value)
            VALUES (k.p_district, k.p_year, used)
            ON CONFLICT (district_id, year) DO UPDATE
            SET last_value = greatest(case_number_counters.last_value, excluded.last_value);
        END IF;
    END LOOP;
    FOR name IN SELECT c.relname FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind = 'S' AND c.relname LIKE 'case\\_number\\_%'
                  AND n.nspname = current_schema() LOOP
        EXECUTE format('DROP SEQUENCE %I', name);
    END LOOP;
END
$$
"""
    )
    op.execute("DROP FUNCTION case_number_next(uuid, integer)")
