"""Every query on reference data."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.reference.data import ReferenceKind
from mediation.reference.models import ReferenceItem
from mediation_api.pagination import keyset_page
from mediation_api.queries import one_or_none


class ReferenceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _base(self, kind: ReferenceKind) -> Select[tuple[ReferenceItem]]:
        # Reference lists are the same for every jurisdiction: no scope filter.
        return select(ReferenceItem).where(ReferenceItem.kind == kind.value)

    async def page(
        self,
        kind: ReferenceKind,
        *,
        enabled: bool | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[ReferenceItem], str | None]:
        """In display order (the code breaks ties)."""
        stmt = self._base(kind)
        if enabled is not None:
            stmt = stmt.where(ReferenceItem.enabled.is_(enabled))
        order = (ReferenceItem.view_order, ReferenceItem.code)
        return await keyset_page(self.session, stmt, order, limit, cursor)

    async def get(
        self, kind: ReferenceKind, code: str, *, for_update: bool = False
    ) -> ReferenceItem | None:
        stmt = self._base(kind).where(ReferenceItem.code == code)
        return await one_or_none(self.session, stmt, for_update=for_update)

    async def unknown(self, kind: ReferenceKind, codes: list[str]) -> list[str]:
        """The codes that are not (and never were) entries of `kind`."""
        stmt = select(ReferenceItem.code).where(
            ReferenceItem.kind == kind.value, ReferenceItem.code.in_(codes)
        )
        known = set((await self.session.scalars(stmt)).all())
        return [c for c in codes if c not in known]

    async def enabled_codes(self, kind: ReferenceKind) -> set[str]:
        stmt = select(ReferenceItem.code).where(
            ReferenceItem.kind == kind.value, ReferenceItem.enabled.is_(True)
        )
        return set((await self.session.scalars(stmt)).all())

    async def enabled_labels(self, kind: ReferenceKind) -> list[str]:
        """The Chinese labels of the enabled entries, by code (an import template's choices)."""
        stmt = (
            select(ReferenceItem.label_zh)
            .where(ReferenceItem.kind == kind.value, ReferenceItem.enabled.is_(True))
            .order_by(ReferenceItem.code)
        )
        return list((await self.session.scalars(stmt)).all())

    def add(self, item: ReferenceItem) -> None:
        self.session.add(item)
