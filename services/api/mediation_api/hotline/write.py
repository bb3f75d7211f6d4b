"""The statement of a new hotline call (POST /hotline/calls), on asyncpg inside the request's
transaction (issue 22), as the intake writes a case (`mediation_api.cases.intake`).

Through the ORM a call cost the API about 8 ms of CPU against 1.2 ms for the same SQL on bare
asyncpg: mostly the unit of work's flushes (identity map, the chain's after_flush listener)
around three INSERTs, and the answer's caller history a statement of its own. Here
`CREATE_SQL` inserts the call, its history entries, its access-log row and, when the call is
flagged, the outbox event (with the relay's NOTIFY) by data-modifying CTEs, rows as JSON, and
answers the call's server-set times with the answer's repeat-caller counts and counselor's
name. The counts come from the statement's snapshot, taken before its insert; the new call is
not counted anyway (`HotlineRepository.caller_history`). The audit entries the flush hook
would have made are queued by the service (`audit_outbox`, `chain.record`).

The ceiling (bench/ceiling_writes.py) runs these very strings."""

from __future__ import annotations

from functools import cache

from mediation_api.cases.intake import OUTBOX_FIELDS, insert_from_json

# The columns a new call writes (the others keep their server defaults or stay NULL).
CALL_FIELDS = (
    "id unit_id unit_path counselor_id created_by started_at ended_at duration_seconds channel "
    "call_type caller_anonymous caller_alias caller_age_band caller_gender caller_is_minor "
    "caller_hash callback_consent callback_number_enc callback_key_id topics risk_level "
    "imminent_risk risk_assessment actions referral_to summary follow_up_due flagged_at "
    "version timeline_seq historical"
).split()
CALL_EVENT_FIELDS = ("id call_id seq at kind actor_id actor_person_id actor_name detail").split()
# `at` is the column's default (the transaction's start), as the ORM's INSERT leaves it.
ACCESS_FIELDS = (
    "id actor_id actor_kind actor_name action record_type record_id subject_ids detail request_id"
).split()


@cache
def create_sql(flagged: bool) -> str:
    """$1 the call, $2 its history entries, $3 its access-log row (JSON), $4 the caller's
    scope (LIKE patterns), $5 the counselor, $6 the caller's hash, $7 the call's start, $8 its
    id and, when `flagged`, $9 the outbox event (JSON). One row: the call's `created_at`,
    `updated_at`, the earlier and all other calls of its caller in scope (no hash: none), the
    counselor's name."""
    outbox = (
        f"o AS ({insert_from_json('outbox_events', OUTBOX_FIELDS, '$9', False)}), "
        if flagged
        else ""
    )
    notify = ", pg_notify('outbox', '')" if flagged else ""
    return (
        f"WITH c AS ({insert_from_json('hotline_calls', CALL_FIELDS, '$1', False)} "
        "RETURNING created_at, updated_at), "
        f"e AS ({insert_from_json('hotline_call_events', CALL_EVENT_FIELDS, '$2', True)}), "
        f"a AS ({insert_from_json('access_log', ACCESS_FIELDS, '$3', False)}), "
        f"{outbox}"
        "h AS (SELECT count(*) FILTER (WHERE (started_at, id) < ($7, $8)) AS earlier, "
        "count(*) AS others FROM hotline_calls WHERE caller_hash = $6 AND id != $8 "
        "AND unit_path LIKE ANY ($4::text[])) "
        "SELECT c.created_at, c.updated_at, h.earlier, h.others, "
        f"(SELECT p.name FROM people p WHERE p.id = $5) AS counselor_name{notify} "
        "FROM c, h"
    )


CREATE_SQL = create_sql(False)
CREATE_FLAGGED_SQL = create_sql(True)
