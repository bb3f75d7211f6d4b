"""Helpers of the session tests: a case ready for mediation, session bodies, actions with
the current ETag, moving the clock, a worker context to sweep and deliver with, and a local
SMS gateway to see what parties and mediators were texted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from arq import create_pool
from sqlalchemy import select, text

from mediation.auth.models import User
from mediation.clock import CENTER_TZ
from mediation.settings import Settings
from tests.notifications.peers import HttpPeer
from tests.support.world import World

CASES = "/api/v1/cases"
SESSIONS = "/api/v1/sessions"
BUILDING = "220302001001G01B01"  # 1号楼, 先锋社区第一网格
XIYUAN_GRID = "220302001002G01"  # 西园社区第一网格 (outside the community police officer's)
DAY = datetime(2026, 11, 28, tzinfo=CENTER_TZ)  # the clock starts 2026-11-26 10:00


def at_time(day: datetime, hh: int, mm: int = 0) -> datetime:
    return day.replace(hour=hh, minute=mm)


@pytest.fixture(scope="session")
def sms_peer() -> Iterator[HttpPeer]:
    peer = HttpPeer().start()
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture(scope="session")
def settings(settings: Settings, sms_peer: HttpPeer) -> Settings:
    """SMS goes to a local gateway, so the tests see what reached whom."""
    return settings.model_copy(update={"sms_gateway_url": sms_peer.url("/sms")})


@pytest.fixture(autouse=True)
def _reset_peer(sms_peer: HttpPeer) -> None:
    sms_peer.reset()


async def person_id(world: World, username: str) -> str:
    async with world.db() as session:
        return str(
            (await session.scalars(select(User.person_id).where(User.username == username))).one()
        )


def at(world: World, when: datetime) -> None:
    """Move the clock; tokens issued at another time are dropped so sign-in happens again."""
    world.clock.set(when)
    world._tokens.clear()


def etag(record: dict[str, Any]) -> str:
    return f'"{record["id"]}-{record["version"]}"'


async def new_case(
    client: httpx.AsyncClient,
    world: World,
    *,
    unit: str = BUILDING,
    status: str = "assigned",
    title: str = "楼上漏水纠纷",
) -> dict[str, Any]:
    """A case registered by the dispatcher, accepted and (by default) assigned to the
    people's mediator 冯调解."""
    h = await world.headers("dispatcher")
    body = {
        "title": title,
        "facts": "1号楼1单元502室卫生间漏水，楼下402室天花板受损，双方协商未果。",
        "category": "neighbourhood",
        "source": "grid_report",
        "unit_id": str(world.unit(unit).id),
        "parties": [
            {"kind": "person", "side": "applicant", "name": "张三", "phone": "13900001111"},
            {"kind": "person", "side": "respondent", "name": "李四", "phone": "13900002222"},
        ],
    }
    r = await client.post(CASES, json=body, headers=h)
    assert r.status_code == 201, r.text
    case = r.json()
    if status == "received":
        return case
    case = await case_action(client, h, case, "accept")
    if status == "accepted":
        return case
    mediator = await person_id(world, "mediator")
    case = await case_action(
        client, h, case, "assign", {"handlers": [{"person_id": mediator, "channel": "people"}]}
    )
    if status == "assigned":
        return case
    return await case_action(client, h, case, "start-mediation")


async def case_action(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    case: dict[str, Any],
    action: str,
    body: dict[str, Any] | None = None,
    expect: int = 200,
) -> dict[str, Any]:
    r = await client.post(
        f"{CASES}/{case['id']}/{action}",
        json=body or {},
        headers={**headers, "If-Match": etag(case)},
    )
    assert r.status_code == expect, r.text
    return r.json()


def session_body(
    mediators: list[str],
    starts_at: datetime,
    minutes: int = 90,
    **over: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "people",
        "mode": "on_site",
        "starts_at": starts_at.isoformat(),
        "ends_at": (starts_at + timedelta(minutes=minutes)).isoformat(),
        "place": "先锋社区调解室",
        "mediators": [{"person_id": m} for m in mediators],
        "is_public": False,
        "privacy_reason": "party_request",
        "recording_consent": True,
        "rights_notice_given": True,
    }
    body.update(over)
    return body


async def schedule(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    case: dict[str, Any],
    body: dict[str, Any],
    expect: int = 201,
) -> dict[str, Any]:
    r = await client.post(f"{CASES}/{case['id']}/sessions", json=body, headers=headers)
    assert r.status_code == expect, r.text
    return r.json()


async def session_action(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    ms: dict[str, Any],
    action: str,
    body: dict[str, Any],
    expect: int = 200,
) -> dict[str, Any]:
    r = await client.post(
        f"{SESSIONS}/{ms['id']}/{action}", json=body, headers={**headers, "If-Match": etag(ms)}
    )
    assert r.status_code == expect, r.text
    return r.json()


@pytest.fixture
async def worker_ctx(settings: Settings, clock: Any) -> Any:
    """A worker's job context, to call the sweep and the delivery pass directly."""
    from mediation_worker.main import build_settings

    ws = build_settings(settings, clock, background=False)
    pool = await create_pool(ws.redis_settings, default_queue_name=settings.arq_queue)
    ctx: dict[str, Any] = {"redis": pool}
    await ws.on_startup(ctx)
    try:
        yield ctx
    finally:
        await ws.on_shutdown(ctx)
        await pool.aclose()


@pytest.fixture
def worker(worker_ctx: Any, run_worker: Any, sql: Any) -> Any:
    """Everything the worker would do by now: sweep reminders, relay and process the outbox
    (handlers, fan-out, fast-path sends) until no event waits (handlers emit events too),
    then one pass of the delivery loop. Returns how many reminders the sweep emitted."""
    from mediation_worker.notifications.deliver import pump_once
    from mediation_worker.notifications.runtime import runtime
    from mediation_worker.notifications.sweeps import sweep_all
    from mediation_worker.outbox.relay import relay_stale

    c = worker_ctx["mediation"]

    async def run(sweep: bool = True) -> int:
        emitted = await sweep_all(c) if sweep else 0
        await run_worker()
        for _ in range(5):
            waiting = await sql("SELECT count(*) FROM outbox_events WHERE processed_at IS NULL")
            if waiting[0][0] == 0:
                break
            # New events written by handlers, or a job a burst worker left behind: relay what
            # is new, and what was relayed but not processed as the stale sweep would.
            async with c.engine.begin() as conn:
                await conn.execute(
                    text(
                        "UPDATE outbox_events SET relayed_at = now() - interval '1 hour' "
                        "WHERE processed_at IS NULL AND relayed_at IS NOT NULL"
                    )
                )
            await relay_stale(c)
            await run_worker()
        await pump_once(worker_ctx["mediation"], runtime(worker_ctx))
        return emitted

    return run
