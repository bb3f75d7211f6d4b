"""What the commit needs of each import kind: its writer, the tables its records go to (the
rows of a file already imported are found by hash and row there), and the dates of a record
whose months the monthly statistics count."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from mediation.cases.models import Case
from mediation.hotline.models import HotlineCall
from mediation.imports.enums import ImportKind
from mediation.imports.models import ImportFile
from mediation.imports.rows import Lookups
from mediation.outreach.models import MicroClass, OutreachActivity
from mediation.sessions.models import MediationSession
from mediation.settings import Settings
from mediation.stats.balances import OpeningBalance
from mediation_worker.imports.balances import BalanceWriter
from mediation_worker.imports.cases import CaseWriter
from mediation_worker.imports.hotline import CallWriter
from mediation_worker.imports.outreach import OutreachWriter
from mediation_worker.imports.sessions import SessionWriter

Records = list[tuple[int, dict[str, Any]]]


class Writer(Protocol):
    def __init__(
        self,
        session: AsyncSession,
        imp: ImportFile,
        lookups: Lookups,
        settings: Settings,
        now: datetime,
    ) -> None: ...

    async def write(self, records: Records, progress: Callable[[int], Awaitable[None]]) -> int:
        """Writes every record (in the caller's transaction); returns how many."""
        ...


@dataclass(frozen=True)
class WriterSpec:
    writer: type[Writer]
    tables: tuple[Any, ...]  # models with import_sha256 and import_row
    dates: tuple[str, ...]


WRITERS: dict[ImportKind, WriterSpec] = {
    ImportKind.cases: WriterSpec(
        CaseWriter,
        (Case,),
        ("received_on", "accepted_on", "outcome_on", "followed_up_on", "closed_on"),
    ),
    ImportKind.hotline_calls: WriterSpec(CallWriter, (HotlineCall,), ("started_at",)),
    ImportKind.outreach: WriterSpec(OutreachWriter, (OutreachActivity, MicroClass), ("held",)),
    ImportKind.sessions: WriterSpec(SessionWriter, (MediationSession,), ("starts_at",)),
    ImportKind.opening_balances: WriterSpec(BalanceWriter, (OpeningBalance,), ("month_start",)),
}
