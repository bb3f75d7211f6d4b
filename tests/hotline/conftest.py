"""Helpers of the hotline tests: a valid call body, people by demo username, a counselor of
another workstation, and running the retention job through the worker's own start-up."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from arq import create_pool

from mediation.settings import Settings
from tests.support.world import World

CALLS = "/api/v1/hotline/calls"
SHIFTS = "/api/v1/hotline/duty-shifts"
XIYUAN = "220302001002"  # 西园社区: the demo counseling workstation
XIANFENG = "220302001001"  # 先锋社区: another community

HOTLINE_ROLES = {"counselor", "hotline_supervisor"}
OTHER_ROLES = [
    "system_admin",
    "security_admin",
    "audit_admin",
    "supervisor",
    "dispatcher",
    "grid_head",
    "building_head",
    "unit_head",
    "owners_committee",
    "police",
    "legal_advisor",
    "mediator",
    "judicial_mediator",
]
ALL_ROLES = [*OTHER_ROLES, "counselor", "hotline_supervisor"]


def call_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "started_at": "2026-11-26T09:40:00+08:00",
        "ended_at": "2026-11-26T09:58:30+08:00",
        "channel": "phone",
        "call_type": "valid",
        "caller": {
            "anonymous": True,
            "age_band": "30_44",
            "gender": "female",
            "is_minor": False,
            "number": "139 1234 5678",
            "callback_consent": True,
            "callback_number": "13912345678",
        },
        "topics": ["marriage_family"],
        "risk_level": "low",
        "risk_assessment": {
            "suicidal_desire": True,
            "desire_factors": ["hopelessness"],
            "suicidal_capability": False,
            "suicidal_intent": False,
            "buffers": ["social_support"],
        },
        "actions": ["counseling"],
        "summary": "来电者因婚姻矛盾情绪低落，经疏导后情绪平稳。",
        "follow_up_due": "2026-11-27T10:00:00+08:00",
    }
    body.update(overrides)
    return body


HIGH_RISK = {
    "risk_level": "high",
    "imminent_risk": True,
    "risk_assessment": {
        "suicidal_desire": True,
        "desire_factors": ["ideation"],
        "suicidal_capability": True,
        "capability_factors": ["available_means"],
        "suicidal_intent": True,
        "intent_factors": ["plan_with_method"],
    },
    "actions": ["crisis_intervention", "police_contacted"],
}


async def person_of(world: World, username: str) -> uuid.UUID:
    from sqlalchemy import select

    from mediation.auth.models import User

    async with world.db() as session:
        return (
            await session.scalars(select(User.person_id).where(User.username == username))
        ).one()


@pytest.fixture
async def other_counselor(world: World) -> str:
    """A counselor of 先锋社区: must see nothing of 西园社区's calls."""
    from mediation.auth.accounts import add_account
    from mediation.org.enums import Role

    async with world.db() as session, session.begin():
        await add_account(
            session,
            username="counselor_xf",
            name="何咨询",
            role=Role.counselor,
            unit_id=world.unit(XIANFENG).id,
            password="demo-password",
            starts_on=date(2020, 1, 1),
        )
    return "counselor_xf"


@pytest.fixture
def run_job(settings: Settings, clock: Any) -> Any:
    """Runs a worker job function with the context the worker's own start-up builds."""
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
