"""Bad input is a clear problem+json and writes nothing: end before start, a session for a
case that is not being handled, a mediator without a mediating role (or whose role does not
cover the case), a double booking of a mediator or a room, and the rest."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.sessions.conftest import (
    BUILDING,
    CASES,
    DAY,
    SESSIONS,
    XIYUAN_GRID,
    at,
    at_time,
    case_action,
    etag,
    new_case,
    person_id,
    schedule,
    session_body,
)
from tests.sessions.test_held import held_body
from tests.sessions.test_outcome import AGREEMENT
from tests.support.world import World

COUNTS = (
    "SELECT (SELECT count(*) FROM mediation_sessions), (SELECT count(*) FROM session_bookings),"
    " (SELECT count(*) FROM session_mediators), (SELECT count(*) FROM session_events),"
    " (SELECT count(*) FROM outbox_events WHERE type LIKE 'session.%')"
)


async def refused(
    client: httpx.AsyncClient,
    world: World,
    sql: Any,
    case: dict[str, Any],
    body: dict[str, Any],
    status: int,
) -> dict[str, Any]:
    before = await sql(COUNTS)
    r = await client.post(
        f"{CASES}/{case['id']}/sessions", json=body, headers=await world.headers("dispatcher")
    )
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["status"] == status and problem["detail"]
    assert await sql(COUNTS) == before, "a refused request wrote something"
    return problem


def fields(problem: dict[str, Any]) -> list[str]:
    return [e["field"] for e in problem.get("errors") or []]


async def test_times_privacy_and_place_are_checked_before_anything_is_read(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    case = await new_case(client, world)
    mediator = await person_id(world, "mediator")
    start = at_time(DAY, 9)
    p = await refused(
        client,
        world,
        sql,
        case,
        session_body([mediator], start, ends_at=(start - timedelta(hours=1)).isoformat()),
        422,
    )
    assert "`ends_at` must be after `starts_at`" in str(p["errors"])
    p = await refused(
        client, world, sql, case, session_body([mediator], start, minutes=13 * 60), 422
    )
    assert "12 hours" in str(p["errors"])
    p = await refused(
        client, world, sql, case, session_body([mediator], start, privacy_reason=None), 422
    )
    assert "privacy_reason" in str(p["errors"])
    p = await refused(client, world, sql, case, session_body([mediator], start, place=None), 422)
    assert "place" in str(p["errors"])
    p = await refused(client, world, sql, case, session_body([mediator, mediator], start), 422)
    assert "once" in str(p["errors"])
    no_offset = session_body([mediator], start)
    no_offset["starts_at"] = "2026-11-28T09:00:00"
    await refused(client, world, sql, case, no_offset, 422)
    past = session_body([mediator], at_time(DAY - timedelta(days=3), 9))
    problem = await refused(client, world, sql, case, past, 422)
    assert fields(problem) == ["body.starts_at", "body.ends_at"]
    assert "MEDIATION_SESSION_MAX_DAYS_AHEAD" in problem["errors"][0]["message"]


@pytest.mark.parametrize("status", ["received", "withdrawn", "closed"])
async def test_a_case_that_is_not_being_handled_gets_no_session(
    client: httpx.AsyncClient, world: World, sql: Any, status: str
) -> None:
    h = await world.headers("dispatcher")
    case = await new_case(client, world, status="received" if status == "received" else "assigned")
    if status == "withdrawn":
        case = await case_action(client, h, case, "withdraw", {"reason": "当事人已自行和解"})
    if status == "closed":
        case = await case_action(client, h, case, "start-mediation")
        case = await case_action(
            client, h, case, "fail", {"referral": "litigation", "reason": "双方分歧较大"}
        )
        case = await case_action(client, h, case, "close")
    assert case["status"] == status
    body = session_body([await person_id(world, "mediator")], at_time(DAY, 9))
    problem = await refused(client, world, sql, case, body, 409)
    assert problem["case_status"] == status and problem["code"] == "case-not-schedulable"


async def test_mediators_need_a_mediating_role_covering_the_case(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    case = await new_case(client, world)
    start = at_time(DAY, 9)
    mediator = await person_id(world, "mediator")
    # The dispatcher organises sessions but holds no mediating role.
    dispatcher = await person_id(world, "dispatcher")
    p = await refused(client, world, sql, case, session_body([mediator, dispatcher], start), 422)
    assert fields(p) == ["body.mediators.1.person_id"]
    assert "holds no mediating role" in p["detail"] and p["code"] == "mediator-without-role"
    # The counselor mediates, but in 西园社区, not where this case happened.
    counselor = await person_id(world, "counselor")
    p = await refused(client, world, sql, case, session_body([counselor], start), 422)
    assert fields(p) == ["body.mediators.0.person_id"]
    assert "does not cover" in p["detail"] and p["code"] == "mediator-without-role"
    # 警民联调 needs a police officer at the table; judicial mediation a judicial mediator.
    p = await refused(
        client, world, sql, case, session_body([mediator], start, kind="police_joint"), 422
    )
    assert fields(p) == ["body.mediators"]
    p = await refused(
        client, world, sql, case, session_body([mediator], start, kind="judicial"), 422
    )
    assert fields(p) == ["body.mediators"] and p["code"] == "session-kind-needs-role"
    # Parties must be the case's own.
    p = await refused(
        client,
        world,
        sql,
        case,
        session_body([mediator], start, party_ids=["0195f7a2-8c1e-7000-8000-0000000000a1"]),
        422,
    )
    assert fields(p) == ["body.party_ids.0"] and p["code"] == "party-not-on-case"


async def test_a_double_booking_is_a_409_naming_the_other_session(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    h = await world.headers("dispatcher")
    a, b = await new_case(client, world), await new_case(client, world)
    mediator, police = await person_id(world, "mediator"), await person_id(world, "police")
    first = await schedule(client, h, a, session_body([mediator], at_time(DAY, 9)))
    # The same mediator half an hour into that session, elsewhere.
    p = await refused(
        client,
        world,
        sql,
        b,
        session_body([police, mediator], at_time(DAY, 9, 30), place="北沟街道调解室"),
        409,
    )
    assert p["type"].endswith("/double-booking")
    assert p["conflicting_session_id"] == first["id"]
    assert p["resource"] == "mediator" and p["person_id"] == mediator
    assert p["conflicting_starts_at"] == "2026-11-28T09:00:00+08:00"
    assert p["conflicting_case_number"] == a["number"]
    assert "冯调解" in p["detail"] and first["id"] in p["detail"]
    # The same room (written differently) with other mediators.
    p = await refused(
        client,
        world,
        sql,
        b,
        session_body([police], at_time(DAY, 10), place="先锋社区 调解室"),
        409,
    )
    assert p["resource"] == "place" and p["conflicting_session_id"] == first["id"]
    # Back to back is fine: the first ends at 10:30.
    await schedule(client, h, b, session_body([mediator], at_time(DAY, 10, 30)))
    # A video session books the mediator but no room.
    await schedule(
        client,
        h,
        b,
        session_body(
            [police], at_time(DAY, 9), mode="video", place=None, meeting_info="腾讯会议 123"
        ),
    )


# What a refused outcome or booking must leave as it was: the sessions, their bookings and
# histories, the cases' timelines and the outbox.
UNCHANGED = (
    "SELECT (SELECT array_agg((status, version, timeline_seq) ORDER BY id)::text "
    "FROM mediation_sessions), (SELECT array_agg((during, active) ORDER BY id)::text "
    "FROM session_bookings), (SELECT count(*) FROM session_events), "
    "(SELECT array_agg((version, timeline_seq) ORDER BY id)::text FROM cases), "
    "(SELECT count(*) FROM case_events), (SELECT count(*) FROM outbox_events)"
)


@pytest.mark.parametrize("held", [False, True], ids=["booked", "held"])
@pytest.mark.parametrize(
    ("who", "where", "status", "expect"),
    [
        # Each request breaks every later rule too: the first rule broken answers.
        ("police", XIYUAN_GRID, "accepted", 404),  # outside the caller's jurisdiction
        ("legal_advisor", BUILDING, "received", 403),  # neither dispatcher nor handler
        ("dispatcher", BUILDING, "received", 409),  # not being handled
        ("dispatcher", BUILDING, "assigned", 422),  # no mediating role
    ],
)
async def test_a_booking_is_refused_by_its_first_broken_rule_and_writes_nothing(
    client: httpx.AsyncClient,
    world: World,
    sql: Any,
    who: str,
    where: str,
    status: str,
    expect: int,
    held: bool,
) -> None:
    """The same for a session scheduled and one recorded as held already (on the spot)."""
    case = await new_case(client, world, unit=where, status=status)
    dispatcher = await person_id(world, "dispatcher")  # holds no mediating role
    path = f"{CASES}/{case['id']}/sessions"
    if held:
        at(world, at_time(DAY, 16))
        body = held_body(case, [dispatcher], at_time(DAY, 9), party_ids=[case["id"]])
        path += "/held"
    else:
        body = session_body([dispatcher], at_time(DAY, 9), party_ids=[case["id"]])
    before = await sql(UNCHANGED)
    r = await client.post(path, json=body, headers=await world.headers(who))
    assert r.status_code == expect, r.text
    if expect == 422:
        assert fields(r.json()) == ["body.mediators.0.person_id"]
    assert await sql(UNCHANGED) == before


@pytest.mark.parametrize(
    ("status", "clash", "stranger", "agreement", "expect", "code"),
    [
        # After the booking's rules, a session held already: each request breaks every later
        # rule too. A clash is answered before the attending parties are checked, and both
        # before the case is resolved (an accepted case cannot be: 409).
        ("accepted", True, True, AGREEMENT, 409, "double-booking"),
        ("accepted", False, True, AGREEMENT, 422, "attendee-not-invited"),
        ("accepted", False, False, AGREEMENT, 409, None),
        # Mediation started, then the resolve refuses: that is not written either.
        ("assigned", False, False, {**AGREEMENT, "performance_due_on": "2026-01-01"}, 422, None),
    ],
)
async def test_a_session_held_already_is_refused_by_its_first_broken_rule_and_writes_nothing(
    client: httpx.AsyncClient,
    world: World,
    sql: Any,
    status: str,
    clash: bool,
    stranger: bool,
    agreement: dict[str, Any],
    expect: int,
    code: str | None,
) -> None:
    mediator = await person_id(world, "mediator")
    if clash:
        other = await new_case(client, world, title="另一起")
        h = await world.headers("dispatcher")
        await schedule(client, h, other, session_body([mediator], at_time(DAY, 9)))
    at(world, at_time(DAY, 16))
    h = await world.headers("dispatcher")  # signed in after the clock moved
    case = await new_case(client, world, status=status)
    attended = [p["id"] for p in case["parties"]] + ([case["id"]] if stranger else [])
    body = held_body(
        case, [mediator], at_time(DAY, 9), attended_party_ids=attended, agreement=agreement
    )
    before = await sql(UNCHANGED)
    r = await client.post(f"{CASES}/{case['id']}/sessions/held", json=body, headers=h)
    assert r.status_code == expect, r.text
    if code is not None:
        assert r.json()["code"] == code
    assert await sql(UNCHANGED) == before


@pytest.mark.parametrize(
    ("who", "if_match", "started", "expect"),
    [
        # Each request breaks every later rule too: the first rule broken answers.
        ("police", None, False, 404),  # the session lies outside the caller's jurisdiction
        ("legal_advisor", None, False, 428),
        ("legal_advisor", "stale", False, 412),
        ("legal_advisor", "current", False, 403),  # neither dispatcher, handler nor mediator
        ("dispatcher", "current", False, 409),  # before the session starts
        ("dispatcher", "current", True, 422),  # an attendee who is not a mediator
    ],
)
async def test_an_outcome_is_refused_by_its_first_broken_rule_and_writes_nothing(
    client: httpx.AsyncClient,
    world: World,
    sql: Any,
    who: str,
    if_match: str | None,
    started: bool,
    expect: int,
) -> None:
    h = await world.headers("dispatcher")
    far = who == "police"  # 西园's case, which the community police officer does not see
    case = await new_case(client, world, unit=XIYUAN_GRID if far else BUILDING, status="accepted")
    mediator = await person_id(world, "counselor" if far else "mediator")
    ms = await schedule(client, h, case, session_body([mediator], at_time(DAY, 9)))
    if started:
        at(world, at_time(DAY, 11))
    headers = await world.headers(who)
    if if_match is not None:
        headers["If-Match"] = etag(ms) if if_match == "current" else f'"{ms["id"]}-9"'
    body = {
        "attended_person_ids": [await person_id(world, "dispatcher")],
        "minutes": "双方陈述事实。",
        "outcome": "none",
    }
    before = await sql(UNCHANGED)
    r = await client.post(f"{SESSIONS}/{ms['id']}/outcome", json=body, headers=headers)
    assert r.status_code == expect, r.text
    assert await sql(UNCHANGED) == before
