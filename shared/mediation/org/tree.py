"""Creating nodes of the jurisdiction tree and reading subtrees (shared by the API, the CLI
and the demo loader)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.errors import Unprocessable
from mediation.org.enums import UnitLevel, child_level
from mediation.org.models import UNIT_SEQ, Unit


async def next_seq(session: AsyncSession) -> int:
    return int(await session.scalar(select(UNIT_SEQ.next_value())))  # type: ignore[arg-type]


def child_path(parent_path: str | None, seq: int) -> str:
    return f"{parent_path or ''}{seq}."


def check_child_level(parent: Unit | None, level: UnitLevel) -> None:
    if parent is None:
        if level not in (UnitLevel.city, UnitLevel.district):
            raise Unprocessable("A root node must be a city or a district.", field="body.level")
        return
    if child_level(parent.level) != level:
        expected = child_level(parent.level)
        raise Unprocessable(
            f"Under a {parent.level.value} the next level is "
            f"{expected.value if expected else 'none'}, not {level.value}.",
            field="body.level",
        )


async def add_unit(
    session: AsyncSession, *, parent: Unit | None, level: UnitLevel, code: str, name: str
) -> Unit:
    check_child_level(parent, level)
    seq = await next_seq(session)
    unit = Unit(
        seq=seq,
        parent_id=parent.id if parent else None,
        level=level,
        code=code,
        name=name,
        path=child_path(parent.path if parent else None, seq),
    )
    session.add(unit)
    await session.flush()
    return unit


async def unit_by_code(session: AsyncSession, code: str) -> Unit | None:
    return (await session.scalars(select(Unit).where(Unit.code == code))).one_or_none()
