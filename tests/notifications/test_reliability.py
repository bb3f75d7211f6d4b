"""Reliability with real processes: the worker SIGKILLed in the middle of 1,000 notifications,
Redis stopped for 30 seconds while 200 records are created through the API process, and
PostgreSQL restarted under the worker. Each starts its own redis-server (and, for the restart,
its own embedded PostgreSQL) so stopping them disturbs nobody."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from mediation.db import create_engine, session_factory
from mediation.migrate import upgrade
from mediation.notifications.models import WebhookSubscription
from mediation.notifications.webhooks import new_secret
from mediation.org.enums import UnitLevel
from mediation.org.tree import add_unit
from mediation.outbox.events import emit
from mediation.reference.events import ReferenceItemUpdated
from mediation.settings import Settings, to_async_url
from mediation_dev.services import DevServices, free_port
from tests.notifications.peers import HttpPeer
from tests.notifications.processes import RedisServer, Service, port_open, worker_env
from tests.notifications.test_webhooks import subscribe
from tests.support.world import PASSWORD, World, demo_otp

# About a minute of real waiting: `-m "not reliability"` leaves them out of a quick run.
pytestmark = pytest.mark.reliability


def ids(peer: HttpPeer, path: str) -> list[str]:
    return [r.headers["webhook-id"] for r in peer.at(path)]


async def until(check: Callable[[], bool], seconds: float, what: str, *procs: Service) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.1)
    logs = "\n".join(f"--- {p.module} ---\n{p.tail()}" for p in procs)
    raise AssertionError(f"timed out after {seconds:.0f}s waiting for {what}\n{logs}")


async def emit_many(factory: Any, n: int, path: str = "/x", prefix: str = "e") -> None:
    async with factory() as session, session.begin():
        for i in range(n):
            payload = ReferenceItemUpdated(
                kind="dispute_category", code=f"{prefix}{i}", label_zh="测试", changed=["label_zh"]
            )
            await emit(session, payload, aggregate_id=uuid.uuid4(), occurred_at=_now())


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


async def test_worker_killed_mid_1000_notifications_loses_none(
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    http_peer: HttpPeer,
    db: Any,
    sql: Any,
) -> None:
    await subscribe(client, world, http_peer.url("/hooks/kill"), ["reference.*"])
    await emit_many(db, 1000)
    redis = RedisServer()
    redis.start()
    env = worker_env(settings.database_url, redis.url, f"kill-{uuid.uuid4().hex[:8]}")
    first, second = Service("mediation_worker.main", env, "w1"), None
    try:
        first.start()
        await until(
            lambda: len(set(ids(http_peer, "/hooks/kill"))) >= 250,
            90,
            "the first deliveries",
            first,
        )
        first.kill()  # SIGKILL in the middle: no shutdown code runs
        at_kill = len(set(ids(http_peer, "/hooks/kill")))
        assert at_kill < 1000, "the worker finished before it could be killed"
        second = Service("mediation_worker.main", env, "w2")
        second.start()
        await until(
            lambda: len(set(ids(http_peer, "/hooks/kill"))) == 1000,
            120,
            "every delivery after the restart",
            second,
        )
        # The sends in flight at the kill whose outcome was never recorded are tried again
        # once their lease runs out (the send timeout + 10 s): then every row is delivered.
        for _ in range(600):
            if await sql("SELECT count(*) FROM deliveries WHERE status <> 'delivered'") == [(0,)]:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # anything still arriving would be a duplicate: count it too
    finally:
        for proc in (first, second):
            if proc is not None:
                proc.close()
        redis.close()
    seen = Counter(ids(http_peer, "/hooks/kill"))
    assert len(seen) == 1000  # none lost
    repeats = sum(seen.values()) - len(seen)
    # At most the sends in flight at the kill come again, each once, with the same webhook-id.
    print(f"killed after {at_kill} deliveries; {repeats} repeated after the restart")
    assert max(seen.values()) <= 2 and repeats <= 40, (at_kill, repeats)
    assert await sql("SELECT status, count(*) FROM deliveries GROUP BY status") == [
        ("delivered", 1000)
    ]


async def test_redis_down_30s_while_200_records_are_created(
    world: World, settings: Settings, http_peer: HttpPeer, sql: Any
) -> None:
    redis = RedisServer()
    redis.start()
    port = free_port()
    env = worker_env(settings.database_url, redis.url, f"redis-{uuid.uuid4().hex[:8]}")
    api = Service("mediation_api.main", {**env, "HOST": "127.0.0.1", "PORT": str(port)}, "api")
    worker = Service("mediation_worker.main", env, "worker")
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        api.start()
        worker.start()
        await until(lambda: port_open(port), 120, "the API", api)
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            r = await http.post(
                "/auth/token",
                data={
                    "grant_type": "password",
                    "username": "system_admin",
                    "password": PASSWORD,
                    "otp": demo_otp(datetime.now(UTC)),  # the server runs on the real clock
                },
            )
            assert r.status_code == 200, r.text
            h = {"Authorization": f"Bearer {r.json()['access_token']}"}
            r = await http.post(
                "/webhooks",
                headers=h,
                json={
                    "name": "市平台",
                    "url": http_peer.url("/hooks/redis"),
                    "event_types": ["reference.item_created"],
                },
            )
            assert r.status_code == 201, r.text

            redis.stop()
            down_at = time.monotonic()
            statuses = []
            for n in range(200):
                r = await http.post(
                    "/reference/dispute_category",
                    headers=h,
                    json={"code": f"outage_{n}", "label_zh": f"类别{n}", "label_en": f"c{n}"},
                )
                statuses.append(r.status_code)
                await asyncio.sleep(0.1)
            assert statuses == [201] * 200  # the API never needed Redis to take a write
            assert http_peer.at("/hooks/redis") == []
            await asyncio.sleep(max(0.0, 30 - (time.monotonic() - down_at)))
            redis.start()  # same port, empty: the queue is rebuilt from PostgreSQL
        await until(
            lambda: len(set(ids(http_peer, "/hooks/redis"))) == 200,
            150,
            "the 200 notifications after Redis returned",
            worker,
        )
        assert worker.alive(), worker.tail()
    finally:
        api.close()
        worker.close()
        redis.close()
    assert len(ids(http_peer, "/hooks/redis")) == 200
    assert (await sql("SELECT count(*) FROM reference_items WHERE code LIKE 'outage_%'"))[0][
        0
    ] == 200


async def test_worker_recovers_from_a_postgresql_restart(
    settings: Settings, http_peer: HttpPeer
) -> None:
    data = tempfile.mkdtemp(prefix="notif-pg-")
    services = DevServices(
        data, 0, 0, redis=False, ephemeral=True, stop_with_parent=True, remove_data_dir=True
    )
    redis = RedisServer()
    worker: Service | None = None
    engine = None
    try:
        services.start()
        url = services.database_url
        await asyncio.to_thread(upgrade, to_async_url(url))
        own = Settings(DATABASE_URL=url, REDIS_URL=redis.url, _env_file=None)
        engine = create_engine(own)
        factory = session_factory(engine)
        async with factory() as s, s.begin():
            unit = await add_unit(s, parent=None, level=UnitLevel.district, code="D", name="区")
            s.add(
                WebhookSubscription(
                    name="r",
                    url=http_peer.url("/hooks/pg"),
                    secret=new_secret(),
                    event_types=["*"],
                    unit_id=unit.id,
                    unit_path=unit.path,
                )
            )
        redis.start()
        worker = Service(
            "mediation_worker.main",
            worker_env(url, redis.url, f"pg-{uuid.uuid4().hex[:8]}"),
            "worker",
        )
        worker.start()
        await emit_many(factory, 30, prefix="a")
        await until(
            lambda: len(set(ids(http_peer, "/hooks/pg"))) == 30,
            60,
            "deliveries before the restart",
            worker,
        )

        await emit_many(factory, 30, prefix="b")  # some of these are in flight at the restart
        assert services.postgres is not None
        services.postgres.stop()
        await asyncio.sleep(3)
        services.postgres.start()
        await engine.dispose()  # the test's own pool; the worker has to find its way alone
        await emit_many(factory, 30, prefix="c")
        await until(
            lambda: len(set(ids(http_peer, "/hooks/pg"))) == 90,
            90,
            "deliveries after the restart",
            worker,
        )
        assert worker.alive(), worker.tail()
        async with factory() as s:
            subs = (await s.scalars(select(WebhookSubscription))).all()
            assert subs[0].enabled
    finally:
        if worker is not None:
            worker.close()
        if engine is not None:
            await engine.dispose()
        redis.close()
        services.stop()
        shutil.rmtree(data, ignore_errors=True)
    assert len(ids(http_peer, "/hooks/pg")) <= 90 + 10
