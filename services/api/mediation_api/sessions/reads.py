"""The session lists as one hand-written statement on asyncpg (the read pool or a replica),
written to JSON with orjson: no ORM unit of work, no transaction of three round trips, no
model built per row only to be dumped again. `SessionRepository.page` is the ORM's form of
the same filters (kept for the service's own reads)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from mediation.auth.principal import Principal
from mediation.auth.scope import like_prefix
from mediation.sessions.enums import SessionSort
from mediation.sessions.rules import LONGEST

# The scoping and numbered-parameter helpers of the case lists: one rule for both.
from mediation_api.cases.reads import _array, _prefix, _Where, columns_page_json, scope_patterns
from mediation_api.sessions.repository import SessionFilters

_COLUMNS = (
    "id, case_id, case_number, unit_id, kind, mode, status, starts_at, ends_at, place, "
    "mediator_person_ids, party_ids, outcome, version"
)


def page_query(
    patterns: list[str],
    f: SessionFilters,
    sort: SessionSort,
    after: dict[str, object] | None,
    limit: int,
) -> tuple[str, list[object]]:
    """The statement of a page of sessions and its arguments, within `patterns`' subtrees."""
    w = _Where()
    w.add("(" + (" OR ".join(_prefix(w, p) for p in patterns) or "false") + ")")
    w.compare("case_id", "=", f.case_id)
    if f.mediator is not None:
        w.add(f"mediator_person_ids @> ARRAY[{w.arg(f.mediator)}::uuid]")
    w.compare("place_key", "=", f.place_key)
    for column, values in (("status", f.status), ("kind", f.kind), ("mode", f.mode)):
        if len(values) == 1:
            # One value, written into the statement (a member of the enum: a fixed word):
            # then the (status, starts_at, id) index gives the coming sessions in order;
            # `= ANY ($n)` made the planner walk every past session first (224 ms at full
            # scale for a street's scheduled sessions, 0.9 ms this way).
            w.add(f"{column} = '{values[0].value}'")
        elif values:  # enums are stored as varchar (enum_type); constants, see `_Where.size`
            w.add(f"{column} = ANY ({_array([v.value for v in values], 'text')})")
    # A date range lists the sessions that overlap it (one running across its start is in it).
    # No session lasts longer than LONGEST (the table's check), so the start bounds the
    # index scan: without it a month's sessions were found by walking two years of them.
    if f.starts_from is not None:
        w.add(f"ends_at > {w.arg(f.starts_from)}")
        w.add(f"starts_at > {w.arg(f.starts_from - LONGEST)}")
    w.compare("starts_at", "<", f.starts_to)
    if f.subtree_path is not None:
        w.add(_prefix(w, like_prefix(f.subtree_path)))
    order = w.keyset("starts_at", sort is not SessionSort.soonest, after, "t")
    sql = (
        f"SELECT {_COLUMNS} FROM mediation_sessions WHERE {' AND '.join(w.terms)} "
        f"ORDER BY {order} LIMIT {w.size(limit + 1)}"
    )
    return sql, w.args


async def session_page(
    conn: asyncpg.Connection,
    principal: Principal,
    f: SessionFilters,
    sort: SessionSort,
    after: dict[str, object] | None,
    limit: int,
) -> Sequence[asyncpg.Record]:
    """Up to limit+1 rows (the extra one says a next page exists), in the caller's scope."""
    sql, args = page_query(scope_patterns(principal), f, sort, after, limit)
    return await conn.fetch(sql, *args)


def list_page_json(rows: Sequence[asyncpg.Record], next_cursor: str | None) -> bytes:
    """A page of SessionListItem as JSON, straight from the typed columns (`_COLUMNS`, the
    model's fields in its order); tests/sessions check it against the model."""
    return columns_page_json(rows, next_cursor, ("starts_at", "ends_at"))
