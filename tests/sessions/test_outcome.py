"""After the session: attendance, minutes, outcome. An agreement resolves the case in the same
transaction; when the case cannot be resolved, nothing of the outcome is written."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from tests.sessions.conftest import (
    CASES,
    DAY,
    SESSIONS,
    at,
    at_time,
    etag,
    new_case,
    person_id,
    schedule,
    session_action,
    session_body,
)
from tests.support.world import World

AGREEMENT = {
    "form": "written",
    "terms": "502室业主于7日内修复漏水并赔偿402室2000元。",
    "amount": "2000.00",
    "performance_method": "现金一次性支付",
    "signed_by_parties": True,
}


def outcome(ms: dict[str, Any], **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "attended_party_ids": [p["party_id"] for p in ms["parties"]],
        "minutes": "双方陈述事实，调解员释明相关法律规定，双方同意由502室修复漏水。",
        "outcome": "agreement",
        "next_step": "performance",
        "agreement": AGREEMENT,
    }
    body.update(over)
    return body


async def test_an_agreement_resolves_the_case_in_the_same_transaction(
    client: httpx.AsyncClient, world: World, sql: Any, worker: Any
) -> None:
    case = await new_case(client, world)  # assigned, not yet in mediation
    h = await world.headers("dispatcher")
    mediator, advisor = await person_id(world, "mediator"), await person_id(world, "legal_advisor")
    ms = await schedule(client, h, case, session_body([mediator, advisor], at_time(DAY, 9)))
    later = await schedule(
        client, h, case, session_body([mediator], at_time(DAY + timedelta(days=7), 9))
    )
    # Not before it starts.
    early = await client.post(
        f"{SESSIONS}/{ms['id']}/outcome", json=outcome(ms), headers={**h, "If-Match": etag(ms)}
    )
    assert early.status_code == 409 and early.json()["code"] == "outcome-before-start"
    at(world, at_time(DAY, 11))
    h = await world.headers("dispatcher")
    m = await world.headers("mediator")  # the session's mediator, also the case's handler
    held = await session_action(
        client, m, ms, "outcome", outcome(ms, attended_person_ids=[mediator])
    )
    assert held["status"] == "held" and held["outcome"] == "agreement"
    assert held["next_step"] == "performance"
    assert [(x["name"], x["attended"]) for x in held["mediators"]] == [
        ("冯调解", True),
        ("王顾问", False),
    ]
    assert all(p["attended"] for p in held["parties"])
    assert held["history"][-1]["data"]["case_status"] == "resolved"

    got = (await client.get(f"{CASES}/{case['id']}", headers=h)).json()
    assert got["status"] == "resolved"
    assert got["agreement"]["terms"] == AGREEMENT["terms"]
    assert got["agreement"]["amount"] == "2000.00"
    timeline = (await client.get(f"{CASES}/{case['id']}/timeline", headers=h)).json()["items"]
    assert [e["type"] for e in timeline][-2:] == ["mediation_started", "resolved"]
    signed = await sql(
        "SELECT mediator_person_ids::text[] FROM case_agreements WHERE case_id = :c", c=case["id"]
    )
    assert signed[0][0][0] == mediator  # the mediator who held the session signs
    types = [r[0] for r in await sql("SELECT type FROM outbox_events ORDER BY created_at, id")]
    assert "case.resolved" in types and "session.outcome_recorded" in types
    payload = (
        await sql("SELECT payload FROM outbox_events WHERE type = 'session.outcome_recorded'")
    )[0][0]
    assert payload["outcome"] == "agreement" and payload["notify_party_ids"] == []
    # An outcome is recorded once.
    again = await client.post(
        f"{SESSIONS}/{ms['id']}/outcome", json=outcome(ms), headers={**m, "If-Match": etag(held)}
    )
    assert again.status_code == 409

    # The worker calls off the case's session still to come, and tells its participants.
    await worker()
    off = (await client.get(f"{SESSIONS}/{later['id']}", headers=h)).json()
    assert off["status"] == "cancelled" and off["cancel_reason"] == "纠纷调解成功，调解会不再举行"
    assert off["history"][-1]["actor_name"] == "系统"
    told = await sql(
        "SELECT n.title FROM notifications n JOIN users u ON u.id = n.user_id "
        "WHERE u.username = 'mediator' AND n.type = 'session.cancelled'"
    )
    assert told == [(f"调解会取消：{case['number']}",)]


async def test_when_the_case_cannot_be_resolved_nothing_is_written(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    case = await new_case(client, world)
    h = await world.headers("dispatcher")
    judge = await person_id(world, "judicial_mediator")
    ms = await schedule(client, h, case, session_body([judge], at_time(DAY, 9), kind="judicial"))
    at(world, at_time(DAY, 11))
    snapshot = (
        "SELECT (SELECT status FROM mediation_sessions), (SELECT version FROM cases),"
        " (SELECT count(*) FROM case_agreements), (SELECT count(*) FROM session_events),"
        " (SELECT count(*) FROM outbox_events)"
    )
    before = await sql(snapshot)
    # The judge sits on the session but is not the case's handler: may not resolve it.
    r = await client.post(
        f"{SESSIONS}/{ms['id']}/outcome",
        json=outcome(ms),
        headers={**await world.headers("judicial_mediator"), "If-Match": etag(ms)},
    )
    assert r.status_code == 403, r.text
    assert await sql(snapshot) == before
    # A written agreement without signatures is refused before anything is read.
    unsigned = {**AGREEMENT, "signed_by_parties": False}
    r = await client.post(
        f"{SESSIONS}/{ms['id']}/outcome",
        json=outcome(ms, agreement=unsigned),
        headers={**await world.headers("dispatcher"), "If-Match": etag(ms)},
    )
    assert r.status_code == 422
    # Outcome and agreement go together.
    r = await client.post(
        f"{SESSIONS}/{ms['id']}/outcome",
        json=outcome(ms, outcome="partial"),
        headers={**await world.headers("dispatcher"), "If-Match": etag(ms)},
    )
    assert r.status_code == 422
    # Only invited parties attend.
    r = await client.post(
        f"{SESSIONS}/{ms['id']}/outcome",
        json=outcome(
            ms,
            outcome="none",
            agreement=None,
            attended_party_ids=["0195f7a2-8c1e-7000-8000-0000000000a1"],
        ),
        headers={**await world.headers("dispatcher"), "If-Match": etag(ms)},
    )
    assert r.status_code == 422
    assert await sql(snapshot) == before


async def test_a_postponed_session_plans_another_and_leaves_the_case_open(
    client: httpx.AsyncClient, world: World
) -> None:
    case = await new_case(client, world, status="in_mediation")
    h = await world.headers("dispatcher")
    ms = await schedule(
        client, h, case, session_body([await person_id(world, "mediator")], at_time(DAY, 9))
    )
    at(world, at_time(DAY, 10))
    h = await world.headers("dispatcher")
    held = await session_action(
        client,
        h,
        ms,
        "outcome",
        outcome(ms, outcome="postponed", agreement=None, next_step=None, attended_party_ids=[]),
    )
    assert held["outcome"] == "postponed" and held["next_step"] == "another_session"
    assert all(p["attended"] is False for p in held["parties"])
    got = (await client.get(f"{CASES}/{case['id']}", headers=h)).json()
    assert got["status"] == "in_mediation" and got["agreement"] is None


async def test_an_agreement_taking_effect_before_its_session_is_refused(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """The acceptance audit: the outcome of a session held on 28 November took an agreement
    "in effect" since 1 September. The session's day is the earliest; nothing is written."""
    case = await new_case(client, world)
    h = await world.headers("dispatcher")
    mediator = await person_id(world, "mediator")
    ms = await schedule(client, h, case, session_body([mediator], at_time(DAY, 9)))
    at(world, at_time(DAY, 11))
    m = await world.headers("mediator")
    snapshot = (
        "SELECT (SELECT status FROM mediation_sessions), (SELECT version FROM cases),"
        " (SELECT count(*) FROM case_agreements), (SELECT count(*) FROM session_events),"
        " (SELECT count(*) FROM case_events), (SELECT count(*) FROM outbox_events)"
    )
    before = await sql(snapshot)
    early = {**AGREEMENT, "effective_on": "2026-09-01"}
    r = await client.post(
        f"{SESSIONS}/{ms['id']}/outcome",
        json=outcome(ms, agreement=early),
        headers={**m, "If-Match": etag(ms)},
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == ["body.agreement.effective_on"]
    assert "2026-11-28 at the earliest" in r.json()["detail"]
    assert await sql(snapshot) == before
    on_the_day = {**AGREEMENT, "effective_on": "2026-11-28"}
    held = await session_action(client, m, ms, "outcome", outcome(ms, agreement=on_the_day))
    assert held["history"][-1]["data"]["case_status"] == "resolved"
