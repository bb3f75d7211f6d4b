"""The hotline call list as two hand-written asyncpg statements on the request's connection:
one for what the list needs first (the caller's workstations, whether the topic exists, the
hash of the `same_caller_as` call if visible), one for the page with each call's counselor
name, repeat-caller flag and visible case joined in. The ORM path read the same in six to
eight statements and built a model per call only to dump it; it lives on only as the oracle
of tests/hotline (`tests/hotline/orm_list.py`), which checks this output against it.

The access-log entries of the calls shown are written in one statement with their audit
entries queued on the session (`mediation.auth.access_log.record_accesses`): they commit with
the request, as `record_access` made them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime

import asyncpg

from mediation.auth.principal import Principal
from mediation.auth.scope import like_prefix
from mediation.hotline.enums import CallSort
from mediation.hotline.models import QUEUES
from mediation.privacy import mask_phone
from mediation.reference.data import ReferenceKind

# The numbered-parameter helper and the +08:00 times of the case lists: one rule for all.
from mediation_api.cases.reads import _cst, _Where, page_json
from mediation_api.hotline.repository import HOTLINE_ROLES, CallFilters

# The caller's workstations (`WORKSTATIONS_SQL` of the repository: active units where they hold
# a hotline role today), whether the topic is a known code (disabled ones count, as in
# `ReferenceService.require_known`), and the same-number call's hash: NULL when it is not a
# call of those workstations, '' when it has no number.
PRELUDE_SQL = """
WITH ws AS (
    SELECT DISTINCT u.path FROM units u JOIN role_assignments ra ON ra.unit_id = u.id
     WHERE ra.person_id = $1 AND ra.role = ANY ($2::text[]) AND ra.starts_on <= $3
       AND (ra.ends_on IS NULL OR ra.ends_on >= $3) AND u.active
)
SELECT array(SELECT path FROM ws ORDER BY path) AS paths,
       $4::text IS NULL
       OR EXISTS (SELECT 1 FROM reference_items WHERE kind = $5 AND code = $4) AS topic_known,
       (SELECT coalesce(c.caller_hash, '') FROM hotline_calls c
         WHERE c.id = $6 AND EXISTS (SELECT 1 FROM ws WHERE c.unit_path LIKE ws.path || '%'))
       AS same_caller_hash
"""


async def prelude(
    conn: asyncpg.Connection,
    person_id: uuid.UUID | None,
    today: date,
    topic: str | None,
    same_caller_as: uuid.UUID | None,
) -> tuple[list[str], bool, str | None]:
    """(the workstations' paths, topic known, the same-number call's hash or None)."""
    row = await conn.fetchrow(
        PRELUDE_SQL,
        person_id,
        [r.value for r in HOTLINE_ROLES],
        today,
        topic,
        ReferenceKind.hotline_topic.value,
        same_caller_as,
    )
    assert row is not None  # one row always
    return list(row["paths"]), row["topic_known"], row["same_caller_hash"]


def _scope(column: str, paths: Sequence[str]) -> str:
    """`column LIKE '<path>%' OR ...` with the paths written in, as the ORM's `_paths_filter`
    (digits and dots: nothing to escape); a literal prefix lets the generic plan of a prepared
    statement use the text_pattern_ops index."""
    if not paths:
        return "false"
    for p in paths:
        if not p.replace(".", "").isdigit():
            raise ValueError(f"not a unit path: {p!r}")
    return "(" + " OR ".join(f"{column} LIKE '{p}%'" for p in paths) + ")"


def page_query(
    paths: Sequence[str],
    f: CallFilters,
    sort: CallSort,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    case_patterns: list[str] | None,
) -> tuple[str, list[object]]:
    """The statement of a page (limit+1 rows) and its arguments. `case_patterns`: the LIKE
    patterns of the reader's case jurisdiction, None without `cases:read` (no case named)."""
    w = _Where()
    t = w.terms
    t.append(_scope("unit_path", paths))
    w.compare("unit_id", "=", f.unit_id)
    w.compare("counselor_id", "=", f.counselor_id)
    w.compare("started_at", ">=", f.started_from)
    w.compare("started_at", "<", f.started_before)
    if f.call_type is not None:
        t.append(f"call_type = {w.arg(f.call_type.value)}")
    if f.risk_level is not None:
        t.append(f"risk_level = {w.arg(f.risk_level.value)}")
    # The queues in the exact text of the partial indexes' predicates (migration 0030): an
    # index serves a query only when the query's terms imply its predicate.
    if f.imminent is not None:
        t.append(QUEUES["imminent"] if f.imminent else f"NOT {QUEUES['imminent']}")
    if f.flagged is True:
        t.append(QUEUES["awaiting_ack"])
    elif f.flagged is False:
        t.append("(flagged_at IS NULL OR acknowledged_at IS NOT NULL)")
    if f.follow_up_pending is True:
        t.append(QUEUES["follow_up_open"])
    elif f.follow_up_pending is False:
        t.append("(follow_up_due IS NULL OR follow_up_done_at IS NOT NULL)")
    if f.topic is not None:
        t.append(f"{w.arg(f.topic)} = ANY (topics)")
    w.compare("caller_hash", "=", f.caller_hash)
    if f.minor is not None:
        t.append(f"caller_is_minor IS {'true' if f.minor else 'false'}")
    newest = sort is CallSort.newest
    if after is not None:
        at, key = w.arg(after[0]), w.arg(after[1])
        t.append(f"(started_at, id) {'<' if newest else '>'} ({at}, {key})")
    direction = "DESC" if newest else "ASC"
    order = f"started_at {direction}, id {direction}"
    if case_patterns is None:
        case = "NULL::uuid"
    else:
        case = (
            "CASE WHEN EXISTS (SELECT 1 FROM cases k WHERE k.id = c.case_id "
            f"AND k.unit_path LIKE ANY ({w.arg(case_patterns)}::text[])) THEN c.case_id END"
        )
    # Another call from the same number in the workstations' scope (the ORM counted them).
    repeat = (
        "c.caller_hash <> '' AND EXISTS (SELECT 1 FROM hotline_calls o "
        f"WHERE o.caller_hash = c.caller_hash AND o.id <> c.id AND {_scope('o.unit_path', paths)})"
    )
    sql = (
        "SELECT c.id, c.unit_id, c.counselor_id, p.name AS counselor_name, c.started_at, "
        "c.ended_at, c.duration_seconds, c.channel, c.call_type, c.caller_anonymous, "
        "c.caller_age_band, c.caller_is_minor, c.callback_number_enc, c.callback_key_id, "
        f"coalesce({repeat}, false) AS repeat_caller, c.topics, c.risk_level, c.imminent_risk, "
        "c.flagged_at IS NOT NULL AND c.acknowledged_at IS NULL AS flagged, c.follow_up_due, "
        f"c.follow_up_done_at, c.reviewed_at IS NOT NULL AS reviewed, {case} AS case_id "
        f"FROM (SELECT * FROM hotline_calls WHERE {' AND '.join(t)} ORDER BY {order} "
        f"LIMIT {w.arg(limit + 1)}) AS c LEFT JOIN people p ON p.id = c.counselor_id "
        f"ORDER BY c.started_at {direction}, c.id {direction}"
    )
    return sql, w.args


def case_patterns(principal: Principal, can_read_cases: bool) -> list[str] | None:
    return [like_prefix(p) for p in principal.scope_paths] if can_read_cases else None


def list_page_json(
    rows: Sequence[asyncpg.Record],
    next_cursor: str | None,
    number: Callable[[uuid.UUID, bytes | None, str | None], str | None],
) -> bytes:
    """A page of CallListItem as JSON straight from the rows (fields in the model's order,
    times in +08:00 like `Instant`); `number` decrypts a callback number, masked here as the
    model path masks it."""
    items = [
        {
            "id": r["id"],
            "unit_id": r["unit_id"],
            "counselor_id": r["counselor_id"],
            "counselor_name": r["counselor_name"],
            "started_at": _cst(r["started_at"]),
            "ended_at": _cst(r["ended_at"]),
            "duration_seconds": r["duration_seconds"],
            "channel": r["channel"],
            "call_type": r["call_type"],
            "caller_anonymous": r["caller_anonymous"],
            "caller_age_band": r["caller_age_band"],
            "caller_is_minor": r["caller_is_minor"],
            "callback_number_masked": mask_phone(
                number(r["id"], r["callback_number_enc"], r["callback_key_id"])
            ),
            "repeat_caller": r["repeat_caller"],
            "topics": r["topics"],
            "risk_level": r["risk_level"],
            "imminent_risk": r["imminent_risk"],
            "flagged": r["flagged"],
            "follow_up_due": _cst(r["follow_up_due"]),
            "follow_up_done_at": _cst(r["follow_up_done_at"]),
            "reviewed": r["reviewed"],
            "case_id": r["case_id"],
        }
        for r in rows
    ]
    return page_json(items, next_cursor)
