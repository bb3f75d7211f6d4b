"""The statements of a session's outcome (POST /sessions/{id}/outcome), on asyncpg inside the
request's transaction (issue 22), as a booking (`booking`) and a case action
(`mediation_api.cases.change`) are.

Through the ORM an outcome was twelve statements (the session locked, its case, the case's
counter, the bookings settled, the case's timeline entry, the outbox event, the session's
UPDATE and history entry, the answer's parties, mediators and history, then the access log and
the audit chain). Here:

* `FOR_OUTCOME_SQL` locks the session in the caller's scope (FOR NO KEY UPDATE, as
  `mediation.timeline` requires) with every column the answer shows, whether its case lies
  in the scope (NULL when not), the case's parties, the mediators with their names and the
  history so far.
* `CASE_LOCK_SQL` then locks the case (FOR NO KEY UPDATE) and reads what the checks need
  from it, the dispute's time among them: a correction of that time (`PATCH /cases/{id}`
  locks the case, then reads the held sessions) either comes first and is seen here, or waits
  and sees this session held. Session first, then case: the order of every change of a
  session (a case change never locks its sessions).
* `held_sql()` writes the outcome by data-modifying CTEs: the session's columns (as JSON),
  its history entry and the outbox event (JSON), the bookings settled (absent mediators let
  go and the others held until the real end, in one UPDATE: a row is changed once a
  statement), the case's counter moved and its `session_held` entry numbered by it (as
  `mediation.timeline.next_seq` does for a case not locked), and the relay's NOTIFY. An
  agreement writes the case's entry first (`CASE_ENTRY_SQL`): the case is then resolved
  through the cases service, and the session's entry names its new status.

The ceiling (bench/ceiling_writes.py) runs these very strings."""

from __future__ import annotations

from functools import cache

from mediation_api.cases.intake import EVENT_FIELDS, OUTBOX_FIELDS, insert_from_json
from mediation_api.sessions import booking
from mediation_api.sessions.booking import SESSION_EVENT_FIELDS

# $1 the session, $2 the caller's scope (LIKE patterns).
FOR_OUTCOME_SQL = (
    "SELECT s.*, c.id AS case_found, "
    "(SELECT coalesce(json_agg(json_build_array(p.id, p.side, p.kind, p.name) "
    "ORDER BY p.position, p.id), '[]') FROM case_parties p WHERE p.case_id = s.case_id) "
    "AS case_parties, "
    "(SELECT coalesce(json_agg(json_build_array(m.id, m.person_id, m.role, m.body, m.is_lead, "
    "m.position, pe.name) ORDER BY m.position, m.id), '[]') FROM session_mediators m "
    "JOIN people pe ON pe.id = m.person_id WHERE m.session_id = s.id) AS session_mediators, "
    "(SELECT coalesce(json_agg(json_build_array(e.id, e.seq, e.type, e.at, e.actor_kind, "
    "e.actor_id, e.actor_name, e.client_id, e.request_id, e.body, e.data) ORDER BY e.seq), "
    "'[]') FROM session_events e WHERE e.session_id = s.id) AS session_events "
    "FROM mediation_sessions s LEFT JOIN cases c ON c.id = s.case_id "
    "AND c.unit_path LIKE ANY ($2::text[]) "
    "WHERE s.id = $1 AND s.unit_path LIKE ANY ($2::text[]) FOR NO KEY UPDATE OF s"
)

# $1 the case (already found in the caller's scope by `FOR_OUTCOME_SQL`).
CASE_LOCK_SQL = (
    "SELECT status, version, handler_person_ids, occurred_at FROM cases WHERE id = $1 "
    "FOR NO KEY UPDATE"
)

# What recording an outcome sets on the session.
HELD_FIELDS = (
    "status attended_person_ids attended_party_ids held_ended_at minutes outcome next_step "
    "next_step_note outcome_recorded_at version timeline_seq"
).split()


def _entry_numbered(param: str, counter: str) -> str:
    """`INSERT INTO case_events` of the entry given as JSON in `param`, numbered by the
    `timeline_seq` the CTE `counter` returns."""
    cols = ", ".join(EVENT_FIELDS)
    picked = ", ".join(f"{counter}.timeline_seq" if f == "seq" else f"r.{f}" for f in EVENT_FIELDS)
    return (
        f"INSERT INTO case_events ({cols}) SELECT {picked} "
        f"FROM jsonb_populate_record(NULL::case_events, CAST({param} AS text)::jsonb) r, {counter}"
    )


def _case_entry(case: str, entry: str) -> str:
    return (
        f"k AS (UPDATE cases SET timeline_seq = timeline_seq + 1, updated_at = now() "
        f"WHERE id = {case} RETURNING timeline_seq), "
        f"e AS ({_entry_numbered(entry, 'k')})"
    )


# $1 the case, $2 its `session_held` entry (JSON, numbered by the case's counter).
CASE_ENTRY_SQL = f"WITH {_case_entry('$1', '$2')} SELECT 1"


@cache
def held_sql(case_entry: bool) -> str:
    """$1 the session, $2 what it sets (`HELD_FIELDS`, JSON), $3 its history entry and $4 the
    outbox event (JSON), $5 the absent mediators, $6 when the bookings end; with `case_entry`,
    $7 the case and $8 its `session_held` entry (JSON). Answers the session's `updated_at`."""
    cols = ", ".join(HELD_FIELDS)
    return (
        f"WITH s AS (UPDATE mediation_sessions SET ({cols}, updated_at) = (SELECT {cols}, now() "
        "FROM jsonb_populate_record(NULL::mediation_sessions, CAST($2 AS text)::jsonb)) "
        "WHERE id = $1 RETURNING updated_at), "
        f"h AS ({insert_from_json('session_events', SESSION_EVENT_FIELDS, '$3', False)}), "
        f"o AS ({insert_from_json('outbox_events', OUTBOX_FIELDS, '$4', False)}), "
        # `SessionRepository.settle`: an overrun stops where another session of the same
        # mediator or room begins.
        "b AS (UPDATE session_bookings b SET active = NOT coalesce(b.person_id = ANY ($5::uuid[]), "
        "false), during = CASE WHEN coalesce(b.person_id = ANY ($5::uuid[]), false) "
        "THEN b.during ELSE tstzrange(lower(b.during), least($6::timestamptz, coalesce(("
        "SELECT min(lower(o.during)) FROM session_bookings o WHERE o.active "
        "AND o.session_id <> b.session_id AND (o.person_id = b.person_id "
        "OR o.place_key = b.place_key) AND o.during && tstzrange(lower(b.during), "
        "$6::timestamptz, '[)')), $6::timestamptz)), '[)') END "
        "WHERE b.session_id = $1 AND b.active)"
        + (f", {_case_entry('$7', '$8')}" if case_entry else "")
        + " SELECT s.updated_at, pg_notify('outbox', '') FROM s"
    )


# A session held already (POST /cases/{id}/sessions/held) is written as a booking is, with
# its outcome's columns: `booking.book_sql` on these fields. With an agreement, its outbox
# event goes in after the case's (`OUTBOX_SQL`), so the relay sends them in the order the
# ORM wrote them.
SESSION_HELD_FIELDS = [
    *booking.SESSION_FIELDS,
    *(f for f in HELD_FIELDS if f not in booking.SESSION_FIELDS),
]
RECORD_HELD_SQL = booking.book_sql(SESSION_HELD_FIELDS)
RECORD_HELD_BEFORE_RESOLVE_SQL = booking.book_sql(SESSION_HELD_FIELDS, outbox=False)

# $1 an outbox event (JSON).
OUTBOX_SQL = (
    f"WITH o AS ({insert_from_json('outbox_events', OUTBOX_FIELDS, '$1', False)}) "
    "SELECT pg_notify('outbox', '')"
)
