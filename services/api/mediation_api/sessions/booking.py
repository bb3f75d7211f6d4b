"""The statements of a session booking (POST /cases/{id}/sessions), on asyncpg inside the
request's transaction (issue 22), as a case action is (`mediation_api.cases.change`).

Through the ORM a booking was seventeen statements (the case locked, the mediators' roles, the
case's parties, the case's counter, its timeline entry, the outbox event, the session, its
history entry, its mediators, a savepoint around the bookings, the answer's mediators and
history, the access log and the audit chain) and most of its CPU went to compiling and
flushing them. Here:

* `FOR_BOOKING_SQL` locks the case in the caller's scope (FOR NO KEY UPDATE, as
  `mediation.timeline` requires) and reads what the checks need: the case's status and
  handlers, its timeline counter, the mediating roles the body's people hold that day at an
  active unit (each with the unit's path: which of them covers the case is decided as before),
  their names (for the answer) and the case's parties.
* `BOOK_SQL` writes the session, its mediators, its bookings, its history entry, the case's
  counter, its timeline entry and the outbox event by data-modifying CTEs (rows as JSON, like
  `intake.WRITE_SQL`), and the relay's NOTIFY. It runs in a savepoint: when the exclusion
  constraints refuse a booking, the other session is still looked up and named.

The ceiling (bench/ceiling.py) runs these very strings."""

from __future__ import annotations

from typing import Any

from mediation_api.cases.intake import EVENT_FIELDS, OUTBOX_FIELDS, insert_from_json

# $1 the case, $2 the caller's scope (LIKE patterns), $3 people, $4 the mediating roles, $5
# the day. `roles`: [person, role, unit path] of each role held (in no particular order, as
# `TreeLookups.role_units`); `names`: [person, name]; `parties`: [id, side, kind, name] in the
# case's order (`SessionRepository.parties`).
FOR_BOOKING_SQL = (
    "SELECT c.id, c.number, c.unit_id, c.unit_path, c.status, c.handler_person_ids, "
    "c.timeline_seq, "
    "(SELECT coalesce(json_agg(json_build_array(ra.person_id, ra.role, u.path)), '[]') "
    "FROM role_assignments ra JOIN units u ON u.id = ra.unit_id "
    "WHERE ra.person_id = ANY ($3::uuid[]) AND ra.role = ANY ($4::text[]) "
    "AND ra.starts_on <= $5 AND (ra.ends_on IS NULL OR ra.ends_on >= $5) AND u.active) "
    "AS roles, "
    "(SELECT coalesce(json_agg(json_build_array(pe.id, pe.name)), '[]') FROM people pe "
    "WHERE pe.id = ANY ($3::uuid[])) AS names, "
    "(SELECT coalesce(json_agg(json_build_array(p.id, p.side, p.kind, p.name) "
    "ORDER BY p.position, p.id), '[]') FROM case_parties p WHERE p.case_id = c.id) AS parties "
    "FROM cases c WHERE c.id = $1 AND c.unit_path LIKE ANY ($2::text[]) "
    "FOR NO KEY UPDATE OF c"
)

SESSION_FIELDS = (
    "id case_id case_number unit_id unit_path kind mode status starts_at ends_at place "
    "place_key meeting_info mediator_person_ids party_ids is_public privacy_reason privacy_note "
    "recording_consent rights_notice_given notes attended_person_ids attended_party_ids "
    "reschedule_count created_by_name version timeline_seq historical"
).split()
MEDIATOR_FIELDS = "id session_id person_id role body is_lead position".split()
BOOKING_FIELDS = "id session_id person_id place_key during active".split()
SESSION_EVENT_FIELDS = (
    "id session_id seq type at actor_kind actor_id actor_name client_id request_id body data"
).split()

# `FOR_BOOKING_SQL` with when the dispute happened and the case's version: a session held
# already (`SessionService.record_held`) is not before the dispute, and its agreement resolves
# the case by its version. $5 is then the day the session was held.
FOR_HELD_SQL = FOR_BOOKING_SQL.replace(
    "SELECT c.id, ", "SELECT c.occurred_at, c.version, c.id, ", 1
)


def book_sql(fields: list[str], *, outbox: bool = True) -> str:
    """$1 the session (its `fields`), $2 its mediators, $3 its bookings, $4 its history entry
    (JSON), $5 the case, $6 the case's timeline counter, $7 its timeline entry and, with
    `outbox`, $8 the outbox event (JSON). Answers the session's server-set times."""
    return (
        f"WITH s AS ({insert_from_json('mediation_sessions', fields, '$1', False)} "
        "RETURNING created_at, updated_at), "
        f"m AS ({insert_from_json('session_mediators', MEDIATOR_FIELDS, '$2', True)}), "
        f"b AS ({insert_from_json('session_bookings', BOOKING_FIELDS, '$3', True)}), "
        f"h AS ({insert_from_json('session_events', SESSION_EVENT_FIELDS, '$4', False)}), "
        "c AS (UPDATE cases SET timeline_seq = $6, updated_at = now() WHERE id = $5), "
        f"e AS ({insert_from_json('case_events', EVENT_FIELDS, '$7', False)})"
        + (
            f", o AS ({insert_from_json('outbox_events', OUTBOX_FIELDS, '$8', False)})"
            if outbox
            else ""
        )
        + " SELECT s.created_at, s.updated_at, pg_notify('outbox', '') FROM s"
    )


BOOK_SQL = book_sql(SESSION_FIELDS)

SAVEPOINT = "SAVEPOINT session_booking"
ROLLBACK_TO_SAVEPOINT = "ROLLBACK TO SAVEPOINT session_booking"


def jsonb_ordered(data: dict[str, Any]) -> dict[str, Any]:
    """A flat JSON object with its keys in the order PostgreSQL's jsonb keeps them (shorter
    keys first, then by bytes): what reading the stored entry back would give."""
    return {k: data[k] for k in sorted(data, key=lambda k: (len(k.encode()), k.encode()))}
