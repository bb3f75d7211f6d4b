"""Scheduling, reading, lists, changes, reschedule and cancel, as a dispatcher sees them."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.sessions.conftest import (
    CASES,
    DAY,
    SESSIONS,
    XIYUAN_GRID,
    at_time,
    etag,
    new_case,
    person_id,
    schedule,
    session_action,
    session_body,
)
from tests.support.world import World


async def test_a_dispatcher_schedules_a_session_and_everyone_can_read_it(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    h = await world.headers("dispatcher")
    case = await new_case(client, world)
    mediator, advisor = await person_id(world, "mediator"), await person_id(world, "legal_advisor")
    body = session_body(
        [mediator, advisor], at_time(DAY, 9, 30), notes="请双方携带维修票据", is_public=False
    )
    r = await client.post(
        f"{CASES}/{case['id']}/sessions", json=body, headers={**h, "Idempotency-Key": "k-1"}
    )
    assert r.status_code == 201, r.text
    ms = r.json()
    assert r.headers["ETag"] == etag(ms)
    assert r.headers["Location"] == f"/api/v1/sessions/{ms['id']}"
    assert ms["status"] == "scheduled"
    assert ms["case_number"] == case["number"]
    assert ms["starts_at"] == "2026-11-28T09:30:00+08:00"
    assert ms["ends_at"] == "2026-11-28T11:00:00+08:00"
    assert [(m["name"], m["role"], m["body"], m["lead"]) for m in ms["mediators"]] == [
        ("冯调解", "mediator", "mediation_committee", True),
        ("王顾问", "legal_advisor", "legal_service", False),
    ]
    assert [p["name"] for p in ms["parties"]] == ["张三", "李四"]  # every party invited
    assert ms["privacy_reason"] == "party_request" and ms["notes"] == "请双方携带维修票据"
    assert [e["type"] for e in ms["history"]] == ["scheduled"]

    # The same request again (a retry) answers the stored response; one session exists.
    again = await client.post(
        f"{CASES}/{case['id']}/sessions", json=body, headers={**h, "Idempotency-Key": "k-1"}
    )
    assert again.status_code == 201 and again.json()["id"] == ms["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (await sql("SELECT count(*) FROM mediation_sessions"))[0][0] == 1

    # The event reaches the mediators and names the parties to text.
    rows = await sql("SELECT type, payload FROM outbox_events WHERE type LIKE 'session.%'")
    assert [t for t, _ in rows] == ["session.scheduled"]
    payload = rows[0][1]
    assert payload["session_id"] == ms["id"] and payload["case_id"] == case["id"]
    assert payload["case_number"] == case["number"]
    assert payload["unit_id"] == case["unit"]["id"]
    assert payload["starts_at"] == "2026-11-28T09:30:00+08:00"
    assert payload["ends_at"] == "2026-11-28T11:00:00+08:00"
    assert payload["place"] == "先锋社区调解室" and payload["online"] is False
    assert payload["mediator_person_ids"] == [mediator, advisor]
    assert payload["recipient_person_ids"] == [mediator, advisor]
    assert sorted(payload["party_ids"]) == sorted(p["id"] for p in case["parties"])

    # A mediator reads it; a grid head (no sessions:read) may not.
    got = await client.get(f"{SESSIONS}/{ms['id']}", headers=await world.headers("mediator"))
    assert got.status_code == 200 and got.headers["ETag"] == etag(ms)
    refused = await client.get(f"{SESSIONS}/{ms['id']}", headers=await world.headers("grid_head"))
    assert refused.status_code == 403


async def test_party_names_are_masked_for_readers_without_pii(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    case = await new_case(client, world)
    ms = await schedule(
        client,
        await world.headers("dispatcher"),
        case,
        session_body([await person_id(world, "mediator")], at_time(DAY, 9)),
    )
    async with world.db() as s, s.begin():
        from mediation.auth.models import ApiClient
        from mediation.auth.passwords import hash_password

        s.add(
            ApiClient(
                client_id="court",
                secret_hash=hash_password("s3cret-court-0001"),
                name="区法院",
                scopes=["sessions:read"],
                unit_id=world.unit("220302").id,
            )
        )
    r = await client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "court",
            "client_secret": "s3cret-court-0001",
        },
    )
    court = {"Authorization": f"Bearer {r.json()['access_token']}"}
    count = "SELECT count(*) FROM access_log WHERE record_type = 'session'"
    before = (await sql(count))[0][0]  # the dispatcher saw the names unmasked: logged
    assert before == 1
    # Whom it showed (the two parties), the case's number, and the trail's entry linking it.
    [(log_id, subjects, detail, action)] = await sql(
        "SELECT id, cardinality(subject_ids), detail, action FROM access_log "
        "WHERE record_type = 'session'"
    )
    assert (subjects, action) == (2, "read_unmasked")
    assert detail == {"case_number": ms["case_number"]}
    trail = "SELECT action, record_id FROM audit_events WHERE detail->>'access_log_id' = :i"
    assert await sql(trail, i=str(log_id)) == [("read.session", uuid.UUID(ms["id"]))]
    seen = (await client.get(f"{SESSIONS}/{ms['id']}", headers=court)).json()
    assert seen["pii_masked"] is True
    assert [p["name"] for p in seen["parties"]] == ["张*", "李*"]
    assert (await sql(count))[0][0] == before  # a masked read is not


async def test_lists_by_case_mediator_place_and_date_range_within_the_jurisdiction(
    client: httpx.AsyncClient, world: World
) -> None:
    h = await world.headers("dispatcher")
    mediator, police = await person_id(world, "mediator"), await person_id(world, "police")
    judge = await person_id(world, "judicial_mediator")
    a = await new_case(client, world)
    b = await new_case(client, world, unit=XIYUAN_GRID, title="西园噪音纠纷")
    s1 = await schedule(client, h, a, session_body([mediator], at_time(DAY, 9)))
    s2 = await schedule(
        client,
        h,
        a,
        session_body([police], at_time(DAY + timedelta(days=1), 14), kind="police_joint"),
    )
    s3 = await schedule(
        client,
        h,
        b,
        session_body(
            [judge], at_time(DAY + timedelta(days=3), 9), kind="judicial", place="西园社区调解室"
        ),
    )

    async def ids(headers: dict[str, str], **params: Any) -> list[str]:
        r = await client.get(SESSIONS, params=params, headers=headers)
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["items"]]

    assert await ids(h) == [s1["id"], s2["id"], s3["id"]]
    assert await ids(h, sort="latest") == [s3["id"], s2["id"], s1["id"]]
    assert await ids(h, case_id=a["id"]) == [s1["id"], s2["id"]]
    assert await ids(h, mediator=police) == [s2["id"]]
    assert await ids(h, place=" 西园社区 调解室") == [s3["id"]]  # spaces do not matter
    window = {
        "starts_from": at_time(DAY, 10).isoformat(),  # s1 runs 9:00-10:30: overlaps
        "starts_to": at_time(DAY + timedelta(days=2), 0).isoformat(),
    }
    assert await ids(h, **window) == [s1["id"], s2["id"]]
    assert await ids(h, kind="judicial") == [s3["id"]]
    # One status is written into the statement, several are a parameter: the same answer.
    assert await ids(h, status="scheduled") == [s1["id"], s2["id"], s3["id"]]
    assert await ids(h, status=["scheduled", "cancelled"]) == [s1["id"], s2["id"], s3["id"]]
    assert await ids(h, status="held") == []
    # pages
    first = (await client.get(SESSIONS, params={"limit": 2}, headers=h)).json()
    assert [i["id"] for i in first["items"]] == [s1["id"], s2["id"]]
    rest = await ids(h, limit=2, cursor=first["next_cursor"])
    assert rest == [s3["id"]]
    r = await client.get(f"{CASES}/{a['id']}/sessions", headers=h)
    assert [i["id"] for i in r.json()["items"]] == [s1["id"], s2["id"]]
    # The list is written from the rows (sessions/reads.py), the case's list through the
    # model: every field reads the same, times in +08:00 included.
    assert first["items"] == r.json()["items"]
    assert first["items"][0]["starts_at"].endswith("+08:00")

    # The community police officer of 先锋社区 does not see 西园's case or its session.
    p = await world.headers("police")
    assert await ids(p) == [s1["id"], s2["id"]]
    assert (await client.get(f"{SESSIONS}/{s3['id']}", headers=p)).status_code == 404
    assert (await client.get(f"{CASES}/{b['id']}/sessions", headers=p)).status_code == 404
    bad = await client.get(
        SESSIONS,
        params={"starts_from": window["starts_to"], "starts_to": window["starts_from"]},
        headers=h,
    )
    assert bad.status_code == 422


async def test_no_session_record_lasts_more_than_a_day(
    client: httpx.AsyncClient, world: World, db: Any
) -> None:
    """The date-range list bounds its scan by the start (`rules.LONGEST`): the table's check
    keeps every record, imported or planned, within it."""
    h = await world.headers("dispatcher")
    case = await new_case(client, world)
    ms = await schedule(
        client, h, case, session_body([await person_id(world, "mediator")], at_time(DAY, 9))
    )
    longer = "UPDATE mediation_sessions SET ends_at = starts_at + :span WHERE id = :id"
    with pytest.raises(IntegrityError, match="lasts_at_most_a_day"):
        async with db() as session, session.begin():
            await session.execute(text(longer), {"span": timedelta(hours=25), "id": ms["id"]})
    async with db() as session, session.begin():
        await session.execute(text(longer), {"span": timedelta(hours=24), "id": ms["id"]})
    # A day-long session that began the day before a range's start still overlaps it.
    day_later = at_time(DAY + timedelta(days=1), 8).isoformat()
    r = await client.get(SESSIONS, params={"starts_from": day_later}, headers=h)
    assert [i["id"] for i in r.json()["items"]] == [ms["id"]]


async def test_reschedule_keeps_the_history_and_needs_the_current_etag(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    h = await world.headers("dispatcher")
    case = await new_case(client, world)
    ms = await schedule(
        client, h, case, session_body([await person_id(world, "mediator")], at_time(DAY, 9))
    )
    move = {
        "starts_at": at_time(DAY + timedelta(days=1), 14).isoformat(),
        "ends_at": at_time(DAY + timedelta(days=1), 15, 30).isoformat(),
        "place": "北沟街道调解室",
        "reason": "被申请人出差，申请改期",
    }
    url = f"{SESSIONS}/{ms['id']}/reschedule"
    assert (await client.post(url, json=move, headers=h)).status_code == 428
    stale = await client.post(url, json=move, headers={**h, "If-Match": '"x-1"'})
    assert stale.status_code == 412
    moved = await session_action(client, h, ms, "reschedule", move)
    assert moved["starts_at"] == "2026-11-29T14:00:00+08:00"
    assert moved["place"] == "北沟街道调解室"
    assert moved["reschedule_count"] == 1 and moved["version"] == ms["version"] + 1
    # The history in its order: each entry numbered within the session (issue 16, item 3).
    assert [(e["seq"], e["type"]) for e in moved["history"]] == [
        (1, "scheduled"),
        (2, "rescheduled"),
    ]
    # ... and as a timeline like every other, a page at a time.
    timeline = f"{SESSIONS}/{ms['id']}/timeline"
    first = (await client.get(timeline, headers=h, params={"limit": 1})).json()
    assert [e["type"] for e in first["items"]] == ["scheduled"] and first["next_cursor"]
    rest = (await client.get(timeline, headers=h, params={"cursor": first["next_cursor"]})).json()
    assert rest["items"] == moved["history"][1:] and rest["next_cursor"] is None
    last = moved["history"][-1]
    assert last["type"] == "rescheduled" and last["body"] == "被申请人出差，申请改期"
    assert last["data"]["before"]["starts_at"] == "2026-11-28T09:00:00+08:00"
    assert last["data"]["before"]["place"] == "先锋社区调解室"
    payload = (await sql("SELECT payload FROM outbox_events WHERE type = 'session.rescheduled'"))[
        0
    ][0]
    assert payload["previous_starts_at"] == "2026-11-28T09:00:00+08:00"
    assert payload["starts_at"] == "2026-11-29T14:00:00+08:00"
    assert payload["reason"] == "被申请人出差，申请改期"
    # An old ETag no longer works.
    assert (
        await client.post(url, json=move, headers={**h, "If-Match": etag(ms)})
    ).status_code == 412


async def test_cancel_frees_the_mediator_and_the_room(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    h = await world.headers("dispatcher")
    mediator = await person_id(world, "mediator")
    a, b = await new_case(client, world), await new_case(client, world)
    ms = await schedule(client, h, a, session_body([mediator], at_time(DAY, 9)))
    taken = await schedule(client, h, b, session_body([mediator], at_time(DAY, 9)), expect=409)
    assert taken["conflicting_session_id"] == ms["id"]
    off = await session_action(client, h, ms, "cancel", {"reason": "申请人撤回调解申请"})
    assert off["status"] == "cancelled" and off["cancel_reason"] == "申请人撤回调解申请"
    assert [e["type"] for e in off["history"]] == ["scheduled", "cancelled"]
    again = await schedule(client, h, b, session_body([mediator], at_time(DAY, 9)))
    assert again["status"] == "scheduled"
    # A cancelled session cannot change any more.
    r = await client.post(
        f"{SESSIONS}/{ms['id']}/cancel",
        json={"reason": "再次取消"},
        headers={**h, "If-Match": etag(off)},
    )
    assert r.status_code == 409 and r.json()["session_status"] == "cancelled"
    assert r.json()["code"] == "session-not-scheduled"
    cancelled = await sql("SELECT payload FROM outbox_events WHERE type = 'session.cancelled'")
    assert cancelled[0][0]["reason"] == "申请人撤回调解申请"


async def test_changing_mediators_books_them_and_tells_only_who_changed(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    h = await world.headers("dispatcher")
    mediator, advisor = await person_id(world, "mediator"), await person_id(world, "legal_advisor")
    police = await person_id(world, "police")
    a, b = await new_case(client, world), await new_case(client, world)
    ms = await schedule(client, h, a, session_body([mediator, advisor], at_time(DAY, 9)))
    other = await schedule(
        client, h, b, session_body([police], at_time(DAY, 9), place="北沟街道调解室")
    )
    # The police officer is busy then: refused, nothing changes.
    r = await client.patch(
        f"{SESSIONS}/{ms['id']}",
        json={"mediators": [{"person_id": mediator}, {"person_id": police}]},
        headers={**h, "If-Match": etag(ms)},
    )
    assert r.status_code == 409, r.text
    assert r.json()["conflicting_session_id"] == other["id"]
    assert r.json()["resource"] == "mediator" and r.json()["person_id"] == police
    r = await client.patch(
        f"{SESSIONS}/{ms['id']}",
        json={
            "mediators": [
                {"person_id": mediator, "lead": True},
                {"person_id": await person_id(world, "judicial_mediator")},
            ],
            "is_public": True,
        },
        headers={**h, "If-Match": etag(ms)},
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert [m["name"] for m in changed["mediators"]] == ["冯调解", "陈法官"]
    assert changed["is_public"] is True and changed["privacy_reason"] is None
    rows = await sql(
        "SELECT type, payload FROM outbox_events WHERE type LIKE 'session.%' ORDER BY id"
    )
    judge = await person_id(world, "judicial_mediator")
    assert sorted((t, p["recipient_person_ids"][0]) for t, p in rows[-2:]) == [
        ("session.cancelled", advisor),
        ("session.scheduled", judge),
    ]
    assert rows[-2][1]["notify_party_ids"] == [] and rows[-1][1]["notify_party_ids"] == []
    # The legal advisor is free again at that time.
    await schedule(client, h, b, session_body([advisor], at_time(DAY, 9), place="西园社区调解室"))


async def test_the_same_invited_parties_in_another_order_change_nothing(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """Which parties are invited is a set: a PATCH naming them in another order (a form that
    lists them its own way) keeps the version and the ETag, writes no history entry and
    nothing on the case's timeline."""
    h = await world.headers("dispatcher")
    case = await new_case(client, world)
    ms = await schedule(client, h, case, session_body([await person_id(world, "mediator")], DAY))
    invited = [p["party_id"] for p in ms["parties"]]
    assert len(invited) == 2
    traces = (
        "SELECT (SELECT count(*) FROM outbox_events), (SELECT count(*) FROM case_events), "
        "(SELECT count(*) FROM session_events)"
    )
    before = await sql(traces)
    r = await client.patch(
        f"{SESSIONS}/{ms['id']}",
        json={"party_ids": invited[::-1]},
        headers={**h, "If-Match": etag(ms)},
    )
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == etag(ms)
    assert r.json()["version"] == ms["version"]
    assert [e["type"] for e in r.json()["history"]] == ["scheduled"]
    assert await sql(traces) == before
    r = await client.get(f"{SESSIONS}?case_id={case['id']}", headers=h)
    assert r.json()["items"][0]["party_ids"] == invited
