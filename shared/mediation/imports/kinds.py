"""What each import kind declares: its template's columns, the checker of its rows and the
reference data its drop-downs list. The reading, the dry run, the annotated sheet, the
commit's all-or-nothing and idempotency are the same for every kind."""

from __future__ import annotations

from dataclasses import dataclass, field

from mediation.auth.policy import Permission
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
    # What an importer other than the uploader must be allowed to read to see a file's report
    # and annotated sheet, or commit it: they carry the rows as written (names, phones, ID
    # numbers, what a caller said). Importing is granted apart from reading (三员分立: the
    # system administrator imports, and reads no case).
    readers: frozenset[Permission] = frozenset()


KINDS: dict[ImportKind, KindSpec] = {
    ImportKind.cases: KindSpec(
        ImportKind.cases,
        cases.COLUMNS,
        cases.CaseChecker,
        {"category": ReferenceKind.dispute_category},
        frozenset({Permission.cases_read, Permission.pii_read}),
    ),
    ImportKind.hotline_calls: KindSpec(
        ImportKind.hotline_calls,
        hotline.COLUMNS,
        hotline.CallChecker,
        {"topics": ReferenceKind.hotline_topic},
        frozenset({Permission.hotline_read}),
    ),
    ImportKind.outreach: KindSpec(
        ImportKind.outreach,
        outreach.COLUMNS,
        outreach.OutreachChecker,
        readers=frozenset({Permission.outreach_read}),
    ),
    ImportKind.sessions: KindSpec(
        ImportKind.sessions,
        sessions.COLUMNS,
        sessions.SessionChecker,
        readers=frozenset({Permission.sessions_read}),
    ),
    ImportKind.opening_balances: KindSpec(
        ImportKind.opening_balances,
        balances.COLUMNS,
        balances.BalanceChecker,
        readers=frozenset({Permission.stats_read}),
    ),
}
