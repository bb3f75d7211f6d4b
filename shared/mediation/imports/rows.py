"""What every import kind shares when it checks a row: the lookups from the database, the
problems it reports (row, column, cell, Chinese and English), reading a cell with a parser,
and placing a row at a unit of the importer's jurisdiction.

A kind subclasses `RowChecker` and fills `check`; the dry run and the commit call it the
same way (the commit validates again before writing anything)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from mediation.contracts.windows import CLOCK_SKEW
from mediation.imports import values as v
from mediation.imports.columns import Column, letter


@dataclass
class UnitRef:
    id: uuid.UUID
    code: str
    path: str
    level: str
    active: bool
    district_id: uuid.UUID | None
    district_name: str | None
    district_code: str | None
    lineage_ids: tuple[uuid.UUID, ...]  # root first, the unit last


@dataclass
class Lookups:
    units_by_code: dict[str, UnitRef]
    units_by_names: dict[str, UnitRef]  # "四平市/铁西区/北沟街道"
    categories: dict[str, str]  # code or Chinese label -> code
    scope_paths: tuple[str, ...]
    today: date | None = None  # the center's today: history lies before it
    now: datetime | None = None  # the center's time, naive like the cells' times
    hotline_opened_on: date | None = None  # no call before it (MEDIATION_HOTLINE_OPENED_ON)
    # Hotline topics (code or Chinese label -> code).
    topics: dict[str, str] = field(default_factory=dict)
    # Counselors of the jurisdiction: account -> person, name -> people of that name.
    counselor_accounts: dict[str, uuid.UUID] = field(default_factory=dict)
    counselor_names: dict[str, list[uuid.UUID]] = field(default_factory=dict)


@dataclass
class Problem:
    row: int  # the sheet's row (the header is row 1)
    column: str | None  # the header as in the file (None: the whole row or file)
    letter: str | None
    zh: str
    en: str

    def out(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "cell": f"{self.letter}{self.row}" if self.letter else None,
            "message_zh": self.zh,
            "message_en": self.en,
        }


@dataclass
class CaseRef:
    """A case a row names by its number (sessions)."""

    id: uuid.UUID
    number: str
    unit_id: uuid.UUID
    unit_path: str
    received_on: date | None
    occurred_at: datetime | None = None  # when the dispute happened: no session before it


class Finder(Protocol):
    """What checking needs to look up in the database once every row is read."""

    async def numbers_used(self, numbers: set[str]) -> set[str]:
        """Those of `numbers` (or their ASCII forms) other cases than this file's carry."""
        ...

    async def cases(self, numbers: set[str]) -> dict[str, CaseRef]:
        """The cases of these numbers (as typed, or ASCII forms), by the number given."""
        ...

    async def balances_taken(self, keys: set[tuple[uuid.UUID, date]]) -> set[Any]:
        """Those (unit, month) that have an opening balance not from this file."""
        ...


def find_unit(lookups: Lookups, value: str) -> UnitRef | None:
    s = value.strip()
    if s in lookups.units_by_code:
        return lookups.units_by_code[s]
    return lookups.units_by_names.get("/".join(p.strip() for p in re.split(r"[/／>]", s)))


class RowChecker:
    """Validates rows one at a time; remembers what it saw to refuse duplicates in the file.

    `check` of a kind reads its cells with `take` (a parser per cell, problems collected),
    then checks across cells; it returns the record, or None and its problems."""

    columns: tuple[Column, ...] = ()

    def __init__(self, lookups: Lookups, positions: dict[str, int], headers: list[str]) -> None:
        self.lookups = lookups
        self.positions = positions  # field key -> column index
        self.headers = headers
        self.seen_rows: dict[tuple[Any, ...], int] = {}
        self._row_no = 0
        self._cells: list[Any] = []
        self._problems: list[Problem] = []

    # --- one row ----------------------------------------------------------------------------
    def start(self, row_no: int, cells: list[Any]) -> None:
        self._row_no, self._cells, self._problems = row_no, cells, []

    def problem(self, key: str | None, zh: str, en: str, row_no: int | None = None) -> Problem:
        i = self.positions.get(key) if key else None
        return Problem(
            row_no if row_no is not None else self._row_no,
            self.headers[i] if i is not None else None,
            letter(i) if i is not None else None,
            zh,
            en,
        )

    def bad(self, key: str | None, zh: str, en: str) -> None:
        self._problems.append(self.problem(key, zh, en))

    def cell(self, key: str) -> Any:
        i = self.positions.get(key)
        return self._cells[i] if i is not None and i < len(self._cells) else None

    def take(self, key: str, parse: Callable[[Any], Any], required: bool = False) -> Any:
        raw = self.cell(key)
        if raw is None:
            if required:
                col = next(c for c in self.columns if c.key == key)
                self.bad(key, f"“{col.zh}”必填。", f"{col.zh} ({key}) is required.")
            return None
        try:
            return parse(raw)
        except v.BadValue as exc:
            self.bad(key, exc.zh, exc.en)
            return None

    def texts(self, limits: dict[str, int]) -> dict[str, str | None]:
        required = {c.key for c in self.columns if c.required}
        return {
            key: self.take(key, lambda x, n=limit: v.text(x, n), key in required)
            for key, limit in limits.items()
        }

    def once(self, key: tuple[Any, ...], zh_what: str, en_what: str) -> None:
        """Refuses the row if an earlier row of the file had the same `key`."""
        if self._problems:
            return
        first = self.seen_rows.get(key)
        if first is not None:
            self.bad(
                None,
                f"与第 {first} 行重复（{zh_what}均相同）。",
                f"Duplicate of row {first} (same {en_what}).",
            )
        else:
            self.seen_rows[key] = self._row_no

    def result(self, out: dict[str, Any]) -> tuple[dict[str, Any] | None, list[Problem]]:
        return (None if self._problems else out), self._problems

    def check(self, row_no: int, cells: list[Any]) -> tuple[dict[str, Any] | None, list[Problem]]:
        raise NotImplementedError

    async def finish(self, finder: Finder) -> list[Problem]:
        """Problems found only against the database once every row is read."""
        return []

    # --- shared cells -----------------------------------------------------------------------
    def unit(self, raw: Any, *, district: bool = True) -> UnitRef:
        """A unit of the importer's jurisdiction, by code or path of names."""
        s = str(raw)
        unit = find_unit(self.lookups, s)
        if unit is None:
            raise v.BadValue(
                f"找不到单位“{s}”：请填写单位代码或全路径（四平市/铁西区/北沟街道/先锋社区）。",
                f"No unit {s!r}: give its code or full path (四平市/铁西区/北沟街道/先锋社区).",
            )
        if not any(unit.path.startswith(p) for p in self.lookups.scope_paths):
            raise v.BadValue(
                f"单位“{s}”不在您的管辖范围内，不能导入。",
                f"The unit {s!r} is outside your jurisdiction: this row cannot be imported.",
            )
        if district and unit.district_id is None:
            raise v.BadValue(
                "须登记在区县及以下单位。", "A record is placed at district level or below."
            )
        return unit

    def to_come(self, at: datetime) -> bool:
        """Whether a register's time lies in the future: its day after today, or its time
        after now beyond the clock tolerance (a date alone, 00:00, stays allowed up to today)."""
        today, now = self.lookups.today, self.lookups.now
        return (today is not None and at.date() > today) or (
            now is not None and at > now + CLOCK_SKEW
        )

    @staticmethod
    def coded(table: dict[str, str], what_zh: str, what_en: str) -> Callable[[Any], str]:
        """A parser of a code or Chinese label of reference data (`table`: both -> code)."""

        def parse(raw: Any) -> str:
            s = str(raw).strip()
            code = table.get(s)
            if code is None:
                raise v.BadValue(f"未知的{what_zh}“{s}”。", f"Unknown {what_en} {s!r}.")
            return code

        return parse
