"""The statements of a resolve (POST /cases/{id}/resolve, and an agreement reached at a
session) done as a pipeline, as the status moves of `change` are (issue 22): the case loaded
for change with when the dispute happened, then one write: the case moved to `resolved` with
its follow-up deadline mirrored, the running deadline met (a pause in progress counted in),
the follow-up deadline, the agreement (inserted, or the row of a case resolved before
overwritten: a case keeps one), the timeline entry and the outbox event (JSON), and the
relay's NOTIFY."""

from __future__ import annotations

from mediation_api.cases.change import DEADLINE_SET, FOR_CHANGE_SQL
from mediation_api.cases.intake import (
    DEADLINE_FIELDS,
    EVENT_FIELDS,
    OUTBOX_FIELDS,
    insert_from_json,
)

# `change.FOR_CHANGE_SQL` with when the dispute happened: an agreement takes effect after it.
FOR_RESOLVE_SQL = FOR_CHANGE_SQL.replace("SELECT c.id, ", "SELECT c.occurred_at, c.id, ", 1)

AGREEMENT_FIELDS = (
    "id case_id form terms amount performance_method performance_due_on effective_on "
    "signed_by_parties mediator_person_ids judicial_confirmation_until "
    "judicial_confirmation_requested_on judicial_confirmation_court performance_status"
).split()
_OVERWRITTEN = ", ".join(f"{f} = excluded.{f}" for f in AGREEMENT_FIELDS[2:])

# $1 the case, $2 the time, $3 the status, $4 the new version, $5 the entry's number, $6 the
# timeline entry and $7 the outbox event (JSON), as `change.move_sql`; $8 the running
# deadline (NULL: none) and $9 the days a pause in progress adds; $10 the follow-up deadline
# (JSON) and its mirror on the case: $11 stage, $12 due time, $13 provisional; $14 the
# agreement (JSON).
RESOLVE_SQL = (
    "WITH c AS (UPDATE cases SET status = $3, resolved_at = $2, current_stage = $11, "
    "due_at = $12, due_provisional = $13, version = $4, timeline_seq = $5, updated_at = now() "
    "WHERE id = $1), "
    f"d AS (UPDATE case_deadlines SET {DEADLINE_SET['met']} WHERE id = $8), "
    f"n AS ({insert_from_json('case_deadlines', DEADLINE_FIELDS, '$10', False)}), "
    f"a AS ({insert_from_json('case_agreements', AGREEMENT_FIELDS, '$14', False)} "
    f"ON CONFLICT (case_id) DO UPDATE SET {_OVERWRITTEN}, updated_at = now()), "
    f"e AS ({insert_from_json('case_events', EVENT_FIELDS, '$6', False)}), "
    f"o AS ({insert_from_json('outbox_events', OUTBOX_FIELDS, '$7', False)}) "
    "SELECT pg_notify('outbox', '')"
)
