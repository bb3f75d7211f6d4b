"""A change that changes nothing changes nothing (issue 16, item 5), in every domain: a PATCH
(or PUT) with no field, or with the values the record already has, answers 200 with the
record and the ETag the caller had; no version, no timeline entry, no event. A body field
the operation does not take is a 422 naming it; only the strong current ETag lets a change
through (item 12). Generated from the route table for every
PATCH whose record has an item GET at the same address; the rest are written out below."""

from __future__ import annotations

import re
from typing import Any

import httpx

from mediation.auth.policy import ROLE_PERMISSIONS
from tests.cases.conftest import CASES, act, case_body, person_id
from tests.contract import served
from tests.support.factories import FACTORIES
from tests.support.world import World
from tests.test_access_matrix import HOME, ROLES, ROUTES, _fill, _permissions

TRACES = (
    "SELECT (SELECT count(*) FROM outbox_events), (SELECT count(*) FROM case_events), "
    "(SELECT count(*) FROM session_events), (SELECT count(*) FROM hotline_call_events)"
)


def _same_values(path: str, record: dict[str, Any]) -> dict[str, Any]:
    """The body fields of the PATCH at `path` that the read shows as plain values (masked
    personal data left out: it is not the stored value)."""
    op = served()["paths"][path]["patch"]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    name = schema["$ref"].rsplit("/", 1)[-1]
    fields = served()["components"]["schemas"][name]["properties"]
    return {
        k: v
        for k, v in record.items()
        if k in fields
        and v is not None
        and isinstance(v, str | int | float | bool)
        and not (isinstance(v, str) and "*" in v)
    }


async def _check_no_op(
    client: httpx.AsyncClient,
    sql: Any,
    method: str,
    url: str,
    headers: dict[str, str],
    etag: str,
    body: dict[str, Any],
) -> httpx.Response:
    before = await sql(TRACES)
    r = await client.request(method, url, headers={**headers, "If-Match": etag}, json=body)
    assert r.status_code == 200, (url, body, r.text)
    assert r.headers["etag"] == etag, (url, body)
    assert await sql(TRACES) == before, (url, body)
    return r


async def test_every_patch_of_nothing_changes_nothing(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    reads = {p for m, p, _ in ROUTES if m == "GET"}
    checked = []
    for method, path, route in ROUTES:
        if method != "PATCH" or path not in reads or not re.search(r"{\w+}$", path):
            continue
        needed = _permissions(route)
        for role in ROLES:
            if not needed <= ROLE_PERMISSIONS[role]:
                continue
            h = await world.headers(role.value)
            ids = {
                p: await FACTORIES[p](world, world.unit(HOME[role]))
                for p in re.findall(r"{(\w+)}", path)
                if p in FACTORIES
            }
            url = _fill(path, ids)
            read = await client.get(url, headers=h)
            if read.status_code != 200:
                continue
            etag = read.headers["etag"]
            empty = await client.patch(url, headers={**h, "If-Match": etag}, json={})
            if empty.status_code == 403:
                continue  # a rule of the record (not the caller's call, say): another role
            same = _same_values(path, read.json())
            if empty.status_code == 422:  # required fields: send them as they are
                empty = await _check_no_op(client, sql, "PATCH", url, h, etag, same)
            else:
                assert empty.status_code == 200, (path, role.value, empty.text)
                assert empty.headers["etag"] == etag, path
                await _check_no_op(client, sql, "PATCH", url, h, etag, same)
            # Only the strong current ETag protects a change (item 12): `*` and a weak tag
            # are refused as missing preconditions.
            for loose, status in (("*", 428), (f"W/{etag}", 428), (f'W/{etag}, "x-1"', 412)):
                r = await client.patch(url, headers={**h, "If-Match": loose}, json=same)
                assert r.status_code == status, (path, loose, r.status_code)
            unknown = await client.patch(
                url, headers={**h, "If-Match": etag}, json={**same, "stauts": "closed"}
            )
            assert unknown.status_code == 422, (path, unknown.text)
            assert [e["field"] for e in unknown.json()["errors"]] == ["body.stauts"]
            assert (await client.get(url, headers=h)).headers["etag"] == etag, path
            checked.append(path)
            break
    assert len(checked) >= 12, checked


async def test_a_case_patch_with_read_only_or_same_fields_changes_nothing(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """The acceptance run's instance: `{"status": "closed"}` answered 200, bumped the version
    and wrote `updated` with `changed: []`."""
    h = await world.headers("dispatcher")
    created = await client.post(CASES, headers=h, json=case_body(world))
    case, etag = created.json(), created.headers["etag"]
    url = f"{CASES}/{case['id']}"
    before = await sql(TRACES)
    r = await client.patch(url, headers={**h, "If-Match": etag}, json={"status": "closed"})
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["body.status"]
    same = {
        "title": case["title"],
        "category": case["category"],
        "risk_colour": case["risk_colour"],
        "amount_involved": "3000",  # the same amount as 3000.00
        "prevention": case["prevention"],
    }
    r = await _check_no_op(client, sql, "PATCH", url, h, etag, same)
    assert r.json()["version"] == case["version"]
    assert await sql(TRACES) == before
    # One real change among the same values: one version, one entry naming only it.
    r = await client.patch(
        url, headers={**h, "If-Match": etag}, json={**same, "risk_colour": "orange"}
    )
    assert r.status_code == 200 and r.json()["version"] == case["version"] + 1
    last = (await client.get(f"{url}/timeline", headers=h)).json()["items"][-1]
    assert last["type"] == "updated" and last["data"]["changed"] == ["risk_colour"]


async def test_a_party_patch_with_its_own_values_changes_nothing(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    h = await world.headers("dispatcher")
    created = await client.post(CASES, headers=h, json=case_body(world))
    case, etag = created.json(), created.headers["etag"]
    party = case["parties"][0]
    await _check_no_op(
        client,
        sql,
        "PATCH",
        f"{CASES}/{case['id']}/parties/{party['id']}",
        h,
        etag,
        {"name": "张三", "phone": "13900001111", "side": party["side"]},
    )


async def test_configuration_put_again_changes_nothing(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """A deadline rule, a notification template and a notification rule given what they
    already say."""
    admin = await world.headers("system_admin")
    url = "/api/v1/deadline-rules/mediation/simple"
    rules = (await client.get("/api/v1/deadline-rules", headers=admin)).json()
    rule = next(r for r in rules if (r["stage"], r["complexity"]) == ("mediation", "simple"))
    first = await client.put(
        url,
        headers={**admin, "If-Match": f'"mediation:simple-{rule["version"]}"'},
        json={"unit": rule["unit"], "amount": rule["amount"] + 1},
    )
    assert first.status_code == 200
    body = {"unit": rule["unit"], "amount": rule["amount"] + 1}
    await _check_no_op(client, sql, "PUT", url, admin, first.headers["etag"], body)

    url = "/api/v1/notification-templates/case.assigned/inbox"
    read = await client.get(url, headers=admin)
    text = {"subject": read.json()["subject"], "body": read.json()["body"]}
    r = await _check_no_op(client, sql, "PUT", url, admin, read.headers["etag"], text)
    assert r.json()["source"] == "builtin"  # nothing stored

    rules_list = (await client.get("/api/v1/notification-rules", headers=admin)).json()["items"]
    code = rules_list[0]["code"]
    url = f"/api/v1/notification-rules/{code}"
    read = await client.get(url, headers=admin)
    same = {"enabled": read.json()["enabled"], "urgent": read.json()["urgent"]}
    r = await _check_no_op(client, sql, "PATCH", url, admin, read.headers["etag"], same)
    assert r.json()["customised"] is False


async def test_a_calendar_year_loaded_again_as_it_is_changes_nothing(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """The official schedule the year already holds, from the same source: no event (the
    webhooks' `calendar.year_loaded`), no audit entry, no recomputation, the same ETag. A
    new source is a change."""
    admin = await world.headers("system_admin")
    url = "/api/v1/calendar/2026"
    read = await client.get(url, headers=admin)
    year = read.json()
    body = {k: year[k] for k in ("holidays", "working_weekends")}
    first = await client.put(
        url,
        headers={**admin, "If-Match": read.headers["etag"]},
        json={**body, "source": "国办发明电〔2025〕7号"},
    )
    assert first.status_code == 200 and first.json()["source"] == "国办发明电〔2025〕7号"
    audit = "SELECT count(*) FROM audit_events WHERE action NOT LIKE 'read.%'"
    before = await sql(audit)
    for _ in range(2):
        r = await _check_no_op(
            client,
            sql,
            "PUT",
            url,
            admin,
            first.headers["etag"],
            {**body, "source": "国办发明电〔2025〕7号"},
        )
        assert r.json()["recomputed_cases"] == 0
    assert await sql(audit) == before
    assert (await client.get(url, headers=admin)).json() == {**first.json()}


async def test_accounts_and_webhooks_given_what_they_have_change_nothing(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    admin = await world.headers("system_admin")
    hook = await client.post(
        "/api/v1/webhooks",
        headers=admin,
        json={"name": "市综治平台", "url": "http://10.1.2.3/hooks", "event_types": ["case.*"]},
    )
    assert hook.status_code == 201, hook.text
    url = f"/api/v1/webhooks/{hook.json()['id']}"
    same = {"name": "市综治平台", "enabled": True, "event_types": ["case.*"]}
    await _check_no_op(client, sql, "PATCH", url, admin, hook.headers["etag"], same)

    person = await FACTORIES["person_id"](world, world.unit(HOME[ROLES[0]]))
    security = await world.headers("security_admin")
    user = await client.post(
        "/api/v1/users",
        headers=security,
        json={"username": "noop.user", "person_id": person, "password": "a-long-password-1"},
    )
    assert user.status_code == 201, user.text
    url = f"/api/v1/users/{user.json()['id']}"
    await _check_no_op(client, sql, "PATCH", url, security, user.headers["etag"], {"active": True})


async def test_an_action_that_changes_nothing_changes_nothing(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """A transfer to the people handling the case now, as they handle it."""
    h = await world.headers("dispatcher")
    case = (await client.post(CASES, headers=h, json=case_body(world))).json()
    case = await act(client, h, case, "accept")
    handlers = [{"person_id": str(await person_id(world, "mediator")), "channel": "people"}]
    case = await act(client, h, case, "assign", {"handlers": handlers})
    url = f"{CASES}/{case['id']}/transfer"
    etag = f'"{case["id"]}-{case["version"]}"'
    body = {"handlers": handlers, "reason": "重新确认"}
    r = await _check_no_op(client, sql, "POST", url, h, etag, body)
    assert r.json()["handlers"][0]["assumed_at"] == case["handlers"][0]["assumed_at"]
