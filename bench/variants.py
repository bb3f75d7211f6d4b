"""Earlier versions of code the benchmark changed, to measure before and after in one tree.

    BENCH_VARIANT=repeat-join make bench BENCH_ONLY=intake

starts the API (and the worker) through `python -m bench.variants <variant> api|worker`, which
puts the old code back in memory before the service starts; the ceiling app runs the old SQL
too (`python -m bench.ceiling --variant ...`), so the ratio stays like for like.

* `repeat-join`: repeat-dispute detection as it was before the profile of issue 11: the
  180-day window as a plain join. As the generic plan of a prepared statement (after five
  executions on a connection) PostgreSQL scans every case of the last 180 days to find the
  one or two sharing a phone or ID number.
* `gc-unfrozen`: the API process without `gc.freeze()` after startup (before issue 22's
  tail work): every full collection walks the whole startup heap. One API process only
  (`BENCH_API_WORKERS=1`: more are spawned fresh, without the patch).
* `chain-in-session`: the audit chain as it was before migration 0033: the commit's listener
  takes the lock and reads the head (`audit_chain_head`), hashes in Python and inserts, then
  commits: two round trips of the service under the lock. The ceiling the same. The schema is
  0033's (the function is still there; the staging table is left unused).
* `pool-overflow`: the engine's pool as it was before: `MEDIATION_DB_POOL_SIZE` kept, as many
  again as overflow, closed whenever one comes back while the first half is idle.
"""

from __future__ import annotations

import sys
import uuid
from typing import Any

VARIANTS = ("repeat-join", "gc-unfrozen", "chain-in-session", "pool-overflow")

REPEATS_JOIN_SQL = (
    "SELECT case_parties.case_id, 'same_phone' AS reason FROM case_parties "
    "JOIN cases ON cases.id = case_parties.case_id WHERE cases.id != $1 "
    "AND cases.received_at >= $2 AND cases.received_at <= $3 "
    "AND case_parties.phone_hash = ANY($4::text[]) UNION ALL "
    "SELECT case_parties.case_id, 'same_id_number' FROM case_parties "
    "JOIN cases ON cases.id = case_parties.case_id WHERE cases.id != $1 "
    "AND cases.received_at >= $2 AND cases.received_at <= $3 "
    "AND case_parties.id_hash = ANY($5::text[]) UNION ALL "
    "SELECT cases.id, 'same_building' FROM cases WHERE cases.building_id = $6 "
    "AND cases.id != $1 AND cases.received_at >= $2 AND cases.received_at <= $3 LIMIT 200"
)


# As intake.REPEATS_NUMBER_SQL: the number with the repeats, in one statement.
REPEATS_JOIN_NUMBER_SQL = (
    "WITH n AS MATERIALIZED (SELECT case_number_next($7, $8) AS seq) "
    f"SELECT n.seq, r.case_id, r.reason FROM n LEFT JOIN ({REPEATS_JOIN_SQL}) AS r ON true"
)


def _repeat_join() -> None:
    from sqlalchemy import func, literal, select, union_all

    from mediation.cases.enums import RepeatReason
    from mediation.cases.models import Case, CaseParty
    from mediation_api.cases import repository as repo

    async def repeat_candidates(
        self: Any, case: Case, phone_hashes: set[str], id_hashes: set[str]
    ) -> list[tuple[uuid.UUID, RepeatReason]]:
        since = case.received_at - repo.REPEAT_WINDOW
        parts = []
        base = (
            select(CaseParty.case_id)
            .join(Case, Case.id == CaseParty.case_id)
            .where(
                Case.id != case.id, Case.received_at >= since, Case.received_at <= case.received_at
            )
        )
        if phone_hashes:
            parts.append(
                base.where(CaseParty.phone_hash.in_(phone_hashes)).add_columns(
                    literal(RepeatReason.same_phone.value).label("reason")
                )
            )
        if id_hashes:
            parts.append(
                base.where(CaseParty.id_hash.in_(id_hashes)).add_columns(
                    literal(RepeatReason.same_id_number.value).label("reason")
                )
            )
        if case.building_id is not None:
            parts.append(
                select(Case.id, literal(RepeatReason.same_building.value).label("reason")).where(
                    Case.building_id == case.building_id,
                    Case.id != case.id,
                    Case.received_at >= since,
                    Case.received_at <= case.received_at,
                )
            )
        if not parts:
            return []
        rows = (await self.session.execute(union_all(*parts).limit(200))).all()
        return sorted({(r[0], RepeatReason(r[1])) for r in rows})

    async def repeats_and_number(
        self: Any,
        case: Case,
        phone_hashes: set[str],
        id_hashes: set[str],
        district_id: uuid.UUID,
    ) -> tuple[list[tuple[uuid.UUID, RepeatReason]], int]:
        found = await repeat_candidates(self, case, phone_hashes, id_hashes)
        seq = await self.session.scalar(select(func.case_number_next(district_id, case.year)))
        return found, int(seq)

    repo.CaseRepository.repeat_candidates = repeat_candidates  # type: ignore[method-assign]
    repo.CaseRepository.repeats_and_number = repeats_and_number  # type: ignore[method-assign]


def _chain_in_session() -> None:
    from sqlalchemy import event, insert
    from sqlalchemy.orm import Session

    from mediation.audit import chain
    from mediation.audit.models import AuditEvent
    from mediation.outbox.events import take_notify

    insert_entries = insert(AuditEvent.__table__)

    def chain_on_commit(session: Session) -> None:
        if session.in_nested_transaction():
            return
        session.flush()
        queued = session.info.pop(chain._QUEUE, None)
        if not queued:
            return
        last = session.execute(chain.HEAD_SQL, {"notify": take_notify(session)}).first()
        seq, prev = (last[0], last[1]) if last else (0, chain.GENESIS)
        rows = []
        for entry in queued:
            seq += 1
            row = {**entry, "seq": seq, "prev_hash": prev}
            row["hash"] = prev = chain.digest(row["prev_hash"], row)
            rows.append(row)
        session.execute(insert_entries, rows)

    event.remove(Session, "before_commit", chain._chain_on_commit)
    event.listen(Session, "before_commit", chain_on_commit, insert=True)


async def audit_in_session(conn: Any, caller: Any, entries: list[tuple[str, str, Any]]) -> None:
    """The ceiling's `_audit` of `chain-in-session`: head, hash, insert before COMMIT."""
    import json

    from bench.ceiling import audit_entry
    from mediation.audit.chain import GENESIS, digest

    last = await conn.fetchrow("SELECT seq, hash FROM audit_chain_head(false)")
    seq, prev = (last["seq"], last["hash"]) if last else (0, GENESIS)
    rows = []
    for action, record_type, record_id in entries:
        seq += 1
        row = {**audit_entry(caller, action, record_type, record_id), "seq": seq, "prev_hash": prev}
        row["hash"] = prev = digest(prev, row)
        rows.append(row)
    cols = ("seq", "at", "actor_id", "actor_name", "action", "record_type", "record_id")
    await conn.execute(
        "INSERT INTO audit_events (seq, at, actor_id, actor_name, action, record_type, "
        "record_id, result, client_ip, request_id, detail, prev_hash, hash) "
        "SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::uuid[], $4::text[], "
        "$5::text[], $6::text[], $7::uuid[], $8::text[], $9::text[], $10::text[], "
        "$11::jsonb[], $12::text[], $13::text[])",
        *([r[c] for r in rows] for c in cols),
        [r["result"] for r in rows],
        [r["client_ip"] for r in rows],
        [r["request_id"] for r in rows],
        [json.dumps(r["detail"]) for r in rows],
        [r["prev_hash"] for r in rows],
        [r["hash"] for r in rows],
    )


def _pool_overflow() -> None:
    from sqlalchemy.ext import asyncio as sa_asyncio

    import mediation.db

    def create_async_engine(url: Any, **kw: Any) -> Any:
        size = kw.pop("pool_size") // 2
        kw.update(pool_size=size, max_overflow=size)
        return sa_asyncio.create_async_engine(url, **kw)

    mediation.db.create_async_engine = create_async_engine  # type: ignore[attr-defined]


def apply(variant: str) -> None:
    if variant not in VARIANTS:
        raise SystemExit(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
    if variant == "repeat-join":
        _repeat_join()
    elif variant == "gc-unfrozen":
        import mediation_api.main

        mediation_api.main._freeze_heap = lambda: None
    elif variant == "chain-in-session":
        _chain_in_session()
    elif variant == "pool-overflow":
        _pool_overflow()


def ceiling_sql(variant: str | None) -> dict[str, str]:
    """The ceiling's statements that differ in a variant."""
    return {"repeats": REPEATS_JOIN_NUMBER_SQL} if variant == "repeat-join" else {}


def main() -> None:
    variant, service = sys.argv[1], sys.argv[2]
    apply(variant)
    if service == "api":
        from mediation_api.main import run
    else:
        from mediation_worker.main import run
    run()


if __name__ == "__main__":
    main()
