"""/metrics (issue 23): Prometheus names with units and `_total`, and the figures operators
alert on, each moved by what it reports: outbox backlog, queue, jobs and their durations,
deliveries, disabled subscriptions, overdue cases, unacknowledged high-risk calls."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from mediation.notifications.events import WebhookPing
from mediation.outbox.events import emit
from tests.cases.conftest import CASES, act, advance, case_body
from tests.hotline.conftest import CALLS, HIGH_RISK, call_body
from tests.support.world import World


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    r = await client.get("/metrics")
    assert r.status_code == 200
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def value(samples: dict[Any, float], metric: str, /, **labels: str) -> float | None:
    return samples.get((metric, frozenset(labels.items())))


async def test_outbox_backlog_queue_and_jobs(
    client: httpx.AsyncClient, db: Any, clock: Any, run_worker: Any
) -> None:
    m = await scrape(client)
    assert value(m, "mediation_outbox_backlog_events") == 0
    assert value(m, "mediation_outbox_oldest_unrelayed_age_seconds") == 0
    assert value(m, "mediation_metrics_source_up", source="database") == 1
    async with db() as session, session.begin():
        for _ in range(3):
            ping = WebhookPing(subscription_id=uuid.uuid4(), message="ping")
            await emit(session, ping, aggregate_id=None, occurred_at=clock.now())
    m = await scrape(client)
    assert value(m, "mediation_outbox_backlog_events") == 3
    assert value(m, "mediation_outbox_unprocessed_events") == 3
    assert value(m, "mediation_outbox_oldest_unrelayed_age_seconds") is not None

    await run_worker()
    m = await scrape(client)
    assert value(m, "mediation_outbox_backlog_events") == 0
    assert value(m, "mediation_outbox_unprocessed_events") == 0
    assert value(m, "mediation_worker_queue_jobs") == 0
    assert value(m, "worker_jobs_total", name="process_event", outcome="success") == 3
    assert value(m, "worker_job_duration_seconds_count", name="process_event") == 3
    assert value(m, "worker_job_duration_seconds_bucket", name="process_event", le="+Inf") == 3
    assert (value(m, "worker_job_duration_seconds_sum", name="process_event") or 0) > 0
    # The worker that ran left its heartbeat.
    assert value(m, "mediation_worker_heartbeat_present") == 1
    assert value(m, "mediation_worker_heartbeat_age_seconds") is not None


async def test_requests_by_route_template_and_status(
    client: httpx.AsyncClient, world: World
) -> None:
    h = await world.headers("dispatcher")
    route = "/cases/{case_id}"  # the template as the router declares it
    labels = {"method": "GET", "route": route, "status": "404"}
    before = await scrape(client)  # the counters are the process's, shared by earlier tests
    for _ in range(2):
        r = await client.get(f"{CASES}/0190f5c0-0000-7000-8000-000000000000", headers=h)
        assert r.status_code == 404
    m = await scrape(client)
    for metric in ("http_requests_total", "http_request_duration_seconds_count"):
        assert (value(m, metric, **labels) or 0) - (value(before, metric, **labels) or 0) == 2
    assert (value(m, "mediation_db_pool_connections_max") or 0) > 0
    assert value(m, "mediation_db_pool_connections_in_use") is not None


async def test_overdue_cases_by_stage(client: httpx.AsyncClient, world: World) -> None:
    r = await client.post(CASES, json=case_body(world), headers=await world.headers("grid_head"))
    assert r.status_code == 201, r.text
    m = await scrape(client)
    assert value(m, "mediation_cases_overdue", stage="first_response") == 0
    advance(world, timedelta(days=30))
    m = await scrape(client)
    assert value(m, "mediation_cases_overdue", stage="first_response") == 1
    assert value(m, "mediation_cases_overdue", stage="mediation") == 0


async def test_a_paused_case_is_not_counted_overdue(
    client: httpx.AsyncClient, world: World
) -> None:
    # A paused case's clock stands still (the case view and the `overdue` filter say so): the
    # metric operators alert on must not count it as overdue either.
    r = await client.post(CASES, json=case_body(world), headers=await world.headers("grid_head"))
    assert r.status_code == 201, r.text
    dispatcher = await world.headers("dispatcher")
    case = await act(client, dispatcher, r.json(), "accept")
    case = await act(client, dispatcher, case, "pause", {"reason": "等待当事人"})
    advance(world, timedelta(days=30))
    got = await client.get(f"{CASES}/{case['id']}", headers=await world.headers("dispatcher"))
    assert got.json()["overdue"] is False
    m = await scrape(client)
    assert value(m, "mediation_cases_overdue", stage="mediation") == 0


async def test_unacknowledged_high_risk_calls_and_their_age(
    client: httpx.AsyncClient, world: World
) -> None:
    h = await world.headers("counselor")
    r = await client.post(CALLS, json=call_body(**HIGH_RISK), headers=h)
    assert r.status_code == 201, r.text
    m = await scrape(client)
    assert value(m, "mediation_hotline_unacknowledged_high_risk_calls") == 1
    advance(world, timedelta(minutes=20))
    m = await scrape(client)
    assert value(
        m, "mediation_hotline_oldest_unacknowledged_high_risk_call_age_seconds"
    ) == pytest.approx(1200)


async def test_deliveries_and_disabled_subscriptions(
    client: httpx.AsyncClient, world: World
) -> None:
    from tests.notifications.test_webhooks import subscribe

    sub = await subscribe(client, world, "https://hooks.example.org/mediation")
    m = await scrape(client)
    assert value(m, "mediation_webhook_subscriptions", state="enabled") == 1
    assert value(m, "mediation_webhook_subscriptions", state="disabled") == 0
    async with world.db() as session, session.begin():
        await session.execute(
            text("UPDATE webhook_subscriptions SET enabled = false WHERE id = :i"),
            {"i": sub["id"]},
        )
    m = await scrape(client)
    assert value(m, "mediation_webhook_subscriptions", state="disabled") == 1
    assert value(m, "mediation_deliveries_waiting_retry") == 0


async def test_the_event_loop_lag_shows_a_blocked_loop(client: httpx.AsyncClient) -> None:
    # A request arriving while the loop is blocked waits that long before the app reads it;
    # no route's latency shows it, this histogram does.
    import asyncio
    import time

    metric = "mediation_event_loop_lag_seconds"
    before = await scrape(client)
    time.sleep(0.4)  # noqa: ASYNC251 (the loop blocked, as by a long synchronous step)
    await asyncio.sleep(0.6)  # the timer due during it fires at least 0.15 s late
    m = await scrape(client)

    def late(samples: dict[Any, float]) -> float:  # observations over 0.1 s
        return (value(samples, f"{metric}_count") or 0) - (
            value(samples, f"{metric}_bucket", le="0.1") or 0
        )

    assert (value(m, f"{metric}_count") or 0) > (value(before, f"{metric}_count") or 0)
    assert late(m) - late(before) >= 1
