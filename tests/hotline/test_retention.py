"""Retention: callback numbers and caller details go after the configured period, never
before 3 years; what the job did is logged and on each call's timeline."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from mediation.settings import Settings
from mediation_worker.hotline.retention import hotline_retention
from tests.hotline.conftest import CALLS, call_body
from tests.support.world import World


def test_retention_cannot_be_set_below_three_years() -> None:
    with pytest.raises(ValidationError):
        Settings(MEDIATION_HOTLINE_RETENTION_DAYS=1095, _env_file=None)
    assert Settings(_env_file=None).hotline_retention_days == 1096
    assert (
        Settings(MEDIATION_HOTLINE_RETENTION_DAYS=3650, _env_file=None).hotline_retention_days
        == 3650
    )


async def test_retention_job_deidentifies_old_calls(
    client: httpx.AsyncClient,
    world: World,
    sql: Any,
    clock: Any,
    run_job: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    h = await world.headers("counselor")
    # logged two days ago, with everything that identifies the caller
    old = (
        await client.post(
            CALLS,
            headers=h,
            json=call_body(
                started_at="2026-11-24T09:40:00+08:00",
                ended_at="2026-11-24T09:58:00+08:00",
                follow_up_due=None,
                caller={
                    "anonymous": False,
                    "alias": "小王",
                    "age_band": "18_29",
                    "gender": "male",
                    "is_minor": False,
                    "number": "13912345678",
                    "callback_consent": True,
                    "callback_number": "13912345678",
                },
            ),
        )
    ).json()
    r = await client.patch(
        f"{CALLS}/{old['id']}",
        headers={**h, "If-Match": f'"{old["id"]}-1"'},
        json={"follow_up_done_at": "2026-11-25T09:59:00+08:00", "follow_up_note": "小王情绪平稳"},
    )
    assert r.status_code == 200
    new = (await client.post(CALLS, headers=h, json=call_body())).json()  # logged today

    # the old call is three years less a day old: nothing happens
    start = clock.now()
    clock.advance(timedelta(days=1093))
    result = await run_job(hotline_retention)
    assert result["calls_deidentified"] == 0
    assert (
        await sql(
            "SELECT callback_number_enc IS NOT NULL, caller_hash IS NOT NULL FROM hotline_calls"
        )
    ) == [(True, True), (True, True)]

    clock.advance(timedelta(days=2))
    caplog.set_level(logging.INFO, logger="mediation.worker.hotline")
    result = await run_job(hotline_retention)
    assert result["calls_deidentified"] == 1 and result["callback_numbers_removed"] == 1
    assert any("1 calls de-identified" in m for m in caplog.messages)
    assert (await run_job(hotline_retention))["calls_deidentified"] == 0  # nothing more to do

    rows = await sql(
        "SELECT id::text, callback_number_enc, callback_key_id, caller_hash, "
        "caller_alias, caller_anonymous, summary, follow_up_note, "
        "caller_age_band, topics, risk_level, deidentified_at IS NOT NULL "
        "FROM hotline_calls ORDER BY started_at"
    )
    assert rows[0][0] == old["id"]
    assert rows[0][1:8] == (None, None, None, None, True, None, None)
    # what the statistics need stays
    assert rows[0][8:] == ("18_29", ["marriage_family"], "low", True)
    assert rows[1][0] == new["id"] and rows[1][1] is not None and rows[1][-1] is False

    clock.set(start)  # read it back through the API (tokens are dated by the clock)
    read = await client.get(f"{CALLS}/{old['id']}", headers=h)
    got = read.json()
    assert got["deidentified_at"] and got["caller"]["callback_number"] is None
    assert got["caller"]["alias"] is None and got["summary"] is None
    assert got["caller"]["repeat_caller"] is False
    timeline = (await client.get(f"{CALLS}/{old['id']}/timeline", headers=h)).json()["items"]
    assert timeline[-1]["kind"] == "deidentified" and timeline[-1]["actor_name"] == "system"
    assert {
        "callback_number_enc",
        "caller_hash",
        "caller_alias",
        "summary",
        "follow_up_note",
    } <= set(timeline[-1]["detail"]["removed"])
    # a de-identified call no longer changes
    r = await client.patch(
        f"{CALLS}/{old['id']}",
        headers={**h, "If-Match": read.headers["etag"]},
        json={"summary": "x"},
    )
    assert r.status_code == 409


async def test_configured_period_longer_than_the_floor(
    world: World, client: httpx.AsyncClient, sql: Any, clock: Any, settings: Settings, run_job: Any
) -> None:
    h = await world.headers("counselor")
    await client.post(CALLS, headers=h, json=call_body())
    clock.advance(timedelta(days=1200))
    from mediation.hotline.rules import retention_cutoff

    assert retention_cutoff(clock.now(), 1500) < retention_cutoff(clock.now(), 1096)
    # with 1500 days configured the call (1200 days old) stays
    longer = settings.model_copy(update={"hotline_retention_days": 1500})
    ws_run = _runner(longer, clock)
    assert (await ws_run(hotline_retention))["calls_deidentified"] == 0
    assert (await run_job(hotline_retention))["calls_deidentified"] == 1


def _runner(settings: Settings, clock: Any) -> Any:
    from arq import create_pool
    from arq.connections import RedisSettings

    from mediation_worker.main import build_settings

    async def run(job: Any) -> Any:
        ws = build_settings(settings, clock, background=False)
        redis = await create_pool(RedisSettings.from_dsn(settings.redis_url))
        ctx: dict[str, Any] = {"redis": redis, "job_id": "test"}
        await ws.on_startup(ctx)
        try:
            return await job(ctx)
        finally:
            await ws.on_shutdown(ctx)
            await redis.aclose()

    return run


def test_retention_job_is_scheduled() -> None:
    from mediation_worker.main import build_settings

    names = [c.name for c in build_settings().cron_jobs]
    assert "cron:hotline_retention" in names


async def test_deidentifying_a_call_that_opened_a_case_shows_on_the_case_timeline(
    client: httpx.AsyncClient, world: World, sql: Any, clock: Any, run_job: Any
) -> None:
    """De-identifying is a change of the call, so the case it opened shows it as it shows a
    change through the API: one `hotline_call_changed` entry, by the system, nothing of the
    call (the call named only to its readers); no outbox event, the case's version stays."""
    from tests.hotline.test_open_case import call_that_opened_a_case

    h = await world.headers("counselor")
    call, opened = await call_that_opened_a_case(
        client,
        world,
        h,
        started_at="2026-11-24T09:40:00+08:00",
        ended_at="2026-11-24T09:58:00+08:00",
        follow_up_due=None,
    )
    case_url = f"/api/v1/cases/{opened.json()['case_id']}"
    d = await world.headers("dispatcher")
    before = (await client.get(f"{case_url}/timeline", headers=d)).json()["items"]
    version = (await client.get(case_url, headers=d)).json()["version"]
    outbox = (await sql("SELECT count(*) FROM outbox_events"))[0][0]

    start = clock.now()
    clock.advance(timedelta(days=1095))
    assert (await run_job(hotline_retention))["calls_deidentified"] == 1
    assert (await sql("SELECT count(*) FROM outbox_events"))[0][0] == outbox

    clock.set(start)  # read it back through the API (tokens are dated by the clock)
    timeline = await client.get(f"{case_url}/timeline", headers=d)
    added = timeline.json()["items"][len(before) :]
    assert [(e["type"], e["actor"]["kind"], e["actor"]["name"], e["data"]) for e in added] == [
        ("hotline_call_changed", "system", "系统", {})
    ]
    assert "心理工作站" in added[0]["body"] and added[0]["seq"] == before[-1]["seq"] + 1
    assert "小王" not in timeline.text and "deidentified" not in timeline.text
    mine = (await client.get(f"{case_url}/timeline", headers=h)).json()["items"]
    assert mine[-1]["data"] == {"hotline_call_id": call["id"]}
    assert (await client.get(case_url, headers=d)).json()["version"] == version
