"""What a frontend relies on in every operation (issue 16, item 13): every time rendered at the
center's offset, lists and details alike; one shape for every timeline; an unknown query
parameter refused with 422 naming it. Generated from the app's own route table, so a new
operation is checked without a line here."""

from __future__ import annotations

import re
from typing import Any

import httpx

from mediation.auth.policy import ROLE_PERMISSIONS
from tests.contract import expand_shared, served
from tests.support.factories import FACTORIES
from tests.support.world import World
from tests.test_access_matrix import HOME, PUBLIC, ROLES, ROUTES, _fill, _permissions

ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _times(value: Any, where: str = "") -> list[tuple[str, str]]:
    """Every (path, string) in a JSON document that is a date-time."""
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in _times(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [t for i, v in enumerate(value) for t in _times(v, f"{where}.{i}")]
    if isinstance(value, str) and ISO_TIME.match(value):
        return [(where, value)]
    return []


async def test_every_time_in_every_answer_is_at_the_center_offset(
    client: httpx.AsyncClient, world: World
) -> None:
    """Each GET, as the first demo role allowed to call it, about records at that role's own
    unit: every date-time in the JSON (fields, nested lists, timeline payloads) ends in
    +08:00. Lists are read after the records exist, so their items are checked too."""
    made: dict[tuple[str, str], str] = {}
    gets = sorted(
        ((p, r) for m, p, r in ROUTES if m == "GET" and (m, p) not in PUBLIC),
        key=lambda pr: pr[0].count("{"),
        reverse=True,  # records first, then the lists that show them
    )
    checked, seen = 0, 0
    for path, route in gets:
        needed = _permissions(route)
        role = next((r for r in ROLES if needed <= ROLE_PERMISSIONS[r]), None)
        if role is None:
            continue
        ids = {}
        for param in re.findall(r"{(\w+)}", path):
            if param in FACTORIES:
                key = (param, role.value)
                if key not in made:
                    made[key] = await FACTORIES[param](world, world.unit(HOME[role]))
                ids[param] = made[key]
        r = await client.get(_fill(path, ids), headers=await world.headers(role.value))
        if not r.headers.get("content-type", "").startswith("application/json"):
            continue
        checked += 1
        for where, value in _times(r.json()):
            seen += 1
            assert value.endswith("+08:00"), (path, where, value)
    assert checked > 50 and seen > 100, (checked, seen)


async def test_an_unknown_query_parameter_is_refused_naming_it(
    client: httpx.AsyncClient, world: World
) -> None:
    """Every operation, before anything else is looked at: 422, the parameter named."""
    for method, path, _route in ROUTES:
        r = await client.request(
            method, _fill(path, {}) + "?stauts=closed&limit=5", headers={"If-Match": '"x-1"'}
        )
        if path == "/api/v1/auth/token":  # RFC 6749: an invalid_request, naming them
            assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
            assert "stauts" in r.json()["error_description"]
            continue
        if "limit" not in {p.get("name") for p in _params(path, method)}:
            assert r.status_code == 422, (method, path, r.status_code)
            assert {e["field"] for e in r.json()["errors"]} == {"query.stauts", "query.limit"}
            continue
        assert r.status_code == 422, (method, path, r.status_code)
        assert [e["field"] for e in r.json()["errors"]] == ["query.stauts"], (method, path)
        assert "`stauts`" in r.json()["detail"]


def _params(path: str, method: str) -> list[dict[str, Any]]:
    op = expand_shared(served())["paths"].get(path, {}).get(method.lower(), {})
    return list(op.get("parameters", []))


async def test_declared_query_parameters_still_work(
    client: httpx.AsyncClient, world: World
) -> None:
    """Repeated array parameters, `limit` and `cursor` are declared: they pass."""
    h = await world.headers("dispatcher")
    r = await client.get(
        "/api/v1/cases", headers=h, params=[("status", "received"), ("status", "closed")]
    )
    assert r.status_code == 200
    r = await client.get("/api/v1/cases", headers=h, params={"limit": 1, "sort": "oldest"})
    assert r.status_code == 200
    r = await client.get("/api/v1/cases", headers=h, params={"limt": 1})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.limt"


def test_every_timeline_has_one_shape() -> None:
    """Every timeline operation answers `{items, next_cursor}` and takes `limit` and
    `cursor`, like every other list."""
    doc = expand_shared(served())
    timelines = [
        (path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method == "get" and path.endswith("/timeline")
    ]
    assert len(timelines) >= 2
    for path, op in timelines:
        names = {p["name"] for p in op.get("parameters", [])}
        assert {"limit", "cursor"} <= names, path
        schema = op["responses"]["200"]["content"]["application/json"]["schema"]
        ref = schema["$ref"].rsplit("/", 1)[-1]
        assert set(doc["components"]["schemas"][ref]["required"]) == {"items", "next_cursor"}


def test_every_request_body_forbids_unknown_fields() -> None:
    """One base for input models: every object of every request body (JSON) declares
    `additionalProperties: false`, so the contract says which fields are writable."""
    doc = served()
    schemas = doc["components"]["schemas"]
    loose: set[str] = set()

    def walk(schema: dict[str, Any], seen: set[str]) -> None:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                walk(schemas[name], seen)
            return
        if schema.get("type") == "object" and "properties" in schema:
            if schema.get("additionalProperties") is not False:
                loose.add(schema.get("title", "?"))
        for key in ("properties", "$defs"):
            for sub in schema.get(key, {}).values():
                walk(sub, seen)
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                walk(schema[key], seen)
        for key in ("anyOf", "oneOf", "allOf"):
            for sub in schema.get(key, []):
                walk(sub, seen)

    for path, item in doc["paths"].items():
        for op in item.values():
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content and path != "/api/v1/auth/token":
                walk(content["application/json"]["schema"], set())
    assert not loose, sorted(loose)


async def test_an_unknown_body_field_is_refused_naming_it(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    h = await world.headers("grid_head")
    r = await client.post(
        "/api/v1/cases",
        headers=h,
        json={"title": "x", "facts": "y", "category": "neighbourhood", "stauts": "closed"},
    )
    assert r.status_code == 422
    fields = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert "Unknown field" in fields["body.stauts"]
    assert (await sql("SELECT count(*) FROM cases"))[0][0] == 0
