"""Integration webhooks per Standard Webhooks: subscriptions, signatures checked with the
independent `standardwebhooks` library, retries with backoff and jitter, final failure, 410,
redelivery by hand, and bad configuration refused with problem+json."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from mediation_dev.clock import MovableClock
from tests.notifications.peers import HttpPeer
from tests.support.world import World

REF = "/api/v1/reference/dispute_category"
HOOKS = "/api/v1/webhooks"


async def subscribe(
    client: httpx.AsyncClient, world: World, url: str, types: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    r = await client.post(
        HOOKS,
        headers=await world.headers("system_admin"),
        json={"name": "市综治平台", "url": url, "event_types": types or ["reference.*"], **extra},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def set_email(world: World, username: str, email: str) -> None:
    async with world.db() as s, s.begin():
        await s.execute(
            text(
                "UPDATE people SET email = :e WHERE id = "
                "(SELECT person_id FROM users WHERE username = :u)"
            ),
            {"e": email, "u": username},
        )


async def add_category(client: httpx.AsyncClient, world: World, code: str) -> None:
    r = await client.post(
        REF,
        headers=await world.headers("system_admin"),
        json={"code": code, "label_zh": "教育", "label_en": "Education"},
    )
    assert r.status_code == 201, r.text


async def test_event_reaches_the_receiver_signed_per_standard_webhooks(
    client: httpx.AsyncClient, world: World, run_worker: Any, http_peer: HttpPeer, sql: Any
) -> None:
    sub = await subscribe(client, world, http_peer.url("/hooks/a"))
    assert sub["secret"].startswith("whsec_")
    await add_category(client, world, "education")
    await run_worker()
    await run_worker()

    got = http_peer.at("/hooks/a")
    assert len(got) == 1
    payload = Webhook(sub["secret"]).verify(got[0].body, got[0].headers)  # raises if forged
    assert payload["type"] == "reference.item_created"
    assert set(payload) == {"type", "timestamp", "data"}
    assert payload["data"]["code"] == "education" and payload["data"]["label_zh"] == "教育"
    assert got[0].headers["webhook-id"].startswith("msg_")

    h = await world.headers("system_admin")
    listed = (await client.get(f"{HOOKS}/{sub['id']}/deliveries", headers=h)).json()["items"]
    assert [(d["status"], d["attempts"], d["last_status_code"]) for d in listed] == [
        ("delivered", 1, 200)
    ]
    assert listed[0]["webhook_id"] == got[0].headers["webhook-id"]
    # the secret is not shown again
    r = await client.get(f"{HOOKS}/{sub['id']}", headers=h)
    assert "secret" not in r.json()


async def test_only_subscribed_types_and_own_subtree(
    client: httpx.AsyncClient, world: World, run_worker: Any, http_peer: HttpPeer, emit_event: Any
) -> None:
    street = world.unit("220302001")
    other = world.unit("220302001002")
    await subscribe(
        client,
        world,
        http_peer.url("/hooks/cases"),
        ["case.assigned"],
        unit_id=str(world.unit("220302001001").id),
    )
    base = {
        "case_id": "0193a1b2-0000-7000-8000-00000000ca5e",
        "case_number": "X",
        "handler_person_ids": [],
    }
    await emit_event(
        "case.assigned",
        {**base, "unit_id": str(street.id)},
        unit_path=world.unit("220302001001G01").path,
    )  # inside: sent
    await emit_event(
        "case.assigned", {**base, "unit_id": str(other.id)}, unit_path=other.path
    )  # another community: not sent
    await emit_event("case.resolved", base, unit_path=world.unit("220302001001").path)
    await run_worker()
    assert len(http_peer.at("/hooks/cases")) == 1


async def test_failures_retry_on_schedule_then_fail_and_disable_and_tell_the_owner(
    client: httpx.AsyncClient,
    world: World,
    run_worker: Any,
    deliver_due: Any,
    http_peer: HttpPeer,
    clock: MovableClock,
    sql: Any,
    smtp_peer: Any,
) -> None:
    await set_email(world, "system_admin", "admin@example.gov.cn")
    sub = await subscribe(client, world, http_peer.url("/hooks/down"))
    http_peer.answer("/hooks/down", *([500] * 20))
    await add_category(client, world, "education")
    await run_worker()

    expected = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    start = clock.now()
    for i, seconds in enumerate(expected, start=1):
        row = (
            await sql(
                "SELECT status, attempts, next_attempt_at, last_attempt_at "
                "FROM deliveries WHERE channel = 'webhook'"
            )
        )[0]
        assert row[0] == "pending" and row[1] == i
        delay = (row[2] - row[3]).total_seconds()
        assert seconds * 0.9 <= delay <= seconds * 1.1, (i, delay)  # +-10 % jitter
        await deliver_due()  # not due yet: nothing happens
        assert (await sql("SELECT attempts FROM deliveries WHERE channel = 'webhook'"))[0][0] == i
        clock.advance(timedelta(seconds=seconds * 1.1 + 1))
        await deliver_due()

    assert len(http_peer.at("/hooks/down")) == 10
    row = (
        await sql("SELECT status, attempts, last_error FROM deliveries WHERE channel = 'webhook'")
    )[0]
    assert row[:2] == ("failed", 10) and "500" in row[2]
    # Days passed on the test clock; tokens are checked against real time too: back to now.
    clock.set(start)
    world._tokens.clear()
    h = await world.headers("system_admin")
    got = (await client.get(f"{HOOKS}/{sub['id']}", headers=h)).json()
    assert got["enabled"] is False and got["disabled_reason"] == "failing"
    detail = (
        await client.get(
            f"{HOOKS}/{sub['id']}/deliveries/{(await sql('SELECT id FROM deliveries'))[0][0]}",
            headers=h,
        )
    ).json()
    assert [a["outcome"] for a in detail["attempt_log"]] == ["retry"] * 9 + ["failed"]
    assert detail["body"]["type"] == "reference.item_created"

    await run_worker()  # the disabled-subscription event reaches the owner
    inbox = (await client.get("/api/v1/me/notifications", headers=h)).json()["items"]
    assert inbox[0]["title"] == "推送订阅已停用：市综治平台"
    assert any(m["Subject"] == "推送订阅已停用：市综治平台" for _, m in smtp_peer.messages)


async def test_410_disables_at_once_and_cancels_what_waits(
    client: httpx.AsyncClient, world: World, run_worker: Any, http_peer: HttpPeer, sql: Any
) -> None:
    sub = await subscribe(client, world, http_peer.url("/hooks/gone"))
    http_peer.answer("/hooks/gone", 500, 410)
    await add_category(client, world, "education")
    await run_worker()  # 500: waits for its retry
    await add_category(client, world, "sports")
    await run_worker()  # 410: the subscription goes, the waiting one is cancelled
    statuses = [
        r[0]
        for r in await sql("SELECT status FROM deliveries WHERE channel = 'webhook' ORDER BY id")
    ]
    assert statuses == ["cancelled", "failed"]
    got = (
        await client.get(f"{HOOKS}/{sub['id']}", headers=await world.headers("system_admin"))
    ).json()
    assert got["enabled"] is False and got["disabled_reason"] == "gone"
    assert len(http_peer.at("/hooks/gone")) == 2


async def test_redelivery_by_hand_sends_the_same_message_again(
    client: httpx.AsyncClient,
    world: World,
    run_worker: Any,
    deliver_due: Any,
    http_peer: HttpPeer,
    sql: Any,
) -> None:
    sub = await subscribe(client, world, http_peer.url("/hooks/r"))
    await add_category(client, world, "education")
    await run_worker()
    h = await world.headers("system_admin")
    delivery = (await client.get(f"{HOOKS}/{sub['id']}/deliveries", headers=h)).json()["items"][0]
    url = f"{HOOKS}/{sub['id']}/deliveries/{delivery['id']}/redeliver"
    r = await client.post(url, headers=h)
    assert r.status_code == 202, r.text
    assert r.json()["delivery"]["status"] == "pending"
    again = await client.post(url, headers=h)  # still pending
    assert again.status_code == 409
    await deliver_due()
    got = http_peer.at("/hooks/r")
    assert len(got) == 2 and got[0].headers["webhook-id"] == got[1].headers["webhook-id"]
    Webhook(sub["secret"]).verify(got[1].body, got[1].headers)
    detail = (
        await client.get(f"{HOOKS}/{sub['id']}/deliveries/{delivery['id']}", headers=h)
    ).json()
    assert [(a["attempt"], a["manual"], a["outcome"]) for a in detail["attempt_log"]] == [
        (1, False, "delivered"),
        (2, True, "delivered"),
    ]


async def test_ping_and_secret_rotation(
    client: httpx.AsyncClient, world: World, run_worker: Any, http_peer: HttpPeer
) -> None:
    sub = await subscribe(client, world, http_peer.url("/hooks/p"))
    await subscribe(client, world, http_peer.url("/hooks/other"), ["*"])
    h = await world.headers("system_admin")
    etag = (await client.get(f"{HOOKS}/{sub['id']}", headers=h)).headers["etag"]
    rotated = await client.post(
        f"{HOOKS}/{sub['id']}/rotate-secret", headers={**h, "If-Match": etag}
    )
    assert rotated.status_code == 200 and rotated.json()["secret"] != sub["secret"]
    r = await client.post(f"{HOOKS}/{sub['id']}/ping", headers=h)
    assert r.status_code == 202
    await run_worker()
    got = http_peer.at("/hooks/p")
    assert len(got) == 1 and http_peer.at("/hooks/other") == []  # only the pinged one
    body = Webhook(rotated.json()["secret"]).verify(got[0].body, got[0].headers)
    assert body["type"] == "webhook.ping"


async def test_rotation_keeps_the_old_secret_signing_for_the_overlap_window(
    client: httpx.AsyncClient,
    world: World,
    run_worker: Any,
    http_peer: HttpPeer,
    clock: MovableClock,
) -> None:
    sub = await subscribe(client, world, http_peer.url("/hooks/o"))
    h = await world.headers("system_admin")
    etag = (await client.get(f"{HOOKS}/{sub['id']}", headers=h)).headers["etag"]
    bad = await client.post(
        f"{HOOKS}/{sub['id']}/rotate-secret?overlap_hours=169", headers={**h, "If-Match": etag}
    )
    assert bad.status_code == 422 and "overlap_hours" in bad.text
    start = clock.now()
    rotated = await client.post(
        f"{HOOKS}/{sub['id']}/rotate-secret", headers={**h, "If-Match": etag}
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    until = datetime.fromisoformat(rotated.json()["previous_secret_expires_at"])
    assert until - start == timedelta(hours=24)  # MEDIATION_WEBHOOK_SECRET_OVERLAP_HOURS
    shown = (await client.get(f"{HOOKS}/{sub['id']}", headers=h)).json()
    assert shown["previous_secret_expires_at"] == rotated.json()["previous_secret_expires_at"]
    assert "secret" not in shown

    await client.post(f"{HOOKS}/{sub['id']}/ping", headers=h)
    await run_worker()
    (inside,) = http_peer.at("/hooks/o")
    assert len(inside.headers["webhook-signature"].split(" ")) == 2  # new first, then old
    assert Webhook(new).verify(inside.body, inside.headers)["type"] == "webhook.ping"
    assert Webhook(sub["secret"]).verify(inside.body, inside.headers)["type"] == "webhook.ping"

    await client.post(f"{HOOKS}/{sub['id']}/ping", headers=h)
    clock.advance(timedelta(hours=24, seconds=1))  # sent once the window is over
    try:
        await run_worker()
    finally:
        clock.set(start)  # tokens are checked against real time too
    after = http_peer.at("/hooks/o")[1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert Webhook(new).verify(after.body, after.headers)["type"] == "webhook.ping"
    with pytest.raises(WebhookVerificationError):
        Webhook(sub["secret"]).verify(after.body, after.headers)


async def test_rotation_without_overlap_stops_the_old_secret_at_once(
    client: httpx.AsyncClient, world: World, run_worker: Any, http_peer: HttpPeer
) -> None:
    sub = await subscribe(client, world, http_peer.url("/hooks/z"))
    h = await world.headers("system_admin")
    etag = (await client.get(f"{HOOKS}/{sub['id']}", headers=h)).headers["etag"]
    rotated = await client.post(
        f"{HOOKS}/{sub['id']}/rotate-secret?overlap_hours=0", headers={**h, "If-Match": etag}
    )
    assert rotated.status_code == 200 and rotated.json()["previous_secret_expires_at"] is None
    await client.post(f"{HOOKS}/{sub['id']}/ping", headers=h)
    await run_worker()
    (got,) = http_peer.at("/hooks/z")
    Webhook(rotated.json()["secret"]).verify(got.body, got.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(sub["secret"]).verify(got.body, got.headers)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://receiver.example.gov.cn/x", "http"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[::ffff:169.254.169.254]/", "metadata"),
        ("http://[fe80::1]/hook", "link-local"),
        ("http://100.100.100.200/latest/meta-data", "metadata"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("https://user:pw@receiver.example.gov.cn/x", "credentials"),
        ("not a url", "http"),
    ],
)
async def test_bad_urls_are_refused_when_saved(
    client: httpx.AsyncClient, world: World, sql: Any, url: str, words: str
) -> None:
    r = await client.post(
        HOOKS,
        headers=await world.headers("system_admin"),
        json={"name": "x", "url": url, "event_types": ["case.*"]},
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert words in r.json()["detail"]
    assert r.json()["errors"][0]["field"] == "body.url"
    assert (await sql("SELECT count(*) FROM webhook_subscriptions"))[0][0] == 0


async def test_unknown_event_types_are_refused(
    client: httpx.AsyncClient, world: World, http_peer: HttpPeer
) -> None:
    r = await client.post(
        HOOKS,
        headers=await world.headers("system_admin"),
        json={
            "name": "x",
            "url": http_peer.url("/hooks/x"),
            "event_types": ["case.assigned", "case.asigned"],
        },
    )
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "body.event_types.1", "message": r.json()["detail"]}]
    r = await client.post(
        HOOKS,
        headers=await world.headers("system_admin"),
        json={"name": "x", "url": http_peer.url("/hooks/x"), "event_types": ["nothing.*"]},
    )
    assert r.status_code == 422


async def test_filters_of_internal_types_only_are_refused(
    client: httpx.AsyncClient, world: World, http_peer: HttpPeer, sql: Any
) -> None:
    """Internal types go to no webhook: a filter matching only them would deliver nothing."""
    h = await world.headers("system_admin")
    url = http_peer.url("/hooks/x")
    for types, at in (
        (["hotline.*"], 0),
        (["case.*", "stats.recompute_requested"], 1),
        (["security.*"], 0),
    ):
        r = await client.post(
            HOOKS, headers=h, json={"name": "x", "url": url, "event_types": types}
        )
        assert r.status_code == 422, (types, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "event-type-internal"
        assert r.json()["errors"][0]["field"] == f"body.event_types.{at}"
    assert (await sql("SELECT count(*) FROM webhook_subscriptions"))[0][0] == 0

    sub = await subscribe(client, world, url)
    etag = (await client.get(f"{HOOKS}/{sub['id']}", headers=h)).headers["etag"]
    r = await client.patch(
        f"{HOOKS}/{sub['id']}", headers={**h, "If-Match": etag}, json={"event_types": ["hotline.*"]}
    )
    assert r.status_code == 422 and r.json()["code"] == "event-type-internal"
    kept = await client.get(f"{HOOKS}/{sub['id']}", headers=h)
    assert kept.json()["event_types"] == sub["event_types"] and kept.headers["etag"] == etag
    # `*` and a prefix that also matches types sent to webhooks stay as they were.
    for types in (["*"], ["case.*"]):
        r = await client.post(
            HOOKS, headers=h, json={"name": "y", "url": url, "event_types": types}
        )
        assert r.status_code == 201, r.text


async def test_only_webhook_managers_and_only_in_scope(
    client: httpx.AsyncClient, world: World, http_peer: HttpPeer
) -> None:
    r = await client.post(
        HOOKS,
        headers=await world.headers("dispatcher"),
        json={"name": "x", "url": http_peer.url("/hooks/x"), "event_types": ["*"]},
    )
    assert r.status_code == 403
    sub = await subscribe(client, world, http_peer.url("/hooks/x"))
    h = await world.headers("system_admin")
    etag = (await client.get(f"{HOOKS}/{sub['id']}", headers=h)).headers["etag"]
    r = await client.patch(f"{HOOKS}/{sub['id']}", headers=h, json={"enabled": False})
    assert r.status_code == 428
    r = await client.patch(
        f"{HOOKS}/{sub['id']}", headers={**h, "If-Match": etag}, json={"enabled": False}
    )
    assert r.status_code == 200 and r.json()["disabled_reason"] == "manual"
    r = await client.delete(f"{HOOKS}/{sub['id']}", headers={**h, "If-Match": etag})
    assert r.status_code == 412
    r = await client.delete(
        f"{HOOKS}/{sub['id']}", headers={**h, "If-Match": r.json()["current_etag"]}
    )
    assert r.status_code == 204


async def test_the_same_event_types_in_another_order_change_nothing(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """A subscription's event types are a set of patterns: a PATCH naming the same ones in
    another order (or one twice) keeps the version, the ETag and the order shown."""
    admin = await world.headers("system_admin")
    types = ["case.*", "session.*", "reference.item_created"]
    hook = await client.post(
        "/api/v1/webhooks",
        headers=admin,
        json={"name": "市综治平台", "url": "http://10.1.2.3/hooks", "event_types": types},
    )
    assert hook.status_code == 201, hook.text
    url = f"/api/v1/webhooks/{hook.json()['id']}"
    for same in (types[::-1], [*types, "case.*"]):
        r = await client.patch(
            url, headers={**admin, "If-Match": hook.headers["etag"]}, json={"event_types": same}
        )
        assert r.status_code == 200, r.text
        assert r.headers["etag"] == hook.headers["etag"]
        assert r.json()["event_types"] == types
    assert await sql(
        "SELECT version FROM webhook_subscriptions WHERE id = :i", i=hook.json()["id"]
    ) == [(1,)]
    # Another set is a change, in the order given.
    r = await client.patch(
        url, headers={**admin, "If-Match": hook.headers["etag"]}, json={"event_types": types[:2]}
    )
    assert r.status_code == 200, r.text
    assert r.json()["event_types"] == types[:2] and r.json()["version"] == 2
