"""Idempotency-Key on create and actions; external_ref makes another system's repeat one case."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx

from mediation.clock import CENTER_TZ
from tests.cases.conftest import CASES, OTHER_GRID, advance, case_body
from tests.support.world import World


async def test_same_key_replays_other_body_is_rejected(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    h = {**await world.headers("grid_head"), "Idempotency-Key": "intake-0001"}
    first = await client.post(CASES, headers=h, json=case_body(world))
    assert first.status_code == 201
    again = await client.post(CASES, headers=h, json=case_body(world))
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["etag"] == first.headers["etag"]
    assert (await sql("SELECT count(*) FROM cases"))[0][0] == 1

    other = await client.post(CASES, headers=h, json=case_body(world, title="另一件纠纷"))
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert other.json()["code"] == "idempotency-key-reused"
    # Another caller's identical key is its own.
    mine = await client.post(
        CASES,
        json=case_body(world),
        headers={**await world.headers("dispatcher"), "Idempotency-Key": "intake-0001"},
    )
    assert mine.status_code == 201
    assert (await sql("SELECT count(*) FROM cases"))[0][0] == 2


async def test_key_in_progress_is_409_and_failed_request_frees_it(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    h = await world.headers("grid_head")
    user_id = (await sql("SELECT id FROM users WHERE username = 'grid_head'"))[0][0]
    now = world.clock.now()
    async with world.db() as session, session.begin():
        from mediation.idempotency import IdempotencyKey

        session.add(
            IdempotencyKey(
                owner=f"user:{user_id}",
                key="busy",
                method="POST",
                path=CASES,
                request_hash="x" * 64,
                state="in_progress",
                headers={},
                created_at=now,
                locked_at=now,
                expires_at=now + timedelta(hours=24),
            )
        )
    r = await client.post(CASES, headers={**h, "Idempotency-Key": "busy"}, json=case_body(world))
    assert r.status_code == 422  # another body under a key in use
    # A request that fails (unknown category) releases its key: a corrected retry works.
    bad = await client.post(
        CASES, headers={**h, "Idempotency-Key": "k2"}, json=case_body(world, category="astrology")
    )
    assert bad.status_code == 422
    assert (await sql("SELECT count(*) FROM idempotency_keys WHERE key = 'k2'"))[0][0] == 0
    good = await client.post(CASES, headers={**h, "Idempotency-Key": "k2"}, json=case_body(world))
    assert good.status_code == 201
    row = (await sql("SELECT state, expires_at FROM idempotency_keys WHERE key = 'k2'"))[0]
    assert row[0] == "completed"
    assert row[1].astimezone(CENTER_TZ) == world.clock.now() + timedelta(hours=24)


async def test_same_body_in_progress_is_409(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    h = {**await world.headers("grid_head"), "Idempotency-Key": "slow"}
    first = await client.post(CASES, headers=h, json=case_body(world))
    assert first.status_code == 201
    # Pretend the first request is still running: the stored row goes back to in progress.
    await _exec(
        world, "UPDATE idempotency_keys SET state = 'in_progress', body = NULL WHERE key = 'slow'"
    )
    r = await client.post(CASES, headers=h, json=case_body(world))
    assert r.status_code == 409 and r.json()["code"] == "idempotency-key-in-progress"
    assert r.headers["retry-after"] == "1"


async def test_a_claim_left_by_a_dead_process_is_taken_over_after_30_seconds(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    # The process that claimed the key was killed mid-request (nothing committed): its
    # client's retry waits 409 at most half a minute, not two (the HA drill's lanes).
    h = await world.headers("grid_head")
    # A finished request's row turned into a dead one's claim: the same hash as the retry's.
    probe = await client.post(
        CASES, headers={**h, "Idempotency-Key": "probe"}, json=case_body(world)
    )
    assert probe.status_code == 201
    await _exec(
        world,
        "UPDATE idempotency_keys SET key = 'orphan', state = 'in_progress', body = NULL"
        " WHERE key = 'probe'",
    )
    h = {**h, "Idempotency-Key": "orphan"}
    assert (await client.post(CASES, headers=h, json=case_body(world))).status_code == 409
    advance(world, timedelta(seconds=31))
    retry = await client.post(CASES, headers=h, json=case_body(world))
    assert retry.status_code == 201 and "idempotent-replayed" not in retry.headers
    assert retry.json()["id"] != probe.json()["id"]
    assert (await sql("SELECT count(*) FROM cases"))[0][0] == 2  # the probe's and the retry's
    again = await client.post(CASES, headers=h, json=case_body(world))
    assert again.headers["idempotent-replayed"] == "true" and again.json() == retry.json()


async def test_a_request_whose_claim_was_taken_over_does_not_commit(
    client: httpx.AsyncClient, world: World, sql: Any, monkeypatch: Any
) -> None:
    # A request slower than STALE_AFTER: a retry took its claim over meanwhile. Of the two,
    # only the retry's change may commit; the slow one answers 409 and changes nothing.
    from mediation_api.idempotency import IdempotencyGuard

    respond = IdempotencyGuard.respond

    async def overtaken(self: IdempotencyGuard, *args: Any, **kwargs: Any) -> Any:
        await _exec(
            world,
            "UPDATE idempotency_keys SET locked_at = locked_at + interval '31 seconds'"
            " WHERE key = 'slow-one'",
        )
        return await respond(self, *args, **kwargs)

    monkeypatch.setattr(IdempotencyGuard, "respond", overtaken)
    h = {**await world.headers("grid_head"), "Idempotency-Key": "slow-one"}
    r = await client.post(CASES, headers=h, json=case_body(world))
    assert r.status_code == 409 and r.json()["code"] == "idempotency-key-in-progress"
    assert (await sql("SELECT count(*) FROM cases"))[0][0] == 0
    assert (await sql("SELECT count(*) FROM outbox_events"))[0][0] == 0
    # The claim is the newer request's still: the slow one's failure did not release it.
    assert await sql("SELECT state FROM idempotency_keys WHERE key = 'slow-one'") == [
        ("in_progress",)
    ]


async def _exec(world: World, statement: str) -> None:
    from sqlalchemy import text

    async with world.db() as session, session.begin():
        await session.execute(text(statement))


async def test_action_replay_returns_the_stored_answer(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    case = (
        await client.post(CASES, headers=await world.headers("grid_head"), json=case_body(world))
    ).json()
    h = {
        **await world.headers("dispatcher"),
        "If-Match": f'"{case["id"]}-1"',
        "Idempotency-Key": "accept-1",
    }
    first = await client.post(f"{CASES}/{case['id']}/accept", json={"note": "受理"}, headers=h)
    assert first.status_code == 200
    # The same request again (If-Match now stale) is the same answer, not a 412 or 409.
    second = await client.post(f"{CASES}/{case['id']}/accept", json={"note": "受理"}, headers=h)
    assert second.status_code == 200 and second.json() == first.json()
    assert (await sql("SELECT count(*) FROM case_events WHERE type = 'accepted'"))[0][0] == 1


async def test_external_ref_gives_one_case_per_client(
    client: httpx.AsyncClient, world: World, sql: Any, integration_client: dict[str, str]
) -> None:
    body = case_body(world, source="police_referral", external_ref="110-20261126-0042")
    first = await client.post(CASES, headers=integration_client, json=body)
    assert first.status_code == 201, first.text
    assert first.json()["intake_mode"] == "referral"
    assert first.json()["reported_by"]["name"] == "police-110"
    assert first.json()["pii_masked"] is True  # clients are not granted personal data
    again = await client.post(CASES, headers=integration_client, json=body)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert (await sql("SELECT count(*) FROM cases"))[0][0] == 1
    timeline = await client.get(
        f"{CASES}/{first.json()['id']}/timeline", headers=await world.headers("dispatcher")
    )
    actor = timeline.json()["items"][0]["actor"]
    assert actor["kind"] == "client" and actor["client_id"] == "police-110"


async def test_the_worker_purges_keys_past_their_24_hours(
    client: httpx.AsyncClient, world: World, sql: Any, run_worker: Any, settings: Any
) -> None:
    from arq import create_pool
    from arq.connections import RedisSettings

    async def purge() -> None:
        pool = await create_pool(
            RedisSettings.from_dsn(settings.redis_url), default_queue_name=settings.arq_queue
        )
        try:
            await pool.enqueue_job("purge_idempotency_keys")
        finally:
            await pool.aclose()
        assert await run_worker(relay=False) == 1

    async def keys() -> list[str]:
        return [r[0] for r in await sql("SELECT key FROM idempotency_keys ORDER BY key")]

    h = await world.headers("grid_head")
    r = await client.post(CASES, headers={**h, "Idempotency-Key": "old"}, json=case_body(world))
    assert r.status_code == 201
    advance(world, timedelta(hours=20))
    h = await world.headers("grid_head")
    body = case_body(world, title="另一件纠纷")
    r = await client.post(CASES, headers={**h, "Idempotency-Key": "new"}, json=body)
    assert r.status_code == 201

    advance(world, timedelta(hours=3, minutes=59))  # "old" is 23:59 old: kept
    await purge()
    assert await keys() == ["new", "old"]

    advance(world, timedelta(minutes=2))  # 24:01: gone, the younger key stays
    await purge()
    assert await keys() == ["new"]
    assert (await sql("SELECT count(*) FROM cases"))[0][0] == 2


def test_the_purge_is_scheduled_hourly() -> None:
    from mediation_worker.main import build_settings

    jobs = {c.name: c for c in build_settings().cron_jobs}
    assert jobs["cron:purge_idempotency_keys"].minute == {23}
    assert jobs["cron:purge_idempotency_keys"].hour is None


async def test_concurrent_retries_of_a_failing_request_never_500(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """The retry loop of docs/integration.md, eight at once: a request that fails (here a
    place outside the caller's jurisdiction) releases its key while the others claim, read
    and release it. Each answer is the request's own failure or a clear 409, never a 500."""
    import asyncio
    from collections import Counter

    h = await world.headers("grid_head")
    body = case_body(world, unit_id=str(world.unit(OTHER_GRID).id))
    seen: Counter[int] = Counter()
    for round_ in range(30):
        key = {"Idempotency-Key": f"retry-{round_}"}
        answers = await asyncio.gather(
            *(client.post(CASES, headers={**h, **key}, json=body) for _ in range(8))
        )
        for r in answers:
            seen[r.status_code] += 1
            assert r.headers["content-type"] == "application/problem+json", r.text
            if r.status_code == 409:
                assert r.headers["retry-after"] == "1"
    assert set(seen) <= {409, 422}, seen
    assert seen[422] >= 30  # every round, at least one got as far as the request's failure
    # Nothing kept: no case, and every key released for the next retry.
    assert await sql("SELECT count(*) FROM cases") == [(0,)]
    assert await sql("SELECT count(*) FROM idempotency_keys") == [(0,)]


async def test_concurrent_retries_of_a_succeeding_request_make_one_case(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    import asyncio

    h = {**await world.headers("grid_head"), "Idempotency-Key": "intake-burst"}
    answers = await asyncio.gather(
        *(client.post(CASES, headers=h, json=case_body(world)) for _ in range(8))
    )
    created = [r for r in answers if r.status_code == 201]
    assert {r.status_code for r in answers} <= {201, 409}
    assert len({r.json()["id"] for r in created}) == 1
    assert await sql("SELECT count(*) FROM cases") == [(1,)]


async def test_comment_and_party_changes_replay_their_stored_answers(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """A comment (201, no ETag), a party's change and its removal (the case's ETag) repeated
    with their Idempotency-Key answer what they answered the first time and change nothing."""
    grid = await world.headers("grid_head")
    case = (await client.post(CASES, headers=grid, json=case_body(world))).json()
    comment = {**grid, "Idempotency-Key": "comment-1"}
    url = f"{CASES}/{case['id']}/comments"
    first = await client.post(url, headers=comment, json={"body": "已电话联系申请人"})
    again = await client.post(url, headers=comment, json={"body": "已电话联系申请人"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and "etag" not in again.headers
    assert "location" not in again.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert (await sql("SELECT count(*) FROM case_events WHERE type = 'commented'"))[0][0] == 1

    dispatcher = await world.headers("dispatcher")
    respondent = case["parties"][1]["id"]
    party = f"{CASES}/{case['id']}/parties/{respondent}"
    h = {**dispatcher, "If-Match": f'"{case["id"]}-1"', "Idempotency-Key": "party-1"}
    first = await client.patch(party, headers=h, json={"phone": "13900003333"})
    assert first.status_code == 200, first.text
    assert first.headers["etag"] == f'"{case["id"]}-2"'
    # The If-Match is stale now: the replay is the stored answer, not a 412.
    again = await client.patch(party, headers=h, json={"phone": "13900003333"})
    assert again.status_code == 200 and again.json() == first.json()
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"

    h = {**dispatcher, "If-Match": f'"{case["id"]}-2"', "Idempotency-Key": "party-2"}
    first = await client.delete(party, headers=h)
    assert first.status_code == 200, first.text
    assert [p["id"] for p in first.json()["parties"]] == [case["parties"][0]["id"]]
    again = await client.delete(party, headers=h)
    assert again.status_code == 200 and again.json() == first.json()
    assert again.headers["etag"] == first.headers["etag"] == f'"{case["id"]}-3"'
    assert again.headers["idempotent-replayed"] == "true"
    version = await sql("SELECT version FROM cases WHERE id = :id", id=uuid.UUID(case["id"]))
    assert version[0][0] == 3


async def test_an_external_ref_repeat_replays_its_200_with_the_location(
    client: httpx.AsyncClient, world: World, integration_client: dict[str, str]
) -> None:
    body = case_body(world, source="police_referral", external_ref="110-20261126-0043")
    first = await client.post(CASES, headers=integration_client, json=body)
    assert first.status_code == 201
    h = {**integration_client, "Idempotency-Key": "repeat-1"}
    repeat = await client.post(CASES, headers=h, json=body)
    again = await client.post(CASES, headers=h, json=body)
    assert (repeat.status_code, again.status_code) == (200, 200)
    assert again.json() == repeat.json() and again.json()["id"] == first.json()["id"]
    assert again.headers["location"] == repeat.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == repeat.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"
