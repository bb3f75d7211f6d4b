"""The ceiling: the same SQL as the service, behind bare Starlette + asyncpg endpoints.

    DATABASE_URL=postgresql://... python -m bench.ceiling --port 8100

No framework beyond Starlette, no ORM, no validation, no auth: each endpoint runs the
statements the real endpoint runs and answers JSON (orjson). The case view and the list page
import the API's own statements (`mediation_api.cases.reads`); intake and booking repeat the
statements captured from SQLAlchemy's log, in the same order and the same transaction. It
listens on the same paths as the API, so the load runs replay the same request lines against
both. What the API learns from the access token, the ceiling reads from three headers the
runner adds to every line (the API ignores them): `x-bench-scope` (the caller's subtree
path), `x-bench-actor` (user id, name) and `x-bench-pii` (1 when the caller's role reads
personal data, so the read is logged).

`/lookup/api/v1/cases/{id}` is the bare lookup the issue measured before any code existed:
one scoped SELECT by id.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mediation.audit.chain import staged
from mediation.auth.scope import like_prefix
from mediation.cases.calendar import DayInfo, WorkingCalendar
from mediation.cases.deadlines import due_time, horizon_days
from mediation.cases.enums import CaseSort, CaseSource, CaseStatus, DeadlineUnit, RiskColour
from mediation.clock import CENTER_TZ
from mediation.contracts.common import DEFAULT_LIMIT
from mediation.gmcrypto import CryptoProfile
from mediation.ids import uuid7
from mediation.sessions.enums import SessionSort, SessionStatus
from mediation.sessions.rules import place_key
from mediation.settings import Settings
from mediation_api.cases import intake
from mediation_api.cases.reads import CASE_VIEW_SQL, page_query
from mediation_api.cases.repository import CaseFilters
from mediation_api.notifications.reads import inbox_query
from mediation_api.sessions import booking
from mediation_api.sessions.reads import page_query as session_page_query
from mediation_api.sessions.repository import SessionFilters

CASE_COLUMNS = (
    "number, number_ascii, district_id, year, seq, title, facts, claims, search_text, "
    "party_names, category_code, source, complexity, risk_colour, status, unit_id, unit_path, "
    "building_id, handling_unit_id, handling_unit_path, address, occurred_at, amount_involved, "
    "prevent_criminal, prevent_group_petition, prevent_suicide, prevent_group_fight, channels, "
    "handler_person_ids, external_client_id, external_ref, reported_by_kind, reported_by_id, "
    "reported_by_name, is_repeat, received_at, accepted_at, rejected_at, assigned_at, "
    "mediation_started_at, resolved_at, failed_at, followed_up_at, closed_at, withdrawn_at, "
    "reopened_at, reason, referral_target, paused_at, pause_reason, current_stage, due_at, "
    "due_provisional, version, id, created_at, updated_at"
)
C = ", ".join(f"cases.{c.strip()}" for c in CASE_COLUMNS.split(","))
UNIT_COLUMNS = (
    "seq, parent_id, level, code, name, path, active, version, id, created_at, updated_at"
)
SQL = {
    "case": f"SELECT {C} FROM cases WHERE cases.unit_path LIKE $1 ESCAPE '\\' AND cases.id = $2",
    "access_log": (
        "INSERT INTO access_log (actor_id, actor_kind, actor_name, action, record_type, "
        "record_id, subject_ids, detail, request_id, id) "
        "VALUES ($1, 'user', $2, $3, $4, $5, $6, $7, $8, $9) RETURNING at"
    ),
    # Intake: the API's own statements (mediation_api.cases.intake).
    "intake_place": intake.PLACE_CALENDAR_SQL,
    "repeats": intake.REPEATS_NUMBER_SQL,
    "write": intake.WRITE_SQL,
    "notify": "SELECT pg_notify('outbox', '')",
    "outbox": (
        "INSERT INTO outbox_events (type, aggregate_type, aggregate_id, unit_path, payload, "
        "actor_id, request_id, occurred_at, relay_attempts, id) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9) RETURNING created_at"
    ),
    # The entries staged for the chain's trigger at COMMIT, as the API's commit (migration 0033).
    "audit_stage": "INSERT INTO audit_pending (notify, profile, entries) VALUES (false, $1, $2)",
}
# `--variant chain-in-session`: the old way of writing the chain (bench/variants.py).
AUDIT_VARIANT: list[Any] = []
MEDIATING = {
    "mediator": "mediation_committee",
    "judicial_mediator": "court",
    "police": "police",
    "legal_advisor": "legal_service",
    "counselor": "counseling",
}


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, asyncpg.Range):
        return [value.lower, value.upper]
    return str(value)


def _json(data: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(data, default=_default), status_code=status, media_type="application/json"
    )


class Caller:
    __slots__ = ("id", "name", "person_id", "pii", "scope")

    def __init__(self, request: Request) -> None:
        h = request.headers
        self.scope = h.get("x-bench-scope", "")
        actor = h.get("x-bench-actor", "")
        ident, _, rest = actor.partition(",")
        person, _, name = rest.partition(",")
        self.id = uuid.UUID(ident) if ident else None
        self.person_id = uuid.UUID(person) if person else None
        self.name = name
        self.pii = h.get("x-bench-pii") == "1"


_like = like_prefix  # the service's scoping rule


def _limit(q: Any) -> int:
    """The page size asked for, else the API's default: the same rows as the API reads and
    writes (a default of 20 here against the API's 50 made every list lighter than the
    API's until 2026-12-07)."""
    return int(q.get("limit", DEFAULT_LIMIT))


def audit_entry(caller: Caller, action: str, record_type: str, record_id: Any) -> dict[str, Any]:
    """One of the chain's entries as the API's `chain.record` queues it for this caller."""
    return {
        "at": datetime.now(UTC),
        "actor_id": caller.id,
        "actor_name": caller.name,
        "action": action,
        "record_type": record_type,
        "record_id": record_id,
        "result": "success",
        "client_ip": "127.0.0.1",
        "request_id": None,
        "detail": {},
    }


async def _audit(
    conn: asyncpg.Connection, caller: Caller, entries: list[tuple[str, str, Any]]
) -> None:
    """The audit chain's entries (action, record type, record id), staged as the API's commit
    stages them; the database chains them at COMMIT under the chain's lock."""
    if AUDIT_VARIANT:
        return await AUDIT_VARIANT[0](conn, caller, entries)
    rows = [staged(audit_entry(caller, *entry)) for entry in entries]
    await conn.execute(SQL["audit_stage"], CryptoProfile.default.value, json.dumps(rows))


async def lookup(request: Request) -> Response:
    """One scoped SELECT by id: the bare lookup."""
    caller = Caller(request)
    pool: asyncpg.Pool = request.app.state.pool
    row = await pool.fetchrow(SQL["case"], _like(caller.scope), request.path_params["id"])
    if row is None:
        return _json({"status": 404}, 404)
    return _json(dict(row))


async def _view(
    conn: asyncpg.Connection | asyncpg.Pool, cid: uuid.UUID, caller: Caller, case_scope: list[str]
) -> asyncpg.Record | None:
    """The API's case view: the same single statement (mediation_api.cases.reads)."""
    return await conn.fetchrow(
        CASE_VIEW_SQL,
        cid,
        case_scope,
        uuid7(),
        caller.id,
        "user",
        caller.name,
        None,
        caller.pii,
        [_like(caller.scope)],
        datetime.now(CENTER_TZ),
    )


async def read_case(request: Request) -> Response:
    caller = Caller(request)
    pool: asyncpg.Pool = request.app.state.pool
    row = await _view(pool, request.path_params["id"], caller, [_like(caller.scope)])
    if row is None:
        return _json({"status": 404}, 404)
    return _json(dict(row))


async def list_cases(request: Request) -> Response:
    """The first page of a filtered list: the API's statement (mediation_api.cases.reads)."""
    caller = Caller(request)
    q = request.query_params
    f = CaseFilters(
        status=[CaseStatus(v) for v in q.getlist("status")],
        category=q.getlist("category"),
        source=[CaseSource(v) for v in q.getlist("source")],
        risk_colour=[RiskColour(v) for v in q.getlist("risk_colour")],
        overdue=True if q.get("overdue") == "true" else None,
        received_from=datetime.fromisoformat(q["received_from"])
        if q.get("received_from")
        else None,
        q=q.get("q"),
        search_party_names=caller.pii,
    )
    limit = _limit(q)
    now = datetime.now(CENTER_TZ)
    sql, args = page_query([_like(caller.scope)], f, CaseSort.newest, None, limit, now)
    pool: asyncpg.Pool = request.app.state.pool
    rows = await pool.fetch(sql, *args)
    items = [dict(r) for r in rows[:limit]]
    return _json({"items": items, "next_cursor": "more" if len(rows) > limit else None})


async def list_sessions(request: Request) -> Response:
    """A page of sessions: the API's statement (mediation_api.sessions.reads)."""
    caller = Caller(request)
    q = request.query_params
    f = SessionFilters(
        mediator=uuid.UUID(q["mediator"]) if q.get("mediator") else None,
        status=[SessionStatus(v) for v in q.getlist("status")],
        starts_from=datetime.fromisoformat(q["starts_from"]) if q.get("starts_from") else None,
    )
    sort = SessionSort(q.get("sort", SessionSort.soonest.value))
    limit = _limit(q)
    sql, args = session_page_query([_like(caller.scope)], f, sort, None, limit)
    rows = await request.app.state.pool.fetch(sql, *args)
    items = [dict(r) for r in rows[:limit]]
    return _json({"items": items, "next_cursor": "more" if len(rows) > limit else None})


async def list_inbox(request: Request) -> Response:
    """A page of the caller's inbox: the API's statement (mediation_api.notifications.reads)."""
    caller = Caller(request)
    q = request.query_params
    limit = _limit(q)
    assert caller.id is not None
    sql, args = inbox_query(
        caller.id,
        unread=True if q.get("unread") == "true" else None,
        urgent=None,
        type_=None,
        before=None,
        limit=limit,
    )
    rows = await request.app.state.pool.fetch(sql, *args)
    items = [dict(r) for r in rows[:limit]]
    return _json({"items": items, "next_cursor": "more" if len(rows) > limit else None})


def _entry(
    cid: uuid.UUID, caller: Caller, now: datetime, seq: int, type_: str, data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": uuid7(),
        "case_id": cid,
        "seq": seq,
        "type": type_,
        "at": now,
        "actor_kind": "user",
        "actor_id": caller.id,
        "actor_name": caller.name,
        "data": data,
    }


def _hash(key: bytes, kind: str, value: str) -> str:
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


async def create_case(request: Request) -> Response:
    """Intake: the API's statements in its order (category and place with its lineage and the
    deadline's rule and calendar in one, repeat detection and number in one, then case,
    parties, deadline, links, timeline, outbox: the case row written once), then its response
    reads."""
    caller = Caller(request)
    body = orjson.loads(await request.body())
    app = request.app
    pool: asyncpg.Pool = app.state.pool
    now = datetime.now(CENTER_TZ)
    key = app.state.hash_key
    async with pool.acquire() as conn, conn.transaction():
        unit_id = uuid.UUID(body["unit_id"])
        complexity = body.get("complexity", "simple")
        first = now.date()
        both = await conn.fetch(
            SQL["intake_place"],
            body["category"],
            unit_id,
            [_like(caller.scope)],
            "first_response",
            complexity,
            first,
            first + timedelta(days=horizon_days(DeadlineUnit.working_days, 1)),  # the default
        )
        rows = [r for r in both if r["part"] == "p"]
        days = [r for r in both if r["part"] == "c"]
        place = next((u for u in rows if u["id"] == unit_id), None)
        if not rows[0]["category_ok"] or place is None:
            return _json({"status": 422}, 422)
        seqs = [int(s) for s in place["path"].split(".") if s]
        lineage = sorted((u for u in rows if u["seq"] in seqs), key=lambda u: seqs.index(u["seq"]))
        district = next(u for u in lineage if u["level"] == "district")
        level = {"simple": "grid", "complex": "street", "difficult": "district"}[
            body.get("complexity", "simple")
        ]
        handling = next((u for u in lineage if u["level"] == level), lineage[-1])
        building = next((u for u in reversed(lineage) if u["level"] == "building"), None)
        cid = uuid7()
        parties = body["parties"]
        names = " ".join(p["name"] for p in parties)
        rule = days[0]
        unit = DeadlineUnit(rule["unit"])
        cal = WorkingCalendar(
            {
                d["day"]: DayInfo(
                    d["day"], d["is_working_day"], d["provisional"], d["source"], d["day_name"]
                )
                for d in days
                if d["day"] is not None
            }
        )
        due, provisional = due_time(now, unit, rule["amount"], cal)
        phones = [p.get("phone") for p in parties]
        ids = [p.get("id_number") for p in parties]
        phone_hashes = [_hash(key, "phone", p) if p else None for p in phones]
        id_hashes = [_hash(key, "id", i) if i else None for i in ids]
        found = await conn.fetch(
            SQL["repeats"],
            cid,
            now - timedelta(days=180),
            now,
            [h for h in phone_hashes if h],
            [h for h in id_hashes if h],
            building["id"] if building else None,
            district["id"],
            now.year,
        )
        new = sorted({(r[1], r[2]) for r in found if r[1] is not None})
        seq = found[0][0]
        created = _entry(cid, caller, now, 1, "created", {"source": body["source"]})
        created["to_status"], event_id = "received", created["id"]
        entries = [created]
        if new:
            links = [{"case_id": str(o), "reason": r} for o, r in new]
            entries.append(_entry(cid, caller, now, 2, "repeat_detected", {"links": links}))
        case = {
            "id": cid,
            "number": f"铁西调〔{now.year}〕{seq:04d}号",
            "number_ascii": f"{district['code']}-{now.year}-{seq:04d}",
            "district_id": district["id"],
            "year": now.year,
            "seq": seq,
            "title": body["title"],
            "facts": body["facts"],
            "claims": body.get("claims"),
            "party_names": names,
            "category_code": body["category"],
            "source": body["source"],
            "complexity": complexity,
            "risk_colour": body.get("risk_colour", "yellow"),
            "status": "received",
            "unit_id": place["id"],
            "unit_path": place["path"],
            "building_id": building["id"] if building else None,
            "handling_unit_id": handling["id"],
            "handling_unit_path": handling["path"],
            "address": body.get("address"),
            "channels": [],
            "handler_person_ids": [],
            "reported_by_kind": "user",
            "reported_by_id": caller.id,
            "reported_by_name": caller.name,
            "is_repeat": bool(new),
            "received_at": now,
            "current_stage": "first_response",
            "due_at": due,
            "due_provisional": provisional,
            "version": 1,
            "timeline_seq": len(entries),
        }
        party_rows = [
            {
                "id": uuid7(),
                "case_id": cid,
                "position": i,
                "kind": p["kind"],
                "side": p["side"],
                "name": p["name"],
                "phone": phones[i],
                "id_number": ids[i],
                "is_minor": False,
                "phone_hash": phone_hashes[i],
                "id_hash": id_hashes[i],
            }
            for i, p in enumerate(parties)
        ]
        deadline = {
            "id": uuid7(),
            "case_id": cid,
            "stage": "first_response",
            "unit": rule["unit"],
            "amount": rule["amount"],
            "extended_by": 0,
            "paused_by": 0,
            "started_at": now,
            "due_at": due,
            "provisional": provisional,
        }
        link_rows = [
            {"id": uuid7(), "case_id": cid, "related_case_id": o, "reason": r} for o, r in new
        ]
        outbox = {
            "id": uuid7(),
            "type": "case.created",
            "aggregate_type": "case",
            "aggregate_id": cid,
            "unit_path": place["path"],
            "payload": {"case_id": str(cid), "event_id": str(event_id), "status": "received"},
            "actor_id": caller.id,
            "occurred_at": now,
            "relay_attempts": 0,
        }
        await conn.execute(
            SQL["write"],
            *intake.write_args(case, party_rows, deadline, link_rows, entries, outbox),
        )
        row = await _view(conn, cid, caller, ["%"])
    return _json(dict(row), 201)


async def create_session(request: Request) -> Response:
    """Booking a mediation session: the API's two statements (mediation_api.sessions.booking):
    the case locked in scope with the mediators' roles, their names and the case's parties,
    then (in a savepoint) the session, its mediators, bookings and history entry, the case's
    counter and timeline entry and the outbox event; the answer from what was written, with
    its access-log row, and the audit entries."""
    caller = Caller(request)
    body = orjson.loads(await request.body())
    pool: asyncpg.Pool = request.app.state.pool
    now = datetime.now(CENTER_TZ)
    async with pool.acquire() as conn, conn.transaction():
        persons = [uuid.UUID(m["person_id"]) for m in body["mediators"]]
        case = await conn.fetchrow(
            booking.FOR_BOOKING_SQL,
            request.path_params["id"],
            [_like(caller.scope)],
            persons,
            list(MEDIATING),
            now.date(),
        )
        if case is None:
            return _json({"status": 404}, 404)
        roles = {
            uuid.UUID(p): r for p, r, path in case["roles"] if case["unit_path"].startswith(path)
        }
        if set(roles) != set(persons):
            return _json({"status": 422}, 422)
        names = {uuid.UUID(p): n for p, n in case["names"]}
        parties = [{"party_id": i, "side": side, "name": n} for i, side, _, n in case["parties"]]
        starts = datetime.fromisoformat(body["starts_at"])
        ends = datetime.fromisoformat(body["ends_at"])
        key = place_key(body.get("place"))
        sid, entry_id = uuid7(), uuid7()
        cid = case["id"]
        booked = {
            "id": sid,
            "case_id": cid,
            "case_number": case["number"],
            "unit_id": case["unit_id"],
            "unit_path": case["unit_path"],
            "kind": body["kind"],
            "mode": body.get("mode", "on_site"),
            "status": "scheduled",
            "starts_at": starts,
            "ends_at": ends,
            "place": body.get("place"),
            "place_key": key,
            "meeting_info": None,
            "mediator_person_ids": persons,
            "party_ids": [p["party_id"] for p in parties],
            "is_public": body.get("is_public", False),
            "recording_consent": False,
            "rights_notice_given": False,
            "attended_person_ids": [],
            "attended_party_ids": [],
            "reschedule_count": 0,
            "created_by_name": caller.name,
            "version": 1,
            "timeline_seq": 1,
            "historical": False,
        }
        mediators = [
            {
                "id": uuid7(),
                "session_id": sid,
                "person_id": p,
                "role": roles[p],
                "body": MEDIATING[roles[p]],
                "is_lead": i == 0,
                "position": i,
            }
            for i, p in enumerate(persons)
        ]
        during = f'["{starts.isoformat()}","{ends.isoformat()}")'
        bookings = [
            {"id": uuid7(), "session_id": sid, "person_id": p, "during": during, "active": True}
            for p in persons
        ]
        if key:
            bookings.append(
                {
                    "id": uuid7(),
                    "session_id": sid,
                    "place_key": key,
                    "during": during,
                    "active": True,
                }
            )
        actor = {"actor_kind": "user", "actor_id": caller.id, "actor_name": caller.name}
        entry = {
            "id": entry_id,
            "session_id": sid,
            "seq": 1,
            "type": "scheduled",
            "at": now,
            **actor,
            "data": {"starts_at": body["starts_at"], "ends_at": body["ends_at"]},
        }
        case_entry = {
            "id": uuid7(),
            "case_id": cid,
            "seq": case["timeline_seq"] + 1,
            "type": "session_scheduled",
            "at": now,
            **actor,
            "data": {"session_id": sid, "starts_at": body["starts_at"]},
        }
        outbox = {
            "id": uuid7(),
            "type": "session.scheduled",
            "aggregate_type": "session",
            "aggregate_id": sid,
            "unit_path": case["unit_path"],
            "payload": session_payload(booked, entry_id),
            "actor_id": caller.id,
            "occurred_at": now,
            "relay_attempts": 0,
        }
        await conn.execute(booking.SAVEPOINT)
        await conn.fetchrow(
            booking.BOOK_SQL,
            intake.as_json(booked),
            intake.as_json(mediators),
            intake.as_json(bookings),
            intake.as_json(entry),
            cid,
            case["timeline_seq"] + 1,
            intake.as_json(case_entry),
            intake.as_json(outbox),
        )
        await _session_logged(conn, caller, sid, parties, "session.scheduled")
    return _json(
        {
            "id": sid,
            "case_id": cid,
            "starts_at": starts,
            "ends_at": ends,
            "mediators": [{**m, "name": names[m["person_id"]]} for m in mediators],
            "parties": parties,
            "history": [entry],
        },
        201,
    )


def session_payload(ms: Mapping[str, Any], event_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
    """A `session.*` event's payload with every field the API writes
    (`mediation.sessions.events.payload`), built without a model: the worker reads it as it
    reads the API's (a short one fails there, stays pending, and every later drain waits)."""
    return {
        "session_id": ms["id"],
        "case_id": ms["case_id"],
        "case_number": ms["case_number"],
        "unit_id": ms["unit_id"],
        "kind": ms["kind"],
        "mode": ms["mode"],
        "online": ms["mode"] != "on_site",
        "status": ms["status"],
        "starts_at": ms["starts_at"].astimezone(CENTER_TZ).isoformat(),
        "ends_at": ms["ends_at"].astimezone(CENTER_TZ).isoformat(),
        "place": ms["place"] or "",
        "meeting_info": ms["meeting_info"] or "",
        "mediator_person_ids": ms["mediator_person_ids"],
        "party_ids": ms["party_ids"],
        "recipient_person_ids": ms["mediator_person_ids"],
        "notify_party_ids": ms["party_ids"],
        "version": ms["version"],
        "event_id": event_id,
        **extra,
    }


async def _session_logged(
    conn: asyncpg.Connection,
    caller: Caller,
    sid: uuid.UUID,
    parties: list[dict[str, Any]],
    action: str,
) -> None:
    """What a session's answer writes besides (the API builds the answer from what it loaded
    and wrote): the access-log row of unmasked names, then the audit chain as the API's commit
    writes it."""
    entries = [(action, "session", sid)]
    if caller.pii and parties:
        await conn.fetchval(
            SQL["access_log"],
            caller.id,
            caller.name,
            "read_unmasked",
            "session",
            sid,
            [p["party_id"] for p in parties],
            "{}",
            None,
            uuid7(),
        )
        entries.append(("read.session", "session", sid))
    await _audit(conn, caller, entries)


async def healthz(request: Request) -> Response:
    return _json({"status": "ok"})


def create_app(database_url: str, pool_size: int = 10) -> Starlette:
    async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
        async def init(conn: asyncpg.Connection) -> None:
            await conn.set_type_codec(
                "jsonb", encoder=str, decoder=orjson.loads, schema="pg_catalog"
            )
            await conn.set_type_codec(
                "json", encoder=str, decoder=orjson.loads, schema="pg_catalog"
            )

        # The same number of connections as the API's pool (twice pool_size).
        app.state.pool = await asyncpg.create_pool(
            database_url,
            min_size=pool_size,
            max_size=2 * pool_size,
            init=init,
        )
        app.state.hash_key = Settings().pii_hash_key.get_secret_value().encode()
        try:
            yield
        finally:
            await app.state.pool.close()

    from bench.ceiling_writes import ROUTES as WRITES  # imports this module

    return Starlette(
        routes=[
            *(Route(path, endpoint, methods=["POST"]) for path, endpoint in WRITES),
            Route("/healthz", healthz),
            Route("/lookup/api/v1/cases/{id:uuid}", lookup),
            Route("/api/v1/cases/{id:uuid}", read_case),
            Route("/api/v1/cases", list_cases, methods=["GET"]),
            Route("/api/v1/cases", create_case, methods=["POST"]),
            Route("/api/v1/cases/{id:uuid}/sessions", create_session, methods=["POST"]),
            Route("/api/v1/sessions", list_sessions, methods=["GET"]),
            Route("/api/v1/me/notifications", list_inbox, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def main() -> None:
    import uvicorn

    p = argparse.ArgumentParser(description="The ceiling app (bare Starlette + asyncpg).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8100)
    p.add_argument("--variant", default=None, help="old SQL of a bench/variants.py variant")
    a = p.parse_args()
    if a.variant:
        from bench.variants import audit_in_session, ceiling_sql

        SQL.update(ceiling_sql(a.variant))
        if a.variant == "chain-in-session":
            AUDIT_VARIANT.append(audit_in_session)
    url = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    pool = int(os.environ.get("MEDIATION_DB_POOL_SIZE", "10"))
    # Served like the API: one uvicorn process, uvloop and httptools, no access log.
    uvicorn.run(
        create_app(url, pool), host=a.host, port=a.port, log_level="warning", access_log=False
    )


if __name__ == "__main__":
    main()
