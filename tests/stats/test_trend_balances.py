"""The 12-month trend counts a month without a report the way its report would: opening
balances (期初汇总数) included."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from mediation.ids import uuid7
from mediation.stats.balances import OpeningBalance
from tests.cases.conftest import at
from tests.stats.conftest import DISTRICT, STREET, bj, recompute
from tests.stats.test_monthly import MONTHLY
from tests.support.world import World


async def test_a_month_without_a_report_counts_its_opening_balances(
    client: httpx.AsyncClient, world: World, run_worker: Any
) -> None:
    at(world, bj(2026, 11, 5, 10))
    street = world.unit(STREET)
    async with world.db() as session, session.begin():
        session.add(
            OpeningBalance(
                id=uuid7(),
                unit_id=street.id,
                unit_path=street.path,
                month_start=date(2026, 9, 1),
                received=12,
                resolved=10,
                failed=2,
                categories={},
                created_by_name="系统管理员",
            )
        )
    h = await world.headers("supervisor")
    params = {"month": "2026-10", "unit_id": str(world.unit(DISTRICT).id)}

    r = await client.get(f"{MONTHLY}/trend", params=params, headers=h)
    assert r.status_code == 200, r.text
    # September has no report: counted from the records, its balance included.
    assert r.json()["points"][-2] == {
        "month": "2026-09",
        "received": 12,
        "resolved": 10,
        "version": None,
    }

    # ... the same figures its report gives once computed.
    await recompute(client, world, run_worker, 2026, 9)
    r = await client.get(f"{MONTHLY}/trend", params=params, headers=h)
    assert r.json()["points"][-2] == {
        "month": "2026-09",
        "received": 12,
        "resolved": 10,
        "version": 1,
    }
