"""The case view and case lists as one hand-written statement each, on asyncpg.

A case view used to be eight ORM statements (the case, parties, handlers, deadlines,
agreement, related cases, units, the access-log row) and cost the API about 11 ms of CPU;
here PostgreSQL assembles the pieces as JSON in one round trip and, when the reader sees
personal data, writes the access-log row in the same statement (a data-modifying CTE), so
the read and its log entry commit or fail together. The same functions run on the read pool
(GET) and on a session's connection inside its transaction (after a change)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import asyncpg
import orjson

from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.auth.scope import GRID_KEY_SQL, grid_key, like_prefix
from mediation.cases.enums import CaseSort, CaseSource, CaseStatus
from mediation.cases.lifecycle import OPEN
from mediation.cases.problems import UNIT_NOT_IN_JURISDICTION
from mediation.contracts.common import CST, center_time
from mediation.errors import Unprocessable
from mediation.ids import uuid7
from mediation.logs import request_id_var
from mediation_api.cases.repository import CaseFilters, _like
from mediation_api.cases.views import PREVENTION_COLUMNS, available_actions, party_json


def scope_patterns(principal: Principal) -> list[str]:
    """LIKE patterns of the caller's subtrees (the rule of `mediation.auth.scope`)."""
    return [like_prefix(p) for p in principal.scope_paths]


CASE_VIEW_SQL = """
WITH c AS (
    SELECT * FROM cases WHERE id = $1 AND unit_path LIKE ANY ($2::text[])
),
p AS (
    SELECT coalesce(json_agg(json_build_object(
               'id', id, 'kind', kind, 'side', side, 'name', name, 'phone', phone,
               'id_number', id_number, 'org_code', org_code, 'is_minor', is_minor,
               'address', address, 'guardian_name', guardian_name,
               'guardian_phone', guardian_phone, 'guardian_id_number', guardian_id_number,
               'guardian_relation', guardian_relation) ORDER BY position, id), '[]') AS parties,
           array_agg(id ORDER BY position, id) AS ids
    FROM case_parties WHERE case_id = (SELECT id FROM c)
),
logged AS (
    INSERT INTO access_log (id, actor_id, actor_kind, actor_name, action, record_type,
                            record_id, subject_ids, detail, request_id)
    SELECT $3, $4, $5, $6, 'read_unmasked', 'case', c.id, p.ids,
           jsonb_build_object('case_number', c.number), $7
    FROM c, p WHERE $8 AND p.ids IS NOT NULL
)
SELECT c.id, c.number, c.number_ascii, c.title, c.facts, c.claims,
       c.category_code AS category, c.source, c.complexity, c.risk_colour, c.status, c.address,
       c.occurred_at, c.amount_involved, c.prevent_criminal, c.prevent_group_petition,
       c.prevent_suicide, c.prevent_group_fight, c.channels, c.handler_person_ids,
       c.external_ref, c.is_repeat, c.historical,
       CASE WHEN c.import_id IS NOT NULL THEN json_build_object(
           'import_id', c.import_id, 'row', c.import_row,
           'filename', (SELECT f.filename FROM import_files f WHERE f.id = c.import_id))
       END AS imported_from,
       c.received_at, c.accepted_at, c.rejected_at,
       c.assigned_at, c.mediation_started_at, c.resolved_at, c.failed_at, c.followed_up_at,
       c.closed_at, c.withdrawn_at, c.reopened_at, c.reason, c.referral_target, c.paused_at,
       c.pause_reason, c.current_stage, c.due_at, c.due_provisional, c.version, c.created_at,
       c.updated_at,
       json_build_object('kind', c.reported_by_kind, 'id', c.reported_by_id,
                         'name', c.reported_by_name, 'client_id', NULL) AS reported_by,
       json_build_object('id', u.id, 'code', u.code, 'name', u.name, 'level', u.level) AS unit,
       json_build_object('id', hu.id, 'code', hu.code, 'name', hu.name,
                         'level', hu.level) AS handling_unit,
       p.parties,
       (SELECT coalesce(json_agg(json_build_object(
                   'person_id', h.person_id, 'name', pe.name, 'channel', h.channel,
                   'lead', h.is_lead, 'assumed_at', h.assumed_at)
                   ORDER BY h.is_lead DESC, h.assumed_at, h.id), '[]')
          FROM case_handlers h JOIN people pe ON pe.id = h.person_id
         WHERE h.case_id = c.id AND h.renounced_at IS NULL) AS handlers,
       (SELECT coalesce(json_agg(json_build_object(
                   'stage', d.stage, 'unit', d.unit, 'amount', d.amount,
                   'extended_by', d.extended_by, 'paused_by', d.paused_by,
                   'started_at', d.started_at, 'due_at', d.due_at,
                   'provisional', d.provisional, 'paused', d.paused_since IS NOT NULL,
                   'met_at', d.met_at,
                   -- running and past due, or completed late
                   'overdue', CASE WHEN d.met_at IS NOT NULL THEN d.met_at > d.due_at
                                   ELSE d.paused_since IS NULL AND d.due_at < $10 END)
                   ORDER BY d.started_at, d.id), '[]')
          FROM case_deadlines d WHERE d.case_id = c.id AND d.cancelled_at IS NULL) AS deadlines,
       (SELECT json_build_object(
                   'form', a.form, 'terms', a.terms, 'amount', a.amount::text,
                   'performance_method', a.performance_method,
                   'performance_due_on', a.performance_due_on, 'effective_on', a.effective_on,
                   'signed_by_parties', a.signed_by_parties,
                   'judicial_confirmation_until', a.judicial_confirmation_until,
                   'judicial_confirmation_requested_on', a.judicial_confirmation_requested_on,
                   'judicial_confirmation_court', a.judicial_confirmation_court,
                   'performance_status', a.performance_status)
          FROM case_agreements a WHERE a.case_id = c.id) AS agreement,
       (SELECT coalesce(json_agg(json_build_object(
                   'id', r.id, 'number', r.number, 'title', r.title, 'status', r.status,
                   'received_at', r.received_at, 'reasons', l.reasons)
                   ORDER BY r.received_at, r.id), '[]')
          FROM (SELECT other, array_agg(reason ORDER BY reason) AS reasons
                  FROM (SELECT related_case_id AS other, reason FROM case_links
                         WHERE case_id = c.id
                        UNION ALL
                        SELECT case_id, reason FROM case_links
                         WHERE related_case_id = c.id) AS x
                 GROUP BY other) AS l
          JOIN cases r ON r.id = l.other
         WHERE r.unit_path LIKE ANY ($9::text[])) AS related_cases
FROM c CROSS JOIN p
JOIN units u ON u.id = c.unit_id
JOIN units hu ON hu.id = c.handling_unit_id
"""


async def case_view_row(
    conn: asyncpg.Connection,
    case_id: uuid.UUID,
    principal: Principal,
    now: datetime,
    *,
    scoped: bool = True,
) -> asyncpg.Record | None:
    """The statement's row of what `principal` sees of the case (`case_view_json` writes it),
    or None when it is absent or out of their scope. `scoped=False` shows a case the caller
    has just changed even when the change took it out of their jurisdiction (related cases
    stay limited to their scope). Reading unmasked personal data writes the access-log entry
    in the same statement."""
    patterns = scope_patterns(principal)
    row: asyncpg.Record | None = await conn.fetchrow(
        CASE_VIEW_SQL,
        case_id,
        patterns if scoped else ["%"],
        uuid7(),
        principal.id,
        principal.kind,
        principal.client_id or principal.name,
        request_id_var.get(),
        principal.can(Permission.pii_read),
        patterns,
        now,
    )
    return row


def _at(text: str | None) -> str | None:
    """A time from the statement's JSON (PostgreSQL writes it at the session's offset) at
    +08:00, as `Instant` renders it."""
    return None if text is None else center_time(datetime.fromisoformat(text))


def case_view_json(row: Mapping[str, Any], principal: Principal, now: datetime) -> bytes:
    """The case view (`CaseOut`) as JSON, written straight from `case_view_row` with orjson,
    like `list_page_json`: validating and serializing the model was 5-6% of a case by id's
    CPU and adds nothing to typed columns. Keys in the model's order, times in +08:00,
    amounts as strings, parties masked unless the reader may see personal data; tests/cases
    check the bytes against the model's own (test_case_view_json)."""
    unmasked = principal.can(Permission.pii_read)
    paused, due_at = row["paused_at"] is not None, row["due_at"]
    amount, imported = row["amount_involved"], row["imported_from"]
    state = SimpleNamespace(
        status=CaseStatus(row["status"]),
        paused_at=row["paused_at"],
        handler_person_ids=row["handler_person_ids"],
    )
    view = {
        "id": row["id"],
        "number": row["number"],
        "number_ascii": row["number_ascii"],
        "title": row["title"],
        "facts": row["facts"],
        "claims": row["claims"],
        "category": row["category"],
        "source": row["source"],
        "intake_mode": CaseSource(row["source"]).intake_mode.value,
        "complexity": row["complexity"],
        "risk_colour": row["risk_colour"],
        "status": row["status"],
        "unit": row["unit"],
        "handling_unit": row["handling_unit"],
        "address": row["address"],
        "occurred_at": _cst(row["occurred_at"]),
        "amount_involved": None if amount is None else str(amount),
        "prevention": [
            {"kind": kind.value, "people": row[column]}
            for kind, column in PREVENTION_COLUMNS.items()
            if row[column]
        ],
        "parties": [party_json(p, unmasked) for p in row["parties"]],
        "pii_masked": not unmasked,
        "handlers": [{**h, "assumed_at": _at(h["assumed_at"])} for h in row["handlers"]],
        "channels": row["channels"],
        "external_ref": row["external_ref"],
        "reported_by": row["reported_by"],
        "is_repeat": row["is_repeat"],
        "historical": row["historical"],
        "imported_from": None
        if imported is None
        else {
            "import_id": imported["import_id"],
            "filename": imported["filename"],
            "row": imported["row"],
        },
        "related_cases": [
            {**r, "received_at": _at(r["received_at"])} for r in row["related_cases"]
        ],
        **{column: _cst(row[column]) for column in _VIEW_TIMES},
        "reason": row["reason"],
        "referral_target": row["referral_target"],
        "paused": paused,
        "pause_reason": row["pause_reason"],
        "current_stage": row["current_stage"],
        "due_at": _cst(due_at),
        "due_provisional": row["due_provisional"],
        "overdue": due_at is not None and not paused and due_at < now,
        "deadlines": [
            {
                **d,
                "started_at": _at(d["started_at"]),
                "due_at": _at(d["due_at"]),
                "met_at": _at(d["met_at"]),
            }
            for d in row["deadlines"]
        ],
        "agreement": row["agreement"],
        "available_actions": [
            a.value
            for a in available_actions(state, principal)  # type: ignore[arg-type]
        ],
        "version": row["version"],
        "created_at": _cst(row["created_at"]),
        "updated_at": _cst(row["updated_at"]),
    }
    # asyncpg's own UUID type is not one orjson knows: `str` gives the canonical form.
    return orjson.dumps(view, default=str)


# The case's own times between `related_cases` and `reason`, in the model's order.
_VIEW_TIMES = (
    "received_at",
    "accepted_at",
    "rejected_at",
    "assigned_at",
    "mediation_started_at",
    "resolved_at",
    "failed_at",
    "followed_up_at",
    "closed_at",
    "withdrawn_at",
    "reopened_at",
)


# --- lists --------------------------------------------------------------------------------
_LIST_COLUMNS = (
    "id, number, title, category_code, source, complexity, risk_colour, status, unit_id, "
    "handling_unit_id, channels, handler_person_ids, is_repeat, received_at, closed_at, "
    "current_stage, due_at, paused_at, version"
)


class _Where:
    """WHERE terms with numbered parameters."""

    def __init__(self) -> None:
        self.args: list[object] = []
        self.terms: list[str] = []

    def arg(self, value: object) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, term: str) -> None:
        self.terms.append(term)

    def compare(self, column: str, op: str, value: object) -> None:
        """`column op $n` when the filter is given (not None)."""
        if value is not None:
            self.add(f"{column} {op} {self.arg(value)}")

    def keyset(
        self, column: str, descending: bool, after: dict[str, object] | None, key: str
    ) -> str:
        """The ORDER BY of (`column`, id), adding the term of the rows past a cursor's
        (`after[key]`, `after["i"]`)."""
        if after is not None:
            at = self.arg(datetime.fromisoformat(str(after[key])))
            ident = self.arg(uuid.UUID(str(after["i"])))
            self.add(f"({column}, id) {'<' if descending else '>'} ({at}, {ident})")
        direction = "DESC" if descending else "ASC"
        return f"{column} {direction}, id {direction}"

    def size(self, n: int) -> str:
        """The LIMIT of a page, the last term added. A constant when no parameter was added:
        a statement without parameters (its scope, search term and enum filters constants)
        is planned once per connection, PostgreSQL keeping the plan that saw every value.
        With the page size a parameter, every execution was planned again
        (pg_prepared_statements: custom plans only), about half of a street search's
        PostgreSQL CPU. Where other parameters remain (dates, a cursor) the size stays one,
        so whether to keep a generic plan, blind to the values, stays PostgreSQL's choice."""
        return str(int(n)) if not self.args else self.arg(n)


_SEQ_PATH = re.compile(r"[0-9.]+%")


def _prefix(w: _Where, pattern: str) -> str:
    """`unit_path LIKE <pattern>`, the pattern written into the statement when it is a
    seq-path (digits and dots): a prepared statement's generic plan cannot use the prefix
    index for `LIKE $1` (measured: a grid's count 87 ms instead of 4 ms), and forcing custom
    plans costs every by-id read a millisecond of planning."""
    if _SEQ_PATH.fullmatch(pattern):
        return f"unit_path LIKE '{pattern}'"
    return f"unit_path LIKE {w.arg(pattern)}"


def _subtree(w: _Where, pattern: str, by_grid: bool) -> str:
    """`_prefix`, or for a grid's subtree in a list ordered by when cases came in, the same
    condition on the grid key: the planner then walks `ix_cases_grid_received` (the grid's
    entries only, newest first) instead of every case's entry in `ix_cases_received_at_id`
    (a grid's first page: a hundred other cases passed for each of its own)."""
    key = grid_key(pattern) if by_grid else None
    if key is None:
        return _prefix(w, pattern)
    return f"{GRID_KEY_SQL} = {_literal(key)}"


def _literal(text: str) -> str:
    """`text` as an escaped string constant (E'...': the same whatever
    standard_conforming_strings says). For the search pattern: as a parameter, a prepared
    statement's generic plan cannot see that a two-character Chinese term has no trigram,
    and scans both trigram indexes whole (2.3 s instead of 1.5 ms for 漏水 at 100,000 cases)."""
    return "E'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


# Characters that no case mapping changes or produces: ASCII other than letters, CJK
# punctuation, ideographs, full-width punctuation and digits (checked against every code
# point's lower() and upper() in PostgreSQL and Python). A term made only of them matches the
# same rows with LIKE as with ILIKE, which folds text and term with lower() (the term's
# wildcards are escaped, tests/cases/test_search_operator.py compares): LIKE compares bytes,
# ILIKE lower()s every text it tries, about 3.5 us for a case's 80 characters and most of a
# street search's PostgreSQL CPU (docs/performance.md "The text search below the district").
_CASELESS = re.compile(
    r"[\x00-\x40\x5b-\x60\x7b-\x7f\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff"
    r"\uf900-\ufaff\uff01-\uff20\uff3b-\uff40\uff5b-\uff65]*"
)


def _array(values: Sequence[str], of: str) -> str:
    """`values` as an array constant of type `of` (each an escaped string constant)."""
    return f"ARRAY[{', '.join(_literal(v) for v in values)}]::{of}[]"


def _filters(
    w: _Where, patterns: list[str], f: CaseFilters, now: datetime, by_grid: bool = False
) -> None:
    """The WHERE terms of a list's filters. `by_grid`: a lone grid subtree is written as its
    grid key (`_subtree`); several subtrees stay prefixes, an OR the grid index cannot walk."""
    if len(patterns) == 1:
        w.add(_subtree(w, patterns[0], by_grid))
    else:
        w.add("(" + (" OR ".join(_prefix(w, p) for p in patterns) or "false") + ")")
    # The enums are stored as varchar (enum_type), so plain text arrays match them. Written
    # as constants (escaped like the search term), not parameters: a statement left without
    # parameters is planned once per connection instead of on every execution (`_Where.size`).
    for column, values in (
        ("status", f.status),
        ("category_code", f.category),
        ("source", f.source),
        ("risk_colour", f.risk_colour),
        ("complexity", f.complexity),
    ):
        if values:
            w.add(f"{column} = ANY ({_array([str(v) for v in values], 'text')})")
    if f.channel:
        w.add(f"channels && {_array([c.value for c in f.channel], 'varchar')}")
    if f.subtree_path:
        w.add(_subtree(w, like_prefix(f.subtree_path), by_grid))
    if f.handler:
        w.add(f"handler_person_ids @> ARRAY[{w.arg(f.handler)}::uuid]")
    if f.overdue is not None:
        at = w.arg(now)
        overdue = f"(due_at < {at} AND paused_at IS NULL)"
        w.add(overdue if f.overdue else f"NOT coalesce({overdue}, false)")
    w.compare("due_at", "<", f.due_before)
    w.compare("received_at", ">=", f.received_from)
    w.compare("received_at", "<", f.received_to)
    w.compare("closed_at", ">=", f.closed_from)
    w.compare("closed_at", "<", f.closed_to)
    w.compare("is_repeat", "=", f.repeat)
    if f.external_ref is not None:
        w.add(f"external_ref = {w.arg(f.external_ref)}")
        w.compare("external_client_id", "=", f.external_client)
    if f.q:
        pattern = _literal(_like(f.q))
        op = "LIKE" if _CASELESS.fullmatch(f.q) else "ILIKE"
        text_match = f"search_text {op} {pattern}"
        w.add(
            f"({text_match} OR party_names {op} {pattern})" if f.search_party_names else text_match
        )


def _walks_grid(f: CaseFilters, sort: CaseSort) -> bool:
    """Whether a grid's subtree is written as its grid key (`_subtree`). Not where a better
    index needs the path's prefix: the open cases' index for a filter on open statuses, the
    deadlines' for overdue cases or "soonest deadline first" (measured at 1,000,000 cases: a
    grid's open work 0.6 ms by prefix, 31 ms by grid key; its list 0.15 ms by grid key, 0.3 to
    0.6 ms by prefix)."""
    if sort is CaseSort.due_soonest or f.overdue:
        return False
    return not f.status or not set(f.status) <= OPEN


def page_query(
    patterns: list[str],
    f: CaseFilters,
    sort: CaseSort,
    after: dict[str, object] | None,
    limit: int,
    now: datetime,
) -> tuple[str, list[object]]:
    """The statement of a list page and its arguments, within the subtrees of `patterns`."""
    w = _Where()
    _filters(w, patterns, f, now, by_grid=_walks_grid(f, sort))
    if sort is CaseSort.due_soonest:
        # Only cases whose deadline is running have a due time to sort by.
        w.add("due_at IS NOT NULL")
        order = w.keyset("due_at", False, after, "d")
    else:
        order = w.keyset("received_at", sort is CaseSort.newest, after, "r")
    # The page's ids first, then its rows: the filters and the order can then be served by
    # the covering index on (received_at, id) alone (an index-only scan, migration 0027)
    # instead of visiting the heap row of every case passed over (a grid's list walked
    # thousands of them).
    ids = f"SELECT id FROM cases WHERE {' AND '.join(w.terms)} ORDER BY {order}"
    sql = (
        f"SELECT {_LIST_COLUMNS} FROM cases WHERE id IN ({ids} LIMIT {w.size(limit + 1)}) "
        f"ORDER BY {order}"
    )
    return sql, w.args


async def case_page(
    conn: asyncpg.Connection,
    principal: Principal,
    f: CaseFilters,
    sort: CaseSort,
    after: dict[str, object] | None,
    limit: int,
    now: datetime,
) -> Sequence[asyncpg.Record]:
    """Up to limit+1 rows (the extra one says a next page exists), in the caller's scope."""
    sql, args = page_query(scope_patterns(principal), f, sort, after, limit, now)
    return await conn.fetch(sql, *args)


def _cst(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(CST)


def page_json(items: list[dict[str, Any]], next_cursor: str | None) -> bytes:
    """A page of a list as JSON, its items written straight from the rows."""
    # asyncpg's own UUID type is not one orjson knows: `str` gives the canonical form.
    return orjson.dumps({"items": items, "next_cursor": next_cursor}, default=str)


def columns_page_json(
    rows: Sequence[asyncpg.Record], next_cursor: str | None, times: tuple[str, ...]
) -> bytes:
    """`page_json` of rows whose columns are the answer's fields, named and ordered as the
    model's (the statement selects them so); the `times` in +08:00 like `Instant`."""
    items = []
    for r in rows:
        item = dict(r)
        for name in times:
            item[name] = _cst(item[name])
        items.append(item)
    return page_json(items, next_cursor)


def list_page_json(rows: Sequence[asyncpg.Record], next_cursor: str | None, now: datetime) -> bytes:
    """A page of CaseListItem as JSON, written straight from the rows with orjson: the
    columns are typed by the schema, so Pydantic's validation and serializer (a third of a
    list request's CPU) add nothing here. Times in +08:00 like `Instant`; the contract tests
    and tests/cases check the output against the model."""
    items = []
    for r in rows:
        due_at, paused = r["due_at"], r["paused_at"] is not None
        items.append(
            {
                "id": r["id"],
                "number": r["number"],
                "title": r["title"],
                "category": r["category_code"],
                "source": r["source"],
                "complexity": r["complexity"],
                "risk_colour": r["risk_colour"],
                "status": r["status"],
                "unit_id": r["unit_id"],
                "handling_unit_id": r["handling_unit_id"],
                "channels": r["channels"],
                "handler_person_ids": r["handler_person_ids"],
                "is_repeat": r["is_repeat"],
                "received_at": _cst(r["received_at"]),
                "closed_at": _cst(r["closed_at"]),
                "current_stage": r["current_stage"],
                "due_at": _cst(due_at),
                "overdue": due_at is not None and not paused and due_at < now,
                "paused": paused,
                "version": r["version"],
            }
        )
    return page_json(items, next_cursor)


async def subtree_filter(conn: asyncpg.Connection, unit_id: uuid.UUID, principal: Principal) -> str:
    """The path of a list's subtree filter `unit_id`, which must be in the caller's
    jurisdiction: 422 otherwise (cases and sessions alike)."""
    path: str | None = await conn.fetchval(
        "SELECT path FROM units WHERE id = $1 AND path LIKE ANY ($2::text[])",
        unit_id,
        scope_patterns(principal),
    )
    if path is None:
        raise Unprocessable(
            "No unit with this id in your jurisdiction.",
            field="query.unit_id",
            code=UNIT_NOT_IN_JURISDICTION,
        )
    return path


async def unknown_codes(conn: asyncpg.Connection, kind: str, codes: list[str]) -> list[str]:
    """The codes that are not entries of reference list `kind` (disabled ones count)."""
    known = {
        r["code"]
        for r in await conn.fetch(
            "SELECT code FROM reference_items WHERE kind = $1 AND code = ANY($2::text[])",
            kind,
            codes,
        )
    }
    return [c for c in codes if c not in known]
