"""Opening balances from a sheet: per unit and past month, the totals of a period whose
records were never kept one by one (`mediation.stats.balances`). One balance per unit and
month: a month that already has one (entered or imported from another file) is refused."""

from __future__ import annotations

from datetime import date
from typing import Any

from mediation.imports import values as v
from mediation.imports.columns import Column
from mediation.imports.rows import Finder, Problem, RowChecker

EARLIEST = date(2000, 1, 1)
MAX_COUNT = 10_000_000

# (key, header): the totals, in the order of the template.
TOTALS: tuple[tuple[str, str], ...] = (
    ("received", "收案数"),
    ("resolved", "调解成功数"),
    ("failed", "调解不成数"),
    ("withdrawn", "撤回数"),
    ("hotline_calls", "热线来电数"),
    ("outreach_activities", "法治宣传活动（场）"),
    ("outreach_participants", "宣传参与人数"),
    ("micro_classes", "公益微课（节）"),
    ("micro_class_participants", "微课参与人数"),
)
_EXAMPLES = {"received": "12", "resolved": "10", "failed": "2", "hotline_calls": "200"}

COLUMNS: tuple[Column, ...] = (
    Column("unit", "单位", True, "四平市/铁西区/北沟街道", "单位代码或全路径"),
    Column("month", "月份", True, "2022-11", "已经过去的月份，如 2022-11 或 2022年11月"),
    *(Column(key, zh, False, _EXAMPLES.get(key, "")) for key, zh in TOTALS),
    Column("categories", "按纠纷类型收案数", False, "邻里:5、婚姻家庭:7", "类型:件数，用“、”分隔"),
    Column("note", "说明", False, "2023年以前只有年度合计，按月平均录入"),
)


class BalanceChecker(RowChecker):
    columns = COLUMNS

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.keys: dict[tuple[Any, date], int] = {}  # (unit id, month) -> row

    def check(self, row_no: int, cells: list[Any]) -> tuple[dict[str, Any] | None, list[Problem]]:
        self.start(row_no, cells)
        out: dict[str, Any] = self.texts({"note": 2000})
        out["unit"] = self.take("unit", lambda x: self.unit(x, district=False), True)
        out["month_start"] = self.take("month", self._month, True)
        for key, _ in TOTALS:
            out[key] = self.take(key, lambda x: v.whole(x, 0, MAX_COUNT)) or 0
        out["categories"] = self.take("categories", self._categories) or {}
        if not any(out[key] for key, _ in TOTALS):
            self.bad(None, "至少填写一项合计数。", "Give at least one total.")
        if sum(out["categories"].values()) > out["received"]:
            self.bad(
                "categories",
                "按纠纷类型的件数之和超过了收案数。",
                "The cases by category add up to more than the cases received.",
            )
        unit = out["unit"]
        self.once((unit.id if unit else None, out["month_start"]), "单位、月份", "unit and month")
        record, problems = self.result(out)
        if record is not None:
            self.keys[(unit.id, out["month_start"])] = row_no
        return record, problems

    def _month(self, raw: Any) -> date:
        first = v.month(raw)
        today = self.lookups.today
        if first < EARLIEST or (today is not None and first >= today.replace(day=1)):
            raise v.BadValue(
                "期初汇总数只能录入 2000 年以后、本月以前的月份。",
                "An opening balance is for a month between 2000 and the month before this one.",
            )
        return first

    def _categories(self, raw: Any) -> dict[str, int]:
        parse = self.coded(self.lookups.categories, "纠纷类型", "dispute category")
        out: dict[str, int] = {}
        for part in v.several(raw):
            name, sep, count = part.replace("：", ":").rpartition(":")
            if not sep:
                raise v.BadValue(
                    f"“{part}”应写成 类型:件数（如 邻里:5）。",
                    f"{part!r}: write category:count (like 邻里:5).",
                )
            code = parse(name)
            out[code] = out.get(code, 0) + v.whole(count, 0, MAX_COUNT)
        return out

    async def finish(self, finder: Finder) -> list[Problem]:
        """Months that already have a balance (not from this file)."""
        taken = await finder.balances_taken(set(self.keys))
        return [
            self.problem(
                "month",
                "该单位该月份已有期初汇总数（一个单位每月只有一条）。",
                "This unit already has an opening balance for this month (one per month).",
                self.keys[key],
            )
            for key in sorted(taken, key=lambda k: self.keys[k])
        ]
