"""Helpers of the outreach tests: addresses, demo places and people, a second grid with its own
heads (who must see nothing of the first grid), and counting what was written."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from mediation.auth.accounts import add_account
from mediation.auth.models import User
from mediation.org.enums import Role
from tests.support.world import PASSWORD, World

ACTIVITIES = "/api/v1/outreach/activities"
SERIES = "/api/v1/outreach/class-series"
CLASSES = "/api/v1/outreach/classes"
SUMMARY = "/api/v1/outreach/summary"
OPINIONS = "/api/v1/opinions"
ROTA = "/api/v1/duty-rota"

DISTRICT = "220302"  # 铁西区
XIANFENG = "220302001001"  # 先锋社区
XIYUAN = "220302001002"  # 西园社区
GRID1 = "220302001001G01"  # 先锋社区第一网格: the demo grid, building and unit heads
GRID2 = "220302001001G02"  # 先锋社区第二网格
BUILDING1 = "220302001001G01B01"  # 1号楼
UNIT1 = "220302001001G01B01U01"
BUILDING_G2 = "220302001001G02B01"  # 5号楼, in the second grid


async def person_id(world: World, username: str) -> str:
    async with world.db() as session:
        pid = await session.scalar(select(User.person_id).where(User.username == username))
    assert pid is not None, username
    return str(pid)


@pytest.fixture
async def grid2(world: World) -> dict[str, str]:
    """The second grid's head and a building head there: usernames."""
    async with world.db() as session, session.begin():
        for username, name, role, code in [
            ("grid_head_2", "钱二网格", Role.grid_head, GRID2),
            ("building_head_2", "周五号楼", Role.building_head, BUILDING_G2),
        ]:
            await add_account(
                session,
                username=username,
                name=name,
                role=role,
                unit_id=world.unit(code).id,
                password=PASSWORD,
                starts_on=date(2020, 1, 1),
            )
    return {"grid_head": "grid_head_2", "building_head": "building_head_2"}


@pytest.fixture
def counts(sql: Any) -> Any:
    """Rows of an outreach table and of the outbox: equal before and after = nothing written."""

    async def run(table: str) -> tuple[int, int]:
        rows = await sql(
            f"SELECT (SELECT count(*) FROM {table}), (SELECT count(*) FROM outbox_events)"
        )
        return int(rows[0][0]), int(rows[0][1])

    return run


def field_errors(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body.get("errors") or []}


def unit_id(world: World, code: str) -> str:
    return str(world.unit(code).id)


def new_key() -> str:
    return uuid.uuid4().hex
