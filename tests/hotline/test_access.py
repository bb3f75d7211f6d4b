"""The access matrix of every hotline route for every demo role. Outside the workstation's
counselors and supervisors nobody learns that a call (or a shift) exists: lists answer 403,
anything about one record answers 404 exactly as for an id that does not exist."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.hotline.conftest import (
    ALL_ROLES,
    CALLS,
    HIGH_RISK,
    HOTLINE_ROLES,
    SHIFTS,
    call_body,
    person_of,
)
from tests.support.world import World

NOW = "/api/v1/hotline/duty/now"
COVERAGE = "/api/v1/hotline/duty/coverage"


@pytest.fixture
async def records(client: httpx.AsyncClient, world: World) -> dict[str, str]:
    call = await client.post(
        CALLS, headers=await world.headers("counselor"), json=call_body(**HIGH_RISK)
    )
    assert call.status_code == 201
    shift = await client.post(
        SHIFTS,
        headers=await world.headers("hotline_supervisor"),
        json={
            "person_id": str(await person_of(world, "hotline_supervisor")),
            "duty_role": "supervisor",
            "starts_at": "2026-11-26T08:00:00+08:00",
            "ends_at": "2026-11-26T20:00:00+08:00",
        },
    )
    assert shift.status_code == 201
    return {"call": call.json()["id"], "shift": shift.json()["id"]}


def _requests(call: str, shift: str, person: str, unit: str) -> list[tuple[str, str, str, Any]]:
    """(name, method, path, json body) for every hotline route."""
    return [
        ("calls-list", "GET", CALLS, None),
        ("calls-list-same-caller", "GET", f"{CALLS}?same_caller_as={call}", None),
        ("calls-create", "POST", CALLS, call_body()),
        ("calls-get", "GET", f"{CALLS}/{call}", None),
        ("calls-update", "PATCH", f"{CALLS}/{call}", {"follow_up_note": "回访"}),
        ("calls-acknowledge", "POST", f"{CALLS}/{call}/acknowledge", {"note": "收到"}),
        (
            "calls-review",
            "POST",
            f"{CALLS}/{call}/review",
            {"outcome": "appropriate", "comment": "好"},
        ),
        ("calls-timeline", "GET", f"{CALLS}/{call}/timeline", None),
        (
            "calls-open-case",
            "POST",
            f"{CALLS}/{call}/open-case",
            {
                "title": "婚姻家庭纠纷",
                "facts": "夫妻争执。",
                "category": "marriage_family",
                "unit_id": unit,
                "parties": [{"kind": "person", "side": "applicant", "name": "王女士"}],
            },
        ),
        ("duty-list", "GET", SHIFTS, None),
        (
            "duty-create",
            "POST",
            SHIFTS,
            {
                "person_id": person,
                "duty_role": "supervisor",
                "starts_at": "2026-11-27T08:00:00+08:00",
                "ends_at": "2026-11-27T20:00:00+08:00",
            },
        ),
        ("duty-get", "GET", f"{SHIFTS}/{shift}", None),
        ("duty-update", "PATCH", f"{SHIFTS}/{shift}", {"note": "改"}),
        ("duty-now", "GET", NOW, None),
        ("duty-coverage", "GET", COVERAGE, None),
        ("duty-delete", "DELETE", f"{SHIFTS}/{shift}", None),
    ]


EXPECTED: dict[str, dict[str, int]] = {
    "counselor": {
        "calls-list": 200,
        "calls-list-same-caller": 200,
        "calls-create": 201,
        "calls-get": 200,
        "calls-update": 200,
        "calls-acknowledge": 403,
        "calls-review": 403,
        "calls-timeline": 200,
        "calls-open-case": 201,
        "duty-list": 200,
        "duty-create": 403,
        "duty-get": 200,
        "duty-update": 403,
        "duty-now": 200,
        "duty-coverage": 200,
        "duty-delete": 403,
    },
    "hotline_supervisor": {
        "calls-list": 200,
        "calls-list-same-caller": 200,
        "calls-create": 201,
        "calls-get": 200,
        "calls-update": 200,
        "calls-acknowledge": 200,
        "calls-review": 200,
        "calls-timeline": 200,
        "calls-open-case": 201,
        "duty-list": 200,
        "duty-create": 201,
        "duty-get": 200,
        "duty-update": 200,
        "duty-now": 200,
        "duty-coverage": 200,
        "duty-delete": 204,
    },
}
# Everyone else: no list for you (403); no such record (404).
OUTSIDER = {
    "calls-list": 403,
    "calls-list-same-caller": 403,
    "calls-create": 403,
    "calls-get": 404,
    "calls-update": 404,
    "calls-acknowledge": 404,
    "calls-review": 404,
    "calls-timeline": 404,
    "calls-open-case": 404,
    "duty-list": 403,
    "duty-create": 403,
    "duty-get": 404,
    "duty-update": 404,
    "duty-now": 403,
    "duty-coverage": 403,
    "duty-delete": 404,
}


async def _if_match(sql: Any, path: str) -> dict[str, str]:
    """`If-Match` with the current ETag of the call or shift `path` names (none for lists)."""
    for prefix, table in ((CALLS, "hotline_calls"), (SHIFTS, "hotline_duty_shifts")):
        rest = path.removeprefix(prefix + "/").split("?")[0].split("/")[0]
        if path.startswith(prefix + "/") and len(rest) == 36:
            rows = await sql(f"SELECT version FROM {table} WHERE id = CAST(:i AS uuid)", i=rest)
            if rows:
                return {"If-Match": f'"{rest}-{rows[0][0]}"'}
    return {}


def _shape(r: httpx.Response) -> tuple[int, str, str, str | None]:
    body = r.json()
    return r.status_code, body["type"], body["title"], body["detail"]


@pytest.mark.parametrize("role", ALL_ROLES)
async def test_access_matrix(
    client: httpx.AsyncClient, world: World, sql: Any, records: dict[str, str], role: str
) -> None:
    h = await world.headers(role)
    person = str(await person_of(world, "hotline_supervisor"))
    expected = EXPECTED.get(role, OUTSIDER)
    before = await sql("SELECT id, version FROM hotline_calls")
    got = {}
    unit = str(world.unit("220302001002G01").id)
    for name, method, path, body in _requests(records["call"], records["shift"], person, unit):
        # Changes carry the record's current strong ETag, so what answers is the access rule.
        r = await client.request(
            method, path, headers={**h, **await _if_match(sql, path)}, json=body
        )
        got[name] = r.status_code
        if r.status_code >= 400:
            assert r.headers["content-type"].startswith("application/problem+json"), name
    assert got == expected

    if role in HOTLINE_ROLES:
        return
    # an outsider's 404 for a real call is the 404 for an id that never existed
    ghost = str(uuid.uuid4())
    for real, fake in (
        (f"{CALLS}/{records['call']}", f"{CALLS}/{ghost}"),
        (f"{CALLS}/{records['call']}/timeline", f"{CALLS}/{ghost}/timeline"),
        (f"{SHIFTS}/{records['shift']}", f"{SHIFTS}/{ghost}"),
    ):
        assert _shape(await client.get(real, headers=h)) == _shape(
            await client.get(fake, headers=h)
        )
    # and nothing changed or was read in their name
    assert await sql("SELECT id, version FROM hotline_calls") == before
    assert await sql("SELECT count(*) FROM hotline_duty_shifts") == [(1,)]
    assert await sql(
        "SELECT count(*) FROM access_log WHERE record_type = 'hotline_call' "
        "AND actor_name <> '褚咨询'"
    ) == [(0,)]


async def test_insiders_get_the_same_404_for_unknown_and_hidden_calls(
    client: httpx.AsyncClient, world: World, other_counselor: str, records: dict[str, str]
) -> None:
    h = await world.headers(other_counselor)
    ghost = await client.get(f"{CALLS}/{uuid.uuid4()}", headers=h)
    hidden = await client.get(f"{CALLS}/{records['call']}", headers=h)
    assert _shape(ghost) == _shape(hidden)
    assert _shape(ghost) == _shape(
        await client.get(f"{CALLS}/{uuid.uuid4()}", headers=await world.headers("dispatcher"))
    )
    assert (await client.get(f"{SHIFTS}/{records['shift']}", headers=h)).status_code == 404
    assert (await client.get(SHIFTS, headers=h)).json()["items"] == []


async def test_signed_out_callers_get_401(
    client: httpx.AsyncClient, records: dict[str, str]
) -> None:
    for path in (CALLS, f"{CALLS}/{records['call']}", SHIFTS, NOW):
        r = await client.get(path)
        assert r.status_code == 401


def test_every_hotline_route_declares_its_permission() -> None:
    """Each route carries a permission dependency the access matrix tooling can read."""
    from fastapi.routing import APIRoute

    from mediation_api.hotline.router import router

    for route in router.routes:
        assert isinstance(route, APIRoute)
        perms = {getattr(d.call, "permission", None) for d in route.dependant.dependencies}
        assert perms - {None}, route.path
