"""Past outreach from a register: legal-awareness activities (法治宣传) and public
micro-classes (公益微课) with their participant counts, one sheet for both (a column says
which). A class belongs to a series: named in the row (an existing series of the unit with
that title, or one made for the register's classes), else 公益微课（历史）."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from mediation.enums import LabelledEnum
from mediation.imports import values as v
from mediation.imports.columns import Column, labels
from mediation.imports.rows import Problem, RowChecker
from mediation.outreach.enums import ActivityVenue
from mediation.outreach.models import CLASS_MAX_MINUTES, CLASS_MIN_MINUTES

EARLIEST = date(2000, 1, 1)
DEFAULT_SERIES = "公益微课（历史）"
MAX_PARTICIPANTS = 1_000_000


class OutreachRecord(LabelledEnum):
    """What a row of an outreach register is (a column of the template, not an API enum)."""

    activity = "activity", "法治宣传活动", "Legal-awareness activity"
    micro_class = "micro_class", "公益微课", "Public micro-class"


COLUMNS: tuple[Column, ...] = (
    Column("record", "类型", True, "法治宣传活动", "", labels(OutreachRecord)),
    Column("unit", "单位", True, "四平市/铁西区/北沟街道/先锋社区", "单位代码或全路径"),
    Column("title", "活动名称或课程主题", True, "民法典进社区"),
    Column("held", "日期", True, "2021-03-05", "微课写日期和开始时间：2021-03-05 19:30"),
    Column("participants", "参加人数", True, "120"),
    Column("venue", "宣传形式（五进）", False, "进社区", "法治宣传活动必填", labels(ActivityVenue)),
    Column("organiser", "组织单位", False, "先锋社区居委会", "法治宣传活动必填"),
    Column("address", "地点", False, "先锋社区广场"),
    Column("lecturer", "主讲人", False, "王律师", "公益微课必填"),
    Column("duration_minutes", "时长（分钟）", False, "45", "公益微课必填，30至60分钟"),
    Column("series", "微课系列", False, "", f"留空为“{DEFAULT_SERIES}”"),
    Column("notes", "备注", False, ""),
)


class OutreachChecker(RowChecker):
    columns = COLUMNS

    def check(self, row_no: int, cells: list[Any]) -> tuple[dict[str, Any] | None, list[Problem]]:
        self.start(row_no, cells)
        take = self.take
        out: dict[str, Any] = self.texts(
            {
                "title": 200,
                "organiser": 200,
                "address": 300,
                "lecturer": 100,
                "series": 200,
                "notes": 10000,
            }
        )
        record = take("record", lambda x: v.choice(OutreachRecord, x), True)
        out["record"] = record
        out["unit"] = take("unit", self.unit, True)
        out["participants"] = take("participants", lambda x: v.whole(x, 0, MAX_PARTICIPANTS), True)
        out["venue"] = take("venue", lambda x: v.choice(ActivityVenue, x))
        out["duration_minutes"] = take(
            "duration_minutes", lambda x: v.whole(x, CLASS_MIN_MINUTES, CLASS_MAX_MINUTES)
        )
        out["held"] = take("held", self._held, True)
        if record is OutreachRecord.activity:
            for key, zh in (("venue", "宣传形式（五进）"), ("organiser", "组织单位")):
                if out[key] is None and self.cell(key) is None:
                    self.bad(key, f"法治宣传活动须填写“{zh}”。", f"An activity needs {key}.")
            if isinstance(out["held"], datetime):
                out["held"] = out["held"].date()
        elif record is OutreachRecord.micro_class:
            for key, zh in (("lecturer", "主讲人"), ("duration_minutes", "时长（分钟）")):
                if out[key] is None and self.cell(key) is None:
                    self.bad(key, f"公益微课须填写“{zh}”。", f"A micro-class needs {key}.")
            out["series"] = out["series"] or DEFAULT_SERIES
            # A series holds one class at a time (and the same class twice inflates totals).
            self.once(
                ("class", out["unit"].id if out["unit"] else None, out["series"], out["held"]),
                "单位、微课系列、日期时间",
                "unit, series and time",
            )
        self.once(
            (record, out["unit"].id if out["unit"] else None, out["title"], out["held"]),
            "类型、单位、名称、日期",
            "kind, unit, title and date",
        )
        return self.result(out)

    def _held(self, raw: Any) -> datetime:
        at = v.moment(raw)
        if at.date() < EARLIEST or self.to_come(at):
            raise v.BadValue(
                "日期须在 2000 年以后且不晚于现在（只写日期时不晚于今天；导入的是历史记录）。",
                "The date lies between 2000 and now (a date alone: today; an import brings "
                "past records).",
            )
        return at
