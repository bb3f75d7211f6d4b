"""Bounds where the domain has them (issue 19, item 5): every string and list a client sends
(JSON bodies, query and header parameters) declares its maximum, and the server enforces
the same bound (pydantic reads it from the same models)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.cases.conftest import CASES
from tests.contract import served
from tests.support.world import World

# Exact formats bound a string themselves; files are bounded by the upload limits.
BOUNDED_FORMATS = {"uuid", "date", "date-time", "binary"}


def _resolve(doc: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        _, _, section, name = node["$ref"].split("/")
        node = doc["components"][section][name]
    return node


def _unbounded(doc: dict[str, Any], node: Any, where: str, seen: set[str]) -> list[str]:
    if not isinstance(node, dict):
        return []
    if "$ref" in node:
        if node["$ref"] in seen:
            return []
        seen = {*seen, node["$ref"]}
        where, node = node["$ref"].rsplit("/", 1)[-1], _resolve(doc, node)
    kinds = node.get("type") if isinstance(node.get("type"), list) else [node.get("type")]
    out = []
    if (
        "string" in kinds
        and not {"maxLength", "enum", "const", "pattern"} & set(node)
        and node.get("format") not in BOUNDED_FORMATS
    ):
        out.append(f"{where}: string without maxLength")
    if "array" in kinds and "maxItems" not in node:
        out.append(f"{where}: array without maxItems")
    for name, prop in (node.get("properties") or {}).items():
        out += _unbounded(doc, prop, f"{where}.{name}", seen)
    for key in ("items", "additionalProperties"):
        out += _unbounded(doc, node.get(key), f"{where}[]", seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(key) or []:
            out += _unbounded(doc, sub, where, seen)
    return out


def test_every_string_and_list_a_client_sends_is_bounded() -> None:
    doc = served()
    found: list[str] = []
    for item in doc["paths"].values():
        for op in item.values():
            for param in op.get("parameters", []):
                param = _resolve(doc, param)
                where = f"{op['operationId']} {param['in']}.{param['name']}"
                found += _unbounded(doc, param.get("schema"), where, set())
            body = op.get("requestBody") or {}
            for media, content in body.get("content", {}).items():
                if media.endswith("json"):
                    found += _unbounded(doc, content.get("schema"), op["operationId"], set())
    assert not found, found


async def test_the_server_enforces_the_declared_bounds(
    client: httpx.AsyncClient, world: World
) -> None:
    h = await world.headers("dispatcher")
    r = await client.get(CASES, headers=h, params=[("status", "received")] * 51)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.status"
    r = await client.get(CASES, headers=h, params=[("status", "received")] * 50)
    assert r.status_code == 200
    r = await client.get(f"{CASES}/{uuid.uuid4()}", headers={**h, "If-None-Match": "x" * 1001})
    assert r.status_code == 422
    admin = await world.headers("system_admin")
    person = {"name": "张三", "qualifications": ["资" * 101]}
    r = await client.post("/api/v1/people", headers=admin, json=person)
    assert r.status_code == 422, r.text
    assert any(e["field"].startswith("body.qualifications") for e in r.json()["errors"])
