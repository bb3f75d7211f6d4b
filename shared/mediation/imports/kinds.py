"""What each import kind declares: its template's columns, the checker of its rows and the
reference data its drop-downs list. The reading, the dry run, the annotated sheet, the
commit's all-or-nothing and idempotency are the same for every kind."""

from __future__ import annotations

from dataclasses import dataclass, field

from mediation.imports import balances, cases, hotline, outreach, sessions
from mediation.imports.columns import Column
from mediation.imports.enums import ImportKind
from mediation.imports.rows import RowChecker
from mediation.reference.data import ReferenceKind


@dataclass(frozen=True)
class KindSpec:
    kind: ImportKind
    columns: tuple[Column, ...]
    checker: type[RowChecker]
    # Columns whose drop-down lists reference data (column key -> its kind).
    reference_lists: dict[str, ReferenceKind] = field(default_factory=dict)


KINDS: dict[ImportKind, KindSpec] = {
    ImportKind.cases: KindSpec(
        ImportKind.cases,
        cases.COLUMNS,
        cases.CaseChecker,
        {"category": ReferenceKind.dispute_category},
    ),
    ImportKind.hotline_calls: KindSpec(
        ImportKind.hotline_calls,
        hotline.COLUMNS,
        hotline.CallChecker,
        {"topics": ReferenceKind.hotline_topic},
    ),
    ImportKind.outreach: KindSpec(ImportKind.outreach, outreach.COLUMNS, outreach.OutreachChecker),
    ImportKind.sessions: KindSpec(ImportKind.sessions, sessions.COLUMNS, sessions.SessionChecker),
    ImportKind.opening_balances: KindSpec(
        ImportKind.opening_balances, balances.COLUMNS, balances.BalanceChecker
    ),
}
