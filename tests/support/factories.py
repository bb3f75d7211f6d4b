"""Records placed at a given unit, for the access matrix: each path parameter that names a
record has a factory here. A new route whose record has no factory fails the matrix."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date

from mediation.auth.accounts import add_account
from mediation.auth.models import ApiClient
from mediation.org.enums import Role
from mediation.org.models import Person, RoleAssignment, Unit
from tests.support.world import World

Factory = Callable[[World, Unit], Awaitable[str]]
FACTORIES: dict[str, Factory] = {}


def factory(param: str) -> Callable[[Factory], Factory]:
    def register(fn: Factory) -> Factory:
        FACTORIES[param] = fn
        return fn

    return register


@factory("unit_id")
async def make_unit(world: World, unit: Unit) -> str:
    return str(unit.id)


async def _person(world: World, unit: Unit, role: Role = Role.mediator) -> Person:
    async with world.db() as session, session.begin():
        person = Person(name="矩阵测试", phone="13700000000", qualifications=[])
        session.add(person)
        await session.flush()
        session.add(
            RoleAssignment(
                person_id=person.id, unit_id=unit.id, role=role, starts_on=date(2020, 1, 1)
            )
        )
        return person


@factory("person_id")
async def make_person(world: World, unit: Unit) -> str:
    return str((await _person(world, unit)).id)


@factory("assignment_id")
async def make_assignment(world: World, unit: Unit) -> str:
    person = await _person(world, unit)
    async with world.db() as session:
        from sqlalchemy import select

        return str(
            await session.scalar(
                select(RoleAssignment.id).where(RoleAssignment.person_id == person.id)
            )
        )


@factory("user_id")
async def make_user(world: World, unit: Unit) -> str:
    async with world.db() as session, session.begin():
        user = await add_account(
            session,
            username=f"m{uuid.uuid4().hex[:10]}",
            name="矩阵",
            role=Role.mediator,
            unit_id=unit.id,
            password=None,
            password_hash="x",
            starts_on=date(2020, 1, 1),
        )
        return str(user.id)


@factory("client_uuid")
async def make_client(world: World, unit: Unit) -> str:
    async with world.db() as session, session.begin():
        client = ApiClient(
            client_id=f"c{uuid.uuid4().hex[:10]}",
            name="矩阵",
            secret_hash="x",
            scopes=["cases:read"],
            unit_id=unit.id,
        )
        session.add(client)
        await session.flush()
        return str(client.id)


# --- outreach (issue 9): records written straight to the tables, at any level of the tree ---
async def _outreach(world: World, record: object) -> str:
    async with world.db() as session, session.begin():
        session.add(record)
        await session.flush()
        return str(record.id)  # type: ignore[attr-defined]


@factory("activity_id")
async def make_activity(world: World, unit: Unit) -> str:
    from mediation.outreach.enums import ActivityVenue
    from mediation.outreach.models import OutreachActivity

    return await _outreach(
        world,
        OutreachActivity(
            unit_id=unit.id,
            unit_path=unit.path,
            venue=ActivityVenue.community,
            title="矩阵宣传",
            held_on=date(2026, 11, 1),
            organiser="矩阵",
            partners=[],
            participants=10,
        ),
    )


async def _series(world: World, unit: Unit) -> object:
    from datetime import time

    from mediation.outreach.enums import Weekday
    from mediation.outreach.models import ClassSeries

    return ClassSeries(
        id=uuid.uuid4(),
        unit_id=unit.id,
        unit_path=unit.path,
        title="矩阵微课",
        weekday=Weekday.wednesday,
        start_time=time(19, 30),
        default_duration_minutes=45,
        starts_on=date(2026, 1, 1),
    )


@factory("series_id")
async def make_series(world: World, unit: Unit) -> str:
    return await _outreach(world, await _series(world, unit))


@factory("class_id")
async def make_class(world: World, unit: Unit) -> str:
    from datetime import UTC, datetime

    from mediation.outreach.models import MicroClass

    series_id = uuid.UUID(await make_series(world, unit))
    return await _outreach(
        world,
        MicroClass(
            series_id=series_id,
            unit_id=unit.id,
            unit_path=unit.path,
            held_at=datetime(2026, 11, 25, 11, 30, tzinfo=UTC),
            topic="矩阵",
            lecturer="矩阵",
            duration_minutes=45,
            participants=10,
        ),
    )


@factory("opinion_id")
async def make_opinion(world: World, unit: Unit) -> str:
    from mediation.outreach.enums import OpinionStatus
    from mediation.outreach.models import ResidentOpinion

    person = await _person(world, unit, Role.grid_head)
    return await _outreach(
        world,
        ResidentOpinion(
            unit_id=unit.id,
            unit_path=unit.path,
            collector_id=person.id,
            collector_role=Role.grid_head,
            collected_on=date(2026, 11, 1),
            category="other",
            text="矩阵意见",
            status=OpinionStatus.received,
        ),
    )


@factory("slot_id")
async def make_slot(world: World, unit: Unit) -> str:
    from mediation.outreach.models import DutySlot

    person = await _person(world, unit, Role.grid_head)
    return await _outreach(
        world,
        DutySlot(
            unit_id=unit.id,
            unit_path=unit.path,
            duty_date=date(2026, 11, 30),
            person_id=person.id,
            role=Role.grid_head,
        ),
    )


@factory("job_id")
async def make_job(world: World, unit: Unit) -> str:
    from mediation.stats.enums import JobKind, JobStatus, ReportTrigger
    from mediation.stats.models import Job

    async with world.db() as session, session.begin():
        job = Job(
            kind=JobKind.stats_monthly,
            status=JobStatus.queued,
            trigger=ReportTrigger.on_demand,
            unit_id=unit.id,
            unit_path=unit.path,
            year=2026,
            month=10,
        )
        session.add(job)
        await session.flush()
        return str(job.id)
