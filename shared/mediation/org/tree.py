"""Creating nodes of the jurisdiction tree and reading subtrees (shared by the API, the CLI
and the demo loader)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.errors import Unprocessable, rule_code
from mediation.org.enums import UnitLevel, child_level
from mediation.org.models import UNIT_SEQ, Unit

# Problem codes of the jurisdiction tree's rules (see mediation.errors.rule_code).
UNIT_UNKNOWN = rule_code("unit-unknown", "No unit with this id.")
UNIT_INACTIVE = rule_code("unit-inactive", "The unit is deactivated.")
UNIT_CODE_TAKEN = rule_code("unit-code-taken", "A unit with this code exists.")
UNIT_LEVEL = rule_code(
    "unit-level-invalid",
    "A root node is a city or a district; under a node comes the next level down.",
)
UNIT_IMPORT_INVALID = rule_code(
    "unit-import-invalid",
    "The units import is malformed or has problems (`errors`): nothing was added.",
)
ROLE_OVERLAP = rule_code("role-overlap", "The person already holds this role there in that period.")
ENDS_BEFORE_START = rule_code("ends-before-start", "An end date is before the start.")


async def next_seq(session: AsyncSession) -> int:
    return int(await session.scalar(select(UNIT_SEQ.next_value())))  # type: ignore[arg-type]


def child_path(parent_path: str | None, seq: int) -> str:
    return f"{parent_path or ''}{seq}."


def check_child_level(parent: Unit | None, level: UnitLevel) -> None:
    if parent is None:
        if level not in (UnitLevel.city, UnitLevel.district):
            raise Unprocessable(
                "A root node must be a city or a district.", field="body.level", code=UNIT_LEVEL
            )
        return
    if child_level(parent.level) != level:
        expected = child_level(parent.level)
        raise Unprocessable(
            f"Under a {parent.level.value} the next level is "
            f"{expected.value if expected else 'none'}, not {level.value}.",
            field="body.level",
            code=UNIT_LEVEL,
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
