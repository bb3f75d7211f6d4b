"""Every problem carries a stable, machine-readable `code` the contract lists, and the base of
problem `type` URIs is configurable (issue 19, item 8)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from mediation.settings import Settings
from mediation_dev.clock import MovableClock
from tests.cases.conftest import CASES, case_body
from tests.contract import served
from tests.support.world import World

BASE = "https://zz.example.cn/docs/problems/"


def _codes() -> set[str]:
    return set(served()["components"]["schemas"]["Problem"]["properties"]["code"]["enum"])


def _problem(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code and code in _codes(), body
    assert body["type"].endswith("/" + code), body


async def test_each_kind_of_problem_has_its_code(client: httpx.AsyncClient, world: World) -> None:
    h = await world.headers("dispatcher")
    _problem(await client.get(f"{CASES}/{uuid.uuid4()}", headers=h), 404, "not-found")
    _problem(await client.delete(CASES, headers=h), 405, "method-not-allowed")
    _problem(await client.get(CASES, headers=h, params={"stauts": "x"}), 422, "validation")
    r = await client.post(CASES, headers={**h, "Content-Type": "application/json"}, content=b"{")
    _problem(r, 400, "malformed-body")
    _problem(await client.get(CASES), 401, "unauthorized")
    # A business rule: people do not send an integration client's reference.
    r = await client.post(CASES, headers=h, json={**case_body(world), "external_ref": "X-1"})
    _problem(r, 422, "external-ref-not-for-people")
    created = await client.post(CASES, headers=h, json=case_body(world))
    url = f"{CASES}/{created.json()['id']}/accept"
    _problem(await client.post(url, headers=h, json={}), 428, "precondition-required")


def test_the_contract_lists_every_code_with_its_meaning() -> None:
    code = served()["components"]["schemas"]["Problem"]["properties"]["code"]
    assert "code" in served()["components"]["schemas"]["Problem"]["required"]
    for value in code["enum"]:
        assert f"- `{value}`: " in code["description"], value


@pytest.fixture
async def based_client(settings: Settings, clock: MovableClock) -> AsyncIterator[httpx.AsyncClient]:
    from mediation_api.main import create_app

    application = create_app(settings.model_copy(update={"problem_base_uri": BASE}), clock)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def test_the_problem_base_is_configurable(based_client: httpx.AsyncClient) -> None:
    r = await based_client.get(CASES)
    assert r.status_code == 401
    assert r.json()["type"] == BASE + "unauthorized" and r.json()["code"] == "unauthorized"
    r = await based_client.request("PATCH", "/api/v1/units/import")
    assert r.json()["type"] == BASE + "method-not-allowed"


def test_the_integration_guide_lists_every_code() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "integration.md").read_text()
    missing = [c for c in sorted(_codes()) if f"| `{c}` |" not in guide]
    assert not missing, missing
