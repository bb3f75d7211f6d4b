"""Ordinary client input never causes a 500: text PostgreSQL cannot hold (NUL, unpaired
surrogates) anywhere a client types it, numbers beyond what the database holds; and the one
ERROR line of an unhandled error carries the request id the 500 body asks callers to quote."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from mediation.logs import JsonFormatter
from mediation.settings import Settings
from mediation_dev.clock import MovableClock
from tests.casefiles.conftest import mediating_case, pdf_bytes, upload
from tests.cases.conftest import CASES, case_body
from tests.support.world import World
from tests.test_access_matrix import ROLES, ROUTES, _permissions

PROBLEM = "application/problem+json"
COUNTS = (
    "SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM attachments), "
    "(SELECT count(*) FROM outbox_events), (SELECT count(*) FROM idempotency_keys)"
)


def _refused(r: httpx.Response, field: str) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    assert "NUL" in r.json()["detail"]
    assert [e["field"] for e in r.json()["errors"]] == [field]


async def test_nul_in_every_text_query_parameter_is_a_422(
    client: httpx.AsyncClient, world: World
) -> None:
    """`GET /cases?q=a%00b` was a CharacterNotInRepertoireError on the read pool: a 500."""
    from mediation.auth.policy import ROLE_PERMISSIONS

    checked = 0
    for method, path, route in ROUTES:
        if method != "GET" or "{" in path:
            continue
        texts = [
            p for p in route.dependant.query_params if p.field_info.annotation in (str, str | None)
        ]
        if not texts:
            continue
        needed = _permissions(route)
        role = next((r for r in ROLES if needed <= ROLE_PERMISSIONS[r]), None)
        headers = await world.headers(role.value) if needed and role else {}
        for param in texts:
            name = param.alias or param.name
            r = await client.get(path, headers=headers, params={name: "a\x00b"})
            _refused(r, f"query.{name}")
            checked += 1
    assert checked >= 5
    r = await client.get(CASES, headers=await world.headers("dispatcher"), params={"q": "a\x00b"})
    _refused(r, "query.q")


async def test_nul_and_lone_surrogates_in_bodies_paths_and_forms_change_nothing(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    dispatcher = await world.headers("dispatcher")
    case = await mediating_case(client, world)
    before = await sql(COUNTS)
    # JSON: the field that holds it, at any depth, under any Idempotency-Key.
    body = case_body(world)
    body["parties"][1]["name"] = "李\u0000四"
    r = await client.post(CASES, headers={**dispatcher, "Idempotency-Key": "nul-1"}, json=body)
    _refused(r, "body.parties.1.name")
    raw = json.dumps(case_body(world, title="漏水\ud800纠纷"))  # an unpaired surrogate escape
    r = await client.post(
        CASES, headers={**dispatcher, "Content-Type": "application/json"}, content=raw
    )
    _refused(r, "body.title")
    # A NUL in a key.
    r = await client.post(CASES, headers=dispatcher, json={**case_body(world), "a\x00": 1})
    assert r.status_code == 422
    # The path, a form (the token request) and an upload's fields.
    r = await client.get("/api/v1/reference/dispute_category/a%00b", headers=dispatcher)
    _refused(r, "path")
    r = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "dis\x00patcher", "password": "x"},
    )
    # The token endpoint answers as RFC 6749 has it: an invalid_request, no problem document.
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
    assert "NUL" in r.json()["error_description"]
    r = await upload(client, dispatcher, f"cases/{case['id']}", pdf_bytes(), title="报价\x00单")
    _refused(r, "body.title")
    # CSV for the unit import.
    r = await client.post(
        "/api/v1/units/import",
        headers={**await world.headers("system_admin"), "Content-Type": "text/csv"},
        content="code,name,level,parent_code\n220302001009,新\x00社区,community,220302001\n",
    )
    _refused(r, "body")
    assert await sql(COUNTS) == before
    # A properly paired surrogate (an emoji, sent escaped) is text like any other.
    raw = json.dumps(case_body(world, title="漏水😀纠纷"))
    assert "\\ud83d\\ude00" in raw
    r = await client.post(
        CASES, headers={**dispatcher, "Content-Type": "application/json"}, content=raw
    )
    assert r.status_code == 201 and r.json()["title"] == "漏水😀纠纷", r.text


async def test_integers_beyond_what_the_database_holds_are_a_422(
    client: httpx.AsyncClient, world: World
) -> None:
    sup = await world.headers("supervisor")
    for path in ("", "/export.csv", "/export.xlsx"):
        r = await client.get(
            f"/api/v1/stats/monthly{path}",
            headers=sup,
            params={"month": "2025-08", "version": 2147483648},
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.version"
    r = await client.post(
        f"{CASES}",
        headers=sup,
        json=case_body(world, amount_involved="1000000000000.00"),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.amount_involved"


@pytest.fixture
async def boom_client(settings: Settings, clock: MovableClock) -> AsyncIterator[httpx.AsyncClient]:
    """The app with one extra route that fails like a bug would (nothing else changed)."""
    from mediation_api.main import create_app

    app = create_app(settings, clock)

    async def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/v1/boom", boom, methods=["GET"])
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)  # an exception escaping the app fails here
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def test_an_unhandled_error_is_one_error_line_with_the_request_id(
    boom_client: httpx.AsyncClient,
) -> None:
    # The service's own log output: JSON lines, as `configure_logging` writes them.
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        r = await boom_client.get("/api/v1/boom", headers={"X-Request-Id": "quote-me-1"})
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert r.status_code == 500 and r.headers["content-type"] == PROBLEM
    assert r.json()["request_id"] == "quote-me-1" == r.headers["x-request-id"]
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    errors = [line for line in lines if line["level"] == "ERROR"]
    assert len(errors) == 1, errors
    assert errors[0]["request_id"] == "quote-me-1"
    assert "RuntimeError: a bug" in errors[0]["exc"]
    assert re.search(r"unhandled error on GET /api/v1/boom", errors[0]["msg"])
    # The access line says 500, under the same id.
    access = [line for line in lines if line.get("status") == 500]
    assert [line["request_id"] for line in access] == ["quote-me-1"]


async def test_a_misspelt_reference_code_in_a_filter_is_a_422_not_an_empty_list(
    client: httpx.AsyncClient, world: World
) -> None:
    dispatcher = await world.headers("dispatcher")
    for path, name, headers, good in (
        (CASES, "category", dispatcher, "neighbourhood"),
        ("/api/v1/opinions", "category", dispatcher, "policy_consultation"),
        ("/api/v1/hotline/calls", "topic", await world.headers("counselor"), None),
    ):
        r = await client.get(path, headers=headers, params={name: "neighbourhod"})
        assert r.status_code == 422, (path, r.text)
        assert r.json()["errors"][0]["field"] == f"query.{name}"
        assert "neighbourhod" in r.json()["detail"]
        if good:
            assert (await client.get(path, headers=headers, params={name: good})).status_code == 200


async def test_a_number_is_not_a_date(client: httpx.AsyncClient, world: World, sql: Any) -> None:
    """Pydantic reads a number (or a numeric string) as a Unix time: `held_to=3e-100` was
    1 January 1970 and a filter that answered 200 (found by the long fuzz run); in a body,
    `"occurred_at": 1700000000` a date of November 2023. Dates and times are written out."""
    dispatcher = await world.headers("dispatcher")
    for path, name in (
        ("/api/v1/outreach/activities", "held_to"),
        ("/api/v1/duty-rota", "date_from"),
        ("/api/v1/access-log", "until"),
        (CASES, "received_from"),
    ):
        headers = await world.headers("audit_admin") if "access-log" in path else dispatcher
        for value in ("3.0468725229558835e-100", "1700000000", "-2"):
            r = await client.get(path, headers=headers, params={name: value})
            assert r.status_code == 422, (path, value, r.text)
            assert r.json()["errors"][0]["field"] == f"query.{name}"
    r = await client.get(
        "/api/v1/outreach/activities", headers=dispatcher, params={"held_to": "2026-11-26"}
    )
    assert r.status_code == 200
    before = await sql("SELECT count(*) FROM cases")
    for value in (1700000000, 1.5, "1700000000"):
        r = await client.post(CASES, headers=dispatcher, json=case_body(world, occurred_at=value))
        assert r.status_code == 422, (value, r.text)
        assert r.json()["errors"][0]["field"] == "body.occurred_at"
    # Nested: the agreement's dates inside a resolution.
    case = await mediating_case(client, world)
    r = await client.post(
        f"{CASES}/{case['id']}/resolve",
        headers={**dispatcher, "If-Match": f'"{case["id"]}-{case["version"]}"'},
        json={"agreement": {"form": "oral", "terms": "x", "performance_due_on": 20261203}},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body.agreement.performance_due_on"
    assert await sql("SELECT count(*) FROM cases") == [(before[0][0] + 1,)]
