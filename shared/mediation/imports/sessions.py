"""Past mediation sessions from a register (调解会记录), each linked to its case by the case's
number (a live case or an imported one, in the importer's jurisdiction).

Live scheduling refuses a session in the past; an import takes only past ones (a session to
come is scheduled in the system, with its mediators booked and the parties told). A session
happens on or after its case was registered. Mediators are named as the register names them
(kept in the session's notes): an old register's mediators need not have accounts, and
bookings would only hold rooms and people for times long gone."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from mediation.clock import CENTER_TZ
from mediation.imports import values as v
from mediation.imports.cases import parse_number
from mediation.imports.columns import Column, labels
from mediation.imports.rows import CaseRef, Finder, Problem, RowChecker
from mediation.sessions.enums import NextStep, SessionKind, SessionMode, SessionOutcome
from mediation.sessions.rules import LONGEST

DEFAULT_MINUTES = 60
MAX_MINUTES = LONGEST // timedelta(minutes=1)


COLUMNS: tuple[Column, ...] = (
    Column("case_number", "案号", True, "铁西调〔2021〕0005号", "已导入或系统中的案件"),
    Column("starts_at", "调解时间", True, "2021-03-10 09:00", "日期和开始时间，须早于今天"),
    Column("duration_minutes", "时长（分钟）", False, "90", f"留空为 {DEFAULT_MINUTES} 分钟"),
    Column("kind", "调解类型", False, "人民调解", "留空为人民调解", labels(SessionKind)),
    Column("mode", "调解方式", False, "现场调解", "留空为现场调解", labels(SessionMode)),
    Column("place", "地点", False, "先锋社区调解室"),
    Column("mediators", "调解员", False, "冯调解、王顾问", "姓名，多个用“、”分隔"),
    Column("outcome", "调解结果", True, "达成协议", "", labels(SessionOutcome)),
    Column("next_step", "下一步", False, "督促履行", "", labels(NextStep)),
    Column("minutes", "调解笔录摘要", False, "双方同意赔偿500元。"),
)


class SessionChecker(RowChecker):
    columns = COLUMNS

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        # case number -> the rows naming it (with their records): resolved at the end.
        self.by_number: dict[str, list[tuple[int, dict[str, Any]]]] = {}

    def check(self, row_no: int, cells: list[Any]) -> tuple[dict[str, Any] | None, list[Problem]]:
        self.start(row_no, cells)
        take = self.take
        out: dict[str, Any] = self.texts(
            {"case_number": 40, "place": 200, "mediators": 500, "minutes": 10000}
        )
        out["starts_at"] = take("starts_at", self._starts, True)
        minutes = take("duration_minutes", lambda x: v.whole(x, 1, MAX_MINUTES))
        out["ends_at"] = (
            out["starts_at"] + timedelta(minutes=minutes or DEFAULT_MINUTES)
            if out["starts_at"]
            else None
        )
        out["kind"] = take("kind", lambda x: v.choice(SessionKind, x)) or SessionKind.people
        out["mode"] = take("mode", lambda x: v.choice(SessionMode, x)) or SessionMode.on_site
        out["outcome"] = take("outcome", lambda x: v.choice(SessionOutcome, x), True)
        out["next_step"] = take("next_step", lambda x: v.choice(NextStep, x))
        number = out["case_number"]
        if number is not None and parse_number(number) is None:
            self.bad(
                "case_number",
                f"无法识别的案号“{number}”（应如 铁西调〔2021〕0005号 或 220302-2021-0005）。",
                f"Unrecognised case number {number!r} (like 铁西调〔2021〕0005号 or "
                "220302-2021-0005).",
            )
        self.once((number, out["starts_at"]), "案号、调解时间", "case number and time")
        record, problems = self.result(out)
        if record is not None:
            self.by_number.setdefault(number, []).append((row_no, record))
        return record, problems

    def _starts(self, raw: Any) -> datetime:
        at = v.moment(raw)
        today = self.lookups.today
        if today is not None and at.date() >= today:
            raise v.BadValue(
                "只能导入已经举行的调解会（今天以前）：今后的调解会请在系统中安排。",
                "Only sessions already held (before today) are imported: schedule coming "
                "sessions in the system.",
            )
        return at

    async def finish(self, finder: Finder) -> list[Problem]:
        """Each row's case: it exists, lies in the jurisdiction, and was registered by the
        session's day; the session is not before the dispute happened."""
        found = await finder.cases(set(self.by_number))
        problems = []
        for number, rows in self.by_number.items():
            case: CaseRef | None = found.get(number)
            for row_no, rec in rows:
                zh, en = self._case_problem(number, case, rec)
                if zh:
                    problems.append(self.problem("case_number", zh, en, row_no))
                    continue
                assert case is not None  # no problem: the case was found
                zh, en = self._before_dispute(case, rec)
                if zh:
                    problems.append(self.problem("starts_at", zh, en, row_no))
                else:
                    rec["case"] = case
        return problems

    @staticmethod
    def _before_dispute(case: CaseRef, rec: dict[str, Any]) -> tuple[str, str]:
        """The API refuses a session held before its dispute (`session-before-dispute`); so
        does the import. A registered day alone does not catch it: a dispute happens on the
        day it is registered, hours after a session on that day would have started."""
        if case.occurred_at is None:
            return "", ""
        occurred = case.occurred_at.astimezone(CENTER_TZ)
        if rec["starts_at"].replace(tzinfo=CENTER_TZ) >= occurred:
            return "", ""
        when = f"{occurred:%Y-%m-%d %H:%M}"
        return (
            f"调解时间早于纠纷发生时间（{when}）：调解会不能在纠纷发生以前举行。",
            f"The session is before the dispute happened ({when}): a session about a "
            "dispute is not held before it.",
        )

    def _case_problem(
        self, number: str, case: CaseRef | None, rec: dict[str, Any]
    ) -> tuple[str, str]:
        if case is None or not any(case.unit_path.startswith(p) for p in self.lookups.scope_paths):
            return (
                f"您的管辖范围内没有案号为“{number}”的案件（请先导入案件）。",
                f"No case numbered {number!r} in your jurisdiction (import the cases first).",
            )
        if case.received_on is not None and rec["starts_at"].date() < case.received_on:
            return (
                f"调解时间早于案件的登记日期（{case.received_on}）。",
                f"The session is before the case was registered ({case.received_on}).",
            )
        return "", ""
