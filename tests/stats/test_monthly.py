"""Every indicator of October 2026 against figures worked out by hand from the dataset of
`conftest.py`, computed by a real worker run; versions; the `stats.monthly_ready` event."""

from __future__ import annotations

import json
from typing import Any

import httpx

from mediation.auth.policy import Permission
from tests.cases.conftest import at
from tests.stats.conftest import (
    A_B1,
    A_B5,
    A_GRID1,
    B_B3,
    B_GRID,
    CASES,
    DISTRICT,
    STREET,
    A,
    B,
    Dataset,
    bj,
    recompute,
)
from tests.support.world import World

MONTHLY = "/api/v1/stats/monthly"


async def report(
    client: httpx.AsyncClient, world: World, code: str, **params: Any
) -> dict[str, Any]:
    h = await world.headers("supervisor")
    r = await client.get(
        MONTHLY,
        params={"month": "2026-10", "unit_id": str(world.unit(code).id), **params},
        headers=h,
    )
    assert r.status_code == 200, r.text
    return r.json()


def channel(rep: dict[str, Any], name: str = "all") -> dict[str, Any]:
    return next(f for f in rep["figures"] if f["channel"] == name)


def shares(items: list[dict[str, Any]]) -> dict[str, tuple[int, float | None]]:
    return {s["key"]: (s["count"], s["share"]) for s in items}


def change(fig: dict[str, Any], indicator: str) -> tuple[Any, ...]:
    c = next(c for c in fig["changes"] if c["indicator"] == indicator)
    return (
        c["current"],
        c["previous_month"],
        c["previous_year"],
        c["month_on_month"],
        c["year_on_year"],
    )


def core(fig: dict[str, Any]) -> dict[str, Any]:
    c = fig["cases"]
    return {
        k: c[k]
        for k in (
            "received",
            "accepted",
            "resolved",
            "failed",
            "withdrawn",
            "success_rate",
            "agreements",
            "agreement_amount",
            "agreements_performed",
            "resolution_days_median",
            "resolution_days_mean",
            "overdue",
            "follow_ups",
            "sessions_held",
            "prevented_cases",
            "prevented_people",
        )
    }


def expect(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "received": 0,
        "accepted": 0,
        "resolved": 0,
        "failed": 0,
        "withdrawn": 0,
        "success_rate": None,
        "agreements": 0,
        "agreement_amount": "0.00",
        "agreements_performed": 0,
        "resolution_days_median": None,
        "resolution_days_mean": None,
        "overdue": 0,
        "follow_ups": 0,
        "sessions_held": 0,
        "prevented_cases": 0,
        "prevented_people": 0,
    }
    return base | kw


async def test_every_indicator_of_a_month_by_hand(
    client: httpx.AsyncClient, world: World, dataset: Dataset, run_worker: Any, sql: Any
) -> None:
    job = await recompute(client, world, run_worker, 2026, 10)
    assert job["result"]["version"] == 1 and job["progress"] == 100

    street = await report(client, world, STREET)
    assert street["version"] == 1 and street["latest_version"] == 1
    assert street["period_start"] == "2026-10-01T00:00:00+08:00"  # 00:00 Beijing on the 1st
    assert street["period_end"] == "2026-11-01T00:00:00+08:00"
    assert set(street["counted"]) == {"cases", "hotline", "outreach", "sessions"}
    s = channel(street)
    # C1 resolved at 23:59 on the 31st counts; C6 resolved 30 s into November does not.
    # Days: C1 28 d 14 h 59 min = 28.6243, C2 10.0 -> median = mean = 19.3122.
    assert core(s) == expect(
        received=6,
        accepted=4,
        resolved=2,
        failed=1,
        withdrawn=1,
        success_rate=0.6667,
        agreements=2,
        agreement_amount="2500.00",
        agreements_performed=1,
        resolution_days_median="19.31",
        resolution_days_mean="19.31",
        overdue=4,  # C1 (late), C4 (never accepted), C5 (open), C6 (late into November)
        follow_ups=1,
        sessions_held=1,
        prevented_cases=2,
        prevented_people=13,
    )
    assert shares(s["cases"]["intake"]) == {
        "proactive": (1, 0.1667),
        "application": (3, 0.5),
        "referral": (2, 0.3333),
    }
    cats = shares(s["cases"]["categories"])
    assert cats["neighbourhood"] == (2, 0.3333)
    for code in ("marriage_family", "contract", "property_management", "other"):
        assert cats[code] == (1, 0.1667)
    assert cats["labour"] == (0, 0.0)
    assert sum(n for n, _ in cats.values()) == 6
    src = shares(s["cases"]["sources"])
    assert {k: n for k, (n, _) in src.items() if n} == {
        "grid_report": 1,
        "hotline": 1,
        "walk_in": 2,
        "court_referral": 1,
        "petition_office": 1,
    }
    assert {p["kind"]: (p["cases"], p["people"]) for p in s["cases"]["prevention"]} == {
        "criminal": (1, 2),
        "group_petition": (1, 10),
        "suicide": (1, 1),
        "group_fight": (0, 0),
    }
    # Hotline (西园's workstation): the call at 23:59:30 on the 31st counts, 00:00:10 not.
    hot = s["hotline"]
    assert (hot["calls"], hot["valid_calls"], hot["high_risk"], hot["follow_ups_done"]) == (
        4,
        3,
        2,
        1,
    )
    assert shares(hot["by_risk"]) == {
        "none": (0, 0.0),
        "low": (1, 0.25),
        "medium": (1, 0.25),
        "high": (1, 0.25),
        "unassessed": (1, 0.25),
    }
    topics = shares(hot["by_topic"])
    assert topics["marriage_family"] == (2, 0.5)
    assert topics["minors_mental_health"] == (1, 0.25)
    assert topics["special_family"] == (1, 0.25)
    assert s["outreach"] == {
        "activities": 2,
        "participants": 140,
        "micro_classes": 0,
        "micro_class_participants": 0,
    }
    # 环比 (September: C9 and C6 received, C9 resolved, C9's follow-up missed; one call, one
    # activity of 30) and 同比 (October 2025: C7 received and resolved for 300.00, its
    # follow-up missed).
    assert change(s, "received") == (6, 2, 1, 2.0, 5.0)
    assert change(s, "accepted") == (4, 2, 1, 1.0, 3.0)
    assert change(s, "resolved") == (2, 1, 1, 1.0, 1.0)
    assert change(s, "failed") == (1, 0, 0, None, None)
    assert change(s, "success_rate") == (0.6667, 1.0, 1.0, -0.3333, -0.3333)
    assert change(s, "agreement_amount") == (2500.0, 0.0, 300.0, None, 7.3333)
    assert change(s, "overdue") == (4, 1, 1, 3.0, 3.0)
    assert change(s, "hotline_calls") == (4, 1, 0, 3.0, None)
    assert change(s, "outreach_participants") == (140, 30, 0, 3.6667, None)

    # Per channel: C2 is a joint mediation (people + police), counted in both, once in all.
    people = channel(street, "people")
    assert core(people) == expect(
        received=1,
        accepted=1,
        resolved=1,
        success_rate=1.0,
        agreements=1,
        agreement_amount="500.00",
        agreements_performed=1,
        resolution_days_median="10.00",
        resolution_days_mean="10.00",
        follow_ups=1,
        sessions_held=1,
        prevented_cases=1,
        prevented_people=11,
    )
    assert people["hotline"] is None and people["outreach"] is None
    assert core(channel(street, "police_joint")) == expect(
        received=2,
        accepted=2,
        resolved=2,
        success_rate=1.0,
        agreements=2,
        agreement_amount="2500.00",
        agreements_performed=1,
        resolution_days_median="19.31",
        resolution_days_mean="19.31",
        overdue=1,
        follow_ups=1,
        sessions_held=1,
        prevented_cases=2,
        prevented_people=13,
    )
    assert core(channel(street, "judicial")) == expect(
        received=1, accepted=1, failed=1, success_rate=0.0
    )
    # C5 was transferred to 西园's counselor; C6 is the counselor's too.
    assert core(channel(street, "psychological")) == expect(received=1, accepted=1, overdue=2)

    # Rolled up: the street is the sum of its communities. C5 moved from 先锋 to 西园 during
    # the month: it counts once, in 西园 only.
    kids = {f["unit"]["code"]: f for f in street["children"]}
    assert set(kids) == {A, B}
    assert core(kids[A]) == expect(
        received=3,
        accepted=2,
        resolved=2,
        success_rate=1.0,
        agreements=2,
        agreement_amount="2500.00",
        agreements_performed=1,
        resolution_days_median="19.31",
        resolution_days_mean="19.31",
        overdue=2,
        follow_ups=1,
        sessions_held=1,
        prevented_cases=2,
        prevented_people=13,
    )
    assert core(kids[B]) == expect(
        received=3, accepted=2, failed=1, withdrawn=1, success_rate=0.0, overdue=2
    )
    for key in ("received", "accepted", "resolved", "failed", "withdrawn", "overdue"):
        assert kids[A]["cases"][key] + kids[B]["cases"][key] == s["cases"][key]
    assert kids[A]["hotline"]["calls"] == 0 and kids[B]["hotline"]["calls"] == 4
    assert kids[A]["outreach"]["activities"] == 1 and kids[B]["outreach"]["activities"] == 0
    assert change(kids[A], "received") == (3, 1, 1, 2.0, 2.0)

    below = {
        A_GRID1: expect(
            received=2,
            accepted=1,
            resolved=1,
            success_rate=1.0,
            agreements=1,
            agreement_amount="2000.00",
            resolution_days_median="28.62",
            resolution_days_mean="28.62",
            overdue=2,
            prevented_cases=1,
            prevented_people=2,
        ),
        A_B1: expect(
            received=2,
            accepted=1,
            resolved=1,
            success_rate=1.0,
            agreements=1,
            agreement_amount="2000.00",
            resolution_days_median="28.62",
            resolution_days_mean="28.62",
            overdue=2,
            prevented_cases=1,
            prevented_people=2,
        ),
        A_B5: expect(
            received=1,
            accepted=1,
            resolved=1,
            success_rate=1.0,
            agreements=1,
            agreement_amount="500.00",
            agreements_performed=1,
            resolution_days_median="10.00",
            resolution_days_mean="10.00",
            follow_ups=1,
            sessions_held=1,
            prevented_cases=1,
            prevented_people=11,
        ),
        B_GRID: expect(received=3, accepted=2, failed=1, withdrawn=1, success_rate=0.0, overdue=2),
        B_B3: expect(received=2, accepted=1, failed=1, withdrawn=1, success_rate=0.0, overdue=1),
    }
    for code, expected in below.items():
        assert core(channel(await report(client, world, code))) == expected, code

    district = channel(await report(client, world, DISTRICT))
    assert core(district) == core(s)
    assert district["outreach"] == {
        "activities": 2,
        "participants": 140,
        "micro_classes": 1,
        "micro_class_participants": 300,
    }

    # Nothing went through Python: the rows are in the table, sparse (nodes with figures).
    rows = await sql("SELECT count(*) FROM stats_rows")
    assert rows[0][0] == job["result"]["rows"] > 0


async def test_a_recomputation_is_a_new_version_and_old_ones_stay(
    client: httpx.AsyncClient, world: World, dataset: Dataset, run_worker: Any, sql: Any
) -> None:
    await recompute(client, world, run_worker, 2026, 10)
    # Later, C1's agreement is fully performed: the next version counts it.
    c1 = (
        await client.get(
            f"{CASES}/{dataset.cases['C1']['id']}", headers=await world.headers("dispatcher")
        )
    ).json()
    r = await client.post(
        f"{CASES}/{c1['id']}/agreement/performances",
        json={"performed_on": "2026-11-26", "status": "full", "amount": "1000.00"},
        headers={**await world.headers("dispatcher"), "If-Match": f'"{c1["id"]}-{c1["version"]}"'},
    )
    assert r.status_code in (200, 201), r.text
    job = await recompute(client, world, run_worker, 2026, 10)
    assert job["result"]["version"] == 2

    latest = await report(client, world, STREET)
    assert (latest["version"], latest["latest_version"]) == (2, 2)
    assert channel(latest)["cases"]["agreements_performed"] == 2
    first = await report(client, world, STREET, version=1)
    assert (first["version"], first["latest_version"]) == (1, 2)
    assert channel(first)["cases"]["agreements_performed"] == 1

    h = await world.headers("dispatcher")
    r = await client.get(f"{MONTHLY}/versions", params={"month": "2026-10", "limit": 1}, headers=h)
    assert r.status_code == 200
    assert [v["version"] for v in r.json()["items"]] == [2]
    r2 = await client.get(
        f"{MONTHLY}/versions",
        params={"month": "2026-10", "limit": 1, "cursor": r.json()["next_cursor"]},
        headers=h,
    )
    assert [v["version"] for v in r2.json()["items"]] == [1]
    assert r2.json()["next_cursor"] is None
    r = await client.get(MONTHLY, params={"month": "2026-10", "version": 3}, headers=h)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")

    # Each version announced once per district (and city) node.
    events = await sql(
        "SELECT payload FROM outbox_events WHERE type = 'stats.monthly_ready' ORDER BY id"
    )
    payloads = [e[0] for e in events]
    assert len(payloads) == 4
    by_unit = {(p["unit_name"], p["version"]) for p in payloads}
    assert by_unit == {("四平市", 1), ("铁西区", 1), ("四平市", 2), ("铁西区", 2)}
    p = payloads[-1]
    assert (p["year"], p["month"], p["trigger"]) == (2026, "2026-10", "on_demand")
    assert str(world.unit(DISTRICT).id) in p["unit_ids"]


async def test_the_ready_event_reaches_supervisors_and_webhooks(
    client: httpx.AsyncClient, world: World, run_worker: Any, sql: Any
) -> None:
    from mediation.notifications.models import WebhookSubscription

    district = world.unit(DISTRICT)
    async with world.db() as session, session.begin():
        session.add(
            WebhookSubscription(
                name="市综治平台",
                url="https://receiver.example.gov.cn/hooks",
                secret="whsec_" + "A" * 32,
                event_types=["stats.monthly_ready"],
                unit_id=district.id,
                unit_path=district.path,
            )
        )
    await recompute(client, world, run_worker, 2026, 10)
    await run_worker()  # the events written by the job
    inbox = await sql(
        "SELECT u.username, n.title, n.link FROM notifications n JOIN users u ON u.id = n.user_id "
        "WHERE n.type = 'stats.monthly_ready' ORDER BY u.username"
    )
    assert [row[0] for row in inbox] == ["dispatcher", "supervisor"]
    assert "2026-10" in inbox[0][1]
    assert inbox[0][2] == "/api/v1/stats/monthly?month=2026-10"
    hooks = await sql(
        "SELECT message FROM deliveries WHERE channel = 'webhook' "
        "AND event_type = 'stats.monthly_ready'"
    )
    assert len(hooks) == 1  # the district's event; the city's is outside the subscription
    body = json.loads(hooks[0][0]["body"])
    assert body["type"] == "stats.monthly_ready"
    assert body["data"]["unit_name"] == "铁西区" and body["data"]["version"] == 1


async def test_an_empty_month_is_zeros_not_an_error(
    client: httpx.AsyncClient, world: World, run_worker: Any
) -> None:
    job = await recompute(client, world, run_worker, 2026, 8)
    assert job["result"]["rows"] == 0
    rep = await report(client, world, STREET, month="2026-08")
    s = channel(rep)
    assert core(s) == expect()
    assert all(x["count"] == 0 and x["share"] is None for x in s["cases"]["categories"])
    assert s["hotline"]["calls"] == 0 and s["hotline"]["by_risk"][0]["share"] is None
    assert s["outreach"]["activities"] == 0
    assert change(s, "received") == (0, 0, 0, None, None)
    assert change(s, "success_rate") == (None, None, None, None, None)
    assert [core(c) for c in rep["children"]] == [expect(), expect()]


async def test_who_may_read_and_compute(
    client: httpx.AsyncClient, world: World, run_worker: Any, sql: Any
) -> None:
    url = f"{MONTHLY}/2026/10/recompute"
    # Reading needs stats:read; computing stats:compute.
    grid = await world.headers("grid_head")
    assert (await client.get(MONTHLY, headers=grid)).status_code == 403
    disp = await world.headers("dispatcher")
    r = await client.post(url, headers=disp)
    assert r.status_code == 403 and Permission.stats_compute.value in r.json()["detail"]

    sup = await world.headers("supervisor")
    r = await client.post(f"{MONTHLY}/2026/11/recompute", headers=sup)  # not over yet
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "path.month"
    r = await client.post(f"{MONTHLY}/2026/13/recompute", headers=sup)
    assert r.status_code == 422
    assert await sql("SELECT count(*) FROM jobs") == [(0,)]

    # Idempotency-Key replays; asking again while queued joins the same job.
    first = await client.post(url, headers={**sup, "Idempotency-Key": "k-1"})
    assert first.status_code == 202 and first.json()["status"] == "queued"
    again = await client.post(url, headers={**sup, "Idempotency-Key": "k-1"})
    assert again.status_code == 202 and again.headers.get("idempotent-replayed") == "true"
    joined = await client.post(url, headers=sup)
    assert joined.json()["id"] == first.json()["id"]
    assert await sql("SELECT count(*) FROM jobs") == [(1,)]
    assert first.headers["location"] == f"/api/v1/jobs/{first.json()['id']}"

    await run_worker()
    # The job sits at the supervisor's district: 西园's workstation supervisor (stats:read,
    # scope 西园社区) does not see it, nor the street's report.
    hs = await world.headers("hotline_supervisor")
    assert (await client.get(first.headers["location"], headers=hs)).status_code == 404
    r = await client.get(
        MONTHLY, params={"month": "2026-10", "unit_id": str(world.unit(STREET).id)}, headers=hs
    )
    assert r.status_code == 404
    r = await client.get(MONTHLY, params={"month": "2026-10"}, headers=hs)  # their own node
    assert r.status_code == 200 and r.json()["unit"]["code"] == B
    assert (await client.get(first.headers["location"], headers=disp)).json()["status"] == (
        "succeeded"
    )


async def test_the_scheduled_run_computes_the_month_just_ended_once(
    client: httpx.AsyncClient, world: World, run_worker: Any, enqueue: Any, sql: Any, settings: Any
) -> None:
    from zoneinfo import ZoneInfo

    from mediation_worker.main import build_settings

    ws = build_settings(settings, background=False)
    assert ws.timezone == ZoneInfo("Asia/Shanghai")
    monthly = next(c for c in ws.cron_jobs if c.name == "cron:scheduled_monthly_stats")
    assert (monthly.day, monthly.hour, monthly.minute) == ({1}, {1}, {0})

    at(world, bj(2026, 12, 1, 1, 0))
    await enqueue("scheduled_monthly_stats")
    await run_worker(relay=False)
    await enqueue("scheduled_monthly_stats")  # fired twice (two workers, a retry): one report
    await run_worker(relay=False)
    rows = await sql(
        "SELECT year, month, version, trigger FROM stats_reports WHERE kind = 'monthly'"
    )
    assert rows == [(2026, 11, 1, "scheduled")]
    jobs = await sql("SELECT status, dedupe_key FROM jobs")
    assert jobs == [("succeeded", "scheduled:2026-11")]
    r = await client.get(MONTHLY, headers=await world.headers("supervisor"))  # default month
    assert r.status_code == 200
    assert (r.json()["month"], r.json()["trigger"]) == ("2026-11", "scheduled")


async def test_a_lost_job_is_queued_again_by_the_sweeper(
    client: httpx.AsyncClient, world: World, run_worker: Any, enqueue: Any, sql: Any
) -> None:
    from datetime import timedelta

    r = await client.post(f"{MONTHLY}/2026/10/recompute", headers=await world.headers("supervisor"))
    assert r.status_code == 202
    # The event never reached a worker (say Redis lost the job): nothing runs without relay.
    world.clock.advance(timedelta(minutes=2))
    await enqueue("sweep_stats_jobs")
    await run_worker(relay=False)
    assert await sql("SELECT status FROM jobs") == [("succeeded",)]
    assert await sql("SELECT count(*) FROM stats_reports") == [(1,)]


async def follow(client: httpx.AsyncClient, problem: dict[str, Any], h: dict[str, str]) -> Any:
    remedy = problem["remedy"]
    assert (
        remedy["href"] in problem["detail"] or remedy["href"].split("?")[0] in (problem["detail"])
    )
    return await client.request(remedy["method"], remedy["href"], headers=h)


async def test_a_month_without_a_report_names_a_remedy_that_works(
    client: httpx.AsyncClient, world: World, run_worker: Any, sql: Any
) -> None:
    """Every 404 of a report says where to go instead, and that request works: the current
    month (26 November 2026) → its figures so far; an ended month → its recomputation (for
    those who may compute) or its counts from the cases; a missing version → the versions."""
    sup = await world.headers("supervisor")
    disp = await world.headers("dispatcher")
    street = {"unit_id": str(world.unit(STREET).id)}

    for url in (MONTHLY, f"{MONTHLY}/export.csv", f"{MONTHLY}/export.xlsx"):
        r = await client.get(url, params={"month": "2026-11", **street}, headers=disp)
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert problem["remedy"] == {
            "method": "GET",
            "href": f"/api/v1/stats/live?unit_id={street['unit_id']}",
        }
        live = await follow(client, problem, disp)
        assert live.status_code == 200 and live.json()["month"] == "2026-11"
        assert live.json()["unit"]["code"] == STREET
        # Recomputing the month now is refused, and says the same.
        r = await client.post(f"{MONTHLY}/2026/11/recompute", headers=sup)
        assert r.status_code == 422 and "GET /api/v1/stats/live" in r.json()["detail"]
        assert r.json()["code"] == "month-not-ended"

    # A month that has not begun is not a month to ask for.
    r = await client.get(MONTHLY, params={"month": "2026-12"}, headers=disp)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.month"
    assert r.json()["code"] == "month-not-begun"
    for month in ("0000-01", "9999-12", "1999-12", "2101-01"):
        r = await client.get(MONTHLY, params={"month": month}, headers=disp)
        assert r.status_code == 422, (month, r.text)

    # An ended month: the dispatcher (no stats:compute) is pointed at the counts ...
    r = await client.get(MONTHLY, params={"month": "2026-07"}, headers=disp)
    assert r.status_code == 404
    trend = await follow(client, r.json(), disp)
    assert trend.status_code == 200 and trend.json()["points"][-1]["month"] == "2026-07"
    # ... the supervisor at the recomputation, which makes the report.
    r = await client.get(MONTHLY, params={"month": "2026-07"}, headers=sup)
    assert r.status_code == 404
    problem = r.json()
    assert problem["remedy"] == {
        "method": "POST",
        "href": "/api/v1/stats/monthly/2026/7/recompute",
    }
    job = await follow(client, problem, sup)
    assert job.status_code == 202
    await run_worker()
    r = await client.get(MONTHLY, params={"month": "2026-07"}, headers=sup)
    assert r.status_code == 200 and r.json()["version"] == 1

    # A version that does not exist: the list of those that do.
    for version in (2, 2147483647):
        r = await client.get(MONTHLY, params={"month": "2026-07", "version": version}, headers=sup)
        assert r.status_code == 404 and "latest is version 1" in r.json()["detail"]
        versions = await follow(client, r.json(), sup)
        assert [v["version"] for v in versions.json()["items"]] == [1]
    # Beyond what the database holds: a 422, not a 500.
    for url in (MONTHLY, f"{MONTHLY}/export.csv", f"{MONTHLY}/export.xlsx"):
        r = await client.get(url, params={"month": "2026-07", "version": 2147483648}, headers=sup)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.version"


async def test_the_versions_of_a_month_to_come_are_refused_like_its_report(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    """The acceptance audit: a month that has not begun (the tests' today is 26 November 2026)
    is refused by its report, its trend and its exports with 422 `month-not-begun`; its
    versions answered an empty page, as if it had simply not been computed yet."""
    h = await world.headers("supervisor")
    counts = "SELECT (SELECT count(*) FROM stats_reports), (SELECT count(*) FROM jobs)"
    before = await sql(counts)
    for month in ("2026-12", "2099-01"):
        for url in (MONTHLY, f"{MONTHLY}/trend", f"{MONTHLY}/versions"):
            r = await client.get(url, params={"month": month}, headers=h)
            assert r.status_code == 422, (url, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == "month-not-begun"
            assert [e["field"] for e in r.json()["errors"]] == ["query.month"]
            assert f"{month} has not begun" in r.json()["detail"]
    # The current month has begun: no version yet, an empty page.
    r = await client.get(f"{MONTHLY}/versions", params={"month": "2026-11"}, headers=h)
    assert r.status_code == 200 and r.json()["items"] == []
    assert await sql(counts) == before
