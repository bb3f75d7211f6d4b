"""Every life-cycle action of a case and its sessions, end to end through the API and the real
worker: each outbox event it writes is a valid payload of its type's model (and the model
writes exactly the JSON that was stored), and the notification rules reach the people they
name — nobody else, never the person who acted."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx

from mediation.outbox.events import EVENT_MODELS
from mediation.outbox.models import OutboxEvent
from tests.cases.conftest import case_body
from tests.contract.test_webhooks_contract import body_errors
from tests.sessions.conftest import (
    CASES,
    DAY,
    SESSIONS,
    at,
    at_time,
    case_action,
    etag,
    new_case,
    person_id,
    schedule,
    session_action,
    session_body,
)
from tests.sessions.test_outcome import outcome
from tests.support.world import World

# The case and session types only the worker writes (reminders) or no action writes.
NOT_BY_ACTIONS = {
    "case.deadline_due_soon",
    "case.deadline_overdue",
    "case.deadline_escalated",
    "case.follow_up_due",
    "case.deadline_recomputed",
    "session.updated",
    "session.reminder",
}


async def _events(sql: Any) -> list[tuple[uuid.UUID, str, str, dict[str, Any]]]:
    return [
        (r[0], r[1], r[2], r[3])
        for r in await sql(
            "SELECT id, type, aggregate_type, payload FROM outbox_events ORDER BY created_at, id"
        )
    ]


async def _reached(sql: Any) -> dict[uuid.UUID, set[str]]:
    """Who got an in-app notification of each event."""
    out: dict[uuid.UUID, set[str]] = {}
    for event_id, username in await sql(
        "SELECT n.event_id, u.username FROM notifications n JOIN users u ON u.id = n.user_id"
    ):
        out.setdefault(event_id, set()).add(username)
    return out


async def _patch(
    client: httpx.AsyncClient, url: str, h: dict[str, str], record: dict[str, Any], body: Any
) -> dict[str, Any]:
    r = await client.patch(url, json=body, headers={**h, "If-Match": etag(record)})
    assert r.status_code == 200, r.text
    return r.json()


async def test_every_life_cycle_event_is_its_model_and_reaches_whom_the_rules_name(
    client: httpx.AsyncClient, world: World, sql: Any, worker: Any
) -> None:
    grid, dispatcher = await world.headers("grid_head"), await world.headers("dispatcher")
    mediator_id, police_id = await person_id(world, "mediator"), await person_id(world, "police")
    people = {"channel": "people"}

    # A: registered by the grid head, through every step to closed and reopened.
    r = await client.post(CASES, headers=grid, json=case_body(world))
    assert r.status_code == 201, r.text
    a = r.json()
    r = await client.post(f"{CASES}/{a['id']}/comments", headers=grid, json={"body": "已联系"})
    assert r.status_code == 201, r.text
    a = await case_action(client, dispatcher, a, "accept")
    a = await _patch(client, f"{CASES}/{a['id']}", dispatcher, a, {"title": "楼上漏水纠纷（复）"})
    r = await client.post(
        f"{CASES}/{a['id']}/parties",
        headers={**dispatcher, "If-Match": etag(a)},
        json={"kind": "person", "side": "third_party", "name": "王五", "phone": "13900003333"},
    )
    assert r.status_code in (200, 201), r.text
    a = r.json()
    party = next(p for p in a["parties"] if p["name"] == "王五")
    a = await _patch(
        client, f"{CASES}/{a['id']}/parties/{party['id']}", dispatcher, a, {"name": "王六"}
    )
    r = await client.delete(
        f"{CASES}/{a['id']}/parties/{party['id']}", headers={**dispatcher, "If-Match": etag(a)}
    )
    assert r.status_code in (200, 204), r.text
    a = (await client.get(f"{CASES}/{a['id']}", headers=dispatcher)).json()
    a = await case_action(
        client, dispatcher, a, "assign", {"handlers": [{"person_id": mediator_id, **people}]}
    )
    both = [
        {"person_id": mediator_id, "channel": "people", "lead": True},
        {"person_id": police_id, "channel": "police_joint"},
    ]
    a = await case_action(client, dispatcher, a, "transfer", {"handlers": both, "reason": "联调"})
    med = await world.headers("mediator")
    a = await case_action(client, med, a, "pause", {"reason": "等待当事人返乡"})
    a = await case_action(client, med, a, "resume", {})
    a = await case_action(client, med, a, "start-mediation", {})
    a = await case_action(
        client, med, a, "extend-deadline", {"by": 5, "reason": "双方同意", "parties_agreed": True}
    )

    # Its sessions: scheduled, moved, a mediator added and taken off, called off; another
    # held, whose agreement resolves the case.
    ms = await schedule(client, dispatcher, a, session_body([mediator_id], at_time(DAY, 9, 30)))
    ms = await session_action(
        client,
        dispatcher,
        ms,
        "reschedule",
        {
            "starts_at": at_time(DAY, 10).isoformat(),
            "ends_at": at_time(DAY, 11, 30).isoformat(),
            "reason": "当事人请假",
        },
    )
    two = [{"person_id": mediator_id}, {"person_id": police_id}]
    ms = await _patch(client, f"{SESSIONS}/{ms['id']}", dispatcher, ms, {"mediators": two})
    ms = await _patch(
        client,
        f"{SESSIONS}/{ms['id']}",
        dispatcher,
        ms,
        {"mediators": [{"person_id": mediator_id}]},
    )
    ms = await session_action(client, dispatcher, ms, "cancel", {"reason": "调解室维修"})
    held = await schedule(client, dispatcher, a, session_body([mediator_id], at_time(DAY, 14)))
    at(world, at_time(DAY, 14) - timedelta(hours=23))
    await worker()  # the day before: the session reminder is swept
    at(world, at_time(DAY, 15, 40))
    med = await world.headers("mediator")
    r = await client.post(
        f"{SESSIONS}/{held['id']}/outcome",
        json=outcome(held),
        headers={**med, "If-Match": etag(held)},
    )
    assert r.status_code == 200, r.text
    a = (await client.get(f"{CASES}/{a['id']}", headers=med)).json()
    assert a["status"] == "resolved"
    today = DAY.date().isoformat()
    r = await client.post(
        f"{CASES}/{a['id']}/agreement/performances",
        json={"performed_on": today, "status": "partial", "amount": "500.00"},
        headers={**med, "If-Match": etag(a)},
    )
    assert r.status_code == 200, r.text
    a = r.json()
    r = await client.post(
        f"{CASES}/{a['id']}/agreement/judicial-confirmation",
        json={"requested_on": today, "court": "四平市铁西区人民法院"},
        headers={**med, "If-Match": etag(a)},
    )
    assert r.status_code == 200, r.text
    a = r.json()
    visit = {"method": "visit", "performance": "full", "satisfaction": "satisfied"}
    a = await case_action(client, med, a, "follow-ups", {**visit, "flare_up_risk": "low"})
    dispatcher = await world.headers("dispatcher")
    a = await case_action(client, dispatcher, a, "close", {})
    a = await case_action(client, dispatcher, a, "reopen", {"reason": "协议反悔"})

    # B rejected; C withdrawn; D failed; E escalated by its handler (to the district).
    b = await new_case(client, world, status="received")
    await case_action(client, dispatcher, b, "reject", {"reason": "不属于人民调解范围"})
    c = await new_case(client, world)
    await case_action(client, dispatcher, c, "withdraw", {"reason": "当事人自行和解"})
    d = await new_case(client, world, status="in_mediation")
    await case_action(client, med, d, "fail", {"referral": "litigation", "reason": "分歧较大"})
    e = await new_case(client, world)
    await case_action(client, med, e, "escalate", {"reason": "涉及多个社区"})

    # Five days on: the deadlines of A (reopened) and E (escalated) have passed.
    at(world, DAY + timedelta(days=5))
    await worker()

    events = await _events(sql)
    for _, type_, aggregate, payload in events:
        model = EVENT_MODELS[type_]
        parsed = model.model_validate(payload)
        assert parsed.dump() == payload, type_  # the model writes what was stored
        assert aggregate == model.aggregate_type, type_
    # And the body a webhook subscription gets of each is what the contract says.
    columns = "id, type, aggregate_type, aggregate_id, payload, occurred_at"
    rows = await sql(f"SELECT {columns} FROM outbox_events")
    keys = columns.split(", ")
    sent = [OutboxEvent(**dict(zip(keys, row, strict=True))) for row in rows]
    assert [e for event in sent for e in body_errors(event)] == []
    written = {t for _, t, _, _ in events}
    actions = {t for t in EVENT_MODELS if t.split(".")[0] in ("case", "session")}
    assert actions - NOT_BY_ACTIONS - written == set()  # every action was run
    assert {"session.reminder", "case.deadline_overdue"} <= written  # and the sweeps

    reached = await _reached(sql)

    def to(type_: str) -> list[set[str]]:
        return [reached.get(i, set()) for i, t, _, _ in events if t == type_]

    assert to("case.created") == [{"dispatcher"}] + [set()] * 4  # the grid head's; theirs
    assert to("case.assigned") == [{"mediator"}] * 4  # A, C, D, E: by the dispatcher
    assert to("case.transferred") == [{"mediator", "police"}]
    # By its handler, to whoever dispatches at the district (its supervisor may too).
    assert to("case.escalated") == [{"dispatcher", "supervisor"}]
    assert to("case.resolved") == [{"dispatcher"}]  # by the mediator's session outcome
    # The dispatcher arranges; the mediators are told, the police officer of his part only.
    assert to("session.scheduled") == [{"mediator"}, {"police"}, {"mediator"}]
    assert to("session.rescheduled") == [{"mediator"}]
    assert to("session.cancelled") == [{"police"}, {"mediator"}]
    assert {"mediator"} in to("session.reminder")
    for quiet in ("case.accepted", "case.updated", "case.commented", "case.party_added"):
        assert to(quiet) and all(not r for r in to(quiet)), quiet
