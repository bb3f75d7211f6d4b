"""The iCalendar feed of a mediator's sessions, read as a calendar program would (no bearer
token, the secret address) and parsed with a real iCalendar library: Chinese text, the
Asia/Shanghai time zone, moved and cancelled sessions, replaced and revoked addresses."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
from icalendar import Calendar

from mediation.auth.accounts import add_account
from mediation.clock import CENTER_TZ
from mediation.org.enums import Role
from mediation.org.models import Person, RoleAssignment
from tests.sessions.conftest import (
    DAY,
    SESSIONS,
    at_time,
    new_case,
    person_id,
    schedule,
    session_action,
    session_body,
)
from tests.support.world import World, _demo_hash

LONG_PLACE = (
    "四平市铁西区北沟街道先锋社区党群服务中心二楼东侧"
    "人民调解委员会第一调解室（请从北门进入，电梯旁）"
)


def events(body: bytes) -> list[Any]:
    cal = Calendar.from_ical(body)
    return [c for c in cal.walk("VEVENT")]


async def test_a_mediator_subscribes_to_their_sessions(
    client: httpx.AsyncClient, world: World
) -> None:
    h = await world.headers("dispatcher")
    mediator, judge = (
        await person_id(world, "mediator"),
        await person_id(world, "judicial_mediator"),
    )
    case = await new_case(client, world)
    ms = await schedule(
        client, h, case, session_body([mediator, judge], at_time(DAY, 9, 30), place=LONG_PLACE)
    )
    other = await schedule(
        client,
        h,
        case,
        session_body([judge], at_time(DAY + timedelta(days=2), 14), kind="judicial"),
    )

    r = await client.post("/api/v1/me/calendar-feed", headers=await world.headers("mediator"))
    assert r.status_code == 201, r.text
    feed = r.json()
    assert feed["person_id"] == mediator
    assert feed["url"].endswith(feed["path"]) and feed["token"] in feed["path"]

    got = await client.get(feed["path"])  # no Authorization header: the address is the secret
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "text/calendar; charset=utf-8"
    assert b"\r\n" in got.content and all(len(line) <= 75 for line in got.content.split(b"\r\n")), (
        "lines are folded at 75 octets"
    )
    cal = Calendar.from_ical(got.content)
    assert str(cal["X-WR-CALNAME"]) == "冯调解的调解会"
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    (event,) = events(got.content)  # the judge's other session is not the mediator's
    assert str(event["UID"]) == f"{ms['id']}@sessions.mediation-center"
    assert str(event["SUMMARY"]) == f"调解会：{case['number']}（人民调解）"
    assert str(event["LOCATION"]) == LONG_PLACE  # folded, escaped, read back whole
    start = event.decoded("DTSTART")
    assert start == at_time(DAY, 9, 30) and start.utcoffset() == timedelta(hours=8)
    assert str(start.tzinfo) in ("Asia/Shanghai", str(CENTER_TZ))
    assert event.decoded("DTEND") == at_time(DAY, 11)
    description = str(event["DESCRIPTION"])
    assert "调解员：冯调解（人民调解员）、陈法官（司法调解员）" in description
    assert "张三" not in got.text and "13900001111" not in got.text  # no party data
    assert int(event["SEQUENCE"]) == 0

    # Moved: the feed shows the new time; cancelled: it is gone.
    d = await world.headers("dispatcher")
    ms = await session_action(
        client,
        d,
        ms,
        "reschedule",
        {
            "starts_at": at_time(DAY, 15).isoformat(),
            "ends_at": at_time(DAY, 16).isoformat(),
            "reason": "改到下午",
        },
    )
    (event,) = events((await client.get(feed["path"])).content)
    assert event.decoded("DTSTART") == at_time(DAY, 15) and int(event["SEQUENCE"]) == 1
    await session_action(client, d, other, "cancel", {"reason": "法官另有庭审"})
    await session_action(client, d, ms, "cancel", {"reason": "当事人和解"})
    assert events((await client.get(feed["path"])).content) == []


async def test_feed_addresses_are_replaced_revoked_and_issued_by_dispatchers(
    client: httpx.AsyncClient, world: World
) -> None:
    m = await world.headers("mediator")
    first = (await client.post("/api/v1/me/calendar-feed", headers=m)).json()
    second = (await client.post("/api/v1/me/calendar-feed", headers=m)).json()
    assert (await client.get(first["path"])).status_code == 404  # replaced
    assert (await client.get(second["path"])).status_code == 200
    assert (
        await client.get("/api/v1/sessions/calendar/not-a-real-token-at-all.ics")
    ).status_code == 404
    assert (await client.delete("/api/v1/me/calendar-feed", headers=m)).status_code == 204
    assert (await client.get(second["path"])).status_code == 404
    assert (await client.delete("/api/v1/me/calendar-feed", headers=m)).status_code == 404
    # A retry with its Idempotency-Key gets the same address back, not another one.
    keyed = {**m, "Idempotency-Key": "feed-1"}
    issued = await client.post("/api/v1/me/calendar-feed", headers=keyed)
    retried = await client.post("/api/v1/me/calendar-feed", headers=keyed)
    assert retried.status_code == 201 and retried.headers["Idempotent-Replayed"] == "true"
    assert retried.json()["token"] == issued.json()["token"]
    assert (await client.get(issued.json()["path"])).status_code == 200

    # A judge without an account gets the address from a dispatcher.
    judge = await person_id(world, "judicial_mediator")
    url = f"/api/v1/people/{judge}/calendar-feed"
    r = await client.post(url, headers=await world.headers("dispatcher"))
    assert r.status_code == 201 and r.json()["person_id"] == judge
    assert (await client.get(r.json()["path"])).status_code == 200
    assert (await client.post(url, headers=m)).status_code == 403  # not a dispatcher
    dispatcher = await person_id(world, "dispatcher")
    r = await client.post(
        f"/api/v1/people/{dispatcher}/calendar-feed", headers=await world.headers("dispatcher")
    )
    assert r.status_code == 422  # no mediating role


async def _xiyuan_dispatcher(world: World, session: Any = None) -> None:
    """An account dispatching for 西园社区 only (the demo's dispatcher covers the district)."""
    if session is None:
        async with world.db() as own, own.begin():
            return await _xiyuan_dispatcher(world, own)
    await add_account(
        session,
        username="xiyuan_dispatcher",
        name="西园调度",
        role=Role.dispatcher,
        unit_id=world.unit("220302001002").id,
        password=None,
        password_hash=_demo_hash(),
        starts_on=date(2020, 1, 1),
    )


async def test_a_dispatcher_issues_no_feed_showing_sessions_outside_their_jurisdiction(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """The feed lists all of a mediator's sessions. A dispatcher of 西园社区 may not hand out
    (and so read) the feed of a mediator who also mediates in 先锋社区: 403, and the address
    the mediator has stays as it was. A dispatcher over all of it may."""
    await _xiyuan_dispatcher(world)
    mediator = await person_id(world, "mediator")
    async with world.db() as session, session.begin():
        session.add(
            RoleAssignment(
                person_id=uuid.UUID(mediator),
                unit_id=world.unit("220302001002").id,
                role=Role.counselor,
                starts_on=date(2020, 1, 1),
            )
        )
    h = await world.headers("dispatcher")
    ms = await schedule(
        client, h, await new_case(client, world), session_body([mediator], at_time(DAY, 9))
    )
    xiyuan = await world.headers("xiyuan_dispatcher")
    assert (await client.get(f"{SESSIONS}/{ms['id']}", headers=xiyuan)).status_code == 404
    own = await client.post("/api/v1/me/calendar-feed", headers=await world.headers("mediator"))
    assert own.status_code == 201, own.text

    url = f"/api/v1/people/{mediator}/calendar-feed"
    r = await client.post(url, headers=xiyuan)
    assert r.status_code == 403, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert (await client.get(own.json()["path"])).status_code == 200  # still theirs
    assert await sql("SELECT count(*) FROM session_calendar_feeds") == [(1,)]
    r = await client.post(url, headers=h)  # the district's dispatcher
    assert r.status_code == 201, r.text
    assert ms["case_number"] in (await client.get(r.json()["path"])).text


async def test_a_feed_a_dispatcher_issued_keeps_to_their_jurisdiction(
    client: httpx.AsyncClient, world: World
) -> None:
    """西园's dispatcher issues the feed of a mediator who mediates only in 西园. When the
    mediator later takes a role in 先锋 too, the address in the dispatcher's hands still lists
    only 西园's sessions; a feed issued by the district's dispatcher lists both."""
    xiyuan_unit = world.unit("220302001002").id
    async with world.db() as session, session.begin():
        await _xiyuan_dispatcher(world, session)
        person = Person(name="卫调解", qualifications=[])
        session.add(person)
        await session.flush()
        session.add(
            RoleAssignment(
                person_id=person.id,
                unit_id=xiyuan_unit,
                role=Role.mediator,
                starts_on=date(2020, 1, 1),
            )
        )
    mediator = str(person.id)
    xiyuan = await world.headers("xiyuan_dispatcher")
    issued = await client.post(f"/api/v1/people/{mediator}/calendar-feed", headers=xiyuan)
    assert issued.status_code == 201, issued.text

    district = await world.headers("dispatcher")
    here = await new_case(client, world, unit="220302001002G01B01", status="accepted")
    s1 = await schedule(
        client, district, here, session_body([mediator], at_time(DAY, 9), place="西园社区调解室")
    )
    async with world.db() as session, session.begin():
        session.add(
            RoleAssignment(
                person_id=person.id,
                unit_id=world.unit("220302001001").id,  # 先锋社区
                role=Role.mediator,
                starts_on=date(2020, 1, 1),
            )
        )
    there = await new_case(client, world, status="accepted")
    s2 = await schedule(client, district, there, session_body([mediator], at_time(DAY, 14)))
    assert (await client.get(f"{SESSIONS}/{s2['id']}", headers=xiyuan)).status_code == 404

    feed = await client.get(issued.json()["path"])
    assert feed.status_code == 200
    assert [str(e["SUMMARY"]) for e in events(feed.content)] == [
        f"调解会：{s1['case_number']}（人民调解）"
    ]
    wide = await client.post(f"/api/v1/people/{mediator}/calendar-feed", headers=district)
    assert wide.status_code == 201, wide.text
    both = events((await client.get(wide.json()["path"])).content)
    assert sorted(str(e["SUMMARY"]) for e in both) == sorted(
        f"调解会：{s['case_number']}（人民调解）" for s in (s1, s2)
    )
    assert (await client.get(issued.json()["path"])).status_code == 404  # replaced
