"""The vertical slice: reference data through API, database, outbox and worker."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.world import World

BASE = "/api/v1/reference/dispute_category"


async def test_categories_listed_in_order_with_chinese_labels(
    client: httpx.AsyncClient, world: World
) -> None:
    h = await world.headers("grid_head")
    r = await client.get(BASE, headers=h, params={"limit": 10})
    assert r.status_code == 200
    body = r.json()
    assert [i["label_zh"] for i in body["items"][:3]] == ["婚姻家庭", "邻里", "房屋宅基地"]
    assert body["next_cursor"]
    r2 = await client.get(BASE, headers=h, params={"limit": 10, "cursor": body["next_cursor"]})
    rest = r2.json()
    assert rest["next_cursor"] is None
    codes = [i["code"] for i in body["items"] + rest["items"]]
    assert len(codes) == 15 == len(set(codes))
    assert codes[-1] == "other"


async def test_admin_adds_and_edits_a_category_with_etag(
    client: httpx.AsyncClient, world: World
) -> None:
    h = await world.headers("system_admin")
    r = await client.post(
        BASE,
        headers=h,
        json={
            "code": "community_governance",
            "label_zh": "社区治理",
            "label_en": "Community governance",
            "view_order": 160,
        },
    )
    assert r.status_code == 201, r.text
    etag = r.headers["etag"]
    assert r.json()["label_zh"] == "社区治理"

    r = await client.patch(f"{BASE}/community_governance", headers=h, json={"label_zh": "x"})
    assert r.status_code == 428, r.text
    assert r.headers["content-type"].startswith("application/problem+json")

    r = await client.patch(
        f"{BASE}/community_governance",
        headers={**h, "If-Match": etag},
        json={"label_zh": "社区治理纠纷"},
    )
    assert r.status_code == 200
    assert r.json()["version"] == 2

    stale = await client.patch(
        f"{BASE}/community_governance", headers={**h, "If-Match": etag}, json={"enabled": False}
    )
    assert stale.status_code == 412
    got = await client.get(f"{BASE}/community_governance", headers=h)
    assert got.json()["label_zh"] == "社区治理纠纷" and got.json()["enabled"] is True


async def test_only_admins_change_reference_data(client: httpx.AsyncClient, world: World) -> None:
    r = await client.post(
        BASE,
        headers=await world.headers("dispatcher"),
        json={"code": "x_y", "label_zh": "某", "label_en": "x"},
    )
    assert r.status_code == 403
    assert r.json()["status"] == 403
    r = await client.post(BASE, json={"code": "x_y", "label_zh": "某", "label_en": "x"})
    assert r.status_code == 401


async def test_bad_input_changes_nothing(client: httpx.AsyncClient, world: World, sql: Any) -> None:
    h = await world.headers("system_admin")
    before = await sql("SELECT count(*) FROM reference_items")
    r = await client.post(BASE, headers=h, json={"code": "Bad Code", "label_zh": ""})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"body.code", "body.label_zh", "body.label_en"} <= fields
    dup = await client.post(
        BASE, headers=h, json={"code": "neighbourhood", "label_zh": "邻里", "label_en": "n"}
    )
    assert dup.status_code == 409 and dup.json()["code"] == "reference-code-taken"
    assert await sql("SELECT count(*) FROM reference_items") == before
    assert (await sql("SELECT count(*) FROM outbox_events"))[0][0] == 0


async def test_change_reaches_other_admins_inbox_through_the_worker(
    client: httpx.AsyncClient, world: World, sql: Any, run_worker: Any
) -> None:
    h = await world.headers("system_admin")
    # a second administrator, who should hear about the first one's change
    async with world.db() as session, session.begin():
        from datetime import date

        from mediation.auth.accounts import add_account
        from mediation.org.enums import Role

        await add_account(
            session,
            username="admin2",
            name="第二管理员",
            role=Role.system_admin,
            unit_id=world.unit("220300").id,
            password="demo-password",
            starts_on=date(2020, 1, 1),
        )
    r = await client.post(
        BASE, headers=h, json={"code": "education", "label_zh": "教育", "label_en": "Education"}
    )
    assert r.status_code == 201
    assert (await sql("SELECT count(*) FROM outbox_events WHERE processed_at IS NULL"))[0][0] == 1

    await run_worker()
    await run_worker()  # a second run must not notify twice

    rows = await sql(
        "SELECT u.username, n.title FROM notifications n JOIN users u ON u.id = n.user_id"
    )
    assert rows == [("admin2", "参考数据新增：教育")]
    assert (await sql("SELECT count(*) FROM outbox_events WHERE processed_at IS NULL"))[0][0] == 0


async def test_worker_job_counts_show_in_metrics(
    client: httpx.AsyncClient, world: World, run_worker: Any
) -> None:
    h = await world.headers("system_admin")
    await client.post(
        BASE, headers=h, json={"code": "tourism", "label_zh": "旅游", "label_en": "Tourism"}
    )
    await run_worker()
    text = (await client.get("/metrics")).text
    assert 'worker_jobs_total{name="process_event",outcome="success"} 1' in text
    assert 'worker_jobs_total{name="sweep_outbox",outcome="success"}' in text
