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
