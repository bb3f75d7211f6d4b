"""Work is done once however many workers run: relays claim rows with SKIP LOCKED, a job that
runs twice sends nothing more, two workers never send one delivery twice, a lost job is
relayed again under a new id."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import select, text

from mediation.jobs import event_job_id
from mediation.outbox.models import OutboxEvent
from mediation_worker.notifications.deliver import deliver_many, due_ids
from mediation_worker.notifications.fanout import fan_out
from mediation_worker.notifications.runtime import runtime
from mediation_worker.outbox.dispatch import process_event
from mediation_worker.outbox.relay import relay_once, sweep_outbox
from tests.notifications.peers import HttpPeer
from tests.notifications.test_webhooks import subscribe
from tests.support.world import World


async def fan_out_only(db: Any, ctx: dict[str, Any]) -> None:
    """Every event fanned out into deliveries and marked processed, nothing sent."""
    c = ctx["mediation"]
    async with db() as session, session.begin():
        for event in (await session.scalars(select(OutboxEvent))).all():
            await fan_out(session, event, c.settings, c.clock.now())
            event.processed_at = c.clock.now()


async def test_two_relays_enqueue_each_event_once(
    world: World, worker_ctx: Any, emit_event: Any, sql: Any, settings: Any
) -> None:
    for n in range(300):
        await emit_event("reference.item_updated", {"kind": "k", "code": f"c{n}", "label_zh": "x"})
    a, b = await worker_ctx(), await worker_ctx()
    counts = await asyncio.gather(
        relay_once(a["mediation"]), relay_once(b["mediation"]), relay_once(a["mediation"])
    )
    assert sum(counts) == 300
    queued = await a["redis"].zcard(settings.arq_queue)
    assert queued == 300
    assert (await sql("SELECT count(*) FROM outbox_events WHERE relay_attempts = 1"))[0][0] == 300


async def test_a_job_that_runs_twice_sends_once(
    client: httpx.AsyncClient,
    world: World,
    worker_ctx: Any,
    emit_event: Any,
    sql: Any,
    http_peer: HttpPeer,
) -> None:
    await subscribe(client, world, http_peer.url("/hooks/twice"))
    event_id = await emit_event(
        "reference.item_created", {"kind": "k", "code": "c", "label_zh": "x"}
    )
    a, b = await worker_ctx(), await worker_ctx()
    results = await asyncio.gather(process_event(a, str(event_id)), process_event(b, str(event_id)))
    assert sorted(results) == ["already processed", "processed"]
    assert await process_event(a, str(event_id)) == "already processed"
    assert len(http_peer.at("/hooks/twice")) == 1
    assert (await sql("SELECT count(*) FROM deliveries"))[0][0] == 1


async def test_two_workers_sending_the_same_deliveries_send_each_once(
    client: httpx.AsyncClient,
    world: World,
    worker_ctx: Any,
    emit_event: Any,
    sql: Any,
    http_peer: HttpPeer,
    db: Any,
) -> None:
    await subscribe(client, world, http_peer.url("/hooks/race"))
    http_peer.delay = 0.05  # slow receiver: the sends overlap
    a, b = await worker_ctx(), await worker_ctx()
    for n in range(40):
        await emit_event("reference.item_created", {"kind": "k", "code": f"c{n}", "label_zh": "x"})
    # Fan out only (as if the workers died right after), then two delivery passes race.
    await fan_out_only(db, a)
    ids = await due_ids(a["mediation"])
    assert len(ids) == 40
    await asyncio.gather(
        deliver_many(a["mediation"], runtime(a), ids),
        deliver_many(b["mediation"], runtime(b), list(reversed(ids))),
    )
    got = http_peer.at("/hooks/race")
    assert len(got) == 40 == len({r.headers["webhook-id"] for r in got})
    assert (
        await sql("SELECT count(*) FROM deliveries WHERE status = 'delivered' AND attempts = 1")
    )[0][0] == 40


async def test_a_lost_job_is_relayed_again(
    client: httpx.AsyncClient,
    world: World,
    worker_ctx: Any,
    emit_event: Any,
    sql: Any,
    http_peer: HttpPeer,
    run_worker: Any,
    settings: Any,
) -> None:
    await subscribe(client, world, http_peer.url("/hooks/lost"))
    event_id = await emit_event(
        "reference.item_created", {"kind": "k", "code": "c", "label_zh": "x"}
    )
    ctx = await worker_ctx()
    assert await relay_once(ctx["mediation"]) == 1
    # Redis loses the job (a flushed or failed-over Redis; a worker killed mid-job keeps it
    # "in progress" for the job timeout): the row says relayed, nobody processes it.
    await ctx["redis"].delete(f"arq:job:{event_job_id(event_id)}")
    await ctx["redis"].zrem(settings.arq_queue, event_job_id(event_id))
    async with world.db() as s, s.begin():
        await s.execute(text("UPDATE outbox_events SET relayed_at = now() - interval '5 min'"))
    assert await sweep_outbox(ctx) == 1
    await run_worker(relay=False)
    assert len(http_peer.at("/hooks/lost")) == 1
    assert (await sql("SELECT relay_attempts, processed_at IS NOT NULL FROM outbox_events"))[0] == (
        2,
        True,
    )


async def test_a_waiting_job_is_not_queued_twice_but_a_dead_workers_is(
    world: World, worker_ctx: Any, emit_event: Any, sql: Any, settings: Any
) -> None:
    event_id = await emit_event("unit.renamed", {"name": "x"})
    ctx = await worker_ctx()
    assert await relay_once(ctx["mediation"]) == 1

    async def age() -> None:
        async with world.db() as s, s.begin():
            await s.execute(text("UPDATE outbox_events SET relayed_at = now() - interval '5 min'"))

    await age()
    assert await sweep_outbox(ctx) == 0  # a backlog, not a loss: its job still waits
    assert await ctx["redis"].zcard(settings.arq_queue) == 1
    # The worker that took it was killed: arq keeps it "in progress" for the job timeout.
    await ctx["redis"].set(f"arq:in-progress:{event_job_id(event_id)}", b"1")
    await age()
    assert await sweep_outbox(ctx) == 1
    assert await ctx["redis"].zcard(settings.arq_queue) == 2
    assert (await sql("SELECT relay_attempts FROM outbox_events"))[0][0] == 2


async def test_jobs_holding_every_connection_still_send_their_deliveries(
    client: httpx.AsyncClient,
    world: World,
    emit_event: Any,
    sql: Any,
    http_peer: HttpPeer,
    settings: Any,
    clock: Any,
) -> None:
    """The HA drill's stall: with more jobs than pooled connections, a job that kept its
    connection while its several sends waited for connections of their own held the pool
    until the wait timed out; the sends were left for later ("not recorded") and the backlog
    crawled. Now each send gets a connection once the job has given its own back."""
    from arq import create_pool

    from mediation_worker.main import build_settings

    await subscribe(client, world, http_peer.url("/hooks/pool-a"))
    await subscribe(client, world, http_peer.url("/hooks/pool-b"))
    events = [
        await emit_event("reference.item_created", {"kind": "k", "code": f"p{n}", "label_zh": "x"})
        for n in range(6)
    ]
    small = settings.model_copy(update={"db_pool_size": 1})  # two connections in all
    ws = build_settings(small, clock, background=False)
    ctx: dict[str, Any] = {"redis": await create_pool(ws.redis_settings)}
    await ws.on_startup(ctx)
    try:
        results = await asyncio.wait_for(
            asyncio.gather(*(process_event(ctx, str(e)) for e in events)), 60
        )
    finally:
        await ws.on_shutdown(ctx)
        await ctx["redis"].aclose()
    assert results == ["processed"] * 6
    # Every event's two messages went out with its job, none left pending for a later pass.
    assert len(http_peer.at("/hooks/pool-a")) == 6
    assert len(http_peer.at("/hooks/pool-b")) == 6
    assert await sql("SELECT status, count(*) FROM deliveries GROUP BY 1") == [("delivered", 12)]


async def test_a_job_does_not_wait_for_a_send_slot_while_holding_its_connection(
    client: httpx.AsyncClient,
    world: World,
    worker_ctx: Any,
    emit_event: Any,
    sql: Any,
    http_peer: HttpPeer,
) -> None:
    """The HA drill's 30 s stall: sends of the delivery loop held every send slot and waited
    for a connection, jobs held every connection and waited for a send slot, until the pool's
    wait timed out. A job whose one message finds no free slot leaves it to the loop."""
    await subscribe(client, world, http_peer.url("/hooks/slots"))
    event_id = await emit_event(
        "reference.item_created", {"kind": "k", "code": "slot", "label_zh": "x"}
    )
    ctx = await worker_ctx()
    rt = runtime(ctx)
    taken = 0
    while not rt.sends.locked():  # every slot held, as by sends waiting for connections
        await rt.sends.acquire()
        taken += 1
    try:
        assert await asyncio.wait_for(process_event(ctx, str(event_id)), 20) == "processed"
        assert http_peer.at("/hooks/slots") == []
        assert await sql("SELECT status FROM deliveries") == [("pending",)]
        assert rt.wake.is_set()  # the loop is told at once
    finally:
        for _ in range(taken):
            rt.sends.release()
    # The loop's next pass sends it, once.
    assert await due_ids(ctx["mediation"]) != []
    await deliver_many(ctx["mediation"], rt, await due_ids(ctx["mediation"]))
    assert len(http_peer.at("/hooks/slots")) == 1
    assert await sql("SELECT status FROM deliveries") == [("delivered",)]


async def test_a_send_in_flight_holds_no_transaction_and_no_row_lock(
    client: httpx.AsyncClient,
    world: World,
    worker_ctx: Any,
    emit_event: Any,
    sql: Any,
    http_peer: HttpPeer,
    db: Any,
) -> None:
    """A slow receiver (here 3 s) keeps no transaction open: behind PgBouncer each one held a
    server connection the API waits for, and the row's lock made the API's redelivery wait.
    The row is leased (`next_attempt_at` moved ahead) instead: another worker skips it."""
    await subscribe(client, world, http_peer.url("/hooks/slow"))
    http_peer.delay = 3.0
    a, b = await worker_ctx(), await worker_ctx()
    await emit_event("reference.item_created", {"kind": "k", "code": "slow", "label_zh": "x"})
    await fan_out_only(db, a)
    ids = await due_ids(a["mediation"])
    sending = asyncio.create_task(deliver_many(a["mediation"], runtime(a), ids))
    for _ in range(200):
        if http_peer.at("/hooks/slow"):
            break
        await asyncio.sleep(0.05)
    assert http_peer.at("/hooks/slow"), "the send did not start"
    # Mid-send: the row can be locked at once, nobody's transaction is open on it.
    locked = await sql("SELECT status FROM deliveries WHERE id = :id FOR UPDATE NOWAIT", id=ids[0])
    assert locked == [("pending",)]
    assert await sql(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND state LIKE 'idle in transaction%'"
    ) == [(0,)]
    assert await due_ids(b["mediation"]) == []  # leased: not due for another worker
    assert await deliver_many(b["mediation"], runtime(b), ids) == {"taken": 1}
    assert await sending == {"delivered": 1}
    assert len(http_peer.at("/hooks/slow")) == 1
    assert await sql("SELECT status, attempts FROM deliveries") == [("delivered", 1)]
    assert await sql("SELECT count(*) FROM delivery_attempts") == [(1,)]
