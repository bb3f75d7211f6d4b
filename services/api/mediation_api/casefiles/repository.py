"""Every query of the case-file domain."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.principal import Principal
from mediation.auth.scope import in_scope
from mediation.casefiles.enums import OwnerType
from mediation.casefiles.models import Attachment
from mediation.cases.models import CaseFollowUp
from mediation.sessions.models import MediationSession
from mediation_api.queries import one_or_none


class CaseFileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def _live() -> Select[tuple[Attachment]]:
        return select(Attachment).where(Attachment.deleted_at.is_(None))

    async def attachment(
        self, attachment_id: uuid.UUID, *, for_update: bool = False
    ) -> Attachment | None:
        """A live attachment by id; the caller then applies its owner's access rule."""
        stmt = self._live().where(Attachment.id == attachment_id)
        return await one_or_none(self.session, stmt, for_update=for_update, key_share=True)

    async def of_owner(
        self, owner_type: OwnerType, owner_id: uuid.UUID, after: uuid.UUID | None, limit: int
    ) -> list[Attachment]:
        stmt = self._live().where(
            Attachment.owner_type == owner_type, Attachment.owner_id == owner_id
        )
        if after is not None:
            stmt = stmt.where(Attachment.id > after)
        return list(
            (await self.session.scalars(stmt.order_by(Attachment.id).limit(limit + 1))).all()
        )

    async def of_case(
        self,
        case_id: uuid.UUID,
        owner_types: list[OwnerType],
        after: uuid.UUID | None,
        limit: int | None,
    ) -> list[Attachment]:
        """The case file's attachments: the case's own and its follow-ups' and sessions'."""
        stmt = self._live().where(
            Attachment.case_id == case_id, Attachment.owner_type.in_(owner_types)
        )
        if after is not None:
            stmt = stmt.where(Attachment.id > after)
        stmt = stmt.order_by(Attachment.id)
        if limit is not None:
            stmt = stmt.limit(limit + 1)
        return list((await self.session.scalars(stmt)).all())

    async def follow_up(self, follow_up_id: uuid.UUID) -> CaseFollowUp | None:
        return await self.session.get(CaseFollowUp, follow_up_id)

    async def mediation_session(
        self, session_id: uuid.UUID, principal: Principal
    ) -> MediationSession | None:
        stmt = select(MediationSession).where(
            MediationSession.id == session_id, in_scope(MediationSession.unit_path, principal)
        )
        return (await self.session.scalars(stmt)).one_or_none()
