"""Email over a real SMTP server, SMS through an HTTP gateway (with quiet hours), the WeCom
group robot: each against a real local peer, configured through the rules API."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from mediation.clock import CENTER_TZ
from mediation_dev.clock import MovableClock
from tests.notifications.peers import HttpPeer, SmtpPeer
from tests.notifications.test_webhooks import add_category, set_email
from tests.support.world import World

RULES = "/api/v1/notification-rules"


async def add_rule(client: httpx.AsyncClient, world: World, **body: Any) -> dict[str, Any]:
    payload = {
        "code": "reference.admins",
        "name": "参考数据变更通知",
        "event_type": "reference.item_created",
        "recipients": [{"kind": "role", "role": "system_admin", "scope": "anywhere"}],
        "channels": ["email", "sms", "wecom"],
        "exclude_actor": False,
        **body,
    }
    r = await client.post(RULES, headers=await world.headers("system_admin"), json=payload)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_email_sms_and_wecom_reach_real_peers(
    client: httpx.AsyncClient,
    world: World,
    run_worker: Any,
    http_peer: HttpPeer,
    smtp_peer: SmtpPeer,
    sql: Any,
) -> None:
    await set_email(world, "system_admin", "admin@example.gov.cn")
    await add_rule(client, world)
    await add_category(client, world, "education")
    await run_worker()
    await run_worker()

    assert len(smtp_peer.messages) == 1
    rcpts, msg = smtp_peer.messages[0]
    assert rcpts == ["admin@example.gov.cn"]
    assert msg["Subject"] == "参考数据新增：教育"
    assert "列表 dispute_category 新增条目 education（教育）" in msg.get_content()
    sms = http_peer.at("/sms")
    assert [s.json()["message"] for s in sms] == [
        "【综治中心】参考数据新增：教育：列表 dispute_category 新增条目 education（教育）。"
    ]
    wecom = http_peer.at("/wecom")
    assert len(wecom) == 1
    assert wecom[0].json() == {
        "msgtype": "markdown",
        "markdown": {
            "content": "**参考数据新增：教育**\n列表 dispute_category 新增条目 education（教育）。"
        },
    }
    rows = await sql("SELECT channel, status FROM deliveries ORDER BY channel")
    assert rows == [("email", "delivered"), ("sms", "delivered"), ("wecom", "delivered")]


async def test_a_refused_mailbox_fails_at_once_and_no_address_is_skipped(
    client: httpx.AsyncClient, world: World, run_worker: Any, smtp_peer: SmtpPeer, sql: Any
) -> None:
    await set_email(world, "system_admin", "gone@example.gov.cn")
    smtp_peer.refuse.add("gone@example.gov.cn")
    await add_rule(
        client,
        world,
        channels=["email"],
        recipients=[
            {"kind": "role", "role": "system_admin", "scope": "anywhere"},
            {"kind": "role", "role": "supervisor", "scope": "anywhere"},
        ],
    )
    await add_category(client, world, "education")
    await run_worker()
    rows = await sql("SELECT status, attempts, last_error FROM deliveries ORDER BY status")
    assert rows[0][:2] == ("failed", 1) and "550" in rows[0][2]  # permanent: no retry
    assert rows[1] == ("skipped", 0, "The person has no email.")


async def test_no_sms_at_night_unless_urgent(
    client: httpx.AsyncClient,
    world: World,
    run_worker: Any,
    deliver_due: Any,
    http_peer: HttpPeer,
    clock: MovableClock,
    sql: Any,
    emit_event: Any,
) -> None:
    night = datetime(2026, 11, 26, 23, 30, tzinfo=CENTER_TZ)
    clock.set(night)
    person = (await sql("SELECT person_id FROM users WHERE username = 'grid_head'"))[0][0]
    unit = world.unit("220302001001G01")
    base = {
        "case_id": "0193a1b2-0000-7000-8000-00000000ca5e",
        "unit_id": str(unit.id),
        "handler_person_ids": [str(person)],
    }
    await emit_event(
        "case.assigned",
        {**base, "case_number": "N-1", "risk_colour": "yellow"},
        unit_path=unit.path,
    )
    await emit_event(
        "case.assigned", {**base, "case_number": "N-2", "risk_colour": "red"}, unit_path=unit.path
    )
    await run_worker()
    sent = [s.json() for s in http_peer.at("/sms")]
    assert [(s["urgent"], "N-2" in s["message"]) for s in sent] == [(True, True)]
    held = await sql(
        "SELECT next_attempt_at, attempts FROM deliveries "
        "WHERE channel = 'sms' AND status = 'pending'"
    )
    assert held == [(datetime(2026, 11, 27, 7, 0, tzinfo=CENTER_TZ), 0)]

    clock.set(datetime(2026, 11, 27, 6, 59, tzinfo=CENTER_TZ))
    await deliver_due()
    assert len(http_peer.at("/sms")) == 1
    clock.set(datetime(2026, 11, 27, 7, 0, 30, tzinfo=CENTER_TZ))
    await deliver_due()
    assert ["N-1" in s.json()["message"] for s in http_peer.at("/sms")] == [False, True]


async def test_gateway_errors_retry_and_bad_numbers_fail(
    client: httpx.AsyncClient,
    world: World,
    run_worker: Any,
    deliver_due: Any,
    http_peer: HttpPeer,
    clock: MovableClock,
    sql: Any,
    emit_event: Any,
) -> None:
    person = (await sql("SELECT person_id FROM users WHERE username = 'grid_head'"))[0][0]
    unit = world.unit("220302001001G01")
    http_peer.answer("/sms", 503, 400)
    await emit_event(
        "case.assigned",
        {"case_number": "R-1", "handler_person_ids": [str(person)], "unit_id": str(unit.id)},
        unit_path=unit.path,
    )
    await run_worker()
    row = (
        await sql("SELECT status, attempts, last_status_code FROM deliveries WHERE channel = 'sms'")
    )[0]
    assert row == ("pending", 1, 503)
    clock.advance(timedelta(seconds=6))
    await deliver_due()
    row = (
        await sql("SELECT status, attempts, last_status_code FROM deliveries WHERE channel = 'sms'")
    )[0]
    assert row == ("failed", 2, 400)


async def test_wecom_rate_limit_is_retried(
    client: httpx.AsyncClient,
    world: World,
    run_worker: Any,
    deliver_due: Any,
    http_peer: HttpPeer,
    clock: MovableClock,
    sql: Any,
) -> None:
    await add_rule(client, world, channels=["wecom"], recipients=[])
    http_peer.answer("/wecom", 45009)
    await add_category(client, world, "education")
    await run_worker()
    assert (await sql("SELECT status, last_error FROM deliveries"))[0] == (
        "pending",
        "WeCom errcode 45009: error",
    )
    clock.advance(timedelta(seconds=6))
    await deliver_due()
    assert (await sql("SELECT status, attempts FROM deliveries"))[0] == ("delivered", 2)
