"""Logging and reading calls: what a counselor sees, what lists show, what is logged, and
bad input that writes nothing."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from tests.cases.test_intake_writes import statements
from tests.hotline.conftest import CALLS, HIGH_RISK, call_body, person_of
from tests.support.world import World


async def test_counselor_logs_a_call_in_one_request(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    h = await world.headers("counselor")
    r = await client.post(CALLS, headers=h, json=call_body())
    assert r.status_code == 201, r.text
    call = r.json()
    assert r.headers["location"] == f"{CALLS}/{call['id']}"
    assert r.headers["etag"] == f'"{call["id"]}-1"'
    assert call["counselor_id"] == str(await person_of(world, "counselor"))
    assert call["counselor_name"] == "褚咨询"
    assert call["unit_id"] == str(world.unit("220302001002").id)
    assert call["duration_seconds"] == 18 * 60 + 30
    assert call["summary"] == "来电者因婚姻矛盾情绪低落，经疏导后情绪平稳。"
    # the answer is stored with an Idempotency-Key: the number stays masked in it
    assert call["caller"]["callback_number"] is None
    assert call["caller"]["callback_number_masked"] == "139****5678"
    assert call["caller"]["repeat_caller"] is False
    assert call["risk_level"] == "low" and call["minimum_risk_level"] == "low"
    assert call["flag"]["flagged"] is False
    assert call["review"] is None

    got = await client.get(f"{CALLS}/{call['id']}", headers=h)
    assert got.status_code == 200
    assert got.headers["etag"] == r.headers["etag"]
    assert got.json()["caller"]["callback_number"] == "13912345678"
    assert got.json()["started_at"] == "2026-11-26T09:40:00+08:00"  # the center's offset

    listed = await client.get(CALLS, headers=h)
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert item["id"] == call["id"]
    assert item["callback_number_masked"] == "139****5678"
    assert "13912345678" not in listed.text
    assert "summary" not in item and "risk_assessment" not in item

    log = await sql(
        "SELECT action, record_id::text, actor_name, detail FROM access_log "
        "WHERE record_type = 'hotline_call' ORDER BY at, id"
    )
    assert [(a, rid) for a, rid, _, _ in log] == [
        ("hotline.create", call["id"]),
        ("hotline.read", call["id"]),
        ("hotline.list", call["id"]),
    ]
    assert {name for _, _, name, _ in log} == {"褚咨询"}
    assert [d for _, _, _, d in log[:2]] == [
        {"callback_number_unmasked": False},
        {"callback_number_unmasked": True},
    ]


async def test_supervisor_of_the_workstation_sees_it_too(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.post(CALLS, headers=await world.headers("counselor"), json=call_body())
    sup = await world.headers("hotline_supervisor")
    got = await client.get(f"{CALLS}/{r.json()['id']}", headers=sup)
    assert got.status_code == 200
    assert got.json()["caller"]["callback_number"] == "13912345678"
    assert [i["id"] for i in (await client.get(CALLS, headers=sup)).json()["items"]] == [
        r.json()["id"]
    ]


async def test_other_workstation_counselor_sees_nothing(
    client: httpx.AsyncClient, world: World, other_counselor: str
) -> None:
    r = await client.post(CALLS, headers=await world.headers("counselor"), json=call_body())
    h = await world.headers(other_counselor)
    assert (await client.get(CALLS, headers=h)).json() == {"items": [], "next_cursor": None}
    got = await client.get(f"{CALLS}/{r.json()['id']}", headers=h)
    assert got.status_code == 404
    same = await client.get(CALLS, headers=h, params={"same_caller_as": r.json()["id"]})
    assert same.status_code == 404
    # and it cannot log calls for a workstation it does not work at
    bad = await client.post(
        CALLS, headers=h, json=call_body(unit_id=str(world.unit("220302001002").id))
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "body.unit_id"


BAD_INPUT = [
    ("end before start", {"ended_at": "2026-11-26T09:30:00+08:00"}, "body.ended_at"),
    (
        "risk level without an assessment",
        {"risk_assessment": None, "risk_level": "medium"},
        "body.risk_level",
    ),
    (
        "imminent without an assessment",
        {"risk_assessment": None, "risk_level": None, "imminent_risk": True},
        "body.imminent_risk",
    ),
    (
        "callback number without consent",
        {"caller": {"callback_number": "13912345678", "callback_consent": False}},
        "body.caller.callback_number",
    ),
    ("minor without an age band", {"caller": {"is_minor": True}}, "body.caller.age_band"),
    (
        "minor with an adult age band",
        {"caller": {"is_minor": True, "age_band": "30_44"}},
        "body.caller.age_band",
    ),
    (
        "level below what the assessment implies",
        {
            "risk_level": "low",
            "risk_assessment": {
                "suicidal_desire": True,
                "suicidal_capability": True,
                "suicidal_intent": True,
            },
        },
        "body.risk_level",
    ),
    ("imminent but not high", {"imminent_risk": True, "risk_level": "medium"}, "body.risk_level"),
    ("assessment without a level", {"risk_level": None}, "body.risk_level"),
    ("unknown topic", {"topics": ["astrology"]}, "body.topics.0"),
    ("naive time", {"started_at": "2026-11-26T09:40:00"}, "body.started_at"),
    (
        "start in the future",
        {"started_at": "2026-11-26T12:00:00+08:00", "ended_at": None},
        "body.started_at",
    ),
    (
        "start before the workstation opened",
        {"started_at": "1900-01-01T09:40:00+08:00", "ended_at": None},
        "body.started_at",
    ),
    (
        "start past the retention period",
        {"started_at": "2023-06-01T09:40:00+08:00", "ended_at": None},
        "body.started_at",
    ),
    ("follow-up due in 2999", {"follow_up_due": "2999-01-01T09:00:00+08:00"}, "body.follow_up_due"),
    ("bad enum", {"call_type": "angry"}, "body.call_type"),
]


@pytest.mark.parametrize(("case", "change", "field"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
async def test_bad_input_is_a_problem_and_writes_nothing(
    client: httpx.AsyncClient, world: World, sql: Any, case: str, change: dict[str, Any], field: str
) -> None:
    h = await world.headers("counselor")
    r = await client.post(CALLS, headers=h, json=call_body(**change))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == 422 and body["title"] and body["request_id"]
    assert field in {e["field"] for e in body["errors"]}, body["errors"]
    for table in ("hotline_calls", "hotline_call_events", "outbox_events", "access_log"):
        assert (await sql(f"SELECT count(*) FROM {table}"))[0][0] == 0, table


async def test_all_rule_errors_come_at_once(client: httpx.AsyncClient, world: World) -> None:
    r = await client.post(
        CALLS,
        headers=await world.headers("counselor"),
        json=call_body(
            ended_at="2026-11-26T09:00:00+08:00",
            risk_assessment=None,
            caller={"is_minor": True, "callback_number": "13800000000"},
        ),
    )
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {
        "body.ended_at",
        "body.risk_level",
        "body.caller.age_band",
        "body.caller.callback_number",
    }


async def test_minimal_anonymous_call_and_a_minor(client: httpx.AsyncClient, world: World) -> None:
    h = await world.headers("counselor")
    r = await client.post(
        CALLS, headers=h, json={"started_at": "2026-11-26T09:00:00+08:00", "call_type": "silent"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["caller"] == {
        "anonymous": True,
        "alias": None,
        "age_band": None,
        "gender": None,
        "is_minor": None,
        "callback_consent": False,
        "callback_number": None,
        "callback_number_masked": None,
        "repeat_caller": False,
        "previous_calls": 0,
    }
    minor = await client.post(
        CALLS,
        headers=h,
        json=call_body(
            caller={"is_minor": True, "age_band": "under_14"}, topics=["minors_mental_health"]
        ),
    )
    assert minor.status_code == 201, minor.text
    listed = await client.get(CALLS, headers=h, params={"minor": True})
    assert [i["id"] for i in listed.json()["items"]] == [minor.json()["id"]]


async def test_changes_need_the_current_etag(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    h = await world.headers("counselor")
    call = (await client.post(CALLS, headers=h, json=call_body())).json()
    url = f"{CALLS}/{call['id']}"
    change = {"follow_up_done_at": "2026-11-26T09:59:00+08:00", "follow_up_note": "已回访"}
    assert (await client.patch(url, headers=h, json=change)).status_code == 428
    r = await client.patch(url, headers={**h, "If-Match": f'"{call["id"]}-1"'}, json=change)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and r.json()["follow_up_done_at"]
    assert r.headers["etag"] == f'"{call["id"]}-2"'
    stale = await client.patch(
        url, headers={**h, "If-Match": f'"{call["id"]}-1"'}, json={"summary": "x"}
    )
    assert stale.status_code == 412
    bad = await client.patch(
        url, headers={**h, "If-Match": r.headers["etag"]}, json={"risk_assessment": None}
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "body.risk_level"
    withdrawn = await client.patch(
        url,
        headers={**h, "If-Match": r.headers["etag"]},
        json={"caller": {"callback_consent": False}},
    )
    assert withdrawn.status_code == 200
    assert withdrawn.json()["caller"]["callback_number"] is None
    assert (await sql("SELECT callback_number_enc FROM hotline_calls"))[0][0] is None
    kinds = [e["kind"] for e in (await client.get(f"{url}/timeline", headers=h)).json()["items"]]
    assert kinds == ["created", "updated", "follow_up_done", "updated"]


async def test_the_same_topics_and_actions_in_another_order_change_nothing(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """Topics and actions are sets (as a webhook's event types are): sending them again in
    another order keeps the version and ETag and writes no event."""
    h = await world.headers("counselor")
    created = await client.post(
        CALLS,
        headers=h,
        json=call_body(
            topics=["marriage_family", "emotional_distress"],
            actions=["counseling", "information"],
        ),
    )
    assert created.status_code == 201, created.text
    call, etag = created.json(), created.headers["etag"]
    traces = (
        "SELECT (SELECT count(*) FROM outbox_events), (SELECT count(*) FROM hotline_call_events)"
    )
    before = await sql(traces)
    r = await client.patch(
        f"{CALLS}/{call['id']}",
        headers={**h, "If-Match": etag},
        json={
            "topics": ["emotional_distress", "marriage_family"],
            "actions": ["information", "counseling"],
        },
    )
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == etag and r.json()["version"] == 1
    assert r.json()["topics"] == ["marriage_family", "emotional_distress"]
    assert await sql(traces) == before
    timeline = await client.get(f"{CALLS}/{call['id']}/timeline", headers=h)
    assert [e["kind"] for e in timeline.json()["items"]] == ["created"]


async def test_a_corrected_call_time_lies_before_the_call_was_logged(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """Logged on 26 November at 10:00 (the call began at 09:40). Days later its time is
    corrected: to the 29th (after the logging, though before today) is refused like a call
    logged before it happened, and changes nothing; to 09:20 on the 26th is taken."""
    from datetime import timedelta

    from tests.cases.conftest import at

    h = await world.headers("counselor")
    created = await client.post(CALLS, headers=h, json=call_body(follow_up_due=None))
    assert created.status_code == 201, created.text
    call, etag = created.json(), created.headers["etag"]
    at(world, world.clock.now() + timedelta(days=5))
    h = await world.headers("counselor")
    url = f"{CALLS}/{call['id']}"
    before = await sql("SELECT version, started_at FROM hotline_calls")
    events = await sql("SELECT count(*) FROM hotline_call_events")
    later = {"started_at": "2026-11-29T09:40:00+08:00", "ended_at": "2026-11-29T09:58:00+08:00"}
    r = await client.patch(url, headers={**h, "If-Match": etag}, json=later)
    assert r.status_code == 422, r.text
    fields = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert set(fields) == {"body.started_at", "body.ended_at"}
    assert "a call is logged after it happened" in fields["body.started_at"]
    assert "2026-11-26 10:00+08:00" in fields["body.started_at"]  # the window ends there
    assert await sql("SELECT version, started_at FROM hotline_calls") == before
    assert await sql("SELECT count(*) FROM hotline_call_events") == events

    earlier = {"started_at": "2026-11-26T09:20:00+08:00", "ended_at": "2026-11-26T09:58:00+08:00"}
    r = await client.patch(url, headers={**h, "If-Match": etag}, json=earlier)
    assert r.status_code == 200, r.text
    assert r.json()["duration_seconds"] == 38 * 60


@pytest.mark.parametrize(
    ("stored", "started_at"),
    [
        # Followed up at 09:45; the call is moved to start at 09:55.
        (
            {"follow_up_done_at": "2026-11-26T09:45:00+08:00", "follow_up_note": "已回访"},
            "2026-11-26T09:55:00+08:00",
        ),
        # Ended at 09:58:30 (call_body); moved to start at 09:59.
        ({}, "2026-11-26T09:59:00+08:00"),
        # Ended at 09:58:30; moved to start 25 hours earlier (a call lasts 24 hours at most).
        ({}, "2026-11-25T08:58:00+08:00"),
        # A follow-up due at 09:50; moved to start at 09:55 (without its end).
        (
            {"follow_up_due": "2026-11-26T09:50:00+08:00", "ended_at": None},
            "2026-11-26T09:55:00+08:00",
        ),
    ],
)
async def test_a_call_moved_past_its_stored_end_or_follow_up_is_refused(
    client: httpx.AsyncClient,
    world: World,
    sql: Any,
    stored: dict[str, Any],
    started_at: str,
) -> None:
    """The acceptance audit: a correction of the start alone was checked against the end,
    the follow-up's due and done times only when they came in the same request. The pair as
    it would be stored counts: 422 on `started_at`, and nothing changes."""
    h = await world.headers("counselor")
    r = await client.post(CALLS, headers=h, json=call_body(follow_up_due=None))
    assert r.status_code == 201, r.text
    call, etag = r.json(), r.headers["etag"]
    url = f"{CALLS}/{call['id']}"
    if stored:
        r = await client.patch(url, headers={**h, "If-Match": etag}, json=stored)
        assert r.status_code == 200, r.text
        etag = r.headers["etag"]
    before = await sql("SELECT started_at, version FROM hotline_calls")
    events = await sql("SELECT count(*) FROM hotline_call_events")
    r = await client.patch(url, headers={**h, "If-Match": etag}, json={"started_at": started_at})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "call-log-inconsistent"
    [error] = r.json()["errors"]
    assert error["field"] == "body.started_at" and "stays 2026-11-26T09:" in error["message"]
    assert await sql("SELECT started_at, version FROM hotline_calls") == before
    assert await sql("SELECT count(*) FROM hotline_call_events") == events


async def test_only_the_counselor_or_a_supervisor_changes_a_call(
    client: httpx.AsyncClient, world: World
) -> None:
    from datetime import date

    from mediation.auth.accounts import add_account
    from mediation.org.enums import Role

    async with world.db() as session, session.begin():
        await add_account(
            session,
            username="counselor_b",
            name="许咨询",
            role=Role.counselor,
            unit_id=world.unit("220302001002").id,
            password="demo-password",
            starts_on=date(2020, 1, 1),
        )
    call = (
        await client.post(CALLS, headers=await world.headers("counselor"), json=call_body())
    ).json()
    url = f"{CALLS}/{call['id']}"
    colleague = await world.headers("counselor_b")
    assert (await client.get(url, headers=colleague)).status_code == 200
    r = await client.patch(
        url, headers={**colleague, "If-Match": f'"{call["id"]}-1"'}, json={"summary": "改"}
    )
    assert r.status_code == 403
    r = await client.patch(
        url,
        headers={**await world.headers("hotline_supervisor"), "If-Match": f'"{call["id"]}-1"'},
        json={"summary": "督导补充"},
    )
    assert r.status_code == 200 and r.json()["summary"] == "督导补充"


async def test_supervisor_review(client: httpx.AsyncClient, world: World) -> None:
    call = (
        await client.post(CALLS, headers=await world.headers("counselor"), json=call_body())
    ).json()
    url = f"{CALLS}/{call['id']}/review"
    body = {"outcome": "appropriate", "comment": "评估完整，处置得当。"}
    r = await client.post(
        url,
        headers={**await world.headers("counselor"), "If-Match": f'"{call["id"]}-1"'},
        json=body,
    )
    assert r.status_code == 403
    sup = await world.headers("hotline_supervisor")
    assert (await client.post(url, headers=sup, json=body)).status_code == 428
    r = await client.post(url, headers={**sup, "If-Match": f'"{call["id"]}-1"'}, json=body)
    assert r.status_code == 200, r.text
    review = r.json()["review"]
    assert review["outcome"] == "appropriate" and review["reviewed_by_name"] == "卫督导"
    assert review["comment"] == "评估完整，处置得当。"
    # a supervisor's own call is reviewed by someone else
    own = (await client.post(CALLS, headers=sup, json=call_body())).json()
    r = await client.post(
        f"{CALLS}/{own['id']}/review", headers={**sup, "If-Match": f'"{own["id"]}-1"'}, json=body
    )
    assert r.status_code == 403


async def test_list_filters_sort_and_pages(client: httpx.AsyncClient, world: World) -> None:
    h = await world.headers("counselor")
    ids = []
    for minute in range(5):
        r = await client.post(
            CALLS,
            headers=h,
            json=call_body(
                started_at=f"2026-11-26T08:0{minute}:00+08:00",
                ended_at=None,
                call_type="prank" if minute == 2 else "valid",
            ),
        )
        ids.append(r.json()["id"])
    first = await client.get(CALLS, headers=h, params={"limit": 2})
    assert [i["id"] for i in first.json()["items"]] == ids[:2:-1][:2]
    rest = await client.get(
        CALLS, headers=h, params={"limit": 10, "cursor": first.json()["next_cursor"]}
    )
    assert [i["id"] for i in rest.json()["items"]] == [ids[2], ids[1], ids[0]]
    assert rest.json()["next_cursor"] is None
    oldest = await client.get(CALLS, headers=h, params={"sort": "oldest", "limit": 1})
    assert oldest.json()["items"][0]["id"] == ids[0]
    wrong = await client.get(
        CALLS, headers=h, params={"sort": "oldest", "cursor": first.json()["next_cursor"]}
    )
    assert wrong.status_code == 422
    pranks = await client.get(CALLS, headers=h, params={"call_type": "prank"})
    assert [i["id"] for i in pranks.json()["items"]] == [ids[2]]
    pending = await client.get(CALLS, headers=h, params={"follow_up_pending": True})
    assert len(pending.json()["items"]) == 5


async def test_enum_labels_are_served_in_chinese(client: httpx.AsyncClient, world: World) -> None:
    r = await client.get("/api/v1/reference/enums", headers=await world.headers("counselor"))
    enums = {e["name"]: {v["value"]: v["label_zh"] for v in e["values"]} for e in r.json()}
    assert enums["CallType"]["valid"] == "有效来电"
    assert enums["CallType"]["wrong_number"] == "打错电话"
    assert enums["RiskLevel"]["high"] == "高风险"
    assert enums["CallAction"]["ambulance_contacted"] == "联系急救（120）"
    assert enums["AgeBand"]["14_17"] == "14–17岁"


async def test_a_repeat_call_is_checked_written_and_answered_in_few_statements(
    client: httpx.AsyncClient, world: World, app: Any
) -> None:
    h = await world.headers("counselor")
    assert (await client.post(CALLS, headers=h, json=call_body())).status_code == 201
    with statements(app) as seen:
        r = await client.post(CALLS, headers=h, json=call_body())
    assert r.status_code == 201, r.text
    call = r.json()
    assert call["caller"]["repeat_caller"] is True and call["counselor_name"] == "褚咨询"
    # The topics are checked in the statement that reads the workstation ...
    assert not [s for s in seen if s.startswith("SELECT reference_items")], seen
    assert len([s for s in seen if "FROM reference_items" in s]) == 1, seen
    # ... the call, its first history entry and its access-log row are inserted once each,
    # by one statement that also answers the repeat count and the counselor's name (no
    # outbox event: the call is not at risk) ...
    tables = [t for s in seen for t in re.findall(r"INSERT INTO (\w+)", s)]
    for table in ("hotline_calls", "hotline_call_events", "access_log", "audit_pending"):
        assert tables.count(table) == 1, seen
    assert "outbox_events" not in tables, seen
    [write] = [s for s in seen if "INSERT INTO hotline_calls" in s]
    assert "INSERT INTO access_log" in write and "FROM people" in write, write
    assert not [s for s in seen if s.startswith("UPDATE ")], seen
    assert not [s for s in seen if s.startswith("SELECT people.id")], seen
    # ... and the audit entries staged in one more, for the database to chain at COMMIT (no
    # statement of the service takes the chain's lock or reads its head).
    assert not [s for s in seen if "audit_chain_head" in s or "pg_advisory" in s], seen
    assert "audit_events" not in tables, seen
    assert len(seen) == 3, seen  # the workstation, the write, the staged entries


async def _logged(sql: Any, after_seq: int) -> list[tuple[Any, ...]]:
    """The audit entries after `after_seq`, in chain order, each with the access-log row it
    links (`access_log_id`), without what differs from one run to the next: ids, times,
    request ids (checked to be the entry's own)."""
    audit = await sql(
        "SELECT actor_id, actor_name, action, record_type, record_id, result, client_ip, "
        "detail, request_id FROM audit_events WHERE seq > :s ORDER BY seq",
        s=after_seq,
    )
    rows = {
        r[0]: r[1:]
        for r in await sql(
            "SELECT id::text, actor_id, actor_kind, actor_name, action, record_type, "
            "record_id, subject_ids, detail, request_id FROM access_log"
        )
    }
    out = []
    for *entry, detail, request_id in audit:
        detail = dict(detail)
        row = rows.pop(detail.pop("access_log_id", None), None)
        if row is not None:
            assert row[-1] == request_id  # the same request's
            row = row[:-1]
        out.append((*entry, detail, row))
    return out


async def test_the_list_statement_answers_as_the_model_path(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch, sql: Any, db: Any
) -> None:
    """The list is two hand-written statements written to JSON from the rows
    (hotline/reads.py): every filter, both orders and every page boundary must give the
    bytes the ORM path and the response model gave (tests/hotline/orm_list.py), the same
    errors, and the same access-log rows and audit entries (in chain order; the chain
    verifies)."""
    from mediation.audit.chain import verify_database
    from mediation_api.hotline.service import HotlineService
    from tests.hotline.orm_list import orm_list_json

    h = await world.headers("counselor")
    sup = await world.headers("hotline_supervisor")
    made = []
    for minute, extra in enumerate(
        [
            {},
            HIGH_RISK,
            {"call_type": "prank", "ended_at": None, "follow_up_due": None},
            {"caller": {**call_body()["caller"], "number": None, "callback_number": None}},
            {
                "topics": ["marriage_family"],
                "caller": {"anonymous": True, "is_minor": True, "age_band": "14_17"},
            },
            {**HIGH_RISK, "imminent_risk": False},
        ]
    ):
        body = call_body(started_at=f"2026-11-26T08:0{minute}:00+08:00", **extra)
        if "ended_at" not in extra:
            body["ended_at"] = f"2026-11-26T08:0{minute}:30.250000+08:00"
        r = await client.post(CALLS, headers=h, json=body)
        assert r.status_code == 201, r.text
        made.append(r.json())
    # a case opened from one call (named to the counselor, who may read cases)
    from tests.hotline.test_open_case import case_body

    first = made[1]
    r = await client.post(
        f"{CALLS}/{first['id']}/open-case",
        headers={**h, "If-Match": f'"{first["id"]}-1"'},
        json=case_body(world),
    )
    assert r.status_code == 201, r.text
    queries: list[dict[str, Any]] = [
        {},
        {"sort": "oldest"},
        {"unit_id": made[0]["unit_id"]},
        {"counselor_id": made[0]["counselor_id"]},
        {
            "started_from": "2026-11-26T08:02:00+08:00",
            "started_before": "2026-11-26T08:05:00+08:00",
        },
        {"call_type": "prank"},
        {"risk_level": "high"},
        {"imminent": True},
        {"imminent": False},
        {"flagged": True},
        {"flagged": False},
        {"follow_up_pending": True},
        {"follow_up_pending": False},
        {"topic": "marriage_family"},
        {"topic": "no_such_topic"},
        {"minor": True},
        {"minor": False},
        {"same_caller_as": made[0]["id"]},
        {"same_caller_as": made[3]["id"]},
        {"same_caller_as": "00000000-0000-7000-8000-000000000000"},
    ]

    def answer(r: httpx.Response) -> tuple[int, bytes]:
        """A page's bytes; a problem's without its request id (one per request)."""
        if r.status_code == 200:
            return r.status_code, r.content
        return r.status_code, r.content.replace(r.json()["request_id"].encode(), b"")

    async def walk(headers: dict[str, str], params: dict[str, Any]) -> list[tuple[int, bytes]]:
        """Every page at limit 2, and a cursor given to the other order (refused)."""
        out, cursor = [], None
        while True:
            q = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
            r = await client.get(CALLS, headers=headers, params=q)
            out.append(answer(r))
            cursor = r.json().get("next_cursor") if r.status_code == 200 else None
            if cursor is None:
                break
            other = "newest" if params.get("sort") == "oldest" else "oldest"
            wrong = await client.get(CALLS, headers=headers, params={**q, "sort": other})
            out.append(answer(wrong))
        return out

    async def last_seq() -> int:
        return int((await sql("SELECT coalesce(max(seq), 0) FROM audit_events"))[0][0])

    start = await last_seq()
    new = {}
    for who, headers in (("counselor", h), ("supervisor", sup)):
        for i, params in enumerate(queries):
            new[who, i] = await walk(headers, params)
    middle = await last_seq()
    assert new["counselor", 0][0][0] == 200 and b'"case_id":"' in new["counselor", 0][-1][1]
    listed = b"".join(body for _, body in new["counselor", 0])
    for seen in (b'"repeat_caller":true', b'"repeat_caller":false', b'_masked":null', b"+08:00"):
        assert seen in listed, seen
    assert new["counselor", 14][0][0] == 422 and new["counselor", 19][0][0] == 404
    monkeypatch.setattr(HotlineService, "list_json", orm_list_json)
    for who, headers in (("counselor", h), ("supervisor", sup)):
        for i, params in enumerate(queries):
            assert await walk(headers, params) == new[who, i], (who, params)
    written = await _logged(sql, start)
    assert len(written) == 2 * (middle - start)
    by_statement, by_orm = written[: middle - start], written[middle - start :]
    assert [e for e in by_statement if e[2] == "read.hotline_call"], "nothing logged"
    assert all(e[-1] is not None for e in by_statement if e[2] == "read.hotline_call")
    assert by_statement == by_orm
    async with db() as session:
        assert (await verify_database(session)).ok


async def test_a_new_call_is_written_as_the_model_path(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch, sql: Any, db: Any
) -> None:
    """A new call is one statement (hotline/write.py): every kind of call (at risk or not,
    imminent, with or without a number, a repeat caller) must get the answer, headers, rows,
    outbox event, access-log row and audit entries (in chain order) the ORM path gave
    (tests/hotline/orm_create.py); only ids and server times differ."""
    from mediation.audit.chain import verify_database
    from mediation_api.hotline.service import HotlineService
    from tests.hotline.orm_create import orm_create

    h = await world.headers("counselor")
    variants: list[dict[str, Any]] = [
        {},
        HIGH_RISK,
        {**HIGH_RISK, "imminent_risk": False},
        {"call_type": "prank", "ended_at": None, "follow_up_due": None},
        {"caller": {**call_body()["caller"], "number": None, "callback_number": None}},
        {"caller": {**call_body()["caller"], "callback_consent": False, "callback_number": None}},
        {
            "topics": ["marriage_family"],
            "caller": {"anonymous": True, "is_minor": True, "age_band": "14_17"},
        },
        {},  # the first one's caller again
    ]

    async def last_seq() -> int:
        return int((await sql("SELECT coalesce(max(seq), 0) FROM audit_events"))[0][0])

    async def run(tag: str) -> list[Any]:
        start = await last_seq()
        ids, answers = [], []
        for minute, extra in enumerate(variants):
            body = call_body(started_at=f"2026-11-26T08:0{minute}:00+08:00", **extra)
            if body["caller"].get("number"):  # each run its own callers
                body["caller"]["number"] = f"139 {tag} {min(minute, 7) % 7:04d}"
            r = await client.post(CALLS, headers=h, json=body)
            assert r.status_code == 201, r.text
            out = r.json()
            ids.append(out["id"])
            answer = r.content.replace(out["id"].encode(), b"ID")
            for key in ("created_at", "updated_at"):
                answer = answer.replace(out[key].encode(), key.encode())
            headers = (r.headers["ETag"], r.headers["Location"])
            answers.append((r.status_code, answer, [x.replace(out["id"], "ID") for x in headers]))
        order = {i: n for n, i in enumerate(ids)}
        calls = await sql(
            "SELECT id::text, unit_id, unit_path, counselor_id, created_by, started_at, "
            "ended_at, duration_seconds, channel, call_type, caller_anonymous, caller_alias, "
            "caller_age_band, caller_gender, caller_is_minor, caller_hash IS NOT NULL, "
            "callback_consent, callback_number_enc IS NOT NULL, callback_key_id, topics, "
            "risk_level, imminent_risk, risk_assessment, actions, referral_to, summary, "
            "follow_up_due, follow_up_done_at, flagged_at, acknowledged_at, version, "
            "timeline_seq, historical, deidentified_at, created_at = updated_at "
            "FROM hotline_calls WHERE id::text = ANY(:ids)",
            ids=ids,
        )
        events = await sql(
            "SELECT call_id::text, seq, at, kind, actor_id, actor_person_id, actor_name, detail "
            "FROM hotline_call_events WHERE call_id::text = ANY(:ids)",
            ids=ids,
        )
        outbox = await sql(
            "SELECT aggregate_id::text, type, aggregate_type, unit_path, payload, actor_id, "
            "occurred_at, relay_attempts FROM outbox_events WHERE aggregate_id::text = ANY(:ids)",
            ids=ids,
        )

        def norm(x: Any) -> Any:
            """Each of this run's calls by its number in the run."""
            if isinstance(x, uuid.UUID | str) and str(x) in order:
                return order[str(x)]
            if isinstance(x, list | tuple):
                return type(x)(norm(v) for v in x)
            if isinstance(x, dict):  # an audit entry names its outbox event by id
                return {k: "event" if k == "outbox_event_id" else norm(v) for k, v in x.items()}
            return x

        rows = [sorted(norm(tuple(r)) for r in rs) for rs in (calls, events, outbox)]
        return [answers, *rows, norm(await _logged(sql, start))]

    new = await run("0001")
    assert [a[0] for a in new[0]] == [201] * len(variants)
    assert b'"repeat_caller":true' in new[0][-1][1] and len(new[3]) == 2
    monkeypatch.setattr(HotlineService, "create", orm_create)
    old = await run("0002")
    for got, expected in zip(new, old, strict=True):
        assert got == expected
    async with db() as session:
        assert (await verify_database(session)).ok
