"""Bookings follow what really happened (issue 16, item 6): once an outcome says when a session
ended, its mediators and room are booked until then, earlier or later than planned; a mediator
who did not attend is free for that time; an overrun into another session of theirs stops
where that one begins (the facts are recorded, not refused)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from tests.sessions.conftest import (
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
from tests.sessions.test_outcome import outcome
from tests.support.world import World

BOOKED = (
    "SELECT to_char(lower(during) AT TIME ZONE 'Asia/Shanghai', 'HH24:MI'),"
    " to_char(upper(during) AT TIME ZONE 'Asia/Shanghai', 'HH24:MI'), active"
    " FROM session_bookings WHERE session_id = :s ORDER BY person_id NULLS LAST"
)


def none_reached(ms: dict[str, Any], **over: Any) -> dict[str, Any]:
    return outcome(ms, outcome="none", agreement=None, next_step=None, **over)


async def two_cases(
    client: httpx.AsyncClient, world: World
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str], str]:
    """Two cases of the mediator 冯调解, the dispatcher's headers, the mediator's person id."""
    case, other = await new_case(client, world), await new_case(client, world, title="另一起")
    return case, other, await world.headers("dispatcher"), await person_id(world, "mediator")


async def test_a_session_that_ended_early_frees_the_rest_of_its_time(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    case, other, h, mediator = await two_cases(client, world)
    ms = await schedule(client, h, case, session_body([mediator], at_time(DAY, 9), minutes=180))
    at(world, at_time(DAY, 10, 30))
    h = await world.headers("dispatcher")
    # Still booked until the planned end (12:00): the mediator and the room.
    eleven = session_body([mediator], at_time(DAY, 11), minutes=60)
    clash = await schedule(client, h, other, eleven, expect=409)
    assert clash["type"].endswith("double-booking")
    held = await session_action(
        client, h, ms, "outcome", none_reached(ms, ended_at=at_time(DAY, 10).isoformat())
    )
    assert held["held_ended_at"] == "2026-11-28T10:00:00+08:00"
    assert await sql(BOOKED, s=ms["id"]) == [("09:00", "10:00", True), ("09:00", "10:00", True)]
    # The freed time takes a new session: same mediator, same room.
    new = await schedule(client, h, other, eleven)
    assert new["status"] == "scheduled"


async def test_a_session_that_ran_over_books_until_it_ended(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    case, other, h, mediator = await two_cases(client, world)
    ms = await schedule(client, h, case, session_body([mediator], at_time(DAY, 9), minutes=60))
    at(world, at_time(DAY, 10, 20))
    h = await world.headers("dispatcher")
    await session_action(
        client, h, ms, "outcome", none_reached(ms, ended_at=at_time(DAY, 10, 20).isoformat())
    )
    assert await sql(BOOKED, s=ms["id"]) == [("09:00", "10:20", True), ("09:00", "10:20", True)]
    # A session starting at 10:10 (within the slack for a form filled in late) would have
    # fitted the plan; the mediator was still mediating.
    late = await schedule(
        client, h, other, session_body([mediator], at_time(DAY, 10, 10), minutes=30), expect=409
    )
    assert late["conflicting_session_id"] == ms["id"]
    assert late["conflicting_ends_at"] == "2026-11-28T10:20:00+08:00"  # the real end
    await schedule(client, h, other, session_body([mediator], at_time(DAY, 10, 20), minutes=30))


async def test_an_overrun_into_the_next_session_is_recorded_and_stops_there(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    case, other, h, mediator = await two_cases(client, world)
    ms = await schedule(client, h, case, session_body([mediator], at_time(DAY, 9), minutes=60))
    nxt = await schedule(
        client, h, other, session_body([mediator], at_time(DAY, 10, 30), minutes=60)
    )
    at(world, at_time(DAY, 10, 45))
    h = await world.headers("dispatcher")
    held = await session_action(
        client, h, ms, "outcome", none_reached(ms, ended_at=at_time(DAY, 10, 40).isoformat())
    )
    assert held["status"] == "held" and held["held_ended_at"] == "2026-11-28T10:40:00+08:00"
    # Booked until the next session begins; that one keeps its whole time.
    assert await sql(BOOKED, s=ms["id"]) == [("09:00", "10:30", True), ("09:00", "10:30", True)]
    assert await sql(BOOKED, s=nxt["id"]) == [("10:30", "11:30", True), ("10:30", "11:30", True)]


async def test_a_mediator_who_did_not_attend_is_free(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    case, other = await new_case(client, world), await new_case(client, world, title="另一起")
    h = await world.headers("dispatcher")
    mediator, advisor = await person_id(world, "mediator"), await person_id(world, "legal_advisor")
    ms = await schedule(
        client, h, case, session_body([mediator, advisor], at_time(DAY, 9), minutes=180)
    )
    elsewhere = session_body([advisor], at_time(DAY, 10), minutes=60, place="先锋社区警务室")
    await schedule(client, h, other, elsewhere, expect=409)
    at(world, at_time(DAY, 9, 30))
    h = await world.headers("dispatcher")
    await session_action(
        client, h, ms, "outcome", none_reached(ms, attended_person_ids=[mediator], ended_at=None)
    )
    rows = await sql(
        "SELECT coalesce(person_id::text, place_key), active FROM session_bookings"
        " WHERE session_id = :s",
        s=ms["id"],
    )
    assert dict(rows) == {mediator: True, advisor: False, "先锋社区调解室": True}
    await schedule(client, h, other, elsewhere)


async def test_the_real_end_lies_after_the_start_and_within_twelve_hours(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    case = await new_case(client, world)
    h = await world.headers("dispatcher")
    mediator = await person_id(world, "mediator")
    ms = await schedule(client, h, case, session_body([mediator], at_time(DAY, 9), minutes=60))
    at(world, at_time(DAY + timedelta(days=1), 8))
    h = await world.headers("dispatcher")
    before = await sql(BOOKED, s=ms["id"])
    for ended_at, field in [
        (at_time(DAY, 8, 59), "body.ended_at"),  # before the start
        (at_time(DAY, 21, 1), "body.ended_at"),  # more than 12 hours
        (at_time(DAY + timedelta(days=2), 9), "body.ended_at"),  # in the future
    ]:
        r = await client.post(
            f"{SESSIONS}/{ms['id']}/outcome",
            json=none_reached(ms, ended_at=ended_at.isoformat()),
            headers={**h, "If-Match": etag(ms)},
        )
        assert r.status_code == 422, r.text
        assert field in [e["field"] for e in r.json()["errors"]], r.json()
    got = (await client.get(f"{SESSIONS}/{ms['id']}", headers=h)).json()
    assert got["status"] == "scheduled" and got["version"] == ms["version"]
    assert await sql(BOOKED, s=ms["id"]) == before
