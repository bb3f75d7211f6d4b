"""The statements of an intake (POST /cases), on asyncpg inside the request's transaction.

Through the ORM an intake cost the API about 17 ms of CPU against 3.4 ms for the same SQL on
bare asyncpg (issue 22): most of it compiling statements and flushing five tables through the
unit of work. Here the reads are plain statements and the write is one: the case, its
parties, its first deadline, its repeat links, its timeline entries and its outbox event are
inserted by the data-modifying CTEs of a single statement, each table's rows given as one
JSON document (foreign keys are checked at the statement's end, when the case row is there).
The ceiling (bench/ceiling.py) runs these very strings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

# Whether the category is an enabled dispute category, and the unit $2 (when it lies in one
# of the subtrees $3) with its ancestors: one row per unit of its path, or one row of NULLs.
PLACE_SQL = (
    "SELECT EXISTS (SELECT 1 FROM reference_items WHERE kind = 'dispute_category' "
    "AND code = $1 AND enabled) AS category_ok, u.id, u.seq, u.level, u.code, u.name, u.path, "
    "u.active FROM (SELECT 1) AS anchor LEFT JOIN units u ON u.seq = ANY (CAST(array_remove("
    "string_to_array((SELECT p.path FROM units p WHERE p.id = $2 "
    "AND p.path LIKE ANY ($3::text[])), '.'), '') AS bigint[]))"
)
# The first deadline's rule (NULLs when its row is missing) and the calendar days it needs.
RULE_CALENDAR_SQL = (
    "SELECT r.unit, r.amount, d.day, d.is_working_day, d.provisional, d.source, d.name "
    "FROM (SELECT 1) AS anchor LEFT JOIN deadline_rules r ON r.stage = $1 "
    "AND r.complexity = $2 LEFT JOIN calendar_days d ON d.day >= $3 AND d.day <= $4"
)
# Earlier cases within the window ($2..$3) sharing a party's phone ($4) or ID number ($5), or
# the building ($6). The window is checked per matching party (LATERAL ... LIMIT 1), so even
# a prepared statement's generic plan starts from the hash index (bench, issue 11).
REPEATS_SQL = (
    "SELECT cp.case_id, 'same_phone' AS reason FROM case_parties cp "
    "JOIN LATERAL (SELECT 1 FROM cases c WHERE c.id = cp.case_id AND c.id != $1 "
    "AND c.received_at >= $2 AND c.received_at <= $3 LIMIT 1) AS in_window ON true "
    "WHERE cp.phone_hash = ANY ($4::text[]) UNION ALL "
    "SELECT cp.case_id, 'same_id_number' FROM case_parties cp "
    "JOIN LATERAL (SELECT 1 FROM cases c WHERE c.id = cp.case_id AND c.id != $1 "
    "AND c.received_at >= $2 AND c.received_at <= $3 LIMIT 1) AS in_window ON true "
    "WHERE cp.id_hash = ANY ($5::text[]) UNION ALL "
    "SELECT c.id, 'same_building' FROM cases c WHERE c.building_id = $6 AND c.id != $1 "
    "AND c.received_at >= $2 AND c.received_at <= $3 LIMIT 200"
)
NUMBER_SQL = "SELECT case_number_next($1, $2)"

# An intake's reads, two round trips instead of four (under load each round trip waits for a
# busy event loop and server again: issue 22, item 4). The place with the category check
# ($1..$3) and the first deadline's rule and calendar days ($4..$7) as one result: `part` 'p'
# rows are PLACE_SQL's, 'c' rows RULE_CALENDAR_SQL's (the other part's columns NULL).
PLACE_CALENDAR_SQL = (
    "SELECT 'p' AS part, category_ok, id, seq, level, code, name, path, active, "
    "NULL AS unit, NULL AS amount, NULL AS day, NULL AS is_working_day, NULL AS provisional, "
    f"NULL AS source, NULL AS day_name FROM ({PLACE_SQL}) AS place UNION ALL "
    "SELECT 'c', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, r.unit, r.amount, d.day, "
    "d.is_working_day, d.provisional, d.source, d.name FROM (SELECT 1) AS anchor "
    "LEFT JOIN deadline_rules r ON r.stage = $4 AND r.complexity = $5 "
    "LEFT JOIN calendar_days d ON d.day >= $6 AND d.day <= $7"
)
# Once nothing is left to reject: the case's number ($7 district, $8 year; one call, the
# MATERIALIZED CTE) with REPEATS_SQL's rows ($1..$6); one row of NULL repeats when none.
REPEATS_NUMBER_SQL = (
    "WITH n AS MATERIALIZED (SELECT case_number_next($7, $8) AS seq) "
    f"SELECT n.seq, r.case_id, r.reason FROM n LEFT JOIN ({REPEATS_SQL}) AS r ON true"
)

# The columns an intake writes (the others keep their server defaults or stay NULL).
CASE_FIELDS = (
    "id number number_ascii district_id year seq title facts claims party_names category_code "
    "source complexity risk_colour status unit_id unit_path building_id handling_unit_id "
    "handling_unit_path address occurred_at amount_involved prevent_criminal "
    "prevent_group_petition prevent_suicide prevent_group_fight channels handler_person_ids "
    "external_client_id external_ref reported_by_kind reported_by_id reported_by_name "
    "is_repeat received_at current_stage due_at due_provisional version timeline_seq"
).split()
PARTY_FIELDS = (
    "id case_id position kind side name phone id_number org_code is_minor address "
    "guardian_name guardian_phone guardian_id_number guardian_relation phone_hash id_hash"
).split()
DEADLINE_FIELDS = (
    "id case_id stage unit amount extended_by paused_by started_at due_at provisional"
).split()
LINK_FIELDS = "id case_id related_case_id reason".split()
EVENT_FIELDS = (
    "id case_id seq type at actor_kind actor_id actor_name client_id request_id from_status "
    "to_status body data"
).split()
OUTBOX_FIELDS = (
    "id type aggregate_type aggregate_id unit_path payload actor_id request_id occurred_at "
    "trace_context relay_attempts"
).split()


def insert_from_json(table: str, fields: list[str], param: str, many: bool) -> str:
    """`INSERT INTO table (fields)` of the row (or rows, `many`) given as JSON in `param`."""
    cols = ", ".join(fields)
    fn = "jsonb_populate_recordset" if many else "jsonb_populate_record"
    return (
        f"INSERT INTO {table} ({cols}) SELECT {cols} "
        f"FROM {fn}(NULL::{table}, CAST({param} AS text)::jsonb)"
    )


# The whole write: $1 the case, $2 its parties, $3 its deadline, $4 its links, $5 its
# timeline entries, $6 its outbox event (JSON: an object, or an array of them).
WRITE_SQL = (
    f"WITH c AS ({insert_from_json('cases', CASE_FIELDS, '$1', False)} RETURNING id), "
    f"p AS ({insert_from_json('case_parties', PARTY_FIELDS, '$2', True)}), "
    f"d AS ({insert_from_json('case_deadlines', DEADLINE_FIELDS, '$3', False)}), "
    f"l AS ({insert_from_json('case_links', LINK_FIELDS, '$4', True)}), "
    f"e AS ({insert_from_json('case_events', EVENT_FIELDS, '$5', True)}), "
    f"o AS ({insert_from_json('outbox_events', OUTBOX_FIELDS, '$6', False)}) "
    "SELECT pg_notify('outbox', '')"
)


def as_json(row: Any) -> str:
    """A row (or a list of rows) as the JSON `WRITE_SQL` reads: enums by value, times with
    their offset; amounts and asyncpg's own UUIDs (ids read by the driver) as text."""
    return orjson.dumps(row, default=str).decode()


def fields_of(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in fields}


def write_args(
    case: Mapping[str, Any],
    parties: list[Mapping[str, Any]],
    deadline: Mapping[str, Any],
    links: list[Mapping[str, Any]],
    events: list[Mapping[str, Any]],
    outbox: Mapping[str, Any],
) -> tuple[str, ...]:
    return tuple(as_json(x) for x in (case, parties, deadline, links, events, outbox))
