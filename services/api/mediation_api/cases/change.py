"""The statements of a case action done as a pipeline on asyncpg, inside the request's
transaction (issue 22): the case loaded for change in one statement, the change written in
one, then the case view (`reads.CASE_VIEW_SQL`) and, at commit, the audit chain.

Through the ORM an assign was eleven statements (the case FOR NO KEY UPDATE, the handlers'
roles, the current handlers, the case's UPDATE, the timeline entry, the handlers' INSERT, the
outbox event, the view, the chain's three) and most of its CPU went to compiling and flushing
them. Here:

* `FOR_CHANGE_SQL` locks the case in the caller's scope (FOR NO KEY UPDATE, as
  `mediation.timeline` requires) and reads what the action decides on, with the people of the
  body who hold a handling role whose jurisdiction covers the case. The counter
  (`timeline_seq`) is read under the lock, so the entry is numbered without a statement.
* `ASSIGN_SQL` writes the change by data-modifying CTEs: the handlers stepped down and the new
  ones, the case moved (version, counter, `updated_at` as the ORM's `onupdate` set it), its
  timeline entry and its outbox event (rows as JSON, like `intake.WRITE_SQL`), and the
  relay's NOTIFY (delivered at commit).

The ceiling (bench/ceiling_writes.py) runs these very strings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache

from mediation_api.cases.intake import (
    DEADLINE_FIELDS,
    EVENT_FIELDS,
    OUTBOX_FIELDS,
    insert_from_json,
)

# $1 the case, $2 the caller's scope (LIKE patterns), $3 people, $4 roles, $5 the day: the
# case's fields an action decides on, its running deadline (`CaseRepository.running_deadline`:
# the one a finish or a pause changes), and which of $3 hold one of $4 that day at an active
# unit whose subtree holds the case (who may be named a handler).
FOR_CHANGE_SQL = (
    "SELECT c.id, c.number, c.unit_id, c.unit_path, c.handling_unit_id, c.status, "
    "c.risk_colour, c.complexity, c.category_code, c.handler_person_ids, c.current_stage, "
    "c.due_at, c.paused_at, c.version, c.timeline_seq, "
    "d.id AS deadline_id, d.unit AS deadline_unit, d.paused_since AS deadline_paused_since, "
    "ARRAY(SELECT DISTINCT ra.person_id FROM role_assignments ra "
    "JOIN units u ON u.id = ra.unit_id WHERE ra.person_id = ANY ($3::uuid[]) "
    "AND ra.role = ANY ($4::text[]) AND ra.starts_on <= $5 "
    "AND (ra.ends_on IS NULL OR ra.ends_on >= $5) AND u.active "
    "AND starts_with(c.unit_path, u.path)) AS covered "
    "FROM cases c LEFT JOIN LATERAL (SELECT d.id, d.unit, d.paused_since "
    "FROM case_deadlines d WHERE d.case_id = c.id AND d.met_at IS NULL "
    "AND d.cancelled_at IS NULL ORDER BY d.started_at DESC LIMIT 1) d ON true "
    "WHERE c.id = $1 AND c.unit_path LIKE ANY ($2::text[]) "
    "FOR NO KEY UPDATE OF c"
)

HANDLER_FIELDS = "id case_id person_id channel is_lead assumed_at assigned_by_id".split()

# $1 the case, $2 the time, $3 the new handlers (JSON array), $4 the status, $5 the channels,
# $6 the handlers' people, $7 the new version, $8 the entry's number, $9 the timeline entry
# and $10 the outbox event (JSON objects).
ASSIGN_SQL = (
    "WITH r AS (UPDATE case_handlers SET renounced_at = $2 "
    "WHERE case_id = $1 AND renounced_at IS NULL), "
    f"h AS ({insert_from_json('case_handlers', HANDLER_FIELDS, '$3', True)}), "
    "c AS (UPDATE cases SET status = $4, channels = $5::text[], "
    "handler_person_ids = $6::uuid[], assigned_at = $2, version = $7, timeline_seq = $8, "
    "updated_at = now() WHERE id = $1), "
    f"e AS ({insert_from_json('case_events', EVENT_FIELDS, '$9', False)}), "
    f"o AS ({insert_from_json('outbox_events', OUTBOX_FIELDS, '$10', False)}) "
    "SELECT pg_notify('outbox', '')"
)


# How a status move changes the running deadline (`DeadlineKeeper`): met or cancelled (a pause
# in progress counted in first, as `_absorb_pause` does; the case no longer mirrors it), or
# paused. None: no deadline changes.
DEADLINE_SET = {
    "met": "met_at = $2, paused_by = paused_by + $9, paused_since = NULL",
    "cancelled": "cancelled_at = $2, paused_by = paused_by + $9, paused_since = NULL",
    "paused": "paused_since = $2",
}
FINISHED = {"met", "cancelled"}


@cache
def move_sql(stamp: str, also: tuple[str, ...] = (), deadline: str | None = None) -> str:
    """A status move and the time it records: $1 the case, $2 the time, $3 the status, $4 the
    new version, $5 the entry's number, $6 the timeline entry and $7 the outbox event (JSON);
    with a deadline change, $8 the running deadline (NULL: none) and, when it finishes, $9 the
    days a pause in progress adds; then the values of `also`, columns of the case. The names
    (a fixed set, by the service) are written into the statement."""
    first = 10 if deadline in FINISHED else 9 if deadline else 8
    sets = [f"status = $3, {stamp} = $2"]
    sets += [f"{name} = ${first + i}" for i, name in enumerate(also)]
    if deadline in FINISHED:  # `DeadlineKeeper.mirror(case, None)`
        sets.append("current_stage = NULL, due_at = NULL, due_provisional = false")
    sets.append("version = $4, timeline_seq = $5, updated_at = now()")
    d = (
        f"d AS (UPDATE case_deadlines SET {DEADLINE_SET[deadline]} WHERE id = $8), "
        if deadline
        else ""
    )
    return (
        f"WITH c AS (UPDATE cases SET {', '.join(sets)} WHERE id = $1), {d}"
        f"e AS ({insert_from_json('case_events', EVENT_FIELDS, '$6', False)}), "
        f"o AS ({insert_from_json('outbox_events', OUTBOX_FIELDS, '$7', False)}) "
        "SELECT pg_notify('outbox', '')"
    )


# The running deadline the load found (`FOR_CHANGE_SQL`'s deadline_id), as a resume or an
# extension recomputes it.
RUNNING_SQL = (
    "SELECT id, case_id, stage, unit, amount, extended_by, paused_by, started_at, due_at, "
    "provisional, paused_since FROM case_deadlines WHERE id = $1"
)
# The columns of it they write; an escalation's new complexity rebases it on another rule.
RECOMPUTED = ("extended_by", "paused_by", "paused_since", "due_at", "provisional")
REBASED = ("unit", "amount", "paused_by", "due_at", "provisional")

# The case's current handlers, lead first (`CaseRepository.active_handlers`' order): a
# transfer's "to the same people" and the people a transfer or an escalation relieves.
HANDLERS_SQL = (
    "SELECT person_id, channel, is_lead FROM case_handlers WHERE case_id = $1 "
    "AND renounced_at IS NULL ORDER BY is_lead DESC, assumed_at, id"
)
# The case $1's handling unit and the units above it, from the root down (`TreeLookups.lineage`
# of its `handling_unit_path`), each with who holds one of the roles $2 exactly there on the
# day $3 (`TreeLookups.people_at`): where an escalation may go and who dispatches there.
LINEAGE_SQL = (
    "SELECT u.id, u.name, u.path, ARRAY(SELECT DISTINCT ra.person_id "
    "FROM role_assignments ra WHERE ra.unit_id = u.id AND ra.role = ANY ($2::text[]) "
    "AND ra.starts_on <= $3 AND (ra.ends_on IS NULL OR ra.ends_on >= $3) "
    "ORDER BY ra.person_id) AS dispatchers FROM cases c CROSS JOIN "
    "CAST(array_remove(string_to_array(c.handling_unit_path, '.'), '') AS bigint[]) AS s (seqs) "
    "JOIN units u ON u.seq = ANY (s.seqs) WHERE c.id = $1 ORDER BY array_position(s.seqs, u.seq)"
)
# The current handlers step down.
RENOUNCE = (
    "r AS (UPDATE case_handlers SET renounced_at = $2 WHERE case_id = $1 "
    "AND renounced_at IS NULL), "
)


@cache
def change_sql(
    stamp: str | None,
    also: tuple[str, ...] = (),
    *,
    finish: bool = False,
    running: tuple[str, ...] = (),
    start: bool = False,
    renounce: bool = False,
) -> str:
    """$1 the case, $2 the time, $3 the status, $4 the new version, $5 the entry's number, $6
    the timeline entry and $7 the outbox event (JSON), as `move_sql`; `stamp` (a column of the
    case, or None) takes the time. Then, in this order: with `finish`, $8 the running deadline
    (NULL: none) and $9 the days a pause in progress adds (it is met, `DeadlineKeeper.finish`);
    with `running`, the running deadline and the values of these of its columns (a resume or an
    extension recomputed it); with `start`, the new deadline (JSON, `DeadlineKeeper.worked_out`);
    last the values of `also`, columns of the case (the deadline's mirror among them).
    `renounce`: the current handlers step down."""
    n = 8
    ctes = [RENOUNCE] if renounce else []
    if finish:
        ctes.append(f"d AS (UPDATE case_deadlines SET {DEADLINE_SET['met']} WHERE id = $8), ")
        n = 10
    if running:
        sets = ", ".join(f"{name} = ${n + 1 + i}" for i, name in enumerate(running))
        ctes.append(f"u AS (UPDATE case_deadlines SET {sets} WHERE id = ${n}), ")
        n += 1 + len(running)
    if start:
        insert = insert_from_json("case_deadlines", DEADLINE_FIELDS, f"${n}", False)
        ctes.append(f"n AS ({insert}), ")
        n += 1
    sets = ["status = $3"] + ([f"{stamp} = $2"] if stamp else [])
    sets += [f"{name} = ${n + i}" for i, name in enumerate(also)]
    sets.append("version = $4, timeline_seq = $5, updated_at = now()")
    # A resume or an extension writes no time of its own: $2 is typed here instead.
    at = "" if stamp or finish or renounce else ", CAST($2 AS timestamptz)"
    return (
        f"WITH c AS (UPDATE cases SET {', '.join(sets)} WHERE id = $1), {''.join(ctes)}"
        f"e AS ({insert_from_json('case_events', EVENT_FIELDS, '$6', False)}), "
        f"o AS ({insert_from_json('outbox_events', OUTBOX_FIELDS, '$7', False)}) "
        f"SELECT pg_notify('outbox', ''){at}"
    )


@dataclass(frozen=True)
class Changed:
    """A case changed by a pipeline: what its answer needs (the view is read by id)."""

    id: uuid.UUID
    version: int
