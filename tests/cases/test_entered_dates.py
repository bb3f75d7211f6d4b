"""Dates people enter on a case lie in a plausible window (issue 16, item 1): the absurd ones
the acceptance run stored are refused, and the rules that need the case's own records hold
(an agreement not before the dispute, performance due and follow-ups not before the agreement,
an extension within the planning horizon). The birth date a party's resident ID number
carries is a date people type too. A refusal writes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.cases.conftest import CASES, act, at, case_body, person_id, valid_id
from tests.support.world import World

AGREEMENT = {
    "form": "written",
    "terms": "赔偿2000元",
    "amount": "2000.00",
    "performance_method": "转账",
    "signed_by_parties": True,
}
VISIT = {
    "method": "visit",
    "performance": "full",
    "satisfaction": "satisfied",
    "flare_up_risk": "low",
}
SNAPSHOT = (
    "SELECT (SELECT version FROM cases WHERE id = :c), (SELECT count(*) FROM case_events),"
    " (SELECT count(*) FROM outbox_events), (SELECT count(*) FROM case_follow_ups),"
    " (SELECT count(*) FROM agreement_performances), (SELECT count(*) FROM case_agreements)"
)


def etag(case: dict[str, Any]) -> dict[str, str]:
    return {"If-Match": f'"{case["id"]}-{case["version"]}"'}


async def mediating(client: httpx.AsyncClient, world: World, **over: Any) -> dict[str, Any]:
    h = await world.headers("dispatcher")
    r = await client.post(CASES, json=case_body(world, **over), headers=h)
    assert r.status_code == 201, r.text
    case = await act(client, h, r.json(), "accept")
    mediator = str(await person_id(world, "mediator"))
    case = await act(
        client, h, case, "assign", {"handlers": [{"person_id": mediator, "channel": "people"}]}
    )
    return await act(client, h, case, "start-mediation")


async def refused(
    client: httpx.AsyncClient,
    h: dict[str, str],
    case: dict[str, Any],
    action: str,
    body: dict[str, Any],
    field: str,
    code: str | None = None,
) -> str:
    r = await client.post(f"{CASES}/{case['id']}/{action}", json=body, headers={**h, **etag(case)})
    assert r.status_code == 422, r.text
    assert code is None or r.json()["code"] == code, r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    errors = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert field in errors, r.json()
    return errors[field]


async def test_what_the_acceptance_run_stored_is_refused(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    h = await world.headers("dispatcher")
    now = world.clock.now()
    # A dispute that happens tomorrow.
    r = await client.post(
        CASES,
        json=case_body(world, occurred_at=(now + timedelta(days=1)).isoformat()),
        headers=h,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body.occurred_at"
    assert "MEDIATION_DISPUTE_MAX_YEARS_BACK" in r.json()["errors"][0]["message"]
    assert await sql("SELECT count(*) FROM cases") == [(0,)]

    case = await mediating(client, world)
    case = await act(client, h, case, "resolve", {"agreement": AGREEMENT})
    before = await sql(SNAPSHOT, c=case["id"])
    # A performance dated 2999, follow-up visits dated 2999 and 1900.
    message = await refused(
        client,
        h,
        case,
        "agreement/performances",
        {"performed_on": "2999-01-01", "status": "full"},
        "body.performed_on",
    )
    assert "must lie between 2018-01-01 and 2026-11-26" in message
    for visited in ("2999-01-01T10:00:00+08:00", "1900-01-01T10:00:00+08:00"):
        await refused(
            client, h, case, "follow-ups", {**VISIT, "visited_at": visited}, "body.visited_at"
        )
    assert await sql(SNAPSHOT, c=case["id"]) == before


async def test_rules_that_need_the_case_records(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    h = await world.headers("dispatcher")
    happened = world.clock.now() - timedelta(days=10)
    case = await mediating(client, world, occurred_at=happened.isoformat())
    before = await sql(SNAPSHOT, c=case["id"])
    early = (happened - timedelta(days=2)).date().isoformat()
    message = await refused(
        client,
        h,
        case,
        "resolve",
        {"agreement": {**AGREEMENT, "effective_on": early}},
        "body.agreement.effective_on",
        "agreement-before-dispute",
    )
    assert "before the dispute happened (2026-11-16)" in message
    due_first = {**AGREEMENT, "effective_on": "2026-11-25", "performance_due_on": "2026-11-24"}
    await refused(
        client,
        h,
        case,
        "resolve",
        {"agreement": due_first},
        "body.agreement.performance_due_on",
        "before-agreement",
    )
    assert await sql(SNAPSHOT, c=case["id"]) == before

    # Agreed yesterday (within the days a session may be recorded afterwards), due in a week.
    agreement = {**AGREEMENT, "effective_on": "2026-11-25", "performance_due_on": "2026-12-02"}
    case = await act(client, h, case, "resolve", {"agreement": agreement})
    assert case["agreement"]["judicial_confirmation_until"] == "2026-12-25"
    before = await sql(SNAPSHOT, c=case["id"])
    await refused(
        client,
        h,
        case,
        "follow-ups",
        {**VISIT, "visited_at": "2026-11-24T15:00:00+08:00"},
        "body.visited_at",
        "before-agreement",
    )
    await refused(
        client,
        h,
        case,
        "agreement/performances",
        {"performed_on": "2026-11-24", "status": "partial"},
        "body.performed_on",
        "before-agreement",
    )
    assert await sql(SNAPSHOT, c=case["id"]) == before
    case = await act(
        client, h, case, "follow-ups", {**VISIT, "visited_at": "2026-11-25T15:00:00+08:00"}
    )
    assert case["status"] == "followed_up"


async def test_a_follow_up_before_the_mediation_failed_is_refused(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """The acceptance audit: a failed case has no agreement to date its follow-ups from, so a
    visit dated 2018 (eight years before the case was registered, on 26 November 2026) was
    stored. A follow-up (回访) comes after the outcome (DOMAIN.md), so not before the day the
    failure was recorded; that day itself is taken."""
    h = await world.headers("dispatcher")
    case = await mediating(client, world)
    at(world, world.clock.now() + timedelta(days=2))  # failed on 28 November
    h = await world.headers("dispatcher")
    case = await act(client, h, case, "fail", {"referral": "litigation", "reason": "分歧较大"})
    before = await sql(SNAPSHOT, c=case["id"])
    for visited in ("2018-06-01T10:00:00+08:00", "2026-11-27T15:00:00+08:00"):
        message = await refused(
            client,
            h,
            case,
            "follow-ups",
            {**VISIT, "performance": "none", "visited_at": visited},
            "body.visited_at",
            "validation",
        )
        assert "not before 2026-11-28" in message and "failed" in message
    assert await sql(SNAPSHOT, c=case["id"]) == before
    body = {**VISIT, "performance": "none", "visited_at": "2026-11-28T09:00:00+08:00"}
    case = await act(client, h, case, "follow-ups", body)
    assert case["status"] == "followed_up"


async def test_an_extension_stays_within_the_planning_horizon(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    case = await mediating(client, world)
    h = await world.headers("dispatcher")
    before = await sql(SNAPSHOT, c=case["id"])
    body = {"by": 365, "reason": "双方同意延期", "parties_agreed": True}
    message = await refused(client, h, case, "extend-deadline", body, "body.by")
    assert "MEDIATION_PLANNING_MAX_DAYS_AHEAD" in message
    assert await sql(SNAPSHOT, c=case["id"]) == before
    extended = await act(client, h, case, "extend-deadline", {**body, "by": 20})
    assert extended["deadlines"][-1]["extended_by"] == 20


async def test_windows_follow_the_service_clock(client: httpx.AsyncClient, world: World) -> None:
    """A case registered while the clock stands in 2025 may say the dispute happened then;
    the same time is refused once it lies in the clock's future."""
    at(world, world.clock.now() - timedelta(days=400))
    h = await world.headers("dispatcher")
    then = world.clock.now() - timedelta(hours=2)
    r = await client.post(CASES, json=case_body(world, occurred_at=then.isoformat()), headers=h)
    assert r.status_code == 201, r.text
    at(world, then - timedelta(days=1))
    h = await world.headers("dispatcher")
    r = await client.post(CASES, json=case_body(world, occurred_at=then.isoformat()), headers=h)
    assert r.status_code == 422, r.text


async def test_a_changed_dispute_time_lies_before_its_registration(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """Registered on 26 November; five days later the time it happened is corrected. A day
    after the registration (though before today) is refused like a dispute of tomorrow at
    intake, and changes nothing; a day before it is taken."""
    h = await world.headers("dispatcher")
    registered = world.clock.now()
    r = await client.post(
        CASES,
        json=case_body(world, occurred_at=(registered - timedelta(days=6)).isoformat()),
        headers=h,
    )
    assert r.status_code == 201, r.text
    case = r.json()
    at(world, registered + timedelta(days=5))
    h = await world.headers("dispatcher")
    before = await sql(SNAPSHOT, c=case["id"])
    after_registration = (registered + timedelta(days=2)).isoformat()
    r = await client.patch(
        f"{CASES}/{case['id']}",
        json={"occurred_at": after_registration},
        headers={**h, **etag(case)},
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    [error] = r.json()["errors"]
    assert error["field"] == "body.occurred_at"
    assert "registered after it happened" in error["message"]
    assert "2026-11-26" in error["message"]  # the window ends at the registration
    assert await sql(SNAPSHOT, c=case["id"]) == before

    earlier = (registered - timedelta(days=1)).isoformat()
    r = await client.patch(
        f"{CASES}/{case['id']}", json={"occurred_at": earlier}, headers={**h, **etag(case)}
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == case["version"] + 1


async def test_a_dispute_moved_after_its_held_session_or_agreement_is_refused(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """The acceptance audit: a session held about a dispute is refused before the dispute
    happened (`session-before-dispute`), an agreement too (`agreement-before-dispute`), yet
    a correction of the dispute's time could move it after both. The same codes now refuse
    the correction, and nothing changes; a time before the session is taken."""
    from datetime import datetime

    from mediation.clock import CENTER_TZ
    from tests.sessions.test_held import held_body

    h = await world.headers("dispatcher")
    case = await mediating(client, world, occurred_at="2026-11-20T10:00:00+08:00")
    mediator = str(await person_id(world, "mediator"))
    held_at = datetime(2026, 11, 25, 14, 0, tzinfo=CENTER_TZ)
    body = held_body(
        case,
        [mediator],
        held_at,
        outcome="postponed",
        next_step="another_session",
        agreement=None,
    )
    m = await world.headers("mediator")
    r = await client.post(f"{CASES}/{case['id']}/sessions/held", json=body, headers=m)
    assert r.status_code == 201, r.text
    case = (await client.get(f"{CASES}/{case['id']}", headers=h)).json()
    before = await sql(SNAPSHOT, c=case["id"])
    # Held on 25 November 14:00; the dispute is now said to have happened on the 26th at
    # 09:00 (still before its registration at 10:00), then on the 25th at 14:30.
    for occurred in ("2026-11-26T09:00:00+08:00", "2026-11-25T14:30:00+08:00"):
        r = await client.patch(
            f"{CASES}/{case['id']}", json={"occurred_at": occurred}, headers={**h, **etag(case)}
        )
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "session-before-dispute"
        assert [e["field"] for e in r.json()["errors"]] == ["body.occurred_at"]
        assert "2026-11-25 14:00" in r.json()["detail"]
    assert await sql(SNAPSHOT, c=case["id"]) == before

    r = await client.patch(
        f"{CASES}/{case['id']}",
        json={"occurred_at": "2026-11-25T13:00:00+08:00"},
        headers={**h, **etag(case)},
    )
    assert r.status_code == 200, r.text

    # Resolved (no session) with an agreement in effect since 24 November: the dispute is
    # now said to have happened on the 25th.
    case = await mediating(client, world, occurred_at="2026-11-20T10:00:00+08:00")
    agreement = {**AGREEMENT, "effective_on": "2026-11-24"}
    case = await act(client, h, case, "resolve", {"agreement": agreement})
    before = await sql(SNAPSHOT, c=case["id"])
    r = await client.patch(
        f"{CASES}/{case['id']}",
        json={"occurred_at": "2026-11-25T09:00:00+08:00"},
        headers={**h, **etag(case)},
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "agreement-before-dispute"
    assert [e["field"] for e in r.json()["errors"]] == ["body.occurred_at"]
    assert await sql(SNAPSHOT, c=case["id"]) == before
    r = await client.patch(
        f"{CASES}/{case['id']}",
        json={"occurred_at": "2026-11-24T09:00:00+08:00"},
        headers={**h, **etag(case)},
    )
    assert r.status_code == 200, r.text


def _id_born(born: str) -> str:
    return valid_id(f"220302{born}001")


@pytest.mark.parametrize("born", ["18500101", "18991231", "20261127", "29990101"])
async def test_an_id_number_born_before_1900_or_after_today_is_refused(
    client: httpx.AsyncClient, world: World, sql: Any, born: str
) -> None:
    """The acceptance audit: a party born in 1850 or 2999 (the ID number's own birth date
    exists and its check digit is right) was stored. From 1900 to today (2026-11-26) only,
    for a party, a guardian, a party added and a party corrected; nothing is written."""
    h = await world.headers("dispatcher")
    counts = "SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM case_parties)"
    guardian = {"name": "王芳", "relation": "母亲"}  # a birth still to come reads as a minor
    person = {"kind": "person", "side": "applicant", "name": "张三", "guardian": guardian}
    for parties, field in (
        ([{**person, "id_number": _id_born(born)}], "body.parties.0.id_number"),
        (
            [{**person, "guardian": {**guardian, "id_number": _id_born(born)}}],
            "body.parties.0.guardian.id_number",
        ),
    ):
        r = await client.post(CASES, json=case_body(world, parties=parties), headers=h)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        errors = {e["field"]: e["message"] for e in r.json()["errors"]}
        assert "between 1900-01-01 and 2026-11-26" in errors[field], errors
    assert await sql(counts) == [(0, 0)]

    r = await client.post(CASES, json=case_body(world), headers=h)
    assert r.status_code == 201, r.text
    case = r.json()
    before = await sql(SNAPSHOT, c=case["id"]) + await sql(counts)
    applicant = case["parties"][0]["id"]
    for method, url, body in (
        ("POST", f"{CASES}/{case['id']}/parties", {**person, "id_number": _id_born(born)}),
        ("PATCH", f"{CASES}/{case['id']}/parties/{applicant}", {"id_number": _id_born(born)}),
    ):
        r = await client.request(method, url, json=body, headers={**h, **etag(case)})
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in r.json()["errors"]] == ["body.id_number"]
    assert await sql(SNAPSHOT, c=case["id"]) + await sql(counts) == before


async def test_an_id_number_born_in_1900_or_today_is_taken(
    client: httpx.AsyncClient, world: World
) -> None:
    h = await world.headers("dispatcher")
    guardian = {"name": "王芳", "relation": "母亲"}
    parties = [
        {"kind": "person", "side": "applicant", "name": "张三", "id_number": _id_born("19000101")},
        {
            "kind": "person",
            "side": "respondent",
            "name": "小明",
            "id_number": _id_born("20261126"),
            "guardian": guardian,
        },
    ]
    r = await client.post(CASES, json=case_body(world, parties=parties), headers=h)
    assert r.status_code == 201, r.text
    assert [p["is_minor"] for p in r.json()["parties"]] == [False, True]
