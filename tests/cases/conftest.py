"""Helpers for the case tests: request bodies, people, moving the clock, an integration client."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from mediation.auth.models import ApiClient, User
from mediation.auth.passwords import hash_password
from mediation.clock import CENTER_TZ
from tests.support.world import World

CASES = "/api/v1/cases"
GRID = "220302001001G01"  # 先锋社区第一网格, the demo grid head's grid
BUILDING = "220302001001G01B01"  # 1号楼 in that grid
OTHER_GRID = "220302001002G01"  # 西园社区第一网格
VALID_ID = "11010519491231002X"  # checksum correct (GB 11643 example)
MINOR_ID = "220302201505050013"  # born 2015-05-05


def valid_id(prefix17: str) -> str:
    """Complete 17 digits with the right check digit."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(prefix17, weights, strict=True))
    return prefix17 + "10X98765432"[total % 11]


def case_body(world: World, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "楼上漏水纠纷",
        "facts": "1号楼1单元502室卫生间漏水，楼下402室天花板受损，双方协商未果。",
        "claims": "要求修复漏水并赔偿维修费用。",
        "category": "neighbourhood",
        "source": "grid_report",
        "complexity": "simple",
        "risk_colour": "yellow",
        "unit_id": str(world.unit(BUILDING).id),
        "amount_involved": "3000.00",
        "prevention": [{"kind": "criminal", "people": 2}],
        "parties": [
            {
                "kind": "person",
                "side": "applicant",
                "name": "张三",
                "phone": "13900001111",
                "id_number": VALID_ID,
            },
            {"kind": "person", "side": "respondent", "name": "李四", "phone": "13900002222"},
        ],
    }
    body.update(over)
    return body


async def person_id(world: World, username: str) -> uuid.UUID:
    async with world.db() as session:
        return (
            await session.scalars(select(User.person_id).where(User.username == username))
        ).one()


def at(world: World, when: datetime) -> None:
    """Move the clock; tokens issued at another time are dropped so sign-in happens again."""
    world.clock.set(when.replace(tzinfo=CENTER_TZ) if when.tzinfo is None else when)
    world._tokens.clear()


async def act(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    case: dict[str, Any],
    action: str,
    body: dict[str, Any] | None = None,
    expect: int = 200,
    **extra_headers: str,
) -> dict[str, Any]:
    """POST an action with the case's current ETag; returns the new case."""
    etag = f'"{case["id"]}-{case["version"]}"'
    r = await client.post(
        f"{CASES}/{case['id']}/{action}",
        json=body or {},
        headers={**headers, "If-Match": etag, **extra_headers},
    )
    assert r.status_code == expect, r.text
    return r.json()


@pytest.fixture
async def integration_client(world: World, client: httpx.AsyncClient) -> dict[str, str]:
    """The district's police platform as an integration client; returns auth headers."""
    async with world.db() as session, session.begin():
        session.add(
            ApiClient(
                client_id="police-110",
                secret_hash=hash_password("s3cret-police-110"),
                name="公安110联动平台",
                scopes=["cases:create", "cases:read"],
                unit_id=world.unit("220302").id,
            )
        )
    r = await client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "police-110",
            "client_secret": "s3cret-police-110",
        },
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def advance(world: World, delta: timedelta) -> None:
    at(world, world.clock.now() + delta)
