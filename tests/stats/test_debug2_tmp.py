from tests.stats.conftest import Builder, bj, A_B1, recompute

async def test_dbg2(client, world, run_worker, sql):
    b = Builder(world, client)
    await b.create(bj(2026, 10, 3, 9), A_B1, source="grid_report", prevention=[])
    from tests.cases.conftest import at
    at(world, bj(2026, 11, 26, 10))
    await run_worker()
    print(await sql("select type, relayed_at, processed_at from outbox_events"))
    assert False
