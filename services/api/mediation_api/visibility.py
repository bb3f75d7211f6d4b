"""What a reader may be told about records other than the one they read, written once.

A record in scope can point at others: a repeat case at earlier cases, a call at the case
opened from it, a case at the call or opinion it came from. The same stored entry is read
by people of different scope, so references are filtered when read, by the reader's own
rules (the same as reading the record itself: its permission and its subtree; for hotline
calls the caller's workstations). A reference the reader may not read is not named,
counted or hinted at: a list item naming it goes, a field naming it goes with the fields
that describe the same record (its number)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.auth.scope import in_scope
from mediation.cases.models import Case
from mediation.contracts.common import center_time
from mediation.hotline.models import HotlineCall
from mediation.outreach.models import ResidentOpinion
from mediation.sessions.models import MediationSession
from mediation_api.hotline.repository import HotlineRepository


class Ref(StrEnum):
    case = "case"
    hotline_call = "hotline_call"
    opinion = "opinion"
    session = "session"


# Keys of stored details that name another record, and the fields describing that record.
REFERENCES: dict[str, Ref] = {
    "case_id": Ref.case,
    "related_case_id": Ref.case,
    "hotline_call_id": Ref.hotline_call,
    "call_id": Ref.hotline_call,
    "opinion_id": Ref.opinion,
    "session_id": Ref.session,
}
COMPANIONS: dict[str, tuple[str, ...]] = {
    "case_id": ("case_number", "case_title"),
    "related_case_id": ("related_case_number",),
    "session_id": ("session_starts_at",),
}
_MODELS: dict[Ref, Any] = {
    Ref.case: Case,
    Ref.hotline_call: HotlineCall,
    Ref.opinion: ResidentOpinion,
    Ref.session: MediationSession,
}
_PERMISSION = {
    Ref.case: Permission.cases_read,
    Ref.hotline_call: Permission.hotline_read,
    Ref.opinion: Permission.outreach_read,
    Ref.session: Permission.sessions_read,
}


_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def references(
    value: Any, into: dict[Ref, set[uuid.UUID]] | None = None
) -> dict[Ref, set[uuid.UUID]]:
    """Every record `value` (a stored detail: dicts and lists) names, by kind."""
    out = into if into is not None else {}
    if isinstance(value, dict):
        for key, item in value.items():
            kind = REFERENCES.get(key)
            ident = _uuid(item) if kind is not None and item is not None else None
            if kind is not None and ident is not None:
                out.setdefault(kind, set()).add(ident)
            else:
                references(item, out)
    elif isinstance(value, list):
        for item in value:
            references(item, out)
    return out


@dataclass
class Visible:
    """The records, among those asked about, that the reader may read."""

    ids: dict[Ref, set[uuid.UUID]] = field(default_factory=dict)

    def can_see(self, kind: Ref, ident: Any) -> bool:
        found = _uuid(ident)
        return found is not None and found in self.ids.get(kind, set())

    def _hides(self, item: dict[str, Any]) -> list[str]:
        return [
            key
            for key, kind in REFERENCES.items()
            if item.get(key) is not None and not self.can_see(kind, item[key])
        ]

    def present(self, value: Any) -> Any:
        """`value` as the reader sees it: without what names a record they may not read, and
        with every time at the center's offset (entries stored before that rule held UTC)."""
        if isinstance(value, dict):
            hidden = self._hides(value)
            drop = {k for key in hidden for k in (key, *COMPANIONS.get(key, ()))}
            return {k: self.present(v) for k, v in value.items() if k not in drop}
        if isinstance(value, list):
            return [self.present(v) for v in value if not (isinstance(v, dict) and self._hides(v))]
        if isinstance(value, str) and _TIME.match(value):
            return center_time(datetime.fromisoformat(value))
        return value


class Visibility:
    def __init__(self, session: AsyncSession, principal: Principal, today: date) -> None:
        self.session = session
        self.principal = principal
        self.today = today

    async def _readable(self, kind: Ref, ids: set[uuid.UUID]) -> set[uuid.UUID]:
        if not self.principal.can(_PERMISSION[kind]):
            return set()
        if kind is Ref.hotline_call:  # scope from the hotline roles alone (workstations)
            return await HotlineRepository(self.session).readable_call_ids(
                self.principal.person_id, self.today, ids
            )
        model = _MODELS[kind]
        stmt = select(model.id).where(model.id.in_(ids), in_scope(model.unit_path, self.principal))
        return set((await self.session.scalars(stmt)).all())

    async def of(self, asked: dict[Ref, set[uuid.UUID]]) -> Visible:
        """Which of `asked` the reader may read: one statement per kind asked about."""
        return Visible(
            {kind: await self._readable(kind, ids) for kind, ids in asked.items() if ids}
        )

    async def of_details(self, details: Iterable[Any]) -> Visible:
        """The visibility of everything `details` name, to present them with."""
        asked: dict[Ref, set[uuid.UUID]] = {}
        for detail in details:
            references(detail, asked)
        return await self.of(asked)
