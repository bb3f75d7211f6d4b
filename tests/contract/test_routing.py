"""A 405 names every method the path takes, and a literal sub-path is never read as an id
(issue 19, item 8)."""

from __future__ import annotations

import httpx

from tests.support.world import World


async def test_allow_lists_every_method_of_the_path(
    client: httpx.AsyncClient, world: World
) -> None:
    h = await world.headers("system_admin")
    for method, path, allowed in (
        ("DELETE", "/api/v1/cases", {"GET", "POST", "HEAD"}),
        ("PUT", "/api/v1/cases", {"GET", "POST", "HEAD"}),
        ("POST", "/api/v1/units/00000000-0000-0000-0000-000000000000", {"GET", "PATCH", "HEAD"}),
    ):
        r = await client.request(method, path, headers=h)
        assert r.status_code == 405, (method, path, r.text)
        assert set(r.headers["allow"].split(", ")) >= allowed - {"HEAD"}, r.headers["allow"]
        assert r.headers["content-type"].startswith("application/problem+json")


async def test_a_literal_sub_path_is_not_an_id(client: httpx.AsyncClient, world: World) -> None:
    h = await world.headers("system_admin")
    for method in ("GET", "PATCH", "DELETE"):
        r = await client.request(method, "/api/v1/units/import", headers=h, json={})
        assert r.status_code == 405, (method, r.text)
        assert r.headers["allow"] == "POST", r.headers["allow"]
    # The literal route itself, and an id, still answer as before.
    r = await client.get("/api/v1/units/00000000-0000-0000-0000-000000000000", headers=h)
    assert r.status_code == 404
