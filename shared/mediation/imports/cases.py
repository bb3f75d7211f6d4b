"""Past cases from a register (台账): the template's columns and the validation of a row.

A row is one case with its applicant and (optionally) respondent, its outcome and, where
known, its agreement, performance, follow-up and closing. Validation needs only lookups
(units, categories, numbers already used) given to it, so it is the same in the dry run and
in the commit, which validates again before writing anything."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from mediation.cases.enums import (
    CaseSource,
    CaseStatus,
    Complexity,
    PerformanceStatus,
    RiskColour,
    Satisfaction,
)
from mediation.imports import values as v
from mediation.imports.columns import Column

OUTCOMES = (CaseStatus.resolved, CaseStatus.failed, CaseStatus.withdrawn, CaseStatus.rejected)


def _labels(enum: Any) -> tuple[str, ...]:
    return tuple(m.label_zh for m in enum)


COLUMNS: tuple[Column, ...] = (
    Column("number", "原案号", False, "铁西调〔2021〕0005号", "留空则按年度顺序编号"),
    Column("title", "案件名称", True, "张某与李某邻里噪音纠纷"),
    Column("facts", "纠纷事实", True, "楼上装修噪音影响休息，双方多次争吵。"),
    Column("claims", "当事人诉求", False, "停止夜间施工"),
    Column("category", "纠纷类型", True, "邻里", "代码或名称"),
    Column("source", "来源", True, "来访", "", _labels(CaseSource)),
    Column("complexity", "复杂程度", True, "简单", "", _labels(Complexity)),
    Column("risk_colour", "风险等级", True, "黄色", "", _labels(RiskColour)),
    Column("unit", "发生地（单位）", True, "四平市/铁西区/北沟街道/先锋社区", "单位代码或全路径"),
    Column("address", "详细地址", False, "先锋社区1号楼2单元"),
    Column("occurred_on", "发生日期", False, "2021-03-01"),
    Column("amount_involved", "涉及金额（元）", False, "5000"),
    Column("received_on", "登记日期", True, "2021年3月5日"),
    Column("accepted_on", "受理日期", False, "2021-03-06"),
    Column("outcome", "办理结果", True, "调解成功", "", tuple(s.label_zh for s in OUTCOMES)),
    Column("outcome_on", "办结日期", True, "2021-03-20"),
    Column("outcome_note", "结果说明", False, ""),
    Column("applicant_name", "申请人姓名", True, "张三"),
    Column("applicant_phone", "申请人电话", False, "13900000001"),
    Column("applicant_id_number", "申请人身份证号", False, "11010519491231002X", "设为文本格式"),
    Column("respondent_name", "被申请人姓名", False, "李四"),
    Column("respondent_phone", "被申请人电话", False, "13900000002"),
    Column("respondent_id_number", "被申请人身份证号", False, ""),
    Column("agreement_terms", "协议内容", False, "李某夜间不再施工，赔偿张某500元。"),
    Column("agreement_amount", "协议金额（元）", False, "500"),
    Column("performance", "履行情况", False, "已履行", "", _labels(PerformanceStatus)),
    Column("followed_up_on", "回访日期", False, "2021-04-10"),
    Column("satisfaction", "回访满意度", False, "满意", "", _labels(Satisfaction)),
    Column("closed_on", "结案日期", False, "2021-04-15"),
)

_NUMBER = (
    re.compile(r"^.{1,12}调〔(\d{4})〕(\d{1,6})号$"),
    re.compile(r"^\d{6}-(\d{4})-(\d{1,6})$"),
)


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


def find_unit(lookups: Lookups, value: str) -> UnitRef | None:
    s = value.strip()
    if s in lookups.units_by_code:
        return lookups.units_by_code[s]
    return lookups.units_by_names.get("/".join(p.strip() for p in re.split(r"[/／>]", s)))


def parse_number(value: str) -> tuple[int, int] | None:
    for pattern in _NUMBER:
        m = pattern.match(value)
        if m:
            return int(m.group(1)), int(m.group(2))
    return None


class RowChecker:
    """Validates rows one at a time; remembers what it saw to refuse duplicates in the file."""

    def __init__(self, lookups: Lookups, positions: dict[str, int], headers: list[str]) -> None:
        self.lookups = lookups
        self.positions = positions  # field key -> column index
        self.headers = headers
        # number -> (row, its ASCII form): checked against the database once, at the end.
        self.seen_numbers: dict[str, tuple[int, str | None]] = {}
        self.seen_rows: dict[tuple[Any, ...], int] = {}

    def check(self, row_no: int, cells: list[Any]) -> tuple[dict[str, Any] | None, list[Problem]]:
        problems: list[Problem] = []
        out: dict[str, Any] = {}

        def cell(key: str) -> Any:
            i = self.positions.get(key)
            return cells[i] if i is not None and i < len(cells) else None

        def bad(key: str | None, zh: str, en: str) -> None:
            i = self.positions.get(key) if key else None
            problems.append(
                Problem(
                    row_no,
                    self.headers[i] if i is not None else None,
                    _letter(i) if i is not None else None,
                    zh,
                    en,
                )
            )

        def take(key: str, parse: Any, required: bool = False) -> Any:
            raw = cell(key)
            if raw is None:
                if required:
                    col = next(c for c in COLUMNS if c.key == key)
                    bad(key, f"“{col.zh}”必填。", f"{col.zh} ({key}) is required.")
                return None
            try:
                return parse(raw)
            except v.BadValue as exc:
                bad(key, exc.zh, exc.en)
                return None

        req = {c.key for c in COLUMNS if c.required}
        for key, limit in (
            ("title", 200),
            ("facts", 10000),
            ("claims", 10000),
            ("address", 300),
            ("outcome_note", 2000),
            ("applicant_name", 200),
            ("respondent_name", 200),
            ("agreement_terms", 10000),
            ("number", 40),
        ):
            out[key] = take(key, lambda x, n=limit: v.text(x, n), key in req)
        out["source"] = take("source", lambda x: v.choice(CaseSource, x), True)
        out["complexity"] = take("complexity", lambda x: v.choice(Complexity, x), True)
        out["risk_colour"] = take("risk_colour", lambda x: v.choice(RiskColour, x), True)
        out["performance"] = take("performance", lambda x: v.choice(PerformanceStatus, x))
        out["satisfaction"] = take("satisfaction", lambda x: v.choice(Satisfaction, x))
        out["outcome"] = take("outcome", self._outcome, True)
        out["category"] = take("category", self._category, True)
        for key in ("occurred_on", "received_on", "accepted_on", "outcome_on"):
            out[key] = take(key, v.day, key in req)
        for key in ("followed_up_on", "closed_on"):
            out[key] = take(key, v.day)
        out["amount_involved"] = take("amount_involved", v.amount)
        out["agreement_amount"] = take("agreement_amount", v.amount)
        for side in ("applicant", "respondent"):
            out[f"{side}_phone"] = take(f"{side}_phone", v.phone)
            out[f"{side}_id_number"] = take(f"{side}_id_number", v.resident_id)
        unit = take("unit", lambda x: self._unit(str(x)), True)
        out["unit"] = unit

        self._dates(out, bad)
        self._number(out, unit, bad, row_no)
        if out["outcome"] is CaseStatus.resolved and out["agreement_terms"] is None:
            out["agreement_terms"] = None  # an agreement is optional in old registers
        if out["respondent_name"] is None and (
            out["respondent_phone"] or out["respondent_id_number"]
        ):
            bad("respondent_name", "填写了被申请人信息但缺少姓名。", "A respondent needs a name.")
        if out["satisfaction"] is not None and out["followed_up_on"] is None:
            bad(
                "followed_up_on",
                "填写了满意度但缺少回访日期。",
                "A satisfaction needs the visit date.",
            )

        key = (
            out["title"],
            out["applicant_name"],
            out["received_on"],
            unit.id if unit else None,
        )
        if not problems:
            first = self.seen_rows.get(key)
            if first is not None:
                bad(
                    None,
                    f"与第 {first} 行重复（案件名称、申请人、登记日期、发生地均相同）。",
                    f"Duplicate of row {first} (same title, applicant, date and place).",
                )
            else:
                self.seen_rows[key] = row_no
        return (None if problems else out), problems

    # --- single cells ---------------------------------------------------------------------
    def _outcome(self, raw: Any) -> CaseStatus:
        status = v.choice(CaseStatus, raw)
        if status not in OUTCOMES:
            raise v.BadValue(
                "办理结果须为：" + "、".join(s.label_zh for s in OUTCOMES) + "。",
                "The outcome is one of: " + ", ".join(s.value for s in OUTCOMES) + ".",
            )
        return status

    def _category(self, raw: Any) -> str:
        s = str(raw).strip()
        code = self.lookups.categories.get(s)
        if code is None:
            raise v.BadValue(f"未知的纠纷类型“{s}”。", f"Unknown dispute category {s!r}.")
        return code

    def _unit(self, raw: str) -> UnitRef:
        unit = find_unit(self.lookups, raw)
        if unit is None:
            raise v.BadValue(
                f"找不到单位“{raw}”：请填写单位代码或全路径（四平市/铁西区/北沟街道/先锋社区）。",
                f"No unit {raw!r}: give its code or full path (四平市/铁西区/北沟街道/先锋社区).",
            )
        if not any(unit.path.startswith(p) for p in self.lookups.scope_paths):
            raise v.BadValue(
                f"单位“{raw}”不在您的管辖范围内，不能导入。",
                f"The unit {raw!r} is outside your jurisdiction: this row cannot be imported.",
            )
        if unit.district_id is None:
            raise v.BadValue(
                "案件须登记在区县及以下单位。", "A case is placed at district level or below."
            )
        return unit

    # --- across cells ---------------------------------------------------------------------
    @staticmethod
    def _dates(out: dict[str, Any], bad: Any) -> None:
        order = [
            ("occurred_on", "发生日期"),
            ("received_on", "登记日期"),
            ("accepted_on", "受理日期"),
            ("outcome_on", "办结日期"),
            ("followed_up_on", "回访日期"),
            ("closed_on", "结案日期"),
        ]
        last: tuple[date, str] | None = None
        for key, zh in order:
            d = out.get(key)
            if d is None:
                continue
            if last is not None and d < last[0]:
                bad(key, f"{zh}早于{last[1]}。", f"{key} is before the {last[1]} date.")
            last = (d, zh)

    def _number(self, out: dict[str, Any], unit: UnitRef | None, bad: Any, row_no: int) -> None:
        number = out.get("number")
        out["number_parts"] = None
        if number is None:
            return
        parts = parse_number(number)
        if parts is None:
            bad(
                "number",
                f"无法识别的案号“{number}”（应如 铁西调〔2021〕0005号 或 220302-2021-0005）。",
                f"Unrecognised case number {number!r} (like 铁西调〔2021〕0005号 or "
                "220302-2021-0005).",
            )
            return
        out["number_parts"] = parts
        first = self.seen_numbers.get(number)
        if first is not None:
            bad("number", f"案号与第 {first[0]} 行重复。", f"The same number as row {first[0]}.")
            return
        ascii_ = None
        if unit is not None and unit.district_code:
            ascii_ = f"{unit.district_code}-{parts[0]}-{parts[1]:04d}"
        out["number_ascii"] = ascii_
        self.seen_numbers[number] = (row_no, ascii_)

    def used_number_problems(self, used: set[str]) -> list[Problem]:
        """Numbers of the file that other cases (not this file's) already have."""
        i = self.positions.get("number")
        out = []
        for number, (row_no, ascii_) in self.seen_numbers.items():
            if number in used or (ascii_ is not None and ascii_ in used):
                out.append(
                    Problem(
                        row_no,
                        self.headers[i] if i is not None else None,
                        _letter(i) if i is not None else None,
                        f"案号“{number}”已被其他案件使用。",
                        f"The number {number!r} is already used by another case.",
                    )
                )
        return out


def _letter(index: int) -> str:
    from mediation.imports.columns import letter

    return letter(index)
