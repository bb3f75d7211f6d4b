"""A known dataset for the monthly statistics, built through the cases API with the clock moved
to each step (hotline calls, outreach and sessions written straight to their tables), and the
helpers to run the statistics through a real worker.

October 2026 in the demo district (北沟街道: 先锋社区 = A, 西园社区 = B). Deadline rules are set
to hours so the overdue figures can be worked out by hand: first response 24 h, mediation
240 h, follow-up 240 h.

    C1  A 1号楼, neighbourhood, grid_report: recv 10-03 09:00, acc 10:00, police;
        resolved 10-31 23:59 (2000.00; 民转刑 2 people); performance partial 11-05
    C2  A 5号楼, marriage_family, walk_in: recv 10-05 09:00, acc 09:30, mediator + police;
        resolved 10-15 09:00 (500.00; 上访 10, 自杀 1); follow-up 10-20 (full); session 10-14
    C3  B 3号楼, contract, court_referral: recv 10-10 14:00, acc 15:00, escalated, judicial;
        failed 10-20 10:00
    C4  A 1号楼, neighbourhood, hotline: recv 10-20 10:00, never accepted
    C5  A 1号楼 -> B grid, property_management, petition_office: recv 10-08 09:00, acc 10:00,
        mediator; moved to 西园 and transferred to 西园's counselor 10-12; still open
    C6  B 3号楼, neighbourhood, online: recv 09-30 23:30, acc 23:45, counselor;
        resolved 11-01 00:00:30 (100.00)
    C7  A 1号楼, neighbourhood, grid_report: 2025-10-15 .. resolved 2025-10-20 (300.00)
    C8  B 3号楼, other, walk_in: recv 10-25 09:00, withdrawn 15:00
    C9  A 5号楼, neighbourhood, grid_report: recv 09-10 09:00 .. resolved 09-12 09:00
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import httpx
import pytest
from arq import create_pool

from mediation.clock import CENTER_TZ
from mediation.hotline.enums import CallChannel, CallType, RiskLevel
from mediation.hotline.models import HotlineCall
from mediation.org.models import Unit
from mediation.outreach.enums import ActivityVenue, Weekday
from mediation.outreach.models import ClassSeries, MicroClass, OutreachActivity
from mediation.sessions.enums import SessionKind, SessionMode, SessionStatus
from mediation.sessions.models import MediationSession
from mediation.settings import Settings
from tests.cases.conftest import act, at, case_body, person_id
from tests.support.world import World

CASES = "/api/v1/cases"
DISTRICT = "220302"
STREET = "220302001"
A = "220302001001"  # 先锋社区
A_GRID1 = "220302001001G01"
A_B1 = "220302001001G01B01"  # 1号楼
A_B5 = "220302001001G02B01"  # 5号楼 (second grid)
A_GRID2 = "220302001001G02"
B = "220302001002"  # 西园社区 (also the counseling workstation)
B_GRID = "220302001002G01"
B_B3 = "220302001002G01B01"  # 3号楼
CITY = "220300"

HOURS = {"first_response": 24, "mediation": 240, "follow_up": 240}


def bj(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=CENTER_TZ)


@dataclass
class Dataset:
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)


async def _set_hour_rules(world: World) -> None:
    from sqlalchemy import text

    async with world.db() as session, session.begin():
        for stage, amount in HOURS.items():
            for complexity in ("simple", "complex", "difficult"):
                await session.execute(
                    text(
                        "INSERT INTO deadline_rules (stage, complexity, unit, amount, version) "
                        "VALUES (:s, :c, 'hours', :a, 1) ON CONFLICT (stage, complexity) "
                        "DO UPDATE SET unit = 'hours', amount = :a"
                    ),
                    {"s": stage, "c": complexity, "a": amount},
                )


class Builder:
    def __init__(self, world: World, client: httpx.AsyncClient) -> None:
        self.world = world
        self.client = client
        self.people: dict[str, uuid.UUID] = {}

    async def headers(self) -> dict[str, str]:
        return await self.world.headers("dispatcher")

    async def handler(self, username: str, channel: str) -> dict[str, Any]:
        if username not in self.people:
            self.people[username] = await person_id(self.world, username)
        return {"person_id": str(self.people[username]), "channel": channel}

    async def create(self, when: datetime, place: str, **over: Any) -> dict[str, Any]:
        at(self.world, when)
        body = case_body(self.world, unit_id=str(self.world.unit(place).id), **over)
        r = await self.client.post(CASES, json=body, headers=await self.headers())
        assert r.status_code == 201, r.text
        return r.json()

    async def step(
        self, when: datetime, case: dict[str, Any], action: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        at(self.world, when)
        return await act(self.client, await self.headers(), case, action, body)

    async def resolve(self, when: datetime, case: dict[str, Any], amount: str | None) -> Any:
        agreement = {
            "form": "written",
            "terms": "双方同意按约定履行。",
            "performance_method": "现金一次性支付",
            "signed_by_parties": True,
        }
        if amount is not None:
            agreement["amount"] = amount
        return await self.step(when, case, "resolve", {"agreement": agreement})

    async def mediate(
        self, when: datetime, case: dict[str, Any], handlers: list[dict[str, Any]]
    ) -> dict[str, Any]:
        case = await self.step(when, case, "assign", {"handlers": handlers})
        return await self.step(when, case, "start-mediation")


def _flags(**people: int) -> list[dict[str, Any]]:
    return [{"kind": k, "people": n} for k, n in people.items()]


async def build(world: World, client: httpx.AsyncClient) -> Dataset:
    """The dataset of the module docstring; leaves the clock at 2026-11-26 10:00."""
    await _set_hour_rules(world)
    b = Builder(world, client)
    ds = Dataset()
    police = await b.handler("police", "police_joint")
    mediator = await b.handler("mediator", "people")
    judge = await b.handler("judicial_mediator", "judicial")
    counselor = await b.handler("counselor", "psychological")

    # C7: a year before (同比).
    c7 = await b.create(bj(2025, 10, 15, 9), A_B1, source="grid_report", prevention=[])
    c7 = await b.step(bj(2025, 10, 15, 10), c7, "accept")
    c7 = await b.mediate(bj(2025, 10, 15, 10, 10), c7, [police])
    ds.cases["C7"] = await b.resolve(bj(2025, 10, 20, 9), c7, "300.00")

    # C9 and C6: the month before (环比).
    c9 = await b.create(bj(2026, 9, 10, 9), A_B5, source="grid_report", prevention=[])
    c9 = await b.step(bj(2026, 9, 10, 10), c9, "accept")
    c9 = await b.mediate(bj(2026, 9, 10, 10, 10), c9, [police])
    ds.cases["C9"] = await b.resolve(bj(2026, 9, 12, 9), c9, None)

    c6 = await b.create(bj(2026, 9, 30, 23, 30), B_B3, source="online", prevention=[])
    c6 = await b.step(bj(2026, 9, 30, 23, 45), c6, "accept")
    c6 = await b.mediate(bj(2026, 10, 1, 8), c6, [counselor])

    # October.
    c1 = await b.create(
        bj(2026, 10, 3, 9), A_B1, source="grid_report", prevention=_flags(criminal=2)
    )
    c1 = await b.step(bj(2026, 10, 3, 10), c1, "accept")
    c1 = await b.mediate(bj(2026, 10, 3, 11), c1, [police])

    c2 = await b.create(
        bj(2026, 10, 5, 9),
        A_B5,
        category="marriage_family",
        source="walk_in",
        prevention=_flags(group_petition=10, suicide=1),
    )
    c2 = await b.step(bj(2026, 10, 5, 9, 30), c2, "accept")
    c2 = await b.mediate(bj(2026, 10, 5, 9, 40), c2, [mediator, police])

    c5 = await b.create(
        bj(2026, 10, 8, 9),
        A_B1,
        category="property_management",
        source="petition_office",
        prevention=[],
    )
    c5 = await b.step(bj(2026, 10, 8, 10), c5, "accept")
    c5 = await b.mediate(bj(2026, 10, 8, 10, 10), c5, [mediator])

    c3 = await b.create(
        bj(2026, 10, 10, 14), B_B3, category="contract", source="court_referral", prevention=[]
    )
    c3 = await b.step(bj(2026, 10, 10, 15), c3, "accept")
    c3 = await b.step(bj(2026, 10, 10, 15, 10), c3, "escalate", {"reason": "需司法调解"})
    c3 = await b.mediate(bj(2026, 10, 10, 15, 20), c3, [judge])

    # C5 changes community: its place is corrected to 西园 (as a data fix would; the cases API
    # has no move yet) and it is transferred to 西园's counselor.
    await move_case(world, c5["id"], B_GRID)
    c5 = (await client.get(f"{CASES}/{c5['id']}", headers=await b.headers())).json()
    c5 = await b.step(
        bj(2026, 10, 12, 10), c5, "transfer", {"handlers": [counselor], "reason": "转西园社区"}
    )

    ds.cases["C2"] = c2 = await b.resolve(bj(2026, 10, 15, 9), c2, "500.00")
    ds.cases["C3"] = await b.step(
        bj(2026, 10, 20, 10), c3, "fail", {"referral": "litigation", "reason": "分歧较大"}
    )
    ds.cases["C2"] = await b.step(
        bj(2026, 10, 20, 10),
        c2,
        "follow-ups",
        {
            "method": "visit",
            "performance": "full",
            "satisfaction": "satisfied",
            "flare_up_risk": "low",
        },
    )
    ds.cases["C4"] = await b.create(bj(2026, 10, 20, 10), A_B1, source="hotline", prevention=[])
    c8 = await b.create(
        bj(2026, 10, 25, 9), B_B3, category="other", source="walk_in", prevention=[]
    )
    ds.cases["C8"] = await b.step(bj(2026, 10, 25, 15), c8, "withdraw", {"reason": "当事人撤回"})
    # 23:59 Beijing time on the last day: still October (15:59 UTC).
    ds.cases["C1"] = c1 = await b.resolve(bj(2026, 10, 31, 23, 59), c1, "2000.00")
    # Half a minute into November: not October.
    ds.cases["C6"] = await b.resolve(bj(2026, 11, 1, 0, 0, 30), c6, "100.00")
    at(world, bj(2026, 11, 5, 10))
    r = await client.post(
        f"{CASES}/{c1['id']}/agreement/performances",
        json={"performed_on": "2026-11-05", "status": "partial", "amount": "1000.00"},
        headers={**await b.headers(), "If-Match": f'"{c1["id"]}-{c1["version"]}"'},
    )
    assert r.status_code in (200, 201), r.text
    ds.cases["C5"] = c5

    await _sessions(world, ds)
    await _hotline(world)
    await _outreach(world)
    at(world, bj(2026, 11, 26, 10))
    return ds


async def move_case(world: World, case_id: str, place: str) -> None:
    from sqlalchemy import text

    unit = world.unit(place)
    async with world.db() as session, session.begin():
        await session.execute(
            text(
                "UPDATE cases SET unit_id = :u, unit_path = :p, building_id = NULL WHERE id = :id"
            ),
            {"u": unit.id, "p": unit.path, "id": uuid.UUID(case_id)},
        )


async def _sessions(world: World, ds: Dataset) -> None:
    """One session held in October (C2), one only scheduled (C1), one held in November (C3)."""
    rows = [
        ("C2", bj(2026, 10, 14, 14), SessionStatus.held),
        ("C1", bj(2026, 10, 20, 9), SessionStatus.scheduled),
        ("C3", bj(2026, 11, 2, 9), SessionStatus.held),
    ]
    async with world.db() as session, session.begin():
        for name, starts, status in rows:
            case = ds.cases[name]
            unit = await session.get(Unit, uuid.UUID(case["unit"]["id"]))
            assert unit is not None
            session.add(
                MediationSession(
                    case_id=uuid.UUID(case["id"]),
                    case_number=case["number"],
                    unit_id=unit.id,
                    unit_path=unit.path,
                    kind=SessionKind.people,
                    mode=SessionMode.on_site,
                    status=status,
                    starts_at=starts,
                    ends_at=starts.replace(hour=starts.hour + 1),
                    created_by_name="测试",
                )
            )


async def _hotline(world: World) -> None:
    counselor = await person_id(world, "counselor")
    unit = world.unit(B)
    assessment = {"suicidal_desire": True, "desire_factors": ["hopelessness"]}
    calls = [
        # (start, type, topics, level, imminent, follow-up done)
        (
            bj(2026, 10, 5, 20),
            CallType.valid,
            ["minors_mental_health", "special_family"],
            RiskLevel.high,
            False,
            None,
        ),
        (
            bj(2026, 10, 31, 23, 59, 30),
            CallType.valid,
            ["marriage_family"],
            RiskLevel.low,
            False,
            bj(2026, 11, 2, 10),
        ),
        (
            bj(2026, 11, 1, 0, 0, 10),
            CallType.valid,
            ["marriage_family"],
            RiskLevel.low,
            False,
            None,
        ),
        (
            bj(2026, 9, 28, 10),
            CallType.valid,
            ["emotional_distress"],
            RiskLevel.medium,
            False,
            bj(2026, 10, 3, 10),
        ),
        (bj(2026, 10, 10, 12), CallType.silent, [], None, False, None),
        (bj(2026, 10, 12, 3), CallType.valid, ["marriage_family"], RiskLevel.medium, True, None),
    ]
    async with world.db() as session, session.begin():
        for start, kind, topics, level, imminent, done in calls:
            session.add(
                HotlineCall(
                    unit_id=unit.id,
                    unit_path=unit.path,
                    counselor_id=counselor,
                    started_at=start,
                    ended_at=start.replace(second=59),
                    duration_seconds=59,
                    channel=CallChannel.phone,
                    call_type=kind,
                    caller_anonymous=True,
                    topics=topics,
                    risk_level=level,
                    imminent_risk=imminent,
                    risk_assessment=assessment if level is not None else None,
                    actions=[],
                    follow_up_done_at=done,
                )
            )


async def _outreach(world: World) -> None:
    district = world.unit(DISTRICT)
    async with world.db() as session, session.begin():
        for code, held_on, people in (
            (A, date(2026, 10, 31), 40),
            (STREET, date(2026, 10, 1), 100),
            (A, date(2026, 11, 1), 25),
            (B, date(2026, 9, 15), 30),
        ):
            u = world.unit(code)
            session.add(
                OutreachActivity(
                    unit_id=u.id,
                    unit_path=u.path,
                    venue=ActivityVenue.community,
                    title="法治宣传进社区",
                    held_on=held_on,
                    organiser="北沟街道综治中心",
                    partners=[],
                    participants=people,
                )
            )
        series = ClassSeries(
            id=uuid.uuid4(),
            unit_id=district.id,
            unit_path=district.path,
            title="公益微课",
            weekday=Weekday.wednesday,
            start_time=time(19, 30),
            default_duration_minutes=45,
            starts_on=date(2026, 1, 1),
        )
        session.add(series)
        await session.flush()
        for held, people in (
            (datetime(2026, 10, 28, 11, 30, tzinfo=UTC), 300),
            (datetime(2026, 11, 4, 11, 30, tzinfo=UTC), 280),
        ):
            session.add(
                MicroClass(
                    series_id=series.id,
                    unit_id=district.id,
                    unit_path=district.path,
                    held_at=held,
                    topic="婚姻家庭纠纷预防",
                    lecturer="王顾问",
                    duration_minutes=45,
                    participants=people,
                )
            )


@pytest.fixture
async def dataset(world: World, client: httpx.AsyncClient) -> Dataset:
    return await build(world, client)


@pytest.fixture
def enqueue(settings: Settings) -> Any:
    """Queue an arq job by name (what cron would start), for the next `run_worker()`."""

    async def run(name: str, *args: Any) -> None:
        from mediation_worker.main import build_settings

        ws = build_settings(settings, background=False)
        pool = await create_pool(ws.redis_settings, default_queue_name=settings.arq_queue)
        try:
            await pool.enqueue_job(name, *args)
        finally:
            await pool.aclose()

    return run


async def recompute(
    client: httpx.AsyncClient, world: World, run_worker: Any, year: int, month: int
) -> dict[str, Any]:
    """POST a recomputation as the supervisor, run the worker, return the finished job."""
    h = await world.headers("supervisor")
    r = await client.post(f"/api/v1/stats/monthly/{year}/{month}/recompute", headers=h)
    assert r.status_code == 202, r.text
    await run_worker()
    job = await client.get(r.headers["location"], headers=h)
    assert job.status_code == 200, job.text
    assert job.json()["status"] == "succeeded", job.json()
    return job.json()
