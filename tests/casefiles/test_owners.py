"""Attachments of sessions and hotline calls follow their record's access rules: a session's
recording needs the consent the session records; hotline attachments are the hotline's (its
workstations only, every read logged) and never part of a case file."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx

from mediation.clock import CENTER_TZ
from tests.casefiles.conftest import (
    ATTACHMENTS,
    mediating_case,
    mp3_bytes,
    pdf_bytes,
    upload,
)
from tests.cases.conftest import CASES, person_id
from tests.hotline.conftest import CALLS, call_body
from tests.hotline.test_open_case import call_that_opened_a_case
from tests.support.world import World


async def add_session(
    world: World, case: dict[str, Any], *, consent: bool, minutes: str | None = None
) -> uuid.UUID:
    """A session written straight to its table (the sessions API is another issue's)."""
    from mediation.sessions.enums import SessionKind, SessionMode, SessionOutcome, SessionStatus
    from mediation.sessions.models import MediationSession

    mediator = await person_id(world, "mediator")
    start = world.clock.now().astimezone(CENTER_TZ) - timedelta(days=1)
    async with world.db() as session, session.begin():
        from sqlalchemy import select

        from mediation.cases.models import Case, CaseParty

        c = await session.get(Case, uuid.UUID(case["id"]))
        assert c is not None
        parties = (
            await session.scalars(select(CaseParty.id).where(CaseParty.case_id == c.id))
        ).all()
        ms = MediationSession(
            case_id=c.id,
            case_number=c.number,
            unit_id=c.unit_id,
            unit_path=c.unit_path,
            kind=SessionKind.people,
            mode=SessionMode.on_site,
            status=SessionStatus.held if minutes else SessionStatus.scheduled,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            place="先锋社区人民调解室",
            mediator_person_ids=[mediator],
            party_ids=list(parties),
            attended_party_ids=list(parties) if minutes else [],
            attended_person_ids=[mediator] if minutes else [],
            recording_consent=consent,
            rights_notice_given=True,
            minutes=minutes,
            outcome=SessionOutcome.agreement if minutes else None,
            created_by_name="钱调度",
        )
        session.add(ms)
        await session.flush()
        return ms.id


async def test_session_attachments(client: httpx.AsyncClient, world: World, sql: Any) -> None:
    case = await mediating_case(client, world)
    med = await world.headers("mediator")
    no_consent = await add_session(world, case, consent=False)
    with_consent = await add_session(world, case, consent=True)

    r = await upload(
        client,
        med,
        f"sessions/{no_consent}",
        mp3_bytes(),
        "录音.mp3",
        "audio/mpeg",
        recording_consent="true",
    )
    assert r.status_code == 415, r.text
    assert "session does not record" in r.json()["detail"]
    r = await upload(client, med, f"sessions/{with_consent}", mp3_bytes(), "录音.mp3", "audio/mpeg")
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["owner_type"] == "session" and a["case_id"] == case["id"]
    assert a["category"] == "recording" and a["recording_consent"] is True

    r = await client.get(f"/api/v1/sessions/{with_consent}/attachments", headers=med)
    assert [i["id"] for i in r.json()["items"]] == [a["id"]]
    # Grid heads read the case but not its sessions: not in their view of the case file.
    grid = await world.headers("grid_head")
    r = await client.get(f"{CASES}/{case['id']}/attachments", headers=grid)
    assert r.status_code == 200 and r.json()["items"] == []
    assert (await client.get(f"{ATTACHMENTS}/{a['id']}", headers=grid)).status_code == 404
    r = await client.get(f"{CASES}/{case['id']}/attachments", headers=med)
    assert [i["id"] for i in r.json()["items"]] == [a["id"]]
    # The police officer (sessions:write, not a mediator of it nor a handler) may not add.
    r = await upload(client, await world.headers("police"), f"sessions/{with_consent}", pdf_bytes())
    assert r.status_code == 403


async def test_hotline_attachments_follow_the_hotline(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    counselor = await world.headers("counselor")
    r = await client.post(CALLS, headers=counselor, json=call_body())
    assert r.status_code == 201, r.text
    call = r.json()
    path = f"hotline-calls/{call['id']}"

    # A recording of a call needs the caller's consent like any other.
    r = await upload(client, counselor, path, mp3_bytes(), "来电录音.mp3", "audio/mpeg")
    assert r.status_code == 415
    r = await upload(
        client,
        counselor,
        path,
        mp3_bytes(),
        "来电录音.mp3",
        "audio/mpeg",
        recording_consent="true",
        consent_note="来电者同意录音",
    )
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["owner_type"] == "hotline_call" and a["case_id"] is None

    before = (await sql("SELECT count(*) FROM access_log"))[0][0]
    r = await client.get(f"/api/v1/hotline/calls/{call['id']}/attachments", headers=counselor)
    assert [i["id"] for i in r.json()["items"]] == [a["id"]]
    assert (await client.get(f"{ATTACHMENTS}/{a['id']}", headers=counselor)).status_code == 200
    link = (await client.post(f"{ATTACHMENTS}/{a['id']}/link", headers=counselor)).json()
    d = await client.get(link["url"])
    assert d.status_code == 200 and d.headers["content-type"] == "audio/mpeg"
    log = await sql(
        "SELECT action, record_type, record_id FROM access_log ORDER BY at OFFSET :n", n=before
    )
    assert [tuple(map(str, r)) for r in log] == [
        ("hotline.attachment_list", "hotline_call", call["id"]),
        ("hotline.attachment_read", "hotline_call", call["id"]),
        ("hotline.attachment_link", "hotline_call", call["id"]),
        ("hotline.attachment_download", "hotline_call", call["id"]),
    ]
    # The call's timeline records who added a file, not what it says.
    events = await sql("SELECT kind, detail FROM hotline_call_events ORDER BY seq")
    assert events[-1][0] == "updated" and events[-1][1]["attachment_added"] == a["id"]

    # Everyone outside the workstation: the attachment does not exist.
    for role in ("dispatcher", "supervisor", "mediator", "police"):
        h = await world.headers(role)
        assert (await client.get(f"{ATTACHMENTS}/{a['id']}", headers=h)).status_code == 404, role
        assert (await client.post(f"{ATTACHMENTS}/{a['id']}/link", headers=h)).status_code == 404
    r = await client.get(
        f"/api/v1/hotline/calls/{call['id']}/attachments", headers=await world.headers("dispatcher")
    )
    assert r.status_code == 403
    r = await upload(client, await world.headers("dispatcher"), path, pdf_bytes())
    assert r.status_code == 403


async def test_a_file_of_a_call_that_opened_a_case_shows_on_the_case_timeline_unnamed(
    client: httpx.AsyncClient, world: World
) -> None:
    """Added and removed: the call's case says its call changed, by whom and when, never which
    file (the case file does not hold the call's attachments)."""
    counselor = await world.headers("counselor")
    call, opened = await call_that_opened_a_case(client, world, counselor)
    timeline_url = f"{CASES}/{opened.json()['case_id']}/timeline"
    d = await world.headers("dispatcher")
    before = (await client.get(timeline_url, headers=d)).json()["items"]

    r = await upload(client, counselor, f"hotline-calls/{call['id']}", pdf_bytes(), "谈话记录.pdf")
    assert r.status_code == 201, r.text
    a = r.json()
    r = await client.delete(
        f"{ATTACHMENTS}/{a['id']}",
        headers={**counselor, "If-Match": f'"{a["id"]}-1"'},
        params={"reason": "误传"},
    )
    assert r.status_code == 204, r.text

    after = await client.get(timeline_url, headers=d)
    added = after.json()["items"][len(before) :]
    assert [(e["type"], e["actor"]["name"], e["data"]) for e in added] == [
        ("hotline_call_changed", "褚咨询", {}),
        ("hotline_call_changed", "褚咨询", {}),
    ]
    for secret in (a["id"], "谈话记录", "误传", a["sha256"]):
        assert secret not in after.text, secret
