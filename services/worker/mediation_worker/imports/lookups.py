"""What validating a file needs from the database: the units (by code and by path of
names), the dispute categories, the numbers already used."""

from __future__ import annotations

import uuid

from sqlalchemy import String, any_, cast, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.cases.models import Case
from mediation.imports.cases import Lookups, UnitRef
from mediation.org.enums import UnitLevel
from mediation.org.models import Unit
from mediation.reference.data import ReferenceKind
from mediation.reference.models import ReferenceItem


async def load_lookups(session: AsyncSession, scope_paths: tuple[str, ...]) -> Lookups:
    units = (
        await session.execute(
            select(
                Unit.id, Unit.parent_id, Unit.code, Unit.name, Unit.level, Unit.path, Unit.active
            )
        )
    ).all()
    by_id = {u.id: u for u in units}
    by_code: dict[str, UnitRef] = {}
    by_names: dict[str, UnitRef] = {}
    for u in units:
        chain = [u]
        while chain[-1].parent_id is not None and chain[-1].parent_id in by_id:
            chain.append(by_id[chain[-1].parent_id])
        chain.reverse()
        district = next((x for x in chain if x.level is UnitLevel.district), None)
        ref = UnitRef(
            id=u.id,
            code=u.code,
            path=u.path,
            level=u.level.value,
            active=u.active,
            district_id=district.id if district else None,
            district_name=district.name if district else None,
            district_code=district.code if district else None,
            lineage_ids=tuple(x.id for x in chain),
        )
        by_code[u.code] = ref
        by_names["/".join(x.name for x in chain)] = ref
        # 第一网格 under 先锋社区 is also written 先锋社区第一网格 (and the other way round).
        if len(chain) > 1 and u.name.startswith(chain[-2].name):
            short = u.name[len(chain[-2].name) :]
            by_names.setdefault("/".join([*(x.name for x in chain[:-1]), short]), ref)
    items = (
        await session.execute(
            select(ReferenceItem.code, ReferenceItem.label_zh).where(
                ReferenceItem.kind == ReferenceKind.dispute_category.value,
                ReferenceItem.enabled.is_(True),
            )
        )
    ).all()
    categories = {code: code for code, _ in items} | {zh: code for code, zh in items}
    return Lookups(
        units_by_code=by_code,
        units_by_names=by_names,
        categories=categories,
        scope_paths=scope_paths,
    )


async def numbers_used(session: AsyncSession, sha256: str, numbers: set[str]) -> set[str]:
    """Those of `numbers` that cases not imported from this very file already carry."""
    if not numbers:
        return set()
    # One array parameter (a file can hold 100,000 numbers: too many for IN (...)).
    wanted = cast(list(numbers), ARRAY(String))
    rows = await session.execute(
        select(Case.number, Case.number_ascii).where(
            or_(Case.number == any_(wanted), Case.number_ascii == any_(wanted)),
            Case.import_sha256.is_distinct_from(sha256),
        )
    )
    return {x for r in rows.all() for x in r} & numbers


def unit_ids(lookups: Lookups) -> dict[uuid.UUID, UnitRef]:
    return {u.id: u for u in lookups.units_by_code.values()}
