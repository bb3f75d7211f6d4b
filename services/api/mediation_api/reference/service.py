"""Changing reference data: validation, versioning and the outbox event, in the caller's
transaction (services never commit)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.principal import Principal
from mediation.clock import Clock
from mediation.contracts.changes import next_version
from mediation.contracts.etag import check_if_match
from mediation.errors import VALIDATION, Conflict, NotFound, Unprocessable
from mediation.outbox.events import emit
from mediation.outbox.payloads import EventPayload
from mediation.reference.data import ReferenceKind
from mediation.reference.events import ReferenceItemCreated, ReferenceItemUpdated
from mediation.reference.models import ReferenceItem
from mediation.reference.problems import REFERENCE_CODE_TAKEN, REFERENCE_UNKNOWN
from mediation_api.reference.contracts import ReferenceItemCreate, ReferenceItemUpdate
from mediation_api.reference.repository import ReferenceRepository


def unknown_codes(kind: ReferenceKind, missing: list[str], field: str) -> Unprocessable:
    return Unprocessable(
        f"Not entries of {kind.value}: {', '.join(missing)} (see GET /api/v1/reference/"
        f"{kind.value}).",
        field=field,
        code=REFERENCE_UNKNOWN,
    )


class ReferenceService:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self.session = session
        self.repo = ReferenceRepository(session)
        self.clock = clock

    async def get(self, kind: ReferenceKind, code: str) -> ReferenceItem:
        item = await self.repo.get(kind, code)
        if item is None:
            raise NotFound(f"No entry `{code}` in {kind.value}.")
        return item

    async def require_enabled(self, kind: ReferenceKind, code: str, field: str) -> None:
        """For other domains: a reference a record names must exist and be enabled."""
        item = await self.repo.get(kind, code)
        if item is None or not item.enabled:
            raise Unprocessable(
                f"`{code}` is not an enabled entry of {kind.value}.",
                field=field,
                code=REFERENCE_UNKNOWN,
            )

    async def require_known(self, kind: ReferenceKind, codes: list[str], field: str) -> None:
        """For list filters: every code is an entry of `kind` (disabled ones too, for older
        records), so a misspelt code is a 422 instead of an empty list."""
        if codes and (missing := await self.repo.unknown(kind, codes)):
            raise unknown_codes(kind, missing, field)

    async def create(
        self, kind: ReferenceKind, body: ReferenceItemCreate, actor: Principal
    ) -> ReferenceItem:
        if await self.repo.get(kind, body.code) is not None:
            raise Conflict(
                f"{kind.value} already has an entry `{body.code}`.", code=REFERENCE_CODE_TAKEN
            )
        item = ReferenceItem(kind=kind.value, **body.model_dump())
        self.repo.add(item)
        await self.session.flush()
        await self._emit(
            ReferenceItemCreated(kind=item.kind, code=item.code, label_zh=item.label_zh),
            item,
            actor,
        )
        return item

    async def update(
        self,
        kind: ReferenceKind,
        code: str,
        body: ReferenceItemUpdate,
        actor: Principal,
        if_match: str | None,
    ) -> ReferenceItem:
        item = await self.repo.get(kind, code, for_update=True)
        if item is None:
            raise NotFound(f"No entry `{code}` in {kind.value}.")
        check_if_match(if_match, item.id, item.version)
        changes = body.model_dump(exclude_unset=True)
        for field in ("label_zh", "label_en", "enabled", "is_default", "view_order"):
            if field in changes and changes[field] is None:
                raise Unprocessable(
                    f"`{field}` cannot be null.", field=f"body.{field}", code=VALIDATION
                )
        for key, value in changes.items():
            setattr(item, key, value)
        names = next_version(item)
        if not names:  # every value as it was: nothing changes, nobody is told
            return item
        await self.session.flush()
        await self._emit(
            ReferenceItemUpdated(
                kind=item.kind, code=item.code, label_zh=item.label_zh, changed=names
            ),
            item,
            actor,
        )
        return item

    async def _emit(self, payload: EventPayload, item: ReferenceItem, actor: Principal) -> None:
        await emit(
            self.session,
            payload,
            aggregate_id=item.id,
            occurred_at=self.clock.now(),
            actor_id=actor.id,
        )
