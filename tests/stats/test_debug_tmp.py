import json
from tests.stats.conftest import recompute, STREET

async def test_dbg(client, world, dataset, run_worker):
    job = await recompute(client, world, run_worker, 2026, 10)
    print(json.dumps(job, ensure_ascii=False, indent=1))
    h = await world.headers("supervisor")
    r = await client.get("/api/v1/stats/monthly", params={"month": "2026-10", "unit_id": str(world.unit(STREET).id)}, headers=h)
    print(r.status_code)
    print(json.dumps(r.json(), ensure_ascii=False, indent=1)[:12000])
    assert False
