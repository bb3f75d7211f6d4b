"""Fixtures of the notification tests: real local peers (SMTP, SMS gateway, WeCom robot,
webhook receivers), settings pointing the worker at them, helpers to emit events and run the
delivery pass."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from arq import create_pool
from sqlalchemy import text

from mediation.notifications import catalog
from mediation.outbox.events import EVENT_MODELS, emit
from mediation.outbox.payloads import EventPayload
from mediation.settings import Settings
from tests.notifications.peers import HttpPeer, SmtpPeer


@pytest.fixture(scope="session")
def http_peer() -> Iterator[HttpPeer]:
    peer = HttpPeer().start()
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture(scope="session")
def smtp_peer() -> Iterator[SmtpPeer]:
    peer = SmtpPeer().start()
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture(scope="session")
def settings(settings: Settings, http_peer: HttpPeer, smtp_peer: SmtpPeer) -> Settings:
    """The suite's settings with every channel pointed at a local peer."""
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_peer.port,
            "sms_gateway_url": http_peer.url("/sms"),
            "wecom_webhook_url": http_peer.url("/wecom"),
            "webhook_allow_loopback": True,
            "notify_timeout_seconds": 5.0,
        }
    )


@pytest.fixture(autouse=True)
def _reset_peers(http_peer: HttpPeer, smtp_peer: SmtpPeer) -> None:
    http_peer.reset()
    smtp_peer.reset()


@pytest.fixture
def run_worker(run_worker: Any, db: Any) -> Any:
    """The suite's `run_worker`, made immune to other test sessions that share this Redis:
    their clean-up deletes every `arq:*` key, and an event whose job key vanished stays
    unprocessed (in production the stale sweep relays it again after a minute; here at once)."""

    async def run(relay: bool = True) -> int:
        done = int(await run_worker(relay))
        for _ in range(3):
            async with db() as session, session.begin():
                lost = (
                    await session.execute(
                        text(
                            "UPDATE outbox_events SET relayed_at = NULL "
                            "WHERE processed_at IS NULL AND relayed_at IS NOT NULL"
                        )
                    )
                ).rowcount
            if not lost:
                break
            done += int(await run_worker(True))
        return done

    return run


@pytest.fixture
def deliver_due(settings: Settings, clock: Any) -> Any:
    """One pass of the delivery loop (retries that are due, SMS held overnight...), run
    directly in a worker context (no Redis job: nothing for another session to delete)."""
    from mediation_worker.main import build_settings
    from mediation_worker.notifications.deliver import sweep_deliveries

    async def run() -> int:
        ws = build_settings(settings, clock, background=False)
        pool = await create_pool(ws.redis_settings, default_queue_name=settings.arq_queue)
        ctx: dict[str, Any] = {"redis": pool}
        await ws.on_startup(ctx)
        try:
            return int(await sweep_deliveries(ctx))
        finally:
            await ws.on_shutdown(ctx)
            await pool.aclose()

    return run


def example_payload(type_: str, **fields: Any) -> EventPayload:
    """A valid payload of `type_` (its model from `EVENT_MODELS`): the given fields, the rest
    the catalogue's sample values."""
    model = EVENT_MODELS[type_]
    sample = {k: v for k, v in catalog.spec(type_).variables.items() if k in model.model_fields}
    return model.model_validate({**sample, **fields})


@pytest.fixture
def emit_event(db: Any, clock: Any) -> Any:
    """Write an outbox event as a producer would (committed): a payload model, or the fields
    to set on the type's sample payload (`example_payload`)."""

    async def run(
        type_: str,
        payload: EventPayload | dict[str, Any],
        *,
        unit_path: str | None = None,
        actor_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        if isinstance(payload, dict):
            payload = example_payload(type_, **payload)
        async with db() as session, session.begin():
            event = await emit(
                session,
                payload,
                type=type_,
                aggregate_id=uuid.uuid4(),
                occurred_at=clock.now(),
                unit_path=unit_path,
                actor_id=actor_id,
            )
            await session.flush()
            return event.id

    return run


@pytest.fixture
async def worker_ctx(settings: Settings, clock: Any) -> Any:
    """A worker's job context (what arq passes to jobs), without running a worker: tests call
    jobs and relay functions directly, several at once."""
    from mediation_worker.main import build_settings

    made: list[tuple[Any, dict[str, Any]]] = []

    async def make() -> dict[str, Any]:
        ws = build_settings(settings, clock, background=False)
        pool = await create_pool(ws.redis_settings, default_queue_name=settings.arq_queue)
        ctx: dict[str, Any] = {"redis": pool}
        await ws.on_startup(ctx)
        made.append((ws, ctx))
        return ctx

    try:
        yield make
    finally:
        for ws, ctx in made:
            await ws.on_shutdown(ctx)
            await ctx["redis"].aclose()
