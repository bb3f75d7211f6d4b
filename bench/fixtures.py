"""Records made for one load run of an action that changes a record once (assign an accepted
case, record the outcome of a scheduled session): each request needs its own record and its
current ETag, so before every run (API or ceiling, warm-up or measured) the runner clones
generated records into fresh ones in the state the action starts from, and the run replays
one line per record, in order (requests.lua's sequential mode).

Clones are newer than the manifest, so `reset_dataset` deletes them with what the runs wrote;
they copy a generated record's columns (its place, parties, mediators), so the action does
the work it does on real data."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from bench.config import CASE_STAMPS
from bench.load import Line
from mediation.contracts.etag import etag_of

API_PREFIX = "/api/v1"
# Far in the past, so clones' bookings meet no generated session: one two-hour slot each,
# numbered after the clones already there (a whole run with profiles clones ~60,000: the
# decade from 2000 held 43,800 and the next clones' slots ran into the first ones').
# From 1901: before it the center's zone is local mean time (+08:05:43), an offset the events'
# payload models refuse (the worker retried the ceiling's outcome events without end).
PAST_SLOTS_FROM = datetime.fromisoformat("1901-01-01T00:00:00+00:00")
PAST_SLOTS_UNTIL = datetime.fromisoformat("2010-01-01T00:00:00+00:00")
# A clone is a new record: first version, empty timeline, made now (the reset deletes it).
FRESH = {"version": "1", "timeline_seq": "0", "created_at": "now()", "updated_at": "now()"}


async def _columns(conn: asyncpg.Connection, table: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND table_name = $1 AND is_generated = 'NEVER' ORDER BY ordinal_position",
        table,
    )
    return [r["column_name"] for r in rows]


async def _clone(
    conn: asyncpg.Connection, table: str, source: str, overrides: dict[str, str]
) -> None:
    """INSERT INTO table SELECT every column of `src` (rows of `source`, joined to the pick
    `p`), with `overrides` (column -> SQL expression)."""
    cols = await _columns(conn, table)
    exprs = [overrides.get(c, f"src.{c}") for c in cols]
    await conn.execute(
        f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(exprs)} FROM {source}"
    )


def _action(a: Any, path: str, record_id: Any, body: dict[str, Any]) -> Line:
    """The action's line: the fixture's first version in If-Match."""
    return Line(
        "POST",
        f"{API_PREFIX}/{path}",
        {**a.headers(json_body=True), "If-Match": etag_of(record_id, 1)},
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
    )


async def accepted_cases(url: str, n: int, scope: str, accounts: list[Any]) -> list[Line]:
    """`n` accepted cases (clones of handled ones, with their parties), each assigned to the
    handlers the original had: `POST /cases/{id}/assign`."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute(
                "CREATE TEMP TABLE pick ON COMMIT DROP AS "
                "SELECT orig, gen_random_uuid() AS id, row_number() OVER () AS n, "
                "handler_person_ids, channels FROM (SELECT c.id AS orig, "
                "c.handler_person_ids, c.channels FROM cases c "
                "WHERE c.unit_path LIKE $1 AND cardinality(c.handler_person_ids) > 0 "
                "AND cardinality(c.channels) > 0 AND c.year < 2999 "
                "ORDER BY random() LIMIT $2) c",
                scope + "%",
                n,
            )
            base = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM cases WHERE year = 2999")
            await _clone(
                conn,
                "cases",
                "cases src JOIN pick p ON p.orig = src.id",
                {
                    "id": "p.id",
                    "number": f"'压测' || ({base} + p.n)",
                    "number_ascii": f"'BENCH-' || ({base} + p.n)",
                    "year": "2999",
                    "seq": f"{base} + p.n",
                    "status": "'accepted'",
                    "handler_person_ids": "'{}'",
                    "channels": "'{}'",
                    **{
                        c: "NULL"
                        for c in (
                            *CASE_STAMPS,
                            "reopened_at",
                            "paused_at",
                            "pause_reason",
                            "external_client_id",
                            "external_ref",
                            "import_sha256",
                            "import_row",
                        )
                    },
                    # After the stamps it clears: the clone was accepted, the day before.
                    "accepted_at": "now() - interval '1 day'",
                    "current_stage": "'mediation'",
                    **FRESH,
                },
            )
            await _clone(
                conn,
                "case_parties",
                "case_parties src JOIN pick p ON p.orig = src.case_id",
                {
                    "id": "gen_random_uuid()",
                    "case_id": "p.id",
                    "created_at": "now()",
                    "updated_at": "now()",
                },
            )
            rows = await conn.fetch("SELECT id, handler_person_ids, channels FROM pick ORDER BY n")
    finally:
        await conn.close()
    lines = []
    for i, r in enumerate(rows):
        a = accounts[i % len(accounts)]
        body = {
            "handlers": [
                {"person_id": str(p), "channel": r["channels"][0], "lead": k == 0}
                for k, p in enumerate(r["handler_person_ids"])
            ],
            "note": "分派给网格调解员",
        }
        lines.append(_action(a, f"cases/{r['id']}/assign", r["id"], body))
    return lines


OUTCOMES = ("partial", "none", "postponed")


async def scheduled_sessions(url: str, n: int, scope: str, accounts: list[Any]) -> list[Line]:
    """`n` scheduled sessions that have taken place (clones of generated ones, one per case,
    with their mediators and bookings, each in its own slot in the past): `POST
    /sessions/{id}/outcome`."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            first = await conn.fetchval(
                "SELECT count(*) FROM mediation_sessions WHERE starts_at < $1", PAST_SLOTS_UNTIL
            )
            if PAST_SLOTS_FROM + (first + n) * timedelta(hours=2) >= PAST_SLOTS_UNTIL:
                raise SystemExit("bench.fixtures: the past's session slots are used up")
            await conn.execute(
                "CREATE TEMP TABLE pick ON COMMIT DROP AS "
                "SELECT orig, gen_random_uuid() AS id, row_number() OVER () AS n, party_ids "
                "FROM (SELECT * FROM (SELECT DISTINCT ON (case_id) id AS orig, party_ids "
                "FROM mediation_sessions "
                "WHERE unit_path LIKE $1 AND starts_at >= $3 "
                "AND cardinality(mediator_person_ids) > 0 ORDER BY case_id, md5(id::text)) s "
                "ORDER BY random() LIMIT $2) s",
                scope + "%",
                n,
                PAST_SLOTS_UNTIL,
            )
            # The slots lie before any generated dispute, and an outcome is refused for a
            # session before its dispute (session-before-dispute): these cases' dispute time
            # becomes unknown, as a case registered without one has it.
            await conn.execute(
                "UPDATE cases SET occurred_at = NULL WHERE occurred_at IS NOT NULL AND id IN "
                "(SELECT s.case_id FROM mediation_sessions s JOIN pick p ON p.orig = s.id)"
            )
            start = (
                f"(CAST('{PAST_SLOTS_FROM.isoformat()}' AS timestamptz)"
                f" + ({first} + p.n) * interval '2 hours')"
            )
            await _clone(
                conn,
                "mediation_sessions",
                "mediation_sessions src JOIN pick p ON p.orig = src.id",
                {
                    "id": "p.id",
                    "status": "'scheduled'",
                    "starts_at": start,
                    "ends_at": f"{start} + interval '1 hour'",
                    "attended_person_ids": "'{}'",
                    "attended_party_ids": "'{}'",
                    **{
                        c: "NULL"
                        for c in (
                            "held_ended_at",
                            "minutes",
                            "outcome",
                            "next_step",
                            "next_step_note",
                            "outcome_recorded_at",
                            "cancelled_at",
                            "cancel_reason",
                        )
                    },
                    "reschedule_count": "0",
                    **FRESH,
                },
            )
            await _clone(
                conn,
                "session_mediators",
                "session_mediators src JOIN pick p ON p.orig = src.session_id",
                {"id": "gen_random_uuid()", "session_id": "p.id"},
            )
            await conn.execute(
                "INSERT INTO session_bookings (id, session_id, person_id, place_key, during, "
                "active) SELECT gen_random_uuid(), s.id, r.person_id, r.place_key, "
                "tstzrange(s.starts_at, s.ends_at), true FROM mediation_sessions s "
                "JOIN pick p ON p.id = s.id CROSS JOIN LATERAL (SELECT unnest("
                "s.mediator_person_ids) AS person_id, NULL::text AS place_key UNION ALL "
                "SELECT NULL, s.place_key WHERE s.place_key IS NOT NULL) r"
            )
            rows = await conn.fetch("SELECT id, party_ids FROM pick ORDER BY n")
    finally:
        await conn.close()
    lines = []
    for i, r in enumerate(rows):
        a = accounts[i % len(accounts)]
        body = {
            "attended_party_ids": [str(p) for p in r["party_ids"][:2]],
            "minutes": "双方陈述了各自意见，调解员释法明理，约定下次继续协商。",
            "outcome": OUTCOMES[i % len(OUTCOMES)],
        }
        lines.append(_action(a, f"sessions/{r['id']}/outcome", r["id"], body))
    return lines
