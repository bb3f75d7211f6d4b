"""Demo data: the district of the seed article (四平市铁西区北沟街道, 先锋社区 and 西园社区) and
one account per role, username = role name. Safe to run twice. Loaded by `mediation seed-demo`
(`make run DEMO=1`) and the tests' `world`; production loads its own tree and accounts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyotp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth import mfa
from mediation.auth.accounts import add_account
from mediation.auth.models import User
from mediation.auth.passwords import hash_password
from mediation.db import standalone, unit_of_work
from mediation.org.enums import Role, UnitLevel
from mediation.org.models import Unit
from mediation.org.tree import add_unit, unit_by_code
from mediation.settings import Settings, get_settings

# (code, name, level, parent code)
TREE: list[tuple[str, str, UnitLevel, str | None]] = [
    ("220300", "四平市", UnitLevel.city, None),
    ("220302", "铁西区", UnitLevel.district, "220300"),
    ("220302001", "北沟街道", UnitLevel.street, "220302"),
    ("220302001001", "先锋社区", UnitLevel.community, "220302001"),
    ("220302001002", "西园社区", UnitLevel.community, "220302001"),
    ("220302001001G01", "先锋社区第一网格", UnitLevel.grid, "220302001001"),
    ("220302001001G02", "先锋社区第二网格", UnitLevel.grid, "220302001001"),
    ("220302001002G01", "西园社区第一网格", UnitLevel.grid, "220302001002"),
    ("220302001001G01B01", "1号楼", UnitLevel.building, "220302001001G01"),
    ("220302001001G01B02", "2号楼", UnitLevel.building, "220302001001G01"),
    ("220302001001G02B01", "5号楼", UnitLevel.building, "220302001001G02"),
    ("220302001002G01B01", "3号楼", UnitLevel.building, "220302001002G01"),
    ("220302001001G01B01U01", "1单元", UnitLevel.unit, "220302001001G01B01"),
    ("220302001001G01B01U02", "2单元", UnitLevel.unit, "220302001001G01B01"),
    ("220302001001G01B02U01", "1单元", UnitLevel.unit, "220302001001G01B02"),
    ("220302001001G02B01U01", "1单元", UnitLevel.unit, "220302001001G02B01"),
    ("220302001002G01B01U01", "1单元", UnitLevel.unit, "220302001002G01B01"),
]

# (username = role, person's name, unit code, qualifications)
ACCOUNTS: list[tuple[Role, str, str, list[str]]] = [
    (Role.system_admin, "系统管理员", "220300", []),
    (Role.security_admin, "安全管理员", "220300", []),
    (Role.audit_admin, "审计管理员", "220300", []),
    (Role.supervisor, "赵督办", "220302", []),
    (Role.dispatcher, "钱调度", "220302", []),
    (Role.grid_head, "孙网格", "220302001001G01", []),
    (Role.building_head, "李楼长", "220302001001G01B01", []),
    (Role.unit_head, "周单元", "220302001001G01B01U01", []),
    (Role.owners_committee, "吴业委", "220302001001G01", []),
    (Role.police, "郑警官", "220302001001", []),
    (Role.legal_advisor, "王顾问", "220302001001", ["律师执业证"]),
    (Role.mediator, "冯调解", "220302001", ["人民调解员证"]),
    (Role.judicial_mediator, "陈法官", "220302", []),
    (Role.counselor, "褚咨询", "220302001002", ["国家二级心理咨询师", "家庭教育指导师"]),
    (Role.hotline_supervisor, "卫督导", "220302001002", ["国家二级心理咨询师"]),
]


async def load(
    session: AsyncSession,
    password: str,
    today: date,
    *,
    password_hash: str | None = None,
    settings: Settings | None = None,
) -> int:
    """`password_hash`, when given, is that of `password` (a caller loading often hashes once).

    Demo passwords never expire and need no first change (`password_changed_at` NULL); the
    accounts that must have a second factor (the administrators, and the roles
    MEDIATION_MFA_REQUIRED_ROLES names) are enrolled with MEDIATION_DEMO_TOTP_SECRET."""
    settings = settings or get_settings()
    totp_secret = settings.demo_totp_secret.get_secret_value()
    created = 0
    # One hash for all demo accounts: fast to load.
    shared_hash = password_hash or hash_password(password)
    units: dict[str, Unit] = {}
    for code, name, level, parent_code in TREE:
        unit = await unit_by_code(session, code)
        if unit is None:
            parent = units[parent_code] if parent_code else None
            unit = await add_unit(session, parent=parent, level=level, code=code, name=name)
            created += 1
        units[code] = unit
    for role, name, unit_code, quals in ACCOUNTS:
        exists = (await session.scalars(select(User.id).where(User.username == role.value))).first()
        if exists:
            continue
        user = await add_account(
            session,
            username=role.value,
            name=name,
            role=role,
            unit_id=units[unit_code].id,
            password=None,
            password_hash=shared_hash,
            starts_on=today,
            phone="13800000000",
            qualifications=quals,
        )
        if mfa.required_for(frozenset({role}), settings):
            # Enrolled without the confirmation round an authenticator app would need.
            mfa.store_secret(user, totp_secret, settings)
            user.totp_confirmed_at = datetime.now(UTC)
        created += 1
    return created


async def seed_demo(settings: Settings) -> int:
    async with standalone(settings) as sessions, unit_of_work(sessions) as session:
        return await load(
            session, settings.demo_password.get_secret_value(), date(2020, 1, 1), settings=settings
        )


def demo_code(secret: str, at: datetime) -> str:
    """The code an authenticator app shows at `at` for a demo account's secret."""
    return pyotp.TOTP(secret).at(at)
