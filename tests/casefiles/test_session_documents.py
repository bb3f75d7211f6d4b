"""The case file (卷宗) shows the case's sessions (issue 16, item 2): a list of every session,
planned, moved, held (with its real end) or cancelled, and each session's changes worded in
the process record; a reader without `sessions:read` sees none of them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from mediation.clock import CENTER_TZ
from tests.casefiles.conftest import mediating_case, pdf_pages
from tests.casefiles.test_documents import body_text, doc_url
from tests.cases.conftest import CASES, person_id
from tests.support.world import World

SESSIONS = "/api/v1/sessions"
DAY = datetime(2026, 11, 28, tzinfo=CENTER_TZ)


def _etag(record: dict[str, Any]) -> dict[str, str]:
    return {"If-Match": f'"{record["id"]}-{record["version"]}"'}


async def _post(
    client: httpx.AsyncClient, url: str, h: dict[str, str], body: dict[str, Any], status: int = 200
) -> dict[str, Any]:
    r = await client.post(url, json=body, headers=h)
    assert r.status_code == status, r.text
    return r.json()


def _session(mediator: str, start: datetime, minutes: int = 90) -> dict[str, Any]:
    return {
        "kind": "people",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(minutes=minutes)).isoformat(),
        "place": "先锋社区人民调解室",
        "mediators": [{"person_id": mediator}],
        "is_public": True,
    }


async def test_the_case_file_shows_every_session_and_its_changes(
    client: httpx.AsyncClient, world: World
) -> None:
    case = await mediating_case(client, world)
    h = await world.headers("dispatcher")
    mediator = str(await person_id(world, "mediator"))
    url = f"{CASES}/{case['id']}/sessions"
    first = await _post(client, url, h, _session(mediator, DAY.replace(hour=9)), 201)
    first = await _post(
        client,
        f"{SESSIONS}/{first['id']}/reschedule",
        {**h, **_etag(first)},
        {
            "starts_at": DAY.replace(hour=14).isoformat(),
            "ends_at": DAY.replace(hour=16).isoformat(),
            "reason": "申请人上午就医",
        },
    )
    second = await _post(
        client, url, h, _session(mediator, DAY.replace(hour=9) + timedelta(days=3)), 201
    )
    await _post(
        client,
        f"{SESSIONS}/{second['id']}/cancel",
        {**h, **_etag(second)},
        {"reason": "双方已和解"},
    )
    world.clock.set(DAY.replace(hour=17))
    world._tokens.clear()
    h = await world.headers("dispatcher")
    await _post(
        client,
        f"{SESSIONS}/{first['id']}/outcome",
        {**h, **_etag(first)},
        {
            "ended_at": DAY.replace(hour=15, minute=10).isoformat(),
            "attended_party_ids": [p["id"] for p in case["parties"]],
            "minutes": "双方陈述事实，同意继续协商。",
            "outcome": "partial",
        },
    )

    r = await client.get(doc_url(case, "case_file"), headers=h)
    assert r.status_code == 200, r.text
    text = body_text(pdf_pages(r.content))
    assert "调解会一览" in text
    # The held session with its real end; the cancelled one with its reason.
    assert "2026-11-2814:00至15:10" in text and "已举行" in text and "部分达成" in text
    assert "2026-12-0109:00至10:30" in text and "已取消" in text and "双方已和解" in text
    # The process record words each change.
    for expected in [
        "安排调解会",
        "调解会改期",
        "改至2026-11-2814:00至16:00",
        "原定2026-11-2809:00至10:30",
        "申请人上午就医",
        "召开调解会",
        "结果：部分达成",
        "取消调解会",
    ]:
        assert expected in text, expected

    # The building head reads the case file without sessions:read: no session in it.
    building = await world.headers("building_head")
    r = await client.get(doc_url(case, "case_file"), headers=building)
    assert r.status_code == 200, r.text
    text = body_text(pdf_pages(r.content))
    for hidden in ["调解会一览", "安排调解会", "调解会改期", "召开调解会", "取消调解会"]:
        assert hidden not in text, hidden
