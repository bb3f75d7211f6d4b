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


@factory("import_id")
async def make_import(world: World, unit: Unit) -> str:
    """An import with problems (so its annotated sheet exists) placed at the unit."""
    from mediation.imports.enums import ImportKind, ImportStatus
    from mediation.imports.models import ImportFile

    async with world.db() as session, session.begin():
        imp = ImportFile(
            kind=ImportKind.cases,
            status=ImportStatus.invalid,
            filename="matrix.csv",
            sha256="0" * 64,
            size=1,
            content=b"x",
            unit_id=unit.id,
            unit_path=unit.path,
            scope_paths=[unit.path],
            uploaded_by_id=unit.id,
            uploaded_by_name="矩阵测试",
            rows=1,
            problem_count=1,
            problems=[],
            annotated=b"PK",
        )
        session.add(imp)
        await session.flush()
        return str(imp.id)


# --- case files (issue 12): a bare case at the unit, then what hangs off it ---
async def _bare_case(world: World, unit: Unit) -> uuid.UUID:
    from datetime import UTC, datetime

    from mediation.cases.enums import CaseSource, CaseStatus, Complexity, RiskColour
    from mediation.cases.models import Case

    tag = uuid.uuid4().hex[:12]
    async with world.db() as session, session.begin():
        case = Case(
            number=f"矩阵{tag}",
            number_ascii=f"m-{tag}",
            district_id=unit.id,
            year=2026,
            seq=int(tag[:7], 16),
            title="矩阵案件",
            facts="矩阵",
            category_code="neighbourhood",
            source=CaseSource.walk_in,
            complexity=Complexity.simple,
            risk_colour=RiskColour.yellow,
            status=CaseStatus.received,
            unit_id=unit.id,
            unit_path=unit.path,
            handling_unit_id=unit.id,
            handling_unit_path=unit.path,
            reported_by_kind="user",
            reported_by_id=uuid.uuid4(),
            reported_by_name="矩阵",
            received_at=datetime(2026, 11, 26, 2, 0, tzinfo=UTC),
        )
        session.add(case)
        await session.flush()
        return case.id


@factory("follow_up_id")
async def make_follow_up(world: World, unit: Unit) -> str:
    from datetime import UTC, datetime

    from mediation.cases.enums import FlareUpRisk, FollowUpMethod, PerformanceStatus, Satisfaction
    from mediation.cases.models import CaseFollowUp

    case_id = await _bare_case(world, unit)
    async with world.db() as session, session.begin():
        follow_up = CaseFollowUp(
            case_id=case_id,
            visited_at=datetime(2026, 11, 26, 2, 0, tzinfo=UTC),
            method=FollowUpMethod.phone,
            performance=PerformanceStatus.full,
            satisfaction=Satisfaction.satisfied,
            flare_up_risk=FlareUpRisk.low,
            recorded_at=datetime(2026, 11, 26, 2, 0, tzinfo=UTC),
            recorded_by_name="矩阵",
        )
        session.add(follow_up)
        await session.flush()
        return str(follow_up.id)


@factory("attachment_id")
async def make_attachment(world: World, unit: Unit) -> str:
    from mediation.casefiles.enums import AttachmentCategory, FileType, OwnerType
    from mediation.casefiles.models import Attachment

    case_id = await _bare_case(world, unit)
    async with world.db() as session, session.begin():
        attachment = Attachment(
            owner_type=OwnerType.case,
            owner_id=case_id,
            case_id=case_id,
            unit_id=unit.id,
            unit_path=unit.path,
            category=AttachmentCategory.evidence,
            file_name="矩阵.pdf",
            file_type=FileType.pdf,
            media_type="application/pdf",
            size_bytes=8,
            sha256="0" * 64,
            storage_backend="local",
            storage_key=f"attachments/matrix/{uuid.uuid4()}",
            uploaded_by_kind="user",
            uploaded_by_id=uuid.uuid4(),
            uploaded_by_name="矩阵",
        )
        session.add(attachment)
        await session.flush()
        return str(attachment.id)


# --- sessions (issue 5): a bare case, and a scheduled session of it, at the unit ---
@factory("case_id")
async def make_case(world: World, unit: Unit) -> str:
    return str(await _bare_case(world, unit))


@factory("session_id")
async def make_session(world: World, unit: Unit) -> str:
    from datetime import UTC, datetime

    from mediation.sessions.enums import SessionKind, SessionMode, SessionStatus
    from mediation.sessions.models import MediationSession

    case_id = await _bare_case(world, unit)
    async with world.db() as session, session.begin():
        ms = MediationSession(
            case_id=case_id,
            case_number="矩阵",
            unit_id=unit.id,
            unit_path=unit.path,
            kind=SessionKind.people,
            mode=SessionMode.video,
            status=SessionStatus.scheduled,
            starts_at=datetime(2026, 11, 28, 1, 30, tzinfo=UTC),
            ends_at=datetime(2026, 11, 28, 3, 0, tzinfo=UTC),
            mediator_person_ids=[],
            party_ids=[],
            attended_person_ids=[],
            attended_party_ids=[],
            created_by_name="矩阵",
        )
        session.add(ms)
        await session.flush()
        return str(ms.id)


async def _workstation_person(world: World, unit: Unit) -> uuid.UUID:
    return (await _person(world, unit, Role.counselor)).id


@factory("call_id")
async def make_call(world: World, unit: Unit) -> str:
    from mediation.hotline.enums import CallChannel, CallType
    from mediation.hotline.models import HotlineCall

    counselor = await _workstation_person(world, unit)
    async with world.db() as session, session.begin():
        call = HotlineCall(
            unit_id=unit.id,
            unit_path=unit.path,
            counselor_id=counselor,
            started_at=world.clock.now(),
            channel=CallChannel.phone,
            call_type=CallType.valid,
            topics=[],
            actions=[],
        )
        session.add(call)
        await session.flush()
        return str(call.id)


@factory("shift_id")
async def make_shift(world: World, unit: Unit) -> str:
    from datetime import timedelta

    from mediation.hotline.enums import DutyRole
    from mediation.hotline.models import HotlineDutyShift

    person = await _workstation_person(world, unit)
    async with world.db() as session, session.begin():
        shift = HotlineDutyShift(
            unit_id=unit.id,
            unit_path=unit.path,
            person_id=person,
            duty_role=DutyRole.supervisor,
            starts_at=world.clock.now(),
            ends_at=world.clock.now() + timedelta(hours=8),
        )
        session.add(shift)
        await session.flush()
        return str(shift.id)


async def _unplaced(world: World, unit: Unit) -> str:
    """Records that belong to their owner, not to the tree (webhook subscriptions and their
    deliveries, an inbox item, a party inside a case): no unit to place them at, and no item
    GET of theirs is open to a role below the administrator, so the scope check never reads
    them. A fresh id keeps the coverage check honest about which parameters exist."""
    return str(uuid.uuid4())


for _param in ("subscription_id", "delivery_id", "notification_id", "party_id"):
    FACTORIES[_param] = _unplaced
