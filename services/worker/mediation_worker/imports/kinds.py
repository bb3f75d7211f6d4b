"""What the commit needs of each import kind: its writer, the tables its records go to (the
rows of a file already imported are found by hash and row there), and the dates of a record
whose months the monthly statistics count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mediation.cases.models import Case
from mediation.hotline.models import HotlineCall
from mediation.imports.enums import ImportKind
from mediation.outreach.models import MicroClass, OutreachActivity
from mediation.sessions.models import MediationSession
from mediation.stats.balances import OpeningBalance
from mediation_worker.imports.balances import BalanceWriter
from mediation_worker.imports.cases import CaseWriter
from mediation_worker.imports.hotline import CallWriter
from mediation_worker.imports.outreach import OutreachWriter
from mediation_worker.imports.sessions import SessionWriter
from mediation_worker.imports.writing import Writer


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
