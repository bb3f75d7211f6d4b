"""Recording what already happened (issue 16, item 11): an on-the-spot mediation (当场调解) is
recorded afterwards in one action, within the date window, on the timeline, counted like any
held session, with the same agreement and resolution effects as recording an outcome."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from arq import create_pool

from mediation.settings import Settings
from tests.sessions.conftest import (
    CASES,
    DAY,
    SESSIONS,
    at,
    at_time,
    new_case,
    person_id,
    schedule,
    session_body,
)
from tests.sessions.test_outcome import AGREEMENT
from tests.support.world import World

ORAL = {**AGREEMENT, "form": "oral", "signed_by_parties": False}


def held_body(
    case: dict[str, Any], mediators: list[str], starts_at: Any, minutes: int = 40, **over: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "people",
        "mode": "on_site",
        "starts_at": starts_at.isoformat(),
        "ended_at": (starts_at + timedelta(minutes=minutes)).isoformat(),
        "place": "1号楼1单元楼道（现场调解）",
        "mediators": [{"person_id": m} for m in mediators],
        "is_public": True,
        "rights_notice_given": True,
        "attended_party_ids": [p["id"] for p in case["parties"]],
        "minutes": "网格员与调解员到场，双方当场协商，502室同意修复漏水。",
        "outcome": "agreement",
        "next_step": "performance",
        "agreement": ORAL,
    }
    body.update(over)
    return body


async def record(
    client: httpx.AsyncClient,
    h: dict[str, str],
    case: dict[str, Any],
    body: dict[str, Any],
    expect: int = 201,
) -> dict[str, Any]:
    r = await client.post(f"{CASES}/{case['id']}/sessions/held", json=body, headers=h)
    assert r.status_code == expect, r.text
    return r.json()


SNAPSHOT = (
    "SELECT (SELECT count(*) FROM mediation_sessions), (SELECT count(*) FROM session_bookings),"
    " (SELECT count(*) FROM session_events), (SELECT count(*) FROM case_events),"
    " (SELECT count(*) FROM case_agreements), (SELECT count(*) FROM outbox_events),"
    " (SELECT version FROM cases WHERE id = :c)"
)


async def test_an_on_the_spot_mediation_is_recorded_in_one_action(
    client: httpx.AsyncClient,
    world: World,
    sql: Any,
    worker: Any,
    sms_peer: Any,
    settings: Settings,
    run_worker: Any,
) -> None:
    case = await new_case(client, world)  # assigned to 冯调解, not yet in mediation
    mediator = await person_id(world, "mediator")
    at(world, at_time(DAY, 16))  # two days later, back at the office
    m = await world.headers("mediator")
    held = await record(client, m, case, held_body(case, [mediator], at_time(DAY, 14)))
    assert held["status"] == "held" and held["outcome"] == "agreement"
    assert (held["starts_at"], held["held_ended_at"]) == (
        "2026-11-28T14:00:00+08:00",
        "2026-11-28T14:40:00+08:00",
    )
    assert [(x["name"], x["attended"]) for x in held["mediators"]] == [("冯调解", True)]
    assert all(p["attended"] for p in held["parties"])
    assert held["outcome_recorded_at"] == "2026-11-28T16:00:00+08:00"
    assert [(e["type"], e["data"]["recorded_afterwards"]) for e in held["history"]] == [
        ("outcome_recorded", True)
    ]
    # The same effects on the case as recording an outcome: mediation started, resolved.
    h = await world.headers("dispatcher")
    got = (await client.get(f"{CASES}/{case['id']}", headers=h)).json()
    assert got["status"] == "resolved" and got["agreement"]["form"] == "oral"
    entries = (await client.get(f"{CASES}/{case['id']}/timeline", headers=h)).json()["items"]
    # One transaction (their order within it is issue 16's item 3, not this test's).
    assert {e["type"] for e in entries[-3:]} == {"session_held", "mediation_started", "resolved"}
    entry = next(e for e in entries if e["type"] == "session_held")
    assert entry["data"]["recorded_afterwards"] is True
    assert entry["data"]["place"] == "1号楼1单元楼道（现场调解）"
    # Booked for the time it took: another session of the mediator then is a clash.
    other = await new_case(client, world, title="另一起")
    clash = await record(
        client, h, other, held_body(other, [mediator], at_time(DAY, 14, 20)), expect=409
    )
    assert clash["conflicting_session_id"] == held["id"]

    # Nobody is told of a meeting that is over: no scheduling notice, no reminder, no SMS.
    types = [r[0] for r in await sql("SELECT type FROM outbox_events WHERE type LIKE 'session.%'")]
    assert types == ["session.outcome_recorded"]
    await worker()
    texts = [r.json()["message"] for r in sms_peer.at("/sms")]
    assert texts and not [t for t in texts if "调解会" in t]  # only the assignment notices
    # Counted like any held session in the month's figures.
    from mediation_worker.main import build_settings

    ws = build_settings(settings, background=False)
    pool = await create_pool(ws.redis_settings, default_queue_name=settings.arq_queue)
    await pool.enqueue_job("refresh_live_stats")
    await pool.aclose()
    await run_worker(relay=False)
    live = (await client.get("/api/v1/stats/live", headers=h)).json()
    figures = next(f for f in live["figures"] if f["channel"] == "all")
    assert figures["cases"]["sessions_held"] == 1


async def test_a_session_held_in_the_past_is_within_the_window(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    case = await new_case(client, world, status="in_mediation")
    mediator = await person_id(world, "mediator")
    h = await world.headers("dispatcher")
    before = await sql(SNAPSHOT, c=case["id"])
    now = world.clock.now()
    for starts_at, field in [
        (now - timedelta(days=91), "body.starts_at"),  # MEDIATION_SESSION_MAX_DAYS_BACK
        (now + timedelta(hours=1), "body.starts_at"),  # not held yet: schedule it instead
    ]:
        p = await record(client, h, case, held_body(case, [mediator], starts_at), expect=422)
        assert field in [e["field"] for e in p["errors"]], p
        assert "MEDIATION_SESSION_MAX_DAYS_BACK" in str(p["errors"])
    # Ended before it started, or lasting more than 12 hours.
    start = now - timedelta(days=1)
    for minutes in (-10, 13 * 60):
        await record(client, h, case, held_body(case, [mediator], start, minutes), expect=422)
    # Not a mediator, not a party of this case.
    counselor = await person_id(world, "counselor")  # mediates in 西园社区, not here
    await record(client, h, case, held_body(case, [counselor], start), expect=422)
    stranger = {"attended_party_ids": ["0195f7a2-8c1e-7000-8000-0000000000a1"]}
    await record(client, h, case, held_body(case, [mediator], start, **stranger), expect=422)
    assert await sql(SNAPSHOT, c=case["id"]) == before
    # Ninety days back is still recordable (without an agreement: the case stays open).
    ok = await record(
        client,
        h,
        case,
        held_body(
            case,
            [mediator],
            now - timedelta(days=89),
            outcome="postponed",
            agreement=None,
            next_step=None,
        ),
    )
    assert ok["status"] == "held" and ok["next_step"] == "another_session"
    got = (await client.get(f"{CASES}/{case['id']}", headers=h)).json()
    assert got["status"] == "in_mediation"


async def test_not_before_the_dispute_and_only_for_a_case_being_handled(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    h = await world.headers("dispatcher")
    mediator = await person_id(world, "mediator")
    received = await new_case(client, world, status="received")
    problem = await record(
        client,
        h,
        received,
        held_body(received, [mediator], at_time(DAY - timedelta(days=3), 9)),
        expect=409,
    )
    assert problem["case_status"] == "received"

    case = await new_case(client, world)
    happened = at_time(DAY - timedelta(days=3), 12)
    r = await client.patch(
        f"{CASES}/{case['id']}",
        json={"occurred_at": happened.isoformat()},
        headers={**h, "If-Match": f'"{case["id"]}-{case["version"]}"'},
    )
    assert r.status_code == 200, r.text
    before = await sql(SNAPSHOT, c=case["id"])
    p = await record(
        client, h, case, held_body(case, [mediator], happened - timedelta(hours=2)), expect=422
    )
    assert p["errors"][0]["field"] == "body.starts_at" and "happened" in p["detail"]
    assert await sql(SNAPSHOT, c=case["id"]) == before
    # The agreement of a session held the day before takes effect that day.
    body = held_body(
        case,
        [mediator],
        happened + timedelta(hours=2),
        agreement={**ORAL, "effective_on": happened.date().isoformat()},
    )
    await record(client, h, case, body)
    got = (await client.get(f"{CASES}/{case['id']}", headers=h)).json()
    assert got["agreement"]["effective_on"] == "2026-11-25"


async def test_minutes_of_a_recorded_session_are_printed(
    client: httpx.AsyncClient, world: World
) -> None:
    case = await new_case(client, world)
    mediator = await person_id(world, "mediator")
    h = await world.headers("dispatcher")
    planned = await schedule(client, h, case, session_body([mediator], at_time(DAY, 9)))
    at(world, at_time(DAY, 12))
    h = await world.headers("dispatcher")
    body = held_body(case, [mediator], at_time(DAY, 10, 30), outcome="partial", agreement=None)
    held = await record(client, h, case, body)
    listed = (await client.get(f"{CASES}/{case['id']}/sessions", headers=h)).json()["items"]
    assert [(s["id"], s["status"]) for s in listed] == [
        (planned["id"], "scheduled"),
        (held["id"], "held"),
    ]
    one = (await client.get(f"{SESSIONS}/{held['id']}", headers=h)).json()
    assert one["minutes"] == body["minutes"]


async def test_an_agreement_taking_effect_before_its_session_is_refused(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """The acceptance audit: a session held on 28 November 14:00 recorded an agreement that
    "took effect" on 1 September, before the case was registered (26 November) and before
    the session that reached it; only the dispute's time (unset here) was checked. The
    session's day is the earliest; nothing is written."""
    case = await new_case(client, world)
    mediator = await person_id(world, "mediator")
    at(world, at_time(DAY, 16))
    m = await world.headers("mediator")
    before = await sql(SNAPSHOT, c=case["id"])
    for effective in ("2026-09-01", "2026-11-27"):
        agreement = {**ORAL, "effective_on": effective}
        body = held_body(case, [mediator], at_time(DAY, 14), agreement=agreement)
        p = await record(client, m, case, body, expect=422)
        assert p["code"] == "validation"
        assert [e["field"] for e in p["errors"]] == ["body.agreement.effective_on"]
        assert "2026-11-28 at the earliest" in p["detail"]
    assert await sql(SNAPSHOT, c=case["id"]) == before
    body = held_body(
        case, [mediator], at_time(DAY, 14), agreement={**ORAL, "effective_on": "2026-11-28"}
    )
    await record(client, m, case, body)
    got = (await client.get(f"{CASES}/{case['id']}", headers=m)).json()
    assert got["status"] == "resolved" and got["agreement"]["effective_on"] == "2026-11-28"
