"""If-None-Match on reads by id: the ETag a client holds answers 304 without a body while it
is current, the record once it changed; the record must still be readable by the caller."""

from __future__ import annotations

import httpx

from tests.support.factories import make_activity, make_case
from tests.support.world import World

DISTRICT = "220302"  # the dispatcher's unit in the demo district


async def test_a_current_etag_is_a_304_and_a_stale_one_the_case(
    client: httpx.AsyncClient, world: World
) -> None:
    h = await world.headers("dispatcher")
    case_id = await make_case(world, world.unit(DISTRICT))
    first = await client.get(f"/api/v1/cases/{case_id}", headers=h)
    assert first.status_code == 200, first.text
    etag = first.headers["etag"]
    again = await client.get(f"/api/v1/cases/{case_id}", headers={**h, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    # A list naming the current tag matches; the weak form of it too (weak comparison).
    listed = await client.get(
        f"/api/v1/cases/{case_id}", headers={**h, "If-None-Match": f'"other", W/{etag}'}
    )
    assert listed.status_code == 304
    stale = await client.get(f"/api/v1/cases/{case_id}", headers={**h, "If-None-Match": '"old"'})
    assert stale.status_code == 200 and stale.json()["id"] == case_id


async def test_a_304_never_hides_a_404(client: httpx.AsyncClient, world: World) -> None:
    h = await world.headers("dispatcher")
    r = await client.get(
        "/api/v1/cases/0190f0f0-0000-7000-8000-000000000000",
        headers={**h, "If-None-Match": "*"},
    )
    assert r.status_code == 404


async def test_reads_through_read_route_answer_304_too(
    client: httpx.AsyncClient, world: World
) -> None:
    h = await world.headers("dispatcher")
    activity_id = await make_activity(world, world.unit(DISTRICT))
    first = await client.get(f"/api/v1/outreach/activities/{activity_id}", headers=h)
    assert first.status_code == 200, first.text
    r = await client.get(
        f"/api/v1/outreach/activities/{activity_id}",
        headers={**h, "If-None-Match": first.headers["etag"]},
    )
    assert r.status_code == 304 and r.content == b""


def test_the_contract_declares_if_none_match_and_304() -> None:
    from mediation_api.main import create_app
    from tests.contract import expand_shared

    doc = expand_shared(create_app().openapi())
    for path in ("/api/v1/cases/{case_id}", "/api/v1/outreach/activities/{activity_id}"):
        op = doc["paths"][path]["get"]
        assert "304" in op["responses"], path
        names = {p.get("name") for p in op.get("parameters", [])}
        assert "If-None-Match" in names, path
