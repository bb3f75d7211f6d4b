"""Every list takes back only the cursors it issued: an edited cursor (valid base64 JSON with
wrong values), an unsigned one, or one of another list is a 422 on `query.cursor`, never a
500 and never a page of something else."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import httpx

from mediation.auth.policy import ROLE_PERMISSIONS
from tests.cases.conftest import CASES, case_body
from tests.support.factories import FACTORIES
from tests.support.world import World
from tests.test_access_matrix import HOME, ROLES, ROUTES, _fill, _permissions


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


EDITED = {"s": "newest", "r": "not-a-date", "i": "x", "d": "x", "t": "x", "o": "x", "v": "x"}
FORGED = [
    _b64(EDITED),  # the unsigned form of before
    f"{_b64(EDITED)}.{_b64({'sig': 1})}",  # signed by someone else
    f"{_b64(EDITED)}.AAAAAAAAAAAAAAAAAAAAAA",
]


async def _subscription(world: World) -> str:
    from mediation.notifications.models import WebhookSubscription

    city = world.unit("220300")
    async with world.db() as session, session.begin():
        sub = WebhookSubscription(
            name="市综治平台",
            url="https://receiver.example.gov.cn/hooks",
            secret="whsec_" + "A" * 32,
            event_types=["case.created"],
            unit_id=city.id,
            unit_path=city.path,
        )
        session.add(sub)
        await session.flush()
        return str(sub.id)


async def test_forged_cursors_are_refused_by_every_list(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    lists = [
        (path, route)
        for method, path, route in ROUTES
        if method == "GET" and any(p.name == "cursor" for p in route.dependant.query_params)
    ]
    assert len(lists) >= 15
    for path, route in lists:
        needed = _permissions(route)
        role = next(r for r in ROLES if needed <= ROLE_PERMISSIONS[r])
        headers = await world.headers(role.value)
        home = world.unit(HOME[role])
        params = re.findall(r"{(\w+)}", path)
        ids = {p: await FACTORIES[p](world, home) for p in params if p in FACTORIES}
        if "subscription_id" in ids:  # a real one: its deliveries are looked up
            ids["subscription_id"] = await _subscription(world)
        if "follow_up_id" in ids:  # the case the follow-up belongs to
            rows = await sql(
                "SELECT case_id::text FROM case_follow_ups WHERE id = :id",
                id=ids["follow_up_id"],
            )
            ids["case_id"] = rows[0][0]
        url = _fill(path, ids)
        required = {"month": "2026-10"} if path.endswith("/stats/monthly/versions") else {}
        for cursor in FORGED:
            r = await client.get(url, headers=headers, params={"cursor": cursor, **required})
            assert r.status_code == 422, (path, role, r.status_code, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            assert [e["field"] for e in r.json()["errors"]] == ["query.cursor"], (path, r.text)


async def test_a_cursor_belongs_to_its_list_and_cannot_be_edited(
    client: httpx.AsyncClient, world: World
) -> None:
    dispatcher = await world.headers("dispatcher")
    for i in range(3):
        r = await client.post(CASES, headers=dispatcher, json=case_body(world, title=f"纠纷{i}"))
        assert r.status_code == 201
    page = (await client.get(CASES, headers=dispatcher, params={"limit": 1})).json()
    cursor = page["next_cursor"]
    r = await client.get(CASES, headers=dispatcher, params={"limit": 1, "cursor": cursor})
    assert r.status_code == 200 and r.json()["items"][0]["title"] == "纠纷1"

    # The same values, edited: the signature no longer matches.
    body, signature = cursor.split(".")
    values = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    for edited in ({**values, "r": "not-a-date"}, {**values, "i": "x"}, {**values, "s": "oldest"}):
        r = await client.get(
            CASES, headers=dispatcher, params={"cursor": f"{_b64(edited)}.{signature}"}
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.cursor"
        assert r.json()["code"] == "cursor-invalid"  # the sort order too ("s")

    # Another list's cursor (the same keys, "i"), and this list's cursor on another list.
    case_id = page["items"][0]["id"]
    for i in range(3):
        r = await client.post(
            f"{CASES}/{case_id}/comments", headers=dispatcher, json={"body": f"记录{i}"}
        )
        assert r.status_code == 201
    comments = (
        await client.get(f"{CASES}/{case_id}/comments", headers=dispatcher, params={"limit": 1})
    ).json()
    timeline = f"{CASES}/{case_id}/timeline"
    r = await client.get(timeline, headers=dispatcher, params={"cursor": comments["next_cursor"]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.cursor"
    assert r.json()["code"] == "cursor-invalid"
    r = await client.get(
        f"{CASES}/{page['items'][0]['id']}/comments", headers=dispatcher, params={"cursor": cursor}
    )
    assert r.status_code == 422
