"""Notification rules and templates as data: listed with the built-in ones, changed with ETags,
checked against the event catalogue at configuration time (problem+json, nothing stored), and
applied by the worker."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.notifications.test_channels import add_rule
from tests.notifications.test_webhooks import add_category
from tests.support.pages import walk
from tests.support.world import World

RULES = "/api/v1/notification-rules"
TEMPLATES = "/api/v1/notification-templates"


async def test_rules_list_the_built_in_ones_and_need_the_permission(
    client: httpx.AsyncClient, world: World
) -> None:
    h = await world.headers("system_admin")
    codes = [r["code"] for r in await walk(client, RULES, h, 7)]
    assert "case.assigned.handlers" in codes and codes == sorted(codes)
    one = (await client.get(RULES, headers=h, params={"event_type": "case.escalated"})).json()
    assert one["items"][0]["recipients"] == [
        {"kind": "payload_people", "field": "target_dispatcher_person_ids"},
        {"kind": "role", "role": "dispatcher", "scope": "nearest", "unit_field": "target_unit_id"},
    ]
    assert (await client.get(RULES, headers=await world.headers("dispatcher"))).status_code == 403
    types = (
        await client.get(
            "/api/v1/notification-event-types", headers=await world.headers("dispatcher")
        )
    ).json()
    assigned = next(t for t in types if t["type"] == "case.assigned")
    assert "handler_person_ids" in assigned["person_fields"]
    assert "case_number" in assigned["variables"]
    # Each type's sample names that type (the case.created one once said case.assigned).
    created = next(t for t in types if t["type"] == "case.created")
    assert created["variables"]["event_type"] == "case.created"
    assert created["variables"]["event_label"] == "纠纷登记"


async def test_templates_list_pages_through_every_template_once(
    client: httpx.AsyncClient, world: World
) -> None:
    h = await world.headers("system_admin")
    everything = await walk(client, TEMPLATES, h, 200)
    paged = await walk(client, TEMPLATES, h, 3)
    keys = [(t["event_type"], t["channel"]) for t in paged]
    assert len(keys) == len(set(keys)) == len(everything)
    assert set(keys) == {(t["event_type"], t["channel"]) for t in everything}


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"event_type": "case.asigned"}, "body.event_type", "not an event type"),
        (
            {"recipients": [{"kind": "payload_people", "field": "party_ids"}]},
            "body.recipients.0.field",
            "not `party_ids`",
        ),
        (
            {"recipients": [{"kind": "role", "role": "dispatcher", "scope": "parent"}]},
            "body.recipients.0.scope",
            "only scope `anywhere`",
        ),
        ({"payload_match": {"colour": ["red"]}}, "body.payload_match.colour", "no payload field"),
        ({"channels": ["webhook"]}, "body.channels.0", "subscriptions"),
        ({"recipients": []}, "body.recipients", "at least one recipient"),
    ],
)
async def test_bad_rules_are_refused(
    client: httpx.AsyncClient, world: World, sql: Any, body: dict[str, Any], field: str, words: str
) -> None:
    payload = {
        "code": "x.rule",
        "name": "x",
        "event_type": "reference.item_created",
        "recipients": [{"kind": "role", "role": "system_admin", "scope": "anywhere"}],
        "channels": ["inbox"],
        **body,
    }
    r = await client.post(RULES, headers=await world.headers("system_admin"), json=payload)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    errors = r.json()["errors"]
    assert any(e["field"] == field and words in e["message"] for e in errors), errors
    assert (await sql("SELECT count(*) FROM notification_rules"))[0][0] == 0


async def test_unknown_role_and_selector_kind_are_validation_errors(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.post(
        RULES,
        headers=await world.headers("system_admin"),
        json={
            "code": "x.rule",
            "name": "x",
            "event_type": "case.assigned",
            "channels": ["inbox"],
            "recipients": [{"kind": "role", "role": "mayor"}, {"kind": "everyone"}],
        },
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert any(f.startswith("body.recipients.0") for f in fields)
    assert any(f.startswith("body.recipients.1") for f in fields)


async def test_a_built_in_rule_is_disabled_and_reverted(
    client: httpx.AsyncClient, world: World, run_worker: Any, emit_event: Any, sql: Any
) -> None:
    h = await world.headers("system_admin")
    url = f"{RULES}/case.assigned.handlers"
    r = await client.get(url, headers=h)
    assert r.json()["version"] == 0 and r.json()["customised"] is False
    r = await client.patch(
        url, headers={**h, "If-Match": r.headers["etag"]}, json={"enabled": False}
    )
    assert r.status_code == 200, r.text
    assert r.json()["customised"] is True and r.json()["version"] == 1
    person = (await sql("SELECT person_id FROM users WHERE username = 'grid_head'"))[0][0]
    unit = world.unit("220302001001G01")
    payload = {"case_number": "A-1", "handler_person_ids": [str(person)], "unit_id": str(unit.id)}
    await emit_event("case.assigned", payload, unit_path=unit.path)
    await run_worker()
    assert (await sql("SELECT count(*) FROM notifications"))[0][0] == 0

    r = await client.delete(url, headers={**h, "If-Match": r.headers["etag"]})
    assert r.status_code == 204
    r = await client.delete(url, headers={**h, "If-Match": '"case.assigned.handlers-0"'})
    assert r.status_code == 409 and r.json()["code"] == "built-in-rule"  # it cannot go
    await emit_event("case.assigned", {**payload, "case_number": "A-2"}, unit_path=unit.path)
    await run_worker()
    assert (await sql("SELECT title FROM notifications"))[0][0] == "新分派纠纷：A-2"


async def test_rules_by_role_reach_the_next_level_up(
    client: httpx.AsyncClient, world: World, run_worker: Any, emit_event: Any, sql: Any
) -> None:
    community = world.unit("220302001001")
    street = world.unit("220302001")
    await emit_event(
        "case.escalated",
        {
            "case_number": "E-1",
            "unit_id": str(community.id),
            "target_unit_id": str(street.id),
            "target_unit_name": "北沟街道",
            "target_dispatcher_person_ids": [],
            "handler_person_ids": [],
        },
        unit_path=community.path,
    )
    await run_worker()
    # No dispatcher at the street: the nearest one above it (the district's) is told.
    rows = await sql(
        "SELECT u.username, n.title FROM notifications n JOIN users u ON u.id = n.user_id"
    )
    assert rows == [("dispatcher", "纠纷上报：E-1")]


async def test_payload_match_and_wecom_for_red_cases(
    client: httpx.AsyncClient,
    world: World,
    run_worker: Any,
    emit_event: Any,
    sql: Any,
    http_peer: Any,
) -> None:
    unit = world.unit("220302001001G01")
    for colour in ("yellow", "red"):
        await emit_event(
            "case.created",
            {
                "case_number": f"{colour}-1",
                "title": "t",
                "risk_colour": colour,
                "unit_id": str(unit.id),
            },
            unit_path=unit.path,
        )
    await run_worker()
    wecom = [r.json()["markdown"]["content"] for r in http_peer.at("/wecom")]
    assert len(wecom) == 1 and "red-1" in wecom[0] and "红色风险" in wecom[0]
    rows = await sql(
        "SELECT u.username, n.title, n.urgent FROM notifications n JOIN users u "
        "ON u.id = n.user_id ORDER BY n.title, u.username"
    )
    assert rows == [
        ("dispatcher", "新登记纠纷：red-1", True),
        ("supervisor", "新登记纠纷：red-1", True),
        ("dispatcher", "新登记纠纷：yellow-1", False),
    ]


async def test_templates_are_checked_when_saved(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    h = await world.headers("system_admin")
    url = f"{TEMPLATES}/case.assigned/sms"
    r = await client.get(url, headers=h)
    assert r.json()["source"] == "builtin"
    etag = r.headers["etag"]
    bad = await client.put(
        url, headers={**h, "If-Match": etag}, json={"body": "{{ case_number }} {{ case_numbre }}"}
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "case_numbre" in bad.json()["errors"][0]["message"]
    syntax = await client.put(
        url, headers={**h, "If-Match": etag}, json={"body": "{{ case_number "}
    )
    assert syntax.status_code == 422 and "syntax" in syntax.json()["errors"][0]["message"]
    attr = await client.put(
        url, headers={**h, "If-Match": etag}, json={"body": "{{ case_number.__class__.__mro__ }}"}
    )
    assert attr.status_code == 422  # the sandbox refuses it at configuration time
    long = await client.put(url, headers={**h, "If-Match": etag}, json={"body": "{{ title }}" * 60})
    assert long.status_code == 422 and "longer" in long.json()["errors"][0]["message"]
    no_match = await client.put(url, json={"body": "x"}, headers=h)
    assert no_match.status_code == 428
    unknown = await client.put(
        f"{TEMPLATES}/case.nothing/sms", headers={**h, "If-Match": etag}, json={"body": "x"}
    )
    assert unknown.status_code == 422
    assert (await sql("SELECT count(*) FROM notification_templates"))[0][0] == 0

    preview = await client.post(
        f"{TEMPLATES}/preview",
        headers=h,
        json={
            "event_type": "case.assigned",
            "channel": "sms",
            "body": "{{ recipient_name }}：{{ case_number }}，{{ occurred_at|local }}",
        },
    )
    assert preview.json() == {
        "subject": "",
        "body": "孙网格：铁西调〔2026〕0123号，2026-11-26 10:00",
    }
    # Webhooks send the event itself and have no template: a 422 naming the channel (was a
    # KeyError, a 500), in the preview as on the template's own address.
    webhook = await client.post(
        f"{TEMPLATES}/preview",
        headers=h,
        json={"event_type": "case.assigned", "channel": "webhook", "body": "x"},
    )
    assert webhook.status_code == 422
    assert webhook.json()["errors"][0]["field"] == "body.channel"
    r = await client.get(f"{TEMPLATES}/case.assigned/webhook", headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "path.channel"


async def test_a_stored_template_is_used_and_deleted(
    client: httpx.AsyncClient,
    world: World,
    run_worker: Any,
    emit_event: Any,
    sql: Any,
    http_peer: Any,
) -> None:
    h = await world.headers("system_admin")
    url = f"{TEMPLATES}/case.assigned/sms"
    etag = (await client.get(url, headers=h)).headers["etag"]
    r = await client.put(
        url,
        headers={**h, "If-Match": etag},
        json={"body": "请办理{{ case_number }}（{{ title }}）"},
    )
    assert r.status_code == 200 and r.json()["source"] == "stored"
    person = (await sql("SELECT person_id FROM users WHERE username = 'grid_head'"))[0][0]
    unit = world.unit("220302001001G01")
    await emit_event(
        "case.assigned",
        {"case_number": "T-1", "handler_person_ids": [str(person)], "unit_id": str(unit.id)},
        unit_path=unit.path,
    )
    await run_worker()
    # an assignment carries no title (only reminders do): an empty string, not a failure
    assert [m.json()["message"] for m in http_peer.at("/sms")] == ["【综治中心】请办理T-1（）"]
    r = await client.delete(url, headers={**h, "If-Match": r.headers["etag"]})
    assert r.status_code == 204
    assert (await client.get(url, headers=h)).json()["source"] == "builtin"


async def test_custom_rule_with_fixed_people(
    client: httpx.AsyncClient, world: World, run_worker: Any, sql: Any
) -> None:
    person = (await sql("SELECT person_id FROM users WHERE username = 'police'"))[0][0]
    await add_rule(
        client,
        world,
        channels=["inbox"],
        recipients=[{"kind": "people", "person_ids": [str(person)]}],
    )
    await add_category(client, world, "education")
    await run_worker()
    rows = await sql(
        "SELECT u.username FROM notifications n JOIN users u ON u.id = n.user_id "
        "WHERE n.type = 'reference.item_created' ORDER BY 1"
    )
    assert ("police",) in rows


async def test_a_rule_given_its_sets_in_another_order_is_not_changed(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """Channels and recipients are sets: naming the same ones in another order changes
    nothing (a built-in rule stays built-in, with version 0 and its ETag; nothing stored)."""
    h = await world.headers("system_admin")
    url = f"{RULES}/case.escalated.dispatchers"
    r = await client.get(url, headers=h)
    assert r.status_code == 200, r.text
    rule = r.json()
    assert len(rule["channels"]) > 1 and len(rule["recipients"]) > 1, rule
    for same in ({"channels": rule["channels"][::-1]}, {"recipients": rule["recipients"][::-1]}):
        r = await client.patch(url, headers={**h, "If-Match": r.headers["etag"]}, json=same)
        assert r.status_code == 200, r.text
        assert r.json()["customised"] is False and r.json()["version"] == 0
        assert r.json()["channels"] == rule["channels"]
        assert r.json()["recipients"] == rule["recipients"]
    assert await sql("SELECT count(*) FROM notification_rules") == [(0,)]
    # The values a payload field may hold are a set too.
    url = f"{RULES}/case.created.red"
    r = await client.get(url, headers=h)
    match = {"risk_colour": ["orange", "red"]}
    r = await client.patch(
        url, headers={**h, "If-Match": r.headers["etag"]}, json={"payload_match": match}
    )
    assert r.status_code == 200 and r.json()["version"] == 1, r.text
    same = {"payload_match": {"risk_colour": ["red", "orange"]}}
    r = await client.patch(url, headers={**h, "If-Match": r.headers["etag"]}, json=same)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1 and r.json()["payload_match"] == match
