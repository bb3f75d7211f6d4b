"""GET /cases?external_ref=: an integration client finds the case it registered under its own
reference (never another client's); staff find any client's; a malformed one is a 422."""

from __future__ import annotations

import httpx

from tests.cases.conftest import CASES, case_body
from tests.support.world import World


async def test_a_client_finds_its_case_by_its_reference(
    client: httpx.AsyncClient, world: World, integration_client: dict[str, str]
) -> None:
    ids = {}
    for ref in ("110-20261126-0001", "110-20261126-0002"):
        body = case_body(world, source="police_referral", external_ref=ref)
        r = await client.post(CASES, headers=integration_client, json=body)
        assert r.status_code == 201, r.text
        ids[ref] = r.json()["id"]
    staff_case = await client.post(
        CASES, headers=await world.headers("dispatcher"), json=case_body(world)
    )
    assert staff_case.status_code == 201, staff_case.text

    found = await client.get(
        CASES, params={"external_ref": "110-20261126-0002"}, headers=integration_client
    )
    assert found.status_code == 200, found.text
    assert [c["id"] for c in found.json()["items"]] == [ids["110-20261126-0002"]]

    staff = await client.get(
        CASES,
        params={"external_ref": "110-20261126-0001"},
        headers=await world.headers("dispatcher"),
    )
    assert [c["id"] for c in staff.json()["items"]] == [ids["110-20261126-0001"]]

    none = await client.get(CASES, params={"external_ref": "nope"}, headers=integration_client)
    assert none.status_code == 200 and none.json()["items"] == []


async def test_a_malformed_reference_is_a_422_naming_it(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.get(
        CASES, params={"external_ref": "has space"}, headers=await world.headers("dispatcher")
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "query.external_ref"
