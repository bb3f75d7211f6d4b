"""What validating a file needs from the database: the units (by code and by path of
names), the dispute categories and hotline topics, the counselors of the jurisdiction, the
numbers already used."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Integer,
    String,
    any_,
    cast,
    func,
    or_,
    select,
    tuple_,
    union,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.models import User
from mediation.cases.models import Case
from mediation.clock import center_date
from mediation.imports.enums import ImportKind
from mediation.imports.rows import CaseRef, Lookups, UnitRef
from mediation.org.enums import Role, UnitLevel
from mediation.org.models import Person, RoleAssignment, Unit
from mediation.reference.data import ReferenceKind
from mediation.reference.models import ReferenceItem
from mediation.stats.balances import OpeningBalance

# The ASCII form of a number: the district's code, the year, the sequence.
_ASCII_NUMBER = re.compile(r"^(.+)-(\d{4})-(\d{1,9})$")


def _numbered(numbers: set[str], *columns: Any) -> CompoundSelect:
    """`columns` of the cases whose number or ASCII number is one of `numbers`, each case
    once. The ASCII number has no index of its own (migration 0027: it is the district's
    code, year and sequence, unique by the (district_id, year, seq) key), so it is looked up
    by that key; the equality on `number_ascii` keeps the match exact."""
    wanted = cast(sorted(numbers), ARRAY(String))
    parsed = [m.groups() for n in sorted(numbers) if (m := _ASCII_NUMBER.match(n))]
    w = (
        func.unnest(
            cast([code for code, _, _ in parsed], ARRAY(String)),
            cast([int(year) for _, year, _ in parsed], ARRAY(Integer)),
            cast([int(seq) for _, _, seq in parsed], ARRAY(Integer)),
        )
        .table_valued("code", "year", "seq")
        .render_derived("w")
    )
    by_ascii = (
        select(*columns)
        .select_from(w)
        .join(Unit, Unit.code == w.c.code)
        .join(
            Case,
            (Case.district_id == Unit.id) & (Case.year == w.c.year) & (Case.seq == w.c.seq),
        )
        .where(Case.number_ascii == any_(wanted))
    )
    return union(select(*columns).where(Case.number == any_(wanted)), by_ascii)


async def load_lookups(
    session: AsyncSession, scope_paths: tuple[str, ...], kind: ImportKind = ImportKind.cases
) -> Lookups:
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
    lookups = Lookups(
        units_by_code=by_code,
        units_by_names=by_names,
        categories=await _reference(session, ReferenceKind.dispute_category),
        scope_paths=scope_paths,
    )
    if kind is ImportKind.hotline_calls:
        lookups.topics = await _reference(session, ReferenceKind.hotline_topic)
        await _counselors(session, lookups)
    return lookups


async def _reference(session: AsyncSession, kind: ReferenceKind) -> dict[str, str]:
    """Code or Chinese label -> code, of the enabled entries."""
    items = (
        await session.execute(
            select(ReferenceItem.code, ReferenceItem.label_zh).where(
                ReferenceItem.kind == kind.value, ReferenceItem.enabled.is_(True)
            )
        )
    ).all()
    return {code: code for code, _ in items} | {zh: code for code, zh in items}


async def _counselors(session: AsyncSession, lookups: Lookups) -> None:
    """Whoever holds or held a counselor or hotline supervisor role at a unit of the
    jurisdiction, by account and by name (a register names the counselor, years later)."""
    in_scope = or_(*(Unit.path.startswith(p) for p in lookups.scope_paths))
    rows = (
        await session.execute(
            select(Person.id, Person.name, User.username)
            .join(RoleAssignment, RoleAssignment.person_id == Person.id)
            .join(Unit, Unit.id == RoleAssignment.unit_id)
            .outerjoin(User, User.person_id == Person.id)
            .where(RoleAssignment.role.in_([Role.counselor, Role.hotline_supervisor]), in_scope)
            .distinct()
        )
    ).all()
    for person_id, name, username in rows:
        if username:
            lookups.counselor_accounts[username] = person_id
        people = lookups.counselor_names.setdefault(name, [])
        if person_id not in people:
            people.append(person_id)


class DbFinder:
    """The database looked up once a file's rows are read (`mediation.imports.rows.Finder`)."""

    def __init__(self, session: AsyncSession, sha256: str) -> None:
        self.session, self.sha256 = session, sha256

    async def numbers_used(self, numbers: set[str]) -> set[str]:
        """Those of `numbers` that cases not imported from this very file already carry."""
        if not numbers:
            return set()
        rows = await self.session.execute(
            _numbered(numbers, Case.number, Case.number_ascii, Case.import_sha256)
        )
        return {x for r in rows.all() if r[2] != self.sha256 for x in r[:2]} & numbers

    async def cases(self, numbers: set[str]) -> dict[str, CaseRef]:
        if not numbers:
            return {}
        rows = await self.session.execute(
            _numbered(
                numbers,
                Case.number,
                Case.number_ascii,
                Case.id,
                Case.unit_id,
                Case.unit_path,
                Case.received_at,
                Case.occurred_at,
            )
        )
        out: dict[str, CaseRef] = {}
        for r in rows.all():
            ref = CaseRef(
                r.id,
                r.number,
                r.unit_id,
                r.unit_path,
                center_date(r.received_at) if r.received_at else None,
                r.occurred_at,
            )
            for key in (r.number, r.number_ascii):
                if key in numbers:
                    out[key] = ref
        return out

    async def balances_taken(self, keys: set[tuple[uuid.UUID, date]]) -> set[Any]:
        if not keys:
            return set()
        rows = await self.session.execute(
            select(OpeningBalance.unit_id, OpeningBalance.month_start).where(
                tuple_(OpeningBalance.unit_id, OpeningBalance.month_start).in_(sorted(keys)),
                OpeningBalance.import_sha256.is_distinct_from(self.sha256),
            )
        )
        return {(r.unit_id, r.month_start) for r in rows.all()}
