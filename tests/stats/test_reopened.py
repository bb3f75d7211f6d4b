"""A case resolved, reopened and then failed in the same month ended once: it counts as failed
(the later outcome, as `lifecycle.outcome` says), not as both resolved and failed."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from tests.stats.conftest import STREET, Dataset, bj, recompute
from tests.stats.test_monthly import channel, report
from tests.support.world import World


async def test_a_case_resolved_then_failed_in_the_month_counts_once(
    client: httpx.AsyncClient, world: World, dataset: Dataset, run_worker: Any
) -> None:
    # C2 (resolved 10-15 with a 500.00 agreement) reopened and failed 10-25: the timestamps
    # a reopen leaves (one per status, the latest time it was entered).
    async with world.db() as session, session.begin():
        await session.execute(
            text("UPDATE cases SET failed_at = :f, status = 'failed' WHERE id = :id"),
            {"f": bj(2026, 10, 25, 9), "id": dataset.cases["C2"]["id"]},
        )
    # Before any report the trend counts October from the cases: the same rule.
    h = await world.headers("supervisor")
    r = await client.get(
        "/api/v1/stats/monthly/trend",
        params={"month": "2026-10", "unit_id": str(world.unit(STREET).id)},
        headers=h,
    )
    assert r.json()["points"][-1] == {
        "month": "2026-10",
        "received": 6,
        "resolved": 1,
        "version": None,
    }

    await recompute(client, world, run_worker, 2026, 10)
    c = channel(await report(client, world, STREET))["cases"]
    # C1 resolved; C3 and C2 failed: three outcomes for three cases.
    assert (c["resolved"], c["failed"]) == (1, 2)
    assert c["success_rate"] == round(1 / 3, 4)
    assert c["agreement_amount"] == "2000.00"
