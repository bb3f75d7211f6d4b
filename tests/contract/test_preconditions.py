"""Preconditions that protect (issue 16, item 12): a change needs the strong current ETag.
`If-Match: *` matches whatever is there and a weak tag says "roughly this version": either
would let a client overwrite a change it never saw. Every PATCH is checked in
test_no_op_changes; here the rule in full on a case action and a hotline call."""

from __future__ import annotations

from typing import Any

import httpx

from tests.cases.conftest import CASES, case_body
from tests.hotline.conftest import CALLS, call_body
from tests.support.world import World


async def test_only_the_strong_current_etag_lets_a_change_through(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    h = await world.headers("dispatcher")
    created = await client.post(CASES, headers=h, json=case_body(world))
    case, etag = created.json(), created.headers["etag"]
    url = f"{CASES}/{case['id']}/accept"
    for if_match, status in (
        (None, 428),
        ("", 428),
        ("*", 428),
        (f"W/{etag}", 428),
        (f'"{case["id"]}-0"', 412),  # strong but stale: says which one is current
        (etag.strip('"'), 412),  # not quoted: not the tag
    ):
        headers = h if if_match is None else {**h, "If-Match": if_match}
        r = await client.post(url, headers=headers, json={})
        assert r.status_code == status, (if_match, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        if status == 412:
            assert r.json()["current_etag"] == etag
    assert (await sql("SELECT status, version FROM cases")) == [("received", 1)]
    # One of several tags (RFC 9110 lists) is enough when it is the current one.
    r = await client.post(url, headers={**h, "If-Match": f'"x-1", {etag}'}, json={})
    assert r.status_code == 200 and r.json()["status"] == "accepted"


async def test_the_rule_holds_for_a_hotline_call_too(
    client: httpx.AsyncClient, world: World
) -> None:
    h = await world.headers("counselor")
    created = await client.post(CALLS, headers=h, json=call_body())
    url = f"{CALLS}/{created.json()['id']}"
    for loose in ("*", f"W/{created.headers['etag']}"):
        r = await client.patch(url, headers={**h, "If-Match": loose}, json={"summary": "改"})
        assert r.status_code == 428, r.text
    assert (await client.get(url, headers=h)).json()["version"] == 1
