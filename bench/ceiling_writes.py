"""The ceiling's life-cycle writes: a case action (assign), a session's outcome and a hotline
call, each the fewest statements that do the API's work in one transaction (scoped lock and
If-Match, the change, the timeline entry numbered by the record's own counter, the outbox
event, the audit chain's entries under its lock, the access-log row of what is shown, the
answer's reads). What the API learns from the token comes from the `x-bench-*` headers
(bench/ceiling.py)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from starlette.requests import Request
from starlette.responses import Response

from bench.ceiling import (
    SQL,
    Caller,
    _audit,
    _json,
    _like,
    _session_logged,
    _view,
    session_payload,
)
from mediation.clock import CENTER_TZ
from mediation.contracts.etag import etag_of
from mediation.ids import uuid7
from mediation.privacy import keyed_hash
from mediation_api.cases import change
from mediation_api.cases.intake import as_json
from mediation_api.hotline import write
from mediation_api.sessions import outcome

HANDLER_ROLES = [
    "supervisor",
    "dispatcher",
    "police",
    "mediator",
    "judicial_mediator",
    "legal_advisor",
    "counselor",
]
W = {
    # The workstations and, beside them, the enabled topics (one statement, as the API).
    "workstations_topics": (
        "SELECT DISTINCT units.id, units.path, (SELECT array_agg(code) FROM reference_items "
        "WHERE kind = 'hotline_topic' AND enabled IS true) AS topics FROM units "
        "JOIN role_assignments ra ON ra.unit_id = units.id WHERE ra.person_id = $1 "
        "AND ra.role = ANY($2::text[]) AND ra.starts_on <= $3 "
        "AND (ra.ends_on IS NULL OR ra.ends_on >= $3) AND units.active IS true ORDER BY units.path"
    ),
    "supervisors_on_duty": (
        "SELECT person_id FROM hotline_duty_shifts WHERE $1 LIKE unit_path || '%' "
        "AND duty_role = 'supervisor' AND starts_at <= $2 AND ends_at > $2"
    ),
}


async def _outbox(
    conn: asyncpg.Connection,
    type_: str,
    aggregate: str,
    record_id: uuid.UUID,
    unit_path: str,
    payload: dict[str, Any],
    caller: Caller,
    now: datetime,
) -> uuid.UUID:
    event_id = uuid7()
    await conn.fetchval(SQL["notify"])
    await conn.fetchval(
        SQL["outbox"],
        type_,
        aggregate,
        record_id,
        unit_path,
        json.dumps(payload, default=str),
        caller.id,
        None,
        now,
        event_id,
    )
    return event_id


def _precondition(request: Request, record_id: uuid.UUID, version: int) -> bool:
    return request.headers.get("if-match") == etag_of(record_id, version)


async def assign(request: Request) -> Response:
    """`POST /cases/{id}/assign`: the API's two statements (mediation_api.cases.change): the
    case locked in scope with its handlers' roles checked, then the handlers replaced, the
    case moved, its timeline entry and outbox event; the case view (with its access-log row)
    and the audit entries."""
    caller = Caller(request)
    body = orjson.loads(await request.body())
    now = datetime.now(CENTER_TZ)
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as conn, conn.transaction():
        cid = request.path_params["id"]
        handlers = body["handlers"]
        persons = [uuid.UUID(h["person_id"]) for h in handlers]
        case = await conn.fetchrow(
            change.FOR_CHANGE_SQL, cid, [_like(caller.scope)], persons, HANDLER_ROLES, now.date()
        )
        if case is None:
            return _json({"status": 404}, 404)
        if not _precondition(request, cid, case["version"]) or case["status"] != "accepted":
            return _json({"status": 412}, 412)
        if set(case["covered"]) != set(persons):
            return _json({"status": 422}, 422)
        rows = [
            {
                "id": uuid7(),
                "case_id": cid,
                "person_id": p,
                "channel": h["channel"],
                "is_lead": bool(h.get("lead")) or i == 0,
                "assumed_at": now,
                "assigned_by_id": caller.id,
            }
            for i, (p, h) in enumerate(zip(persons, handlers, strict=True))
        ]
        seq, version = case["timeline_seq"] + 1, case["version"] + 1
        event_id = uuid7()
        entry = {
            "id": event_id,
            "case_id": cid,
            "seq": seq,
            "type": "assigned",
            "at": now,
            "actor_kind": "user",
            "actor_id": caller.id,
            "actor_name": caller.name,
            "from_status": "accepted",
            "to_status": "assigned",
            "data": {"handlers": handlers},
        }
        outbox = {
            "id": uuid7(),
            "type": "case.assigned",
            "aggregate_type": "case",
            "aggregate_id": cid,
            "unit_path": case["unit_path"],
            "payload": {"case_id": cid, "event_id": event_id, "handler_person_ids": persons},
            "actor_id": caller.id,
            "occurred_at": now,
            "relay_attempts": 0,
        }
        await conn.execute(
            change.ASSIGN_SQL,
            cid,
            now,
            as_json(rows),
            "assigned",
            sorted({h["channel"] for h in handlers}),
            persons,
            version,
            seq,
            as_json(entry),
            as_json(outbox),
        )
        view = await _view(conn, cid, caller, ["%"])
        await _audit(conn, caller, [("case.assigned", "case", cid), ("read.case", "case", cid)])
    return _json(dict(view))


async def session_outcome(request: Request) -> Response:
    """`POST /sessions/{id}/outcome`: the API's three statements
    (mediation_api.sessions.outcome): the session locked in scope with its case's parties,
    mediators and history, the case locked with the fields the checks need, then the session
    held, its history entry, the outbox event, the bookings settled and the case's numbered
    `session_held` entry; the answer from what was loaded and written, with its access-log
    row, and the audit entries."""
    caller = Caller(request)
    body = orjson.loads(await request.body())
    now = datetime.now(CENTER_TZ)
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as conn, conn.transaction():
        sid = request.path_params["id"]
        ms = await conn.fetchrow(outcome.FOR_OUTCOME_SQL, sid, [_like(caller.scope)])
        if ms is None:
            return _json({"status": 404}, 404)
        if not _precondition(request, sid, ms["version"]) or ms["status"] != "scheduled":
            return _json({"status": 412}, 412)
        await conn.fetchrow(outcome.CASE_LOCK_SQL, ms["case_id"])
        attended_parties = [uuid.UUID(p) for p in body.get("attended_party_ids", [])]
        held = {
            "status": "held",
            "attended_person_ids": ms["mediator_person_ids"],
            "attended_party_ids": attended_parties,
            "minutes": body["minutes"],
            "outcome": body["outcome"],
            "next_step": body.get("next_step"),
            "outcome_recorded_at": now,
            "version": ms["version"] + 1,
            "timeline_seq": ms["timeline_seq"] + 1,
        }
        actor = {"actor_kind": "user", "actor_id": caller.id, "actor_name": caller.name}
        info = {"outcome": body["outcome"], "next_step": body.get("next_step")}
        entry = {
            "id": uuid7(),
            "session_id": sid,
            "seq": held["timeline_seq"],
            "type": "outcome_recorded",
            "at": now,
            **actor,
            "data": info,
        }
        case_entry = {
            "id": uuid7(),
            "case_id": ms["case_id"],
            "seq": 0,  # numbered by the case's counter in the statement
            "type": "session_held",
            "at": now,
            **actor,
            "data": {"session_id": sid, **info},
        }
        outbox = {
            "id": uuid7(),
            "type": "session.outcome_recorded",
            "aggregate_type": "session",
            "aggregate_id": sid,
            "unit_path": ms["unit_path"],
            "payload": session_payload(
                {**dict(ms), **held},
                entry["id"],
                recorded_afterwards=False,
                case_status=None,
                notify_party_ids=[],
                **{k: held[k] for k in ("outcome", "next_step", "attended_person_ids")},
                attended_party_ids=attended_parties,
            ),
            "actor_id": caller.id,
            "occurred_at": now,
            "relay_attempts": 0,
        }
        await conn.fetchrow(
            outcome.held_sql(True),
            sid,
            as_json(held),
            as_json(entry),
            as_json(outbox),
            [],
            ms["ends_at"],
            ms["case_id"],
            as_json(case_entry),
        )
        invited = set(ms["party_ids"])
        parties = [
            {"party_id": i, "side": side, "name": n}
            for i, side, _, n in ms["case_parties"]
            if uuid.UUID(i) in invited
        ]
        await _session_logged(conn, caller, sid, parties, "session.outcome_recorded")
    return _json(
        {
            "id": sid,
            "version": held["version"],
            "mediators": ms["session_mediators"],
            "parties": parties,
            "history": [*ms["session_events"], entry],
        }
    )


async def create_call(request: Request) -> Response:
    """`POST /hotline/calls`: the caller's workstation and the topics, then the API's one
    statement (`mediation_api.hotline.write`): the call, its history entries, its access-log
    row and, when at risk, the flag's outbox event (the supervisors on duty read first), with
    the answer's repeat-caller counts and counselor's name; the audit entries."""
    caller = Caller(request)
    body = orjson.loads(await request.body())
    now = datetime.now(CENTER_TZ)
    app = request.app
    pool: asyncpg.Pool = app.state.pool
    async with pool.acquire() as conn, conn.transaction():
        units = await conn.fetch(
            W["workstations_topics"],
            caller.person_id,
            ["counselor", "hotline_supervisor"],
            now.date(),
        )
        if len(units) != 1:
            return _json({"status": 422}, 422)
        unit = units[0]
        enabled = set(unit["topics"] or ())
        if any(t not in enabled for t in body.get("topics", [])):
            return _json({"status": 422}, 422)
        started = datetime.fromisoformat(body["started_at"])
        ended = datetime.fromisoformat(body["ended_at"]) if body.get("ended_at") else None
        who = body.get("caller", {})
        number = who.get("number")
        caller_hash = keyed_hash(app.state.hash_key.decode(), "phone", number) if number else None
        flagged = body.get("risk_level") == "high" or body.get("imminent_risk", False)
        cid = uuid7()

        def entry(seq: int, kind: str, detail: dict[str, Any]) -> dict[str, Any]:
            return {
                "id": uuid7(),
                "call_id": cid,
                "seq": seq,
                "at": now,
                "kind": kind,
                "actor_id": caller.id,
                "actor_person_id": caller.person_id,
                "actor_name": caller.name,
                "detail": detail,
            }

        entries = [entry(1, "created", {})]
        audited = []
        outbox: list[str] = []
        if flagged:
            on_duty = [r[0] for r in await conn.fetch(W["supervisors_on_duty"], unit["path"], now)]
            detail = {"recipients": len(on_duty), "coverage_gap": not on_duty}
            entries.append(entry(2, "flagged", detail))
            event = {
                "id": uuid7(),
                "type": "hotline.high_risk",
                "aggregate_type": "hotline_call",
                "aggregate_id": cid,
                "unit_path": unit["path"],
                "payload": {"call_id": cid, "recipient_person_ids": on_duty},
                "actor_id": caller.id,
                "occurred_at": now,
                "relay_attempts": 0,
            }
            outbox.append(as_json(event))
            audited.append(("hotline.high_risk", "hotline_call", cid))
        call = {
            "id": cid,
            "unit_id": unit["id"],
            "unit_path": unit["path"],
            "counselor_id": caller.person_id,
            "created_by": caller.id,
            "started_at": started,
            "ended_at": ended,
            "duration_seconds": int((ended - started).total_seconds()) if ended else None,
            "channel": body.get("channel", "phone"),
            "call_type": body["call_type"],
            "caller_anonymous": who.get("anonymous", True),
            "caller_age_band": who.get("age_band"),
            "caller_gender": who.get("gender"),
            "caller_hash": caller_hash,
            "callback_consent": False,
            "topics": body.get("topics", []),
            "risk_level": body.get("risk_level"),
            "imminent_risk": body.get("imminent_risk", False),
            "risk_assessment": body.get("risk_assessment"),
            "actions": body.get("actions", []),
            "summary": body.get("summary"),
            "flagged_at": now if flagged else None,
            "version": 1,
            "timeline_seq": len(entries),
            "historical": False,
        }
        access = {
            "id": uuid7(),
            "actor_id": caller.id,
            "actor_kind": "user",
            "actor_name": caller.name,
            "action": "hotline.create",
            "record_type": "hotline_call",
            "record_id": cid,
            "subject_ids": [],
            "detail": {},
            "request_id": None,
        }
        # No number: `caller_hash = NULL` counts nothing, the name still comes.
        row = await conn.fetchrow(
            write.create_sql(flagged),
            as_json(call),
            as_json(entries),
            as_json(access),
            [unit["path"] + "%"],
            caller.person_id,
            caller_hash,
            started,
            cid,
            *outbox,
        )
        audited.append(("read.hotline_call", "hotline_call", cid))
        await _audit(conn, caller, audited)
    return _json(
        {
            "id": cid,
            "unit_id": unit["id"],
            "created_at": row["created_at"],
            "repeat_caller": bool(row["others"]),
            "counselor_name": row["counselor_name"],
        },
        201,
    )


ROUTES = [
    ("/api/v1/cases/{id:uuid}/assign", assign),
    ("/api/v1/sessions/{id:uuid}/outcome", session_outcome),
    ("/api/v1/hotline/calls", create_call),
]
