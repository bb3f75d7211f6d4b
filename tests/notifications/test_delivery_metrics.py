"""Delivery figures on /metrics (issue 23): tries by channel and result from every worker,
and the deliveries waiting for their next try."""

from __future__ import annotations

from typing import Any

import httpx

from tests.notifications.peers import HttpPeer
from tests.notifications.test_webhooks import add_category, subscribe
from tests.support.world import World
from tests.test_metrics import scrape, value


async def test_deliveries_by_channel_and_outcome_and_retries_waiting(
    client: httpx.AsyncClient, world: World, run_worker: Any, http_peer: HttpPeer
) -> None:
    await subscribe(client, world, http_peer.url("/hooks/ok"))
    await subscribe(client, world, http_peer.url("/hooks/bad"))
    http_peer.answer("/hooks/bad", 503)
    before = await scrape(client)
    await add_category(client, world, "metrics")
    await run_worker()
    await run_worker()
    assert len(http_peer.at("/hooks/ok")) == 1 and len(http_peer.at("/hooks/bad")) == 1

    m = await scrape(client)

    def added(outcome: str) -> float:
        labels = {"channel": "webhook", "outcome": outcome}
        return (value(m, "mediation_deliveries_total", **labels) or 0) - (
            value(before, "mediation_deliveries_total", **labels) or 0
        )

    assert added("delivered") == 1
    assert added("retry") == 1
    assert value(m, "mediation_deliveries_waiting_retry") == 1
